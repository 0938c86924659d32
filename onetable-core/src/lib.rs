//! The core of onetable: schema model, key templates, value conversion and errors.
//!
//! No I/O and no async: everything here is plain data and pure functions, shared by
//! the derive's generated code and the client. Users depend on the `onetable` facade,
//! which re-exports this crate.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

mod collection;
mod entity;
mod error;
pub mod expr;
mod field;
mod ids;
mod key;
mod map_schema;
mod multi_key;
mod partial_key;
mod projection;
mod schema;
mod size;
mod template;
mod value;
mod value_error;
mod version;
pub mod wire;

pub use collection::Collection;
pub use entity::Entity;
pub use error::{Error, ErrorKind, FailedAction, KeyProblem, Unprocessed};
pub use field::{Field, Nested};
pub use ids::GeneratedId;
pub use key::{attr_from_key_text, key_text, AsKeyPart, Input, Key, KeyBuf, KeyValue, Paddable, Rendered};
pub use map_schema::{MapKey, MapSchema};
pub use multi_key::{IndexAttribute, KeyField, MultiKey, ScalarType};
pub use partial_key::{PartialKey, SortCondition};
pub use projection::Projection;
pub use schema::{
    EntitySchema, FieldSchema, Generate, IndexKind, IndexProjection, IndexSchema, KeyAttribute, Rules,
    Timestamps,
};
pub use size::{item_size, MAX_ITEM_SIZE};
pub use template::{Pad, Part, Template};
pub use value::{Format, ListElement, TtlValue, Value};
pub use value_error::{type_name, ValueError};
pub use version::Version;

/// A DynamoDB item: attribute names to values, as the SDK takes and returns it.
pub type Item = std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>;

/// A DynamoDB attribute value (re-exported from the SDK).
pub use aws_sdk_dynamodb::types::AttributeValue;

/// The id generators behind `#[attr(generate = ..)]`.
pub mod generate {
    #[cfg(feature = "ulid")]
    pub use crate::ids::ulid;
    #[cfg(feature = "uuid")]
    pub use crate::ids::uuid;
}

/// Set element types (`HashSet<T>` / `BTreeSet<T>` of these become `SS`, `NS`, `BS`).
pub mod set {
    pub use crate::value::collections::{SetElement, SetKind};
}

/// Items used by the code `#[derive(Entity)]` generates. Not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use crate::key::write_key_via_value;
    pub use crate::multi_key::operand;

    /// Asserts that a field type can be an attribute of a multi-attribute index key.
    pub const fn assert_index_attribute<T: crate::IndexAttribute + ?Sized>() {}
    pub use aws_sdk_dynamodb::types::AttributeValue;
    pub use std::collections::HashMap;

    /// Asserts that a field type can be an optimistic-locking version.
    pub const fn assert_version<T: crate::__private::Version>() {}
    /// Asserts that a field type can hold a computed value (`#[attr(value = "..")]`).
    pub const fn assert_computed<T: Computed + ?Sized>() {}

    /// The types a computed field can be: the text its template makes.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot hold a computed value",
        label = "`#[attr(value = \"..\")]` makes text",
        note = "a field computed from a template is a `String`, or an `Option<String>` when an input can be absent"
    )]
    pub trait Computed {}
    impl Computed for String {}
    impl Computed for Option<String> {}

    /// Asserts that a field type can be encrypted.
    pub const fn assert_crypt<T: Crypt + ?Sized>() {}

    /// The types an encrypted field can be: text, as OneTable encrypts it.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be encrypted",
        label = "`#[attr(crypt)]` needs text",
        note = "encrypted fields are `String` or `Option<String>`, as OneTable encrypts strings"
    )]
    pub trait Crypt {}
    impl Crypt for String {}
    impl Crypt for Option<String> {}

    /// Asserts that a field type holds text (`validate = ".."`, `length(..)`).
    pub const fn assert_text<T: Text + ?Sized>() {}
    /// Asserts that a field type holds a number (`range(..)`).
    pub const fn assert_number<T: Number + ?Sized>() {}

    /// The types whose values a pattern or a length can check.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` is not text: `validate` and `length` check text",
        label = "a pattern or a length needs a `String` field",
        note = "`validate = \"..\"` and `length(..)` apply to `String` and `Option<String>` fields; use `range(..)` for numbers"
    )]
    pub trait Text {}
    impl Text for String {}
    impl Text for Option<String> {}

    /// The types whose values a range can check.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` is not a number: `range` checks numbers",
        label = "a range needs a number field",
        note = "`range(min = .., max = ..)` applies to integer and float fields and their `Option`s"
    )]
    pub trait Number {}
    macro_rules! number {
        ($($t:ty),*) => {$( impl Number for $t {} impl Number for Option<$t> {} )*};
    }
    number!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, f32, f64);

    /// Asserts that a field type can be a variable of a template.
    pub const fn assert_key_value<T: crate::KeyValue + ?Sized>() {}
    /// Asserts that a field type can be padded in a key template.
    pub const fn assert_paddable<T: crate::Paddable + ?Sized>() {}
    /// Asserts that a field type can hold a generated id.
    pub const fn assert_generated_id<T: crate::GeneratedId>() {}

    /// The integer types an optimistic-locking version can be.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be a version",
        label = "`#[attr(version)]` needs an integer",
        note = "optimistic-locking versions are unsigned or signed integers (u64 is usual)"
    )]
    pub trait Version {}
    macro_rules! version {
        ($($t:ty),*) => {$( impl Version for $t {} )*};
    }
    version!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize);

    /// Reads a required field from an item, naming the entity, field and attribute on
    /// failure.
    #[inline]
    pub fn take<T: crate::Value>(
        item: &mut crate::Item,
        entity: &'static str,
        field: &'static str,
        attribute: &'static str,
    ) -> Result<T, crate::Error> {
        match item.remove(attribute) {
            Some(av) => T::from_attr(av),
            None => T::from_missing(),
        }
        .map_err(|e| crate::Error::value(entity, field, attribute, e))
    }

    /// The reader derived entities read response bodies with (`Entity::from_json`).
    pub use crate::wire::Reader as WireReader;

    /// A field read straight from a response body, as [`take`] reads it from an item
    /// (`None`: the value does not read, and the general path reports it).
    #[inline]
    pub fn slot<T: crate::Value>(slot: Option<AttributeValue>) -> Option<T> {
        match slot {
            Some(av) => T::from_attr(av).ok(),
            None => T::from_missing().ok(),
        }
    }

    /// [`slot`] for a field with a default, as [`take_or`] reads it, the default left
    /// to the caller: `Some(None)` when absent.
    #[inline]
    pub fn slot_present<T: crate::Value>(slot: Option<AttributeValue>) -> Option<Option<T>> {
        match slot {
            Some(av) => T::from_attr(av).ok().map(Some),
            None => Some(None),
        }
    }

    /// [`slot`] for a TTL field, as [`take_ttl`].
    #[inline]
    pub fn slot_ttl<T: crate::TtlValue>(slot: Option<AttributeValue>) -> Option<T> {
        match slot {
            Some(av) => T::from_ttl(av).ok(),
            None => T::ttl_missing().ok(),
        }
    }

    /// Reads a field that falls back to `default` when absent.
    #[inline]
    pub fn take_or<T: crate::Value>(
        item: &mut crate::Item,
        entity: &'static str,
        field: &'static str,
        attribute: &'static str,
        default: impl FnOnce() -> T,
    ) -> Result<T, crate::Error> {
        match item.remove(attribute) {
            Some(av) => T::from_attr(av).map_err(|e| crate::Error::value(entity, field, attribute, e)),
            None => Ok(default()),
        }
    }

    /// Reads a TTL field.
    #[inline]
    pub fn take_ttl<T: crate::TtlValue>(
        item: &mut crate::Item,
        entity: &'static str,
        field: &'static str,
        attribute: &'static str,
    ) -> Result<T, crate::Error> {
        match item.remove(attribute) {
            Some(av) => T::from_ttl(av),
            None => T::ttl_missing(),
        }
        .map_err(|e| crate::Error::value(entity, field, attribute, e))
    }

    /// Takes the map attribute that packed fields live in (empty when absent).
    pub fn take_map(
        item: &mut crate::Item,
        entity: &'static str,
        attribute: &'static str,
    ) -> Result<crate::Item, crate::Error> {
        match item.remove(attribute) {
            None | Some(AttributeValue::Null(_)) => Ok(crate::Item::new()),
            Some(AttributeValue::M(m)) => Ok(m),
            Some(other) => Err(crate::Error::value(
                entity,
                attribute,
                attribute,
                crate::ValueError::type_of("M", &other),
            )),
        }
    }

    /// The map attribute that packed fields live in, left in the item (an empty map
    /// put in its place when absent): one field read from it at a time.
    pub fn map_mut<'a>(
        item: &'a mut crate::Item,
        entity: &'static str,
        attribute: &'static str,
    ) -> Result<&'a mut crate::Item, crate::Error> {
        let slot = item.entry(attribute.to_owned()).or_insert_with(|| AttributeValue::M(crate::Item::new()));
        if matches!(slot, AttributeValue::Null(_)) {
            *slot = AttributeValue::M(crate::Item::new());
        }
        match slot {
            AttributeValue::M(m) => Ok(m),
            other => {
                Err(crate::Error::value(entity, attribute, attribute, crate::ValueError::type_of("M", other)))
            }
        }
    }

    /// Writes a field's attribute when it has one.
    #[inline]
    pub fn put(
        item: &mut crate::Item,
        entity: &'static str,
        field: &'static str,
        attribute: &'static str,
        value: Result<Option<AttributeValue>, crate::ValueError>,
    ) -> Result<(), crate::Error> {
        if let Some(av) = value.map_err(|e| crate::Error::value(entity, field, attribute, e))? {
            item.insert(attribute.to_owned(), av);
        }
        Ok(())
    }
}
