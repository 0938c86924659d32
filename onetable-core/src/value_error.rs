//! What goes wrong converting one value: the error the derive wraps with the entity,
//! field and attribute it belongs to.

use std::fmt;

/// What went wrong converting one value, before the entity, field and attribute it
/// belongs to are known. The derive wraps it into an [`Error`](crate::Error) that names them.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ValueError {
    /// The attribute is absent but the field is required.
    Missing,
    /// The attribute holds another DynamoDB type than the field needs.
    Type {
        /// The DynamoDB type the field needs (`S`, `N`, `M`, ...).
        expected: &'static str,
        /// The DynamoDB type found.
        found: &'static str,
    },
    /// The attribute has the right type but a value the field cannot hold.
    Invalid(String),
    /// An error inside a list element, map entry or nested field.
    At {
        /// Where, such as `[3]` or `.city`.
        path: String,
        /// The error there.
        source: Box<ValueError>,
    },
}

impl ValueError {
    /// Places this error under a list index, map key or nested field.
    pub fn at(self, segment: impl fmt::Display) -> ValueError {
        match self {
            ValueError::At { path, source } => ValueError::At { path: format!("{segment}{path}"), source },
            other => ValueError::At { path: segment.to_string(), source: Box::new(other) },
        }
    }

    /// A type mismatch between `expected` and the attribute found.
    pub fn type_of(expected: &'static str, found: &aws_sdk_dynamodb::types::AttributeValue) -> ValueError {
        ValueError::Type { expected, found: type_name(found) }
    }

    /// The innermost error and the path leading to it.
    fn innermost(&self) -> (&ValueError, &str) {
        match self {
            ValueError::At { path, source } => (source.innermost().0, path),
            other => (other, ""),
        }
    }
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (inner, path) = self.innermost();
        if !path.is_empty() {
            write!(f, "at {path}: ")?;
        }
        match inner {
            ValueError::Missing => f.write_str("the attribute is missing"),
            ValueError::Type { expected, found } => {
                write!(f, "expected a DynamoDB {expected} value, found {found}")
            }
            ValueError::Invalid(message) => f.write_str(message),
            ValueError::At { .. } => Ok(()),
        }
    }
}

impl std::error::Error for ValueError {}

/// The DynamoDB type letter(s) of an attribute value, for error messages.
pub fn type_name(av: &aws_sdk_dynamodb::types::AttributeValue) -> &'static str {
    use aws_sdk_dynamodb::types::AttributeValue;
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
