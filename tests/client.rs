//! The client against DynamoDB Local: the table from the schema, every model
//! operation and its errors, items in OneTable's format, and queries that return only
//! their own entity and no more requests than needed.

mod common;

use common::Account;

use aws_sdk_dynamodb::types::AttributeValue;
use futures_util::TryStreamExt;
use onetable::{Entity, Value};
use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Value, Debug, Clone, Copy, PartialEq)]
#[value(rename_all = "lowercase")]
enum Role {
    Admin,
    Member,
}

#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "User", timestamps)]
#[key(pk = "ACCOUNT#${account_id}", sk = "USER#${id}")]
#[index(name = "gs1", pk = "EMAIL#${email}", sk = "USER")]
#[index(name = "gs2", pk = "ACCOUNT#${account_id}#ROLE#${role}", sk = "USER#${id}")]
#[index(name = "ls1", sk = "NAME#${name}", local)]
struct User {
    account_id: String,
    #[attr(generate = "ulid")]
    id: String,
    email: String,
    name: String,
    role: Role,
    #[attr(default)]
    age: u32,
    #[attr(default)]
    tags: BTreeSet<String>,
    #[attr(default)]
    logins: u64,
    #[attr(default)]
    scores: Vec<i64>,
    #[attr(map = "data")]
    city: Option<String>,
    /// `status` and `name` are DynamoDB reserved words.
    status: Option<String>,
    nick: Option<String>,
}

/// Shares the users' partition and the `USER#` prefix of their sort keys.
#[derive(Entity, Debug, Clone, PartialEq)]
#[key(pk = "ACCOUNT#${account_id}", sk = "USER#PROFILE#${id}")]
struct Profile {
    account_id: String,
    id: String,
    bio: String,
}

fn user(account: &str, id: &str) -> User {
    User {
        account_id: account.into(),
        id: id.into(),
        email: format!("{id}@{account}.example"),
        name: format!("name {id}"),
        role: Role::Member,
        age: 30,
        tags: BTreeSet::new(),
        logins: 0,
        scores: vec![],
        city: None,
        status: None,
        nick: None,
    }
}

async fn app() -> onetable::Table {
    common::table(|t| t.entity::<Account>().entity::<User>().entity::<Profile>()).await
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.into())
}

async fn raw(table: &onetable::Table, pk: &str, sk: &str) -> onetable::Item {
    table
        .client()
        .get_item()
        .table_name(table.name())
        .key("pk", s(pk))
        .key("sk", s(sk))
        .send()
        .await
        .unwrap()
        .item
        .expect("the item is stored")
}

#[tokio::test]
async fn the_table_is_created_from_the_schema() {
    let table = app().await;
    let d = table.describe().await.unwrap();
    let keys: Vec<_> = d.key_schema().iter().map(|k| (k.attribute_name(), k.key_type().as_str())).collect();
    assert_eq!(keys, [("pk", "HASH"), ("sk", "RANGE")]);
    let mut gsis: Vec<_> = d.global_secondary_indexes().iter().filter_map(|i| i.index_name()).collect();
    gsis.sort();
    assert_eq!(gsis, ["gs1", "gs2"]);
    let lsi = &d.local_secondary_indexes()[0];
    assert_eq!(lsi.index_name(), Some("ls1"));
    assert_eq!(lsi.key_schema()[1].attribute_name(), "ls1sk");
    assert!(table.exists().await.unwrap());
    table.delete_table().await.unwrap();
    assert!(!table.exists().await.unwrap());
    let err = table.model::<Account>().get(Account::key("a")).await.unwrap_err();
    assert!(matches!(err.kind(), onetable::ErrorKind::TableNotFound { .. }), "{err}");
}

#[tokio::test]
async fn create_writes_onetables_format_and_get_reads_it_back() {
    let table = app().await;
    let users = table.model::<User>();
    let before = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
    let created = users.create(user("acme", "")).await.unwrap();
    assert_eq!(created.id.len(), 26, "a ULID was generated: {}", created.id);

    let item = raw(&table, "ACCOUNT#acme", &format!("USER#{}", created.id)).await;
    assert_eq!(item["_type"], s("User"));
    assert_eq!(item["gs1pk"], s(&format!("EMAIL#{}", created.email)));
    assert_eq!(item["gs1sk"], s("USER"));
    assert_eq!(item["gs2pk"], s("ACCOUNT#acme#ROLE#member"));
    assert_eq!(item["ls1sk"], s(&format!("NAME#{}", created.name)));
    for stamp in ["created", "updated"] {
        let AttributeValue::N(ms) = &item[stamp] else {
            panic!("{stamp} is epoch milliseconds: {:?}", item[stamp])
        };
        let ms: i64 = ms.parse().unwrap();
        assert!(ms >= before && ms < before + 60_000, "{stamp} = {ms}");
    }
    let got = users.get(User::key("acme", &created.id)).consistent().await.unwrap();
    assert_eq!(got, Some(created));
    assert_eq!(users.get(User::key("acme", "nobody")).await.unwrap(), None);
}

#[tokio::test]
async fn iso_dates_tables_write_iso_timestamps() {
    let table = common::table(|t| t.entity::<Account>().iso_dates(true)).await;
    table.model::<Account>().create(Account { id: "a".into(), name: "A".into() }).await.unwrap();
    let item = raw(&table, "ACCOUNT#a", "ACCOUNT").await;
    let AttributeValue::S(created) = &item["created"] else { panic!("ISO string expected") };
    assert!(created.ends_with('Z') && created.len() == 24, "{created}");
}

#[tokio::test]
async fn create_refuses_a_taken_key_and_failed_conditions() {
    let table = app().await;
    let users = table.model::<User>();
    users.create(user("acme", "ann")).await.unwrap();
    let err = users.create(user("acme", "ann")).await.unwrap_err();
    assert!(err.is_already_exists(), "{err}");
    assert!(err.to_string().contains("User") && err.to_string().contains("USER#ann"), "{err}");
    let err = users.create(user("acme", "bob")).condition(User::NAME.eq("nobody")).await.unwrap_err();
    assert!(err.is_condition_failed(), "{err}");
    assert_eq!(users.get(User::key("acme", "bob")).await.unwrap(), None, "nothing was written");
}

#[tokio::test]
async fn put_replaces_and_honours_conditions() {
    let table = app().await;
    let users = table.model::<User>();
    users.put(user("acme", "ann")).await.unwrap();
    let mut changed = user("acme", "ann");
    changed.name = "Ann Two".into();
    users.put(changed.clone()).await.unwrap();
    assert_eq!(users.get(User::key("acme", "ann")).await.unwrap(), Some(changed.clone()));
    let err = users.put(user("acme", "ann")).condition(User::NAME.eq("someone else")).await.unwrap_err();
    assert!(err.is_condition_failed(), "{err}");
    assert_eq!(users.get(User::key("acme", "ann")).await.unwrap(), Some(changed));
}

#[tokio::test]
async fn update_applies_every_action() {
    let table = app().await;
    let users = table.model::<User>();
    let mut u = user("acme", "ann");
    u.tags = ["a".to_string(), "b".to_string()].into();
    u.nick = Some("annie".into());
    users.create(u).await.unwrap();
    let updated = users
        .update(User::key("acme", "ann"))
        .set(User::AGE, 31)
        .set(User::STATUS, "#:{x} ${y}")
        .set(User::CITY, "Paris")
        .remove(User::NICK)
        .add(User::LOGINS, 5)
        .add(User::TAGS, BTreeSet::from(["c".to_string()]))
        .append(User::SCORES, vec![1, 2])
        .condition(User::AGE.eq(30) & User::STATUS.not_exists())
        .await
        .unwrap();
    assert_eq!(updated.age, 31);
    assert_eq!(updated.status.as_deref(), Some("#:{x} ${y}"), "special characters in values are safe");
    assert_eq!(updated.city.as_deref(), Some("Paris"), "a packed field is set inside its map");
    assert_eq!(updated.nick, None);
    assert_eq!(updated.logins, 5);
    assert_eq!(updated.tags, BTreeSet::from(["a".to_string(), "b".to_string(), "c".to_string()]));
    // DynamoDB takes one action per attribute and request: DELETE from the set next.
    let updated = users
        .update(User::key("acme", "ann"))
        .delete(User::TAGS, BTreeSet::from(["a".to_string()]))
        .await
        .unwrap();
    assert_eq!(updated.tags, BTreeSet::from(["b".to_string(), "c".to_string()]));
    assert_eq!(updated.scores, vec![1, 2]);
    // Atomic counter and list append again, on the stored values.
    let again = users
        .update(User::key("acme", "ann"))
        .add(User::LOGINS, 1)
        .append(User::SCORES, vec![3])
        .await
        .unwrap();
    assert_eq!((again.logins, again.scores), (6, vec![1, 2, 3]));
    let kept = users
        .update(User::key("acme", "ann"))
        .set_if_not_exists(User::STATUS, "other")
        .set_if_not_exists(User::NICK, "new nick")
        .await
        .unwrap();
    assert_eq!(kept.status.as_deref(), Some("#:{x} ${y}"), "an existing value is kept");
    assert_eq!(kept.nick.as_deref(), Some("new nick"), "a missing value is set");
    let item = raw(&table, "ACCOUNT#acme", "USER#ann").await;
    let (AttributeValue::N(c), AttributeValue::N(u)) = (&item["created"], &item["updated"]) else { panic!() };
    assert!(u >= c, "updated moves, created stays");
}

#[tokio::test]
async fn update_recomputes_index_keys_or_refuses() {
    let table = app().await;
    let users = table.model::<User>();
    users.create(user("acme", "ann")).await.unwrap();

    // email feeds gs1pk; role (with account_id from the primary key) feeds gs2pk.
    users
        .update(User::key("acme", "ann"))
        .set(User::EMAIL, "new@acme.example")
        .set(User::ROLE, Role::Admin)
        .await
        .unwrap();
    let item = raw(&table, "ACCOUNT#acme", "USER#ann").await;
    assert_eq!(item["gs1pk"], s("EMAIL#new@acme.example"));
    assert_eq!(item["gs2pk"], s("ACCOUNT#acme#ROLE#admin"));
    let by_email = users.find(User::gs1_partition("new@acme.example")).await.unwrap();
    assert_eq!(by_email.items.len(), 1);
    assert!(
        users.find(User::gs1_partition("ann@acme.example")).await.unwrap().items.is_empty(),
        "no stale index key"
    );
    let admins = users.find(User::gs2_partition("acme", Role::Admin)).await.unwrap();
    assert_eq!(admins.items[0].id, "ann");

    // A primary key input cannot change in place.
    let err = users.update(User::key("acme", "ann")).set(User::ACCOUNT_ID, "other").await.unwrap_err();
    assert!(err.is_invalid() && err.to_string().contains("primary key"), "{err}");
    // A value that would forge a key is refused.
    let err = users.update(User::key("acme", "ann")).set(User::EMAIL, "x#y").await.unwrap_err();
    assert!(err.is_invalid_key(), "{err}");
    // An input counted with add() would leave the key stale: refused.
    let err = users.update(User::key("acme", "ann")).set_if_not_exists(User::EMAIL, "z").await.unwrap_err();
    assert!(err.is_invalid(), "{err}");
    assert_eq!(raw(&table, "ACCOUNT#acme", "USER#ann").await["gs1pk"], s("EMAIL#new@acme.example"));
}

#[derive(Entity, Debug, Clone, PartialEq)]
#[key(pk = "DOC#${id}")]
#[index(name = "gs1", pk = "OWNER#${owner}#${folder}")]
struct Doc {
    id: String,
    owner: String,
    folder: String,
}

#[tokio::test]
async fn an_update_of_part_of_a_template_is_refused() {
    let table = common::table(|t| t.entity::<Doc>()).await;
    let docs = table.model::<Doc>();
    docs.create(Doc { id: "d".into(), owner: "o".into(), folder: "f".into() }).await.unwrap();
    // gs1pk needs owner and folder; folder is neither in the update nor the key.
    let err = docs.update(Doc::key("d")).set(Doc::OWNER, "p").await.unwrap_err();
    assert!(err.is_invalid(), "{err}");
    assert!(err.to_string().contains("Doc.folder"), "{err}");
    let ok = docs.update(Doc::key("d")).set(Doc::OWNER, "p").set(Doc::FOLDER, "g").await.unwrap();
    assert_eq!(ok.owner, "p");
    assert_eq!(docs.find(Doc::gs1_partition("p", "g")).await.unwrap().items, vec![ok]);
}

#[tokio::test]
async fn update_needs_an_existing_item_unless_upsert() {
    let table = app().await;
    let users = table.model::<User>();
    let err = users.update(User::key("acme", "ghost")).set(User::AGE, 1).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let accounts = table.model::<Account>();
    let created = accounts.update(Account::key("new")).set(Account::NAME, "New").upsert().await.unwrap();
    assert_eq!(created, Account { id: "new".into(), name: "New".into() });
    let err = accounts
        .update(Account::key("new"))
        .set(Account::NAME, "x")
        .condition(Account::NAME.eq("Old"))
        .await
        .unwrap_err();
    assert!(err.is_condition_failed(), "{err}");
}

#[tokio::test]
async fn remove_returns_the_old_item_and_honours_conditions() {
    let table = app().await;
    let users = table.model::<User>();
    users.create(user("acme", "ann")).await.unwrap();
    users.create(user("acme", "bob")).await.unwrap();
    let err = users.remove(User::key("acme", "ann")).condition(User::AGE.gt(40)).await.unwrap_err();
    assert!(err.is_condition_failed(), "{err}");
    let removed = users.remove(User::key("acme", "ann")).condition(User::AGE.le(40)).await.unwrap();
    assert_eq!(removed.map(|u| u.id), Some("ann".to_string()));
    assert_eq!(users.remove(User::key("acme", "ann")).await.unwrap(), None);
    let err = users.remove(User::key("acme", "ann")).must_exist().await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(users.get(User::key("acme", "bob")).await.unwrap().is_some());
}

async fn seed(table: &onetable::Table, account: &str, n: usize) -> Vec<User> {
    let users = table.model::<User>();
    let mut all = Vec::new();
    for i in 0..n {
        let mut u = user(account, &format!("{i:04}"));
        u.age = i as u32;
        u.role = if i % 3 == 0 { Role::Admin } else { Role::Member };
        all.push(users.create(u).await.unwrap());
    }
    all
}

#[tokio::test]
async fn find_returns_only_its_entity_and_pages_with_cursors() {
    let table = app().await;
    let users = table.model::<User>();
    let all = seed(&table, "acme", 25).await;
    // Other entities in the same partition, one of them under USER#PROFILE#.
    table.model::<Account>().create(Account { id: "acme".into(), name: "Acme".into() }).await.unwrap();
    table
        .model::<Profile>()
        .create(Profile { account_id: "acme".into(), id: "0001".into(), bio: "b".into() })
        .await
        .unwrap();

    let everything = users.find(User::partition("acme")).await.unwrap();
    assert_eq!(everything.items, all, "exactly the users, in sort order");
    assert!(everything.next.is_none());

    let mut pages = Vec::new();
    let mut next = None;
    loop {
        let mut find = users.find(User::partition("acme")).limit(10);
        if let Some(cursor) = next.take() {
            find = find.next(cursor);
        }
        let page = find.await.unwrap();
        pages.push(page.items.len());
        match page.next {
            Some(cursor) => next = Some(cursor),
            None => break,
        }
    }
    assert_eq!(pages, [10, 10, 5]);

    let reversed = users.find(User::partition("acme")).reverse().limit(3).await.unwrap();
    let ids: Vec<_> = reversed.items.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(ids, ["0024", "0023", "0022"]);

    let exact = users.find(User::partition("acme").with(User::ID, "0007")).await.unwrap();
    assert_eq!(exact.items, vec![all[7].clone()]);

    let range = users.find(User::partition("acme")).sort_between("USER#0003", "USER#0005").await.unwrap();
    assert_eq!(range.items.len(), 3);
    let above = users.find(User::partition("acme")).sort_gt("USER#0020").await.unwrap();
    assert_eq!(above.items.len(), 4);

    let filtered = users
        .find(User::partition("acme"))
        .filter(User::AGE.ge(20) | User::NAME.eq("name 0001"))
        .await
        .unwrap();
    assert_eq!(filtered.items.len(), 6);

    let admins = users.find(User::gs2_partition("acme", Role::Admin)).await.unwrap();
    assert_eq!(admins.items.len(), 9);
    let by_name = users.find(User::ls1_partition("acme").with(User::NAME, "name 0012")).await.unwrap();
    assert_eq!(by_name.items, vec![all[12].clone()]);

    let bad = users
        .find(User::partition("acme"))
        .next(onetable::Cursor::from("garbage".to_string()))
        .await
        .unwrap_err();
    assert!(matches!(bad.kind(), onetable::ErrorKind::InvalidCursor(_)), "{bad}");
}

#[tokio::test]
async fn streams_keep_memory_flat_and_scan_reads_every_segment() {
    let table = app().await;
    let users = table.model::<User>();
    let all = seed(&table, "big", 120).await;
    seed(&table, "other", 7).await;
    table.model::<Account>().create(Account { id: "big".into(), name: "Big".into() }).await.unwrap();

    let streamed: Vec<User> =
        users.find(User::partition("big")).page_size(25).stream().try_collect().await.unwrap();
    assert_eq!(streamed, all);
    let first: Vec<User> =
        users.find(User::partition("big")).limit(30).page_size(7).stream().try_collect().await.unwrap();
    assert_eq!(first, all[..30]);

    let scanned = users.scan().segments(4).await.unwrap();
    assert_eq!(scanned.len(), 127, "users of both accounts, no account items");
    let adults = users.scan().filter(User::AGE.ge(100)).send().await.unwrap();
    assert_eq!(adults.len(), 20);
}

#[tokio::test]
async fn a_filtered_find_with_a_limit_sends_no_more_queries_than_pages() {
    let requests = common::Requests::default();
    let table = common::table_with_client(requests.client(), |t| t.entity::<User>()).await;
    let users = table.model::<User>();
    seed(&table, "acme", 300).await;
    requests.reset();
    // Every 10th user matches. 20 of them lie in the first 200 items, which fit in one
    // 1 MB page: one query. (A per-request limit of 20 would take ten.)
    let page = users
        .find(User::partition("acme"))
        .filter(User::NAME.begins_with("name 00").and(User::AGE.lt(200)))
        .limit(20)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 20);
    let page = users.find(User::partition("acme")).filter(User::AGE.ge(0)).limit(20).await.unwrap();
    assert_eq!(page.items.len(), 20);
    assert!(page.next.is_some());
    assert_eq!(requests.count("Query"), 2, "one query per find");

    // Without a filter, a limit reads exactly the items needed.
    requests.reset();
    let page = users.find(User::partition("acme")).limit(5).await.unwrap();
    assert_eq!(page.items.len(), 5);
    assert_eq!(requests.count("Query"), 1);
    // Small pages: as many queries as pages, no more.
    requests.reset();
    let page =
        users.find(User::partition("acme")).filter(User::AGE.lt(1000)).page_size(10).limit(35).await.unwrap();
    assert_eq!(page.items.len(), 35);
    assert_eq!(requests.count("Query"), 4);
}

#[tokio::test]
async fn bad_input_is_refused_before_any_request() {
    let requests = common::Requests::default();
    let table = common::table_with_client(requests.client(), |t| t.entity::<User>()).await;
    let users = table.model::<User>();
    requests.reset();
    let mut big = user("acme", "big");
    big.name = "x".repeat(400 * 1024);
    let err = users.create(big).await.unwrap_err();
    assert!(err.is_item_too_large(), "{err}");
    assert!(err.to_string().starts_with("User: the item is"), "{err}");
    let err = users.create(user("ac#me", "a")).await.unwrap_err();
    assert!(err.is_invalid_key(), "{err}");
    let err = users.get(User::key("acme", "")).await.unwrap_err();
    assert!(err.is_invalid_key(), "{err}");
    let err = table.model::<Account>().get(Account::key("a")).await.unwrap_err();
    assert!(err.is_not_registered() && err.to_string().contains("Account"), "{err}");
    assert_eq!(requests.total(), 0, "nothing reached DynamoDB");
}

#[derive(Entity)]
#[key(pk = "ACCOUNT#${owner}", sk = "USER#${name}")]
struct Impostor {
    owner: String,
    name: String,
}

#[derive(Entity)]
#[key(pk = "X#${id}")]
struct NoSort {
    id: String,
}

#[derive(Entity)]
#[key(pk = "K#${id}", sk = "K")]
struct Kind {
    id: String,
    kind: String,
}

#[test]
fn tables_refuse_entities_that_could_collide_or_disagree() {
    let client = || common::local().client();
    let err =
        onetable::Table::builder(client(), "t").entity::<User>().entity::<Impostor>().build().unwrap_err();
    assert!(err.to_string().contains("could collide"), "{err}");
    let err =
        onetable::Table::builder(client(), "t").entity::<User>().entity::<NoSort>().build().unwrap_err();
    assert!(err.to_string().contains("sort key"), "{err}");
    let err =
        onetable::Table::builder(client(), "t").entity::<Kind>().type_field("kind").build().unwrap_err();
    assert!(err.to_string().contains("Kind.kind"), "{err}");
    let err = onetable::Table::builder(client(), "t").entity::<User>().entity::<User>().build().unwrap_err();
    assert!(err.to_string().contains("two entities are named User"), "{err}");
    assert!(onetable::Table::builder(client(), "t")
        .entity::<User>()
        .entity::<Profile>()
        .entity::<Account>()
        .build()
        .is_ok());
}

#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Note", timestamps)]
#[key(pk = "NOTE#${id}")]
struct Note {
    id: String,
    text: String,
    created: Option<SystemTime>,
    updated: Option<SystemTime>,
}

#[tokio::test]
async fn timestamps_read_back_and_put_keeps_created() {
    let table = common::table(|t| t.entity::<Note>()).await;
    let notes = table.model::<Note>();
    notes.create(Note { id: "n".into(), text: "a".into(), created: None, updated: None }).await.unwrap();
    let read = notes.get(Note::key("n")).await.unwrap().unwrap();
    let created = read.created.expect("created is read into the field");
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    notes.put(Note { text: "b".into(), ..read }).await.unwrap();
    let again = notes.get(Note::key("n")).await.unwrap().unwrap();
    assert_eq!(again.created, Some(created), "a put of what was read keeps created");
    assert!(again.updated.unwrap() > created, "updated moves");
}

#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Order", timestamps)]
#[key(pk = "CUSTOMER#${customer}", sk = "ORDER#${number}", pk_attr = "PK", sk_attr = "SK")]
#[index(
    name = "byStatus",
    pk = "STATUS#${status}",
    sk = "ORDER#${number}",
    pk_attr = "GSI1PK",
    sk_attr = "GSI1SK"
)]
struct Order {
    customer: String,
    number: u32,
    status: String,
}

#[tokio::test]
async fn key_attribute_names_timestamp_names_and_capacity_are_configurable() {
    let table =
        onetable::Table::builder(common::local().client(), onetable_local::unique_table_name("custom"))
            .entity::<Order>()
            .timestamp_names("createdAt", "updatedAt")
            .build()
            .unwrap();
    let d = table.create_table().provisioned(5, 3).send().await.unwrap();
    let keys: Vec<_> = d.key_schema().iter().map(|k| k.attribute_name()).collect();
    assert_eq!(keys, ["PK", "SK"]);
    let gsi = &d.global_secondary_indexes()[0];
    assert_eq!(gsi.key_schema()[0].attribute_name(), "GSI1PK");
    let throughput = d.provisioned_throughput().unwrap();
    assert_eq!((throughput.read_capacity_units(), throughput.write_capacity_units()), (Some(5), Some(3)));

    let orders = table.model::<Order>();
    orders.create(Order { customer: "c".into(), number: 7, status: "open".into() }).await.unwrap();
    let item = table
        .client()
        .get_item()
        .table_name(table.name())
        .key("PK", s("CUSTOMER#c"))
        .key("SK", s("ORDER#7"))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert!(
        item.contains_key("createdAt") && item.contains_key("updatedAt") && !item.contains_key("created")
    );
    assert_eq!(item["GSI1PK"], s("STATUS#open"));
    assert_eq!(orders.find(Order::bystatus_partition("open")).await.unwrap().items.len(), 1);
    assert_eq!(orders.get(Order::key("c", 7u32)).await.unwrap().unwrap().status, "open");
}

/// Builders own what they need (the model is a cheap handle), so a request can be
/// assembled in steps from a model that was never bound to a variable, and sent after
/// the model is gone.
#[tokio::test]
async fn requests_are_assembled_in_steps_from_a_temporary_model() {
    let table = app().await;
    seed(&table, "acme", 5).await;
    for reverse in [false, true] {
        let mut query = table.model::<User>().find(User::partition("acme"));
        if reverse {
            query = query.reverse();
        }
        let mut update = table.model::<User>().update(User::key("acme", "0000"));
        if reverse {
            update = update.set(User::NAME, "Zed".to_owned());
        }
        let found = query.limit(2).await.unwrap();
        let ids: Vec<&str> = found.items.iter().map(|u| u.id.as_str()).collect();
        assert_eq!(ids, if reverse { ["0004", "0003"] } else { ["0000", "0001"] });
        update.await.unwrap();
    }
    let send_later = {
        let model = table.model::<User>();
        model.get(User::key("acme", "0000"))
    };
    assert_eq!(send_later.await.unwrap().unwrap().name, "Zed");
}

type Count = u64;
type When = SystemTime;

/// Newtypes keep ids and quantities apart; each is stored as what it wraps.
#[derive(Value, Debug, Clone, PartialEq)]
struct LogId(String);
#[derive(Value, Debug, Clone, Copy, PartialEq)]
struct Seq(u64);
#[derive(Value, Debug, Clone, Copy, PartialEq)]
struct At(SystemTime);

#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "LogEntry")]
#[key(pk = "LOG#${id}", sk = "E#${count}#${when}#${seq}#${at}")]
struct LogEntry {
    id: LogId,
    count: Count,
    when: When,
    seq: Seq,
    at: At,
    note: String,
}

/// Key text and stored attributes come from what a type stores, not from its name: an
/// upsert turns the key text of aliases and newtypes of numbers and dates back into
/// numbers and dates, so the item it creates reads back and is found.
#[tokio::test]
async fn aliases_and_newtypes_in_keys_are_stored_as_what_they_wrap() {
    let table = common::table(|t| t.entity::<LogEntry>()).await;
    let when = UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_123);
    let at = At(UNIX_EPOCH + std::time::Duration::from_millis(1_600_000_000_456));
    let entries = table.model::<LogEntry>();
    let key = || LogEntry::key(LogId("l1".into()), 42u64, when, Seq(7), at);
    let created = entries.update(key()).set(LogEntry::NOTE, "upserted".to_owned()).upsert().await.unwrap();
    let expected =
        LogEntry { id: LogId("l1".into()), count: 42, when, seq: Seq(7), at, note: "upserted".into() };
    assert_eq!(created, expected);
    assert_eq!(entries.get(key()).await.unwrap().unwrap(), expected, "the upserted item reads back");
    let item = raw(&table, "LOG#l1", "E#42#2023-11-14T22:13:20.123Z#7#2020-09-13T12:26:40.456Z").await;
    assert_eq!(item["count"], AttributeValue::N("42".into()));
    assert_eq!(item["seq"], AttributeValue::N("7".into()));
    assert_eq!(item["when"], AttributeValue::N("1700000000123".into()), "a date, as the table writes dates");
    assert_eq!(item["at"], AttributeValue::N("1600000000456".into()));
    assert_eq!(item["id"], AttributeValue::S("l1".into()));
    let found = entries.find(LogEntry::partition(LogId("l1".into()))).await.unwrap();
    assert_eq!(found.items, [expected]);
}

/// Takes the table's timestamps.
#[derive(Entity, Debug, Clone, PartialEq)]
#[key(pk = "MEMO#${id}")]
struct Memo {
    id: String,
}

/// Chooses `updated` alone, whatever the table says.
#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(timestamps = "update")]
#[key(pk = "DRAFT#${id}")]
struct Draft {
    id: String,
}

/// Chooses none.
#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(timestamps = false)]
#[key(pk = "TAG#${id}")]
struct Tag {
    id: String,
}

#[tokio::test]
async fn an_entity_chooses_its_timestamps_or_takes_the_tables() {
    let table = common::table(|t| {
        t.entity::<Memo>().entity::<Draft>().entity::<Tag>().timestamps(onetable::Timestamps::Create)
    })
    .await;
    table.model::<Memo>().create(Memo { id: "n".into() }).await.unwrap();
    table.model::<Draft>().create(Draft { id: "d".into() }).await.unwrap();
    table.model::<Tag>().create(Tag { id: "t".into() }).await.unwrap();
    table.model::<Draft>().update(Draft::key("u")).upsert().await.unwrap();
    let stamps = |item: onetable::Item| (item.contains_key("created"), item.contains_key("updated"));
    let get = |pk: &'static str| {
        let table = table.clone();
        async move {
            let key = [("pk".to_owned(), AttributeValue::S(pk.into()))].into();
            table
                .client()
                .get_item()
                .table_name(table.name())
                .set_key(Some(key))
                .send()
                .await
                .unwrap()
                .item
                .unwrap()
        }
    };
    assert_eq!(stamps(get("MEMO#n").await), (true, false), "the table's choice");
    assert_eq!(stamps(get("DRAFT#d").await), (false, true), "the entity's own");
    assert_eq!(stamps(get("DRAFT#u").await), (false, true), "an upsert stamps as a create does");
    assert_eq!(stamps(get("TAG#t").await), (false, false), "none at all");
}

/// A shirt number unique within a team (not a key field: it can change).
#[derive(Entity, Debug, Clone, PartialEq)]
#[key(pk = "PLAYER#${id}")]
struct Player {
    id: String,
    team: String,
    #[attr(unique(scope = "TEAM#${team}"))]
    number: u32,
}

#[tokio::test]
async fn a_scoped_unique_value_follows_its_scope_when_the_scope_changes() {
    let table = common::table(|t| t.entity::<Player>()).await;
    let players = table.model::<Player>();
    let player = |id: &str, team: &str, number| Player { id: id.into(), team: team.into(), number };
    players.create(player("p1", "red", 7)).await.unwrap();
    assert!(players.create(player("p2", "red", 7)).await.unwrap_err().is_unique_violation());
    players.create(player("p2", "blue", 7)).await.unwrap();
    let sentinels = || {
        let table = table.clone();
        async move {
            let out = table.client().scan().table_name(table.name()).send().await.unwrap();
            let mut keys: Vec<String> = out
                .items()
                .iter()
                .filter_map(|i| i["pk"].as_s().ok().filter(|k| k.starts_with("_unique#")).cloned())
                .collect();
            keys.sort();
            keys
        }
    };
    assert_eq!(sentinels().await, ["_unique#TEAM#blue#Player#number#7", "_unique#TEAM#red#Player#number#7"]);

    // Moving p2 to red would take red's 7: refused, and nothing changes.
    let err = players.update(Player::key("p2")).set(Player::TEAM, "red".to_owned()).await.unwrap_err();
    assert!(err.is_unique_violation(), "{err}");
    assert_eq!(players.get(Player::key("p2")).await.unwrap().unwrap().team, "blue");
    // Moving p1 to green moves its sentinel: red's 7 is free again.
    players.update(Player::key("p1")).set(Player::TEAM, "green".to_owned()).await.unwrap();
    assert_eq!(
        sentinels().await,
        ["_unique#TEAM#blue#Player#number#7", "_unique#TEAM#green#Player#number#7"]
    );
    players.create(player("p3", "red", 7)).await.unwrap();
    // A put that changes both the scope and the value swaps one sentinel for another.
    players.put(player("p3", "blue", 9)).await.unwrap();
    players.remove(Player::key("p2")).await.unwrap();
    assert_eq!(
        sentinels().await,
        ["_unique#TEAM#blue#Player#number#9", "_unique#TEAM#green#Player#number#7"]
    );
}

/// Names found through an index holding only what a listing shows.
#[derive(Entity, Debug, Clone, PartialEq)]
#[key(pk = "LISTING#${id}")]
#[index(name = "gs1", pk = "SELLER#${owner}", sk = "LISTING#${id}", project = ["title"])]
struct Listing {
    id: String,
    owner: String,
    title: String,
    body: String,
}

#[tokio::test]
async fn an_index_includes_the_attributes_its_entities_name() {
    let table = common::table(|t| t.entity::<Listing>()).await;
    let described = table.client().describe_table().table_name(table.name()).send().await.unwrap();
    let gs1 = &described.table().unwrap().global_secondary_indexes()[0];
    let projection = gs1.projection().unwrap();
    assert_eq!(projection.projection_type(), Some(&aws_sdk_dynamodb::types::ProjectionType::Include));
    let mut included = projection.non_key_attributes().to_vec();
    included.sort();
    assert_eq!(
        included,
        ["_type", "title"],
        "the type attribute, which find filters on, and the fields named"
    );
    let docs = table.model::<Listing>();
    docs.create(Listing { id: "d".into(), owner: "o".into(), title: "T".into(), body: "B".into() })
        .await
        .unwrap();
    let err = docs.find(Listing::gs1_partition("o")).await.unwrap_err();
    assert!(err.to_string().contains("only the keys and title"), "{err}");
}

/// Posts of a blog, numbered so they sort; the blog's own item shares the partition.
#[derive(Entity, Debug, Clone, PartialEq)]
#[key(pk = "BLOG#${blog}", sk = "POST#${id:4}")]
struct Post {
    blog: String,
    id: u32,
    likes: u32,
}

#[derive(Entity, Debug, Clone, PartialEq)]
#[key(pk = "BLOG#${blog}", sk = "META")]
struct Blog {
    blog: String,
}

#[tokio::test]
async fn counts_page_through_the_whole_result_without_returning_items() {
    let table = common::table(|t| t.entity::<Post>().entity::<Blog>()).await;
    let posts = table.model::<Post>();
    let mut batch = table.batch_write();
    for id in 0..60u32 {
        batch = batch.put(Post { blog: "b".into(), id, likes: id % 20 });
    }
    for id in 0..5u32 {
        batch = batch.put(Post { blog: "other".into(), id, likes: 0 });
    }
    batch.put(Blog { blog: "b".into() }).await.unwrap();

    // Pages of 7 items: the count goes on to the end of the partition.
    assert_eq!(
        posts.find(Post::partition("b")).page_size(7).count().await.unwrap(),
        60,
        "the blog item is not a post"
    );
    assert_eq!(
        posts.find(Post::partition("b")).limit(3).count().await.unwrap(),
        60,
        "the limit is for items, not counts"
    );
    let liked =
        posts.find(Post::partition("b")).filter(Post::LIKES.gt(14)).page_size(7).count().await.unwrap();
    assert_eq!(liked, 15, "ids 15-19, 35-39, 55-59");
    assert_eq!(posts.find(Post::partition("b")).sort_ge("POST#0050").count().await.unwrap(), 10);
    assert_eq!(posts.find(Post::partition("none")).count().await.unwrap(), 0);
    // A scan counts every segment.
    assert_eq!(posts.scan().segments(3).count().await.unwrap(), 65);
    assert_eq!(posts.scan().filter(Post::LIKES.gt(14)).count().await.unwrap(), 15);
    assert_eq!(table.model::<Blog>().scan().count().await.unwrap(), 1);
}

#[tokio::test]
async fn raw_items_convert_as_the_table_writes_and_reads_them() {
    let table = common::table(|t| t.entity::<Post>().entity::<Blog>()).await;
    let posts = table.model::<Post>();
    let post = Post { blog: "b".into(), id: 7, likes: 3 };
    // Written with the raw SDK from the model's item, read by onetable.
    let item = posts.to_item(&post).unwrap();
    assert_eq!(
        (item["pk"].as_s().unwrap().as_str(), item["sk"].as_s().unwrap().as_str()),
        ("BLOG#b", "POST#0007")
    );
    assert_eq!(item["_type"].as_s().unwrap(), "Post");
    table.client().put_item().table_name(table.name()).set_item(Some(item)).send().await.unwrap();
    assert_eq!(posts.get(Post::key("b", 7u32)).await.unwrap(), Some(post.clone()));
    // Read with the raw SDK, converted by the model; another entity's item is refused.
    let raw = table.client().scan().table_name(table.name()).send().await.unwrap().items.unwrap_or_default();
    assert_eq!(posts.from_item(raw[0].clone()).unwrap(), post);
    let blog = table.model::<Blog>().to_item(&Blog { blog: "b".into() }).unwrap();
    assert!(posts.from_item(blog).is_err());
}

#[tokio::test]
async fn pages_go_back_as_they_came() {
    let table = common::table(|t| t.entity::<Post>().entity::<Blog>()).await;
    let posts = table.model::<Post>();
    let mut batch = table.batch_write().put(Blog { blog: "b".into() });
    for id in 0..35u32 {
        batch = batch.put(Post { blog: "b".into(), id, likes: 0 });
    }
    batch.await.unwrap();
    let ids = |page: &onetable::Page<Post>| page.items.iter().map(|p| p.id).collect::<Vec<_>>();
    let find = || posts.find(Post::partition("b")).limit(10);

    let first = find().await.unwrap();
    assert_eq!(ids(&first), (0..10).collect::<Vec<_>>());
    assert!(first.prev.is_none(), "nothing before the first page");
    let second = find().next(first.next.clone().unwrap()).await.unwrap();
    let third = find().next(second.next.clone().unwrap()).await.unwrap();
    assert_eq!(ids(&third), (20..30).collect::<Vec<_>>());

    // Back from the third page: the second, then the first, in forward order.
    let onetable::request::Request::Query(back_query) =
        find().prev(third.prev.clone().unwrap()).request().unwrap()
    else {
        panic!("a find is a Query")
    };
    assert_eq!(back_query.scan_index_forward(), Some(false), "a page back reads backwards");
    let back = find().prev(third.prev.clone().unwrap()).await.unwrap();
    assert_eq!(ids(&back), (10..20).collect::<Vec<_>>());
    let start = find().prev(back.prev.clone().unwrap()).await.unwrap();
    assert_eq!(ids(&start), (0..10).collect::<Vec<_>>());
    assert!(start.prev.is_none(), "back at the start");
    // And forward again from a page reached backwards.
    assert_eq!(ids(&find().next(start.next.clone().unwrap()).await.unwrap()), (10..20).collect::<Vec<_>>());

    // Reversed pages go back too (the blog's own item is never a post).
    let newest = find().reverse().await.unwrap();
    let older = find().reverse().next(newest.next.clone().unwrap()).await.unwrap();
    assert_eq!(ids(&older), (15..25).rev().collect::<Vec<_>>());
    let again = find().reverse().prev(older.prev.clone().unwrap()).await.unwrap();
    assert_eq!(ids(&again), (25..35).rev().collect::<Vec<_>>());
    assert!(again.prev.is_none());
}

#[tokio::test]
async fn every_operation_shows_its_request_without_sending_it() {
    let requests = common::Requests::default();
    let table = common::table_with_client(requests.client(), |t| t.entity::<Post>().entity::<Blog>()).await;
    let posts = table.model::<Post>();
    let post = Post { blog: "b".into(), id: 7, likes: 3 };
    requests.reset();

    let onetable::request::Request::PutItem(put) = posts.create(post.clone()).request().unwrap() else {
        panic!("a create without unique fields is one PutItem")
    };
    assert_eq!(put.table_name(), Some(table.name()));
    assert_eq!(put.item().unwrap()["sk"].as_s().unwrap(), "POST#0007");
    let condition = put.condition_expression().unwrap();
    assert!(condition.starts_with("attribute_not_exists("), "{condition}");
    let onetable::request::Request::GetItem(get) =
        posts.get(Post::key("b", 7u32)).consistent().request().unwrap()
    else {
        panic!("a get is a GetItem")
    };
    assert_eq!(
        (get.key().unwrap()["pk"].as_s().unwrap().as_str(), get.consistent_read()),
        ("BLOG#b", Some(true))
    );
    let onetable::request::Request::Query(query) =
        posts.find(Post::partition("b")).filter(Post::LIKES.gt(1)).limit(5).request().unwrap()
    else {
        panic!("a find is a Query")
    };
    assert_eq!(query.limit(), None, "a filtered find reads full pages");
    assert!(query.filter_expression().unwrap().contains("AND ("), "{:?}", query.filter_expression());
    let onetable::request::Request::UpdateItem(update) =
        posts.update(Post::key("b", 7u32)).add(Post::LIKES, 1).request().await.unwrap()
    else {
        panic!("an update is an UpdateItem")
    };
    assert!(update.update_expression().unwrap().starts_with("SET "), "{:?}", update.update_expression());
    let remove = posts.remove(Post::key("b", 7u32)).request().await.unwrap();
    assert!(matches!(remove, Some(onetable::request::Request::DeleteItem(_))));
    let transaction = table
        .transaction()
        .create(posts.create(post.clone()))
        .update(posts.update(Post::key("b", 8u32)).set(Post::LIKES, 2).upsert())
        .token("t-1")
        .request()
        .await
        .unwrap();
    let onetable::request::Request::TransactWriteItems(tx) = transaction else { panic!("a transaction") };
    assert_eq!((tx.transact_items().len(), tx.client_request_token()), (2, Some("t-1")));
    assert_eq!(requests.total(), 0, "nothing was sent");

    // The request is the one `send` would make: sent by hand, it writes the item.
    let onetable::request::Request::PutItem(put) = posts.create(post.clone()).request().unwrap() else {
        panic!()
    };
    table
        .client()
        .put_item()
        .set_table_name(put.table_name)
        .set_item(put.item)
        .set_condition_expression(put.condition_expression)
        .set_expression_attribute_names(put.expression_attribute_names)
        .send()
        .await
        .unwrap();
    assert_eq!(posts.get(Post::key("b", 7u32)).await.unwrap(), Some(post));
}
