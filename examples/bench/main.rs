//! End-to-end benchmark against DynamoDB Local:
//! `cargo run --release --example bench` (add `-- --scale` for the scale runs,
//! `-- --migrations` for their data migrations alone, `--kinds raw_rekey,rekey` to pick
//! some). With `ONETABLE_BENCH_BASELINE=<path of another build of this benchmark>`, the
//! data migrations also run through that build's engine, in the same run.
//!
//! The same workload — 2,000 creates over 20 partitions, 2,000 gets and 200 finds
//! returning 100 items, 16 requests in flight — through onetable, hand-written
//! aws-sdk-dynamodb code, and OneTable JS 2.7.7 (`bench/js`, installed with `npm ci`).
//! Each runs in its own process on one thread, so its CPU time and peak memory are
//! its own. The last line printed is one JSON object with every figure.
//!
//! `cargo run --release --example bench -- --stub` runs the same three clients against
//! a stand-in server answering canned responses (`stub.rs`) instead of DynamoDB
//! Local, the server pinned to one core and each client to the other, with the
//! workload repeated ten times: the figures are then the clients' own.
//!
//! `cargo run --release --example bench -- --projections` reads 20 KB items whole and
//! through a projection (`projections.rs`): bytes, read capacity and time per read.
//!
//! `cargo run --release --example bench -- --cold-start` starts a process per run to
//! its first get, through onetable and hand-written SDK code (`cold_start.rs`).
//!
//! `cargo run --release --example bench -- --scale-out` runs one data migration in 1,
//! 2, 4 and 8 worker processes against the embedded engine behind a front that adds
//! DynamoDB's latency and per-partition write limit (`scale_out.rs`).

mod cold_start;
mod projections;
mod scale_out;
mod stub;
#[path = "../../bench/workload.rs"]
mod workload;

use aws_sdk_dynamodb::Client;
use futures_util::TryStreamExt;
use onetable::{Entity, Table};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;
use workload::{user, User, PARTITIONS};

const CREATES: usize = 2000;
const GETS: usize = 2000;
const FINDS: usize = 200;
const WORKERS: usize = 16;

/// The same user keyed by id first: the target of the re-key benchmark.
#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "User")]
#[key(pk = "USER#${id}", sk = "ACCOUNT#${account}")]
struct UserById {
    account: String,
    id: String,
    email: String,
    name: String,
    age: u32,
    active: bool,
}

/// How many times the workload is repeated (`BENCH_REPEAT`, default once).
fn repeat() -> usize {
    std::env::var("BENCH_REPEAT").ok().and_then(|r| r.parse().ok()).unwrap_or(1)
}

/// CPU time of this process (user + system) and its peak resident memory.
fn usage() -> (f64, f64) {
    let mut u = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given.
    let u = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, u.as_mut_ptr());
        u.assume_init()
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (secs(u.ru_utime) + secs(u.ru_stime), u.ru_maxrss as f64 / 1024.0)
}

/// The wall-clock and CPU seconds of one phase.
type Phase = (f64, f64);

/// Runs `count` tasks, `WORKERS` in flight; returns the wall-clock and CPU seconds
/// taken.
async fn timed<F, Fut>(count: usize, task: F) -> Phase
where
    F: Fn(usize) -> Fut + Clone + 'static,
    Fut: std::future::Future<Output = ()> + 'static,
{
    let next = Arc::new(AtomicUsize::new(0));
    let (start, cpu) = (Instant::now(), usage().0);
    let local = tokio::task::LocalSet::new();
    for _ in 0..WORKERS {
        let (next, task) = (next.clone(), task.clone());
        local.spawn_local(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    break;
                }
                task(i).await;
            }
        });
    }
    local.await;
    (start.elapsed().as_secs_f64(), usage().0 - cpu)
}

/// Each phase's operations per second and per CPU-second, the CPU time per operation
/// of the whole process, and its peak memory.
fn figures(create: Phase, get: Phase, find: Phase) -> serde_json::Value {
    let (cpu, rss) = usage();
    let r = repeat() as f64;
    serde_json::json!({
        "create_ops_s": r * CREATES as f64 / create.0,
        "get_ops_s": r * GETS as f64 / get.0,
        "find_q_s": r * FINDS as f64 / find.0,
        "create_ops_cpu_s": r * CREATES as f64 / create.1,
        "get_ops_cpu_s": r * GETS as f64 / get.1,
        "find_q_cpu_s": r * FINDS as f64 / find.1,
        "cpu_ms_per_op": cpu * 1000.0 / (r * (CREATES + GETS + FINDS) as f64),
        "peak_rss_mb": rss,
    })
}

async fn run_onetable(client: Client, table: &str) -> serde_json::Value {
    let table = Table::builder(client, table).entity::<User>().build().expect("schema");
    let users = table.model::<User>();
    let create = timed(CREATES * repeat(), {
        let users = users.clone();
        move |i| {
            let users = users.clone();
            async move {
                users.create(user(i)).send().await.expect("create");
            }
        }
    })
    .await;
    let get = timed(GETS * repeat(), {
        let users = users.clone();
        move |i| {
            let users = users.clone();
            async move {
                let u = user(i);
                users.get(User::key(&u.account, &u.id)).send().await.expect("get").expect("found");
            }
        }
    })
    .await;
    let find = timed(FINDS * repeat(), {
        let users = users.clone();
        move |i| {
            let users = users.clone();
            async move {
                let page =
                    users.find(User::partition(format!("p{}", i % PARTITIONS))).limit(100).send().await;
                assert_eq!(page.expect("find").items.len(), 100);
            }
        }
    })
    .await;
    figures(create, get, find)
}

/// Hand-written SDK code doing the same job (`workload::raw`).
mod raw {
    use super::*;
    use workload::raw::{create, find, get};

    pub async fn run(client: Client, table: &str) -> serde_json::Value {
        let table: Arc<str> = table.into();
        let create = timed(CREATES * repeat(), {
            let (client, table) = (client.clone(), table.clone());
            move |i| {
                let (client, table) = (client.clone(), table.clone());
                async move { create(&client, &table, &user(i)).await }
            }
        })
        .await;
        let get = timed(GETS * repeat(), {
            let (client, table) = (client.clone(), table.clone());
            move |i| {
                let (client, table) = (client.clone(), table.clone());
                async move {
                    let u = user(i);
                    get(&client, &table, &u.account, &u.id).await.expect("found");
                }
            }
        })
        .await;
        let find = timed(FINDS * repeat(), {
            let (client, table) = (client.clone(), table.clone());
            move |i| {
                let (client, table) = (client.clone(), table.clone());
                async move {
                    let users = find(&client, &table, &format!("p{}", i % PARTITIONS)).await;
                    assert_eq!(users.len(), 100);
                }
            }
        })
        .await;
        let mut figures = figures(create, get, find);
        // Then gets of a user there is no item for (the stand-in answers none, as
        // DynamoDB would): the SDK's pipeline with nothing to decode or parse, the least
        // any get through it costs.
        let absent = timed(GETS * repeat(), {
            let (client, table) = (client.clone(), table.clone());
            move |i| {
                let (client, table) = (client.clone(), table.clone());
                async move {
                    let account = user(i).account;
                    assert!(workload::raw::get(&client, &table, &account, workload::ABSENT).await.is_none());
                }
            }
        })
        .await;
        figures["get_absent_ops_cpu_s"] = serde_json::json!((GETS * repeat()) as f64 / absent.1);
        figures
    }
}

/// Scale: a streamed find over `n` items (peak memory should not grow with n) or a
/// batch write of `n` items.
async fn run_scale(client: Client, table: &str, kind: &'static str, n: usize) -> serde_json::Value {
    let table = Table::builder(client, table).entity::<User>().build().expect("schema");
    let users = table.model::<User>();
    let one_partition = |i: usize| User { account: "big".into(), ..user(i) };
    let mut batch = table.batch_write().concurrency(4);
    for i in 0..n {
        batch = batch.put(one_partition(i));
    }
    let start = Instant::now();
    batch.send().await.expect("batch");
    let write = start.elapsed().as_secs_f64();
    if kind == "batch" {
        return serde_json::json!({ "items": n, "items_s": n as f64 / write, "seconds": write });
    }
    if let Some(raw) = kind.strip_prefix("raw_") {
        // The same conditional writes as the engine's, by hand, at the same
        // concurrency: the ceiling the engine is measured against.
        let start = Instant::now();
        let (items, units) = raw_migration::run(table.client(), table.name(), raw == "rekey").await;
        let seconds = start.elapsed().as_secs_f64();
        assert_eq!(items as usize, n);
        return serde_json::json!({ "items": n, "items_s": n as f64 / seconds, "seconds": seconds, "write_units_per_item": units / n as f64 });
    }
    if kind == "migrate" || kind == "rekey" {
        // Every item rewritten by a data migration: 4 segments, 16 writes in flight
        // each, pages checkpointed, then a final pass.
        let migrator = onetable::migrate::Migrator::new(table.clone()).migration(
            onetable::migrate::Migration::new("0.1.0", "one more year").up(move |ctx| async move {
                if kind == "rekey" {
                    let by_id = |u: User| UserById {
                        account: u.account,
                        id: u.id,
                        email: u.email,
                        name: u.name,
                        age: u.age,
                        active: u.active,
                    };
                    ctx.transform("by-id", move |u: User| Some(by_id(u))).segments(4).run().await.map(|_| ())
                } else {
                    ctx.transform("age", |u: User| Some(User { age: u.age + 1, ..u }))
                        .segments(4)
                        .run()
                        .await
                        .map(|_| ())
                }
            }),
        );
        let start = Instant::now();
        let ran = migrator.up(None).await.expect("migration");
        let seconds = start.elapsed().as_secs_f64();
        assert_eq!(ran[0].items as usize, n);
        return serde_json::json!({ "items": n, "items_s": n as f64 / seconds, "seconds": seconds, "write_units_per_item": ran[0].write_units / n as f64 });
    }
    let (_, before) = usage();
    let start = Instant::now();
    let count = users
        .find(User::partition("big"))
        .stream()
        .try_fold(0usize, |count, _| async move { Ok(count + 1) })
        .await
        .expect("stream");
    assert_eq!(count, n);
    let seconds = start.elapsed().as_secs_f64();
    let (_, peak) = usage();
    serde_json::json!({ "items": n, "items_s": n as f64 / seconds, "seconds": seconds, "peak_rss_mb": peak, "rss_growth_mb": peak - before })
}

/// The mean of each figure over several runs.
fn average<'a>(runs: impl Iterator<Item = &'a serde_json::Value>) -> serde_json::Value {
    let runs: Vec<&serde_json::Value> = runs.collect();
    let mut mean = serde_json::Map::new();
    if let Some(serde_json::Value::Object(first)) = runs.first() {
        for key in first.keys() {
            let sum: f64 = runs.iter().filter_map(|r| r[key].as_f64()).sum();
            mean.insert(key.clone(), serde_json::json!(sum / runs.len() as f64));
        }
    }
    serde_json::Value::Object(mean)
}

fn client_for(endpoint: &str) -> Client {
    Client::from_conf(workload::config().endpoint_url(endpoint).build())
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

/// Runs one side in a child process and returns the JSON it printed last.
fn child(command: &mut Command) -> serde_json::Value {
    let out = command.output().expect("run the benchmark child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|_| {
        panic!("the child failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let started = std::time::Instant::now();
    if let (Some(side), Some(endpoint), Some(table)) = (arg("--cold"), arg("--endpoint"), arg("--table")) {
        println!("{}", cold_start::child(&side, &endpoint, &table, started));
        return Ok(());
    }
    if std::env::args().any(|a| a == "--serve-stub") {
        stub::pin_to_cpu(1);
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        println!("{}", listener.local_addr()?.port());
        stub::serve(listener);
    }
    if std::env::args().any(|a| a == "--stub") {
        return against_stub();
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    if std::env::args().any(|a| a == "--scale-out") {
        println!("{}", scale_out::run(&runtime));
        return Ok(());
    }
    // Child modes.
    if let (Some(endpoint), Some(table), Some(owner), Some(limit)) =
        (arg("--endpoint"), arg("--table"), arg("--owner"), arg("--limit"))
    {
        let rekey = std::env::args().any(|a| a == "--rekey");
        scale_out::worker(&runtime, &endpoint, &table, &owner, limit.parse()?, rekey);
        return Ok(());
    }
    if let (Some(side), Some(endpoint), Some(table)) = (arg("--side"), arg("--endpoint"), arg("--table")) {
        let client = client_for(&endpoint);
        let figures = runtime.block_on(async {
            match side.as_str() {
                "onetable" => run_onetable(client, &table).await,
                "raw_sdk" => raw::run(client, &table).await,
                scale => {
                    let spec = scale.strip_prefix("scale:").expect("--side scale:<kind>:<n>");
                    let (kind, n) = spec.split_once(':').expect("--side scale:<kind>:<n>");
                    let kind: &'static str = Box::leak(kind.to_owned().into_boxed_str());
                    run_scale(client, &table, kind, n.parse().expect("a count")).await
                }
            }
        });
        println!("{figures}");
        return Ok(());
    }

    let local = onetable_local::DynamoDbLocal::start()?;
    if std::env::args().any(|a| a == "--cold-start") {
        println!("{}", cold_start::run(&local, &runtime));
        return Ok(());
    }
    if std::env::args().any(|a| a == "--projections") {
        let report = runtime.block_on(projections::run(&local));
        println!("{report}");
        return Ok(());
    }
    let endpoint = local.endpoint().to_owned();
    let exe = std::env::current_exe()?;
    let new_table = |name: &str| -> Result<String, Box<dyn std::error::Error>> {
        let table = Table::builder(local.client(), name).entity::<User>().build()?;
        runtime.block_on(table.create_table().send())?;
        Ok(name.to_owned())
    };
    let rust = |side: &str, table: &str| {
        child(Command::new(&exe).args(["--side", side, "--endpoint", &endpoint, "--table", table]))
    };

    let mut report = serde_json::Map::new();
    let migrations_only = std::env::args().any(|a| a == "--migrations");
    if std::env::args().any(|a| a == "--scale") || migrations_only {
        for n in [10, 100, 1_000, 10_000].into_iter().filter(|_| !migrations_only) {
            let figures = rust(&format!("scale:find:{n}"), &new_table(&format!("find-{n}"))?);
            println!("find (streamed) of {n:>6} items: {figures}");
            report.insert(format!("find_{n}"), figures);
        }
        for n in [25, 1_000, 10_000].into_iter().filter(|_| !migrations_only) {
            let figures = rust(&format!("scale:batch:{n}"), &new_table(&format!("batch-{n}"))?);
            println!("batch write of {n:>6} items: {figures}");
            report.insert(format!("batch_{n}"), figures);
        }
        // Data migrations of 100,000 items: the engine beside a hand-written loop of
        // the same conditional writes, and (when ONETABLE_BENCH_BASELINE names another
        // build of this benchmark) beside that build's engine, in the same run.
        let n = 100_000;
        let mut kinds = vec!["raw_migrate", "migrate", "raw_rekey", "rekey"];
        if let Some(only) = arg("--kinds") {
            kinds.retain(|k| only.split(',').any(|o| o == *k));
        }
        let baseline = std::env::var("ONETABLE_BENCH_BASELINE").ok();
        if baseline.is_some() && arg("--kinds").is_none_or(|k| k.contains("baseline")) {
            kinds.insert(0, "baseline");
        }
        for kind in kinds {
            let table = new_table(&format!("{kind}-{n}"))?;
            let figures = match (kind, &baseline) {
                ("baseline", Some(exe)) => child(Command::new(exe).args([
                    "--side",
                    &format!("scale:migrate:{n}"),
                    "--endpoint",
                    &endpoint,
                    "--table",
                    &table,
                ])),
                _ => rust(&format!("scale:{kind}:{n}"), &table),
            };
            println!("{kind:12} data migration of {n} items: {figures}");
            report.insert(format!("{kind}_{n}"), figures);
        }
    } else {
        // DynamoDB Local runs on a JVM that keeps compiling hot code for a while, so
        // a later run meets a faster server. Two discarded runs warm it, then the Rust
        // sides run in A-B-B-A order and each side's figures are averaged.
        rust("raw_sdk", &new_table("warmup-1")?);
        rust("onetable", &new_table("warmup-2")?);
        let mut runs: Vec<(&str, serde_json::Value)> = Vec::new();
        for (round, side) in ["onetable", "raw_sdk", "raw_sdk", "onetable"].into_iter().enumerate() {
            runs.push((side, rust(side, &new_table(&format!("{side}-{round}"))?)));
        }
        for side in ["onetable", "raw_sdk"] {
            let figures = average(runs.iter().filter(|(s, _)| *s == side).map(|(_, f)| f));
            println!("{side:12} {figures}");
            report.insert(side.to_owned(), figures);
        }
        let js = install_js()?;
        let table = new_table("onetable_js")?;
        let figures = child(
            Command::new("node")
                .arg("bench.mjs")
                .current_dir(&js)
                .env("BENCH_ENDPOINT", &endpoint)
                .env("BENCH_TABLE", table),
        );
        println!("{:12} {figures}", "onetable_js");
        report.insert("onetable_js".to_owned(), figures);
    }
    drop(local);
    println!("{}", serde_json::Value::Object(report));
    Ok(())
}

/// The three clients against the stand-in server: the server on CPU 1, each client
/// on CPU 0 in turn, the workload ten times over.
fn against_stub() -> Result<(), Box<dyn std::error::Error>> {
    use std::io::BufRead;
    use std::os::unix::process::CommandExt;
    const REPEAT: &str = "10";
    let exe = std::env::current_exe()?;
    let mut server = Command::new(&exe).arg("--serve-stub").stdout(std::process::Stdio::piped()).spawn()?;
    let mut port = String::new();
    std::io::BufReader::new(server.stdout.take().ok_or("the stub's output")?).read_line(&mut port)?;
    let endpoint = format!("http://127.0.0.1:{}", port.trim());
    let on_cpu0 = |command: &mut Command| {
        // SAFETY: the closure only makes a system call, which is allowed between
        // fork and exec.
        unsafe {
            command.pre_exec(|| {
                stub::pin_to_cpu(0);
                Ok(())
            });
        }
        command.env("BENCH_REPEAT", REPEAT);
    };
    let mut report = serde_json::Map::new();
    let mut runs: Vec<(&str, serde_json::Value)> = Vec::new();
    for side in ["onetable", "raw_sdk", "raw_sdk", "onetable"] {
        let mut command = Command::new(&exe);
        command.args(["--side", side, "--endpoint", &endpoint, "--table", "bench"]);
        on_cpu0(&mut command);
        runs.push((side, child(&mut command)));
    }
    for side in ["onetable", "raw_sdk"] {
        let figures = average(runs.iter().filter(|(s, _)| *s == side).map(|(_, f)| f));
        println!("{side:12} {figures}");
        report.insert(side.to_owned(), figures);
    }
    let js = install_js()?;
    let mut command = Command::new("node");
    command.arg("bench.mjs").current_dir(&js).env("BENCH_ENDPOINT", &endpoint).env("BENCH_TABLE", "bench");
    on_cpu0(&mut command);
    let figures = child(&mut command);
    println!("{:12} {figures}", "onetable_js");
    report.insert("onetable_js".to_owned(), figures);
    server.kill()?;
    server.wait()?;
    println!("{}", serde_json::Value::Object(report));
    Ok(())
}

/// `bench/js`, with OneTable JS installed from its lock file on first use.
fn install_js() -> Result<std::path::PathBuf, Box<dyn std::error::Error>> {
    let js = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/js");
    if !js.join("node_modules").is_dir() {
        let status = Command::new("npm")
            .args(["ci", "--silent", "--no-audit", "--no-fund"])
            .current_dir(&js)
            .status()?;
        if !status.success() {
            return Err("npm ci in bench/js failed".into());
        }
    }
    Ok(js)
}

/// The migration's writes by hand: every `User` item scanned in 4 segments and
/// rewritten with 16 conditional writes in flight per segment, each conditional on
/// the whole image read (as the engine's are), reporting consumed write units.
mod raw_migration {
    use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, ReturnConsumedCapacity, TransactWriteItem};
    use aws_sdk_dynamodb::Client;
    use futures_util::{StreamExt, TryStreamExt};
    use std::collections::HashMap;

    type Item = HashMap<String, AttributeValue>;

    /// `#c0 = :c0 AND ... AND attribute_not_exists(#d)` over the non-key attributes.
    fn unchanged(item: &Item, names: &mut HashMap<String, String>, values: &mut Item) -> String {
        let mut parts = Vec::new();
        for (i, (name, value)) in item.iter().filter(|(k, _)| *k != "pk" && *k != "sk").enumerate() {
            names.insert(format!("#c{i}"), name.clone());
            values.insert(format!(":c{i}"), value.clone());
            parts.push(format!("#c{i} = :c{i}"));
        }
        names.insert("#d".into(), "_design".into());
        parts.push("attribute_not_exists(#d)".into());
        parts.join(" AND ")
    }

    async fn write(client: &Client, table: &str, item: Item, rekey: bool) -> f64 {
        let (mut names, mut values) = (HashMap::new(), HashMap::new());
        let condition = unchanged(&item, &mut names, &mut values);
        let key: Item = item
            .iter()
            .filter(|(k, _)| *k == "pk" || *k == "sk")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !rekey {
            let age: u32 = item["age"].as_n().unwrap().parse().unwrap();
            names.insert("#age".into(), "age".into());
            values.insert(":age".into(), AttributeValue::N((age + 1).to_string()));
            values.insert(":d".into(), AttributeValue::S("0.1.0".into()));
            let out = client
                .update_item()
                .table_name(table)
                .set_key(Some(key))
                .update_expression("SET #age = :age, #d = :d")
                .condition_expression(condition)
                .set_expression_attribute_names(Some(names))
                .set_expression_attribute_values(Some(values))
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .expect("update");
            return out.consumed_capacity().and_then(|c| c.capacity_units()).unwrap_or(0.0);
        }
        let text = |k: &str| item[k].as_s().unwrap().clone();
        let mut new = item.clone();
        new.insert("pk".into(), AttributeValue::S(format!("USER#{}", text("id"))));
        new.insert("sk".into(), AttributeValue::S(format!("ACCOUNT#{}", text("account"))));
        new.insert("_design".into(), AttributeValue::S("0.1.0".into()));
        let put = Put::builder()
            .table_name(table)
            .set_item(Some(new))
            .condition_expression("attribute_not_exists(#h)")
            .expression_attribute_names("#h", "pk")
            .build()
            .unwrap();
        let delete = Delete::builder()
            .table_name(table)
            .set_key(Some(key))
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .build()
            .unwrap();
        let out = client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(TransactWriteItem::builder().delete(delete).build())
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .expect("transaction");
        out.consumed_capacity().iter().filter_map(|c| c.capacity_units()).sum()
    }

    async fn segment(client: &Client, table: &str, segment: i32, rekey: bool) -> (u64, f64) {
        let (mut items, mut units, mut start) = (0u64, 0.0, None);
        loop {
            // A re-key's scan meets the items it moved: only the old form is due.
            let mut scan = client
                .scan()
                .table_name(table)
                .segment(segment)
                .total_segments(4)
                .filter_expression("#t = :t")
                .expression_attribute_names("#t", "_type")
                .expression_attribute_values(":t", AttributeValue::S("User".into()));
            if rekey {
                scan = scan
                    .filter_expression("#t = :t AND begins_with(#pk, :old)")
                    .expression_attribute_names("#pk", "pk")
                    .expression_attribute_values(":old", AttributeValue::S("ACCOUNT#".into()));
            }
            let out = scan
                .set_exclusive_start_key(start)
                .limit(200)
                .consistent_read(true)
                .send()
                .await
                .expect("scan");
            start = out.last_evaluated_key;
            let page = out.items.unwrap_or_default();
            items += page.len() as u64;
            units +=
                futures_util::stream::iter(page.into_iter().map(|item| write(client, table, item, rekey)))
                    .buffer_unordered(16)
                    .map(Ok::<f64, ()>)
                    .try_fold(0.0, |sum, u| async move { Ok(sum + u) })
                    .await
                    .unwrap_or(0.0);
            if start.is_none() {
                return (items, units);
            }
        }
    }

    /// Items rewritten and write units consumed.
    pub async fn run(client: &Client, table: &str, rekey: bool) -> (u64, f64) {
        let all = futures_util::future::join_all((0..4).map(|s| segment(client, table, s, rekey))).await;
        all.into_iter().fold((0, 0.0), |(i, u), (si, su)| (i + si, u + su))
    }
}
