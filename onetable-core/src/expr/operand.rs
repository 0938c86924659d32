//! Values compared with or assigned to a field, typed by the field.

use crate::{Format, Value, ValueError};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::{BTreeSet, HashSet};

type Convert = dyn Fn(&Format) -> Result<Option<AttributeValue>, ValueError> + Send + Sync;

/// A value waiting for the table's [`Format`] (dates are written as the table
/// writes them).
pub struct Operand(Box<Convert>);

impl Operand {
    /// An operand from any storable value.
    pub fn new<V: Value + Send + Sync + 'static>(value: V) -> Operand {
        Operand(Box::new(move |format| value.to_attr(format)))
    }

    /// The attribute value in the table's format; `None` for an absent value.
    pub fn to_attr(&self, format: &Format) -> Result<Option<AttributeValue>, ValueError> {
        (self.0)(format)
    }
}

impl std::fmt::Debug for Operand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Operand")
    }
}

/// A value that can be compared with, or assigned to, a field of type `T`: a `T`, a
/// `&T`, a `&str` for a `String`, or the inner value of an `Option<T>` field.
pub trait IntoOperand<T: ?Sized> {
    /// The operand.
    fn into_operand(self) -> Operand;
}

impl<T: Value + Send + Sync + 'static> IntoOperand<T> for T {
    fn into_operand(self) -> Operand {
        Operand::new(self)
    }
}

impl<T: Value + Clone + Send + Sync + 'static> IntoOperand<T> for &T {
    fn into_operand(self) -> Operand {
        Operand::new(self.clone())
    }
}

impl IntoOperand<String> for &str {
    fn into_operand(self) -> Operand {
        Operand::new(self.to_owned())
    }
}

impl<T: Value + Send + Sync + 'static> IntoOperand<Option<T>> for T {
    fn into_operand(self) -> Operand {
        Operand::new(self)
    }
}

impl IntoOperand<Option<String>> for &str {
    fn into_operand(self) -> Operand {
        Operand::new(self.to_owned())
    }
}

/// Field types `contains` applies to, and what they contain: a substring of a
/// string, an element of a list or set.
pub trait Contains {
    /// The type of what can be contained.
    type Element;
}

impl Contains for String {
    type Element = String;
}
impl<T> Contains for Vec<T> {
    type Element = T;
}
impl<T, S> Contains for HashSet<T, S> {
    type Element = T;
}
impl<T> Contains for BTreeSet<T> {
    type Element = T;
}
impl<T: Contains> Contains for Option<T> {
    type Element = T::Element;
}
