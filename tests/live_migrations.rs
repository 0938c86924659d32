//! Data migrations beside live traffic, against DynamoDB Local: 10,000 items, eight
//! application tasks writing through every write API (update, put, remove, batch
//! writes, transactions, `Rekey`) for the whole run, then the whole table compared
//! with a model of every acknowledged write. The transforms are not idempotent
//! (`passes + 1`, `hits + 1000`), so an item migrated twice shows, and they change
//! the very attribute the application increments, so a lost increment shows.

mod common;

use onetable::migrate::{Migration, Migrator, Rekey, DESIGN_ATTRIBUTE};
use onetable::{AttributeValue, Entity, Item, Table};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const ITEMS: u32 = 10_000;
const WORKERS: u32 = 8;

/// The counter as the old code writes it (its first design, unmarked).
#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Counter")]
#[key(pk = "COUNTER#${id}", sk = "COUNTER")]
struct CounterV1 {
    id: u32,
    passes: u32,
    hits: u32,
}

/// The counter in design 0.2.0, which the new code writes.
#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Counter", design = "0.2.0")]
#[key(pk = "COUNTER#${id}", sk = "COUNTER")]
struct Counter {
    id: u32,
    /// How many times the migration transformed the item: 1 afterwards, always.
    passes: u32,
    /// What the application counts: from 1000 on in the new design.
    hits: u32,
}

/// The migration's conversion: one pass, hits from 1000.
fn one_pass(c: CounterV1) -> Counter {
    Counter { id: c.id, passes: c.passes + 1, hits: c.hits + 1000 }
}

/// A small deterministic generator: each worker its own sequence.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u32) -> u32 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % u64::from(below)) as u32
    }

    /// An id of worker `w`'s own (ids are dealt to the workers round-robin).
    fn own(&mut self, w: u32) -> u32 {
        self.next(ITEMS / WORKERS) * WORKERS + w
    }

    /// `first` and two more distinct ids of worker `w`'s: one batch's items.
    fn three(&mut self, first: u32, w: u32) -> Vec<u32> {
        let mut ids = vec![first];
        while ids.len() < 3 {
            let other = self.own(w);
            if !ids.contains(&other) {
                ids.push(other);
            }
        }
        ids
    }
}

fn number(item: &Item, attribute: &str) -> u32 {
    item[attribute].as_n().unwrap().parse().unwrap()
}

/// What the application saw acknowledged, per item: its count (`hits` in the old
/// design, `hits - 1000` in the new), or `None` when removed.
type Model = BTreeMap<u32, Option<u32>>;

/// Runs `workers` application tasks until `stop`, each on ids of its own (so its
/// writes to an id are ordered and its model exact); returns the merged model.
struct Traffic {
    stop: Arc<AtomicBool>,
    failures: Arc<AtomicUsize>,
    acknowledged: Arc<AtomicUsize>,
    tasks: Vec<tokio::task::JoinHandle<Model>>,
}

impl Traffic {
    fn start<F, Fut>(worker: F) -> Traffic
    where
        F: Fn(u32, Arc<AtomicBool>, Arc<AtomicUsize>, Arc<AtomicUsize>) -> Fut,
        Fut: std::future::Future<Output = Model> + Send + 'static,
    {
        let (stop, failures, acknowledged) = (Arc::default(), Arc::default(), Arc::default());
        let tasks = (0..WORKERS)
            .map(|w| {
                tokio::spawn(worker(w, Arc::clone(&stop), Arc::clone(&failures), Arc::clone(&acknowledged)))
            })
            .collect();
        Traffic { stop, failures, acknowledged, tasks }
    }

    async fn finish(self) -> (Model, usize, usize) {
        self.stop.store(true, Ordering::Relaxed);
        let mut model = Model::new();
        for task in self.tasks {
            model.extend(task.await.unwrap());
        }
        (model, self.failures.load(Ordering::Relaxed), self.acknowledged.load(Ordering::Relaxed))
    }
}

fn failed(failures: &AtomicUsize, what: &str, e: impl std::fmt::Display) {
    eprintln!("application {what} failed: {e}");
    failures.fetch_add(1, Ordering::Relaxed);
}

/// One application task of the in-place test: new code (design 0.2.0), which writes
/// whole items in the new form (`passes: 1`, `hits` from 1000).
async fn counter_worker(
    table: Table,
    w: u32,
    stop: Arc<AtomicBool>,
    failures: Arc<AtomicUsize>,
    acknowledged: Arc<AtomicUsize>,
) -> Model {
    let counters = table.model::<Counter>();
    let mut model: Model = (0..ITEMS).filter(|id| id % WORKERS == w).map(|id| (id, Some(0))).collect();
    let mut rng = Lcg(u64::from(w) + 1);
    while !stop.load(Ordering::Relaxed) {
        let id = rng.own(w);
        let hits = model[&id];
        let ok = match (rng.next(10), hits) {
            // update: one more hit, the rest of the item untouched.
            (0..=3, Some(h)) => match counters.update(Counter::key(id)).add(Counter::HITS, 1).await {
                Ok(_) => {
                    model.insert(id, Some(h + 1));
                    true
                }
                Err(e) => {
                    failed(&failures, "update", e);
                    false
                }
            },
            // put: the whole item, in the new form.
            (0..=5, h) => {
                let next = h.unwrap_or(0) + 1;
                match counters.put(Counter { id, passes: 1, hits: next + 1000 }).await {
                    Ok(_) => {
                        model.insert(id, Some(next));
                        true
                    }
                    Err(e) => {
                        failed(&failures, "put", e);
                        false
                    }
                }
            }
            (6, Some(_)) => match counters.remove(Counter::key(id)).await {
                Ok(_) => {
                    model.insert(id, None);
                    true
                }
                Err(e) => {
                    failed(&failures, "remove", e);
                    false
                }
            },
            // A batch: puts of three items, or a removal among them.
            (6..=7, _) => {
                let ids = rng.three(id, w);
                let mut batch = table.batch_write();
                let mut after = Vec::new();
                for (i, id) in ids.iter().enumerate() {
                    if i == 2 && model[id].is_some() {
                        batch = batch.remove(Counter::key(*id));
                        after.push((*id, None));
                    } else {
                        let next = model[id].unwrap_or(0) + 1;
                        batch = batch.put(Counter { id: *id, passes: 1, hits: next + 1000 });
                        after.push((*id, Some(next)));
                    }
                }
                match batch.await {
                    Ok(_) => {
                        model.extend(after);
                        true
                    }
                    Err(e) => {
                        failed(&failures, "batch write", e);
                        false
                    }
                }
            }
            // A transaction: an update of one item and a put of another.
            (_, Some(h)) => {
                let other = rng.own(w);
                if other == id {
                    continue;
                }
                let next = model[&other].unwrap_or(0) + 1;
                let result = table
                    .transaction()
                    .update(counters.update(Counter::key(id)).add(Counter::HITS, 1))
                    .put(counters.put(Counter { id: other, passes: 1, hits: next + 1000 }))
                    .await;
                match result {
                    Ok(()) => {
                        model.insert(id, Some(h + 1));
                        model.insert(other, Some(next));
                        true
                    }
                    Err(e) => {
                        failed(&failures, "transaction", e);
                        false
                    }
                }
            }
            (_, None) => continue,
        };
        if ok {
            acknowledged.fetch_add(1, Ordering::Relaxed);
        }
    }
    model
}

fn count_a_pass(table: &Table) -> Migrator {
    Migrator::new(table.clone()).migration(Migration::new("0.2.0", "count a pass").up(|ctx| async move {
        ctx.transform("passes", |c: CounterV1| Some(one_pass(c))).segments(4).run().await.map(|_| ())
    }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_in_place_transform_under_every_write_api_loses_no_write_and_migrates_each_item_once() {
    // Written by the old code: no design marker.
    let old = common::table(|t| t.entity::<CounterV1>()).await;
    let mut batch = old.batch_write().concurrency(8);
    for id in 0..ITEMS {
        batch = batch.put(CounterV1 { id, passes: 0, hits: 0 });
    }
    batch.await.unwrap();
    // The application runs the code for the new design while the migration runs: it
    // knows the migration's conversion, so a write of an item the migration has not
    // reached upgrades it first.
    let table = Table::builder(old.client().clone(), old.name())
        .entity::<Counter>()
        .upgrade(one_pass)
        .build()
        .unwrap();

    let traffic = Traffic::start(|w, stop, failures, acknowledged| {
        counter_worker(table.clone(), w, stop, failures, acknowledged)
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let ran = count_a_pass(&table).up(None).await.unwrap();
    let (model, failures, acknowledged) = traffic.finish().await;

    assert_eq!(failures, 0, "no application request failed");
    assert!(acknowledged > 500, "the application kept writing: {acknowledged} writes");
    let items = common::scan_all(&table).await;
    let counters: BTreeMap<u32, &Item> = items
        .iter()
        .filter(|i| i["_type"].as_s().unwrap() == "Counter")
        .map(|i| (number(i, "id"), i))
        .collect();
    let mut lost = Vec::new();
    for (id, expected) in &model {
        match (expected, counters.get(id)) {
            (Some(hits), Some(item)) => {
                if number(item, "hits") != hits + 1000 {
                    lost.push(format!("{id}: hits {} != 1000 + {hits}", number(item, "hits")));
                }
                assert_eq!(number(item, "passes"), 1, "item {id} migrated exactly once: {item:?}");
                assert_eq!(item[DESIGN_ATTRIBUTE].as_s().unwrap(), "0.2.0", "item {id} says its design");
            }
            (None, None) => {}
            (expected, found) => lost.push(format!("{id}: expected {expected:?}, found {found:?}")),
        }
    }
    assert!(lost.is_empty(), "{} acknowledged writes lost: {:?}", lost.len(), &lost[..lost.len().min(10)]);
    assert_eq!(counters.len(), model.values().filter(|v| v.is_some()).count());
    let migrated = ran[0].items;
    assert!(migrated > 0 && migrated <= u64::from(ITEMS), "{migrated} migrated");
    eprintln!(
        "in place: {acknowledged} application writes, {migrated} migrated, {} verified, {:.0} write units",
        ran[0].verified, ran[0].write_units
    );
}

/// Members before: one partition each.
#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Member")]
#[key(pk = "MEMBER#${id}", sk = "MEMBER")]
struct MemberV1 {
    id: u32,
    team: String,
    visits: u32,
    passes: u32,
}

/// Members after: in their team's partition.
#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Member", design = "0.2.0")]
#[key(pk = "TEAM#${team}", sk = "MEMBER#${id}")]
struct Member {
    id: u32,
    team: String,
    visits: u32,
    passes: u32,
}

fn team(id: u32) -> String {
    format!("t{}", id % 50)
}

fn moved(m: MemberV1) -> Member {
    Member { id: m.id, team: m.team, visits: m.visits, passes: m.passes + 1 }
}

/// One application task of the re-key test: new code, reading and writing through
/// `Rekey`, and writing whole new-form items in batches and transactions.
async fn member_worker(
    table: Table,
    w: u32,
    stop: Arc<AtomicBool>,
    failures: Arc<AtomicUsize>,
    acknowledged: Arc<AtomicUsize>,
) -> Model {
    let members = Rekey::new(&table, moved);
    let (model_of, old_model) = (table.model::<Member>(), table.model::<MemberV1>());
    let mut model: Model = (0..ITEMS).filter(|id| id % WORKERS == w).map(|id| (id, Some(0))).collect();
    let mut rng = Lcg(u64::from(w) + 100);
    let fresh = |id: u32, visits: u32| Member { id, team: team(id), visits, passes: 1 };
    while !stop.load(Ordering::Relaxed) {
        let id = rng.own(w);
        let visits = model[&id];
        let ok = match (rng.next(10), visits) {
            (0..=2, Some(v)) => {
                let result = members
                    .update(Member::key(team(id), id), MemberV1::key(id), |u| u.add(Member::VISITS, 1))
                    .await;
                match result {
                    Ok(m) if m.visits == v + 1 => {
                        model.insert(id, Some(v + 1));
                        true
                    }
                    Ok(m) => {
                        failed(&failures, "rekey update", format!("{id}: visits {} after {v}", m.visits));
                        false
                    }
                    Err(e) => {
                        failed(&failures, "rekey update", e);
                        false
                    }
                }
            }
            (0..=4, Some(v)) => match members.get(Member::key(team(id), id), MemberV1::key(id)).await {
                Ok(Some(m)) => {
                    match members.put(Member { visits: m.visits + 1, ..m }, MemberV1::key(id)).await {
                        Ok(_) => {
                            model.insert(id, Some(v + 1));
                            true
                        }
                        Err(e) => {
                            failed(&failures, "rekey put", e);
                            false
                        }
                    }
                }
                other => {
                    failed(&failures, "rekey get", format!("{id}: {other:?}"));
                    false
                }
            },
            (5, Some(_)) => match members.remove(Member::key(team(id), id), MemberV1::key(id)).await {
                Ok(()) => {
                    model.insert(id, None);
                    true
                }
                Err(e) => {
                    failed(&failures, "rekey remove", e);
                    false
                }
            },
            // Old code, not on `Rekey` yet, updating the old form in place: until the
            // item moves (then it no longer finds it, as old code cannot).
            (6, Some(v)) => {
                match table.model::<MemberV1>().update(MemberV1::key(id)).add(MemberV1::VISITS, 1).await {
                    Ok(_) => {
                        model.insert(id, Some(v + 1));
                        true
                    }
                    Err(e) if e.is_not_found() => continue,
                    Err(e) => {
                        failed(&failures, "old-code update", e);
                        false
                    }
                }
            }
            // Whole new-form items in a batch, with the old form's removal: how code
            // outside `Rekey` writes during a re-key.
            (5..=7, _) => {
                let ids = rng.three(id, w);
                let mut batch = table.batch_write();
                let mut after = Vec::new();
                for id in ids {
                    let next = model[&id].unwrap_or(0) + 1;
                    batch = batch.put(fresh(id, next)).remove(MemberV1::key(id));
                    after.push((id, Some(next)));
                }
                match batch.await {
                    Ok(_) => {
                        model.extend(after);
                        true
                    }
                    Err(e) => {
                        failed(&failures, "batch write", e);
                        false
                    }
                }
            }
            // A transaction of two whole new-form items, removing their old forms.
            (_, _) => {
                let other = rng.own(w);
                if other == id {
                    continue;
                }
                let (a, b) = (model[&id].unwrap_or(0) + 1, model[&other].unwrap_or(0) + 1);
                let result = table
                    .transaction()
                    .put(model_of.put(fresh(id, a)))
                    .remove(old_model.remove(MemberV1::key(id)))
                    .put(model_of.put(fresh(other, b)))
                    .remove(old_model.remove(MemberV1::key(other)))
                    .await;
                match result {
                    Ok(()) => {
                        model.insert(id, Some(a));
                        model.insert(other, Some(b));
                        true
                    }
                    Err(e) => {
                        failed(&failures, "transaction", e);
                        false
                    }
                }
            }
        };
        if ok {
            acknowledged.fetch_add(1, Ordering::Relaxed);
        }
    }
    model
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rekey_under_every_write_api_loses_no_write_and_moves_each_item_once() {
    let old = common::table(|t| t.entity::<MemberV1>()).await;
    let mut batch = old.batch_write().concurrency(8);
    for id in 0..ITEMS {
        batch = batch.put(MemberV1 { id, team: team(id), visits: 0, passes: 0 });
    }
    batch.await.unwrap();
    let table = Table::builder(old.client().clone(), old.name()).entity::<Member>().build().unwrap();

    let traffic = Traffic::start(|w, stop, failures, acknowledged| {
        member_worker(table.clone(), w, stop, failures, acknowledged)
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let migrator = Migrator::new(table.clone()).migration(
        Migration::new("0.2.0", "members move into their team").up(|ctx| async move {
            ctx.transform("rekey", |m: MemberV1| Some(moved(m))).segments(4).run().await.map(|_| ())
        }),
    );
    let ran = migrator.up(None).await.unwrap();
    let (model, failures, acknowledged) = traffic.finish().await;

    assert_eq!(failures, 0, "no application request failed");
    assert!(acknowledged > 500, "the application kept writing: {acknowledged} writes");
    let items = common::scan_all(&table).await;
    let members: Vec<&Item> = items.iter().filter(|i| i["_type"].as_s().unwrap() == "Member").collect();
    let old_form: Vec<_> =
        members.iter().filter(|i| i["pk"].as_s().unwrap().starts_with("MEMBER#")).collect();
    assert!(old_form.is_empty(), "{} items left in the old form", old_form.len());
    let by_id: BTreeMap<u32, &Item> = members.iter().map(|i| (number(i, "id"), *i)).collect();
    assert_eq!(by_id.len(), members.len(), "no member twice");
    let mut lost = Vec::new();
    for (id, expected) in &model {
        match (expected, by_id.get(id)) {
            (Some(visits), Some(item)) => {
                if number(item, "visits") != *visits {
                    lost.push(format!("{id}: visits {} != {visits}", number(item, "visits")));
                }
                assert_eq!(number(item, "passes"), 1, "member {id} moved exactly once: {item:?}");
            }
            (None, None) => {}
            (expected, found) => lost.push(format!("{id}: expected {expected:?}, found {found:?}")),
        }
    }
    assert!(lost.is_empty(), "{} acknowledged writes lost: {:?}", lost.len(), &lost[..lost.len().min(10)]);
    eprintln!(
        "re-key: {acknowledged} application writes, {} moved, {} verified, {:.0} write units",
        ran[0].items, ran[0].verified, ran[0].write_units
    );
}

/// Old code still writing the old form after the scan passed: the final pass finds
/// those items before the migration is recorded as applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_written_in_the_old_form_behind_the_scan_are_migrated_by_the_final_pass() {
    const N: u32 = 2_000;
    let table = common::table(|t| t.entity::<Counter>()).await;
    // The old deployment's code: the first design, which checks no form.
    let old = common::table_named(table.name(), |t| t.entity::<CounterV1>());
    let mut batch = old.batch_write().concurrency(8);
    for id in 0..N {
        batch = batch.put(CounterV1 { id, passes: 0, hits: 0 });
    }
    batch.await.unwrap();
    // When the scan has handed the transform its last item, an old deployment
    // rewrites twenty items in the old form (no marker): behind the scan.
    let behind: Vec<u32> = (0..20).map(|i| i * 97).collect();
    let calls = Arc::new(AtomicUsize::new(0));
    let migrator = Migrator::new(table.clone()).migration(Migration::new("0.2.0", "count a pass").up({
        let (old_code, behind, calls) = (old.clone(), behind.clone(), calls.clone());
        move |ctx| {
            let (old_code, behind, calls) = (old_code.clone(), behind.clone(), calls.clone());
            async move {
                ctx.transform("passes", move |c: CounterV1| {
                    if calls.fetch_add(1, Ordering::SeqCst) + 1 == N as usize {
                        let (old_code, behind) = (old_code.clone(), behind.clone());
                        common::complete(async move {
                            for id in &behind {
                                let counters = old_code.model::<CounterV1>();
                                counters.put(CounterV1 { id: *id, passes: 0, hits: 7 }).await.unwrap();
                            }
                        });
                    }
                    Some(one_pass(c))
                })
                .segments(2)
                .run()
                .await
                .map(|_| ())
            }
        }
    }));
    let ran = migrator.up(None).await.unwrap();
    let counters = table.model::<Counter>().scan().await.unwrap();
    assert_eq!(counters.len(), N as usize);
    for c in &counters {
        assert_eq!(c.passes, 1, "every item in the new form, once: {c:?}");
        let hits = if behind.contains(&c.id) { 1007 } else { 1000 };
        assert_eq!(c.hits, hits, "the old code's write stands: {c:?}");
    }
    // Items rewritten after their migration landed were migrated again by a final
    // pass (those whose old-form write came first were retried on the spot).
    assert!(
        ran[0].items > u64::from(N),
        "the final pass migrated what was behind the scan: {}",
        ran[0].items
    );
    assert!(
        ran[0].verified >= u64::from(N) - 20,
        "the final pass saw the rest migrated: {}",
        ran[0].verified
    );
    let record = migrator.status().await.unwrap().applied.pop().unwrap();
    assert_eq!((record.items, record.verified), (ran[0].items, ran[0].verified));
}

/// `Rekey` keeps optimistic locking: two writers who read the same version, one wins.
#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Doc")]
#[key(pk = "DOC#${id}", sk = "DOC")]
struct DocV1 {
    id: String,
    folder: String,
    body: String,
    #[attr(version)]
    version: u64,
}

#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Doc")]
#[key(pk = "FOLDER#${folder}", sk = "DOC#${id}")]
struct Doc {
    id: String,
    folder: String,
    body: String,
    #[attr(version)]
    version: u64,
}

#[tokio::test]
async fn rekey_checks_and_increments_the_version_in_either_form() {
    let old = common::table(|t| t.entity::<DocV1>()).await;
    old.model::<DocV1>()
        .create(DocV1 { id: "d".into(), folder: "f".into(), body: "v1".into(), version: 0 })
        .await
        .unwrap();
    let table = Table::builder(old.client().clone(), old.name()).entity::<Doc>().build().unwrap();
    let docs =
        Rekey::new(&table, |d: DocV1| Doc { id: d.id, folder: d.folder, body: d.body, version: d.version });
    let (new_key, old_key) = (|| Doc::key("f", "d"), || DocV1::key("d"));

    // Both read version 1 from the old form; the first write moves it, the second
    // finds version 2.
    let a = docs.get(new_key(), old_key()).await.unwrap().unwrap();
    let b = docs.get(new_key(), old_key()).await.unwrap().unwrap();
    assert_eq!((a.version, b.version), (1, 1));
    let written = docs.put(Doc { body: "a".into(), ..a }, old_key()).await.unwrap();
    assert_eq!(written.version, 2);
    let err = docs.put(Doc { body: "b".into(), ..b }, old_key()).await.unwrap_err();
    assert!(err.is_version_conflict(), "{err}");

    // In the new form: the same rule.
    let c = docs.get(new_key(), old_key()).await.unwrap().unwrap();
    assert_eq!((c.body.as_str(), c.version), ("a", 2));
    docs.put(Doc { body: "c".into(), ..c.clone() }, old_key()).await.unwrap();
    assert!(docs.put(Doc { body: "stale".into(), ..c }, old_key()).await.unwrap_err().is_version_conflict());

    // update and remove work on either form.
    let updated =
        docs.update(new_key(), old_key(), |u| u.set(Doc::BODY, "updated".to_owned())).await.unwrap();
    assert_eq!((updated.body.as_str(), updated.version), ("updated", 4));
    docs.remove(new_key(), old_key()).await.unwrap();
    assert_eq!(docs.get(new_key(), old_key()).await.unwrap(), None);

    // An item still in the old form is moved by update, then updated.
    old.model::<DocV1>()
        .create(DocV1 { id: "d".into(), folder: "f".into(), body: "old".into(), version: 0 })
        .await
        .unwrap();
    let updated = docs.update(new_key(), old_key(), |u| u.set(Doc::BODY, "moved".to_owned())).await.unwrap();
    assert_eq!(updated.body, "moved");
    let raw = common::scan_all(&table).await;
    let docs_left: Vec<_> = raw.iter().filter(|i| i["_type"] == AttributeValue::S("Doc".into())).collect();
    assert_eq!(docs_left.len(), 1, "one form only: {docs_left:?}");
    assert!(docs_left[0]["pk"].as_s().unwrap().starts_with("FOLDER#"));
}

/// Before: one name.
#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Person")]
#[key(pk = "TEAM#${team}", sk = "PERSON#${id}")]
struct PersonV1 {
    team: String,
    id: u32,
    name: String,
}

/// After: first and last name, in place (same keys).
#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Person", design = "0.2.0")]
#[key(pk = "TEAM#${team}", sk = "PERSON#${id}")]
struct Person {
    team: String,
    id: u32,
    first: String,
    last: String,
}

fn split(p: PersonV1) -> Person {
    let (first, last) = p.name.split_once(' ').unwrap_or((&p.name, ""));
    Person { team: p.team.clone(), id: p.id, first: first.to_owned(), last: last.to_owned() }
}

/// Upgrade on read: while an in-place migration runs, the new code reads every item in
/// the new form (finds and gets), whether the migration has reached it or not, and
/// what it writes in the new form is left alone by the migration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_code_reads_every_item_in_the_new_form_while_the_migration_runs() {
    let old = common::table(|t| t.entity::<PersonV1>()).await;
    let mut batch = old.batch_write().concurrency(8);
    for id in 0..2_000 {
        batch = batch.put(PersonV1 { team: format!("t{}", id % 4), id, name: format!("First{id} Last{id}") });
    }
    batch.await.unwrap();
    let table =
        Table::builder(old.client().clone(), old.name()).entity::<Person>().upgrade(split).build().unwrap();
    let migrator =
        Migrator::new(table.clone()).migration(Migration::new("0.2.0", "split names").up(|ctx| async move {
            ctx.transform("split", |p: PersonV1| Some(split(p))).rate_limit(1_000.0).run().await.map(|_| ())
        }));
    let running = tokio::spawn(async move { migrator.up(None).await });

    let model = table.model::<Person>();
    let mut rounds = 0;
    while !running.is_finished() || rounds == 0 {
        rounds += 1;
        let id = rounds * 37 % 2_000;
        let team = format!("t{}", id % 4);
        // New code writes the new form, stamped with its design: the migration leaves it.
        model
            .put(Person { team: team.clone(), id, first: format!("New{id}"), last: "Name".into() })
            .await
            .unwrap();
        let page = model.find(Person::partition(&team)).consistent().await.unwrap();
        assert_eq!(page.items.len(), 500, "every item of the partition, in either form");
        for p in &page.items {
            let expected = if p.first.starts_with("New") {
                ("Name".to_owned(), p.first.clone())
            } else {
                (format!("Last{}", p.id), format!("First{}", p.id))
            };
            assert_eq!((p.last.clone(), p.first.clone()), expected, "{p:?}");
        }
        let got = model.get(Person::key(&team, id)).consistent().await.unwrap().unwrap();
        assert_eq!(got.first, format!("New{id}"));
    }
    running.await.unwrap().unwrap();
    assert!(rounds > 3, "read while the migration ran: {rounds} rounds");
    // Afterwards every item reads as `Person` directly; the ones new code wrote kept.
    let all = model.scan().await.unwrap();
    assert_eq!(all.len(), 2_000);
    let rewritten = all.iter().filter(|p| p.first.starts_with("New")).count();
    assert_eq!(
        rewritten,
        (1..=rounds).map(|r| r * 37 % 2_000).collect::<std::collections::BTreeSet<_>>().len()
    );
}

/// Every kind of value an item can hold, compared by the migration's condition.
#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Profile", timestamps)]
#[key(pk = "PROFILE#${id}", sk = "PROFILE")]
struct Profile {
    id: u32,
    tags: Vec<String>,
    prefs: std::collections::BTreeMap<String, String>,
    roles: std::collections::BTreeSet<String>,
    avatar: Vec<u8>,
    ratio: f64,
    active: bool,
    nick: Option<String>,
    #[attr(map = "data.city")]
    city: String,
    visits: u32,
}

/// The whole-image condition holds on lists, maps, sets, binary, numbers, packed map
/// fields and timestamps: each item is rewritten at the first try, and a concurrent
/// change to any of them is caught.
#[tokio::test]
async fn the_condition_compares_every_kind_of_value() {
    let table = common::table(|t| t.entity::<Profile>()).await;
    let profiles = table.model::<Profile>();
    let mut batch = table.batch_write();
    for id in 0..50 {
        batch = batch.put(Profile {
            id,
            tags: vec!["a".into(), "b b".into()],
            prefs: [("theme".to_owned(), "dark".to_owned())].into(),
            roles: ["admin".to_owned(), "dev".to_owned()].into(),
            avatar: vec![0, 1, 254, 255],
            ratio: 0.1,
            active: id % 2 == 0,
            nick: (id % 3 == 0).then(|| format!("n{id}")),
            city: "Lyon".into(),
            visits: 0,
        });
    }
    batch.await.unwrap();
    let stamps = |items: Vec<Item>| -> BTreeMap<String, (String, String)> {
        items
            .iter()
            .filter(|i| i["pk"].as_s().unwrap().starts_with("PROFILE#"))
            .map(|i| {
                let n = |a: &str| i[a].as_n().unwrap().clone();
                (i["pk"].as_s().unwrap().clone(), (n("created"), n("updated")))
            })
            .collect()
    };
    let before = stamps(common::scan_all(&table).await);
    let calls = Arc::new(AtomicUsize::new(0));
    let migrator = Migrator::new(table.clone()).migration(Migration::new("0.2.0", "one more visit").up({
        let calls = calls.clone();
        move |ctx| {
            let calls = calls.clone();
            async move {
                ctx.transform("visits", move |p: Profile| {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Some(Profile { visits: p.visits + 1, ..p })
                })
                .run()
                .await
                .map(|_| ())
            }
        }
    }));
    let ran = migrator.up(None).await.unwrap();
    assert_eq!(ran[0].items, 50);
    assert_eq!(calls.load(Ordering::SeqCst), 50, "no condition failed on an unchanged item");
    assert_eq!(stamps(common::scan_all(&table).await), before, "a migration keeps created and updated");
    for p in profiles.scan().await.unwrap() {
        assert_eq!(p.visits, 1);
        assert_eq!((p.city.as_str(), p.avatar.as_slice(), p.ratio), ("Lyon", &[0u8, 1, 254, 255][..], 0.1));
    }
}
