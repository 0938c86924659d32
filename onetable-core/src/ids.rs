//! Filling `#[attr(generate = ..)]` fields.

/// A field that can hold a generated id: `String` (empty means unset) or
/// `Option<String>`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot hold a generated id",
    label = "`#[attr(generate = ..)]` needs a String or Option<String> field"
)]
pub trait GeneratedId {
    /// True when no id has been set yet.
    fn is_unset(&self) -> bool;
    /// Stores a new id.
    fn set_id(&mut self, id: String);
}

impl GeneratedId for String {
    fn is_unset(&self) -> bool {
        self.is_empty()
    }
    fn set_id(&mut self, id: String) {
        *self = id;
    }
}

impl GeneratedId for Option<String> {
    fn is_unset(&self) -> bool {
        self.as_deref().is_none_or(str::is_empty)
    }
    fn set_id(&mut self, id: String) {
        *self = Some(id);
    }
}

/// A new ULID, as OneTable's `generate: 'ulid'` writes it (26 Crockford base32 chars).
#[cfg(feature = "ulid")]
pub fn ulid() -> String {
    ::ulid::Ulid::new().to_string()
}

/// A new random UUID (v4), hyphenated lowercase.
#[cfg(feature = "uuid")]
pub fn uuid() -> String {
    ::uuid::Uuid::new_v4().to_string()
}

#[cfg(feature = "uuid")]
mod uuid_impls {
    use crate::{KeyValue, ListElement, Value, ValueError};
    use aws_sdk_dynamodb::types::AttributeValue;

    impl Value for ::uuid::Uuid {
        const ONETABLE_TYPE: &'static str = "string";
        fn to_attr(&self, _: &crate::Format) -> Result<Option<AttributeValue>, ValueError> {
            Ok(Some(AttributeValue::S(self.to_string())))
        }
        fn from_attr(attr: AttributeValue) -> Result<Self, ValueError> {
            let s = String::from_attr(attr)?;
            s.parse().map_err(|e| ValueError::Invalid(format!("{s:?} is not a UUID: {e}")))
        }
    }
    impl ListElement for ::uuid::Uuid {}
    impl KeyValue for ::uuid::Uuid {
        fn write_key(&self, out: &mut String) -> bool {
            out.push_str(self.hyphenated().encode_lower(&mut ::uuid::Uuid::encode_buffer()));
            true
        }
    }
}

#[cfg(feature = "ulid")]
mod ulid_impls {
    use crate::{KeyValue, ListElement, Value, ValueError};
    use aws_sdk_dynamodb::types::AttributeValue;

    impl Value for ::ulid::Ulid {
        const ONETABLE_TYPE: &'static str = "string";
        fn to_attr(&self, _: &crate::Format) -> Result<Option<AttributeValue>, ValueError> {
            Ok(Some(AttributeValue::S(self.to_string())))
        }
        fn from_attr(attr: AttributeValue) -> Result<Self, ValueError> {
            let s = String::from_attr(attr)?;
            s.parse().map_err(|e| ValueError::Invalid(format!("{s:?} is not a ULID: {e}")))
        }
    }
    impl ListElement for ::ulid::Ulid {}
    impl KeyValue for ::ulid::Ulid {
        fn write_key(&self, out: &mut String) -> bool {
            out.push_str(&self.to_string());
            true
        }
    }
}
