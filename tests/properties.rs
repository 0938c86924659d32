//! Property tests: values at the edges of their ranges round-trip exactly, and keys
//! are injective — two different sets of values never compose the same key.

use onetable::{AttributeValue, Entity, Format, Value};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Entity, Debug, Clone, PartialEq)]
#[key(pk = "T#${a}#${b}", sk = "N#${n}")]
struct Keyed {
    a: String,
    b: String,
    n: i64,
}

#[derive(Entity, Debug, Clone, PartialEq)]
#[key(pk = "P#${id}")]
struct Props {
    id: String,
    i: i64,
    u: u64,
    big: i128,
    small: i8,
    f: f64,
    s: String,
    bytes: Vec<u8>,
    list: Vec<Option<i32>>,
    map: BTreeMap<String, String>,
    set: BTreeSet<String>,
    opt: Option<u32>,
}

fn dynamo_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(0.0),
        Just(-0.0),
        Just(1e-130),
        Just(9.99e125),
        Just(-1e-130),
        (-1e125..1e125f64),
        any::<f64>().prop_filter("in DynamoDB's range", |f| f.is_finite()
            && (f.abs() >= 1e-130 || *f == 0.0)
            && f.abs() < 1e126),
    ]
}

fn i128_38_digits() -> impl Strategy<Value = i128> {
    let max = 10i128.pow(38) - 1;
    prop_oneof![Just(max), Just(-max), Just(0), -max..=max]
}

proptest! {
    #[test]
    fn items_round_trip_exactly(
        id in "[a-zA-Z0-9]{1,20}",
        i in any::<i64>(),
        u in any::<u64>(),
        big in i128_38_digits(),
        small in any::<i8>(),
        f in dynamo_f64(),
        s in any::<String>(),
        bytes in proptest::collection::vec(any::<u8>(), 0..64),
        list in proptest::collection::vec(proptest::option::of(any::<i32>()), 0..8),
        map in proptest::collection::btree_map(any::<String>(), any::<String>(), 0..4),
        set in proptest::collection::btree_set(any::<String>(), 0..4),
        opt in proptest::option::of(any::<u32>()),
        iso in any::<bool>(),
        nulls in any::<bool>(),
    ) {
        let value = Props { id, i, u, big, small, f, s, bytes, list, map, set, opt };
        let format = Format::ONETABLE.with_iso_dates(iso).with_nulls(nulls);
        let item = value.to_item(&format).unwrap();
        let back = Props::from_item(item).unwrap();
        // Exact equality, floats included (0.0 == -0.0).
        prop_assert_eq!(back, value);
    }

    #[test]
    fn integers_are_exact_at_every_width(v in any::<i64>(), w in any::<u64>(), x in any::<u32>(), y in any::<i16>()) {
        let f = Format::ONETABLE;
        prop_assert_eq!(i64::from_attr(v.to_attr(&f).unwrap().unwrap()).unwrap(), v);
        prop_assert_eq!(u64::from_attr(w.to_attr(&f).unwrap().unwrap()).unwrap(), w);
        prop_assert_eq!(u32::from_attr(x.to_attr(&f).unwrap().unwrap()).unwrap(), x);
        prop_assert_eq!(i16::from_attr(y.to_attr(&f).unwrap().unwrap()).unwrap(), y);
        // A value too wide for the field is an error, never a wrapped number.
        if w > u64::from(u32::MAX) {
            prop_assert!(u32::from_attr(AttributeValue::N(w.to_string())).is_err());
        }
    }

    #[test]
    fn keys_are_injective(
        a1 in "[^#]{1,6}|.{0,6}", b1 in ".{0,6}", n1 in any::<i64>(),
        a2 in "[^#]{1,6}|.{0,6}", b2 in ".{0,6}", n2 in any::<i64>(),
    ) {
        let k1 = Keyed::key(a1.as_str(), b1.as_str(), n1).into_attrs();
        let k2 = Keyed::key(a2.as_str(), b2.as_str(), n2).into_attrs();
        // A key is refused exactly when a value is empty or holds the delimiter.
        let valid = |a: &str, b: &str| !a.is_empty() && !b.is_empty() && !a.contains('#') && !b.contains('#');
        prop_assert_eq!(k1.is_ok(), valid(&a1, &b1));
        if let (Ok(k1), Ok(k2)) = (k1, k2) {
            prop_assert_eq!(k1 == k2, (a1, b1, n1) == (a2, b2, n2));
        }
    }

    #[test]
    fn composed_keys_match_their_template(a in "[^#]{1,10}", b in "[^#]{1,10}", n in any::<i64>()) {
        let key = Keyed::key(a.as_str(), b.as_str(), n).into_attrs().unwrap();
        let AttributeValue::S(pk) = &key["pk"] else { panic!() };
        prop_assert!(Keyed::SCHEMA.primary().hash.as_ref().unwrap().template.matches(pk));
    }
}
