//! What a rewrite keeps of the item it rewrites, so that nothing the schema does not
//! own is lost: the keys of a known map that the schema does not declare (another
//! service's, a newer version's), and the stored text of a number whose value did
//! not change (`1.50` stays `1.50`, a 38-digit number keeps every digit).

use onetable_core::{AttributeValue, EntitySchema, MapSchema};
use std::collections::BTreeMap;

/// The map attributes of entities whose keys are known, by attribute: what a rewrite
/// of those attributes must merge rather than replace.
#[derive(Debug, Clone, Default)]
pub struct Maps {
    maps: BTreeMap<&'static str, MapKeys>,
}

#[derive(Debug, Clone)]
enum MapKeys {
    Struct(Keys),
    /// The packed fields: their keys, and the keys of those that are structs.
    Packed(Keys),
}

/// The keys of a map that any form declares (the union: a key one form has and the
/// other dropped or renamed is still the entity's, not another writer's), each with
/// the keys of its own map when it is a struct.
#[derive(Debug, Clone, Default)]
struct Keys(BTreeMap<&'static str, Option<Keys>>);

impl Keys {
    fn add(&mut self, key: &'static str, nested: Option<&'static MapSchema>) {
        let slot = self.0.entry(key).or_default();
        if let Some(nested) = nested {
            let keys = slot.get_or_insert_with(Keys::default);
            for k in nested.keys {
                keys.add(k.attribute, k.map);
            }
        }
    }

    fn of(schema: &'static MapSchema) -> Keys {
        let mut keys = Keys::default();
        for k in schema.keys {
            keys.add(k.attribute, k.map);
        }
        keys
    }

    fn get(&self, key: &str) -> Option<&Option<Keys>> {
        self.0.get(key)
    }
}

impl Maps {
    /// The known maps of `schemas` (an entity's forms, old and new).
    pub fn of(schemas: &[&EntitySchema]) -> Maps {
        let mut maps = Maps::default();
        for schema in schemas {
            for field in schema.fields {
                match field.map {
                    Some(container) => {
                        let entry =
                            maps.maps.entry(container).or_insert_with(|| MapKeys::Packed(Keys::default()));
                        if let MapKeys::Packed(keys) = entry {
                            keys.add(field.attribute, field.map_keys);
                        }
                    }
                    None => {
                        if let Some(schema) = field.map_keys {
                            match maps.maps.get_mut(field.attribute) {
                                Some(MapKeys::Struct(keys)) => {
                                    for k in schema.keys {
                                        keys.add(k.attribute, k.map);
                                    }
                                }
                                _ => {
                                    maps.maps.insert(field.attribute, MapKeys::Struct(Keys::of(schema)));
                                }
                            }
                        }
                    }
                }
            }
        }
        maps
    }

    /// True when no map's keys are known.
    pub fn is_empty(&self) -> bool {
        self.maps.is_empty()
    }

    /// True when `attribute` is a map of packed fields (which holds other keys than
    /// the fields').
    pub fn is_packed(&self, attribute: &str) -> bool {
        matches!(self.maps.get(attribute), Some(MapKeys::Packed(_)))
    }

    /// True when the schemas know the keys of map `attribute`.
    pub fn contains(&self, attribute: &str) -> bool {
        self.maps.contains_key(attribute)
    }

    /// The value to store for `attribute`: `new`, with what `read` holds that the
    /// schema does not own, and the stored text of every number whose value is
    /// unchanged. `None`: the attribute is to be removed — unless it is a map that
    /// packs fields and still holds keys the schema does not own, which stay.
    pub fn keep(
        &self,
        attribute: &str,
        read: Option<&AttributeValue>,
        new: Option<AttributeValue>,
    ) -> Option<AttributeValue> {
        match (self.maps.get(attribute), read, new) {
            (_, None, new) => new,
            (None, Some(read), Some(new)) => Some(stored(read, new)),
            (None, Some(_), None) => None,
            (Some(MapKeys::Struct(keys)), Some(read), Some(new)) => Some(merge_struct(read, new, keys)),
            // A struct field set to nothing: the field owns its attribute.
            (Some(MapKeys::Struct(_)), Some(_), None) => None,
            (Some(MapKeys::Packed(keys)), Some(read), new) => merge_packed(read, new, keys),
        }
    }
}

/// `new`, or `read` when both hold the same value (so a number keeps its stored text).
pub fn stored(read: &AttributeValue, new: AttributeValue) -> AttributeValue {
    if same(read, &new) {
        return read.clone();
    }
    match (read, new) {
        // Lists and maps of the same shape keep the stored text of their unchanged parts.
        (AttributeValue::M(read), AttributeValue::M(new)) => AttributeValue::M(
            new.into_iter()
                .map(|(k, v)| {
                    let v = match read.get(&k) {
                        Some(r) => stored(r, v),
                        None => v,
                    };
                    (k, v)
                })
                .collect(),
        ),
        (AttributeValue::L(read), AttributeValue::L(new)) if read.len() == new.len() => {
            AttributeValue::L(read.iter().zip(new).map(|(r, n)| stored(r, n)).collect())
        }
        (_, new) => new,
    }
}

/// A struct's map: its own keys from `new`, every other key of `read` kept.
fn merge_struct(read: &AttributeValue, new: AttributeValue, keys: &Keys) -> AttributeValue {
    let (AttributeValue::M(read), AttributeValue::M(mut new)) = (read, new.clone()) else {
        return stored(read, new);
    };
    for (key, value) in read {
        match keys.get(key) {
            // Not the struct's: another writer's, kept as it is.
            None => {
                new.insert(key.clone(), value.clone());
            }
            Some(nested) => {
                if let Some(replacement) = new.remove(key) {
                    let merged = match nested {
                        Some(nested) => merge_struct(value, replacement, nested),
                        None => stored(value, replacement),
                    };
                    new.insert(key.clone(), merged);
                }
            }
        }
    }
    AttributeValue::M(new)
}

/// A map of packed fields: the packed fields from `new`, every other key of `read`
/// kept; `None` when nothing is left.
fn merge_packed(read: &AttributeValue, new: Option<AttributeValue>, keys: &Keys) -> Option<AttributeValue> {
    let AttributeValue::M(read) = read else { return new };
    let mut out = match new {
        Some(AttributeValue::M(new)) => new,
        Some(other) => return Some(other),
        None => Default::default(),
    };
    for (key, value) in read {
        match keys.get(key.as_str()) {
            None => {
                out.insert(key.clone(), value.clone());
            }
            Some(nested) => {
                if let Some(replacement) = out.remove(key) {
                    let merged = match nested {
                        Some(nested) => merge_struct(value, replacement, nested),
                        None => stored(value, replacement),
                    };
                    out.insert(key.clone(), merged);
                }
            }
        }
    }
    (!out.is_empty()).then_some(AttributeValue::M(out))
}

/// True when two attribute values are the same value: numbers by value (`1.50` and
/// `1.5`), sets whatever their order, maps and lists element by element.
pub fn same(a: &AttributeValue, b: &AttributeValue) -> bool {
    use AttributeValue as A;
    match (a, b) {
        (A::N(x), A::N(y)) => x == y || canonical(x).is_some_and(|c| Some(c) == canonical(y)),
        (A::Ns(x), A::Ns(y)) => {
            let set = |v: &[String]| {
                v.iter()
                    .map(|n| canonical(n).unwrap_or_else(|| n.clone()))
                    .collect::<std::collections::BTreeSet<_>>()
            };
            x.len() == y.len() && set(x) == set(y)
        }
        (A::Ss(x), A::Ss(y)) => {
            x.len() == y.len() && x.iter().collect::<std::collections::BTreeSet<_>>() == y.iter().collect()
        }
        (A::Bs(x), A::Bs(y)) => {
            x.len() == y.len()
                && x.iter().map(|b| b.as_ref()).collect::<std::collections::BTreeSet<_>>()
                    == y.iter().map(|b| b.as_ref()).collect()
        }
        (A::M(x), A::M(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        (A::L(x), A::L(y)) => x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same(v, w)),
        _ => a == b,
    }
}

/// A number's canonical text: sign, significant digits and exponent, so that every
/// spelling of one value (`1.50`, `1.5`, `15e-1`, `+1.5`) has the same. `None` for
/// text that is not a number.
fn canonical(text: &str) -> Option<String> {
    let text = text.trim();
    let (negative, rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], rest[i + 1..].parse::<i64>().ok()?),
        None => (rest, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if whole.is_empty() && fraction.is_empty()
        || !(whole.bytes().chain(fraction.bytes())).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let digits: String = whole.chars().chain(fraction.chars()).collect();
    // value = 0.digits × 10^(whole.len() + exponent)
    let leading = digits.len() - digits.trim_start_matches('0').len();
    let significant = digits.trim_start_matches('0').trim_end_matches('0');
    if significant.is_empty() {
        return Some("0".to_owned());
    }
    let point = whole.len() as i64 + exponent - leading as i64;
    Some(format!("{}0.{significant}e{point}", if negative { "-" } else { "" }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use onetable_core::MapKey;

    fn n(text: &str) -> AttributeValue {
        AttributeValue::N(text.to_owned())
    }

    fn m(entries: &[(&str, AttributeValue)]) -> AttributeValue {
        AttributeValue::M(entries.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect())
    }

    #[test]
    fn every_spelling_of_a_number_is_the_same_value() {
        for (a, b) in
            [("1.50", "1.5"), ("15e-1", "1.5"), ("+1.5", "1.5"), ("0.00", "0"), ("-0", "0"), ("100", "1e2")]
        {
            assert!(same(&n(a), &n(b)), "{a} = {b}");
        }
        for (a, b) in [
            ("1.5", "1.05"),
            ("-1", "1"),
            ("10", "1"),
            ("12345678901234567890123456789012345678", "12345678901234567890123456789012345679"),
        ] {
            assert!(!same(&n(a), &n(b)), "{a} != {b}");
        }
        // An unchanged value keeps its stored text, even the digits an f64 would lose.
        let long = "0.30000000000000000000000000000000000001";
        assert_eq!(stored(&n(long), n(long)), n(long));
        assert_eq!(stored(&n("1.50"), n("1.5")), n("1.50"));
        assert_eq!(stored(&n("1.50"), n("2")), n("2"));
    }

    const POINT: MapSchema =
        MapSchema { keys: &[MapKey { attribute: "lat", map: None }, MapKey { attribute: "lon", map: None }] };
    const ADDRESS: MapSchema = MapSchema {
        keys: &[MapKey { attribute: "city", map: None }, MapKey { attribute: "geo", map: Some(&POINT) }],
    };

    #[test]
    fn a_struct_keeps_the_keys_it_does_not_own_at_every_depth() {
        let read = m(&[
            ("city", AttributeValue::S("Lyon".into())),
            ("zip", AttributeValue::S("69001".into())),
            ("geo", m(&[("lat", n("45.750")), ("lon", n("4.85")), ("alt", n("170"))])),
        ]);
        let new = m(&[
            ("city", AttributeValue::S("Paris".into())),
            ("geo", m(&[("lat", n("45.75")), ("lon", n("2.35"))])),
        ]);
        let merged = merge_struct(&read, new, &Keys::of(&ADDRESS));
        let expected = m(&[
            ("city", AttributeValue::S("Paris".into())),
            ("zip", AttributeValue::S("69001".into())),
            ("geo", m(&[("lat", n("45.750")), ("lon", n("2.35")), ("alt", n("170"))])),
        ]);
        assert_eq!(merged, expected);
    }

    #[test]
    fn keys_any_form_declares_are_the_entitys_and_others_are_kept() {
        const V1: MapSchema = MapSchema {
            keys: &[MapKey { attribute: "city", map: None }, MapKey { attribute: "street", map: None }],
        };
        const V2: MapSchema = MapSchema {
            keys: &[MapKey { attribute: "city", map: None }, MapKey { attribute: "country", map: None }],
        };
        let mut keys = Keys::of(&V1);
        for k in V2.keys {
            keys.add(k.attribute, k.map);
        }
        let s = |t: &str| AttributeValue::S(t.into());
        let read =
            m(&[("city", s("Lyon")), ("street", s("Rue A")), ("country", s("FR")), ("ext", s("theirs"))]);
        let new = m(&[("city", s("Lyon")), ("country", s("DE"))]);
        // The new form's value wins, the old form's dropped key goes, another's stays.
        assert_eq!(
            merge_struct(&read, new, &keys),
            m(&[("city", s("Lyon")), ("country", s("DE")), ("ext", s("theirs"))])
        );
    }

    #[test]
    fn a_packed_map_keeps_other_keys_even_when_its_fields_are_gone() {
        let mut keys = Keys::default();
        keys.add("nm", None);
        let read = m(&[("nm", AttributeValue::S("Ann".into())), ("other", AttributeValue::S("kept".into()))]);
        assert_eq!(merge_packed(&read, None, &keys), Some(m(&[("other", AttributeValue::S("kept".into()))])));
        assert_eq!(merge_packed(&m(&[("nm", AttributeValue::S("Ann".into()))]), None, &keys), None);
    }
}
