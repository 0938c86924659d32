//! The migration engine against DynamoDB Local: every command, up then down restoring
//! the table exactly, dry runs writing nothing, two migrators kept apart by the lock,
//! edited and failed migrations stopping `up`, and a data migration of 10,000 items
//! killed midway that resumes and migrates every item exactly once.

mod common;

use common::Counter;

use onetable::migrate::MigrateErrorExt;
use onetable::migrate::{Change, Migration, Migrations, Migrator, Outcome};
use onetable::{Entity, Table};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Drives a migration run until `started` reaches `at` items, then drops it, as a
/// killed process stops: boxed, so that dropping it drops the run and its heartbeat.
async fn kill_once<T: std::fmt::Debug>(
    run: impl std::future::Future<Output = T>,
    started: &AtomicUsize,
    at: usize,
) {
    let mut run = Box::pin(run);
    while started.load(Ordering::Relaxed) < at {
        tokio::select! {
            ended = &mut run => panic!("the run was still going, yet it ended: {ended:?}"),
            _ = tokio::time::sleep(Duration::from_millis(20)) => {}
        }
    }
}

/// The lease of a migrator a test does not kill or stop: past any stall a loaded
/// machine gives its heartbeat, so only the process the test interrupts loses a lock.
const LONG_LEASE: Duration = Duration::from_secs(60);

#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Account")]
#[key(pk = "ACCOUNT#${id}", sk = "ACCOUNT")]
struct Account {
    id: String,
    plan: String,
    #[attr(default)]
    seats: u32,
}

async fn app() -> Table {
    common::table(|t| t.entity::<Account>().entity::<Counter>()).await
}

/// Every item of the table, by key, as text: to compare whole tables.
async fn snapshot(table: &Table, with_history: bool) -> BTreeMap<String, String> {
    let mut all = BTreeMap::new();
    for item in common::scan_all(table).await {
        let pk = item["pk"].as_s().unwrap().clone();
        if !with_history && (pk == "_migration" || pk == "_schema") {
            continue;
        }
        let sk = item["sk"].as_s().unwrap();
        all.insert(format!("{pk}|{sk}"), common::canonical(&onetable::AttributeValue::M(item.clone())));
    }
    all
}

/// A snapshot without the design marker that migrated items carry.
fn without_design(snapshot: BTreeMap<String, String>) -> BTreeMap<String, String> {
    snapshot
        .into_iter()
        .map(|(k, v)| {
            let v = match v.find("_design=S(") {
                Some(at) => {
                    let end = v[at..].find(");").map_or(v.len(), |e| at + e + 2);
                    format!("{}{}", &v[..at], &v[end..])
                }
                None => v,
            };
            (k, v)
        })
        .collect()
}

/// Three migrations: seed accounts; rewrite every account (data migration); an
/// irreversible one.
fn migrations(table: &Table) -> Migrator {
    Migrator::new(table.clone())
        .migration(
            Migration::new("0.1.0", "seed accounts")
                .up(|ctx| async move {
                    let accounts = ctx.table().model::<Account>();
                    for id in ["a", "b", "c"] {
                        if !ctx.is_dry_run() {
                            accounts.create(Account { id: id.into(), plan: "free".into(), seats: 1 }).await?;
                        }
                        ctx.count(1);
                    }
                    Ok(())
                })
                .down(|ctx| async move {
                    let accounts = ctx.table().model::<Account>();
                    for id in ["a", "b", "c"] {
                        if !ctx.is_dry_run() {
                            accounts.remove(Account::key(id)).await?;
                        }
                        ctx.count(1);
                    }
                    Ok(())
                }),
        )
        .migration(
            Migration::new("0.2.0", "plans get seats")
                .up(|ctx| async move {
                    ctx.transform("seats", |a: Account| {
                        Some(Account { plan: format!("{}-v2", a.plan), seats: a.seats * 10, ..a })
                    })
                    .run()
                    .await
                    .map(|_| ())
                })
                .down(|ctx| async move {
                    ctx.transform("seats", |a: Account| {
                        Some(Account {
                            plan: a.plan.trim_end_matches("-v2").to_owned(),
                            seats: a.seats / 10,
                            ..a
                        })
                    })
                    .run()
                    .await
                    .map(|_| ())
                }),
        )
}

#[tokio::test]
async fn every_command_and_up_then_down_restores_the_table_exactly() {
    let table = app().await;
    table
        .model::<Account>()
        .create(Account { id: "kept".into(), plan: "pro".into(), seats: 3 })
        .await
        .unwrap();
    let before = snapshot(&table, false).await;
    let migrator = migrations(&table);

    let status = migrator.status().await.unwrap();
    assert_eq!(status.current, None);
    assert_eq!(status.outstanding.iter().map(ToString::to_string).collect::<Vec<_>>(), ["0.1.0", "0.2.0"]);

    let ran = migrator.up(Some("0.1.0")).await.unwrap();
    assert_eq!(ran.len(), 1);
    assert_eq!(ran[0].items, 3);
    let ran = migrator.up(None).await.unwrap();
    assert_eq!((ran[0].version.to_string(), ran[0].items), ("0.2.0".into(), 4), "four accounts rewritten");
    let status = migrator.status().await.unwrap();
    assert_eq!(status.current.unwrap().to_string(), "0.2.0");
    assert!(status.outstanding.is_empty() && status.failed.is_none() && status.edited.is_empty());
    let kept = table.model::<Account>().get(Account::key("kept")).await.unwrap().unwrap();
    assert_eq!((kept.plan.as_str(), kept.seats), ("pro-v2", 30));
    // History in OneTable's _Migration format.
    let history = table
        .client()
        .query()
        .table_name(table.name())
        .key_condition_expression("pk = :p AND begins_with(sk, :s)")
        .expression_attribute_values(":p", onetable::AttributeValue::S("_migration".into()))
        .expression_attribute_values(":s", onetable::AttributeValue::S("_migration:0.2.0:".into()))
        .send()
        .await
        .unwrap();
    let record = &history.items()[0];
    assert_eq!(record["_type"].as_s().unwrap(), "_Migration");
    assert_eq!(record["version"].as_s().unwrap(), "0.2.0");
    assert_eq!(record["status"].as_s().unwrap(), "success", "as onetable-migrate writes it");
    assert_eq!(record["path"].as_s().unwrap(), "memory", "a migration built in code");
    assert_eq!(record["items"].as_n().unwrap(), "4");

    // down --to: back to 0.1.0, and up again.
    let ran = migrator.down_to("0.1.0").await.unwrap();
    assert_eq!(ran.iter().map(|r| r.version.to_string()).collect::<Vec<_>>(), ["0.2.0"]);
    assert_eq!(migrator.status().await.unwrap().current.unwrap().to_string(), "0.1.0");
    migrator.up(None).await.unwrap();

    // repeat: down and up of the latest.
    let ran = migrator.repeat().await.unwrap();
    assert_eq!(ran.iter().map(|r| r.direction.label()).collect::<Vec<_>>(), ["down", "up"]);
    let kept = table.model::<Account>().get(Account::key("kept")).await.unwrap().unwrap();
    assert_eq!(kept.seats, 30, "applied once again, not twice");

    // reset is guarded; down everything restores the table exactly.
    assert!(migrator.reset(false).await.unwrap_err().is_migration());
    let ran = migrator.reset(true).await.unwrap();
    assert_eq!(ran.iter().map(|r| r.version.to_string()).collect::<Vec<_>>(), ["0.2.0", "0.1.0"]);
    let after = snapshot(&table, false).await;
    // The item says which design it is in now: the one below 0.2.0.
    assert!(after["ACCOUNT#kept|ACCOUNT"].contains("_design=S(\"0.1.0\")"), "{after:?}");
    assert_eq!(without_design(after), before);
    assert_eq!(migrator.status().await.unwrap().current, None);
}

#[tokio::test]
async fn a_dry_run_reports_the_plan_and_writes_nothing() {
    let table = app().await;
    let migrator = migrations(&table);
    migrator.up(Some("0.1.0")).await.unwrap();
    let before = snapshot(&table, true).await;
    let dry = migrations(&table).dry_run(true);
    let plan = dry.up(None).await.unwrap();
    assert_eq!(plan.len(), 1);
    assert_eq!(
        (plan[0].version.to_string(), plan[0].items),
        ("0.2.0".into(), 3),
        "three accounts would change"
    );
    let plan = dry.down(1).await.unwrap();
    assert_eq!(plan[0].version.to_string(), "0.1.0");
    let plan = dry.repeat().await.unwrap();
    assert_eq!(
        plan.iter().map(|r| format!("{} {}", r.direction, r.version)).collect::<Vec<_>>(),
        ["down 0.1.0", "up 0.1.0"],
        "a dry run of repeat shows both steps"
    );
    assert_eq!(snapshot(&table, true).await, before, "not a single write, the lock included");

    // A step that forgets to check for a dry run cannot write either: it fails.
    let careless =
        Migrator::new(table.clone()).migration(Migration::new("0.5.0", "careless").up(|ctx| async move {
            ctx.table()
                .model::<Account>()
                .create(Account { id: "z".into(), plan: "x".into(), seats: 0 })
                .await
                .map(|_| ())
        }));
    let err = careless.dry_run(true).up(None).await.unwrap_err();
    assert!(err.is_read_only(), "{err}");
    assert_eq!(snapshot(&table, true).await, before);

    // Nor can one that builds a table of its own from the context's client, or sends
    // requests through the SDK directly: the client refuses writes before sending.
    let own_table = Migration::new("0.6.0", "own table").up(|ctx| async move {
        let own =
            Table::builder(ctx.table().client().clone(), ctx.table().name()).entity::<Account>().build()?;
        assert_eq!(own.model::<Account>().scan().await?.len(), 3, "reads work");
        own.model::<Account>()
            .create(Account { id: "y".into(), plan: "x".into(), seats: 0 })
            .await
            .map(|_| ())
    });
    let raw = Migration::new("0.7.0", "raw SDK").up(|ctx| async move {
        let client = ctx.table().client();
        let put = client
            .put_item()
            .table_name(ctx.table().name())
            .item("pk", onetable::AttributeValue::S("RAW".into()))
            .item("sk", onetable::AttributeValue::S("RAW".into()))
            .send()
            .await;
        let delete = client.delete_table().table_name(ctx.table().name()).send().await;
        assert!(put.is_err() && delete.is_err(), "both refused");
        Err(onetable::Error::other("refused"))
    });
    for step in [own_table, raw] {
        let err = Migrator::new(table.clone()).migration(step).dry_run(true).up(None).await.unwrap_err();
        assert!(err.is_read_only() || err.to_string().contains("refused"), "{err}");
    }
    assert_eq!(snapshot(&table, true).await, before, "byte for byte");
}

#[tokio::test]
async fn two_migrators_started_together_one_runs_the_other_is_told_who_holds_the_lock() {
    let table = app().await;
    // The running step holds the lock until the other migrator has been refused, however
    // long this machine takes to get there.
    let gate = Arc::new(tokio::sync::Notify::new());
    let slow = |owner: &str| {
        let gate = gate.clone();
        // Told at once rather than waiting (the default): this test is about being told.
        Migrator::new(table.clone()).owner(owner).wait(Duration::ZERO).migration(
            Migration::new("0.1.0", "slow").up(move |_| {
                let gate = gate.clone();
                async move {
                    gate.notified().await;
                    Ok(())
                }
            }),
        )
    };
    let (a, b) = (slow("deploy-a"), slow("deploy-b"));
    let mut a = tokio::spawn(async move { a.up(None).await });
    let mut b = tokio::spawn(async move { b.up(None).await });
    let first = tokio::time::timeout(Duration::from_secs(120), async {
        tokio::select! {
            r = &mut a => (r.unwrap(), b),
            r = &mut b => (r.unwrap(), a),
        }
    })
    .await
    .expect("neither migrator was refused");
    let (refused, running) = first;
    let err = refused.expect_err("exactly one should run");
    assert!(err.is_locked(), "{err}");
    assert!(err.to_string().contains("deploy-"), "the holder is named: {err}");
    gate.notify_one();
    assert_eq!(running.await.unwrap().unwrap().len(), 1);
    // Released after the run: the next migrator goes ahead (nothing left to do).
    assert!(slow("deploy-c").up(None).await.unwrap().is_empty());
}

#[tokio::test]
async fn edited_and_failed_migrations_stop_up_until_resolved() {
    let table = app().await;
    migrations(&table).up(Some("0.1.0")).await.unwrap();
    // The same version with other code: reported before anything runs.
    let edited = Migrator::new(table.clone())
        .migration(Migration::new("0.1.0", "seed accounts").source("changed").up(|_| async { Ok(()) }));
    assert_eq!(edited.status().await.unwrap().edited.len(), 1);
    assert!(edited.up(None).await.unwrap_err().to_string().contains("edited"));

    let failing = |fail: bool| {
        migrations(&table).migration(Migration::new("0.3.0", "fails once").up(move |_| async move {
            if fail {
                Err(onetable::ErrorKind::Schema("boom".into()).into())
            } else {
                Ok(())
            }
        }))
    };
    let err = failing(true).up(None).await.unwrap_err();
    assert!(err.is_migration() && err.is_failed() && err.to_string().contains("boom"), "{err}");
    // The step's own error stays reachable, with its kind.
    let step = std::error::Error::source(&err).expect("the step's error is the source");
    assert!(step.to_string().contains("boom"), "{step}");
    let status = failing(true).status().await.unwrap();
    let failed = status.failed.expect("recorded as failed");
    assert_eq!((failed.version.to_string(), failed.outcome), ("0.3.0".into(), Outcome::Failed));
    assert!(failed.error.unwrap().contains("boom"));
    // up refuses until retried (or repaired).
    let blocked = failing(false).up(None).await.unwrap_err();
    assert!(blocked.is_blocked() && blocked.to_string().contains("retry"), "{blocked}");
    failing(false).retry(None).await.unwrap();
    let status = failing(false).status().await.unwrap();
    assert!(status.failed.is_none() && status.current.unwrap().to_string() == "0.3.0");

    // An irreversible migration says so.
    let irreversible =
        migrations(&table).migration(Migration::new("0.3.0", "fails once").up(|_| async { Ok(()) }));
    let err = irreversible.down(1).await.unwrap_err();
    assert!(err.is_irreversible() && err.to_string().contains("0.3.0"), "{err}");
    // Code older than the table's design does not know its latest migration.
    let older =
        Migrator::new(table.clone()).migration(Migration::new("0.1.0", "seed").up(|_| async { Ok(()) }));
    let err = older.down(1).await.unwrap_err();
    assert!(err.is_unknown_version() && err.to_string().contains("0.3.0"), "{err}");
}

#[tokio::test]
async fn a_killed_data_migration_resumes_and_migrates_every_item_exactly_once() {
    let table = app().await;
    common::seed_counters(&table, 10_000).await;
    // The killed run's lease: it only has to outlast a heartbeat delayed by a loaded
    // machine until the kill. The run that takes over holds a lease no stall of a
    // loaded machine reaches, and waits for the dead one's to run out.
    const KILLED_LEASE: Duration = Duration::from_secs(6);
    let started = Arc::new(AtomicUsize::new(0));
    let bump = |owner: &str, lease: Duration, wait: Duration| {
        let started = started.clone();
        Migrator::new(table.clone()).owner(owner).lease(lease).wait(wait).migration(
            Migration::new("0.1.0", "count a pass").up(move |ctx| {
                let started = started.clone();
                async move {
                    ctx.transform("pass", move |c: Counter| {
                        started.fetch_add(1, Ordering::Relaxed);
                        Some(Counter { passes: c.passes + 1, ..c })
                    })
                    .segments(4)
                    // About five seconds: slow enough to be killed midway.
                    .rate_limit(2_000.0)
                    .run()
                    .await
                    .map(|_| ())
                }
            }),
        )
    };
    // Killed midway: the run is dropped once a tenth of the items went through it,
    // however long that took on this machine.
    let first = bump("first", KILLED_LEASE, Duration::ZERO);
    kill_once(first.up(None), &started, 1_000).await;
    let counters = table.model::<Counter>().scan().segments(4).await.unwrap();
    let done = counters.iter().filter(|c| c.passes == 1).count();
    assert!(done > 0 && done < 10_000, "stopped midway: {done} done");

    // Another process, waiting, takes over once the dead one's lease ran out (however
    // long this machine took to get here), and finishes.
    let ran = bump("second", LONG_LEASE, Duration::from_secs(120)).up(None).await.unwrap();
    // Transactions already sent when the first run was dropped still committed.
    assert!(
        (ran[0].items as usize) <= 10_000 - done,
        "only what was left: {} of {}",
        ran[0].items,
        10_000 - done
    );
    assert!(ran[0].items > 0);
    let counters = table.model::<Counter>().scan().segments(4).await.unwrap();
    assert_eq!(counters.len(), 10_000);
    assert!(counters.iter().all(|c| c.passes == 1), "every item exactly once");
}

/// A product before and after the design gained an index by category.
#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Product")]
#[key(pk = "PRODUCT#${id}", sk = "PRODUCT")]
struct ProductV1 {
    id: u32,
    category: String,
}

#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Product")]
#[key(pk = "PRODUCT#${id}", sk = "PRODUCT")]
#[index(name = "gs1", pk = "CATEGORY#${category}", sk = "PRODUCT#${id}")]
struct Product {
    id: u32,
    category: String,
}

#[tokio::test]
async fn adding_a_global_index_creates_it_and_backfills_existing_items() {
    let old = common::table(|t| t.entity::<ProductV1>()).await;
    let mut batch = old.batch_write();
    for id in 0..300 {
        batch = batch.put(ProductV1 { id, category: format!("c{}", id % 3) });
    }
    batch.await.unwrap();
    // The new code's view of the same table.
    let new = Table::builder(old.client().clone(), old.name()).entity::<Product>().build().unwrap();
    let migrator = Migrator::new(new.clone()).migration(
        Migration::new("0.2.0", "products by category")
            .up(|ctx| async move { ctx.add_global_index::<Product>("gs1").await.map(|_| ()) })
            .down(|ctx| async move { ctx.drop_global_index("gs1").await }),
    );
    let plan = Migrator::new(new.clone())
        .migrations(Migrations::new(migrator.known().iter().cloned()))
        .dry_run(true)
        .up(None)
        .await
        .unwrap();
    assert_eq!(plan[0].items, 300, "the dry run counts the items to backfill");
    assert!(new.describe().await.unwrap().global_secondary_indexes().is_empty(), "and creates nothing");

    let ran = migrator.up(None).await.unwrap();
    assert_eq!(ran[0].items, 300);
    let products = new.model::<Product>();
    for c in 0..3 {
        let found = products.find(Product::gs1_partition(format!("c{c}"))).await.unwrap();
        assert_eq!(found.items.len(), 100, "category c{c}");
    }
    migrator.down(1).await.unwrap();
    assert!(new.describe().await.unwrap().global_secondary_indexes().is_empty());
}

#[tokio::test]
async fn the_cli_runs_every_command() {
    let table = app().await;
    let endpoint = common::local().endpoint().to_owned();
    let name = table.name().to_owned();
    let config = std::env::temp_dir().join(format!("onetable-migrate-{}.json5", std::process::id()));
    // OneTable CLI's layout: table settings under `onetable`, one entry per profile.
    std::fs::write(
        &config,
        format!(
            "// JSON5, as OneTable CLI reads it\n{{onetable: {{name: 'wrong'}}, profiles: {{dev: {{onetable: {{name: '{name}'}}, endpoint: '{endpoint}', aws: {{region: 'us-east-1'}}}}}}}}"
        ),
    )
    .unwrap();
    let generated = std::env::temp_dir().join(format!("onetable-generated-{}", std::process::id()));
    std::env::set_var("AWS_ACCESS_KEY_ID", "local");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "local");
    let run = move |args: &[&str]| -> String {
        let config = config.to_str().unwrap().to_owned();
        let mut all = vec![
            "migrations".to_owned(),
            "--config".to_owned(),
            config,
            "--profile".to_owned(),
            "dev".to_owned(),
        ];
        all.extend(args.iter().map(|a| a.to_string()));
        // The CLI runs its own runtime: give it a thread of its own.
        std::thread::spawn(move || {
            let code = onetable::migrate::cli::run_from(all, |client, table| {
                let table = Table::builder(client, table).entity::<Account>().entity::<Counter>().build()?;
                Ok(migrations(&table))
            });
            format!("{code:?}")
        })
        .join()
        .unwrap()
    };
    let ok = format!("{:?}", std::process::ExitCode::SUCCESS);
    for command in [
        &["status"][..],
        &["outstanding"],
        &["up", "--dry-run"],
        &["up", "--to", "0.1.0"],
        &["up"],
        &["list"],
        &["repeat"],
        &["down", "-n", "1"],
        &["retry"],
        &["down", "--dry-run", "-n", "2"],
        &["down", "--to", "0.1.0"],
        &["up"],
        &["generate", "add invoices", "--dir", generated.to_str().unwrap()],
        &["reset", "--yes"],
    ] {
        assert_eq!(run(command), ok, "{command:?}");
    }
    assert_ne!(run(&["reset"]), ok, "reset without --yes is refused");
    assert_ne!(run(&["repair", "9.9.9"]), ok, "nothing failed to repair");
    assert_eq!(migrations(&table).status().await.unwrap().current, None);
    // generate wrote the version after the latest known, and listed it.
    let registry = std::fs::read_to_string(generated.join("mod.rs")).unwrap();
    assert!(registry.contains("v0_3_0_add_invoices,"), "{registry}");
    let file = std::fs::read_to_string(generated.join("v0_3_0_add_invoices.rs")).unwrap();
    assert!(file.contains(r#"Migration::new("0.3.0", "add invoices")"#), "{file}");
    std::fs::remove_dir_all(generated).unwrap();
}

#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Member")]
#[key(pk = "MEMBER#${id}", sk = "MEMBER")]
struct MemberV1 {
    id: u32,
    team: String,
    visits: u32,
}

/// Today's design: members live in their team's partition.
#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Member")]
#[key(pk = "TEAM#${team}", sk = "MEMBER#${id}")]
struct Member {
    id: u32,
    team: String,
    visits: u32,
}

fn team(id: u32) -> String {
    format!("t{}", id % 50)
}

fn moved(m: MemberV1) -> Member {
    Member { id: m.id, team: m.team, visits: m.visits }
}

#[tokio::test]
async fn a_rekey_of_10000_items_under_live_traffic_fails_no_request_and_loses_nothing() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    let old = common::table(|t| t.entity::<MemberV1>()).await;
    let mut batch = old.batch_write().concurrency(8);
    for id in 0..10_000 {
        batch = batch.put(MemberV1 { id, team: team(id), visits: 0 });
    }
    batch.await.unwrap();
    // The new code's table: it knows Member alone.
    let table = Table::builder(old.client().clone(), old.name()).entity::<Member>().build().unwrap();

    let finished = Arc::new(AtomicBool::new(false));
    let (reads, failures) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let writes: Arc<Mutex<BTreeMap<u32, u32>>> = Arc::default();
    const WORKERS: u32 = 8;
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let (table, finished, reads, failures, writes) =
                (table.clone(), finished.clone(), reads.clone(), failures.clone(), writes.clone());
            tokio::spawn(async move {
                let members = onetable::migrate::Rekey::new(&table, moved);
                let mut n: u32 = w;
                while !finished.load(Ordering::Relaxed) {
                    // Each worker has ids of its own, so its writes to an id are ordered.
                    n = n.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    let id = (n % (10_000 / WORKERS)) * WORKERS + w;
                    match members.get(Member::key(team(id), id), MemberV1::key(id)).await {
                        Ok(Some(m)) => {
                            reads.fetch_add(1, Ordering::Relaxed);
                            if n.is_multiple_of(4) {
                                let visited = Member { visits: m.visits + 1, ..m };
                                match members.put(visited, MemberV1::key(id)).await {
                                    Ok(_) => *writes.lock().unwrap().entry(id).or_default() += 1,
                                    Err(e) => {
                                        eprintln!("write {id}: {e}");
                                        failures.fetch_add(1, Ordering::Relaxed);
                                    }
                                }
                            }
                        }
                        other => {
                            eprintln!("read {id}: {other:?}");
                            failures.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect();

    let migrator = Migrator::new(table.clone()).migration(
        Migration::new("0.2.0", "members move into their team").up(|ctx| async move {
            ctx.transform("rekey", |m: MemberV1| Some(moved(m))).segments(4).run().await.map(|_| ())
        }),
    );
    let ran = migrator.up(None).await.unwrap();
    finished.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    assert_eq!(failures.load(Ordering::Relaxed), 0, "no request failed");
    assert!(
        reads.load(Ordering::Relaxed) > 100,
        "the application kept serving: {} reads",
        reads.load(Ordering::Relaxed)
    );
    let writes = writes.lock().unwrap().clone();
    assert!(!writes.is_empty());
    // The migration moved every member the application had not moved first.
    let migrated = ran[0].items as usize;
    assert!(migrated <= 10_000 && migrated >= 10_000 - writes.len(), "{migrated} moved by the migration");

    // Afterwards: every member exactly once, in the new form, with every write kept.
    let all = table.model::<Member>().scan().segments(4).await.unwrap();
    assert_eq!(all.len(), 10_000);
    let ids: std::collections::BTreeSet<u32> = all.iter().map(|m| m.id).collect();
    assert_eq!(ids.len(), 10_000, "no member twice");
    let keys = snapshot(&table, false).await;
    assert_eq!(keys.len(), 10_000);
    assert!(keys.keys().all(|k| k.starts_with("TEAM#")), "no old form left");
    for m in &all {
        assert_eq!(m.visits, writes.get(&m.id).copied().unwrap_or(0), "member {}: no write lost", m.id);
        assert_eq!(m.team, team(m.id));
    }
}

#[tokio::test]
async fn the_onetable_tool_reads_any_tables_history_and_schema() {
    let table = app().await;
    migrations(&table).up(None).await.unwrap();
    std::env::set_var("AWS_ACCESS_KEY_ID", "local");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "local");
    let endpoint = common::local().endpoint().to_owned();
    let run = |table: String, command: &'static str| {
        let endpoint = endpoint.clone();
        std::thread::spawn(move || {
            let args =
                ["onetable", "--endpoint", &endpoint, "--region", "us-east-1", "--table", &table, command];
            format!("{:?}", onetable::migrate::cli::inspect_from(args))
        })
        .join()
        .unwrap()
    };
    let ok = format!("{:?}", std::process::ExitCode::SUCCESS);
    assert_eq!(run(table.name().to_owned(), "status"), ok);
    assert_eq!(run(table.name().to_owned(), "schema"), ok);
    assert_ne!(run("no-such-table".to_owned(), "status"), ok);
    // Tables described by DynamoDB, whatever their key names.
    let described = Table::from_description(table.client().clone(), table.name()).await.unwrap();
    let status = Migrator::new(described).status().await.unwrap();
    assert_eq!(status.current.unwrap().to_string(), "0.2.0");
}

/// Bad input: an item that no longer reads as the old entity stops the migration with
/// its key in the error and leaves nothing half-written, or, when asked, is skipped
/// and listed in the result and the history.
#[tokio::test]
async fn an_unreadable_item_stops_the_migration_by_its_key_or_is_skipped_and_listed() {
    use onetable::AttributeValue::{N, S};
    for skip in [false, true] {
        let table = app().await;
        common::seed_counters(&table, 300).await;
        // Written by hand, by code that stored text where a number belongs.
        table
            .client()
            .put_item()
            .table_name(table.name())
            .item("pk", S("COUNTER#bad".into()))
            .item("sk", S("COUNTER".into()))
            .item("_type", S("Counter".into()))
            .item("id", N("999".into()))
            .item("passes", S("many".into()))
            .send()
            .await
            .unwrap();
        let migrator = Migrator::new(table.clone()).migration(Migration::new("0.2.0", "count a pass").up(
            move |ctx| async move {
                let t = ctx
                    .transform("pass", |c: Counter| Some(Counter { passes: c.passes + 1, ..c }))
                    .segments(2);
                let t = if skip { t.skip_unreadable() } else { t };
                t.run().await.map(|_| ())
            },
        ));
        let result = migrator.up(None).await;
        let raw = snapshot(&table, false).await;
        assert!(raw["COUNTER#bad|COUNTER"].contains("passes=S(\"many\")"), "the bad item is left as it was");
        if skip {
            let ran = result.unwrap();
            assert_eq!(ran[0].skipped, ["pk=COUNTER#bad, sk=COUNTER"]);
            assert_eq!(migrator.status().await.unwrap().applied[0].skipped, ran[0].skipped);
            let counters = table.model::<Counter>().scan().await;
            assert!(counters.is_err(), "the bad item still does not read");
            assert_eq!(raw.values().filter(|v| v.contains("passes=N(\"1\")")).count(), 300);
        } else {
            let err = result.unwrap_err();
            assert!(err.is_migration() && err.to_string().contains("pk=COUNTER#bad, sk=COUNTER"), "{err}");
            assert!(migrator.status().await.unwrap().failed.is_some(), "recorded as failed");
            // Each item is whole: migrated (with its marker) or not at all.
            for (key, item) in
                raw.iter().filter(|(k, _)| k.starts_with("COUNTER#") && *k != "COUNTER#bad|COUNTER")
            {
                let migrated = item.contains("passes=N(\"1\")");
                assert_eq!(migrated, item.contains("_design=S(\"0.2.0\")"), "{key}: {item}");
                assert!(migrated || item.contains("passes=N(\"0\")"), "{key}: {item}");
            }
        }
    }
}

/// Orders before: the customer's id, and a note inline.
#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Order")]
#[key(pk = "ORDER#${id}", sk = "ORDER")]
struct OrderV1 {
    id: u32,
    customer: String,
    note: String,
    cancelled: bool,
}

/// Orders after: the customer's name; the note is an item of its own.
#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Order")]
#[key(pk = "ORDER#${id}", sk = "ORDER")]
struct Order {
    id: u32,
    customer: String,
    cancelled: bool,
}

#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Note")]
#[key(pk = "ORDER#${order}", sk = "NOTE")]
struct Note {
    order: u32,
    text: String,
}

#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Customer")]
#[key(pk = "CUSTOMER#${id}", sk = "CUSTOMER")]
struct Customer {
    id: String,
    name: String,
}

/// An evolution beyond one item to one item: an async transform reads another entity
/// (a reference becomes a name), splits the note off into an item of its own in the
/// order's collection, and retires cancelled orders; killed midway and resumed, each
/// order is handled exactly once.
#[tokio::test]
async fn an_async_transform_reads_other_items_splits_an_entity_and_retires_items_once() {
    const ORDERS: u32 = 3_000;
    let table = common::table(|t| t.entity::<OrderV1>().entity::<Note>().entity::<Customer>()).await;
    let mut batch = table.batch_write().concurrency(8);
    for c in 0..10 {
        batch = batch.put(Customer { id: format!("c{c}"), name: format!("Customer {c}") });
    }
    for id in 0..ORDERS {
        let order = OrderV1 {
            id,
            customer: format!("c{}", id % 10),
            note: format!("note {id}"),
            cancelled: id % 7 == 0,
        };
        batch = batch.put(order);
    }
    batch.await.unwrap();
    // As in the test above: a short lease for the run that is killed, a long one for
    // the run that takes over, which waits for the dead one's to run out.
    let started = Arc::new(AtomicUsize::new(0));
    let migrator = |owner: &str, lease: Duration| {
        let started = started.clone();
        Migrator::new(table.clone()).owner(owner).lease(lease).wait(Duration::from_secs(120)).migration(
            Migration::new("0.2.0", "orders name their customer; notes apart; cancelled retired").up(
                move |ctx| {
                    let started = started.clone();
                    async move {
                        ctx.transform_with("orders", move |o: OrderV1, table| {
                            started.fetch_add(1, Ordering::Relaxed);
                            async move {
                                if o.cancelled {
                                    return Ok(Change::remove());
                                }
                                let customer =
                                    table.model::<Customer>().get(Customer::key(&o.customer)).await?;
                                let note = Note { order: o.id, text: o.note.clone() };
                                Change::write(Order {
                                    id: o.id,
                                    customer: customer.map(|c| c.name).unwrap_or_default(),
                                    cancelled: false,
                                })
                                .also(&table, note)
                            }
                        })
                        .rate_limit(1_500.0)
                        // DynamoDB Local runs one request at a time: 64 transactions in
                        // flight would queue the lock's renewal behind them.
                        .concurrency(4)
                        .run()
                        .await
                        .map(|_| ())
                    }
                },
            ),
        )
    };
    let first = migrator("first", Duration::from_secs(6));
    kill_once(first.up(None), &started, 100).await;
    migrator("second", LONG_LEASE).up(None).await.unwrap();

    let items = snapshot(&table, false).await;
    let orders: Vec<_> = items.iter().filter(|(k, _)| k.ends_with("|ORDER")).collect();
    let notes: Vec<_> = items.iter().filter(|(k, _)| k.ends_with("|NOTE")).collect();
    let kept = (0..ORDERS).filter(|id| id % 7 != 0).count();
    assert_eq!(orders.len(), kept, "cancelled orders retired");
    assert_eq!(notes.len(), kept, "one note per kept order");
    for id in (0..ORDERS).filter(|id| id % 7 != 0) {
        let order = &items[&format!("ORDER#{id}|ORDER")];
        assert!(order.contains(&format!("customer=S(\"Customer {}\")", id % 10)), "{order}");
        assert!(!order.contains("note="), "the note left the order: {order}");
        let note = &items[&format!("ORDER#{id}|NOTE")];
        assert!(note.contains(&format!("text=S(\"note {id}\")")), "{note}");
    }
}
