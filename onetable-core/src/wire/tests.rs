//! The reader against the SDK's types, serde_json, and bodies that are not JSON.

use super::*;
use proptest::prelude::*;

#[test]
fn reads_every_type_as_the_sdk_types_it() {
    let body = r#" { "s" : {"S":"a\"b\\c\u00e9\ud83d\ude00\n"}, "n":{"N":"-1.5E+3"}, "b":{"B":"AAEC"},
        "t":{"BOOL":true}, "z":{"NULL":true}, "m":{"M":{"k":{"L":[{"N":"1"},{"SS":["x","y"]}]}}},
        "ns":{"NS":["1","2"]}, "bs":{"BS":["/w=="]}, "e":{"M":{}}, "l":{"L":[]} } "#;
    let item = item(body).unwrap();
    assert_eq!(item["s"], AttributeValue::S("a\"b\\cé😀\n".into()));
    assert_eq!(item["n"], AttributeValue::N("-1.5E+3".into()));
    assert_eq!(item["b"], AttributeValue::B(Blob::new(vec![0, 1, 2])));
    assert_eq!(item["t"], AttributeValue::Bool(true));
    assert_eq!(item["z"], AttributeValue::Null(true));
    let inner = AttributeValue::L(vec![
        AttributeValue::N("1".into()),
        AttributeValue::Ss(vec!["x".into(), "y".into()]),
    ]);
    assert_eq!(item["m"], AttributeValue::M(Item::from([("k".to_owned(), inner)])));
    assert_eq!(item["ns"], AttributeValue::Ns(vec!["1".into(), "2".into()]));
    assert_eq!(item["bs"], AttributeValue::Bs(vec![Blob::new(vec![255])]));
    assert_eq!(item["e"], AttributeValue::M(Item::new()));
    assert_eq!(item["l"], AttributeValue::L(vec![]));
    assert_eq!(item.len(), 10);
}

#[test]
fn finds_a_member_and_the_spans_of_its_elements() {
    let body =
        r#"{"Count":2,"Items":[{"a":{"S":"]}"}} , {"b":{"N":"1"}}],"LastEvaluatedKey":{"pk":{"S":"x"}}}"#;
    let span = member(body, "Items").unwrap().unwrap();
    let items = elements(body, span).unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(&body[items[0].clone()], r#"{"a":{"S":"]}"}}"#);
    assert_eq!(&body[items[1].clone()], r#"{"b":{"N":"1"}}"#);
    assert_eq!(member(body, "Item").unwrap(), None);
    // Brackets and escaped quotes inside strings do not end the value.
    let tricky = r#"{"Items":[{"a":{"S":"x\"]}\\"}}],"Count":1}"#;
    let span = member(tricky, "Items").unwrap().unwrap();
    assert_eq!(&tricky[span.clone()], r#"[{"a":{"S":"x\"]}\\"}}]"#);
    let first = elements(tricky, span).unwrap()[0].clone();
    assert_eq!(item(&tricky[first]).unwrap()["a"], AttributeValue::S("x\"]}\\".into()));
    assert!(member(r#"{"Items":[{"a":{"S":"x"}}"#, "Items").is_err());
    let key = member(body, "LastEvaluatedKey").unwrap().unwrap();
    assert_eq!(item(&body[key]).unwrap()["pk"], AttributeValue::S("x".into()));
}

#[test]
fn malformed_bodies_are_errors_not_guesses() {
    for bad in [
        r#"{"a":{"S":"x"}"#,
        r#"{"a":{"S":"x"},}"#,
        r#"{"a":{"S":"x"} "b":{"S":"y"}}"#,
        r#"{"a":{"S":"\x"}}"#,
        r#"{"a":{"S":"\ud800"}}"#,
        r#"{"a":{"B":"not base64!"}}"#,
        r#"{"a":{}}"#,
        r#"{"a":{"Q":"1"}}"#,
        r#"{"a":{"BOOL":1}}"#,
        r#"{"a":{"L":[{"N":"1"},]}}"#,
        r#"{"a":{"S":"x","N":"1"}}"#,
    ] {
        assert!(item(bad).is_err(), "{bad}");
    }
    // A body cut after a backslash is an error however it is read, never a panic.
    for cut in ["{\"a\":{\"S\":\"x\\", "\"\\", "{\"Items\":[{\"a\":{\"S\":\"\\"] {
        assert!(item(cut).is_err(), "{cut}");
        assert!(Reader::new(cut).skip().is_err(), "{cut}");
        assert!(member(cut, "Items").is_err(), "{cut}");
        assert!(member(cut, "Other").is_err(), "{cut}");
    }
}

proptest! {
    #[test]
    fn strings_read_as_serde_json_reads_them(s in any::<String>()) {
        let json = serde_json::to_string(&s).unwrap();
        prop_assert_eq!(Reader::new(&json).string().unwrap(), s.as_str());
        // Every character escaped, as some encoders write them.
        let escaped: String = s
            .encode_utf16()
            .map(|u| format!("\\u{u:04x}"))
            .collect();
        let json = format!("\"{escaped}\"");
        prop_assert_eq!(Reader::new(&json).string().unwrap(), s.as_str());
    }

    #[test]
    fn skipping_a_value_ends_where_serde_json_ends_it(v in json_value()) {
        let text = format!("{v} ,");
        let mut r = Reader::new(&text);
        r.skip().unwrap();
        prop_assert_eq!(&text[r.position()..], " ,");
    }
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(Into::into),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Into::into),
        any::<String>().prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

fn text() -> impl Strategy<Value = String> {
    // Quotes, backslashes, every control character, astral planes, among plain ASCII
    // (the writer reads eight bytes at a time: anything may stand anywhere in them).
    prop::collection::vec(
        prop_oneof![
            4 => prop::char::range('a', 'z'),
            2 => any::<char>(),
            1 => (0u8..0x20).prop_map(char::from),
            1 => prop_oneof![Just('"'), Just('\\'), Just('\u{7f}'), Just('\u{80}'), Just('!'), Just('#')],
        ],
        0..40,
    )
    .prop_map(|c| c.into_iter().collect())
}

fn attribute() -> impl Strategy<Value = AttributeValue> {
    let blob = || prop::collection::vec(any::<u8>(), 0..40).prop_map(Blob::new);
    let leaf = prop_oneof![
        text().prop_map(AttributeValue::S),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|n| AttributeValue::N(n.to_string())),
        blob().prop_map(AttributeValue::B),
        any::<bool>().prop_map(AttributeValue::Bool),
        any::<bool>().prop_map(AttributeValue::Null),
        prop::collection::vec(text(), 0..4).prop_map(AttributeValue::Ss),
        prop::collection::vec(any::<i64>().prop_map(|n| n.to_string()), 0..4).prop_map(AttributeValue::Ns),
        prop::collection::vec(blob(), 0..3).prop_map(AttributeValue::Bs),
    ];
    leaf.prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(AttributeValue::L),
            prop::collection::hash_map(text(), inner, 0..5).prop_map(AttributeValue::M),
        ]
    })
}

/// The JSON of `value` as serde_json builds it: the reference the writer's output
/// must equal once parsed.
fn reference(value: &AttributeValue) -> serde_json::Value {
    use base64::Engine as _;
    use serde_json::{json, Value};
    let b64 = |b: &Blob| Value::String(base64::engine::general_purpose::STANDARD.encode(b.as_ref()));
    match value {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::B(b) => json!({ "B": b64(b) }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        AttributeValue::Null(b) => json!({ "NULL": b }),
        AttributeValue::Ss(s) => json!({ "SS": s }),
        AttributeValue::Ns(n) => json!({ "NS": n }),
        AttributeValue::Bs(b) => json!({ "BS": b.iter().map(b64).collect::<Vec<_>>() }),
        AttributeValue::L(l) => json!({ "L": l.iter().map(reference).collect::<Vec<_>>() }),
        AttributeValue::M(m) => {
            json!({ "M": m.iter().map(|(k, v)| (k.clone(), reference(v))).collect::<serde_json::Map<_, _>>() })
        }
        _ => unreachable!("no other type is generated"),
    }
}

proptest! {
    #[test]
    fn strings_are_written_as_serde_json_writes_them(s in text()) {
        let mut out = String::new();
        write_string(&mut out, &s);
        prop_assert_eq!(out, serde_json::to_string(&s).unwrap());
    }

    #[test]
    fn an_item_written_reads_back_the_same_and_is_the_json_serde_json_makes(
        item in prop::collection::hash_map(text(), attribute(), 0..8),
    ) {
        let mut out = String::from("prefix");
        write_item(&mut out, &item).unwrap();
        let json = &out["prefix".len()..];
        prop_assert_eq!(&super::item(json).unwrap(), &item);
        let parsed: serde_json::Value = serde_json::from_str(json).unwrap();
        let expected: serde_json::Map<_, _> = item.iter().map(|(k, v)| (k.clone(), reference(v))).collect();
        prop_assert_eq!(parsed, serde_json::Value::Object(expected));
    }
}
