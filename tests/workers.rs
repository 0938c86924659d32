//! One data migration shared by three worker processes, each running `up` with a wait
//! (as replicas or hosts would): the one holding the lock is killed with SIGKILL
//! midway, another is stopped with SIGSTOP past its lease and continued. The migration
//! completes, every item is migrated exactly once, and the work was shared.

mod common;

use common::Counter;

use onetable::migrate::MigrateErrorExt;
use onetable::migrate::{Migration, Migrator};
use onetable::Table;
use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Set in a child process: `endpoint|table|owner`.
const CHILD: &str = "ONETABLE_WORKER_CHILD";
const ITEMS: u32 = 10_000;
/// Long enough that a loaded machine's scheduling never costs a running worker its
/// lease (renewed every third of it); only the stop the test makes outlasts it.
const LEASE: Duration = Duration::from_secs(12);

fn migrator(table: &Table, owner: &str) -> Migrator {
    Migrator::new(table.clone()).owner(owner).lease(LEASE).wait(Duration::from_secs(180)).migration(
        Migration::new("0.2.0", "count a pass").up(|ctx| async move {
            ctx.transform("passes", |c: Counter| Some(Counter { passes: c.passes + 1, ..c }))
                .segments(12)
                .parallel(2)
                // All workers together: slow enough to be interrupted twice.
                .rate_limit(1_000.0)
                .run()
                .await
                .map(|_| ())
        }),
    )
}

/// One worker: this test binary, run again as a child process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run as a child process by three_workers_share_a_migration_through_a_kill_and_a_stall"]
async fn worker_child() {
    let Ok(spec) = std::env::var(CHILD) else { return };
    let parts: Vec<&str> = spec.split('|').collect();
    let table = Table::builder(common::client_at(parts[0]), parts[1]).entity::<Counter>().build().unwrap();
    match migrator(&table, parts[2]).up(None).await {
        Ok(ran) => {
            let items: u64 = ran.iter().map(|r| r.items).sum();
            let role = if ran.iter().any(|r| !r.worker) { "ran it" } else { "worker" };
            println!("CHILD-RESULT ok {} {role}: {items} items", parts[2]);
        }
        Err(e) if e.is_lock_lost() => println!("CHILD-RESULT lock-lost {}: {e}", parts[2]),
        Err(e) => println!("CHILD-RESULT error {}: {e}", parts[2]),
    }
}

fn spawn(table: &Table, owner: &str) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["worker_child", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env(CHILD, format!("{}|{}|{owner}", common::local().endpoint(), table.name()))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap()
}

async fn migrated(table: &Table) -> usize {
    table.model::<Counter>().scan().segments(4).await.unwrap().iter().filter(|c| c.passes > 0).count()
}

async fn wait_for(table: &Table, items: usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while migrated(table).await < items {
        assert!(Instant::now() < deadline, "fewer than {items} items migrated in two minutes");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn lock_holder(table: &Table) -> String {
    let lock = table
        .client()
        .get_item()
        .table_name(table.name())
        .key("pk", onetable::AttributeValue::S("_migration".into()))
        .key("sk", onetable::AttributeValue::S("_lock".into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    lock.item().and_then(|i| i.get("owner")).and_then(|o| o.as_s().ok()).cloned().unwrap_or_default()
}

fn finish(mut child: Child) -> String {
    let deadline = Instant::now() + Duration::from_secs(180);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "a worker did not finish");
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut output = String::new();
    child.stdout.take().unwrap().read_to_string(&mut output).unwrap();
    output
        .find("CHILD-RESULT")
        .map_or(output.clone(), |at| output[at..].lines().next().unwrap_or("").to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_share_a_migration_through_a_kill_and_a_stall() {
    let table = common::table(|t| t.entity::<Counter>()).await;
    common::seed_counters(&table, ITEMS).await;

    let owners = ["worker-a", "worker-b", "worker-c"];
    let mut children: Vec<Option<Child>> = owners.iter().map(|o| Some(spawn(&table, o))).collect();
    // Midway: the migrator holding the lock dies.
    wait_for(&table, ITEMS as usize / 5).await;
    let leader = lock_holder(&table).await;
    let killed = owners.iter().position(|o| *o == leader).expect("a worker holds the lock");
    let mut dead = children[killed].take().unwrap();
    common::signal(dead.id(), libc::SIGKILL);
    dead.wait().unwrap();
    // Later: another is stopped past its lease, then continued.
    wait_for(&table, ITEMS as usize * 2 / 5).await;
    let stalled = (0..3).find(|i| *i != killed).unwrap();
    let pid = children[stalled].as_ref().unwrap().id();
    common::signal(pid, libc::SIGSTOP);
    let at_stop = migrated(&table).await;
    // Stopped past its lease, and until the others are seen going on without it
    // (however long this machine takes to show that).
    tokio::time::sleep(LEASE + Duration::from_secs(1)).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut during_stall = migrated(&table).await;
    while during_stall <= at_stop && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        during_stall = migrated(&table).await;
    }
    common::signal(pid, libc::SIGCONT);

    let results: Vec<String> = children.into_iter().flatten().map(finish).collect();
    for r in &results {
        eprintln!("{r}");
        assert!(r.starts_with("CHILD-RESULT ok") || r.starts_with("CHILD-RESULT lock-lost"), "{r}");
    }
    assert!(
        results.iter().filter(|r| r.contains(" items") && !r.contains(": 0 items")).count() == 2,
        "both surviving workers migrated items: {results:?}"
    );
    assert!(during_stall > at_stop, "the others went on while one was stopped");

    let counters = table.model::<Counter>().scan().segments(4).await.unwrap();
    assert_eq!(counters.len(), ITEMS as usize);
    let twice: Vec<_> = counters.iter().filter(|c| c.passes != 1).collect();
    assert!(twice.is_empty(), "every item migrated exactly once: {} not", twice.len());
    let status = migrator(&table, "check").status().await.unwrap();
    assert_eq!(status.applied.len(), 1, "recorded once");
    assert!(status.failed.is_none() && status.outstanding.is_empty());
    eprintln!(
        "killed {} (held the lock), stalled {}; history: {} items, {} verified",
        owners[killed], owners[stalled], status.applied[0].items, status.applied[0].verified
    );
}
