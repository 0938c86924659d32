//! `#[derive(Entity)]` and `#[derive(Value)]`: every supported type round-trips, items
//! have OneTable's layout, and reading a bad item names the entity, field, attribute
//! and type found.

use onetable::{AttributeValue, Entity, Format, Item, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Value, Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[value(rename_all = "snake_case")]
enum Status {
    Active,
    OnHold,
    #[attr(rename = "gone")]
    Deleted,
}

#[derive(Value, Debug, Clone, PartialEq)]
struct Address {
    street: String,
    #[attr(rename = "zip")]
    postcode: Option<String>,
    #[attr(default)]
    floor: i32,
    #[attr(skip)]
    cached: Option<String>,
}

#[derive(Value, Debug, Clone, PartialEq)]
struct Nested {
    address: Address,
    history: Vec<Address>,
}

/// Every type the derive maps, one field each.
#[derive(Entity, Debug, Clone, PartialEq)]
#[key(pk = "ALL#${id}", sk = "ALL")]
struct AllTypes {
    id: String,
    text: String,
    empty_text: String,
    flag: bool,
    letter: char,
    i8_: i8,
    i16_: i16,
    i32_: i32,
    i64_: i64,
    i128_: i128,
    isize_: isize,
    u8_: u8,
    u16_: u16,
    u32_: u32,
    u64_: u64,
    usize_: usize,
    f32_: f32,
    f64_: f64,
    some: Option<String>,
    none: Option<String>,
    bytes: Vec<u8>,
    list: Vec<String>,
    list_of_options: Vec<Option<i64>>,
    nested_list: Vec<Vec<u32>>,
    string_set: BTreeSet<String>,
    number_set: HashSet<u64>,
    binary_set: BTreeSet<Vec<u8>>,
    enum_set: BTreeSet<Status>,
    empty_set: HashSet<String>,
    hash_map: HashMap<String, i64>,
    tree_map: BTreeMap<String, Vec<String>>,
    status: Status,
    nested: Nested,
    when: SystemTime,
    chrono_when: chrono::DateTime<chrono::Utc>,
    uuid: uuid::Uuid,
    ulid: ulid::Ulid,
    raw: AttributeValue,
    boxed: Box<Address>,
}

fn all_types() -> AllTypes {
    let address = Address { street: "Main".into(), postcode: Some("N1".into()), floor: -1, cached: None };
    AllTypes {
        id: "a1".into(),
        text: "héllo wörld ✓ #:{}".into(),
        empty_text: String::new(),
        flag: true,
        letter: 'ß',
        i8_: i8::MIN,
        i16_: i16::MIN,
        i32_: i32::MIN,
        i64_: i64::MIN,
        i128_: -99_999_999_999_999_999_999_999_999_999_999_999_999,
        isize_: isize::MAX,
        u8_: u8::MAX,
        u16_: u16::MAX,
        u32_: u32::MAX,
        u64_: u64::MAX,
        usize_: usize::MAX,
        f32_: f32::MIN_POSITIVE,
        f64_: -1.0e125,
        some: Some("x".into()),
        none: None,
        bytes: vec![0, 1, 2, 255],
        list: vec!["a".into(), String::new()],
        list_of_options: vec![Some(1), None, Some(-3)],
        nested_list: vec![vec![], vec![1, 2]],
        string_set: ["b".to_string(), "a".to_string()].into(),
        number_set: [0, u64::MAX].into(),
        binary_set: [vec![1u8], vec![2, 3]].into(),
        enum_set: [Status::Active, Status::Deleted].into(),
        empty_set: HashSet::new(),
        hash_map: [("k".to_string(), -5)].into(),
        tree_map: [("a".to_string(), vec!["x".to_string()])].into(),
        status: Status::OnHold,
        nested: Nested { address: address.clone(), history: vec![address.clone(), address.clone()] },
        when: UNIX_EPOCH + Duration::from_millis(1_715_000_000_123),
        chrono_when: chrono::DateTime::from_timestamp_millis(1_715_000_000_123).unwrap(),
        uuid: uuid::Uuid::from_u128(0x1234),
        ulid: ulid::Ulid::from_parts(1_715_000_000_123, 42),
        raw: AttributeValue::Ns(vec!["1".into()]),
        boxed: Box::new(address),
    }
}

#[test]
fn every_type_round_trips_through_an_item() {
    let value = all_types();
    for format in [Format::ONETABLE, Format::ONETABLE.with_iso_dates(true).with_nulls(true)] {
        let item = value.to_item(&format).unwrap();
        assert_eq!(AllTypes::from_item(item.clone()).unwrap(), value, "{format:?}");
        assert_eq!(value.clone().into_item(&format).unwrap(), item, "into_item writes what to_item writes");
    }
}

#[test]
fn values_use_the_dynamodb_types_onetable_uses() {
    let item = all_types().to_item(&Format::ONETABLE).unwrap();
    let get = |name: &str| item.get(name).unwrap_or_else(|| panic!("no attribute {name}"));
    assert_eq!(get("u64_"), &AttributeValue::N("18446744073709551615".into()));
    assert_eq!(get("i64_"), &AttributeValue::N("-9223372036854775808".into()));
    assert_eq!(get("flag"), &AttributeValue::Bool(true));
    assert_eq!(get("status"), &AttributeValue::S("on_hold".into()));
    assert!(matches!(get("bytes"), AttributeValue::B(_)));
    assert!(matches!(get("list"), AttributeValue::L(_)), "a Vec is a list, not a set");
    assert!(matches!(get("string_set"), AttributeValue::Ss(_)));
    assert!(matches!(get("number_set"), AttributeValue::Ns(_)));
    assert!(matches!(get("binary_set"), AttributeValue::Bs(_)));
    assert_eq!(get("enum_set"), &AttributeValue::Ss(vec!["active".into(), "gone".into()]));
    assert!(!item.contains_key("empty_set"), "DynamoDB has no empty set: the attribute is left out");
    assert!(!item.contains_key("none"), "None is left out unless the table keeps nulls");
    assert_eq!(
        get("list_of_options"),
        &AttributeValue::L(vec![
            AttributeValue::N("1".into()),
            AttributeValue::Null(true),
            AttributeValue::N("-3".into()),
        ])
    );
    // Dates are epoch milliseconds by default, ISO-8601 strings with iso_dates.
    assert_eq!(get("when"), &AttributeValue::N("1715000000123".into()));
    assert_eq!(get("chrono_when"), &AttributeValue::N("1715000000123".into()));
    let iso = all_types().to_item(&Format::ONETABLE.with_iso_dates(true)).unwrap();
    assert_eq!(iso["when"], AttributeValue::S("2024-05-06T12:53:20.123Z".into()));
    let nulls = all_types().to_item(&Format::ONETABLE.with_nulls(true)).unwrap();
    assert_eq!(nulls["none"], AttributeValue::Null(true));
    // Nested structs are maps, with their own renames and skips.
    let AttributeValue::M(nested) = get("nested") else { panic!("nested is a map") };
    let AttributeValue::M(address) = &nested["address"] else { panic!("address is a map") };
    assert_eq!(address["zip"], AttributeValue::S("N1".into()));
    assert!(!address.contains_key("cached"));
    assert_eq!(get("_type"), &AttributeValue::S("AllTypes".into()));
}

#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "User", timestamps)]
#[key(pk = "ACCOUNT#${account_id}", sk = "USER#$<id>")]
#[index(name = "gs1", pk = "EMAIL#${email}", sk = "USER")]
#[index(name = "gs2", pk = "STATUS#${status}", sk = "NICK#${nick}")]
#[index(name = "ls1", sk = "NAME#${name}", local)]
struct User {
    #[attr(generate = "ulid")]
    id: String,
    account_id: String,
    #[attr(unique)]
    email: String,
    #[attr(rename = "nm")]
    name: String,
    status: Status,
    nick: Option<String>,
    #[attr(map = "data.addr")]
    address: Option<Address>,
    #[attr(map = "data")]
    tags: BTreeSet<String>,
    #[attr(ttl)]
    expires: Option<SystemTime>,
    #[attr(version)]
    version: u64,
    #[attr(default = "default_logins")]
    logins: u32,
    #[attr(skip)]
    session: Option<String>,
}

fn default_logins() -> u32 {
    7
}

fn user() -> User {
    User {
        id: "01HZ".into(),
        account_id: "acme".into(),
        email: "ann@example.com".into(),
        name: "Ann".into(),
        status: Status::Active,
        nick: None,
        address: Some(Address { street: "Main".into(), postcode: None, floor: 2, cached: None }),
        tags: ["admin".to_string()].into(),
        expires: Some(UNIX_EPOCH + Duration::from_secs(1_800_000_000)),
        version: 3,
        logins: 1,
        session: Some("not stored".into()),
    }
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.into())
}

#[test]
fn items_have_onetables_layout() {
    let item = user().to_item(&Format::ONETABLE).unwrap();
    assert_eq!(item["pk"], s("ACCOUNT#acme"));
    assert_eq!(item["sk"], s("USER#01HZ"));
    assert_eq!(item["gs1pk"], s("EMAIL#ann@example.com"));
    assert_eq!(item["gs1sk"], s("USER"));
    assert_eq!(item["gs2pk"], s("STATUS#active"));
    assert!(!item.contains_key("gs2sk"), "an absent variable leaves the index key out (sparse index)");
    assert_eq!(item["ls1sk"], s("NAME#Ann"));
    assert_eq!(item["nm"], s("Ann"));
    assert!(!item.contains_key("name"));
    assert_eq!(item["_type"], s("User"));
    // TTL: epoch seconds.
    assert_eq!(item["expires"], AttributeValue::N("1800000000".into()));
    // Packed fields live in one map attribute.
    let AttributeValue::M(data) = &item["data"] else { panic!("data is a map") };
    assert!(data.contains_key("addr") && data.contains_key("tags"));
    assert!(!item.contains_key("addr") && !item.contains_key("tags"));
    assert!(!item.contains_key("session"), "skipped fields are not stored");
    let custom = user().to_item(&Format::ONETABLE.with_type_field("kind")).unwrap();
    assert_eq!(custom["kind"], s("User"));
}

#[test]
fn reading_fills_defaults_and_skips() {
    let mut item = user().to_item(&Format::ONETABLE).unwrap();
    item.remove("logins");
    let back = User::from_item(item).unwrap();
    assert_eq!(back.logins, 7, "the default function fills a missing attribute");
    assert_eq!(back.session, None, "skipped fields read as their default");
    assert_eq!(back.address, user().address);
}

#[test]
fn read_errors_name_entity_field_attribute_and_type() {
    let mut item = user().to_item(&Format::ONETABLE).unwrap();
    item.insert("nm".into(), AttributeValue::N("5".into()));
    let err = User::from_item(item).unwrap_err();
    assert!(err.is_value());
    assert_eq!(err.to_string(), "User.name (attribute \"nm\"): expected a DynamoDB S value, found N");

    let mut item = user().to_item(&Format::ONETABLE).unwrap();
    item.remove("account_id");
    let err = User::from_item(item).unwrap_err().to_string();
    assert_eq!(err, "User.account_id (attribute \"account_id\"): the attribute is missing");

    let mut item = user().to_item(&Format::ONETABLE).unwrap();
    item.insert("version".into(), AttributeValue::N("-1".into()));
    let err = User::from_item(item).unwrap_err().to_string();
    assert!(err.contains("User.version") && err.contains("does not fit in u64"), "{err}");

    let mut item = user().to_item(&Format::ONETABLE).unwrap();
    item.insert("status".into(), s("archived"));
    let err = User::from_item(item).unwrap_err().to_string();
    assert!(err.contains("\"archived\" is not a Status"), "{err}");

    // Errors deep inside nested values carry their path.
    let mut item = all_types().to_item(&Format::ONETABLE).unwrap();
    let AttributeValue::M(nested) = item.get_mut("nested").unwrap() else { unreachable!() };
    let AttributeValue::L(history) = nested.get_mut("history").unwrap() else { unreachable!() };
    let AttributeValue::M(second) = &mut history[1] else { unreachable!() };
    second.insert("floor".into(), s("high"));
    let err = AllTypes::from_item(item).unwrap_err().to_string();
    assert_eq!(
        err,
        "AllTypes.nested (attribute \"nested\"): at .history[1].floor: expected a DynamoDB N value, found S"
    );
}

#[test]
fn unstorable_numbers_are_refused_on_write() {
    let mut value = all_types();
    value.f64_ = f64::NAN;
    let err = value.to_item(&Format::ONETABLE).unwrap_err().to_string();
    assert!(err.contains("AllTypes.f64_") && err.contains("finite"), "{err}");
    value.f64_ = 1e200;
    assert!(value
        .to_item(&Format::ONETABLE)
        .unwrap_err()
        .to_string()
        .contains("outside DynamoDB's number range"));
    let mut value = all_types();
    value.i128_ = i128::MAX; // 39 digits
    assert!(value.to_item(&Format::ONETABLE).unwrap_err().to_string().contains("38 digits"));
}

#[test]
fn numbers_written_by_other_clients_are_read() {
    // JavaScript writes large whole numbers in exponent form.
    assert_eq!(u64::from_attr(AttributeValue::N("1E+3".into())).unwrap(), 1000);
    assert!(u64::from_attr(AttributeValue::N("1.5".into())).is_err());
    // Dates in either form, whatever the table writes.
    let ms = SystemTime::from_attr(s("2024-05-06T12:53:20.123Z")).unwrap();
    assert_eq!(ms, UNIX_EPOCH + Duration::from_millis(1_715_000_000_123));
    // OneTable JS stores binary given as a Buffer to a string field in base64.
    assert_eq!(Vec::<u8>::from_attr(s("AAEC/w==")).unwrap(), vec![0, 1, 2, 255]);
}

#[test]
fn generated_ids_fill_only_empty_fields() {
    let mut u = user();
    u.id.clear();
    u.generate_ids();
    assert_eq!(u.id.len(), 26, "a ULID: {}", u.id);
    let before = u.id.clone();
    u.generate_ids();
    assert_eq!(u.id, before, "a set id is kept");
}

#[test]
fn the_schema_describes_keys_indexes_and_fields() {
    let schema = User::SCHEMA;
    assert_eq!(schema.name, "User");
    assert_eq!(schema.timestamps, Some(onetable::Timestamps::Both));
    let names: Vec<_> = schema.indexes.iter().map(|i| i.name).collect();
    assert_eq!(names, ["primary", "gs1", "gs2", "ls1"]);
    assert_eq!(schema.primary().hash.as_ref().unwrap().template.source, "ACCOUNT#${account_id}");
    let ls1 = schema.index("ls1").unwrap();
    assert_eq!(ls1.kind, onetable::schema::IndexKind::Local);
    assert!(ls1.hash.is_none());
    let email = schema.field("email").unwrap();
    assert!(email.unique && email.required);
    assert_eq!(schema.field("address").unwrap().map, Some("data"));
    assert!(schema.field("expires").unwrap().ttl);
    assert!(schema.field("version").unwrap().version);
    assert!(schema.field("session").is_none(), "skipped fields are not part of the schema");
    let recomputed: Vec<_> = schema.keys_using("email").map(|(_, k)| k.attribute).collect();
    assert_eq!(recomputed, ["gs1pk"]);
    assert_eq!(User::NAME.attribute(), "nm");
    assert_eq!(User::ADDRESS.map(), Some("data"));
    assert_eq!(User::ADDRESS.attribute(), "addr");
}

#[test]
fn a_struct_stored_as_a_map_names_the_keys_it_owns() {
    fn keys(map: Option<&'static onetable::schema::MapSchema>) -> Vec<&'static str> {
        map.expect("a struct stored as a map").keys.iter().map(|k| k.attribute).collect()
    }
    let nested = <Nested as Value>::MAP;
    assert_eq!(keys(nested), ["address", "history"]);
    let [address, history] = nested.unwrap().keys else { panic!("two keys") };
    assert_eq!(keys(address.map), ["street", "zip", "floor"], "renamed keys, and no skipped field");
    assert!(history.map.is_none(), "a list owns all of its elements");
    assert_eq!(keys(<Option<Address> as Value>::MAP), ["street", "zip", "floor"]);
    let schema = AllTypes::SCHEMA;
    assert_eq!(keys(schema.field("nested").unwrap().map_keys), ["address", "history"]);
    for field in ["text", "hash_map", "tree_map", "list", "status"] {
        assert!(schema.field(field).unwrap().map_keys.is_none(), "{field} owns its whole attribute");
    }
}

#[test]
fn key_builders_compose_full_and_partial_keys() {
    let key = User::key("acme", "01HZ").into_attrs().unwrap();
    assert_eq!(key, Item::from([("pk".into(), s("ACCOUNT#acme")), ("sk".into(), s("USER#01HZ"))]));
    assert_eq!(user().primary_key().unwrap(), key);

    use onetable::SortCondition::{Equals, Prefix};
    let (hash, sort) = User::partition("acme").resolve().unwrap();
    assert_eq!((hash.as_str(), sort), ("ACCOUNT#acme", Some(Prefix("USER#".into()))));
    let (_, sort) = User::partition("acme").with(User::ID, "01HZ").resolve().unwrap();
    assert_eq!(sort, Some(Equals("USER#01HZ".into())));
    let (hash, sort) = User::gs2_partition(Status::Deleted).resolve().unwrap();
    assert_eq!((hash.as_str(), sort), ("STATUS#gone", Some(Prefix("NICK#".into()))));
    // A local index is queried on the table's partition key.
    let ls1 = User::ls1_partition("acme");
    assert_eq!(ls1.index().name, "ls1");
    assert_eq!(ls1.resolve().unwrap().0, "ACCOUNT#acme");
    // Naming a field that is not in the sort key is an error, not a silent full scan.
    let err = User::partition("acme").with(User::EMAIL, "x").resolve().unwrap_err();
    assert!(
        err.is_invalid() && err.to_string().contains("User: email is not a variable of the sort key"),
        "{err}"
    );
}
