//! Conversion between Rust values and DynamoDB attribute values, with no serde detour.
//!
//! [`Value`] maps a Rust type to one attribute. The derive calls it for every field; a
//! type of your own becomes storable with `#[derive(onetable::Value)]` (unit enums as
//! strings, structs as maps) or a hand-written impl.

pub(crate) mod collections;
pub(crate) mod number;
mod scalar;
mod time;

pub use time::TtlValue;

use crate::error::ValueError;
use aws_sdk_dynamodb::types::AttributeValue;

/// How values are written where OneTable leaves a choice. Reading accepts every form.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Format {
    /// Dates as ISO-8601 strings instead of epoch milliseconds (OneTable's `isoDates`).
    pub iso_dates: bool,
    /// Write `None` as a DynamoDB `NULL` instead of leaving the attribute out
    /// (OneTable's `nulls`).
    pub nulls: bool,
    /// The attribute that holds the entity name (OneTable's `typeField`).
    pub type_field: &'static str,
}

impl Format {
    /// OneTable's defaults: epoch-millisecond dates, no nulls, `_type`.
    pub const ONETABLE: Format = Format { iso_dates: false, nulls: false, type_field: "_type" };

    /// This format with dates written as ISO-8601 strings (`true`) or epoch
    /// milliseconds (`false`).
    pub const fn with_iso_dates(self, iso_dates: bool) -> Format {
        Format { iso_dates, ..self }
    }

    /// This format writing `None` as a DynamoDB `NULL` (`true`) or leaving the
    /// attribute out (`false`).
    pub const fn with_nulls(self, nulls: bool) -> Format {
        Format { nulls, ..self }
    }

    /// This format with the entity name in attribute `type_field`.
    pub const fn with_type_field(self, type_field: &'static str) -> Format {
        Format { type_field, ..self }
    }
}

/// A stored date as key text (ISO-8601), from either stored form.
pub(crate) fn time_key_text(value: AttributeValue) -> Option<String> {
    time::millis_from_attr(value).ok().map(time::iso_from_millis)
}

/// Epoch milliseconds from a date's key text (ISO-8601).
pub(crate) fn millis_of_text(text: &str) -> Result<i64, ValueError> {
    time::millis_from_attr(AttributeValue::S(text.to_owned()))
}

/// A date in epoch milliseconds, as `format` stores dates.
pub(crate) fn date_attr(ms: i64, format: &Format) -> AttributeValue {
    time::millis_to_attr(ms, format)
}

impl Format {
    /// A point in time as this format writes dates: epoch milliseconds or ISO-8601.
    pub fn date(&self, time: std::time::SystemTime) -> AttributeValue {
        time::millis_to_attr(time::to_millis(time), self)
    }
}

impl Default for Format {
    fn default() -> Self {
        Format::ONETABLE
    }
}

/// A Rust type stored as one DynamoDB attribute.
///
/// ```
/// use onetable_core::{Format, Value};
/// use aws_sdk_dynamodb::types::AttributeValue;
///
/// let av = 42u64.to_attr(&Format::ONETABLE).unwrap();
/// assert_eq!(av, Some(AttributeValue::N("42".into())));
/// assert_eq!(u64::from_attr(AttributeValue::N("42".into())).unwrap(), 42);
/// assert!(u8::from_attr(AttributeValue::N("300".into())).is_err());
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be stored as a DynamoDB attribute",
    label = "this field's type has no onetable::Value impl",
    note = "derive `onetable::Value` for your own enums (stored as strings) and structs (stored as maps)"
)]
pub trait Value: Sized {
    /// The type OneTable's schema names for this value (`string`, `number`, `boolean`,
    /// `date`, `binary`, `array`, `object`, `set`), for the `_Schema` item.
    const ONETABLE_TYPE: &'static str = "object";

    /// The attribute for this value, or `None` to leave the attribute out (an absent
    /// `Option`, an empty set).
    fn to_attr(&self, format: &Format) -> Result<Option<AttributeValue>, ValueError>;

    /// Like [`Value::to_attr`], consuming the value so strings and buffers move
    /// instead of being copied.
    #[inline]
    fn into_attr(self, format: &Format) -> Result<Option<AttributeValue>, ValueError> {
        self.to_attr(format)
    }

    /// The value of an attribute.
    fn from_attr(attr: AttributeValue) -> Result<Self, ValueError>;

    /// The value when the attribute is absent: an error unless the type has a natural
    /// "nothing" (`None`, an empty set).
    #[inline]
    fn from_missing() -> Result<Self, ValueError> {
        Err(ValueError::Missing)
    }
}

/// Marks the types that can be elements of a `Vec<T>` stored as a DynamoDB list.
///
/// Every [`Value`] type is one except `u8`: `Vec<u8>` is binary (`B`), not a list of
/// numbers. The derive implements it for your types; implement it next to a
/// hand-written [`Value`].
pub trait ListElement: Value {}

/// The DynamoDB type letter(s) of an attribute value, for error messages.
pub fn type_name(av: &AttributeValue) -> &'static str {
    match av {
        AttributeValue::B(_) => "B",
        AttributeValue::Bool(_) => "BOOL",
        AttributeValue::Bs(_) => "BS",
        AttributeValue::L(_) => "L",
        AttributeValue::M(_) => "M",
        AttributeValue::N(_) => "N",
        AttributeValue::Ns(_) => "NS",
        AttributeValue::Null(_) => "NULL",
        AttributeValue::S(_) => "S",
        AttributeValue::Ss(_) => "SS",
        _ => "an unknown type",
    }
}

/// Writes an optional attribute: `None` becomes `NULL` when the format keeps nulls.
pub(crate) fn absent(format: &Format) -> Option<AttributeValue> {
    format.nulls.then_some(AttributeValue::Null(true))
}

impl<T: Value> Value for Option<T> {
    const ONETABLE_TYPE: &'static str = T::ONETABLE_TYPE;
    #[inline]
    fn to_attr(&self, format: &Format) -> Result<Option<AttributeValue>, ValueError> {
        match self {
            Some(v) => v.to_attr(format),
            None => Ok(absent(format)),
        }
    }
    #[inline]
    fn into_attr(self, format: &Format) -> Result<Option<AttributeValue>, ValueError> {
        match self {
            Some(v) => v.into_attr(format),
            None => Ok(absent(format)),
        }
    }
    #[inline]
    fn from_attr(attr: AttributeValue) -> Result<Self, ValueError> {
        match attr {
            AttributeValue::Null(_) => Ok(None),
            other => T::from_attr(other).map(Some),
        }
    }
    #[inline]
    fn from_missing() -> Result<Self, ValueError> {
        Ok(None)
    }
}
impl<T: Value> ListElement for Option<T> {}

impl<T: Value> Value for Box<T> {
    const ONETABLE_TYPE: &'static str = T::ONETABLE_TYPE;
    #[inline]
    fn to_attr(&self, format: &Format) -> Result<Option<AttributeValue>, ValueError> {
        (**self).to_attr(format)
    }
    #[inline]
    fn into_attr(self, format: &Format) -> Result<Option<AttributeValue>, ValueError> {
        (*self).into_attr(format)
    }
    #[inline]
    fn from_attr(attr: AttributeValue) -> Result<Self, ValueError> {
        T::from_attr(attr).map(Box::new)
    }
    #[inline]
    fn from_missing() -> Result<Self, ValueError> {
        T::from_missing().map(Box::new)
    }
}
impl<T: Value> ListElement for Box<T> {}

/// An attribute value itself, for fields whose shape varies.
impl Value for AttributeValue {
    #[inline]
    fn to_attr(&self, _: &Format) -> Result<Option<AttributeValue>, ValueError> {
        Ok(Some(self.clone()))
    }
    #[inline]
    fn into_attr(self, _: &Format) -> Result<Option<AttributeValue>, ValueError> {
        Ok(Some(self))
    }
    #[inline]
    fn from_attr(attr: AttributeValue) -> Result<Self, ValueError> {
        Ok(attr)
    }
}
impl ListElement for AttributeValue {}
