//! Items read straight from DynamoDB's JSON (the body of a `Query`, `Scan`, `GetItem`
//! or `BatchGetItem` response), without the SDK's output types in between.
//!
//! The SDK turns a response into `AttributeValue` maps (a map, and a string for every
//! attribute name) before the library turns those into entities: for a page of 100
//! items that is most of the client's CPU. [`Reader`] walks the bytes once instead, so
//! that a derived entity takes each attribute it declares as it comes and skips the
//! rest without building the item's map. [`Reader::item`] builds the map where the
//! general path needs it; it reads every item exactly as the SDK does (the same
//! `AttributeValue` for every type DynamoDB has).

use crate::{AttributeValue, Item};
use aws_sdk_dynamodb::primitives::Blob;
use std::borrow::Cow;
use std::ops::Range;

/// A body that is not the JSON DynamoDB sends, with the offset where reading stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("response body is not DynamoDB JSON at byte {at}: {problem}")]
pub struct WireError {
    /// The byte offset in the body.
    pub at: usize,
    /// What was wrong there.
    pub problem: &'static str,
}

/// A cursor over DynamoDB JSON.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Whether the object or array just entered has had no member yet (no comma
    /// before the next one). A completed value always leaves it false, so one flag
    /// serves every level of nesting.
    first: bool,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `json` (text: a body is checked to be UTF-8 once, not
    /// string by string).
    pub fn new(json: &'a str) -> Self {
        Reader { bytes: json.as_bytes(), pos: 0, first: false }
    }

    /// The text from `start` to `end`, both on character boundaries: at a quote, or
    /// after an escape's bytes (all ASCII).
    fn text(&self, start: usize, end: usize) -> &'a str {
        let bytes: &'a [u8] = self.bytes;
        // SAFETY: `bytes` came from a `&str`, and both offsets are next to an ASCII
        // byte, so on character boundaries.
        unsafe { std::str::from_utf8_unchecked(&bytes[start..end]) }
    }

    /// The offset of the first `"` or `\\` at or after `from`: a plain loop for the
    /// short strings of most attributes, `memchr` past them.
    #[inline]
    fn string_end(&self, from: usize) -> Option<usize> {
        let bytes = self.bytes;
        // Past the end (a backslash that ends the body): unterminated.
        let from = from.min(bytes.len());
        let short = bytes.len().min(from + 24);
        for (i, b) in bytes[from..short].iter().enumerate() {
            if *b == b'"' || *b == b'\\' {
                return Some(from + i);
            }
        }
        memchr::memchr2(b'"', b'\\', &bytes[short..]).map(|i| short + i)
    }

    /// The offset of the next byte to read.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The offset where the next value starts (whitespace before it passed).
    pub fn value_start(&mut self) -> usize {
        self.space();
        self.pos
    }

    /// Goes to `position`, where a value starts, to read it (again).
    pub fn rewind(&mut self, position: usize) {
        self.pos = position;
        self.first = false;
    }

    fn fail<T>(&self, problem: &'static str) -> Result<T, WireError> {
        Err(WireError { at: self.pos, problem })
    }

    #[inline]
    fn space(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    #[inline]
    fn peek(&mut self) -> Option<u8> {
        self.space();
        self.bytes.get(self.pos).copied()
    }

    #[inline]
    fn expect(&mut self, byte: u8, problem: &'static str) -> Result<(), WireError> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            self.fail(problem)
        }
    }

    /// Enters an object: call [`Reader::next_key`] until it returns `None`.
    pub fn begin_object(&mut self) -> Result<(), WireError> {
        self.expect(b'{', "expected an object")?;
        // `next_key` needs to know whether a comma comes before the next member.
        self.first = true;
        Ok(())
    }

    /// The next member's name of the object being read (its value is next: read it
    /// with one of the value methods, or [`Reader::skip`] it), or `None` at its end.
    pub fn next_key(&mut self) -> Result<Option<Cow<'a, str>>, WireError> {
        if !self.next_member()? {
            return Ok(None);
        }
        let key = self.string()?;
        self.expect(b':', "expected ':' after a member name")?;
        Ok(Some(key))
    }

    /// Whether another member follows in the object being read (its name next), or
    /// the object ends here.
    fn next_member(&mut self) -> Result<bool, WireError> {
        match self.peek() {
            Some(b'}') => {
                self.pos += 1;
                self.first = false;
                return Ok(false);
            }
            Some(b',') if !self.first => self.pos += 1,
            Some(b'"') if self.first => {}
            _ => return self.fail("expected a member or the end of an object"),
        }
        self.first = false;
        Ok(true)
    }

    /// Enters an array: call [`Reader::next_element`] before each element.
    pub fn begin_array(&mut self) -> Result<(), WireError> {
        self.expect(b'[', "expected an array")?;
        self.first = true;
        Ok(())
    }

    /// Whether another element follows in the array being read.
    pub fn next_element(&mut self) -> Result<bool, WireError> {
        match self.peek() {
            Some(b']') => {
                self.pos += 1;
                self.first = false;
                Ok(false)
            }
            Some(b',') if !self.first => {
                self.pos += 1;
                Ok(true)
            }
            Some(_) if self.first => {
                self.first = false;
                Ok(true)
            }
            _ => self.fail("expected an element or the end of an array"),
        }
    }

    /// A JSON string, borrowed from the body unless it holds escapes.
    pub fn string(&mut self) -> Result<Cow<'a, str>, WireError> {
        self.expect(b'"', "expected a string")?;
        let start = self.pos;
        let Some(end) = self.string_end(start) else {
            return self.fail("unterminated string");
        };
        if self.bytes[end] == b'"' {
            self.pos = end + 1;
            return Ok(Cow::Borrowed(self.text(start, end)));
        }
        self.escaped(start, end - start).map(Cow::Owned)
    }

    /// The rest of a string that holds an escape at `start + first_escape`.
    fn escaped(&mut self, start: usize, first_escape: usize) -> Result<String, WireError> {
        let mut out = String::with_capacity(first_escape + 16);
        out.push_str(self.text(start, start + first_escape));
        self.pos = start + first_escape;
        loop {
            let Some(i) = self.string_end(self.pos) else {
                return self.fail("unterminated string");
            };
            out.push_str(self.text(self.pos, i));
            self.pos = i + 1;
            if self.bytes[i] == b'"' {
                return Ok(out);
            }
            let Some(&e) = self.bytes.get(self.pos) else { return self.fail("unterminated escape") };
            self.pos += 1;
            let plain = match e {
                b'"' => b'"',
                b'\\' => b'\\',
                b'/' => b'/',
                b'b' => 0x08,
                b'f' => 0x0c,
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                b'u' => {
                    out.push(self.unicode_escape()?);
                    continue;
                }
                _ => return self.fail("invalid escape"),
            };
            out.push(char::from(plain));
        }
    }

    fn hex4(&mut self) -> Result<u32, WireError> {
        let Some(digits) = self.bytes.get(self.pos..self.pos + 4) else {
            return self.fail("short \\u escape");
        };
        let mut v = 0;
        for &d in digits {
            let n = match d {
                b'0'..=b'9' => d - b'0',
                b'a'..=b'f' => d - b'a' + 10,
                b'A'..=b'F' => d - b'A' + 10,
                _ => return self.fail("invalid \\u escape"),
            };
            v = v * 16 + u32::from(n);
        }
        self.pos += 4;
        Ok(v)
    }

    /// The character of a `\u` escape (its `\u` read), a surrogate pair joined.
    fn unicode_escape(&mut self) -> Result<char, WireError> {
        let high = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&high) {
            if self.bytes.get(self.pos..self.pos + 2) != Some(b"\\u") {
                return self.fail("unpaired surrogate");
            }
            self.pos += 2;
            let low = self.hex4()?;
            if !(0xDC00..0xE000).contains(&low) {
                return self.fail("unpaired surrogate");
            }
            0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
        } else {
            high
        };
        char::from_u32(code).map_or_else(|| self.fail("unpaired surrogate"), Ok)
    }

    fn literal(&mut self, text: &'static [u8], problem: &'static str) -> Result<(), WireError> {
        self.space();
        if self.bytes[self.pos..].starts_with(text) {
            self.pos += text.len();
            Ok(())
        } else {
            self.fail(problem)
        }
    }

    /// A JSON boolean.
    pub fn boolean(&mut self) -> Result<bool, WireError> {
        match self.peek() {
            Some(b't') => self.literal(b"true", "expected a boolean").map(|()| true),
            Some(b'f') => self.literal(b"false", "expected a boolean").map(|()| false),
            _ => self.fail("expected a boolean"),
        }
    }

    /// Skips one JSON value of any kind.
    pub fn skip(&mut self) -> Result<(), WireError> {
        match self.peek() {
            Some(b'"') => self.skip_string(),
            Some(b'{') => {
                self.begin_object()?;
                while self.next_key_raw()? {
                    self.skip()?;
                }
                Ok(())
            }
            Some(b'[') => {
                self.begin_array()?;
                while self.next_element()? {
                    self.skip()?;
                }
                Ok(())
            }
            Some(b't') => self.literal(b"true", "invalid literal"),
            Some(b'f') => self.literal(b"false", "invalid literal"),
            Some(b'n') => self.literal(b"null", "invalid literal"),
            Some(b'-' | b'0'..=b'9') => {
                let start = self.pos;
                while let Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') = self.bytes.get(self.pos) {
                    self.pos += 1;
                }
                if self.pos == start {
                    return self.fail("invalid number");
                }
                Ok(())
            }
            _ => self.fail("expected a value"),
        }
    }

    /// A string skipped without decoding it.
    fn skip_string(&mut self) -> Result<(), WireError> {
        self.expect(b'"', "expected a string")?;
        loop {
            let Some(i) = self.string_end(self.pos) else {
                return self.fail("unterminated string");
            };
            self.pos = i + 1;
            if self.bytes[i] == b'"' {
                return Ok(());
            }
            // The escaped byte cannot end the string.
            self.pos += 1;
        }
    }

    /// [`Reader::next_key`] when the name does not matter.
    fn next_key_raw(&mut self) -> Result<bool, WireError> {
        if !self.next_member()? {
            return Ok(false);
        }
        self.skip_string()?;
        self.expect(b':', "expected ':' after a member name")?;
        Ok(true)
    }

    /// The span of the value that comes next, skipped.
    pub fn span(&mut self) -> Result<Range<usize>, WireError> {
        self.space();
        let start = self.pos;
        self.skip()?;
        Ok(start..self.pos)
    }

    /// One attribute value (`{"S": "..."}`, `{"M": {...}}`, ...), as the SDK reads it.
    pub fn attribute(&mut self) -> Result<AttributeValue, WireError> {
        self.begin_object()?;
        let mut value = None;
        while let Some(tag) = self.next_key()? {
            if value.is_some() {
                // As the SDK: one value, one type.
                return self.fail("attribute value of two types");
            }
            let v = match tag.as_ref() {
                "S" => AttributeValue::S(self.string()?.into_owned()),
                "N" => AttributeValue::N(self.string()?.into_owned()),
                "B" => AttributeValue::B(self.blob()?),
                "BOOL" => AttributeValue::Bool(self.boolean()?),
                "NULL" => AttributeValue::Null(self.boolean()?),
                "M" => AttributeValue::M(self.item()?),
                "L" => AttributeValue::L(self.list(Self::attribute)?),
                "SS" => AttributeValue::Ss(self.list(|r| r.string().map(Cow::into_owned))?),
                "NS" => AttributeValue::Ns(self.list(|r| r.string().map(Cow::into_owned))?),
                "BS" => AttributeValue::Bs(self.list(Self::blob)?),
                // A type DynamoDB does not have today. The SDK would read it as its
                // `Unknown`, which cannot be built outside it; the entity reading
                // such an item would fail on it either way.
                _ => return self.fail("attribute value of an unknown type"),
            };
            value = Some(v);
        }
        value.map_or_else(|| self.fail("attribute value without a type"), Ok)
    }

    /// Whether the attribute value that comes next is the string `expected`
    /// (`{"S": "<expected>"}`), read without copying it.
    pub fn attribute_is_string(&mut self, expected: &str) -> Result<bool, WireError> {
        self.begin_object()?;
        let mut is = false;
        while let Some(tag) = self.next_key()? {
            if tag == "S" {
                is = self.string()? == expected;
            } else {
                is = false;
                self.skip()?;
            }
        }
        Ok(is)
    }

    /// The attributes `names` of the item that comes next (a batch's key attributes),
    /// the others skipped.
    pub fn attributes(&mut self, names: &[&str]) -> Result<Item, WireError> {
        self.begin_object()?;
        let mut item = Item::with_capacity(names.len());
        while let Some(name) = self.next_key()? {
            if names.contains(&name.as_ref()) {
                let value = self.attribute()?;
                item.insert(name.into_owned(), value);
            } else {
                self.skip()?;
            }
        }
        Ok(item)
    }

    /// In the object that comes next, the string value of attribute `name`
    /// (`{"S": "..."}`) when it has one without escapes; the reader is left where it
    /// was. A collection's item names its entity so, wherever the attribute stands.
    pub fn string_attribute(&mut self, name: &str) -> Result<Option<&'a str>, WireError> {
        let start = self.value_start();
        let found = self.find_string_attribute(name);
        self.rewind(start);
        found
    }

    fn find_string_attribute(&mut self, name: &str) -> Result<Option<&'a str>, WireError> {
        self.begin_object()?;
        while let Some(key) = self.next_key()? {
            if key != name {
                self.skip()?;
                continue;
            }
            self.begin_object()?;
            let mut found = None;
            while let Some(tag) = self.next_key()? {
                match (tag.as_ref(), self.string()?) {
                    ("S", Cow::Borrowed(text)) => found = Some(text),
                    _ => found = None,
                }
            }
            return Ok(found);
        }
        Ok(None)
    }

    fn blob(&mut self) -> Result<Blob, WireError> {
        use base64::Engine as _;
        let at = self.pos;
        let text = self.string()?;
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map(Blob::new)
            .map_err(|_| WireError { at, problem: "binary value is not base64" })
    }

    fn list<T>(
        &mut self,
        mut element: impl FnMut(&mut Self) -> Result<T, WireError>,
    ) -> Result<Vec<T>, WireError> {
        self.begin_array()?;
        let mut out = Vec::new();
        while self.next_element()? {
            out.push(element(self)?);
        }
        Ok(out)
    }

    /// An item: an object of attribute values.
    pub fn item(&mut self) -> Result<Item, WireError> {
        self.begin_object()?;
        let mut item = Item::new();
        while let Some(name) = self.next_key()? {
            let value = self.attribute()?;
            item.insert(name.into_owned(), value);
        }
        Ok(item)
    }
}

impl Reader<'_> {
    /// Skips an object or array by counting brackets, jumping over strings: the
    /// quickest way past a page of items, whose contents are read strictly (item by
    /// item) when they are decoded. Anything else is skipped strictly.
    fn skip_structure(&mut self) -> Result<(), WireError> {
        if !matches!(self.peek(), Some(b'{' | b'[')) {
            return self.skip();
        }
        let bytes = self.bytes;
        let mut depth = 0usize;
        let mut i = self.pos;
        while let Some(&b) = bytes.get(i) {
            match b {
                b'"' => {
                    // A plain loop: the strings of items are short.
                    i += 1;
                    loop {
                        match bytes.get(i) {
                            Some(b'"') => break,
                            // The byte after a backslash cannot end the string.
                            Some(b'\\') => i += 2,
                            Some(_) => i += 1,
                            None => {
                                self.pos = i;
                                return self.fail("unterminated string");
                            }
                        }
                    }
                }
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth -= 1;
                    if depth == 0 {
                        self.pos = i + 1;
                        self.first = false;
                        return Ok(());
                    }
                }
                _ => {}
            }
            i += 1;
        }
        self.pos = i;
        self.fail("unterminated value")
    }
}

/// The span of top-level member `name`'s value in the JSON object `body` (`None`:
/// the body has no such member, or is not an object). The other members are read
/// strictly; the value found is only delimited (see `skip_structure`).
pub fn member(body: &str, name: &str) -> Result<Option<Range<usize>>, WireError> {
    let mut r = Reader::new(body);
    r.begin_object()?;
    while let Some(key) = r.next_key()? {
        if key == name {
            let start = r.value_start();
            r.skip_structure()?;
            return Ok(Some(start..r.position()));
        }
        r.skip()?;
    }
    Ok(None)
}

/// The spans of the elements of the array at `span` of `body`.
pub fn elements(body: &str, span: Range<usize>) -> Result<Vec<Range<usize>>, WireError> {
    let offset = span.start;
    let mut r = Reader::new(&body[span]);
    r.begin_array()?;
    let mut out = Vec::new();
    while r.next_element()? {
        let s = r.span()?;
        out.push(s.start + offset..s.end + offset);
    }
    Ok(out)
}

/// The item in DynamoDB JSON `json` (an object of attribute values).
pub fn item(json: &str) -> Result<Item, WireError> {
    Reader::new(json).item()
}

mod write;
pub use write::{write_attribute, write_item, write_string, UnknownType};

#[cfg(test)]
mod tests;
