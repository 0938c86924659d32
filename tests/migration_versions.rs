//! Data migrations beside every version of the code that can run at once, against
//! DynamoDB Local: code for the new design that writes before the migration reaches an
//! item (expand), old replicas still writing after it (a rolling deploy with
//! migrations at start-up), old-form writes that keep coming, transient faults, and
//! the items a transform makes beside the one it migrates.

mod common;

use onetable::migrate::{Change, MigrateErrorExt, Migration, Migrator, State};
use onetable::{AttributeValue, Entity, Table};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// A person before: one name (design 0.1.0, declared by the old code).
#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Person", design = "0.1.0")]
#[key(pk = "PERSON#${id}", sk = "PERSON")]
struct PersonV1 {
    id: u32,
    name: String,
    visits: u32,
    passes: u32,
}

/// After: first and last names (design 0.2.0), the same keys.
#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Person", design = "0.2.0")]
#[key(pk = "PERSON#${id}", sk = "PERSON")]
struct Person {
    id: u32,
    first: String,
    last: String,
    nickname: Option<String>,
    visits: u32,
    passes: u32,
}

/// The migration's conversion, which new code registers too.
fn split(p: PersonV1) -> Person {
    let (first, last) = p.name.split_once(' ').unwrap_or((&p.name, ""));
    Person {
        id: p.id,
        first: first.to_owned(),
        last: last.to_owned(),
        nickname: None,
        visits: p.visits,
        passes: p.passes + 1,
    }
}

fn split_names(table: &Table) -> Migrator {
    Migrator::new(table.clone()).migration(Migration::new("0.2.0", "split names").up(|ctx| async move {
        ctx.transform("split", |p: PersonV1| Some(split(p))).segments(2).run().await.map(|_| ())
    }))
}

/// The old code's view of the table, and the new code's (which knows the conversion).
async fn tables(people: u32) -> (Table, Table) {
    let new = common::table(|t| t.entity::<Person>().upgrade(split)).await;
    let old = common::table_named(new.name(), |t| t.entity::<PersonV1>());
    let mut batch = old.batch_write();
    for id in 0..people {
        batch = batch.put(PersonV1 { id, name: format!("First{id} Last{id}"), visits: 0, passes: 0 });
    }
    batch.await.unwrap();
    (old, new)
}

#[tokio::test]
async fn new_code_writing_before_the_migration_upgrades_the_item_so_its_write_stands() {
    let (_old, new) = tables(60).await;
    let people = new.model::<Person>();
    // The expand step: the new code ships first, and writes the new field of items
    // the migration has not reached.
    for id in 0..30 {
        let written =
            people.update(Person::key(id)).set(Person::NICKNAME, Some(format!("nick{id}"))).await.unwrap();
        assert_eq!(
            (written.first.clone(), written.passes),
            (format!("First{id}"), 1),
            "upgraded, then updated"
        );
    }
    // A read of an item not reached yet reads in the new form.
    let unreached = people.get(Person::key(45)).consistent().await.unwrap().unwrap();
    assert_eq!((unreached.first.as_str(), unreached.last.as_str()), ("First45", "Last45"));
    let ran = split_names(&new).up(None).await.unwrap();
    assert_eq!(ran[0].items, 30, "the 30 items the new code upgraded are left alone");
    let all: BTreeMap<u32, Person> = people.scan().await.unwrap().into_iter().map(|p| (p.id, p)).collect();
    assert_eq!(all.len(), 60);
    for (id, p) in &all {
        assert_eq!(p.passes, 1, "{id} converted exactly once");
        let nickname = (*id < 30).then(|| format!("nick{id}"));
        assert_eq!(p.nickname, nickname, "{id}: the new code's write stands (30 of 30)");
    }

    // Without the conversion, the new code cannot write an old-form item: refused,
    // nothing written.
    let (old, _) = tables(0).await;
    let bare = Table::builder(old.client().clone(), old.name()).entity::<Person>().build().unwrap();
    old.model::<PersonV1>()
        .create(PersonV1 { id: 1, name: "A B".into(), visits: 0, passes: 0 })
        .await
        .unwrap();
    let err = bare.model::<Person>().update(Person::key(1)).add(Person::VISITS, 1).await.unwrap_err();
    assert!(err.is_older_design(), "{err}");
    let stored = old.model::<PersonV1>().get(PersonV1::key(1)).consistent().await.unwrap().unwrap();
    assert_eq!(stored.visits, 0, "nothing written");
}

#[tokio::test]
async fn old_replicas_writing_after_the_migration_are_refused_not_lost() {
    let (old, new) = tables(40).await;
    split_names(&new).up(None).await.unwrap();
    let old_people = old.model::<PersonV1>();
    // A rolling deploy: an old replica still serves, and writes items already migrated.
    let mut refused = 0;
    for id in 0..20 {
        let err = old_people.update(PersonV1::key(id)).add(PersonV1::VISITS, 1).await.unwrap_err();
        assert!(err.is_newer_design(), "{err}");
        refused += 1;
    }
    let err = old_people
        .put(PersonV1 { id: 20, name: "Over Written".into(), visits: 9, passes: 0 })
        .await
        .unwrap_err();
    assert!(err.is_newer_design(), "{err}");
    assert_eq!(refused, 20);
    // Nothing of theirs landed: every item as the migration left it, in the new form.
    for p in new.model::<Person>().scan().await.unwrap() {
        assert_eq!((p.visits, p.passes), (0, 1), "{p:?}");
        assert_eq!(p.first, format!("First{}", p.id));
    }
    // The new code's writes go on.
    let p = new.model::<Person>().update(Person::key(3)).add(Person::VISITS, 1).await.unwrap();
    assert_eq!(p.visits, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_form_writes_that_keep_coming_make_the_migration_incomplete_then_up_finishes_it() {
    let (old, new) = tables(100).await;
    // An old deployment keeps creating items in the old form while the migration runs:
    // one before each item the migration converts lands, so however fast the engine
    // and the machine, every pass finds new ones.
    let stop = Arc::new(AtomicBool::new(false));
    let created = Arc::new(AtomicUsize::new(0));
    let write_one = {
        let (stop, created, old) = (stop.clone(), created.clone(), old.clone());
        move || {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            let id = 1_000 + created.fetch_add(1, Ordering::Relaxed) as u32;
            let person = PersonV1 { id, name: format!("New{id} Comer"), visits: 0, passes: 0 };
            let people = old.model::<PersonV1>();
            let write = std::future::IntoFuture::into_future(people.create(person));
            common::complete(write).unwrap();
        }
    };
    let migrator =
        Migrator::new(new.clone()).migration(Migration::new("0.2.0", "split names").up(move |ctx| {
            let write_one = write_one.clone();
            async move {
                ctx.transform("split", move |p: PersonV1| {
                    write_one();
                    Some(split(p))
                })
                .final_passes(2)
                .run()
                .await
                .map(|_| ())
            }
        }));
    let err = migrator.up(None).await.unwrap_err();
    assert!(err.is_incomplete(), "{err}");
    // Recorded as incomplete: not applied, not failed; `up` does not refuse to go on.
    let listed = migrator.list().await.unwrap();
    assert_eq!(listed[0].state, State::Incomplete);
    stop.store(true, Ordering::Relaxed);
    let ran = migrator.up(None).await.unwrap();
    assert!(ran[0].items > 0, "the resumed run migrated what was left");
    let all = new.model::<Person>().scan().await.unwrap();
    assert_eq!(all.len(), 100 + created.load(Ordering::Relaxed));
    assert!(all.iter().all(|p| p.passes == 1), "every item converted exactly once");
    assert_eq!(migrator.list().await.unwrap()[0].state, State::Applied);
}

/// Replaces some of the migration's write responses with a fault after DynamoDB
/// applied the write (a lost response): throttling and a 500.
#[derive(Debug, Clone, Default)]
struct LoseResponses(Arc<AtomicUsize>);

impl aws_sdk_dynamodb::config::Intercept for LoseResponses {
    fn name(&self) -> &'static str {
        "lose responses"
    }

    fn read_before_transmit(
        &self,
        context: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        common::Target::record(context, cfg);
        Ok(())
    }

    fn modify_before_deserialization(
        &self,
        context: &mut aws_sdk_dynamodb::config::interceptors::BeforeDeserializationInterceptorContextMut<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        if !common::Target::is(cfg, "UpdateItem") {
            return Ok(());
        }
        let n = self.0.fetch_add(1, Ordering::SeqCst);
        // Runs of four lost responses outlast the SDK's three attempts.
        if n % 10 < 4 {
            let (status, body) = if n % 20 < 10 {
                (
                    400,
                    r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"slow down"}"#,
                )
            } else {
                (500, r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"oops"}"#)
            };
            let response = context.response_mut();
            *response.status_mut() = status.try_into().unwrap();
            *response.body_mut() = aws_smithy_types::body::SdkBody::from(body);
        }
        Ok(())
    }
}

#[tokio::test]
async fn throttling_and_server_errors_are_retried_and_never_fail_the_migration() {
    let (_, new) = tables(40).await;
    let lose = LoseResponses::default();
    let config = common::local().sdk_config().to_builder().interceptor(lose.clone()).build();
    let client = aws_sdk_dynamodb::Client::from_conf(config);
    let faulty = Table::builder(client, new.name()).entity::<Person>().upgrade(split).build().unwrap();
    let migrator = split_names(&faulty);
    let ran = migrator.up(None).await.unwrap();
    assert!(lose.0.load(Ordering::SeqCst) > 40, "faults were injected");
    let all = new.model::<Person>().scan().await.unwrap();
    assert_eq!(all.len(), 40);
    assert!(all.iter().all(|p| p.passes == 1), "a write whose response was lost is not repeated: {all:?}");
    assert_eq!(migrator.list().await.unwrap()[0].state, State::Applied);
    assert!(ran[0].items <= 40);
}

// ---------------------------------------------------------------------------------
// Items made beside the one migrated.

#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Order")]
#[key(pk = "ORDER#${id}", sk = "ORDER")]
struct OrderV1 {
    id: u32,
    note: String,
}

#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Order", design = "0.2.0")]
#[key(pk = "ORDER#${id}", sk = "ORDER")]
struct Order {
    id: u32,
}

#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Note")]
#[key(pk = "ORDER#${order}", sk = "NOTE")]
struct Note {
    order: u32,
    text: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_made_beside_follow_the_final_version_and_are_made_for_kept_items_too() {
    let table = common::table(|t| t.entity::<Order>().entity::<Note>()).await;
    let old = common::table_named(table.name(), |t| t.entity::<OrderV1>());
    let mut batch = old.batch_write();
    for id in 0..200 {
        batch = batch.put(OrderV1 { id, note: format!("first {id}") });
    }
    batch.await.unwrap();
    // While the migration runs, the old code edits notes and removes orders.
    let seen = Arc::new(std::sync::Mutex::new(std::collections::HashSet::new()));
    let (editor, counted) = (old.clone(), seen.clone());
    let migrator = Migrator::new(table.clone()).migration(Migration::new("0.2.0", "notes of their own").up(
        move |ctx| {
            let (editor, seen) = (editor.clone(), counted.clone());
            async move {
                ctx.transform_with("notes", move |o: OrderV1, table| {
                    let (editor, seen) = (editor.clone(), seen.clone());
                    async move {
                        // The first time the transform sees some orders, the application
                        // changes or removes them before the migration writes.
                        let first = seen.lock().unwrap().insert(o.id);
                        if first && o.id % 10 == 1 {
                            editor
                                .model::<OrderV1>()
                                .put(OrderV1 { id: o.id, note: format!("edited {}", o.id) })
                                .await?;
                        }
                        if first && o.id % 10 == 2 {
                            editor.model::<OrderV1>().remove(OrderV1::key(o.id)).await?;
                        }
                        let note = Note { order: o.id, text: o.note.clone() };
                        // Orders ending in 3 stay as they are, their note made all the same.
                        let change =
                            if o.id % 10 == 3 { Change::keep() } else { Change::write(Order { id: o.id }) };
                        change.also(&table, note)
                    }
                })
                .segments(2)
                .run()
                .await
                .map(|_| ())
            }
        },
    ));
    migrator.up(None).await.unwrap();
    let notes: BTreeMap<u32, String> =
        table.model::<Note>().scan().await.unwrap().into_iter().map(|n| (n.order, n.text)).collect();
    for id in 0..200u32 {
        let expected = match id % 10 {
            1 => Some(format!("edited {id}")),
            2 => None,
            _ => Some(format!("first {id}")),
        };
        assert_eq!(notes.get(&id).cloned(), expected, "the note of order {id}");
    }
    let orders = common::scan_all(&table)
        .await
        .into_iter()
        .filter(|i| i["sk"] == AttributeValue::S("ORDER".into()))
        .count();
    assert_eq!(orders, 180, "removed orders stay removed");
}

#[tokio::test]
async fn a_migration_edited_while_its_run_was_under_way_refuses_to_resume() {
    let (_, new) = tables(50).await;
    let first = Migrator::new(new.clone()).migration(Migration::new("0.2.0", "split names").source("v1").up(
        |ctx| async move {
            ctx.transform_with("split", |p: PersonV1, _| async move {
                if p.id == 37 {
                    return Err(onetable::Error::other("stopped half-way"));
                }
                Ok(Change::write(split(p)))
            })
            .segments(1)
            .concurrency(1)
            .run()
            .await
            .map(|_| ())
        },
    ));
    assert!(first.up(None).await.unwrap_err().is_failed());
    let edited = Migrator::new(new.clone()).migration(
        Migration::new("0.2.0", "split names").source("v2").up(|ctx| async move {
            ctx.transform("split", |p: PersonV1| Some(split(p))).segments(1).run().await.map(|_| ())
        }),
    );
    let err = edited.retry(None).await.unwrap_err();
    assert!(err.to_string().contains("changed since its run began"), "{err}");
}

// ---------------------------------------------------------------------------------
// Down steps, items old replicas create after the migration, undesigned writers.

fn join(p: Person) -> PersonV1 {
    let name = if p.last.is_empty() { p.first } else { format!("{} {}", p.first, p.last) };
    PersonV1 { id: p.id, name, visits: p.visits, passes: p.passes + 1 }
}

fn split_and_join(version: &str) -> Migration {
    Migration::new(version, "split names")
        .up(|ctx| async move {
            ctx.transform("split", |p: PersonV1| Some(split(p))).segments(2).run().await.map(|_| ())
        })
        .down(|ctx| async move {
            ctx.transform("join", |p: Person| Some(join(p))).segments(2).run().await.map(|_| ())
        })
}

#[tokio::test]
async fn down_returns_each_item_to_the_old_design_once_and_the_old_code_writes_it_again() {
    let (old, new) = tables(30).await;
    let migrator = Migrator::new(new.clone()).migration(split_and_join("0.2.0"));
    migrator.up(None).await.unwrap();
    let ran = migrator.down(1).await.unwrap();
    assert_eq!(ran[0].items, 30, "each item transformed back once");
    let people = old.model::<PersonV1>();
    for id in 0..30 {
        let p = people.get(PersonV1::key(id)).consistent().await.unwrap().unwrap();
        assert_eq!((p.name.clone(), p.passes), (format!("First{id} Last{id}"), 2), "up once, down once");
    }
    for item in
        common::scan_all(&new).await.into_iter().filter(|i| i["sk"] == AttributeValue::S("PERSON".into()))
    {
        assert_eq!(item["_design"], AttributeValue::S("0.1.0".into()), "marked as the old design: {item:?}");
    }
    // The old code is the current code again: its writes land.
    let p = people.update(PersonV1::key(4)).add(PersonV1::VISITS, 1).await.unwrap();
    assert_eq!(p.visits, 1);
}

#[tokio::test]
async fn items_old_replicas_create_after_the_migration_are_converted_by_a_later_one_and_only_they() {
    let (old, new) = tables(20).await;
    split_names(&new).up(None).await.unwrap();
    // A rolling deploy: an old replica still creates items after the migration ended
    // (a create has no item to compare its design with).
    for id in 100..105 {
        old.model::<PersonV1>()
            .create(PersonV1 { id, name: format!("Late{id} Comer"), visits: 0, passes: 0 })
            .await
            .unwrap();
    }
    // The new code reads them through its conversion meanwhile.
    let late = new.model::<Person>().get(Person::key(101)).consistent().await.unwrap().unwrap();
    assert_eq!((late.first.as_str(), late.last.as_str()), ("Late101", "Comer"));
    // Once the old replicas are gone, the same transform under a later version
    // converts exactly the items still in the old design.
    let later = Migrator::new(new.clone()).migration(split_and_join("0.2.0")).migration(
        Migration::new("0.2.1", "the stragglers of 0.2.0").up(|ctx| async move {
            ctx.transform("split", |p: PersonV1| Some(split(p))).run().await.map(|_| ())
        }),
    );
    let ran = later.up(None).await.unwrap();
    assert_eq!((ran.len(), ran[0].items), (1, 5), "{ran:?}");
    let all = new.model::<Person>().scan().await.unwrap();
    assert_eq!(all.len(), 25);
    assert!(all.iter().all(|p| p.passes == 1), "each converted once: {all:?}");
    let marks: Vec<AttributeValue> = common::scan_all(&new)
        .await
        .into_iter()
        .filter(|i| i["sk"] == AttributeValue::S("PERSON".into()))
        .map(|i| i["_design"].clone())
        .collect();
    assert!(
        marks.iter().all(|m| *m == AttributeValue::S("0.2.0".into())),
        "the design the code declares: {marks:?}"
    );
    // A transform whose designs cannot tell converted items from the others is refused.
    let wrong = Migrator::new(new.clone()).migration(split_and_join("0.2.0")).migration(
        Migration::new("0.1.5", "a design below the entity's").up(|ctx| async move {
            ctx.transform("split", |p: PersonV1| Some(split(p))).run().await.map(|_| ())
        }),
    );
    let err = wrong.up(None).await.unwrap_err();
    assert!(err.to_string().contains("must be newer than the one read"), "{err}");
}

/// An address as the old code declares it, and as the new code does.
#[derive(onetable::Value, Debug, Clone, PartialEq)]
struct AddressV1 {
    city: String,
    street: String,
}

#[derive(onetable::Value, Debug, Clone, PartialEq)]
struct Address {
    city: String,
    country: String,
}

#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Shop", design = "0.1.0")]
#[key(pk = "SHOP#${id}", sk = "SHOP")]
struct ShopV1 {
    id: u32,
    address: AddressV1,
}

#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Shop", design = "0.2.0")]
#[key(pk = "SHOP#${id}", sk = "SHOP")]
struct Shop {
    id: u32,
    address: Address,
}

#[tokio::test]
async fn a_put_replaces_every_key_any_form_declares_keeps_the_others_and_refuses_unknown_forms() {
    let to_new =
        |s: ShopV1| Shop { id: s.id, address: Address { city: s.address.city, country: "FR".into() } };
    let new = common::table(|t| t.entity::<Shop>().upgrade(to_new)).await;
    let old = common::table_named(new.name(), |t| t.entity::<ShopV1>());
    old.model::<ShopV1>()
        .create(ShopV1 { id: 1, address: AddressV1 { city: "Lyon".into(), street: "Rue A".into() } })
        .await
        .unwrap();
    // Another service keeps a key of its own in the map.
    new.client()
        .update_item()
        .table_name(new.name())
        .key("pk", AttributeValue::S("SHOP#1".into()))
        .key("sk", AttributeValue::S("SHOP".into()))
        .update_expression("SET address.ext = :e")
        .expression_attribute_values(":e", AttributeValue::S("theirs".into()))
        .send()
        .await
        .unwrap();
    let shops = new.model::<Shop>();
    // A put over the old form, then over the new one: the new form's keys are the
    // put's, the key only the old form declared goes, another service's stays.
    for country in ["DE", "IT"] {
        shops
            .put(Shop { id: 1, address: Address { city: "Lyon".into(), country: country.into() } })
            .await
            .unwrap();
        let stored =
            common::scan_all(&new).await.into_iter().find(|i| i["pk"] == AttributeValue::S("SHOP#1".into()));
        let address = stored.unwrap()["address"].as_m().unwrap().clone();
        assert_eq!(address.get("country"), Some(&AttributeValue::S(country.into())), "{address:?}");
        assert_eq!(address.get("ext"), Some(&AttributeValue::S("theirs".into())), "{address:?}");
        assert!(!address.contains_key("street"), "{address:?}");
    }
    // Code that does not know the old form does not put over it.
    old.model::<ShopV1>()
        .create(ShopV1 { id: 2, address: AddressV1 { city: "Nice".into(), street: "Rue B".into() } })
        .await
        .unwrap();
    let bare = Table::builder(new.client().clone(), new.name()).entity::<Shop>().build().unwrap();
    let err = bare
        .model::<Shop>()
        .put(Shop { id: 2, address: Address { city: "Nice".into(), country: "FR".into() } })
        .await
        .unwrap_err();
    assert!(err.is_older_design(), "{err}");
}
