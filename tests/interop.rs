//! One table, two languages: items written by OneTable JS 2.7.7 are read, found, updated
//! and removed through onetable, and the other way round, with both date settings and
//! with nulls kept; unique values claimed by one side are honoured by the other.
//!
//! The JS side is `tests/interop` (dependencies pinned in its lockfile, installed with
//! `npm ci` by the first test that needs it).

mod common;
#[path = "../examples/support/stream.rs"]
mod stream;

use common::Account;
use onetable::migrate::MigrateErrorExt;

use aws_sdk_dynamodb::types::AttributeValue;
use onetable::{Entity, Table};
use serde_json::{json, Value as Json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The OneTable schema's User, field for field (see tests/interop/onetable.mjs).
#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "User", timestamps)]
#[key(pk = "ACCOUNT#${account_id}", sk = "USER#${id}")]
#[index(name = "gs1", pk = "EMAIL#${email}", sk = "USER")]
struct User {
    #[attr(rename = "accountId")]
    account_id: String,
    id: String,
    #[attr(unique)]
    email: String,
    #[attr(map = "data.name")]
    name: String,
    age: u32,
    big: i64,
    ratio: f64,
    active: bool,
    tags: Vec<String>,
    prefs: BTreeMap<String, String>,
    roles: BTreeSet<String>,
    avatar: Vec<u8>,
    born: SystemTime,
    #[attr(ttl)]
    expires: Option<SystemTime>,
    nick: Option<String>,
    created: Option<SystemTime>,
    updated: Option<SystemTime>,
}

/// Some of a user, read with a `ProjectionExpression` (a packed field among them).
#[derive(onetable::Projection, Debug, Clone, PartialEq)]
#[projection(entity = User)]
struct UserCard {
    email: String,
    name: String,
    avatar: Vec<u8>,
    born: SystemTime,
    roles: BTreeSet<String>,
}

impl UserCard {
    fn of(u: &User) -> UserCard {
        UserCard {
            email: u.email.clone(),
            name: u.name.clone(),
            avatar: u.avatar.clone(),
            born: u.born,
            roles: u.roles.clone(),
        }
    }
}

/// JavaScript numbers are doubles: ±(2^53 - 1) is the edge both sides hold exactly.
const JS_MAX_SAFE: i64 = 9_007_199_254_740_991;

/// The OneTable schema's Event: a padded sort key (`EVENT#${seq:8:0}`).
#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Event", timestamps)]
#[key(pk = "STREAM#${stream}", sk = "EVENT#${seq:8:0}")]
struct Event {
    stream: String,
    seq: u64,
    note: Option<String>,
}

/// The OneTable schema's Member: an email unique within its account.
#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Member", timestamps)]
#[key(pk = "ACCOUNT#${account_id}", sk = "MEMBER#${id}")]
struct Member {
    #[attr(rename = "accountId")]
    account_id: String,
    id: String,
    #[attr(unique(scope = "${account_id}"))]
    email: String,
}

/// The OneTable schema's Secret: an encrypted field.
#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Secret", timestamps)]
#[key(pk = "SECRET#${id}", sk = "SECRET")]
struct Secret {
    id: String,
    #[attr(crypt)]
    token: Option<String>,
}

/// The OneTable schema's Tag: found by color through a keys-only index.
#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Tag", timestamps)]
#[key(pk = "TAG#${id}", sk = "TAG")]
#[index(name = "gs3", pk = "COLOR#${color}", sk = "TAG#${id}", project = "keys")]
struct Tag {
    id: String,
    color: String,
    label: Option<String>,
}

/// The OneTable schema's Person: `fullName` computed from the names.
#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Person", timestamps)]
#[key(pk = "PERSON#${id}", sk = "PERSON")]
struct Person {
    id: String,
    first: String,
    last: String,
    #[attr(value = "${first} ${last}", rename = "fullName")]
    full_name: String,
    address: Option<Address>,
}

#[derive(onetable::Value, Debug, Clone, PartialEq)]
struct Address {
    city: Option<String>,
    zip: Option<String>,
}

/// The same Event taking its timestamps from the table, and reading them back.
#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Event")]
#[key(pk = "STREAM#${stream}", sk = "EVENT#${seq:8:0}")]
struct StampedEvent {
    stream: String,
    seq: u64,
    note: Option<String>,
    created: Option<SystemTime>,
    updated: Option<SystemTime>,
}

fn sample(id: &str, email: &str) -> User {
    User {
        account_id: "acme".into(),
        id: id.into(),
        email: email.into(),
        name: format!("Name {id} ✓ #:{{}}"),
        age: 42,
        big: if id.len().is_multiple_of(2) { JS_MAX_SAFE } else { -JS_MAX_SAFE },
        ratio: 0.1,
        active: true,
        tags: vec!["a".into(), "b b".into(), String::new()],
        prefs: BTreeMap::from([("theme".into(), "dark".into()), ("lang".into(), "en".into())]),
        roles: BTreeSet::from(["admin".into(), "dev".into()]),
        avatar: vec![0, 1, 2, 253, 254, 255],
        born: UNIX_EPOCH + Duration::from_millis(631_152_000_123),
        expires: Some(UNIX_EPOCH + Duration::from_secs(4_102_444_800)),
        nick: None,
        created: None,
        updated: None,
    }
}

fn ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

/// The user as OneTable JS takes it (tagged JSON).
fn to_js(u: &User) -> Json {
    let mut v = json!({
        "accountId": u.account_id, "id": u.id, "email": u.email, "name": u.name,
        "age": u.age, "big": u.big, "ratio": u.ratio, "active": u.active,
        "tags": u.tags, "prefs": u.prefs, "roles": { "$set": u.roles },
        "avatar": { "$bytes": base64(&u.avatar) }, "born": { "$date": ms(u.born) },
    });
    if let Some(e) = u.expires {
        v["expires"] = json!({ "$date": ms(e) });
    }
    v
}

/// The user OneTable JS returned, compared field by field (timestamps: present).
fn assert_same(js: &Json, u: &User) {
    assert!(js.get("error").is_none(), "OneTable JS failed: {js}");
    assert_eq!(js["accountId"], u.account_id);
    assert_eq!(js["id"], u.id);
    assert_eq!(js["email"], u.email);
    assert_eq!(js["name"], u.name);
    assert_eq!(js["age"], u.age);
    assert_eq!(js["big"], u.big);
    assert_eq!(js["ratio"], u.ratio);
    assert_eq!(js["active"], u.active);
    assert_eq!(js["tags"], json!(u.tags));
    assert_eq!(js["prefs"], json!(u.prefs));
    assert_eq!(js["roles"], json!({ "$set": u.roles }));
    assert_eq!(js["avatar"], json!({ "$bytes": base64(&u.avatar) }));
    assert_eq!(js["born"], json!({ "$date": ms(u.born) }));
    assert_eq!(js["expires"], u.expires.map_or(Json::Null, |e| json!({ "$date": ms(e) })));
    assert!(js["nick"].is_null() == u.nick.is_none(), "nick: {} vs {:?}", js["nick"], u.nick);
    assert!(js["created"]["$date"].is_i64() && js["updated"]["$date"].is_i64(), "timestamps: {js}");
}

fn base64(bytes: &[u8]) -> String {
    use std::fmt::Write;
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                let _ = out.write_char(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The JS side's folder, installed with `npm ci` once per test binary.
fn js_dir() -> &'static Path {
    static INSTALLED: OnceLock<PathBuf> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop");
        let installed = ["dynamodb-onetable", "onetable-migrate"]
            .iter()
            .all(|p| dir.join("node_modules").join(p).is_dir());
        if !installed {
            let status = Command::new("npm")
                .args(["ci", "--silent", "--no-audit", "--no-fund"])
                .current_dir(&dir)
                .status()
                .expect("npm is needed for the interoperability tests");
            assert!(status.success(), "npm ci in tests/interop failed");
        }
        dir
    })
}

struct Js {
    table: String,
    iso: bool,
    nulls: bool,
    /// OneTable's `timestamps` parameter, as JSON.
    timestamps: &'static str,
    /// The password of the `primary` crypto key ("": none).
    password: &'static str,
}

impl Js {
    fn run(&self, command: &str, args: Json) -> Json {
        let endpoint = common::local().endpoint().to_owned();
        let out = Command::new("node")
            .arg("onetable.mjs")
            .args([
                endpoint.as_str(),
                self.table.as_str(),
                if self.iso { "1" } else { "0" },
                if self.nulls { "1" } else { "0" },
            ])
            .args([command, &args.to_string()])
            .current_dir(js_dir())
            .env("ONETABLE_TIMESTAMPS", self.timestamps)
            .env("ONETABLE_CRYPTO_PASSWORD", self.password)
            .output()
            .expect("node runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap_or_else(|_| {
            panic!("OneTable JS printed {stdout} {}", String::from_utf8_lossy(&out.stderr))
        })
    }
}

/// The item stored under `pk`/`sk`, as DynamoDB holds it.
async fn stored(table: &Table, pk: &str, sk: &str) -> Option<onetable::Item> {
    let out = table
        .client()
        .get_item()
        .table_name(table.name())
        .key("pk", AttributeValue::S(pk.to_owned()))
        .key("sk", AttributeValue::S(sk.to_owned()))
        .send()
        .await
        .unwrap();
    out.item
}

async fn setup(iso: bool, nulls: bool) -> (Table, Js) {
    let table = common::table(|t| t.entity::<Account>().entity::<User>().iso_dates(iso).nulls(nulls)).await;
    let js = Js { table: table.name().to_owned(), iso, nulls, timestamps: "true", password: "" };
    (table, js)
}

fn without_timestamps(mut u: User) -> User {
    assert!(u.created.is_some() && u.updated.is_some(), "timestamps are read: {u:?}");
    u.created = None;
    u.updated = None;
    u
}

async fn js_to_rust(iso: bool) {
    let (table, js) = setup(iso, false).await;
    let users = table.model::<User>();
    assert!(js.run("create-account", json!({ "id": "acme", "name": "Acme" })).get("error").is_none());
    let ann = sample("ann", "ann@x");
    assert!(js.run("create-user", to_js(&ann)).get("error").is_none());

    // Read and found through onetable, with equal values.
    let got = users.get(User::key("acme", "ann")).await.unwrap().expect("the JS item is found");
    assert_eq!(without_timestamps(got), ann);
    let found = users.find(User::partition("acme")).await.unwrap();
    assert_eq!(found.items.len(), 1, "the account item is not a user");
    // Read through a projection: the packed name by its path, dates, binary, sets.
    let card = users.get(User::key("acme", "ann")).project::<UserCard>().await.unwrap();
    assert_eq!(card, Some(UserCard::of(&ann)));
    let cards = users.find(User::partition("acme")).project::<UserCard>().await.unwrap();
    assert_eq!(cards.items, [UserCard::of(&ann)]);
    assert_eq!(users.find(User::gs1_partition("ann@x")).await.unwrap().items.len(), 1);
    let account = table.model::<Account>().get(Account::key("acme")).await.unwrap().unwrap();
    assert_eq!(account.name, "Acme");

    // Updated through onetable (the unique email too), read back by OneTable JS.
    users
        .update(User::key("acme", "ann"))
        .set(User::NAME, "Ann B")
        .add(User::AGE, 1)
        .set(User::EMAIL, "ann@new")
        .set(User::NICK, "annie")
        .await
        .unwrap();
    let back = js.run("get-user", json!({ "accountId": "acme", "id": "ann" }));
    let expected = User {
        name: "Ann B".into(),
        age: 43,
        email: "ann@new".into(),
        nick: Some("annie".into()),
        ..ann.clone()
    };
    assert_same(&back, &expected);
    assert_eq!(back["nick"], "annie");
    // OneTable honours the sentinel onetable wrote, and the one it released is free.
    let taken = js.run("create-user", to_js(&sample("eve", "ann@new")));
    assert_eq!(taken["error"], "UniqueError", "{taken}");
    assert!(js.run("create-user", to_js(&sample("eve", "ann@x"))).get("error").is_none());
    let found = js.run("find-by-email", json!({ "email": "ann@new" }));
    assert_eq!(found.as_array().map(Vec::len), Some(1), "{found}");

    // Removed through onetable: gone for OneTable too.
    users.remove(User::key("acme", "ann")).await.unwrap();
    assert_eq!(js.run("get-user", json!({ "accountId": "acme", "id": "ann" })), Json::Null);
}

async fn rust_to_js(iso: bool) {
    let (table, js) = setup(iso, false).await;
    let users = table.model::<User>();
    let bob = sample("bob", "bob@x");
    users.create(bob.clone()).await.unwrap();

    assert_same(&js.run("get-user", json!({ "accountId": "acme", "id": "bob" })), &bob);
    let found = js.run("find-users", json!({ "accountId": "acme" }));
    assert_eq!(found.as_array().map(Vec::len), Some(1), "{found}");
    assert_same(&found[0], &bob);
    assert_same(&js.run("find-by-email", json!({ "email": "bob@x" }))[0], &bob);

    // Updated by OneTable JS, read by onetable.
    let updated =
        js.run("update-user", json!({ "accountId": "acme", "id": "bob", "name": "Bob B", "age": 50 }));
    assert!(updated.get("error").is_none(), "{updated}");
    let got = users.get(User::key("acme", "bob")).await.unwrap().unwrap();
    assert_eq!(without_timestamps(got), User { name: "Bob B".into(), age: 50, ..bob.clone() });

    // Unique values hold across languages, both ways.
    assert_eq!(js.run("create-user", to_js(&sample("mal", "bob@x")))["error"], "UniqueError");
    assert!(js.run("create-user", to_js(&sample("cy", "cy@x"))).get("error").is_none());
    let err = users.create(sample("dan", "cy@x")).await.unwrap_err();
    assert!(err.is_unique_violation(), "{err}");

    // Raw format checks: OneTable's dates, TTL seconds and packed map.
    let item = stored(&table, "ACCOUNT#acme", "USER#bob").await.unwrap();
    match (&item["born"], iso) {
        (AttributeValue::S(s), true) => assert_eq!(s, "1990-01-01T00:00:00.123Z"),
        (AttributeValue::N(n), false) => assert_eq!(n, "631152000123"),
        (other, _) => panic!("born: {other:?}"),
    }
    assert_eq!(item["expires"], AttributeValue::N("4102444800".into()));
    assert!(item["data"].as_m().unwrap().contains_key("name"));
}

#[tokio::test]
async fn onetable_js_items_work_in_rust_with_epoch_dates() {
    js_to_rust(false).await;
}

#[tokio::test]
async fn onetable_js_items_work_in_rust_with_iso_dates() {
    js_to_rust(true).await;
}

#[tokio::test]
async fn rust_items_work_in_onetable_js_with_epoch_dates() {
    rust_to_js(false).await;
}

#[tokio::test]
async fn rust_items_work_in_onetable_js_with_iso_dates() {
    rust_to_js(true).await;
}

#[tokio::test]
async fn kept_nulls_match_onetables_nulls_setting() {
    let (table, js) = setup(false, true).await;
    let users = table.model::<User>();
    users.create(sample("nil", "nil@x")).await.unwrap();
    let item = stored(&table, "ACCOUNT#acme", "USER#nil").await.unwrap();
    assert_eq!(item["nick"], AttributeValue::Null(true), "None is written as NULL");
    let back = js.run("get-user", json!({ "accountId": "acme", "id": "nil" }));
    assert_eq!(back["nick"], Json::Null);
    assert_same(&back, &sample("nil", "nil@x"));

    let mut js_user = to_js(&sample("js", "js@x"));
    js_user["nick"] = Json::Null;
    assert!(js.run("create-user", js_user).get("error").is_none());
    let got = users.get(User::key("acme", "js")).await.unwrap().unwrap();
    assert_eq!(got.nick, None);
}

#[tokio::test]
async fn onetable_reads_the_migration_history_and_schema_that_onetable_rust_writes() {
    use onetable::migrate::{Migration, Migrator};
    let (table, js) = setup(false, false).await;
    let migrator = Migrator::new(table.clone())
        .migration(Migration::new("0.1.0", "initial").up(|_| async { Ok(()) }).down(|_| async { Ok(()) }))
        .migration(Migration::new("0.2.0", "second").up(|_| async { Ok(()) }).down(|_| async { Ok(()) }));
    migrator.up(None).await.unwrap();

    let history = js.run("list-migrations", json!({}));
    let versions: Vec<&str> =
        history.as_array().expect("a list").iter().filter_map(|m| m["version"].as_str()).collect();
    assert_eq!(versions, ["0.1.0", "0.2.0"], "{history}");
    assert_eq!(history[1]["description"], "second");
    assert!(history[1]["date"]["$date"].is_i64(), "a Date to OneTable: {history}");

    let schema = js.run("read-schema", json!({}));
    assert!(schema.get("error").is_none(), "{schema}");
    assert_eq!(schema["version"], "0.2.0");
    assert_eq!(schema["format"], "onetable:1.1.0");
    assert_eq!(schema["indexes"]["gs1"]["hash"], "gs1pk");
    let user = &schema["models"]["User"];
    assert_eq!(user["pk"]["value"], "ACCOUNT#${accountId}", "templates name OneTable properties");
    assert_eq!(user["sk"]["value"], "USER#${id}");
    assert_eq!(user["email"]["unique"], true);
    assert_eq!(user["name"]["map"], "data.name");
    assert_eq!(user["born"]["type"], "date");
    assert_eq!(user["expires"]["ttl"], true);
    assert_eq!(user["roles"]["type"], "set");
    assert_eq!(user["avatar"]["type"], "binary");
    assert_eq!(user["nick"].get("required"), None);
    assert_eq!(schema["params"]["isoDates"], false);
}

/// The live-migration counters (see tests/interop/onetable.mjs).
#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Counter")]
#[key(pk = "COUNTER#${id}", sk = "COUNTER")]
struct Counter {
    id: u32,
    passes: u32,
    hits: u32,
}

/// OneTable JS increments counters (its `update` with `add`, which also stamps the
/// `updated` attribute onetable's `Counter` does not know) while a Rust migration
/// rewrites every counter in place: every acknowledged JS increment stands, every
/// counter is migrated once, and the attribute only JS knows is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onetable_js_updates_during_an_in_place_migration_are_all_kept() {
    const N: u32 = 3_000;
    let table = common::table(|t| t.entity::<Counter>()).await;
    let mut batch = table.batch_write().concurrency(8);
    for id in 0..N {
        batch = batch.put(Counter { id, passes: 0, hits: 0 });
    }
    batch.await.unwrap();

    let stop = std::env::temp_dir().join(format!("onetable-stop-{}", table.name()));
    let _ = std::fs::remove_file(&stop);
    let args = json!({ "ids": (0..N).collect::<Vec<_>>(), "stop": stop.to_string_lossy() });
    let js = Command::new("node")
        .arg("onetable.mjs")
        .args([common::local().endpoint(), table.name(), "0", "0", "bump-counters", &args.to_string()])
        .current_dir(js_dir())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("node runs");
    // Let OneTable JS get going, then migrate beside it.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while table.model::<Counter>().scan().await.unwrap().iter().all(|c| c.hits == 0) {
        assert!(std::time::Instant::now() < deadline, "OneTable JS did not start writing");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let migrator = onetable::migrate::Migrator::new(table.clone()).migration(
        onetable::migrate::Migration::new("0.2.0", "count a pass").up(|ctx| async move {
            ctx.transform("passes", |c: Counter| {
                Some(Counter { passes: c.passes + 1, hits: c.hits + 1000, ..c })
            })
            .run()
            .await
            .map(|_| ())
        }),
    );
    let ran = migrator.up(None).await.unwrap();
    std::fs::write(&stop, b"stop").unwrap();
    let out = js.wait_with_output().unwrap();
    let _ = std::fs::remove_file(&stop);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let counts: Json = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|_| panic!("OneTable JS printed {stdout}"));
    assert!(counts.get("error").is_none(), "no OneTable JS request failed: {counts}");
    let increments: u64 = counts.as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
    assert!(increments > 50, "OneTable JS kept writing: {increments} increments");

    let counters = table.model::<Counter>().scan().await.unwrap();
    assert_eq!(counters.len(), N as usize);
    let mut lost = Vec::new();
    for c in &counters {
        let acknowledged = counts.get(c.id.to_string()).and_then(Json::as_u64).unwrap_or(0) as u32;
        assert_eq!(c.passes, 1, "counter {} migrated once", c.id);
        if c.hits != 1000 + acknowledged {
            lost.push(format!("{}: {} != 1000 + {acknowledged}", c.id, c.hits));
        }
    }
    assert!(lost.is_empty(), "OneTable JS increments lost: {lost:?}");
    // The attribute only OneTable JS knows survived the rewrite of the items it touched.
    let id = counts.as_object().unwrap().keys().next().unwrap();
    let raw = stored(&table, &format!("COUNTER#{id}"), "COUNTER").await.unwrap();
    assert!(raw.contains_key("updated"), "{raw:?}");
    eprintln!("OneTable JS: {increments} increments beside {} migrated items", ran[0].items);
}

#[tokio::test]
async fn padded_sort_keys_are_written_sorted_and_read_back_alike_in_both_languages() {
    let table = common::table(|t| t.entity::<Event>()).await;
    let js =
        Js { table: table.name().to_owned(), iso: false, nulls: false, timestamps: "true", password: "" };
    let events = table.model::<Event>();
    let seqs = |found: &Json| -> Vec<u64> {
        found
            .as_array()
            .unwrap_or_else(|| panic!("{found}"))
            .iter()
            .map(|e| e["seq"].as_u64().unwrap())
            .collect()
    };

    // OneTable JS writes, out of order; onetable reads, finds in numeric order, gets by key.
    let written: Vec<Json> =
        [12, 3, 1, 10, 2].iter().map(|seq| json!({ "stream": "s", "seq": seq })).collect();
    assert_eq!(js.run("create-events", json!({ "events": written })), 5);
    assert!(stored(&table, "STREAM#s", "EVENT#00000003").await.is_some(), "OneTable JS pads to 8 digits");
    let found: Vec<u64> =
        events.find(Event::partition("s")).await.unwrap().items.iter().map(|e| e.seq).collect();
    assert_eq!(found, [1, 2, 3, 10, 12], "numbers sort as their padded text does");
    assert_eq!(events.get(Event::key("s", 10u64)).await.unwrap().map(|e| e.seq), Some(10));
    let one = events.find(Event::partition("s").with(Event::SEQ, 3u64)).await.unwrap();
    assert_eq!(one.items.iter().map(|e| e.seq).collect::<Vec<_>>(), [3], "a whole padded sort key");

    // onetable writes (create, and an upsert whose key is read back from its text);
    // OneTable JS finds them all in order and reads them by key.
    for seq in [7u64, 11, 100] {
        events.create(Event { stream: "s".into(), seq, note: Some(format!("rust {seq}")) }).await.unwrap();
    }
    events.update(Event::key("s", 5u64)).set(Event::NOTE, "upserted".to_owned()).upsert().await.unwrap();
    assert_eq!(seqs(&js.run("find-events", json!({ "stream": "s" }))), [1, 2, 3, 5, 7, 10, 11, 12, 100]);
    let upserted = js.run("get-event", json!({ "stream": "s", "seq": 5 }));
    assert_eq!(
        (upserted["seq"].as_u64(), upserted["note"].as_str()),
        (Some(5), Some("upserted")),
        "{upserted}"
    );
    assert_eq!(js.run("get-event", json!({ "stream": "s", "seq": 100 }))["note"], "rust 100");

    // Each updates the other's item by key.
    let updated = js.run("update-event", json!({ "stream": "s", "seq": 7, "note": "js" }));
    assert_eq!(updated["note"], "js", "{updated}");
    assert_eq!(events.get(Event::key("s", 7u64)).await.unwrap().and_then(|e| e.note), Some("js".into()));
    events.update(Event::key("s", 12u64)).set(Event::NOTE, "rust".to_owned()).await.unwrap();
    assert_eq!(js.run("get-event", json!({ "stream": "s", "seq": 12 }))["note"], "rust");
}

/// Each language writes only the timestamp the mode names, keeps `created` on updates,
/// moves `updated` on each write, and reads the other's.
async fn one_timestamp(mode: onetable::Timestamps, js_mode: &'static str) {
    let table = common::table(|t| t.entity::<StampedEvent>().timestamps(mode)).await;
    let js =
        Js { table: table.name().to_owned(), iso: false, nulls: false, timestamps: js_mode, password: "" };
    let events = table.model::<StampedEvent>();
    let raw = |seq: u64| {
        let table = table.clone();
        async move { stored(&table, "STREAM#s", &format!("EVENT#{seq:08}")).await.expect("the item exists") }
    };
    let stamps = |item: &onetable::Item| (item.get("created").cloned(), item.get("updated").cloned());
    let has = |item: &onetable::Item| (item.contains_key("created"), item.contains_key("updated"));
    let expected = (mode.created(), mode.updated());

    // Created by each side: only the mode's timestamp.
    assert_eq!(js.run("create-events", json!({ "events": [{ "stream": "s", "seq": 1 }] })), 1);
    events
        .create(StampedEvent { stream: "s".into(), seq: 2, note: None, created: None, updated: None })
        .await
        .unwrap();
    let (js_item, rust_item) = (raw(1).await, raw(2).await);
    assert_eq!(has(&js_item), expected, "OneTable JS, {js_mode}: {js_item:?}");
    assert_eq!(has(&rust_item), expected, "onetable, {mode:?}: {rust_item:?}");
    let read = events.get(StampedEvent::key("s", 1u64)).await.unwrap().unwrap();
    assert_eq!((read.created.is_some(), read.updated.is_some()), expected, "onetable reads OneTable's");

    // Updated by the other side: `created` kept, `updated` moved, nothing added.
    std::thread::sleep(std::time::Duration::from_millis(5));
    events.update(StampedEvent::key("s", 1u64)).set(StampedEvent::NOTE, "rust".to_owned()).await.unwrap();
    assert!(js.run("update-event", json!({ "stream": "s", "seq": 2, "note": "js" })).get("error").is_none());
    for (before, after) in [(js_item, raw(1).await), (rust_item, raw(2).await)] {
        assert_eq!(has(&after), expected, "{after:?}");
        let ((created_before, updated_before), (created_after, updated_after)) =
            (stamps(&before), stamps(&after));
        assert_eq!(created_after, created_before, "an update keeps `created`");
        if mode.updated() {
            assert_ne!(updated_after, updated_before, "an update moves `updated`");
        }
    }

    // An upsert that creates the item stamps what a create would.
    events
        .update(StampedEvent::key("s", 3u64))
        .set(StampedEvent::NOTE, "new".to_owned())
        .upsert()
        .await
        .unwrap();
    assert_eq!(has(&raw(3).await), expected);
    let back = js.run("get-event", json!({ "stream": "s", "seq": 3 }));
    assert_eq!(back["note"], "new", "{back}");
}

#[tokio::test]
async fn timestamps_create_only_match_onetable_js() {
    one_timestamp(onetable::Timestamps::Create, "\"create\"").await;
}

#[tokio::test]
async fn timestamps_update_only_match_onetable_js() {
    one_timestamp(onetable::Timestamps::Update, "\"update\"").await;
}

#[tokio::test]
async fn migration_history_is_shared_with_onetable_migrate_both_ways() {
    use onetable::migrate::{Migration, Migrator};
    // Both sides stamp timestamps, as the OneTable schema does (`timestamps: true`).
    let table =
        common::table(|t| t.entity::<Account>().entity::<User>().timestamps(onetable::Timestamps::Both))
            .await;
    let js =
        Js { table: table.name().to_owned(), iso: false, nulls: false, timestamps: "true", password: "" };
    let versions = ["0.1.0", "0.2.0", "0.3.0", "0.4.0"];
    let mut migrator = Migrator::new(table.clone());
    for v in versions {
        migrator = migrator.migration(
            Migration::new(v, format!("rust {v}")).up(|_| async { Ok(()) }).down(|_| async { Ok(()) }),
        );
    }
    let history = |version: &'static str| {
        let table = table.clone();
        async move {
            let out = table
                .client()
                .query()
                .table_name(table.name())
                .key_condition_expression("pk = :p AND begins_with(sk, :s)")
                .expression_attribute_values(":p", AttributeValue::S("_migration".into()))
                .expression_attribute_values(":s", AttributeValue::S(format!("_migration:{version}:")))
                .send()
                .await
                .unwrap();
            out.items.unwrap_or_default().pop().unwrap_or_else(|| panic!("no record of {version}"))
        }
    };

    // onetable applies 0.1.0 and 0.2.0: onetable-migrate takes them as applied.
    migrator.up(Some("0.2.0")).await.unwrap();
    let seen = js.run("migrate-status", json!({ "versions": versions }));
    assert_eq!(seen["current"], "0.2.0", "{seen}");
    assert_eq!(seen["outstanding"], json!(["0.3.0", "0.4.0"]), "{seen}");

    // onetable-migrate applies 0.3.0, and fails 0.4.0 (its status: the message).
    let ran = js.run("migrate-up", json!({ "versions": versions, "to": "0.3.0" }));
    assert_eq!(ran["current"], "0.3.0", "{ran}");
    let failed = js.run("migrate-up", json!({ "versions": versions, "to": "0.4.0", "fail": "0.4.0" }));
    assert_eq!(failed["error"], "MigrationFailed", "{failed}");

    // onetable reads both: 0.3.0 applied (no checksum to hold it to), 0.4.0 failed.
    let status = migrator.status().await.unwrap();
    assert_eq!(status.current.map(|v| v.to_string()).as_deref(), Some("0.3.0"));
    assert!(status.edited.is_empty(), "a record without checksum is not an edit: {:?}", status.edited);
    let failed = status.failed.expect("0.4.0 failed");
    assert_eq!(
        (failed.version.to_string(), failed.error.as_deref()),
        ("0.4.0".into(), Some("0.4.0 refused"))
    );
    assert!(
        migrator.up(None).await.unwrap_err().is_migration(),
        "a failure recorded by onetable-migrate blocks up"
    );

    // Field for field: onetable's record has every attribute onetable-migrate's has,
    // in the same form (onetable's own extras aside).
    let (rust, js_record) = (history("0.2.0").await, history("0.3.0").await);
    let names = |item: &onetable::Item| {
        let mut names: Vec<String> = item.keys().cloned().collect();
        names.sort();
        names
    };
    let extras = ["checksum", "duration", "items", "verified"];
    let rust_names: Vec<String> =
        names(&rust).into_iter().filter(|n| !extras.contains(&n.as_str())).collect();
    assert_eq!(rust_names, names(&js_record), "{rust:?}\n{js_record:?}");
    assert_eq!(rust["status"].as_s().unwrap(), "success");
    assert_eq!(js_record["status"].as_s().unwrap(), "success");
    for item in [&rust, &js_record] {
        let sk = item["sk"].as_s().unwrap();
        let date = sk.rsplit(':').next().unwrap();
        assert!(
            date.len() == 13 && date.bytes().all(|b| b.is_ascii_digit()),
            "epoch ms in the sort key: {sk}"
        );
        assert!(item["date"].as_n().is_ok(), "a date as the table writes dates: {item:?}");
        assert!(
            item["created"].as_n().is_ok() && item["updated"].as_n().is_ok(),
            "the table's timestamps: {item:?}"
        );
    }
    assert_eq!(rust["path"].as_s().unwrap(), "memory");
}

#[tokio::test]
async fn values_unique_within_a_scope_are_guarded_alike_by_both_languages() {
    let table = common::table(|t| t.entity::<Member>()).await;
    let js =
        Js { table: table.name().to_owned(), iso: false, nulls: false, timestamps: "true", password: "" };
    let members = table.model::<Member>();
    let member = |account: &str, id: &str, email: &str| Member {
        account_id: account.into(),
        id: id.into(),
        email: email.into(),
    };
    let sentinel = |hash: String| {
        let table = table.clone();
        async move { stored(&table, &hash, "_unique#").await.is_some() }
    };

    // OneTable JS claims ann@x in account a1: the same sentinel key onetable reads.
    let created = js.run("create-member", json!({ "accountId": "a1", "id": "m1", "email": "ann@x" }));
    assert!(created.get("error").is_none(), "{created}");
    assert!(sentinel("_unique#a1#Member#email#ann@x".into()).await, "OneTable's scoped sentinel key");
    let taken = members.create(member("a1", "m2", "ann@x")).await.unwrap_err();
    assert!(taken.is_unique_violation(), "{taken}");
    // Another account is another scope.
    members.create(member("a2", "m3", "ann@x")).await.unwrap();
    assert!(sentinel("_unique#a2#Member#email#ann@x".into()).await);
    let taken = js.run("create-member", json!({ "accountId": "a2", "id": "m4", "email": "ann@x" }));
    assert_eq!(taken["error"], "UniqueError", "OneTable honours onetable's sentinel: {taken}");

    // onetable changes m1's email (OneTable's item): the sentinel moves in its scope,
    // and OneTable may take the old value again.
    members.update(Member::key("a1", "m1")).set(Member::EMAIL, "ann@new".to_owned()).await.unwrap();
    assert!(!sentinel("_unique#a1#Member#email#ann@x".into()).await);
    assert!(sentinel("_unique#a1#Member#email#ann@new".into()).await);
    let again = js.run("create-member", json!({ "accountId": "a1", "id": "m5", "email": "ann@x" }));
    assert!(again.get("error").is_none(), "{again}");

    // OneTable changes and removes onetable's item: onetable sees the value free.
    let moved = js.run("update-member", json!({ "accountId": "a2", "id": "m3", "email": "bob@x" }));
    assert!(moved.get("error").is_none(), "{moved}");
    members.create(member("a2", "m6", "ann@x")).await.unwrap();
    let removed = js.run("remove-member", json!({ "accountId": "a2", "id": "m6" }));
    assert!(removed.get("error").is_none(), "{removed}");
    assert!(!sentinel("_unique#a2#Member#email#ann@x".into()).await, "released by OneTable");
    members.remove(Member::key("a2", "m3")).await.unwrap();
    assert!(!sentinel("_unique#a2#Member#email#bob@x".into()).await, "released by onetable");
}

#[tokio::test]
async fn encrypted_fields_are_read_and_written_by_both_languages_with_the_same_key() {
    const PASSWORD: &str = "correct horse battery staple";
    let table = common::table(|t| t.entity::<Secret>().crypto("primary", PASSWORD)).await;
    let js = Js {
        table: table.name().to_owned(),
        iso: false,
        nulls: false,
        timestamps: "true",
        password: PASSWORD,
    };
    let secrets = table.model::<Secret>();
    let stored = |id: &'static str| {
        let table = table.clone();
        async move {
            let item = stored(&table, &format!("SECRET#{id}"), "SECRET").await.expect("stored");
            item["token"].as_s().unwrap().clone()
        }
    };
    let token = |got: Option<Secret>| got.expect("found").token;

    // OneTable JS encrypts; onetable decrypts.
    assert!(js.run("create-secret", json!({ "id": "s1", "token": "from js" })).get("error").is_none());
    let text = stored("s1").await;
    let parts: Vec<&str> = text.split(':').collect();
    assert_eq!(
        (parts.len(), parts[0], parts[2].len()),
        (4, "primary", 32),
        "name:tag:iv(hex, 16 bytes):data — {text}"
    );
    assert!(!text.contains("from js"));
    assert_eq!(token(secrets.get(Secret::key("s1")).await.unwrap()).as_deref(), Some("from js"));
    let found = secrets.find(Secret::partition("s1")).await.unwrap().items;
    assert_eq!(found[0].token.as_deref(), Some("from js"), "a find decrypts too");

    // onetable encrypts (create and update); OneTable JS decrypts.
    secrets.create(Secret { id: "s2".into(), token: Some("from rust".into()) }).await.unwrap();
    assert!(stored("s2").await.starts_with("primary:"), "stored encrypted");
    assert_eq!(js.run("get-secret", json!({ "id": "s2" }))["token"], "from rust");
    secrets.update(Secret::key("s1")).set(Secret::TOKEN, Some("rust again".to_owned())).await.unwrap();
    assert!(stored("s1").await.starts_with("primary:"));
    assert_eq!(js.run("get-secret", json!({ "id": "s1" }))["token"], "rust again");
    let updated = js.run("update-secret", json!({ "id": "s2", "token": "js again" }));
    assert!(updated.get("error").is_none(), "{updated}");
    assert_eq!(token(secrets.get(Secret::key("s2")).await.unwrap()).as_deref(), Some("js again"));

    // A wrong key is an error naming the field, on either side, never garbage text.
    let wrong = common::table_named(table.name(), |t| t.entity::<Secret>().crypto("primary", "wrong"));
    let err = wrong.model::<Secret>().get(Secret::key("s2")).await.unwrap_err();
    assert!(err.is_crypt(), "{err}");
    assert!(err.to_string().contains("Secret.token"), "{err}");
    let js_wrong = Js { password: "wrong", ..js };
    assert!(js_wrong.run("get-secret", json!({ "id": "s1" })).get("error").is_some(), "OneTable refuses too");
}

#[tokio::test]
async fn a_keys_only_index_is_created_queried_by_onetable_js_and_refused_as_whole_entities() {
    let table = common::table(|t| t.entity::<Tag>()).await;
    let js =
        Js { table: table.name().to_owned(), iso: false, nulls: false, timestamps: "true", password: "" };
    let described = table.client().describe_table().table_name(table.name()).send().await.unwrap();
    let gs3 = &described.table().unwrap().global_secondary_indexes()[0];
    let projection = gs3.projection().and_then(|p| p.projection_type()).cloned();
    assert_eq!(projection, Some(aws_sdk_dynamodb::types::ProjectionType::KeysOnly), "created as declared");

    // Each side writes a tag; OneTable JS queries the index and finds both.
    let tags = table.model::<Tag>();
    tags.create(Tag { id: "t1".into(), color: "red".into(), label: Some("rust".into()) }).await.unwrap();
    assert!(js
        .run("create-tag", json!({ "id": "t2", "color": "red", "label": "js" }))
        .get("error")
        .is_none());
    let found = js.run("find-tags-by-color", json!({ "color": "red" }));
    assert_eq!(found.as_array().map(Vec::len), Some(2), "{found}");

    // onetable will not pass the index's keys off as whole tags.
    let err = tags.find(Tag::gs3_partition("red")).await.unwrap_err();
    assert!(err.is_invalid() && err.to_string().contains("only the keys"), "{err}");
    // The primary key still reads them whole.
    assert_eq!(tags.get(Tag::key("t2")).await.unwrap().and_then(|t| t.label).as_deref(), Some("js"));
}

#[tokio::test]
async fn computed_fields_are_computed_alike_by_both_languages() {
    let table = common::table(|t| t.entity::<Person>()).await;
    let js =
        Js { table: table.name().to_owned(), iso: false, nulls: false, timestamps: "true", password: "" };
    let people = table.model::<Person>();
    let person = |id: &str, first: &str, last: &str| Person {
        id: id.into(),
        first: first.into(),
        last: last.into(),
        // Whatever the struct holds, the stored value is computed.
        full_name: String::new(),
        address: None,
    };

    // Each side computes on create; each reads the other's.
    assert!(js
        .run("create-person", json!({ "id": "p1", "first": "Ada", "last": "Lovelace" }))
        .get("error")
        .is_none());
    let p1 = people.get(Person::key("p1")).await.unwrap().unwrap();
    assert_eq!(p1.full_name, "Ada Lovelace");
    let created = people.create(person("p2", "Alan", "Turing")).await.unwrap();
    let stored = stored(&table, "PERSON#p2", "PERSON").await.unwrap();
    assert_eq!(stored["fullName"].as_s().unwrap(), "Alan Turing");
    assert_eq!(created.full_name, "Alan Turing", "the entity returned is the one stored");
    assert_eq!(js.run("get-person", json!({ "id": "p2" }))["fullName"], "Alan Turing");

    // An update of its inputs recomputes it, with every input known.
    people
        .update(Person::key("p1"))
        .set(Person::FIRST, "Augusta".to_owned())
        .set(Person::LAST, "King".to_owned())
        .await
        .unwrap();
    assert_eq!(js.run("get-person", json!({ "id": "p1" }))["fullName"], "Augusta King");
    let err = people.update(Person::key("p1")).set(Person::FIRST, "A.".to_owned()).await.unwrap_err();
    assert!(err.is_invalid() && err.to_string().contains("set last in the same update"), "{err}");
    let err = people.update(Person::key("p1")).set(Person::FULL_NAME, "x".to_owned()).await.unwrap_err();
    assert!(err.is_invalid() && err.to_string().contains("computed"), "{err}");
    let moved = js.run("update-person", json!({ "id": "p2", "first": "Alan M.", "last": "Turing" }));
    assert!(moved.get("error").is_none(), "{moved}");
    assert_eq!(people.get(Person::key("p2")).await.unwrap().unwrap().full_name, "Alan M. Turing");
}

#[tokio::test]
async fn one_field_inside_a_map_is_updated_alike_by_both_languages() {
    let table = common::table(|t| t.entity::<Person>()).await;
    let js =
        Js { table: table.name().to_owned(), iso: false, nulls: false, timestamps: "true", password: "" };
    let people = table.model::<Person>();
    let address = |city: &str, zip: &str| Some(Address { city: Some(city.into()), zip: Some(zip.into()) });
    let person = |id: &str| Person {
        id: id.into(),
        first: "Grace".into(),
        last: "Hopper".into(),
        full_name: String::new(),
        address: address("Arlington", "22201"),
    };
    people.create(person("p1")).await.unwrap();
    let created = js.run(
        "create-person",
        json!({ "id": "p2", "first": "Ada", "last": "Lovelace", "address": { "city": "London", "zip": "W1" } }),
    );
    assert!(created.get("error").is_none(), "{created}");

    // onetable sets one field inside OneTable's map: the other is kept.
    people
        .update(Person::key("p2"))
        .set_in(Person::ADDRESS, Address::CITY, Some("Marylebone".to_owned()))
        .await
        .unwrap();
    let back = js.run("get-person", json!({ "id": "p2" }));
    assert_eq!(back["address"], json!({ "city": "Marylebone", "zip": "W1" }), "{back}");
    // OneTable's partial update of onetable's map, read back by onetable.
    let partial = js.run("update-person-partial", json!({ "id": "p1", "address": { "zip": "22202" } }));
    assert!(partial.get("error").is_none(), "{partial}");
    assert_eq!(people.get(Person::key("p1")).await.unwrap().unwrap().address, address("Arlington", "22202"));
    // Removing one field inside.
    let updated = people.update(Person::key("p1")).remove_in(Person::ADDRESS, Address::ZIP).await.unwrap();
    assert_eq!(updated.address, Some(Address { city: Some("Arlington".into()), zip: None }));

    // Without the map, nothing is written and the error says why, as DynamoDB refuses the path.
    people.create(Person { address: None, ..person("p3") }).await.unwrap();
    let err = people
        .update(Person::key("p3"))
        .set_in(Person::ADDRESS, Address::CITY, Some("X".to_owned()))
        .await
        .unwrap_err();
    assert!(err.is_invalid() && err.to_string().contains("Person.address is absent"), "{err}");
    assert_eq!(people.get(Person::key("p3")).await.unwrap().unwrap().address, None);
}

/// What an account's partition holds, as the stream delivers it.
#[derive(onetable::Collection, Debug, Clone, PartialEq)]
// A test's values, a few at a time: their size does not matter.
#[allow(clippy::large_enum_variant)]
enum AccountItems {
    Account(Account),
    User(User),
}

#[tokio::test]
async fn onetable_js_writes_come_back_from_the_stream_as_typed_changes() {
    let table = Table::builder(common::local().client(), onetable_local::unique_table_name("interop-stream"))
        .entity::<Account>()
        .entity::<User>()
        .build()
        .unwrap();
    table
        .create_table()
        .stream(aws_sdk_dynamodb::types::StreamViewType::NewAndOldImages)
        .send()
        .await
        .unwrap();
    let js =
        Js { table: table.name().to_owned(), iso: false, nulls: false, timestamps: "true", password: "" };

    // OneTable JS writes: an account, a user (with its email's sentinel), an update, a removal.
    assert!(js.run("create-account", json!({ "id": "acme", "name": "Acme" })).get("error").is_none());
    let ann = sample("ann", "ann@x");
    assert!(js.run("create-user", to_js(&ann)).get("error").is_none());
    let updated = js.run("update-user", json!({ "accountId": "acme", "id": "ann", "age": 43 }));
    assert!(updated.get("error").is_none(), "{updated}");
    assert!(js.run("remove-user", json!({ "accountId": "acme", "id": "ann" })).get("error").is_none());

    let streams = stream::local_client(common::local().endpoint());
    // Every record there is: reading stops once the shard has nothing more.
    let records = stream::read_all(table.client(), &streams, table.name(), usize::MAX).await.unwrap();
    let changes = table.changes::<AccountItems>();
    let decoded: Vec<onetable::changes::Change<AccountItems>> =
        records.into_iter().filter_map(|r| changes.decode(r).unwrap()).collect();

    use onetable::changes::Change;
    let user = |change: &Change<AccountItems>| match change {
        Change::Insert(AccountItems::User(u)) => ("insert", without_timestamps(u.clone())),
        Change::Modify { old: Some(AccountItems::User(old)), new: AccountItems::User(new) } => {
            assert_eq!(without_timestamps(old.clone()), ann, "the old image is the user as created");
            ("modify", without_timestamps(new.clone()))
        }
        Change::Remove { old: AccountItems::User(u), expired: false } => {
            ("remove", without_timestamps(u.clone()))
        }
        other => panic!("not a change of the user: {other:?}"),
    };
    assert_eq!(decoded.len(), 4, "{decoded:?}");
    assert!(
        matches!(&decoded[0], Change::Insert(AccountItems::Account(a)) if a.name == "Acme"),
        "{decoded:?}"
    );
    let older = User { age: 43, ..ann.clone() };
    assert_eq!(
        decoded[1..].iter().map(user).collect::<Vec<_>>(),
        [("insert", ann.clone()), ("modify", older.clone()), ("remove", older)]
    );
}

/// A handle of lower-case letters and digits, as the JS schema's `Handle` validates it.
#[derive(Entity, Debug, Clone, PartialEq)]
#[key(pk = "HANDLE#${id}", sk = "HANDLE")]
struct Handle {
    id: String,
    #[attr(validate = "^[a-z0-9]{3,16}$")]
    handle: String,
}

#[tokio::test]
async fn a_validated_field_refuses_the_same_values_in_both_languages() {
    let table = common::table(|t| t.entity::<Handle>()).await;
    let js =
        Js { table: table.name().to_owned(), iso: false, nulls: false, timestamps: "true", password: "" };
    let handles = table.model::<Handle>();
    let long = "a".repeat(17);
    let cases = [
        ("ann", true),
        ("bob42", true),
        ("Ann", false),
        ("an", false),
        (long.as_str(), false),
        ("a-b-c", false),
    ];
    for (i, (value, valid)) in cases.into_iter().enumerate() {
        let rust = handles.create(Handle { id: format!("r{i}"), handle: value.to_owned() }).await;
        let from_js = js.run("create-handle", json!({ "id": format!("j{i}"), "handle": value }));
        assert_eq!(rust.is_ok(), valid, "{value}: {rust:?}");
        assert_eq!(from_js.get("error").is_none(), valid, "{value}: {from_js}");
        if !valid {
            let err = rust.unwrap_err();
            assert!(err.is_validation() && err.to_string().contains("Handle.handle"), "{err}");
            assert_eq!(from_js["error"], "ValidationError", "{from_js}");
        }
        // An update of a valid item to this value: refused alike.
        let rust = handles.update(Handle::key("r0")).set(Handle::HANDLE, value).await;
        let from_js = js.run("update-handle", json!({ "id": "j0", "handle": value }));
        assert_eq!((rust.is_ok(), from_js.get("error").is_none()), (valid, valid), "{value}: {from_js}");
    }
    // Neither side wrote an invalid value.
    let all = handles.scan().await.unwrap();
    assert_eq!(all.len(), 4, "{all:?}");
    assert!(all.iter().all(|h| ["ann", "bob42"].contains(&h.handle.as_str())), "{all:?}");
}

/// Tickets as the Rust design sees them: found by org and team through an index over
/// the attributes OneTable JS writes (a multi-attribute key OneTable cannot declare).
#[derive(Entity, Debug, Clone, PartialEq)]
#[key(pk = "TICKET#${id}", sk = "TICKET")]
#[index(name = "byteam", pk = [org, team], sk = [prio, opened])]
struct Ticket {
    id: String,
    org: String,
    team: String,
    prio: u32,
    opened: std::time::SystemTime,
    title: Option<String>,
}

#[tokio::test]
async fn items_onetable_js_writes_are_found_through_a_multi_attribute_index() {
    let table = common::table(|t| t.entity::<Ticket>()).await;
    let js =
        Js { table: table.name().to_owned(), iso: false, nulls: false, timestamps: "true", password: "" };
    let ms = |i: u64| 1_700_000_000_000 + i * 1000;
    for (i, (team, prio)) in [("red", 1), ("red", 2), ("blue", 1), ("red", 1)].into_iter().enumerate() {
        let args = json!({
            "id": format!("j{i}"), "org": "acme", "team": team, "prio": prio,
            "opened": { "$date": ms(i as u64) }, "title": "from js",
        });
        let created = js.run("create-ticket", args);
        assert!(created.get("error").is_none(), "{created}");
    }
    let tickets = table.model::<Ticket>();
    for (i, prio) in [(10u64, 1u32), (11, 3)] {
        let opened = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms(i));
        let ticket =
            Ticket { id: format!("r{i}"), org: "acme".into(), team: "red".into(), prio, opened, title: None };
        tickets.create(ticket).await.unwrap();
    }
    // Both languages' items, in DynamoDB's order: priority, then opening time.
    let red = tickets.find(Ticket::byteam_partition("acme", "red")).await.unwrap();
    let ids: Vec<&str> = red.items.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["j0", "j3", "r10", "j1", "r11"]);
    let since = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms(3));
    let key = Ticket::byteam_partition("acme", "red").eq(Ticket::PRIO, 1u32).ge(Ticket::OPENED, since);
    let found = tickets.find(key).await.unwrap();
    let ids: Vec<&str> = found.items.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["j3", "r10"]);
    assert_eq!(found.items[0].title.as_deref(), Some("from js"));

    // The schema item names the key's attributes; OneTable reads it.
    let item = table.schema_item(&"0.1.0".parse().unwrap());
    let mut put = table.client().put_item().table_name(table.name());
    for (name, value) in item {
        put = put.item(name, value);
    }
    put.send().await.unwrap();
    let schema = js.run("read-schema", json!({}));
    assert!(schema.get("error").is_none(), "{schema}");
    assert_eq!(schema["indexes"]["byteam"]["hash"], json!(["org", "team"]));
    assert_eq!(schema["indexes"]["byteam"]["sort"], json!(["prio", "opened"]));
}
