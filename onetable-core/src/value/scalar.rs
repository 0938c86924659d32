//! Strings, booleans and binary.

use super::{ListElement, Value};
use crate::{Format, ValueError};
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;

impl Value for String {
    const ONETABLE_TYPE: &'static str = "string";
    #[inline]
    fn to_attr(&self, _: &Format) -> Result<Option<AttributeValue>, ValueError> {
        Ok(Some(AttributeValue::S(self.clone())))
    }
    #[inline]
    fn into_attr(self, _: &Format) -> Result<Option<AttributeValue>, ValueError> {
        Ok(Some(AttributeValue::S(self)))
    }
    #[inline]
    fn from_attr(attr: AttributeValue) -> Result<Self, ValueError> {
        match attr {
            AttributeValue::S(s) => Ok(s),
            other => Err(ValueError::type_of("S", &other)),
        }
    }
}
impl ListElement for String {}

impl Value for bool {
    const ONETABLE_TYPE: &'static str = "boolean";
    #[inline]
    fn to_attr(&self, _: &Format) -> Result<Option<AttributeValue>, ValueError> {
        Ok(Some(AttributeValue::Bool(*self)))
    }
    #[inline]
    fn from_attr(attr: AttributeValue) -> Result<Self, ValueError> {
        match attr {
            AttributeValue::Bool(b) => Ok(b),
            other => Err(ValueError::type_of("BOOL", &other)),
        }
    }
}
impl ListElement for bool {}

impl Value for char {
    const ONETABLE_TYPE: &'static str = "string";
    #[inline]
    fn to_attr(&self, _: &Format) -> Result<Option<AttributeValue>, ValueError> {
        Ok(Some(AttributeValue::S(self.to_string())))
    }
    #[inline]
    fn from_attr(attr: AttributeValue) -> Result<Self, ValueError> {
        let s = String::from_attr(attr)?;
        let mut chars = s.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => Ok(c),
            _ => Err(ValueError::Invalid(format!("{s:?} is not a single character"))),
        }
    }
}
impl ListElement for char {}

/// Binary: DynamoDB `B`. (OneTable JS sees it as a base64 string or a Buffer.)
impl Value for Vec<u8> {
    const ONETABLE_TYPE: &'static str = "binary";
    #[inline]
    fn to_attr(&self, _: &Format) -> Result<Option<AttributeValue>, ValueError> {
        Ok(Some(AttributeValue::B(Blob::new(self.clone()))))
    }
    #[inline]
    fn into_attr(self, _: &Format) -> Result<Option<AttributeValue>, ValueError> {
        Ok(Some(AttributeValue::B(Blob::new(self))))
    }
    #[inline]
    fn from_attr(attr: AttributeValue) -> Result<Self, ValueError> {
        use base64::Engine as _;
        match attr {
            AttributeValue::B(b) => Ok(b.into_inner()),
            // OneTable JS stores Buffers given to a String-typed field as base64 text.
            AttributeValue::S(s) => base64::engine::general_purpose::STANDARD
                .decode(s.as_bytes())
                .map_err(|e| ValueError::Invalid(format!("a string that is not base64 binary: {e}"))),
            other => Err(ValueError::type_of("B", &other)),
        }
    }
}
impl ListElement for Vec<u8> {}
