//! Numbers: exact integers of every width and floats, as DynamoDB `N` strings.

use super::{ListElement, Value};
use crate::{Format, ValueError};
use aws_sdk_dynamodb::types::AttributeValue;

/// DynamoDB numbers keep at most 38 significant digits.
const MAX_DIGITS: usize = 38;

pub(crate) fn number_text(attr: AttributeValue) -> Result<String, ValueError> {
    match attr {
        AttributeValue::N(n) => Ok(n),
        other => Err(ValueError::type_of("N", &other)),
    }
}

macro_rules! integer {
    ($($t:ty),*) => {$(
        impl Value for $t {
            const ONETABLE_TYPE: &'static str = "number";
            #[inline]
            fn to_attr(&self, _: &Format) -> Result<Option<AttributeValue>, ValueError> {
                let text = itoa::Buffer::new().format(*self).to_owned();
                if text.trim_start_matches('-').len() > MAX_DIGITS {
                    return Err(ValueError::Invalid(format!("{text} has more than {MAX_DIGITS} digits, the most a DynamoDB number keeps")));
                }
                Ok(Some(AttributeValue::N(text)))
            }
            #[inline]
            fn from_attr(attr: AttributeValue) -> Result<Self, ValueError> {
                let text = number_text(attr)?;
                parse_integer(&text).ok_or_else(|| ValueError::Invalid(format!("the number {text} does not fit in {}", stringify!($t))))
            }
        }
        impl ListElement for $t {}
        impl crate::value::collections::SetElement for $t {
            #[inline]
            fn set_text(&self) -> String { itoa::Buffer::new().format(*self).to_owned() }
            #[inline]
            fn from_set_text(text: String) -> Result<Self, ValueError> {
                parse_integer(&text).ok_or_else(|| ValueError::Invalid(format!("the number {text} does not fit in {}", stringify!($t))))
            }
            const SET_KIND: crate::value::collections::SetKind = crate::value::collections::SetKind::Number;
        }
    )*};
}
// u8 is deliberately not a ListElement (Vec<u8> is binary), so it is written by hand.
integer!(i8, i16, i32, i64, i128, isize, u16, u32, u64, u128, usize);

impl Value for u8 {
    const ONETABLE_TYPE: &'static str = "number";
    #[inline]
    fn to_attr(&self, _: &Format) -> Result<Option<AttributeValue>, ValueError> {
        Ok(Some(AttributeValue::N(itoa::Buffer::new().format(*self).to_owned())))
    }
    #[inline]
    fn from_attr(attr: AttributeValue) -> Result<Self, ValueError> {
        let text = number_text(attr)?;
        parse_integer(&text)
            .ok_or_else(|| ValueError::Invalid(format!("the number {text} does not fit in u8")))
    }
}

/// Parses an integer, also from the forms other writers produce for whole numbers
/// (`1E+3`, `12.0`).
#[inline]
fn parse_integer<T: std::str::FromStr + TryFrom<i128>>(text: &str) -> Option<T> {
    if let Ok(v) = text.parse::<T>() {
        return Some(v);
    }
    let v: f64 = text.parse().ok()?;
    if v.fract() != 0.0 || v.abs() > 1e38 {
        return None;
    }
    T::try_from(v as i128).ok()
}

macro_rules! float {
    ($($t:ty),*) => {$(
        impl Value for $t {
            const ONETABLE_TYPE: &'static str = "number";
            #[inline]
            fn to_attr(&self, _: &Format) -> Result<Option<AttributeValue>, ValueError> {
                float_text(*self as f64, ryu::Buffer::new().format(*self)).map(|t| Some(AttributeValue::N(t)))
            }
            #[inline]
            fn from_attr(attr: AttributeValue) -> Result<Self, ValueError> {
                let text = number_text(attr)?;
                text.parse::<$t>().map_err(|_| ValueError::Invalid(format!("the number {text} is not a valid {}", stringify!($t))))
            }
        }
        impl ListElement for $t {}
    )*};
}
float!(f32, f64);

#[inline]
fn float_text(value: f64, text: &str) -> Result<String, ValueError> {
    if !value.is_finite() {
        return Err(ValueError::Invalid(format!("{value} cannot be stored: DynamoDB numbers are finite")));
    }
    let magnitude = value.abs();
    if magnitude != 0.0 && !(1e-130..1e126).contains(&magnitude) {
        return Err(ValueError::Invalid(format!(
            "{value} is outside DynamoDB's number range (1E-130 to 9.99E+125)"
        )));
    }
    Ok(text.to_owned())
}
