//! Opaque pagination cursors: where the next page of a query starts.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use onetable_core::{AttributeValue, Error, ErrorKind, Item};

/// Where the next page starts: an opaque, URL-safe string to hand to a client and
/// take back with [`Find::next`](crate::Find::next).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cursor(String);

impl Cursor {
    /// The cursor of a key (`LastEvaluatedKey`, or the key of the last item returned).
    /// Each name and value is length-prefixed, so any character may appear in them.
    pub fn from_key(key: &Item) -> Cursor {
        let mut entries: Vec<_> = key.iter().collect();
        entries.sort_by(|a, b| a.0.cmp(b.0));
        let mut text = String::new();
        for (name, value) in entries {
            let (kind, value) = match value {
                AttributeValue::S(s) => ('S', s.clone()),
                AttributeValue::N(n) => ('N', n.clone()),
                AttributeValue::B(b) => ('B', URL_SAFE_NO_PAD.encode(b.as_ref())),
                // Key attributes are only ever S, N or B.
                other => ('S', format!("{other:?}")),
            };
            text.push_str(&format!("{}:{name}{kind}{}:{value}", name.len(), value.len()));
        }
        Cursor(URL_SAFE_NO_PAD.encode(text))
    }

    /// The key the cursor stands for.
    pub fn to_key(&self) -> Result<Item, Error> {
        let bad = || -> Error {
            ErrorKind::InvalidCursor(format!("{:?} was not made by this library", self.0)).into()
        };
        let bytes = URL_SAFE_NO_PAD.decode(&self.0).map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let mut rest = text.as_str();
        let mut key = Item::new();
        // Reads `<len>:<len bytes>` from the front of `rest`.
        fn take<'t>(rest: &mut &'t str) -> Option<&'t str> {
            let (len, tail) = rest.split_once(':')?;
            let len: usize = len.parse().ok()?;
            let value = tail.get(..len)?;
            *rest = &tail[len..];
            Some(value)
        }
        while !rest.is_empty() {
            let name = take(&mut rest).ok_or_else(bad)?;
            let kind = rest.get(..1).ok_or_else(bad)?;
            rest = &rest[1..];
            let value = take(&mut rest).ok_or_else(bad)?;
            let value = match kind {
                "S" => AttributeValue::S(value.to_owned()),
                "N" => AttributeValue::N(value.to_owned()),
                "B" => AttributeValue::B(URL_SAFE_NO_PAD.decode(value).map_err(|_| bad())?.into()),
                _ => return Err(bad()),
            };
            key.insert(name.to_owned(), value);
        }
        if key.is_empty() {
            return Err(bad());
        }
        Ok(key)
    }

    /// The cursor as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for Cursor {
    /// Takes back a cursor a client returned; it is checked when used.
    fn from(s: String) -> Cursor {
        Cursor(s)
    }
}

impl std::str::FromStr for Cursor {
    type Err = Error;
    fn from_str(s: &str) -> Result<Cursor, Error> {
        let cursor = Cursor(s.to_owned());
        cursor.to_key()?;
        Ok(cursor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_key_type() {
        let key: Item = [
            ("pk".to_owned(), AttributeValue::S("A#\u{1f}b".into())),
            ("n".to_owned(), AttributeValue::N("-12.5".into())),
            ("b".to_owned(), AttributeValue::B(vec![0u8, 255].into())),
        ]
        .into();
        let c = Cursor::from_key(&key);
        assert!(c.as_str().bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(c.to_key().unwrap(), key);
        assert_eq!(c.as_str().parse::<Cursor>().unwrap(), c);
        assert!("not a cursor!".parse::<Cursor>().is_err());
        assert!(Cursor::from("MTA6eA".to_owned()).to_key().is_err(), "a truncated cursor");
    }
}
