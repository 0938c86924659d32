//! Against DynamoDB Local: batches of any size, transactions, unique fields, optimistic
//! locking and TTL — the features that keep a single table consistent in production.

mod common;

use aws_sdk_dynamodb::types::AttributeValue;
use onetable::{Entity, Table};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

#[derive(Entity, Debug, Clone, PartialEq)]
#[key(pk = "ROW#${id}", sk = "ROW")]
struct Row {
    id: u32,
    text: String,
}

#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Account")]
#[key(pk = "ACCOUNT#${id}", sk = "ACCOUNT")]
struct Account {
    id: String,
    #[attr(default)]
    balance: i64,
}

#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "User")]
#[key(pk = "ACCOUNT#${account_id}", sk = "USER#${id}")]
struct User {
    account_id: String,
    id: String,
    #[attr(unique)]
    email: String,
    name: String,
    #[attr(version)]
    version: u64,
    #[attr(ttl)]
    expires: Option<SystemTime>,
}

#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Invoice")]
#[key(pk = "ACCOUNT#${account_id}", sk = "INVOICE#${id}")]
struct Invoice {
    account_id: String,
    id: String,
    amount: i64,
}

fn user(id: &str, email: &str) -> User {
    User {
        account_id: "acme".into(),
        id: id.into(),
        email: email.into(),
        name: id.into(),
        version: 0,
        expires: None,
    }
}

async fn app() -> Table {
    common::table(|t| t.entity::<Account>().entity::<User>().entity::<Invoice>()).await
}

/// Every unique sentinel in the table, as (pk, _type).
async fn sentinels(table: &Table) -> Vec<String> {
    let out = table.client().scan().table_name(table.name()).send().await.unwrap();
    let mut pks: Vec<String> = out
        .items()
        .iter()
        .filter(|i| i.get("_type") == Some(&AttributeValue::S("_Unique".into())))
        .map(|i| i["pk"].as_s().unwrap().clone())
        .collect();
    pks.sort();
    pks
}

#[tokio::test]
async fn a_thousand_items_through_batch_write_and_batch_get() {
    let requests = common::Requests::default();
    let table = common::table_with_client(requests.client(), |t| t.entity::<Row>()).await;
    let rows: Vec<Row> = (0..1000).map(|id| Row { id, text: format!("row {id}") }).collect();
    requests.reset();
    let mut batch = table.batch_write().concurrency(8);
    for row in rows.clone() {
        batch = batch.put(row);
    }
    let summary = batch.await.unwrap();
    assert_eq!(summary.processed, 1000);
    assert_eq!(requests.count("BatchWriteItem"), 40, "25 items a request");

    // Read them all back, plus keys that do not exist and a key asked for twice.
    let model = table.model::<Row>();
    let mut keys: Vec<_> = (0..1000).map(Row::key).collect();
    keys.extend([Row::key(5000), Row::key(7)]);
    requests.reset();
    let got = model.get_many(keys).await.unwrap();
    // 1,001 distinct keys (the repeated one is read once): 100 a request.
    assert_eq!(requests.count("BatchGetItem"), 11);
    assert_eq!(got.len(), 1002);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(got[i].as_ref(), Some(row), "row {i} in the order asked");
    }
    assert_eq!(got[1000], None);
    assert_eq!(got[1001].as_ref(), Some(&rows[7]));

    let mut removal = table.batch_write();
    for id in 0..1000 {
        removal = removal.remove(Row::key(id));
    }
    assert_eq!(removal.await.unwrap().processed, 1000);
    assert!(model.scan().await.unwrap().is_empty());
}

#[tokio::test]
async fn batches_refuse_what_they_cannot_keep_consistent() {
    let table = app().await;
    let err = table.batch_write().put(user("a", "a@x")).await.unwrap_err();
    assert!(err.to_string().contains("unique field (email)"), "{err}");
    let err = table
        .batch_write()
        .put(Account { id: "a".into(), balance: 0 })
        .put(Account { id: "a".into(), balance: 1 })
        .await
        .unwrap_err();
    assert!(err.is_duplicate_key() && err.to_string().contains("ACCOUNT#a"), "{err}");

    // A transaction DynamoDB would refuse is refused before any request.
    let accounts = table.model::<Account>();
    let mut transaction = table.transaction();
    for i in 0..101 {
        transaction = transaction.create(accounts.create(Account { id: format!("t{i}"), balance: 0 }));
    }
    let err = transaction.await.unwrap_err();
    assert!(err.is_too_many_actions(), "{err}");
    assert!(accounts.get(Account::key("t0")).await.unwrap().is_none());
}

#[tokio::test]
async fn transactions_apply_all_or_nothing_and_name_the_failed_write() {
    let table = app().await;
    let (accounts, invoices) = (table.model::<Account>(), table.model::<Invoice>());
    accounts.create(Account { id: "acme".into(), balance: 0 }).await.unwrap();
    let invoice = Invoice { account_id: "acme".into(), id: "i1".into(), amount: 250 };
    table
        .transaction()
        .create(invoices.create(invoice.clone()))
        .update(accounts.update(Account::key("acme")).add(Account::BALANCE, 250))
        .token("invoice-i1")
        .await
        .unwrap();
    assert_eq!(accounts.get(Account::key("acme")).await.unwrap().unwrap().balance, 250);
    assert_eq!(invoices.get(Invoice::key("acme", "i1")).await.unwrap(), Some(invoice.clone()));

    // The invoice exists: the whole transaction is refused, the balance untouched.
    let err = table
        .transaction()
        .update(accounts.update(Account::key("acme")).add(Account::BALANCE, 250))
        .create(invoices.create(invoice))
        .await
        .unwrap_err();
    assert!(err.is_already_exists(), "{err}");
    // A failed check cancels the others too.
    let err = table
        .transaction()
        .create(invoices.create(Invoice { account_id: "acme".into(), id: "i2".into(), amount: 5 }))
        .check(Account::key("acme"), Account::BALANCE.gt(1000))
        .await
        .unwrap_err();
    assert!(err.is_condition_failed(), "{err}");
    assert_eq!(invoices.get(Invoice::key("acme", "i2")).await.unwrap(), None);
    assert_eq!(accounts.get(Account::key("acme")).await.unwrap().unwrap().balance, 250);
}

#[tokio::test]
async fn unique_values_are_claimed_swapped_and_released_with_their_item() {
    let table = app().await;
    let users = table.model::<User>();
    users.create(user("ann", "ann@x")).await.unwrap();
    assert_eq!(sentinels(&table).await, ["_unique#User#email#ann@x"]);

    let err = users.create(user("bob", "ann@x")).await.unwrap_err();
    assert!(err.is_unique_violation(), "{err}");
    assert_eq!(err.to_string(), "User.email: the value \"ann@x\" is already taken (the field is unique)");
    assert_eq!(users.get(User::key("acme", "bob")).await.unwrap(), None, "the item was not written either");

    users.create(user("bob", "bob@x")).await.unwrap();
    // Changing the value swaps the sentinel; taking another's value is refused.
    users.update(User::key("acme", "ann")).set(User::EMAIL, "ann@new").await.unwrap();
    assert_eq!(sentinels(&table).await, ["_unique#User#email#ann@new", "_unique#User#email#bob@x"]);
    let err = users.update(User::key("acme", "ann")).set(User::EMAIL, "bob@x").await.unwrap_err();
    assert!(err.is_unique_violation(), "{err}");
    let mut bob = users.get(User::key("acme", "bob")).await.unwrap().unwrap();
    bob.email = "robert@x".into();
    users.put(bob).await.unwrap();
    assert_eq!(sentinels(&table).await, ["_unique#User#email#ann@new", "_unique#User#email#robert@x"]);
    // The released value is free again.
    users.create(user("cy", "bob@x")).await.unwrap();

    let removed = users.remove(User::key("acme", "ann")).await.unwrap();
    assert_eq!(removed.map(|u| u.email), Some("ann@new".to_string()));
    assert_eq!(sentinels(&table).await, ["_unique#User#email#bob@x", "_unique#User#email#robert@x"]);
}

#[tokio::test]
async fn two_concurrent_creates_of_one_unique_value_leave_one_item_and_one_sentinel() {
    let table = Arc::new(app().await);
    for round in 0..5 {
        let email = format!("same{round}@x");
        let tasks: Vec<_> = ["a", "b"]
            .into_iter()
            .map(|id| {
                let (table, email) = (table.clone(), email.clone());
                tokio::spawn(async move {
                    table.model::<User>().create(user(&format!("{id}{round}"), &email)).await
                })
            })
            .collect();
        let mut wins = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => wins += 1,
                Err(e) => assert!(e.is_unique_violation(), "{e}"),
            }
        }
        assert_eq!(wins, 1, "round {round}: exactly one create wins");
    }
    let users = table.model::<User>().scan().await.unwrap();
    assert_eq!(users.len(), 5);
    assert_eq!(sentinels(&table).await.len(), 5, "no orphan sentinel");
}

#[tokio::test]
async fn every_version_is_won_by_exactly_one_of_32_racing_tasks() {
    let table = Arc::new(app().await);
    let users = table.model::<User>();
    let created = users.create(user("hot", "hot@x")).await.unwrap();
    assert_eq!(created.version, 1, "a create writes version 1");
    const TASKS: usize = 32;
    const WRITES: usize = 3;
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let table = table.clone();
            tokio::spawn(async move {
                let users = table.model::<User>();
                let mut won = Vec::new();
                let mut conflicts = 0;
                while won.len() < WRITES {
                    let current = users.get(User::key("acme", "hot")).consistent().await.unwrap().unwrap();
                    let result = users
                        .update(User::key("acme", "hot"))
                        .set(User::NAME, format!("task {task}"))
                        .if_version(current.version)
                        .await;
                    match result {
                        Ok(updated) => {
                            assert_eq!(updated.version, current.version + 1);
                            won.push(updated.version);
                        }
                        Err(e) if e.is_version_conflict() => conflicts += 1,
                        Err(e) => panic!("{e}"),
                    }
                }
                (won, conflicts)
            })
        })
        .collect();
    let mut versions = Vec::new();
    let mut conflicts = 0;
    for task in tasks {
        let (won, c) = task.await.unwrap();
        versions.extend(won);
        conflicts += c;
    }
    let distinct: HashSet<u64> = versions.iter().copied().collect();
    assert_eq!(distinct.len(), TASKS * WRITES, "no version was won twice");
    assert_eq!(distinct, (2..=(TASKS * WRITES) as u64 + 1).collect::<HashSet<_>>());
    let last = users.get(User::key("acme", "hot")).consistent().await.unwrap().unwrap();
    assert_eq!(last.version, (TASKS * WRITES) as u64 + 1);
    assert!(conflicts > 0, "the tasks did race");

    // put is conditional on the version it was read at.
    let mut stale = last.clone();
    stale.version -= 1;
    let err = users.put(stale).await.unwrap_err();
    assert!(err.is_version_conflict(), "{err}");
    let written = users.put(last.clone()).await.unwrap();
    assert_eq!(written.version, last.version + 1);
    let err = users.remove(User::key("acme", "hot")).if_version(last.version).await.unwrap_err();
    assert!(err.is_version_conflict(), "{err}");
}

#[tokio::test]
async fn ttl_is_enabled_and_expired_items_can_be_hidden() {
    let table = app().await;
    // TTL goes through ENABLING before ENABLED (on DynamoDB itself, for up to an hour).
    let mut status = None;
    for _ in 0..50 {
        let ttl = table.client().describe_time_to_live().table_name(table.name()).send().await.unwrap();
        if let Some(d) = ttl.time_to_live_description() {
            assert_eq!(d.attribute_name(), Some("expires"));
            status = d.time_to_live_status().map(|s| s.as_str().to_owned());
            if status.as_deref() == Some("ENABLED") {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status.as_deref(), Some("ENABLED"));

    let users = table.model::<User>();
    let mut old = user("old", "old@x");
    // Expired six years ago: hidden as expired, but past the five years beyond which
    // DynamoDB's TTL sweeper leaves an item alone, so it cannot vanish mid-test.
    old.expires = Some(SystemTime::now() - Duration::from_secs(6 * 366 * 24 * 3600));
    let mut fresh = user("fresh", "fresh@x");
    fresh.expires = Some(SystemTime::now() + Duration::from_secs(3600));
    users.create(old).await.unwrap();
    users.create(fresh).await.unwrap();
    let item = table
        .client()
        .get_item()
        .table_name(table.name())
        .key("pk", AttributeValue::S("ACCOUNT#acme".into()))
        .key("sk", AttributeValue::S("USER#old".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert!(
        matches!(&item["expires"], AttributeValue::N(s) if s.len() == 10),
        "epoch seconds: {:?}",
        item["expires"]
    );

    // The same table, hiding expired items.
    let hiding = Table::builder(table.client().clone(), table.name())
        .entity::<Account>()
        .entity::<User>()
        .entity::<Invoice>()
        .hide_expired(true)
        .build()
        .unwrap();
    let hidden = hiding.model::<User>();
    assert_eq!(hidden.get(User::key("acme", "old")).await.unwrap(), None);
    assert!(hidden.get(User::key("acme", "fresh")).await.unwrap().is_some());
    let found: Vec<String> =
        hidden.find(User::partition("acme")).await.unwrap().items.into_iter().map(|u| u.id).collect();
    assert_eq!(found, ["fresh"]);
    assert_eq!(users.find(User::partition("acme")).await.unwrap().items.len(), 2, "shown when not hidden");
}

#[derive(onetable::Collection, Debug, Clone, PartialEq)]
enum AccountItems {
    Account(Account),
    User(User),
    Invoice(Invoice),
}

#[tokio::test]
async fn a_typed_collection_reads_every_entity_of_a_partition_in_one_query() {
    let requests = common::Requests::default();
    let table = common::table_with_client(requests.client(), |t| {
        t.entity::<Account>().entity::<User>().entity::<Invoice>()
    })
    .await;
    table.model::<Account>().create(Account { id: "acme".into(), balance: 5 }).await.unwrap();
    for id in ["ann", "bob"] {
        table.model::<User>().create(user(id, &format!("{id}@x"))).await.unwrap();
    }
    for id in ["i1", "i2", "i3"] {
        table
            .model::<Invoice>()
            .create(Invoice { account_id: "acme".into(), id: id.into(), amount: 1 })
            .await
            .unwrap();
    }
    // An item of a type the collection does not know, written by someone else.
    table
        .client()
        .put_item()
        .table_name(table.name())
        .item("pk", AttributeValue::S("ACCOUNT#acme".into()))
        .item("sk", AttributeValue::S("LEGACY#1".into()))
        .item("_type", AttributeValue::S("Legacy".into()))
        .send()
        .await
        .unwrap();

    requests.reset();
    let page = table.collection::<AccountItems>().find(Account::partition("acme")).await.unwrap();
    assert_eq!(requests.count("Query"), 1);
    let (mut accounts, mut users, mut invoices) = (0, 0, 0);
    for item in &page.items {
        match item {
            AccountItems::Account(a) => {
                assert_eq!(a.balance, 5);
                accounts += 1
            }
            AccountItems::User(u) => {
                assert_eq!(u.version, 1);
                users += 1
            }
            AccountItems::Invoice(_) => invoices += 1,
        }
    }
    assert_eq!((accounts, users, invoices), (1, 2, 3), "the unknown item is skipped");

    let err = table
        .collection::<AccountItems>()
        .find(Account::partition("acme"))
        .unknown(onetable::Unknown::Error)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Legacy"), "{err}");

    let first = table.collection::<AccountItems>().find(Account::partition("acme")).limit(4).await.unwrap();
    let rest = table
        .collection::<AccountItems>()
        .find(Account::partition("acme"))
        .next(first.next.unwrap())
        .await
        .unwrap();
    assert_eq!(first.items.len() + rest.items.len(), 6);
    assert!(rest.items.iter().all(|i| !first.items.contains(i)));
}
