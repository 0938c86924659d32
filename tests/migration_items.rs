//! Data migrations on every legal item, against DynamoDB Local: items with hundreds
//! of attributes and of 400 KB, maps holding keys the entity does not declare,
//! numbers of full precision, re-keys whose new keys collide or fit the old template,
//! unique values a transform changes, and the plan made before anything is written.
//! Each test compares the whole table, raw, with what must be there.

mod common;

use onetable::migrate::{Change, Conflicts, MigrateErrorExt, Migration, Migrator};
use onetable::{AttributeValue, Entity, Item, Table, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

fn s(text: &str) -> AttributeValue {
    AttributeValue::S(text.to_owned())
}

fn n(text: &str) -> AttributeValue {
    AttributeValue::N(text.to_owned())
}

/// Writes raw items, as another service would.
async fn put_raw(table: &Table, items: impl IntoIterator<Item = Item>) {
    for item in items {
        table.client().put_item().table_name(table.name()).set_item(Some(item)).send().await.unwrap();
    }
}

/// The table's items by key text.
async fn by_key(table: &Table) -> BTreeMap<String, Item> {
    common::scan_all(table)
        .await
        .into_iter()
        .map(|i| (format!("{}|{}", i["pk"].as_s().unwrap(), i["sk"].as_s().unwrap()), i))
        .collect()
}

fn migrator(
    table: &Table,
    version: &str,
    step: impl Fn(
            onetable::migrate::Context,
        ) -> futures_util::future::BoxFuture<'static, Result<(), onetable::Error>>
        + Send
        + Sync
        + 'static,
) -> Migrator {
    Migrator::new(table.clone()).migration(Migration::new(version, "a step").up(step))
}

// ---------------------------------------------------------------------------------
// 1. Wide items: 250 attributes of another service's, and items of 400 KB.

#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Wide")]
#[key(pk = "WIDE#${id}", sk = "WIDE")]
struct WideV1 {
    id: u32,
    group: String,
    passes: u32,
}

#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Wide", design = "0.2.0")]
#[key(pk = "WIDE#${id}", sk = "WIDE")]
struct Wide {
    id: u32,
    group: String,
    passes: u32,
}

#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Wide", design = "0.3.0")]
#[key(pk = "GROUP#${group}", sk = "WIDE#${id}")]
struct WideMoved {
    id: u32,
    group: String,
    passes: u32,
}

/// Another service's attributes: strings, numbers, maps and a list.
fn foreign(id: u32, count: usize) -> Item {
    (0..count)
        .map(|i| {
            let value = match i % 4 {
                0 => s(&format!("v{id}-{i}")),
                1 => n(&format!("{}{i}.5", id + 1)),
                2 => {
                    AttributeValue::M([("k".to_owned(), s("v")), ("i".to_owned(), n(&i.to_string()))].into())
                }
                _ => AttributeValue::L(vec![s("a"), n("1")]),
            };
            (format!("x{i:03}"), value)
        })
        .collect()
}

#[tokio::test]
async fn items_of_250_attributes_and_of_400_kb_are_migrated_in_place_and_moved_keeping_everything() {
    let table = common::table(|t| t.entity::<Wide>()).await;
    let mut expected_foreign = BTreeMap::new();
    let mut items = Vec::new();
    for id in 0..20u32 {
        let mut item = foreign(id, 250);
        if id == 7 {
            // Near DynamoDB's 400 KB: one large attribute of the other service's.
            item.insert("blob".into(), s(&"z".repeat(380_000)));
        }
        expected_foreign.insert(id, item.clone());
        item.insert("pk".into(), s(&format!("WIDE#{id}")));
        item.insert("sk".into(), s("WIDE"));
        item.insert("_type".into(), s("Wide"));
        item.insert("id".into(), n(&id.to_string()));
        item.insert("group".into(), s(&format!("g{}", id % 3)));
        item.insert("passes".into(), n("0"));
        items.push(item);
    }
    put_raw(&table, items).await;

    // In place: the owned attributes alone are guarded, whatever the item's width.
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let ran = migrator(&table, "0.2.0", move |ctx| {
        let calls = counted.clone();
        Box::pin(async move {
            ctx.transform("pass", move |w: WideV1| {
                calls.fetch_add(1, Ordering::SeqCst);
                Some(Wide { id: w.id, group: w.group, passes: w.passes + 1 })
            })
            .run()
            .await
            .map(|_| ())
        })
    })
    .up(None)
    .await
    .unwrap();
    assert_eq!((ran[0].items, calls.load(Ordering::SeqCst)), (20, 20), "each item transformed once");
    let stored = by_key(&table).await;
    for id in 0..20u32 {
        let item = &stored[&format!("WIDE#{id}|WIDE")];
        assert_eq!(item["passes"], n("1"));
        assert_eq!(item["_design"], s("0.2.0"));
        for (attribute, value) in &expected_foreign[&id] {
            assert_eq!(&item[attribute], value, "item {id}: {attribute} kept as it was");
        }
    }

    // A dry run of the re-key plans it: every item moves, none fits one guard whole.
    let rekey = |dry_run: bool| {
        migrator(&table, "0.3.0", |ctx| {
            Box::pin(async move {
                ctx.transform("move", |w: Wide| {
                    Some(WideMoved { id: w.id, group: w.group, passes: w.passes + 1 })
                })
                .run()
                .await
                .map(|_| ())
            })
        })
        .dry_run(dry_run)
    };
    let planned = rekey(true).up(None).await.unwrap();
    let plan = &planned[0].plans[0];
    assert_eq!((plan.entity, plan.due), ("Wide", 20));
    assert_eq!(plan.wide.len(), 20, "every item too wide to guard whole: {:?}", plan.wide);
    assert!(plan.collisions.is_empty() && plan.conflicts.is_empty());
    assert!(plan.write_units >= 20.0 * 4.0, "a transaction of a put and a delete each: {}", plan.write_units);
    assert_eq!(by_key(&table).await, stored, "the plan wrote nothing");

    // The re-key moves every attribute.
    rekey(false).up(None).await.unwrap();
    let moved = by_key(&table).await;
    let wide = moved.values().filter(|i| i["_type"] == s("Wide")).count();
    assert_eq!(wide, 20, "every item moved, none left under its old key");
    for id in 0..20u32 {
        let item = &moved[&format!("GROUP#g{}|WIDE#{id}", id % 3)];
        assert_eq!((item["passes"].clone(), item["_design"].clone()), (n("2"), s("0.3.0")));
        for (attribute, value) in &expected_foreign[&id] {
            assert_eq!(&item[attribute], value, "item {id}: {attribute} moved with it");
        }
    }
}

/// An expression over DynamoDB's limits is refused before it is sent, with a typed
/// error naming the entity: DynamoDB Local would take it, AWS would not.
#[tokio::test]
async fn an_expression_over_dynamodbs_limits_is_refused_before_sending() {
    use onetable::raw::{Call, Write};
    let table = common::table(|t| t.entity::<Wide>()).await;
    let mut p = onetable::expr::Placeholders::new();
    let clauses: Vec<String> =
        (0..200).map(|i| format!("{} = {}", p.name(&format!("a{i}")), p.value(n("1")))).collect();
    let write = Write::put("Wide", table.key_from_text("WIDE#1", "WIDE"))
        .condition(clauses.join(" AND "))
        .placeholders(p);
    let err = table.raw().write(&Call::new("test", "Wide"), write).await.unwrap_err();
    assert!(err.is_expression_too_large(), "{err}");
    assert!(err.to_string().contains("Wide") && err.to_string().contains("399 operators"), "{err}");
    assert!(common::scan_all(&table).await.is_empty(), "nothing was sent");
}

// ---------------------------------------------------------------------------------
// 2. Maps holding keys the entity does not declare, and numbers of full precision.

#[derive(Value, Debug, Clone, PartialEq)]
struct Point {
    lat: f64,
    lon: f64,
}

#[derive(Value, Debug, Clone, PartialEq)]
struct Address {
    city: String,
    geo: Point,
}

#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Home")]
#[key(pk = "HOME#${id}", sk = "HOME")]
struct HomeV1 {
    id: u32,
    address: Address,
    #[attr(map = "data.nm")]
    name: String,
    score: f64,
}

#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Home", design = "0.2.0")]
#[key(pk = "HOME#${id}", sk = "HOME")]
struct Home {
    id: u32,
    address: Address,
    #[attr(map = "data.nm")]
    name: String,
    score: f64,
}

#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Home", design = "0.3.0")]
#[key(pk = "CITY#${city}", sk = "HOME#${id}")]
struct HomeMoved {
    id: u32,
    city: String,
    address: Address,
    #[attr(map = "data.nm")]
    name: String,
    score: f64,
}

/// 38 digits: more than an f64 holds.
const EXACT: &str = "12345678901234567890123456789012345678";

/// A score with more digits than the entity's `f64` keeps: a rewrite that leaves the
/// score as it was keeps every one.
const SCORE: &str = "0.1234567890123456789012345678901234567";

fn home_item(id: u32) -> Item {
    let geo = AttributeValue::M(
        [("lat".into(), n("45.750")), ("lon".into(), n("4.85")), ("alt".into(), n("170"))].into(),
    );
    let address = AttributeValue::M(
        [("city".into(), s("Lyon")), ("geo".into(), geo), ("zip".into(), s("69001"))].into(),
    );
    let data =
        AttributeValue::M([("nm".into(), s(&format!("home {id}"))), ("other".into(), s("theirs"))].into());
    [
        ("pk".to_owned(), s(&format!("HOME#{id}"))),
        ("sk".to_owned(), s("HOME")),
        ("_type".to_owned(), s("Home")),
        ("id".to_owned(), n(&id.to_string())),
        ("address".to_owned(), address),
        ("data".to_owned(), data),
        ("score".to_owned(), n(SCORE)),
        ("exact".to_owned(), n(EXACT)),
    ]
    .into()
}

/// What another service keeps in an item that onetable must never remove.
fn assert_theirs(item: &Item, what: &str) {
    let address = item["address"].as_m().unwrap();
    assert_eq!(address["zip"], s("69001"), "{what}: the address keeps its zip");
    assert_eq!(address["geo"].as_m().unwrap()["alt"], n("170"), "{what}: the point keeps its altitude");
    assert_eq!(
        item["data"].as_m().unwrap()["other"],
        s("theirs"),
        "{what}: the packed map keeps its other key"
    );
    assert_eq!(item["exact"], n(EXACT), "{what}: every digit of the number");
}

#[tokio::test]
async fn keys_the_entity_does_not_declare_survive_migrations_puts_and_updates_and_numbers_keep_their_digits()
{
    let table = common::table(|t| t.entity::<Home>()).await;
    put_raw(&table, (0..10).map(home_item)).await;
    // The point's latitude as the engine stores `45.750`: DynamoDB trims trailing
    // zeros (and so does the embedded engine), DynamoDB Local keeps them. Whichever it
    // is, a rewrite that leaves the latitude alone keeps that text.
    let lat = |item: &Item| item["address"].as_m().unwrap()["geo"].as_m().unwrap()["lat"].clone();
    let stored_lat = lat(&by_key(&table).await["HOME#0|HOME"]);
    match common::local().engine() {
        Some(onetable_local::Engine::Embedded) => assert_eq!(stored_lat, n("45.75")),
        Some(_) => assert_eq!(stored_lat, n("45.750")),
        None => assert!([n("45.750"), n("45.75")].contains(&stored_lat), "{stored_lat:?}"),
    }
    // In place: the name upper-cased; the score, unchanged, keeps every digit.
    migrator(&table, "0.2.0", |ctx| {
        Box::pin(async move {
            ctx.transform("upper", |h: HomeV1| {
                Some(Home { id: h.id, address: h.address, name: h.name.to_uppercase(), score: h.score })
            })
            .run()
            .await
            .map(|_| ())
        })
    })
    .up(None)
    .await
    .unwrap();
    for (key, item) in by_key(&table).await.iter().filter(|(k, _)| k.starts_with("HOME#")) {
        assert_theirs(item, "in place");
        assert_eq!(item["score"], n(SCORE), "{key}: an unchanged number keeps every digit");
        assert!(item["data"].as_m().unwrap()["nm"].as_s().unwrap().starts_with("HOME "));
        assert_eq!(lat(item), stored_lat, "{key}: the latitude as it was stored");
    }

    // The application's put and update of the struct field keep them too.
    let homes = table.model::<Home>();
    let mut home = homes.get(Home::key(1)).await.unwrap().unwrap();
    home.address.city = "Paris".into();
    home.address.geo.lon = 2.35;
    homes.put(home).await.unwrap();
    let address = Address { city: "Nice".into(), geo: Point { lat: 43.7, lon: 7.26 } };
    homes.update(Home::key(2)).set(Home::ADDRESS, address).await.unwrap();
    homes.update(Home::key(3)).set(Home::NAME, "renamed".to_owned()).await.unwrap();
    let stored = by_key(&table).await;
    for (id, city) in [(1, "Paris"), (2, "Nice"), (3, "Lyon")] {
        let item = &stored[&format!("HOME#{id}|HOME")];
        assert_theirs(item, &format!("written by the application ({id})"));
        assert_eq!(item["address"].as_m().unwrap()["city"], s(city));
    }

    // A re-key moves them.
    migrator(&table, "0.3.0", |ctx| {
        Box::pin(async move {
            ctx.transform("by-city", |h: Home| {
                Some(HomeMoved {
                    id: h.id,
                    city: h.address.city.clone(),
                    address: h.address,
                    name: h.name,
                    score: h.score,
                })
            })
            .on_conflict(Conflicts::Stop)
            .run()
            .await
            .map(|_| ())
        })
    })
    .up(None)
    .await
    .unwrap();
    let moved: Vec<Item> = by_key(&table).await.into_values().filter(|i| i["_type"] == s("Home")).collect();
    assert_eq!(moved.len(), 10);
    for item in &moved {
        assert!(item["pk"].as_s().unwrap().starts_with("CITY#"));
        assert_theirs(item, "moved");
    }
}

// ---------------------------------------------------------------------------------
// 3 and 4. Re-keys: colliding new keys, and new keys that fit the old template.

#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Login")]
#[key(pk = "LOGIN#${id}", sk = "LOGIN")]
struct LoginV1 {
    id: String,
    email: String,
    passes: u32,
}

#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Login", design = "0.2.0")]
#[key(pk = "LOGIN#${email}", sk = "LOGIN")]
struct Login {
    id: String,
    email: String,
    passes: u32,
}

fn by_email(l: LoginV1) -> Login {
    Login { id: l.id, email: l.email, passes: l.passes + 1 }
}

fn rekey_logins(table: &Table, conflicts: Option<Conflicts>) -> Migrator {
    migrator(table, "0.2.0", move |ctx| {
        Box::pin(async move {
            let transform = ctx.transform("by-email", |l: LoginV1| Some(by_email(l)));
            match conflicts {
                Some(c) => transform.on_conflict(c),
                None => transform,
            }
            .run()
            .await
            .map(|_| ())
        })
    })
}

async fn seed_logins(table: &Table, logins: &[(&str, &str)]) {
    let old = common::table_named(table.name(), |t| t.entity::<LoginV1>());
    for (id, email) in logins {
        old.model::<LoginV1>()
            .create(LoginV1 { id: (*id).into(), email: (*email).into(), passes: 0 })
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_rekey_onto_a_taken_key_deletes_nothing_and_names_both_keys() {
    let logins = [("a", "shared"), ("b", "shared"), ("c", "own")];
    // Without a choice: the plan finds the collision and nothing is written.
    let table = common::table(|t| t.entity::<Login>()).await;
    seed_logins(&table, &logins).await;
    let before = by_key(&table).await;
    let err = rekey_logins(&table, None).up(None).await.unwrap_err();
    assert!(err.is_conflict(), "{err}");
    assert!(err.to_string().contains("LOGIN#shared"), "{err}");
    let after: BTreeMap<_, _> =
        by_key(&table).await.into_iter().filter(|(k, _)| k.starts_with("LOGIN#")).collect();
    assert_eq!(after, before, "nothing written, nothing deleted");

    // Leave: one moves, the other stays as it was, both keys named.
    let table = common::table(|t| t.entity::<Login>()).await;
    seed_logins(&table, &logins).await;
    let ran = rekey_logins(&table, Some(Conflicts::Leave)).up(None).await.unwrap();
    assert_eq!(ran[0].conflicts.len(), 1, "{:?}", ran[0].conflicts);
    let conflict = &ran[0].conflicts[0];
    assert!(
        conflict.contains("LOGIN#shared") && (conflict.contains("LOGIN#a") || conflict.contains("LOGIN#b")),
        "{conflict}"
    );
    let stored = by_key(&table).await;
    let kept: Vec<&Item> = stored.values().filter(|i| i["_type"] == s("Login")).collect();
    assert_eq!(kept.len(), 3, "no item lost: {kept:?}");
    let moved = &stored["LOGIN#shared|LOGIN"];
    let left = if moved["id"] == s("a") { "LOGIN#b|LOGIN" } else { "LOGIN#a|LOGIN" };
    assert_eq!(stored[left]["passes"], n("0"), "the other one is as it was");
    assert!(!stored[left].contains_key("_design"));
    assert_eq!(stored["LOGIN#own|LOGIN"]["passes"], n("1"));

    // Stop: the migration stops at the collision, naming both keys; nothing deleted.
    let table = common::table(|t| t.entity::<Login>()).await;
    seed_logins(&table, &logins).await;
    let err = rekey_logins(&table, Some(Conflicts::Stop)).up(None).await.unwrap_err();
    assert!(err.is_conflict() && err.to_string().contains("LOGIN#shared"), "{err}");
    let kept = by_key(&table).await.into_values().filter(|i| i["_type"] == s("Login")).count();
    assert_eq!(kept, 3, "no item lost");
}

#[tokio::test]
async fn new_keys_that_fit_the_old_template_are_migrated_exactly_once() {
    let table = common::table(|t| t.entity::<Login>()).await;
    let old = common::table_named(table.name(), |t| t.entity::<LoginV1>());
    let mut batch = old.batch_write();
    for i in 0..300 {
        // An email that is a valid id: LOGIN#u<i>x fits LOGIN#${id}.
        batch = batch.put(LoginV1 { id: format!("u{i}"), email: format!("u{i}x"), passes: 0 });
    }
    batch.await.unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let ran = migrator(&table, "0.2.0", move |ctx| {
        let calls = counted.clone();
        Box::pin(async move {
            ctx.transform("by-email", move |l: LoginV1| {
                calls.fetch_add(1, Ordering::SeqCst);
                Some(by_email(l))
            })
            .segments(4)
            .on_conflict(Conflicts::Stop)
            .run()
            .await
            .map(|_| ())
        })
    })
    .up(None)
    .await
    .unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 300, "one transform call an item");
    assert_eq!(ran[0].items, 300);
    let logins: Vec<Login> = table.model::<Login>().scan().await.unwrap();
    assert_eq!(logins.len(), 300);
    assert!(logins.iter().all(|l| l.passes == 1), "each moved once");
    assert!(by_key(&table).await.keys().all(|k| !k.starts_with("LOGIN#u") || k.ends_with("x|LOGIN")));
}

#[tokio::test]
async fn a_rekey_moves_an_item_whose_key_fits_neither_template() {
    let table = common::table(|t| t.entity::<Login>()).await;
    // Another writer's spelling of the key: no template makes it.
    put_raw(
        &table,
        [HashMap::from([
            ("pk".to_owned(), s("login#u1")),
            ("sk".to_owned(), s("LOGIN")),
            ("_type".to_owned(), s("Login")),
            ("id".to_owned(), s("u1")),
            ("email".to_owned(), s("u1@x.com")),
            ("passes".to_owned(), n("0")),
        ])],
    )
    .await;
    rekey_logins(&table, None).up(None).await.unwrap();
    let stored = by_key(&table).await;
    assert!(!stored.contains_key("login#u1|LOGIN"), "{stored:?}");
    assert_eq!(stored["LOGIN#u1@x.com|LOGIN"]["passes"], n("1"));
}

// ---------------------------------------------------------------------------------
// 5. Unique values a transform changes.

#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Member")]
#[key(pk = "MEMBER#${id}", sk = "MEMBER")]
struct MemberV1 {
    id: u32,
    #[attr(unique)]
    email: String,
}

#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Member", design = "0.2.0")]
#[key(pk = "MEMBER#${id}", sk = "MEMBER")]
struct Member {
    id: u32,
    #[attr(unique)]
    email: String,
}

/// The unique sentinels stored, by the value they hold.
async fn sentinels(table: &Table) -> Vec<String> {
    let mut values: Vec<String> = common::scan_all(table)
        .await
        .into_iter()
        .filter(|i| i["pk"].as_s().unwrap().starts_with("_unique#"))
        .map(|i| i["pk"].as_s().unwrap().rsplit('#').next().unwrap().to_owned())
        .collect();
    values.sort();
    values
}

fn lower_emails(table: &Table, conflicts: Option<Conflicts>) -> Migrator {
    migrator(table, "0.2.0", move |ctx| {
        Box::pin(async move {
            let t = ctx.transform_with("lower", |m: MemberV1, _| async move {
                // Members whose id ends in 9 leave.
                Ok(if m.id % 10 == 9 {
                    Change::remove()
                } else {
                    Change::write(Member { id: m.id, email: m.email.to_lowercase() })
                })
            });
            match conflicts {
                Some(c) => t.on_conflict(c),
                None => t,
            }
            .run()
            .await
            .map(|_| ())
        })
    })
}

#[tokio::test]
async fn unique_values_move_with_the_item_and_retired_items_release_theirs() {
    let table = common::table(|t| t.entity::<Member>()).await;
    let old = common::table_named(table.name(), |t| t.entity::<MemberV1>());
    for id in 0..20 {
        old.model::<MemberV1>()
            .create(MemberV1 { id, email: format!("User{id}@Example.COM") })
            .await
            .unwrap();
    }
    lower_emails(&table, None).up(None).await.unwrap();
    let expected: Vec<String> = {
        let mut v: Vec<String> =
            (0..20).filter(|id| id % 10 != 9).map(|id| format!("user{id}@example.com")).collect();
        v.sort();
        v
    };
    assert_eq!(sentinels(&table).await, expected, "one sentinel per value held, none left behind");
    let members = table.model::<Member>();
    // A value an item holds is taken; one it gave up is free.
    let err = members.create(Member { id: 100, email: "user3@example.com".into() }).await.unwrap_err();
    assert!(err.is_unique_violation(), "{err}");
    members.create(Member { id: 101, email: "User3@Example.COM".into() }).await.unwrap();
    members.create(Member { id: 102, email: "user9@example.com".into() }).await.unwrap();
}

#[tokio::test]
async fn unique_values_that_would_clash_are_planned_and_left_or_refused() {
    let seed = |table: Table| async move {
        let old = common::table_named(table.name(), |t| t.entity::<MemberV1>());
        let members = old.model::<MemberV1>();
        for (id, email) in [(1, "Ann@X.com"), (2, "ann@x.com"), (3, "Bob@X.com")] {
            members.create(MemberV1 { id, email: email.into() }).await.unwrap();
        }
    };
    let table = common::table(|t| t.entity::<Member>()).await;
    seed(table.clone()).await;
    let before = by_key(&table).await;
    let err = lower_emails(&table, None).up(None).await.unwrap_err();
    assert!(err.is_conflict() && err.to_string().contains("ann@x.com"), "{err}");
    let after: BTreeMap<_, _> = by_key(&table)
        .await
        .into_iter()
        .filter(|(k, _)| !k.starts_with("_migration") && !k.starts_with("_schema"))
        .collect();
    assert_eq!(after, before, "nothing written");

    let table = common::table(|t| t.entity::<Member>()).await;
    seed(table.clone()).await;
    let ran = lower_emails(&table, Some(Conflicts::Leave)).up(None).await.unwrap();
    assert_eq!(ran[0].conflicts.len(), 1, "{:?}", ran[0].conflicts);
    // Member 2 holds ann@x.com (already lower-case: nothing to claim), member 1 is
    // left with its own value and sentinel.
    assert_eq!(sentinels(&table).await, ["Ann@X.com", "ann@x.com", "bob@x.com"]);
}

/// A member whose email is stored under another attribute in the new design.
#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Member", design = "0.2.0")]
#[key(pk = "MEMBER#${id}", sk = "MEMBER")]
struct MemberMail {
    id: u32,
    #[attr(unique, rename = "mail")]
    email: String,
}

/// A badge made beside each member, with a unique code.
#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Badge")]
#[key(pk = "MEMBER#${member}", sk = "BADGE")]
struct Badge {
    member: u32,
    #[attr(unique)]
    code: String,
}

/// The unique sentinels stored, whole (`_unique#<Entity>#<attribute>#<value>`).
async fn sentinel_keys(table: &Table) -> Vec<String> {
    let mut keys: Vec<String> = common::scan_all(table)
        .await
        .into_iter()
        .filter_map(|i| i["pk"].as_s().ok().filter(|pk| pk.starts_with("_unique#")).cloned())
        .collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn a_unique_value_stored_under_a_new_attribute_moves_its_sentinel_and_items_made_beside_claim_theirs() {
    let table = common::table(|t| t.entity::<MemberMail>().entity::<Badge>()).await;
    let old = common::table_named(table.name(), |t| t.entity::<MemberV1>());
    for id in 0..3 {
        old.model::<MemberV1>().create(MemberV1 { id, email: format!("m{id}@x.com") }).await.unwrap();
    }
    migrator(&table, "0.2.0", |ctx| {
        Box::pin(async move {
            ctx.transform_with("mail", |m: MemberV1, table| async move {
                let badge = Badge { member: m.id, code: format!("B{}", m.id % 2) };
                Change::write(MemberMail { id: m.id, email: m.email }).also(&table, badge)
            })
            .segments(1)
            .concurrency(1)
            .on_conflict(Conflicts::Leave)
            .run()
            .await
            .map(|_| ())
        })
    })
    .up(None)
    .await
    .unwrap();
    // Members 0 and 1 got badges B0 and B1; member 2's badge would take B0, which
    // badge 0 holds: that member is left as it was, its sentinel where it was.
    let keys = sentinel_keys(&table).await;
    assert_eq!(
        keys,
        [
            "_unique#Badge#code#B0",
            "_unique#Badge#code#B1",
            "_unique#Member#email#m2@x.com",
            "_unique#Member#mail#m0@x.com",
            "_unique#Member#mail#m1@x.com",
        ]
    );
    let members = table.model::<MemberMail>();
    let err = members.create(MemberMail { id: 9, email: "m0@x.com".into() }).await.unwrap_err();
    assert!(err.is_unique_violation(), "the moved sentinel guards the value: {err}");
}

// ---------------------------------------------------------------------------------
// The plan: items in each form, unreadable ones, write units and time.

#[tokio::test]
async fn a_dry_run_plans_every_item_and_writes_nothing() {
    let table = common::table(|t| t.entity::<Login>()).await;
    let old = common::table_named(table.name(), |t| t.entity::<LoginV1>());
    let mut batch = old.batch_write();
    for i in 0..40 {
        batch = batch.put(LoginV1 { id: format!("u{i}"), email: format!("e{}", i % 39), passes: 0 });
    }
    batch.await.unwrap();
    // One item the entity cannot read.
    put_raw(
        &table,
        [HashMap::from([
            ("pk".to_owned(), s("LOGIN#bad")),
            ("sk".to_owned(), s("LOGIN")),
            ("_type".to_owned(), s("Login")),
            ("id".to_owned(), s("bad")),
        ])],
    )
    .await;
    let before = by_key(&table).await;
    let migrator = migrator(&table, "0.2.0", |ctx| {
        Box::pin(async move {
            ctx.transform("by-email", |l: LoginV1| Some(by_email(l))).rate_limit(10.0).run().await.map(|_| ())
        })
    })
    .dry_run(true);
    let ran = migrator.up(None).await.unwrap();
    let plan = &ran[0].plans[0];
    assert_eq!(plan.forms.get(""), Some(&41), "{:?}", plan.forms);
    assert_eq!(plan.due, 41);
    assert_eq!(plan.unreadable.len(), 1, "{:?}", plan.unreadable);
    assert!(plan.unreadable[0].contains("LOGIN#bad"));
    assert_eq!(plan.collisions.len(), 1, "e0 is the email of u0 and u39: {:?}", plan.collisions);
    // 40 moves, each a transaction of a put and a delete of a small item.
    assert_eq!(plan.write_units, 40.0 * 4.0);
    assert_eq!(plan.duration, Some(std::time::Duration::from_secs(16)));
    assert_eq!(by_key(&table).await, before, "a dry run writes nothing");
}
