//! Reads decoded straight from the response body (`TableBuilder::direct_reads`, on by
//! default), and the items updates and removals send back, return exactly what they
//! return through the SDK's output types; batch puts whose items' JSON the library
//! writes itself (`TableBuilder::direct_writes`) store exactly what they store through
//! the SDK's serializer: for
//! random items of every type, with attributes the entity does not declare, items that
//! do not read, packed maps, encrypted fields, TTLs, projections, collections, pages and
//! cursors. Each case writes its items once and reads them through two views of the
//! same table, one each way.

mod common;

use onetable::{AttributeValue, Collection, Entity, Item, Projection, Table, Value};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Value, Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Status {
    Active,
    OnHold,
}

#[derive(Value, Debug, Clone, PartialEq)]
struct Address {
    street: String,
    #[attr(rename = "zip")]
    postcode: Option<String>,
    #[attr(default)]
    floor: i32,
}

/// One field of (nearly) every type the derive maps.
#[derive(Entity, Debug, Clone, PartialEq)]
#[key(pk = "WIDE#${group}", sk = "WIDE#${id}")]
struct Wide {
    group: String,
    id: String,
    text: String,
    #[attr(rename = "flg")]
    flag: bool,
    letter: char,
    small: i8,
    int: i64,
    wide: i128,
    unsigned: u64,
    float: f64,
    single: f32,
    some: Option<String>,
    bytes: Vec<u8>,
    list: Vec<String>,
    options: Vec<Option<i64>>,
    nested: Vec<Vec<u32>>,
    strings: BTreeSet<String>,
    numbers: BTreeSet<u64>,
    binaries: BTreeSet<Vec<u8>>,
    map: BTreeMap<String, i64>,
    status: Status,
    address: Address,
    when: SystemTime,
    raw: AttributeValue,
    #[attr(default)]
    logins: u32,
    #[attr(ttl)]
    expires: Option<SystemTime>,
    #[attr(skip)]
    cached: Option<String>,
}

/// What a list shows of a `Wide`.
#[derive(Projection, Debug, Clone, PartialEq)]
#[projection(entity = Wide)]
struct WideCard {
    text: String,
    some: Option<String>,
    map: BTreeMap<String, i64>,
}

/// Packed fields and an encrypted one: always the general path.
#[derive(Entity, Debug, Clone, PartialEq)]
#[key(pk = "WIDE#${group}", sk = "PACKED#${id}")]
struct Packed {
    group: String,
    id: String,
    #[attr(map = "data")]
    note: String,
    #[attr(map = "data.inner")]
    count: Option<u64>,
    #[attr(crypt)]
    secret: String,
}

/// A partition's items, whichever entity.
// A member is an entity by value: one wide, one narrow.
#[allow(clippy::large_enum_variant)]
#[derive(Collection, Debug, Clone, PartialEq)]
enum Group {
    Wide(Wide),
    Packed(Packed),
}

fn text() -> impl Strategy<Value = String> {
    // Any Unicode (quotes, backslashes, control characters, astral planes), and short.
    prop::collection::vec(any::<char>(), 0..12).prop_map(|c| c.into_iter().collect())
}

/// A map key: DynamoDB has no empty ones.
fn name() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 1..8).prop_map(|c| c.into_iter().collect())
}

fn key_text() -> impl Strategy<Value = String> {
    "[a-z0-9]{1,8}"
}

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        // As DynamoDB returns them: no exponent, no trailing zero.
        (any::<i32>(), 1u32..1000)
            .prop_filter("canonical", |(_, b)| b % 10 != 0)
            .prop_map(|(a, b)| format!("{a}.{b}")),
    ]
}

fn attribute() -> impl Strategy<Value = AttributeValue> {
    let leaf = prop_oneof![
        text().prop_map(AttributeValue::S),
        number().prop_map(AttributeValue::N),
        prop::collection::vec(any::<u8>(), 0..8).prop_map(|b| AttributeValue::B(b.into())),
        any::<bool>().prop_map(AttributeValue::Bool),
        Just(AttributeValue::Null(true)),
        prop::collection::btree_set(text(), 1..4).prop_map(|s| AttributeValue::Ss(s.into_iter().collect())),
        prop::collection::btree_set(any::<i32>(), 1..4)
            .prop_map(|s| AttributeValue::Ns(s.into_iter().map(|n| n.to_string()).collect())),
        prop::collection::btree_set(prop::collection::vec(any::<u8>(), 1..4), 1..3)
            .prop_map(|s| AttributeValue::Bs(s.into_iter().map(Into::into).collect())),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(AttributeValue::L),
            prop::collection::hash_map(name(), inner, 0..4).prop_map(AttributeValue::M),
        ]
    })
}

prop_compose! {
    fn scalars()(
        text in text(), flag in any::<bool>(), letter in any::<char>(), small in any::<i8>(),
        int in any::<i64>(), wide in -(10i128.pow(37))..10i128.pow(37), unsigned in any::<u64>(),
        float in -1e125f64..1e125, single in -1e30f32..1e30, some in proptest::option::of(text()),
    ) -> (String, bool, char, i8, i64, i128, u64, f64, f32, Option<String>) {
        (text, flag, letter, small, int, wide, unsigned, float, single, some)
    }
}

prop_compose! {
    fn collections()(
        bytes in prop::collection::vec(any::<u8>(), 0..16),
        list in prop::collection::vec(text(), 0..4),
        options in prop::collection::vec(proptest::option::of(any::<i64>()), 0..4),
        nested in prop::collection::vec(prop::collection::vec(any::<u32>(), 0..3), 0..3),
        strings in prop::collection::btree_set(text(), 0..4),
        numbers in prop::collection::btree_set(any::<u64>(), 0..4),
        binaries in prop::collection::btree_set(prop::collection::vec(any::<u8>(), 0..4), 0..3),
        map in prop::collection::btree_map(name(), any::<i64>(), 0..4),
    ) -> (Vec<u8>, Vec<String>, Vec<Option<i64>>, Vec<Vec<u32>>, BTreeSet<String>, BTreeSet<u64>, BTreeSet<Vec<u8>>, BTreeMap<String, i64>) {
        (bytes, list, options, nested, strings, numbers, binaries, map)
    }
}

prop_compose! {
    fn wide(group: String)(
        id in key_text(),
        s in scalars(),
        c in collections(),
        active in any::<bool>(),
        address in (text(), proptest::option::of(text()), any::<i32>()),
        when in 0u64..4_000_000_000_000,
        raw in attribute(),
        logins in any::<u32>(),
        // Past expiry times would be right too, but DynamoDB Local deletes items that
        // expired in the last five years in the background, within seconds: an item
        // could vanish between its two reads.
        expires in proptest::option::of(2_000_000_000u64..4_000_000_000),
    ) -> Wide {
        Wide {
            group: group.clone(), id,
            text: s.0, flag: s.1, letter: s.2, small: s.3, int: s.4, wide: s.5, unsigned: s.6, float: s.7,
            single: s.8, some: s.9,
            bytes: c.0, list: c.1, options: c.2, nested: c.3, strings: c.4, numbers: c.5, binaries: c.6,
            map: c.7,
            status: if active { Status::Active } else { Status::OnHold },
            address: Address { street: address.0, postcode: address.1, floor: address.2 },
            when: UNIX_EPOCH + Duration::from_millis(when),
            raw,
            logins,
            expires: expires.map(|s| UNIX_EPOCH + Duration::from_secs(s)),
            cached: None,
        }
    }
}

/// How one stored item is damaged or extended after it is written.
#[derive(Debug, Clone)]
enum Change {
    /// Left as written.
    None,
    /// Attributes the entity does not declare, added.
    Extra(HashMap<String, AttributeValue>),
    /// A field's attribute of the wrong type.
    WrongType(&'static str, AttributeValue),
    /// A required field's attribute removed.
    Missing(&'static str),
    /// The type attribute of another entity, or of another type.
    Type(AttributeValue),
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        4 => Just(Change::None),
        4 => prop::collection::hash_map("x_[a-zA-Z0-9\"\\\\é]{0,6}", attribute(), 1..6).prop_map(Change::Extra),
        1 => prop_oneof![Just("text"), Just("flg"), Just("unsigned"), Just("map"), Just("expires")]
            // No number as the expiry: one in the last five years is a live TTL that
            // DynamoDB Local sweeps (see `wide`).
            .prop_flat_map(|a| {
                attribute()
                    .prop_filter("a number", move |v| a != "expires" || !matches!(v, AttributeValue::N(_)))
                    .prop_map(move |v| Change::WrongType(a, v))
            }),
        1 => prop_oneof![Just("text"), Just("int"), Just("logins"), Just("some")].prop_map(Change::Missing),
        1 => prop_oneof![
            Just(AttributeValue::S("Packed".into())),
            Just(AttributeValue::N("1".into())),
        ].prop_map(Change::Type),
    ]
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
    })
}

/// The table of every case (created once), and a view of it that reads through the
/// SDK's types.
fn tables() -> &'static (Table, Table) {
    static TABLES: std::sync::OnceLock<(Table, Table)> = std::sync::OnceLock::new();
    TABLES.get_or_init(|| {
        let describe =
            |b: onetable::TableBuilder| b.entity::<Wide>().entity::<Packed>().crypto("primary", "pw");
        let direct = runtime().block_on(common::table(describe));
        assert!(direct.name().starts_with("test"));
        let general =
            common::table_named(direct.name(), |b| describe(b).direct_reads(false).direct_writes(false));
        (direct, general)
    })
}

/// A read's outcome, errors compared by their whole text, but for the place inside a
/// map where a value did not read: which of several bad entries is met first is the
/// map's own order (random per map), on either path.
fn outcome<T: std::fmt::Debug>(r: Result<T, onetable::Error>) -> Result<T, String> {
    r.map_err(|e| match e.kind() {
        onetable::ErrorKind::Value { entity, field, attribute, error: onetable::ValueError::At { .. } } => {
            format!("{entity}.{field} ({attribute}): a value inside does not read")
        }
        _ => format!("{e} / {e:?}"),
    })
}

static GROUP: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A case's items, in a partition of their own: a failing case shrinks to items that
/// no earlier case wrote beside.
fn case() -> impl Strategy<Value = (Vec<(Wide, Change)>, Vec<Packed>)> {
    let packed = (key_text(), text(), proptest::option::of(any::<u64>()), text())
        .prop_map(|(id, note, count, secret)| Packed { group: String::new(), id, note, count, secret });
    (prop::collection::vec((wide(String::new()), change()), 1..12), prop::collection::vec(packed, 0..3))
        .prop_map(|(mut wides, mut packed)| {
            let group = format!("g{}", GROUP.fetch_add(1, std::sync::atomic::Ordering::SeqCst));
            wides.iter_mut().for_each(|(w, _)| w.group.clone_from(&group));
            packed.iter_mut().for_each(|p| p.group.clone_from(&group));
            (wides, packed)
        })
}

/// Writes the items of a case, each changed as it says, through the SDK.
async fn write(table: &Table, wides: &[(Wide, Change)], packed: &[Packed]) {
    let mut items: Vec<Item> = Vec::new();
    for (w, change) in wides {
        let mut item = table.model::<Wide>().to_item(w).unwrap();
        match change {
            Change::None => {}
            Change::Extra(extra) => item.extend(extra.clone()),
            Change::WrongType(attribute, value) => {
                item.insert((*attribute).to_owned(), value.clone());
            }
            Change::Missing(attribute) => {
                item.remove(*attribute);
            }
            Change::Type(value) => {
                item.insert("_type".into(), value.clone());
            }
        }
        items.push(item);
    }
    for p in packed {
        items.push(table.model::<Packed>().to_item(p).unwrap());
    }
    for item in items {
        table.client().put_item().table_name(table.name()).set_item(Some(item)).send().await.unwrap();
    }
}

/// A read with the members of its raw sets sorted (`common::sets_sorted`), so that
/// they compare as sets.
trait Unordered: Sized {
    fn unordered(self) -> Self;
}

impl Unordered for Wide {
    fn unordered(self) -> Self {
        Wide { raw: common::sets_sorted(self.raw), ..self }
    }
}

impl Unordered for Group {
    fn unordered(self) -> Self {
        match self {
            Group::Wide(w) => Group::Wide(w.unordered()),
            other => other,
        }
    }
}

/// Nothing unordered inside.
macro_rules! ordered {
    ($($t:ty),*) => { $(impl Unordered for $t { fn unordered(self) -> Self { self } })* };
}
ordered!(Packed, WideCard, String);

impl<T: Unordered> Unordered for Option<T> {
    fn unordered(self) -> Self {
        self.map(T::unordered)
    }
}

impl<T: Unordered> Unordered for Vec<T> {
    fn unordered(self) -> Self {
        self.into_iter().map(T::unordered).collect()
    }
}

impl<T: Unordered, E> Unordered for Result<T, E> {
    fn unordered(self) -> Self {
        self.map(T::unordered)
    }
}

impl<A: Unordered, B: Unordered, C: Unordered> Unordered for (A, B, C) {
    fn unordered(self) -> Self {
        (self.0.unordered(), self.1.unordered(), self.2.unordered())
    }
}

fn same<T: std::fmt::Debug + PartialEq + Clone + Unordered>(direct: &T, general: &T, what: &str) {
    let (direct, general) = (direct.clone().unordered(), general.clone().unordered());
    if direct != general {
        let (d, g) = (format!("{direct:?}"), format!("{general:?}"));
        let at = d.chars().zip(g.chars()).take_while(|(a, b)| a == b).count();
        let context = |s: &str| s.chars().skip(at.saturating_sub(300)).take(600).collect::<String>();
        panic!("{what}: the two paths differ\ndirect:  ...{}\ngeneral: ...{}", context(&d), context(&g));
    }
}

/// A page's items and its cursors (`next`, `prev`) as text.
type Comparable<T> = (Vec<T>, Option<String>, Option<String>);

/// A page, comparable.
fn page<T>(p: Result<onetable::Page<T>, String>) -> Result<Comparable<T>, String> {
    p.map(|p| (p.items, p.next.map(|c| c.to_string()), p.prev.map(|c| c.to_string())))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn both_paths_read_every_item_the_same((wides, packed) in case()) {
        let (direct, general) = tables();
        runtime().block_on(async {
            write(direct, &wides, &packed).await;
            let group = wides[0].0.group.clone();
            let (d, g) = (direct.model::<Wide>(), general.model::<Wide>());

            // Gets, whole and projected.
            for (w, change) in &wides {
                let got = outcome(d.get(Wide::key(&w.group, &w.id)).await);
                same(&got, &outcome(g.get(Wide::key(&w.group, &w.id)).await), "get");
                if matches!(change, Change::None | Change::Extra(_)) {
                    // Duplicate ids overwrite: compare with what the last write left.
                    let last = wides.iter().rev().find(|(o, _)| o.id == w.id).unwrap();
                    if matches!(last.1, Change::None | Change::Extra(_)) {
                        let got = got.clone().unordered();
                        prop_assert_eq!(got.as_ref().ok().and_then(Option::as_ref), Some(&last.0.clone().unordered()));
                    }
                }
                let card = outcome(d.get(Wide::key(&w.group, &w.id)).project::<WideCard>().await);
                same(&card, &outcome(g.get(Wide::key(&w.group, &w.id)).project::<WideCard>().await), "projected get");
            }

            // Many gets in batches: every key, one twice, one with no item.
            let keys = || {
                let mut keys: Vec<_> = wides.iter().map(|(w, _)| Wide::key(&w.group, &w.id)).collect();
                keys.push(Wide::key(&group, "none"));
                keys.push(Wide::key(&group, &wides[0].0.id));
                keys
            };
            let many = outcome(d.get_many(keys()).await);
            same(&many, &outcome(g.get_many(keys()).await), "get_many");
            let cards = outcome(d.get_many(keys()).project::<WideCard>().await);
            same(&cards, &outcome(g.get_many(keys()).project::<WideCard>().await), "projected get_many");

            // A find, whole; a find streamed; pages of 3 with their cursors.
            let all = outcome(d.find(Wide::partition(&group)).await.map(|p| p.items));
            same(&all, &outcome(g.find(Wide::partition(&group)).await.map(|p| p.items)), "find");
            use futures_util::StreamExt;
            let streamed: Vec<_> = d.find(Wide::partition(&group)).stream().map(outcome).collect().await;
            let streamed_g: Vec<_> = g.find(Wide::partition(&group)).stream().map(outcome).collect().await;
            same(&streamed, &streamed_g, "find stream");
            let (mut next_d, mut next_g) = (None, None);
            loop {
                let mut fd = d.find(Wide::partition(&group)).limit(3);
                let mut fg = g.find(Wide::partition(&group)).limit(3);
                if let Some(c) = next_d.take() { fd = fd.next(c); }
                if let Some(c) = next_g.take() { fg = fg.next(c); }
                let (pd, pg) = (page(outcome(fd.await)), page(outcome(fg.await)));
                same(&pd, &pg, "page");
                match (pd, pg) {
                    (Ok(pd), Ok(pg)) if pd.1.is_some() => {
                        next_d = pd.1.map(onetable::Cursor::from);
                        next_g = pg.1.map(onetable::Cursor::from);
                    }
                    _ => break,
                }
            }
            let cards = outcome(d.find(Wide::partition(&group)).project::<WideCard>().await.map(|p| p.items));
            same(&cards, &outcome(g.find(Wide::partition(&group)).project::<WideCard>().await.map(|p| p.items)), "projected find");

            // The partition as a collection, and the packed entity's own find.
            let members = outcome(direct.collection::<Group>().find(Wide::partition(&group)).await.map(|p| p.items));
            same(&members, &outcome(general.collection::<Group>().find(Wide::partition(&group)).await.map(|p| p.items)), "collection");
            let packed_d = outcome(direct.model::<Packed>().find(Packed::partition(&group)).await.map(|p| p.items));
            let packed_g = outcome(general.model::<Packed>().find(Packed::partition(&group)).await.map(|p| p.items));
            same(&packed_d, &packed_g, "packed find");

            // Updates and removals: the item each sends back. Each update sets the same
            // value both ways; each item removed one way is put back as it was, then
            // removed the other way.
            for (w, _) in &wides {
                let key = || Wide::key(&w.group, &w.id);
                let updated = outcome(d.update(key()).set(Wide::LOGINS, 7).await);
                same(&updated, &outcome(g.update(key()).set(Wide::LOGINS, 7).await), "update");
                let stored = direct.client().get_item().table_name(direct.name())
                    .set_key(Some(direct.model::<Wide>().to_item(w).unwrap().into_iter()
                        .filter(|(k, _)| k == "pk" || k == "sk").collect()))
                    .consistent_read(true).send().await.unwrap().item;
                let removed = outcome(d.remove(key()).await);
                if let Some(item) = stored {
                    direct.client().put_item().table_name(direct.name()).set_item(Some(item)).send().await.unwrap();
                }
                same(&removed, &outcome(g.remove(key()).await), "remove");
            }
            for p in &packed {
                let (pd, pg) = (direct.model::<Packed>(), general.model::<Packed>());
                let key = || Packed::key(&p.group, &p.id);
                let updated = outcome(pd.update(key()).set(Packed::NOTE, "noted").await);
                same(&updated, &outcome(pg.update(key()).set(Packed::NOTE, "noted").await), "packed update");
                let removed = outcome(pd.remove(key()).await);
                if let Ok(Some(p)) = &removed {
                    pd.put(p.clone()).await.unwrap();
                }
                same(&removed, &outcome(pg.remove(key()).await), "packed remove");
            }
            // No such item: an upsert creates it (with none of the fields it needs, so
            // it does not read), a removal finds nothing.
            let absent = || Wide::key(&group, "absent");
            let upserted = outcome(d.update(absent()).set(Wide::LOGINS, 7).upsert().await);
            same(&upserted, &outcome(g.update(absent()).set(Wide::LOGINS, 7).upsert().await), "upsert");
            prop_assert!(upserted.is_err());
            let removed = outcome(d.remove(absent()).await);
            same(&removed, &outcome(g.remove(absent()).await), "remove");
            same(&outcome(d.remove(absent()).await), &outcome(g.remove(absent()).await), "remove of nothing");
            Ok(())
        })?;
    }
}

/// The items stored under the keys of `items` (each an item of the table), read as
/// the SDK reads them, with their sets sorted and without attribute `leave_out`.
async fn stored(table: &Table, items: &[Item], leave_out: &str) -> Vec<Option<Item>> {
    let mut out = Vec::new();
    for item in items {
        let key: Item = item
            .iter()
            .filter(|(k, _)| *k == "pk" || *k == "sk")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let got = table
            .client()
            .get_item()
            .table_name(table.name())
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item;
        out.push(got.map(|i| {
            i.into_iter().filter(|(k, _)| k != leave_out).map(|(k, v)| (k, common::sets_sorted(v))).collect()
        }));
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn both_paths_write_every_item_the_same((wides, packed) in case()) {
        let (direct, general) = tables();
        // One write a key: a batch refuses two.
        let mut wides: Vec<Wide> = wides.into_iter().map(|(w, _)| w).collect();
        wides.reverse();
        let mut seen = BTreeSet::new();
        wides.retain(|w| seen.insert(w.id.clone()));
        let mut packed = packed;
        packed.reverse();
        let mut seen = BTreeSet::new();
        packed.retain(|p| seen.insert(p.id.clone()));
        let mut items: Vec<Item> = wides.iter().map(|w| direct.model::<Wide>().to_item(w).unwrap()).collect();
        items.extend(packed.iter().map(|p| direct.model::<Packed>().to_item(p).unwrap()));
        runtime().block_on(async {
            let batch = |t: &Table| {
                let mut b = t.batch_write();
                for w in &wides { b = b.put(w.clone()); }
                for p in &packed { b = b.put(p.clone()); }
                b
            };
            // The encrypted field is stored with a random nonce: compared decrypted.
            let (d, g) = (direct.model::<Packed>(), general.model::<Packed>());
            batch(direct).await.unwrap();
            let by_direct = stored(direct, &items, "secret").await;
            // What the library wrote reads back as each entity.
            for w in &wides {
                let got = general.model::<Wide>().get(Wide::key(&w.group, &w.id)).await.unwrap();
                prop_assert_eq!(got.unordered(), Some(w.clone().unordered()));
            }
            for p in &packed {
                prop_assert_eq!(g.get(Packed::key(&p.group, &p.id)).await.unwrap(), Some(p.clone()));
            }
            batch(general).await.unwrap();
            prop_assert_eq!(stored(general, &items, "secret").await, by_direct);
            for p in &packed {
                prop_assert_eq!(d.get(Packed::key(&p.group, &p.id)).await.unwrap(), Some(p.clone()));
            }
            Ok(())
        })?;
    }
}

#[tokio::test]
async fn the_widest_items_are_batch_written_the_same_both_ways() {
    // Items at DynamoDB's limits, each way in one batch: one of nearly 400 KB, one
    // holding a map of hundreds of attributes of every type (keys with quotes,
    // backslashes, accents), and removals among the puts.
    let describe = |b: onetable::TableBuilder| b.entity::<Wide>().entity::<Note>();
    let direct = common::table(describe).await;
    let general = common::table_named(direct.name(), |b| describe(b).direct_writes(false));
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let note = Note {
        id: "big".into(),
        text: "\"quoted\" \\ text\u{1F600}".repeat(390_000 / 20),
        stars: Some(3),
        views: 9,
    };
    let mut wide = wide("wide".into()).new_tree(&mut runner).unwrap().current();
    let map: HashMap<String, AttributeValue> = (0..400)
        .map(|i| (format!("x{i}\"\\{}", '\u{e9}'), attribute().new_tree(&mut runner).unwrap().current()))
        .collect();
    wide.raw = AttributeValue::M(map);
    let items =
        [direct.model::<Note>().to_item(&note).unwrap(), direct.model::<Wide>().to_item(&wide).unwrap()];
    let mut by = Vec::new();
    for table in [&direct, &general] {
        for item in &items {
            let key = item.iter().filter(|(k, _)| *k == "pk" || *k == "sk");
            table
                .client()
                .delete_item()
                .table_name(table.name())
                .set_key(Some(key.map(|(k, v)| (k.clone(), v.clone())).collect()))
                .send()
                .await
                .unwrap();
        }
        let mut batch = table.batch_write().remove(Note::key("gone"));
        batch = batch.put(note.clone()).remove(Wide::key("wide", "gone")).put(wide.clone());
        let summary = batch.await.unwrap();
        assert_eq!(summary.processed, 4);
        by.push(stored(table, &items, "").await);
    }
    assert_eq!(by[1], by[0], "written by the library and by the SDK");
    // Each reads back as it was written (through the SDK's types).
    let got = general.model::<Wide>().get(Wide::key("wide", &wide.id)).await.unwrap();
    assert_eq!(got.unordered(), Some(wide.unordered()));
    assert_eq!(general.model::<Note>().get(Note::key("big")).await.unwrap(), Some(note));
}

#[tokio::test]
async fn a_scan_reads_every_item_the_same_both_ways() {
    let describe = |b: onetable::TableBuilder| b.entity::<Wide>().entity::<Packed>().crypto("primary", "pw");
    let direct = common::table(describe).await;
    let general = common::table_named(direct.name(), |b| describe(b).direct_reads(false));
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut wides = Vec::new();
    for i in 0..40 {
        let mut w = wide(format!("s{}", i % 4)).new_tree(&mut runner).unwrap().current();
        w.id = format!("{i}");
        let change = if i % 5 == 0 { Change::Missing("text") } else { Change::None };
        wides.push((w, change));
    }
    write(&direct, &wides, &[]).await;
    let scan = |t: &Table| {
        let t = t.clone();
        async move {
            let mut items: Vec<Result<Wide, String>> =
                t.model::<Wide>().scan().segments(3).stream().map(outcome).collect().await;
            items.sort_by_key(|r| r.as_ref().map(|w| w.id.clone()).unwrap_or_default());
            items
        }
    };
    use futures_util::StreamExt;
    let (d, g) = (scan(&direct).await, scan(&general).await);
    assert_eq!(d.len(), 40);
    assert_eq!(d.iter().filter(|r| r.is_err()).count(), 8, "the items without their text do not read");
    assert_eq!(d.unordered(), g.unordered());
}

/// A small entity for reading JSON by hand.
#[derive(Entity, Debug, Clone, PartialEq)]
#[key(pk = "NOTE#${id}", sk = "NOTE")]
struct Note {
    id: String,
    #[attr(rename = "txt")]
    text: String,
    stars: Option<u8>,
    #[attr(default)]
    views: u64,
}

#[test]
fn a_derived_entity_reads_its_item_json_and_hands_anything_else_to_the_general_path() {
    let read = |json: &str, type_field: &str| {
        let mut reader = onetable_core::wire::Reader::new(json);
        let note = <Note as Entity>::from_json(&mut reader, type_field);
        // Read whole: the reader stands after the item.
        if note.is_some() {
            assert_eq!(reader.position(), json.len(), "{json}");
        }
        note
    };
    let note = |json: &str| read(json, "_type");
    // Keys, the type and attributes it does not declare are skipped; absent options
    // and defaults are filled as `from_item` fills them.
    let json = r#"{"pk":{"S":"NOTE#1"},"sk":{"S":"NOTE"},"_type":{"S":"Note"},"txt":{"S":"hi \"there\""},
        "other":{"M":{"deep":{"L":[{"NULL":true}]}}},"id":{"S":"1"}}"#;
    assert_eq!(note(json), Some(Note { id: "1".into(), text: "hi \"there\"".into(), stars: None, views: 0 }));
    let json = r#"{"id":{"S":"2"},"txt":{"S":""},"stars":{"N":"5"},"views":{"N":"7"}}"#;
    assert_eq!(note(json), Some(Note { id: "2".into(), text: String::new(), stars: Some(5), views: 7 }));
    // Another entity's item, a type that is not a string, a value that does not read,
    // a missing field, malformed JSON: the general path reads (and reports) them.
    for other in [
        r#"{"_type":{"S":"User"},"id":{"S":"1"},"txt":{"S":"x"}}"#,
        r#"{"_type":{"N":"1"},"id":{"S":"1"},"txt":{"S":"x"}}"#,
        r#"{"id":{"S":"1"},"txt":{"S":"x"},"stars":{"N":"300"}}"#,
        r#"{"id":{"S":"1"}}"#,
        r#"{"id":{"S":"1"},"txt":{"S":"x"}"#,
    ] {
        assert_eq!(note(other), None, "{other}");
    }
    // The type attribute is the table's: another name is an ordinary attribute.
    let json = r#"{"kind":{"S":"User"},"id":{"S":"3"},"txt":{"S":"x"}}"#;
    assert_eq!(read(json, "_type").map(|n| n.id), Some("3".into()));
    assert_eq!(read(json, "kind"), None);
}

/// What the SDK decoded of each response: the operation, the `Count` of a query, and
/// how many items (a query's) or attributes (of the item an update or delete sent
/// back) it built.
#[derive(Debug, Clone, Default)]
struct Decoded(std::sync::Arc<std::sync::Mutex<Vec<Seen>>>);

/// An operation, a query's `Count`, and the items or attributes the SDK built.
type Seen = (&'static str, i32, usize);

impl Decoded {
    fn last(&self) -> Option<Seen> {
        self.0.lock().unwrap().last().copied()
    }
}

impl aws_sdk_dynamodb::config::Intercept for Decoded {
    fn name(&self) -> &'static str {
        "what the SDK decoded"
    }

    fn read_after_deserialization(
        &self,
        context: &aws_sdk_dynamodb::config::interceptors::AfterDeserializationInterceptorContextRef<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        _: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        use aws_sdk_dynamodb::operation::{
            delete_item::DeleteItemOutput, query::QueryOutput, update_item::UpdateItemOutput,
        };
        let Ok(output) = context.output_or_error() else { return Ok(()) };
        let decoded = if let Some(q) = output.downcast_ref::<QueryOutput>() {
            ("query", q.count, q.items().len())
        } else if let Some(u) = output.downcast_ref::<UpdateItemOutput>() {
            ("update", 0, u.attributes().map_or(0, |a| a.len()))
        } else if let Some(d) = output.downcast_ref::<DeleteItemOutput>() {
            ("remove", 0, d.attributes().map_or(0, |a| a.len()))
        } else {
            return Ok(());
        };
        self.0.lock().unwrap().push(decoded);
        Ok(())
    }
}

#[tokio::test]
async fn a_direct_read_leaves_the_sdk_no_item_to_build_and_the_general_path_every_one() {
    let decoded = Decoded::default();
    let config = common::local().client().config().to_builder().interceptor(decoded.clone()).build();
    let client = aws_sdk_dynamodb::Client::from_conf(config);
    // The client has an interceptor of the application's own: direct reads are off
    // unless asked for (an interceptor that looks at items would find them emptied).
    let direct = common::table_with_client(client.clone(), |b| b.entity::<Note>().direct_reads(true)).await;
    let general = Table::builder(client, direct.name()).entity::<Note>().build().unwrap();
    let (notes, general) = (direct.model::<Note>(), general.model::<Note>());
    let note = Note { id: "m".into(), text: "x".into(), stars: Some(1), views: 0 };
    notes.create(note.clone()).await.unwrap();

    let found = notes.find(Note::partition("m")).await.unwrap().items;
    assert_eq!(found, std::slice::from_ref(&note));
    assert_eq!(decoded.last(), Some(("query", 1, 0)), "the SDK was handed the page without its item");
    let again = general.find(Note::partition("m")).await.unwrap().items;
    assert_eq!(again, found);
    assert_eq!(decoded.last(), Some(("query", 1, 1)), "the general path has the SDK build it");

    // The item an update sends back, and the one a removal does.
    let updated = notes.update(Note::key("m")).set(Note::TEXT, "y").await.unwrap();
    assert_eq!(updated, Note { text: "y".into(), ..note.clone() });
    assert_eq!(decoded.last(), Some(("update", 0, 0)), "the SDK was handed the update's item emptied");
    assert_eq!(general.update(Note::key("m")).set(Note::TEXT, "y").await.unwrap(), updated);
    let attributes = decoded.last().unwrap().2;
    assert!(
        attributes >= 4,
        "the general path has the SDK build the update's item ({attributes} attributes)"
    );
    assert_eq!(notes.remove(Note::key("m")).await.unwrap(), Some(updated.clone()));
    assert_eq!(decoded.last(), Some(("remove", 0, 0)), "the SDK was handed the removed item emptied");
    notes.create(updated.clone()).await.unwrap();
    assert_eq!(general.remove(Note::key("m")).await.unwrap(), Some(updated));
    assert!(decoded.last().unwrap().2 >= 4, "the general path has the SDK build the removed item");
}

/// An entity with optimistic locking: its version rises with every write.
#[derive(Entity, Debug, Clone, PartialEq)]
#[key(pk = "TALLY#${id}", sk = "TALLY")]
struct Tally {
    id: String,
    count: u32,
    #[attr(version)]
    version: u64,
}

#[tokio::test]
async fn a_versioned_update_and_removal_return_the_same_both_ways() {
    let direct = common::table(|b| b.entity::<Tally>()).await;
    let general = common::table_named(direct.name(), |b| b.entity::<Tally>().direct_reads(false));
    let (d, g) = (direct.model::<Tally>(), general.model::<Tally>());
    d.create(Tally { id: "t".into(), count: 0, version: 0 }).await.unwrap();
    let once = d.update(Tally::key("t")).set(Tally::COUNT, 1).if_version(1).await.unwrap();
    assert_eq!(once, Tally { id: "t".into(), count: 1, version: 2 });
    let twice = g.update(Tally::key("t")).set(Tally::COUNT, 2).if_version(2).await.unwrap();
    assert_eq!(twice, Tally { id: "t".into(), count: 2, version: 3 });
    // A stale version is refused the same way on both paths.
    let stale = |r: Result<Tally, onetable::Error>| r.map_err(|e| (e.is_version_conflict(), e.to_string()));
    assert_eq!(
        stale(d.update(Tally::key("t")).set(Tally::COUNT, 9).if_version(1).await),
        stale(g.update(Tally::key("t")).set(Tally::COUNT, 9).if_version(1).await)
    );
    assert_eq!(d.remove(Tally::key("t")).if_version(3).await.unwrap(), Some(twice.clone()));
    d.create(Tally { id: "t".into(), count: 2, version: 0 }).await.unwrap();
    assert_eq!(g.remove(Tally::key("t")).if_version(1).await.unwrap(), Some(Tally { version: 1, ..twice }));
}

#[tokio::test]
async fn the_widest_items_read_the_same_both_ways() {
    // Items at DynamoDB's limits: hundreds of attributes the entity does not declare
    // (maps, lists, sets, escapes) beside its own, and one of nearly 400 KB.
    let describe = |b: onetable::TableBuilder| b.entity::<Note>();
    let direct = common::table(describe).await;
    let general = common::table_named(direct.name(), |b| describe(b).direct_reads(false));
    let notes = direct.model::<Note>();
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    for (id, extra, big) in [("wide", 400, 0), ("big", 3, 390_000)] {
        let note = Note {
            id: id.into(),
            text: "\"quoted\" \\ text\u{1F600}".repeat(big / 20 + 1),
            stars: Some(3),
            views: 9,
        };
        let mut item = notes.to_item(&note).unwrap();
        for i in 0..extra {
            let value = attribute().new_tree(&mut runner).unwrap().current();
            item.insert(format!("x{i}\"\\{}", '\u{e9}'), value);
        }
        direct.client().put_item().table_name(direct.name()).set_item(Some(item)).send().await.unwrap();
        let read = |t: &Table| {
            let t = t.clone();
            async move {
                let got = t.model::<Note>().get(Note::key(id)).await.unwrap();
                let found = t.model::<Note>().find(Note::partition(id)).await.unwrap().items;
                // The whole item sent back by an update (the same value both ways).
                let updated = t.model::<Note>().update(Note::key(id)).set(Note::VIEWS, 10).await.unwrap();
                (got, found, updated)
            }
        };
        // The direct reads and update first; the general path then reads the update.
        let updated = Note { views: 10, ..note.clone() };
        assert_eq!(read(&direct).await, (Some(note.clone()), vec![note], updated.clone()), "{id}");
        assert_eq!(read(&general).await, (Some(updated.clone()), vec![updated.clone()], updated), "{id}");
    }
}
