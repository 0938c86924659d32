//! Data migrations scaled out, in simulation:
//! `cargo run --release --example bench -- --scale-out`.
//!
//! One emulator cannot show how a migration grows with worker processes, nor whether
//! a shared write-unit limit holds across them: it has no partitions and no service
//! latency, and it shares the machine's cores with the workers. So the embedded engine
//! stands behind a front (this file) that answers as DynamoDB's service would: every
//! request waits a set latency, and every write is charged to a partition (by a hash
//! of its partition key) that admits at most 1,000 write units a second, as each
//! DynamoDB partition does (adaptive capacity aside). A write over it is refused with
//! `ProvisionedThroughputExceededException`, which the SDK and then the engine retry.
//! The same migration then runs in 1, 2, 4 and 8 worker processes (`up` with a wait,
//! as replicas run it), without a limit and with `rate_limit`, and the whole table is
//! checked afterwards: every item migrated exactly once.

use onetable::migrate::{Migration, Migrator};
use onetable::{Entity, Table};
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Items migrated per run.
const ITEMS: u32 = 20_000;
/// The simulated table's partitions: two, so that this machine's two cores can
/// drive writes past their limit (a new on-demand table has four).
const PARTITIONS: usize = 2;
/// What each partition admits a second: DynamoDB's per-partition write limit.
const PARTITION_UNITS: f64 = 1_000.0;
/// The service's latency, added to every request.
const LATENCY: Duration = Duration::from_millis(20);
/// Scan segments; each worker runs two at a time, four writes in flight each.
const SEGMENTS: u32 = 16;
const PARALLEL: u32 = 2;
const IN_FLIGHT: usize = 4;
/// The limit of the limited runs, in write units a second: more than one worker
/// reaches (2 × 4 writes in flight at 20 ms: 400 a second at most).
const LIMIT: f64 = 600.0;
/// Time buckets of the front's write-unit count.
const BUCKET: Duration = Duration::from_millis(100);

#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Counter")]
#[key(pk = "COUNTER#${id}", sk = "COUNTER")]
struct Counter {
    id: u32,
    passes: u32,
}

/// The same counter re-keyed: the target of the re-key runs (a transaction per item
/// that puts the new item and deletes the old, 4 write units).
#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Counter", design = "0.2.0")]
#[key(pk = "BY#${id}", sk = "COUNTER")]
struct CounterById {
    id: u32,
    passes: u32,
}

/// Items of the re-key runs: fewer, as each costs four write units.
const REKEY_ITEMS: u32 = 6_000;

fn migrator(table: &Table, owner: &str, limit: Option<f64>, rekey: bool) -> Migrator {
    Migrator::new(table.clone())
        .owner(owner)
        .wait(Duration::from_secs(300))
        .migration(Migration::new("0.2.0", "count a pass").up(move |ctx| async move {
        macro_rules! run {
            ($transform:expr) => {{
                let transform = $transform.segments(SEGMENTS).parallel(PARALLEL).concurrency(IN_FLIGHT);
                match limit {
                    Some(limit) => transform.rate_limit(limit),
                    None => transform,
                }
                .run()
                .await
                .map(|_| ())
            }};
        }
        if rekey {
            run!(ctx.transform("rekey", |c: Counter| Some(CounterById { id: c.id, passes: c.passes + 1 })))
        } else {
            run!(ctx.transform("passes", |c: Counter| Some(Counter { passes: c.passes + 1, ..c })))
        }
    }))
}

/// One worker process: runs the migration through the front and prints one JSON line.
pub fn worker(
    runtime: &tokio::runtime::Runtime,
    endpoint: &str,
    table: &str,
    owner: &str,
    limit: f64,
    rekey: bool,
) {
    let builder = Table::builder(super::client_for(endpoint), table);
    let table = if rekey { builder.entity::<CounterById>() } else { builder.entity::<Counter>() };
    let table = table.build().expect("the table");
    let limit = (limit > 0.0).then_some(limit);
    let report = match runtime.block_on(migrator(&table, owner, limit, rekey).up(None)) {
        Ok(ran) => serde_json::json!({
            "owner": owner,
            "ok": true,
            "items": ran.iter().map(|r| r.items).sum::<u64>(),
            "held_the_lock": ran.iter().any(|r| !r.worker),
        }),
        Err(e) => serde_json::json!({ "owner": owner, "ok": false, "error": e.to_string() }),
    };
    println!("{report}");
}

/// What the front saw of one run.
struct Seen {
    start: Instant,
    /// Write units of the migration's item writes, per `BUCKET` since `start`.
    units: Vec<f64>,
    /// Write units of everything else (checkpoints, leases, history).
    bookkeeping: f64,
    /// Writes refused for a partition over its limit (the migration's and bookkeeping).
    throttled: u64,
    first: Option<Instant>,
    last: Option<Instant>,
}

impl Seen {
    fn new() -> Seen {
        Seen {
            start: Instant::now(),
            units: Vec::new(),
            bookkeeping: 0.0,
            throttled: 0,
            first: None,
            last: None,
        }
    }
}

/// The front: latency, partitions and their limits, and what it saw.
struct Front {
    upstream: String,
    /// Each partition's token bucket: units left and when it was last filled.
    partitions: Mutex<Vec<(f64, Instant)>>,
    seen: Mutex<Seen>,
}

impl Front {
    fn start(upstream: &str) -> (Arc<Front>, String) {
        let front = Arc::new(Front {
            upstream: upstream.trim_start_matches("http://").to_owned(),
            partitions: Mutex::new(vec![(PARTITION_UNITS, Instant::now()); PARTITIONS]),
            seen: Mutex::new(Seen::new()),
        });
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the front");
        let endpoint = format!("http://{}", listener.local_addr().expect("the front's address"));
        let serving = front.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let front = serving.clone();
                std::thread::spawn(move || {
                    let _ = front.connection(stream);
                });
            }
        });
        (front, endpoint)
    }

    /// Forgets what it saw: a new run begins.
    fn reset(&self) -> Seen {
        std::mem::replace(&mut *self.seen.lock().unwrap(), Seen::new())
    }

    /// Takes `charges` (partition, units) from the partitions' buckets, all or none.
    fn admit(&self, charges: &[(usize, f64)]) -> bool {
        let mut partitions = self.partitions.lock().unwrap();
        let now = Instant::now();
        for (tokens, at) in partitions.iter_mut() {
            // At most a second's worth saved up: a partition's limit is per second.
            *tokens =
                (*tokens + now.duration_since(*at).as_secs_f64() * PARTITION_UNITS).min(PARTITION_UNITS);
            *at = now;
        }
        let mut needed = [0.0; PARTITIONS];
        for (partition, units) in charges {
            needed[*partition] += units;
        }
        if needed.iter().zip(partitions.iter()).any(|(n, (tokens, _))| n > tokens) {
            return false;
        }
        for (n, (tokens, _)) in needed.iter().zip(partitions.iter_mut()) {
            *tokens -= n;
        }
        true
    }

    fn record(&self, charges: &[(usize, f64)], data: bool, throttled: bool) {
        let mut seen = self.seen.lock().unwrap();
        if throttled {
            seen.throttled += 1;
            return;
        }
        let units: f64 = charges.iter().map(|(_, u)| u).sum();
        if !data {
            seen.bookkeeping += units;
            return;
        }
        let now = Instant::now();
        let bucket = (now.duration_since(seen.start).as_millis() / BUCKET.as_millis()) as usize;
        if seen.units.len() <= bucket {
            seen.units.resize(bucket + 1, 0.0);
        }
        seen.units[bucket] += units;
        seen.first.get_or_insert(now);
        seen.last = Some(now);
    }

    fn connection(&self, stream: TcpStream) -> std::io::Result<()> {
        stream.set_nodelay(true)?;
        let mut reader = BufReader::new(stream.try_clone()?);
        let mut writer = stream;
        let mut upstream: Option<(BufReader<TcpStream>, TcpStream)> = None;
        loop {
            let Some((head, target, body)) = super::stub::read_request(&mut reader)? else { return Ok(()) };
            std::thread::sleep(LATENCY);
            let operation = target.rsplit('.').next().unwrap_or_default();
            let (charges, data) = charges(operation, &body);
            if !charges.is_empty() && !self.admit(&charges) {
                self.record(&charges, data, true);
                let body = br#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The partition's write throughput was exceeded (simulated)."}"#;
                write!(
                    writer,
                    "HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                )?;
                writer.write_all(body)?;
                continue;
            }
            if upstream.is_none() {
                let s = TcpStream::connect(&self.upstream)?;
                s.set_nodelay(true)?;
                upstream = Some((BufReader::new(s.try_clone()?), s));
            }
            let (up_reader, up_writer) = upstream.as_mut().expect("connected above");
            up_writer.write_all(&head)?;
            up_writer.write_all(&body)?;
            let (status, response) = read_response(up_reader)?;
            if status == 200 && !charges.is_empty() {
                self.record(&charges, data, false);
            }
            writer.write_all(&response)?;
        }
    }
}

/// One response, re-framed with a content length (the engine may send it chunked).
fn read_response(reader: &mut impl BufRead) -> std::io::Result<(u16, Vec<u8>)> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        // The engine closed the connection: so does the front, and the client retries.
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    let status = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut head = line.clone();
    let (mut length, mut chunked) = (None, false);
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let Some((name, value)) = header.split_once(':') else { continue };
        if name.eq_ignore_ascii_case("content-length") {
            length = value.trim().parse().ok();
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        } else {
            head.push_str(&line);
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or("0"), 16).unwrap_or(0);
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk)?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        body.resize(length.unwrap_or(0), 0);
        reader.read_exact(&mut body)?;
    }
    let mut response = format!("{head}Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    response.extend_from_slice(&body);
    Ok((status, response))
}

/// What a write costs and where: (partition, write units) for each item it writes,
/// as DynamoDB charges items of up to 1 KB (a transaction's actions twice), and
/// whether it writes the migration's items (not its bookkeeping). Reads cost nothing
/// here.
fn charges(operation: &str, body: &[u8]) -> (Vec<(usize, f64)>, bool) {
    let writes = ["PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"];
    if !writes.contains(&operation) {
        return (Vec::new(), false);
    }
    let request: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let mut keys: Vec<(&serde_json::Value, f64)> = Vec::new();
    match operation {
        "PutItem" => keys.push((&request["Item"], 1.0)),
        "UpdateItem" | "DeleteItem" => keys.push((&request["Key"], 1.0)),
        "TransactWriteItems" => {
            for action in request["TransactItems"].as_array().into_iter().flatten() {
                for (kind, field) in
                    [("Put", "Item"), ("Update", "Key"), ("Delete", "Key"), ("ConditionCheck", "Key")]
                {
                    if !action[kind].is_null() {
                        keys.push((&action[kind][field], 2.0));
                    }
                }
            }
        }
        _ => {
            for requests in request["RequestItems"].as_object().into_iter().flat_map(|t| t.values()) {
                for r in requests.as_array().into_iter().flatten() {
                    keys.push((
                        if r["PutRequest"].is_null() {
                            &r["DeleteRequest"]["Key"]
                        } else {
                            &r["PutRequest"]["Item"]
                        },
                        1.0,
                    ));
                }
            }
        }
    }
    let mut data = false;
    let charges = keys
        .into_iter()
        .map(|(key, units)| {
            let pk = key["pk"]["S"].as_str().unwrap_or_default();
            data |= !pk.starts_with('_');
            let mut hasher = DefaultHasher::new();
            pk.hash(&mut hasher);
            ((hasher.finish() % PARTITIONS as u64) as usize, units)
        })
        .collect();
    (charges, data)
}

/// Every counter of the table, raw: its partition key and passes.
async fn counters(table: &Table) -> Vec<(String, u32)> {
    let mut all = Vec::new();
    let mut start = None;
    loop {
        let out = table
            .client()
            .scan()
            .table_name(table.name())
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan");
        for item in out.items() {
            let pk = item.get("pk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
            if let (false, Some(Ok(passes))) =
                (pk.starts_with('_'), item.get("passes").and_then(|v| v.as_n().ok()).map(|n| n.parse()))
            {
                all.push((pk, passes));
            }
        }
        match out.last_evaluated_key() {
            Some(key) => start = Some(key.clone()),
            None => return all,
        }
    }
}

/// One configuration: `workers` processes, with or without the limit, in place or
/// re-keyed.
fn one_run(
    runtime: &tokio::runtime::Runtime,
    (engine, front, endpoint): (&onetable_local::DynamoDbLocal, &Front, &str),
    name: &str,
    (rekey, workers, limit): (bool, usize, Option<f64>),
) -> serde_json::Value {
    let items = if rekey { REKEY_ITEMS } else { ITEMS };
    let table = Table::builder(engine.client(), name).entity::<Counter>().build().expect("the table");
    runtime.block_on(async {
        table.create_table().send().await.expect("create the table");
        let mut batch = table.batch_write().concurrency(8);
        for id in 0..items {
            batch = batch.put(Counter { id, passes: 0 });
        }
        batch.await.expect("seed");
    });
    front.reset();
    let exe = std::env::current_exe().expect("this benchmark");
    let started = Instant::now();
    let children: Vec<_> = (0..workers)
        .map(|w| {
            Command::new(&exe)
                .args(["--scale-out-worker", "--endpoint", endpoint, "--table", name])
                .args(["--owner", &format!("worker-{w}"), "--limit", &limit.unwrap_or(0.0).to_string()])
                .args(rekey.then_some("--rekey"))
                .stdout(Stdio::piped())
                .spawn()
                .expect("start a worker")
        })
        .collect();
    let reports: Vec<serde_json::Value> = children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().expect("a worker ends");
            let stdout = String::from_utf8_lossy(&out.stdout);
            serde_json::from_str(stdout.lines().last().unwrap_or_default())
                .unwrap_or_else(|_| serde_json::json!({ "ok": false, "error": stdout }))
        })
        .collect();
    let wall = started.elapsed().as_secs_f64();
    let seen = front.reset();

    // The whole table, read past the front: every item migrated exactly once (and,
    // re-keyed, under its new key only).
    let passes = runtime.block_on(counters(&table));
    let prefix = if rekey { "BY#" } else { "COUNTER#" };
    assert_eq!(passes.len(), items as usize, "no item lost or added");
    assert!(passes.iter().all(|(pk, _)| pk.starts_with(prefix)), "every item under its new key");
    assert!(passes.iter().all(|(_, p)| *p == 1), "every item migrated exactly once");
    assert!(reports.iter().all(|r| r["ok"] == true), "every worker ended well: {reports:?}");

    let (first, last) = (seen.first.expect("writes seen"), seen.last.expect("writes seen"));
    let writing = last.duration_since(first).as_secs_f64();
    let units: f64 = seen.units.iter().sum();
    // Steady state: whole seconds of writing, the first and the last left out.
    let from = (first.duration_since(seen.start).as_millis() / BUCKET.as_millis()) as usize;
    let per_second: Vec<f64> = seen.units[from..].chunks(10).map(|c| c.iter().sum()).collect();
    let steady = if per_second.len() > 2 { &per_second[1..per_second.len() - 1] } else { &per_second[..] };
    let (low, high) = steady.iter().fold((f64::MAX, 0.0f64), |(l, h), u| (l.min(*u), h.max(*u)));
    serde_json::json!({
        "rekey": rekey,
        "workers": workers,
        "limit": limit,
        "items_per_s": f64::from(items) / writing,
        "units_per_s": units / writing,
        "steady_units_per_s_min": low,
        "steady_units_per_s_max": high,
        "throttled": seen.throttled,
        "bookkeeping_units": seen.bookkeeping,
        "workers_that_migrated": reports.iter().filter(|r| r["items"].as_u64().unwrap_or(0) > 0).count(),
        "writing_s": writing,
        "wall_s": wall,
    })
}

/// Every configuration, one after the other, against one engine and one front.
pub fn run(runtime: &tokio::runtime::Runtime) -> serde_json::Value {
    let engine = onetable_local::DynamoDbLocal::embedded().expect("the embedded engine");
    let (front, endpoint) = Front::start(engine.endpoint());
    let mut rows = Vec::new();
    let runs = [None, Some(LIMIT)]
        .into_iter()
        .flat_map(|limit| [1, 2, 4, 8].map(|workers| (false, workers, limit)))
        .chain([(true, 4, None), (true, 4, Some(LIMIT))]);
    for (rekey, workers, limit) in runs {
        let kind = if rekey { "rekey" } else { "inplace" };
        let name = format!("scale-out-{kind}-{}-{workers}", limit.map_or(0, |l| l as u32));
        let row = one_run(runtime, (&engine, &front, &endpoint), &name, (rekey, workers, limit));
        eprintln!("{row}");
        rows.push(row);
    }
    serde_json::json!({
        "items": ITEMS,
        "rekey_items": REKEY_ITEMS,
        "partitions": PARTITIONS,
        "partition_units": PARTITION_UNITS,
        "latency_ms": LATENCY.as_millis() as u64,
        "segments": SEGMENTS,
        "parallel": PARALLEL,
        "in_flight": IN_FLIGHT,
        "runs": rows,
    })
}
