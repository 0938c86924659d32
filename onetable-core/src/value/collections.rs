//! Lists (`L`), maps (`M`) and sets (`SS`, `NS`, `BS`).
//!
//! As in OneTable, only explicit set types become DynamoDB sets; a `Vec` is a list.
//! DynamoDB has no empty set, so an empty set leaves the attribute out and an absent
//! attribute reads back as an empty set.

use super::{ListElement, Value};
use crate::{Format, ValueError};
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{BuildHasher, Hash};

impl<T: ListElement> Value for Vec<T> {
    const ONETABLE_TYPE: &'static str = "array";
    #[inline]
    fn to_attr(&self, format: &Format) -> Result<Option<AttributeValue>, ValueError> {
        let mut list = Vec::with_capacity(self.len());
        for (i, v) in self.iter().enumerate() {
            // A `None` inside a list keeps its place as NULL.
            list.push(
                v.to_attr(format)
                    .map_err(|e| e.at(format_args!("[{i}]")))?
                    .unwrap_or_else(|| AttributeValue::Null(true)),
            );
        }
        Ok(Some(AttributeValue::L(list)))
    }
    #[inline]
    fn into_attr(self, format: &Format) -> Result<Option<AttributeValue>, ValueError> {
        let mut list = Vec::with_capacity(self.len());
        for (i, v) in self.into_iter().enumerate() {
            list.push(
                v.into_attr(format)
                    .map_err(|e| e.at(format_args!("[{i}]")))?
                    .unwrap_or_else(|| AttributeValue::Null(true)),
            );
        }
        Ok(Some(AttributeValue::L(list)))
    }
    #[inline]
    fn from_attr(attr: AttributeValue) -> Result<Self, ValueError> {
        match attr {
            AttributeValue::L(list) => list
                .into_iter()
                .enumerate()
                .map(|(i, v)| T::from_attr(v).map_err(|e| e.at(format_args!("[{i}]"))))
                .collect(),
            other => Err(ValueError::type_of("L", &other)),
        }
    }
}
impl<T: ListElement> ListElement for Vec<T> {}

macro_rules! string_map {
    ([$($generics:tt)*] $map:ty) => {
        impl<T: Value $($generics)*> Value for $map {
            #[inline]
            fn to_attr(&self, format: &Format) -> Result<Option<AttributeValue>, ValueError> {
                let mut map = HashMap::with_capacity(self.len());
                for (k, v) in self {
                    if let Some(av) = v.to_attr(format).map_err(|e| e.at(format_args!(".{k}")))? {
                        map.insert(k.clone(), av);
                    }
                }
                Ok(Some(AttributeValue::M(map)))
            }
            #[inline]
            fn into_attr(self, format: &Format) -> Result<Option<AttributeValue>, ValueError> {
                let mut map = HashMap::with_capacity(self.len());
                for (k, v) in self {
                    if let Some(av) = v.into_attr(format).map_err(|e| e.at(format_args!(".{k}")))? {
                        map.insert(k, av);
                    }
                }
                Ok(Some(AttributeValue::M(map)))
            }
            #[inline]
            fn from_attr(attr: AttributeValue) -> Result<Self, ValueError> {
                match attr {
                    AttributeValue::M(map) => map
                        .into_iter()
                        .map(|(k, v)| match T::from_attr(v) {
                            Ok(v) => Ok((k, v)),
                            Err(e) => Err(e.at(format_args!(".{k}"))),
                        })
                        .collect(),
                    other => Err(ValueError::type_of("M", &other)),
                }
            }
        }
        impl<T: Value $($generics)*> ListElement for $map {}
    };
}
string_map!([, S: BuildHasher + Default] HashMap<String, T, S>);
string_map!([] BTreeMap<String, T>);

/// Which DynamoDB set a set of these elements becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetKind {
    /// `SS`
    String,
    /// `NS`
    Number,
    /// `BS`
    Binary,
}

/// An element of a DynamoDB set: strings, integers or binary.
pub trait SetElement: Sized {
    /// Which set type holds it.
    const SET_KIND: SetKind;
    /// The element as text (`SS`, `NS`); binary elements are base64.
    fn set_text(&self) -> String;
    /// The element from its text.
    fn from_set_text(text: String) -> Result<Self, ValueError>;
    /// The element as bytes (only `BS` uses it).
    fn set_bytes(&self) -> Vec<u8> {
        self.set_text().into_bytes()
    }
    /// The element from bytes (only `BS` uses it).
    fn from_set_bytes(bytes: Vec<u8>) -> Result<Self, ValueError> {
        String::from_utf8(bytes)
            .map_err(|_| ValueError::Invalid("a binary set element that is not UTF-8".into()))
            .and_then(Self::from_set_text)
    }
}

impl SetElement for String {
    const SET_KIND: SetKind = SetKind::String;
    #[inline]
    fn set_text(&self) -> String {
        self.clone()
    }
    #[inline]
    fn from_set_text(text: String) -> Result<Self, ValueError> {
        Ok(text)
    }
}

impl SetElement for Vec<u8> {
    const SET_KIND: SetKind = SetKind::Binary;
    #[inline]
    fn set_text(&self) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(self)
    }
    #[inline]
    fn from_set_text(text: String) -> Result<Self, ValueError> {
        Ok(text.into_bytes())
    }
    fn set_bytes(&self) -> Vec<u8> {
        self.clone()
    }
    fn from_set_bytes(bytes: Vec<u8>) -> Result<Self, ValueError> {
        Ok(bytes)
    }
}

fn set_to_attr<'a, T: SetElement + 'a>(
    items: impl ExactSizeIterator<Item = &'a T>,
) -> Option<AttributeValue> {
    if items.len() == 0 {
        return None;
    }
    Some(match T::SET_KIND {
        SetKind::String => AttributeValue::Ss(items.map(T::set_text).collect()),
        SetKind::Number => AttributeValue::Ns(items.map(T::set_text).collect()),
        SetKind::Binary => AttributeValue::Bs(items.map(|v| Blob::new(v.set_bytes())).collect()),
    })
}

fn set_from_attr<T: SetElement, C: FromIterator<T>>(attr: AttributeValue) -> Result<C, ValueError> {
    match (T::SET_KIND, attr) {
        (SetKind::String, AttributeValue::Ss(v)) | (SetKind::Number, AttributeValue::Ns(v)) => {
            v.into_iter().map(T::from_set_text).collect()
        }
        (SetKind::Binary, AttributeValue::Bs(v)) => {
            v.into_iter().map(|b| T::from_set_bytes(b.into_inner())).collect()
        }
        // A set written as NULL by a table that keeps nulls reads as empty.
        (_, AttributeValue::Null(_)) => Ok(std::iter::empty().collect()),
        (kind, other) => Err(ValueError::type_of(
            match kind {
                SetKind::String => "SS",
                SetKind::Number => "NS",
                SetKind::Binary => "BS",
            },
            &other,
        )),
    }
}

impl<T: SetElement + Eq + Hash, S: BuildHasher + Default> Value for HashSet<T, S> {
    const ONETABLE_TYPE: &'static str = "set";
    #[inline]
    fn to_attr(&self, _: &Format) -> Result<Option<AttributeValue>, ValueError> {
        Ok(set_to_attr(self.iter()))
    }
    #[inline]
    fn from_attr(attr: AttributeValue) -> Result<Self, ValueError> {
        set_from_attr(attr)
    }
    #[inline]
    fn from_missing() -> Result<Self, ValueError> {
        Ok(HashSet::default())
    }
}
impl<T: SetElement + Eq + Hash, S: BuildHasher + Default> ListElement for HashSet<T, S> {}

impl<T: SetElement + Ord> Value for BTreeSet<T> {
    const ONETABLE_TYPE: &'static str = "set";
    #[inline]
    fn to_attr(&self, _: &Format) -> Result<Option<AttributeValue>, ValueError> {
        Ok(set_to_attr(self.iter()))
    }
    #[inline]
    fn from_attr(attr: AttributeValue) -> Result<Self, ValueError> {
        set_from_attr(attr)
    }
    #[inline]
    fn from_missing() -> Result<Self, ValueError> {
        Ok(BTreeSet::new())
    }
}
impl<T: SetElement + Ord> ListElement for BTreeSet<T> {}
