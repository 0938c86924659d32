//! Multi-attribute index keys against DynamoDB Local: a global index keyed on the
//! items' own attributes (`pk = [org, team], sk = [prio, opened]`), created with the
//! table or added by a migration that rewrites no item, queried with equality on the
//! partition attributes and the leading sort attributes and a range on the last.

mod common;

use onetable::migrate::{Migration, Migrations, Migrator};
use onetable::{Entity, Table};
use std::time::{Duration, SystemTime};

/// A ticket, found by org and team in priority and opening order (a multi-attribute
/// key), by assignee (a sparse one, over an optional field), and by org through a
/// template index beside them.
#[derive(Entity, Debug, Clone, PartialEq)]
#[key(pk = "TICKET#${id}", sk = "TICKET")]
#[index(name = "gs1", pk = "ORG#${org}", sk = "TICKET#${id}")]
#[index(name = "byteam", pk = [org, team], sk = [prio, opened])]
#[index(name = "byassignee", pk = [assignee], project = "keys")]
struct Ticket {
    id: String,
    org: String,
    team: String,
    prio: u32,
    opened: SystemTime,
    assignee: Option<String>,
    title: String,
}

/// The same tickets before the design gained its indexes over attributes.
#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Ticket")]
#[key(pk = "TICKET#${id}", sk = "TICKET")]
#[index(name = "gs1", pk = "ORG#${org}", sk = "TICKET#${id}")]
struct TicketV1 {
    id: String,
    org: String,
    team: String,
    prio: u32,
    opened: SystemTime,
    assignee: Option<String>,
    title: String,
}

fn at(seconds: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + seconds)
}

fn ticket(i: u32) -> Ticket {
    Ticket {
        id: format!("t{i:03}"),
        org: "acme".into(),
        team: ["red", "blue"][i as usize % 2].into(),
        prio: i % 3,
        opened: at(u64::from(i)),
        assignee: i.is_multiple_of(4).then(|| format!("ann{}", i % 8)),
        title: format!("ticket {i}"),
    }
}

fn ids(tickets: &[Ticket]) -> Vec<String> {
    tickets.iter().map(|t| t.id.clone()).collect()
}

/// What DynamoDB returns for the team: by priority, then opening time.
fn expected(all: &[Ticket], team: &str, keep: impl Fn(&Ticket) -> bool) -> Vec<String> {
    let mut chosen: Vec<&Ticket> = all.iter().filter(|t| t.team == team && keep(t)).collect();
    chosen.sort_by_key(|t| (t.prio, t.opened));
    chosen.iter().map(|t| t.id.clone()).collect()
}

#[tokio::test]
async fn the_table_is_created_with_typed_multi_attribute_keys_and_queried_on_them() {
    let table = common::table(|t| t.entity::<Ticket>()).await;
    let description = table.describe().await.unwrap();
    let index =
        description.global_secondary_indexes().iter().find(|i| i.index_name() == Some("byteam")).unwrap();
    let keys: Vec<(String, String)> = index
        .key_schema()
        .iter()
        .map(|k| (k.attribute_name().to_owned(), k.key_type().as_str().to_owned()))
        .collect();
    let expected_keys = [("org", "HASH"), ("team", "HASH"), ("prio", "RANGE"), ("opened", "RANGE")];
    assert_eq!(keys, expected_keys.map(|(a, k)| (a.to_owned(), k.to_owned())));
    let types: Vec<(String, String)> = description
        .attribute_definitions()
        .iter()
        .map(|d| (d.attribute_name().to_owned(), d.attribute_type().as_str().to_owned()))
        .collect();
    for (attribute, kind) in [("org", "S"), ("team", "S"), ("prio", "N"), ("opened", "N"), ("gs1pk", "S")] {
        assert!(types.contains(&(attribute.to_owned(), kind.to_owned())), "{attribute}: {types:?}");
    }

    // Written through every path: create, batch put, put and update.
    let tickets = table.model::<Ticket>();
    let mut all: Vec<Ticket> = (0..40).map(ticket).collect();
    for t in &all[..10] {
        tickets.create(t.clone()).await.unwrap();
    }
    let mut batch = table.batch_write();
    for t in &all[10..] {
        batch = batch.put(t.clone());
    }
    batch.await.unwrap();
    all[3].prio = 7;
    tickets.put(all[3].clone()).await.unwrap();
    all[5].team = "red".into();
    tickets.update(Ticket::key("t005")).set(Ticket::TEAM, "red").await.unwrap();

    // The partition alone: the team's tickets by priority, then opening time.
    let red = tickets.find(Ticket::byteam_partition("acme", "red")).await.unwrap();
    assert_eq!(ids(&red.items), expected(&all, "red", |_| true));
    assert_eq!(red.items.iter().find(|t| t.id == "t005"), Some(&all[5]), "moved to red by the update");
    // Equality on the leading sort attribute.
    let found = tickets.find(Ticket::byteam_partition("acme", "blue").eq(Ticket::PRIO, 1u32)).await.unwrap();
    assert_eq!(ids(&found.items), expected(&all, "blue", |t| t.prio == 1));
    // A range on the last one named.
    let since = at(20);
    let key = Ticket::byteam_partition("acme", "blue").eq(Ticket::PRIO, 2u32).ge(Ticket::OPENED, since);
    let found = tickets.find(key).await.unwrap();
    assert_eq!(ids(&found.items), expected(&all, "blue", |t| t.prio == 2 && t.opened >= since));
    assert!(!found.items.is_empty());
    let found = tickets
        .find(Ticket::byteam_partition("acme", "red").between(Ticket::PRIO, 1u32, 2u32))
        .await
        .unwrap();
    assert_eq!(ids(&found.items), expected(&all, "red", |t| (1..=2).contains(&t.prio)));
    let found = tickets.find(Ticket::byteam_partition("acme", "red").lt(Ticket::PRIO, 1u32)).reverse().await;
    let mut want = expected(&all, "red", |t| t.prio < 1);
    want.reverse();
    assert_eq!(ids(&found.unwrap().items), want);

    // Pages: the cursor carries the index's number attributes.
    let mut pages = Vec::new();
    let mut next = None;
    loop {
        let mut find = tickets.find(Ticket::byteam_partition("acme", "red")).limit(6);
        if let Some(cursor) = next.take() {
            find = find.next(cursor);
        }
        let page = find.await.unwrap();
        pages.extend(ids(&page.items));
        match page.next {
            Some(cursor) => next = Some(cursor),
            None => break,
        }
    }
    assert_eq!(pages, expected(&all, "red", |_| true));

    // A sparse index over an optional field: items without an assignee are not in it.
    let found = tickets.find(Ticket::byassignee_partition("ann0")).hydrate().await.unwrap();
    let want: Vec<String> =
        all.iter().filter(|t| t.assignee.as_deref() == Some("ann0")).map(|t| t.id.clone()).collect();
    let mut got = ids(&found.items);
    got.sort();
    assert_eq!(got, want);
    assert!(!want.is_empty());

    // The template index beside them works as before.
    let by_org = tickets.find(Ticket::gs1_partition("acme")).await.unwrap();
    assert_eq!(by_org.items.len(), 40);
}

#[tokio::test]
async fn conditions_out_of_order_are_refused_before_sending() {
    let table = common::table(|t| t.entity::<Ticket>()).await;
    let tickets = table.model::<Ticket>();
    let invalid = |e: onetable::Error| {
        assert!(matches!(e.kind(), onetable::ErrorKind::Invalid { entity: "Ticket", .. }), "{e}");
        e.to_string()
    };
    // The second sort attribute without the first.
    let err =
        tickets.find(Ticket::byteam_partition("acme", "red").gt(Ticket::OPENED, at(1))).await.unwrap_err();
    assert!(invalid(err).contains("so prio comes before opened"));
    // Anything after a range.
    let key = Ticket::byteam_partition("acme", "red").gt(Ticket::PRIO, 1u32).eq(Ticket::OPENED, at(1));
    let err = tickets.find(key).await.unwrap_err();
    assert!(invalid(err).contains("which has a range"));
    // A field that is not a sort attribute.
    let err = tickets.find(Ticket::byteam_partition("acme", "red").eq(Ticket::TITLE, "x")).await.unwrap_err();
    assert!(invalid(err).contains("title"));
    // Template spellings on an attribute key, and attribute spellings on a template key.
    let err =
        tickets.find(Ticket::byteam_partition("acme", "red").with(Ticket::PRIO, 1u32)).await.unwrap_err();
    assert!(invalid(err).contains(".eq(..)"));
    let err = tickets.find(Ticket::byteam_partition("acme", "red")).sort_gt("1").await.unwrap_err();
    assert!(invalid(err).contains("keyed on attributes"));
    let err = tickets.find(Ticket::gs1_partition("acme").eq(Ticket::ID, "t1")).await.unwrap_err();
    assert!(invalid(err).contains("keyed by a template"));
}

/// Another entity keys an index on `prio` as text: one attribute, two types.
#[derive(Entity, Debug, Clone, PartialEq)]
#[key(pk = "NOTE#${id}", sk = "NOTE")]
#[index(name = "byprio", pk = [prio])]
struct Note {
    id: String,
    prio: String,
}

#[test]
fn a_table_whose_indexes_give_one_attribute_two_types_is_refused() {
    let client = common::local().client();
    let built = Table::builder(client.clone(), "refused").entity::<Ticket>().entity::<Note>().build();
    let err = built.expect_err("refused");
    assert!(err.to_string().contains("attribute `prio`"), "{err}");
    // With `nulls`, an absent assignee would be written as NULL, which DynamoDB refuses
    // in an index key.
    let nulls = Table::builder(client, "refused").nulls(true).entity::<Ticket>().build().unwrap_err();
    assert!(nulls.to_string().contains("Ticket.assignee keys index byassignee"), "{nulls}");
}

#[tokio::test]
async fn a_migration_adds_the_index_without_rewriting_an_item_and_its_dry_run_lists_what_stays_out() {
    let old = common::table(|t| t.entity::<TicketV1>()).await;
    let v1 = old.model::<TicketV1>();
    for i in 0..30 {
        let t = ticket(i);
        let Ticket { id, org, team, prio, opened, assignee, title } = t;
        v1.create(TicketV1 { id, org, team, prio, opened, assignee, title }).await.unwrap();
    }
    // One item whose priority another writer stored as text: DynamoDB would leave it
    // out of the index (DynamoDB Local indexes it anyway, so the test fixes it as the
    // plan tells an operator to, before the index is added).
    set_prio(&old, onetable::AttributeValue::S("high".into())).await;

    let new = common::table_named(old.name(), |t| t.entity::<Ticket>());
    let migration = || {
        Migration::new("0.2.0", "tickets by team")
            .up(|ctx| async move {
                assert_eq!(ctx.add_global_index::<Ticket>("byteam").await?, 0, "nothing to backfill");
                Ok(())
            })
            .down(|ctx| async move { ctx.drop_global_index("byteam").await })
    };
    let plan = Migrator::new(new.clone())
        .migrations(Migrations::new([migration()]))
        .dry_run(true)
        .up(None)
        .await
        .unwrap();
    let unindexed = &plan[0].plans[0].unindexed;
    assert_eq!(unindexed.len(), 1, "{unindexed:?}");
    assert!(unindexed[0].contains("TICKET#t007") && unindexed[0].contains("prio is S, the index reads N"));
    assert!(new
        .describe()
        .await
        .unwrap()
        .global_secondary_indexes()
        .iter()
        .all(|i| i.index_name() != Some("byteam")));

    set_prio(&old, onetable::AttributeValue::N("1".into())).await;
    let before = common::scan_all(&old).await;
    let migrator = Migrator::new(new.clone()).migration(migration());
    let ran = migrator.up(None).await.unwrap();
    assert_eq!((ran[0].items, ran[0].write_units), (0, 0.0));
    let after: Vec<_> = common::scan_all(&old).await.into_iter().filter(|i| !is_bookkeeping(i)).collect();
    let before: Vec<_> = before.into_iter().filter(|i| !is_bookkeeping(i)).collect();
    assert_eq!(canonical(after), canonical(before), "no item was rewritten");
    // DynamoDB indexed the items that were there.
    let tickets = new.model::<Ticket>();
    let red = tickets.find(Ticket::byteam_partition("acme", "red")).await.unwrap();
    let blue = tickets.find(Ticket::byteam_partition("acme", "blue").eq(Ticket::PRIO, 1u32)).await.unwrap();
    assert_eq!(red.items.len(), 15);
    assert!(blue.items.iter().any(|t| t.id == "t007"), "{blue:?}");

    migrator.down(1).await.unwrap();
    let description = new.describe().await.unwrap();
    assert!(description.global_secondary_indexes().iter().all(|i| i.index_name() != Some("byteam")));
}

/// Stores `prio` of ticket t007 as another writer would.
async fn set_prio(table: &Table, prio: onetable::AttributeValue) {
    table
        .client()
        .update_item()
        .table_name(table.name())
        .key("pk", onetable::AttributeValue::S("TICKET#t007".into()))
        .key("sk", onetable::AttributeValue::S("TICKET".into()))
        .update_expression("SET prio = :p")
        .expression_attribute_values(":p", prio)
        .send()
        .await
        .unwrap();
}

/// The migration history and schema items the migrator keeps beside the data.
fn is_bookkeeping(item: &onetable::Item) -> bool {
    item.get("pk").and_then(|v| v.as_s().ok()).is_some_and(|pk| pk.starts_with('_'))
}

fn canonical(items: Vec<onetable::Item>) -> Vec<String> {
    let mut out: Vec<String> = items
        .iter()
        .map(|item| {
            let mut fields: Vec<String> =
                item.iter().map(|(k, v)| format!("{k}={}", common::canonical(v))).collect();
            fields.sort();
            fields.join(",")
        })
        .collect();
    out.sort();
    out
}

#[test]
fn the_schema_item_lists_the_attributes_of_a_multi_attribute_key() {
    let table = common::table_named("schema", |t| t.entity::<Ticket>());
    let item = table.schema_item(&"0.1.0".parse().unwrap());
    let indexes = item.get("indexes").and_then(|s| s.as_m().ok()).expect("indexes");
    let byteam = indexes.get("byteam").and_then(|s| s.as_m().ok()).expect("byteam");
    let list = |name: &str| -> Vec<String> {
        byteam[name].as_l().unwrap().iter().map(|v| v.as_s().unwrap().clone()).collect()
    };
    assert_eq!(list("hash"), ["org", "team"]);
    assert_eq!(list("sort"), ["prio", "opened"]);
    let byassignee = indexes.get("byassignee").and_then(|s| s.as_m().ok()).expect("byassignee");
    assert_eq!(byassignee["hash"].as_s().unwrap(), "assignee", "one attribute, as OneTable writes it");
}

/// Another entity stores a field `prio` as text, though no index of its own reads it.
#[derive(Entity, Debug, Clone, PartialEq)]
#[key(pk = "TASK#${id}", sk = "TASK")]
struct Task {
    id: String,
    prio: String,
}

/// An index keyed on `status` as a number, which the migration history stores as text.
#[derive(Entity, Debug, Clone, PartialEq)]
#[key(pk = "JOB#${id}", sk = "JOB")]
#[index(name = "bystatus", pk = [status])]
struct Job {
    id: String,
    status: u32,
}

#[test]
fn a_field_or_bookkeeping_attribute_that_an_index_would_read_with_another_type_is_refused() {
    // Task's text `prio` would be refused by DynamoDB once `byteam` exists.
    let client = common::local().client();
    let err =
        Table::builder(client.clone(), "refused").entity::<Ticket>().entity::<Task>().build().unwrap_err();
    let message = err.to_string();
    assert!(message.contains("Task.prio") && message.contains("index byteam reads as N"), "{message}");
    // The same for the library's own items.
    let err = Table::builder(client.clone(), "refused").entity::<Job>().build().unwrap_err();
    let message = err.to_string();
    assert!(message.contains("`status`") && message.contains("index bystatus"), "{message}");
    // Each alone is fine.
    Table::builder(client.clone(), "fine").entity::<Task>().build().unwrap();
    Table::builder(client, "fine").entity::<Ticket>().build().unwrap();
}

/// The same ticket, its `byteam` index keyed differently.
#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Ticket")]
#[key(pk = "TICKET#${id}", sk = "TICKET")]
#[index(name = "gs1", pk = "ORG#${org}", sk = "TICKET#${id}")]
#[index(name = "byteam", pk = [team], sk = [opened])]
struct TicketRekeyed {
    id: String,
    org: String,
    team: String,
    prio: u32,
    opened: SystemTime,
    assignee: Option<String>,
    title: String,
}

#[tokio::test]
async fn an_index_of_the_same_name_keyed_otherwise_is_reported_not_taken_for_the_declared_one() {
    let table = common::table(|t| t.entity::<Ticket>()).await;
    let before = table.describe().await.unwrap();
    let rekeyed = common::table_named(table.name(), |t| t.entity::<TicketRekeyed>());
    let err = rekeyed.create_global_index("byteam", Duration::from_secs(60)).await.unwrap_err();
    assert!(matches!(err.kind(), onetable::ErrorKind::Schema(_)), "{err}");
    let message = err.to_string();
    assert!(
        message.contains("keyed org (HASH, S), team (HASH, S), prio (RANGE, N), opened (RANGE, N)")
            && message.contains("declare it keyed team (HASH, S), opened (RANGE, N)"),
        "{message}"
    );
    let after = table.describe().await.unwrap();
    assert_eq!(before.global_secondary_indexes(), after.global_secondary_indexes(), "nothing changed");
    // The index as declared is there already: nothing to do.
    assert!(!table.create_global_index("byteam", Duration::from_secs(60)).await.unwrap());
}

#[tokio::test]
async fn an_empty_string_in_a_multi_attribute_key_is_refused_before_anything_is_written() {
    let table = common::table(|t| t.entity::<Ticket>()).await;
    let tickets = table.model::<Ticket>();
    let refused = |e: onetable::Error| {
        assert!(
            matches!(
                e.kind(),
                onetable::ErrorKind::InvalidKey {
                    entity: "Ticket",
                    field: "team",
                    template: "byteam",
                    problem: onetable::KeyProblem::Empty,
                    ..
                }
            ),
            "{e}"
        );
    };
    let mut empty = ticket(1);
    empty.team.clear();
    refused(tickets.create(empty.clone()).await.unwrap_err());
    refused(tickets.put(empty.clone()).await.unwrap_err());
    refused(table.batch_write().put(empty.clone()).await.unwrap_err());
    assert!(common::scan_all(&table).await.is_empty(), "nothing was written");

    tickets.create(ticket(1)).await.unwrap();
    refused(tickets.update(Ticket::key("t001")).set(Ticket::TEAM, "").await.unwrap_err());
    let stored = tickets.get(Ticket::key("t001")).await.unwrap();
    assert_eq!(stored, Some(ticket(1)), "the item is as it was");
    // An empty optional value in a one-attribute key is refused the same way.
    let mut unassigned = ticket(2);
    unassigned.assignee = Some(String::new());
    let err = tickets.create(unassigned).await.unwrap_err();
    assert!(matches!(err.kind(), onetable::ErrorKind::InvalidKey { field: "assignee", .. }), "{err}");
}
