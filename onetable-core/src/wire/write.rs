//! Items written as DynamoDB JSON by the library itself, for the request bodies it
//! fills in (a batch write's items: see `onetable_client`'s `splice`). The SDK writes
//! the same JSON from the same `AttributeValue`s, a key and a value at a time through a
//! general writer; this writes into one buffer sized ahead, and copies strings that need
//! no escape (nearly all) whole.

use crate::{AttributeValue, Item};

/// An attribute value this writer has no JSON for: a type newer than the SDK version
/// the library was built with (its `Unknown`), which the SDK cannot send either.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an attribute value of a type unknown to this SDK version cannot be sent")]
pub struct UnknownType;

/// Appends `item` to `out` as DynamoDB JSON (`{"name":{"S":"..."},...}`). On error,
/// `out` holds part of the item: the caller drops what it appended.
pub fn write_item(out: &mut String, item: &Item) -> Result<(), UnknownType> {
    out.reserve(size_hint(item));
    write_map(out, item)
}

/// A guess of an item's JSON length, so that the buffer grows once: its attribute
/// names, values and punctuation, the values of nested maps and lists at a flat size.
fn size_hint(item: &Item) -> usize {
    item.iter()
        .map(|(name, value)| {
            name.len()
                + 12
                + match value {
                    AttributeValue::S(s) | AttributeValue::N(s) => s.len(),
                    AttributeValue::B(b) => b.as_ref().len() * 4 / 3 + 4,
                    _ => 32,
                }
        })
        .sum::<usize>()
        + 2
}

fn write_map(out: &mut String, map: &Item) -> Result<(), UnknownType> {
    out.push('{');
    for (i, (name, value)) in map.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(out, name);
        out.push(':');
        write_attribute(out, value)?;
    }
    out.push('}');
    Ok(())
}

/// One attribute value: `{"<type>":<value>}`.
pub fn write_attribute(out: &mut String, value: &AttributeValue) -> Result<(), UnknownType> {
    let boolean = |b: bool| if b { "true}" } else { "false}" };
    match value {
        AttributeValue::S(s) => {
            out.push_str(r#"{"S":"#);
            write_string(out, s);
        }
        AttributeValue::N(n) => {
            out.push_str(r#"{"N":"#);
            write_string(out, n);
        }
        AttributeValue::B(b) => {
            out.push_str(r#"{"B":"#);
            write_blob(out, b.as_ref());
        }
        AttributeValue::Bool(b) => {
            out.push_str(r#"{"BOOL":"#);
            out.push_str(boolean(*b));
            return Ok(());
        }
        AttributeValue::Null(b) => {
            out.push_str(r#"{"NULL":"#);
            out.push_str(boolean(*b));
            return Ok(());
        }
        AttributeValue::Ss(set) => {
            out.push_str(r#"{"SS":"#);
            list(out, set, |out, s| write_string(out, s));
        }
        AttributeValue::Ns(set) => {
            out.push_str(r#"{"NS":"#);
            list(out, set, |out, n| write_string(out, n));
        }
        AttributeValue::Bs(set) => {
            out.push_str(r#"{"BS":"#);
            list(out, set, |out, b| write_blob(out, b.as_ref()));
        }
        AttributeValue::M(map) => {
            out.push_str(r#"{"M":"#);
            write_map(out, map)?;
        }
        AttributeValue::L(values) => {
            out.push_str(r#"{"L":["#);
            for (i, value) in values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_attribute(out, value)?;
            }
            out.push(']');
        }
        _ => return Err(UnknownType),
    }
    out.push('}');
    Ok(())
}

fn list<T>(out: &mut String, values: &[T], mut each: impl FnMut(&mut String, &T)) {
    out.push('[');
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        each(out, value);
    }
    out.push(']');
}

fn write_blob(out: &mut String, bytes: &[u8]) {
    use base64::Engine as _;
    out.push('"');
    base64::engine::general_purpose::STANDARD.encode_string(bytes, out);
    out.push('"');
}

/// Whether byte `b` is written escaped in a JSON string: the quote, the backslash and
/// the control characters (everything else, UTF-8 included, is written as it is).
const fn escaped(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// The index of the first byte of `bytes` at or after `from` that is written escaped.
/// Eight bytes at a time: a string's bytes are nearly always all plain, and this is
/// most of the cost of writing an item.
fn next_escaped(bytes: &[u8], mut from: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    while let Some(chunk) = bytes.get(from..from + 8) {
        let x = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        // A byte's high bit is set in `found` where it is below 0x20, or equals the
        // quote or the backslash (a byte of zero after the XOR). Borrows run upward
        // only from a byte found, so the lowest bit set is the first byte found.
        let quote = x ^ (ONES * u64::from(b'"'));
        let backslash = x ^ (ONES * u64::from(b'\\'));
        let found = (x.wrapping_sub(ONES * 0x20) & !x
            | quote.wrapping_sub(ONES) & !quote
            | backslash.wrapping_sub(ONES) & !backslash)
            & HIGH;
        if found != 0 {
            return Some(from + (found.trailing_zeros() / 8) as usize);
        }
        from += 8;
    }
    bytes[from..].iter().position(|&b| escaped(b)).map(|i| from + i)
}

/// A JSON string: quoted, escaped as RFC 8259 asks.
pub fn write_string(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    while let Some(i) = next_escaped(bytes, start) {
        out.push_str(&s[start..i]);
        match bytes[i] {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            b => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(HEX[usize::from(b >> 4)] as char);
                out.push(HEX[usize::from(b & 0xf)] as char);
            }
        }
        // The byte escaped is ASCII: the next one starts a character.
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}
