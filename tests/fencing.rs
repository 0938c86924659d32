//! Fencing, with real processes: a migrator stopped with SIGSTOP past its lease while
//! another takes the lock over and finishes. When it is continued, nothing it writes
//! lands (the whole table, history and lock included, is unchanged) and it fails with
//! the typed lock-lost error.

mod common;

use common::Counter;

use onetable::migrate::MigrateErrorExt;
use onetable::migrate::{Migration, Migrator};
use onetable::{AttributeValue, Item, Table};
use std::collections::BTreeMap;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Set in the child process: `endpoint|table`.
const CHILD: &str = "ONETABLE_FENCING_CHILD";
const ITEMS: u32 = 3_000;
/// The stopped migrator's lease: long enough that a loaded machine's scheduling never
/// costs it the lock before the test stops it (renewed every third of it).
const LEASE: Duration = Duration::from_secs(10);

fn counting(table: &Table, owner: &str, lease: Duration, wait: Duration) -> Migrator {
    Migrator::new(table.clone()).owner(owner).lease(lease).wait(wait).migration(
        Migration::new("0.2.0", "count a pass").up(|ctx| async move {
            ctx.transform("passes", |c: Counter| Some(Counter { passes: c.passes + 1, ..c }))
                .segments(2)
                .concurrency(4)
                // Slow enough to be stopped midway.
                .rate_limit(300.0)
                .run()
                .await
                .map(|_| ())
        }),
    )
}

/// The migrator that gets stopped: this test binary, run again as a child process.
#[tokio::test]
#[ignore = "run as a child process by a_migrator_stopped_past_its_lease_writes_nothing_and_fails_with_lock_lost"]
async fn fencing_child() {
    let Ok(spec) = std::env::var(CHILD) else { return };
    let (endpoint, name) = spec.split_once('|').expect("endpoint|table");
    let table = Table::builder(common::client_at(endpoint), name).entity::<Counter>().build().unwrap();
    match counting(&table, "stalled", LEASE, Duration::ZERO).up(None).await {
        Ok(ran) => println!("CHILD-RESULT ok {ran:?}"),
        Err(e) if e.is_lock_lost() => println!("CHILD-RESULT lock-lost: {e}"),
        Err(e) => println!("CHILD-RESULT error: {e}"),
    }
}

async fn everything(table: &Table) -> BTreeMap<String, String> {
    common::scan_all(table)
        .await
        .iter()
        .map(|i| (key(i), common::canonical(&AttributeValue::M(i.clone()))))
        .collect()
}

fn key(item: &Item) -> String {
    format!("{}|{}", item["pk"].as_s().unwrap(), item["sk"].as_s().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migrator_stopped_past_its_lease_writes_nothing_and_fails_with_lock_lost() {
    let table = common::table(|t| t.entity::<Counter>()).await;
    common::seed_counters(&table, ITEMS).await;

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["fencing_child", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env(CHILD, format!("{}|{}", common::local().endpoint(), table.name()))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Stopped midway through its data migration.
    let counters = table.model::<Counter>();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let done = counters.scan().await.unwrap().iter().filter(|c| c.passes == 1).count();
        if done >= 300 {
            break;
        }
        assert!(Instant::now() < deadline, "the child migrated {done} items in two minutes");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    common::signal(child.id(), libc::SIGSTOP);
    let stopped_at = counters.scan().await.unwrap().iter().filter(|c| c.passes == 1).count();
    assert!(stopped_at < ITEMS as usize, "stopped midway: {stopped_at}");

    // Past its lease, another migrator takes over and finishes: it waits for the
    // stopped one's lease to run out, however long this machine took to get here. Its
    // own lease is past any stall a loaded machine gives its heartbeat: only the
    // stopped one loses a lock.
    let second = counting(&table, "second", Duration::from_secs(60), Duration::from_secs(120));
    let ran = second.up(None).await.unwrap();
    assert!(ran[0].items > 0 && ran[0].items <= u64::from(ITEMS));
    let finished = everything(&table).await;

    // The stalled one wakes up.
    common::signal(child.id(), libc::SIGCONT);
    let status = child.wait().unwrap();
    let mut output = String::new();
    child.stdout.take().unwrap().read_to_string(&mut output).unwrap();
    assert!(status.success(), "{output}");
    let result =
        output.find("CHILD-RESULT").map_or("no result", |at| output[at..].lines().next().unwrap_or(""));
    eprintln!("stalled migrator: {result}");
    assert!(
        output.contains("CHILD-RESULT lock-lost"),
        "the stalled migrator fails with the typed error: {output}"
    );

    // Nothing it wrote landed: not an item, a checkpoint, a history record, the lock.
    let after = everything(&table).await;
    let changed: Vec<_> = after.iter().filter(|(k, v)| finished.get(*k) != Some(v)).collect();
    assert!(changed.is_empty() && after.len() == finished.len(), "the stalled migrator changed {changed:?}");
    let counters = counters.scan().await.unwrap();
    assert_eq!(counters.len(), ITEMS as usize);
    assert!(counters.iter().all(|c| c.passes == 1), "every item migrated exactly once");
    let status = second.status().await.unwrap();
    assert_eq!(status.applied.len(), 1);
    assert!(status.failed.is_none() && status.outstanding.is_empty());
    assert!(!finished.keys().any(|k| k.contains("_checkpoint")), "checkpoints cleared");
}
