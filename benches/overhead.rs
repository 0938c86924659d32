//! Library overhead: each operation through onetable and through hand-written
//! aws-sdk-dynamodb code doing exactly the same job, both against one in-process stub
//! that answers with canned DynamoDB responses — so only client CPU is measured.
//!
//! `cargo bench --bench overhead`
//!
//! With `OVERHEAD_RUNS=<n> OVERHEAD_ONLY=<group>/<side>` the binary skips criterion and
//! runs that one operation n times after one run to warm up (n + 1 in all): for counting
//! instructions under `valgrind --tool=cachegrind`, which a shared, noisy host cannot
//! disturb. `bench/counted.sh` does that for every operation and side, counting instructions
//! or CPU time. With `OVERHEAD_PAIRED=<group>` it times the group's two sides in one
//! process, alternating (see `paired`).

#[path = "../bench/workload.rs"]
mod workload;

use aws_smithy_http_client::test_util::infallible_client_fn;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};

/// Counts what is allocated, and the most held at once, for the memory of one read;
/// only while `COUNTING` is set, so that the timed runs pay one load an allocation.
struct Counting;
static COUNTING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static ALLOCATED: AtomicUsize = AtomicUsize::new(0);
static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATED.fetch_add(layout.size(), Ordering::Relaxed);
            let size = layout.size() as isize;
            let live = LIVE.fetch_add(size, Ordering::Relaxed) + size;
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        // SAFETY: the layout is the caller's, passed on unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        }
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Bytes allocated by one run of `f`, and the most it held at once (what it frees of
/// earlier allocations counts below zero).
fn memory_of(f: impl FnOnce()) -> (usize, usize) {
    ALLOCATED.store(0, Ordering::Relaxed);
    LIVE.store(0, Ordering::Relaxed);
    PEAK.store(0, Ordering::Relaxed);
    COUNTING.store(true, Ordering::Relaxed);
    f();
    COUNTING.store(false, Ordering::Relaxed);
    (ALLOCATED.load(Ordering::Relaxed), PEAK.load(Ordering::Relaxed).max(0) as usize)
}
use criterion::{criterion_group, Criterion};
use onetable::Table;
use workload::{raw, user, user_json, User};

/// A client whose requests are answered by `x-amz-target` from canned bodies.
fn stub_client() -> aws_sdk_dynamodb::Client {
    let one = user_json(1);
    // A page of partition p0's users.
    let hundred: Vec<String> = (0..100).map(|n| user_json(n * workload::PARTITIONS)).collect();
    let query = format!(r#"{{"Items":[{}],"Count":100,"ScannedCount":100}}"#, hundred.join(","));
    let get = format!(r#"{{"Item":{one}}}"#);
    let update = format!(r#"{{"Attributes":{one}}}"#);
    let http = infallible_client_fn(move |request| {
        let target = request.headers().get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
        let body = match target.rsplit('.').next().unwrap_or_default() {
            // No such item (the floor of a get, `get/raw_sdk_absent`).
            "GetItem" if request.body().bytes().is_some_and(workload::asks_for_absent) => "{}".to_owned(),
            "GetItem" => get.clone(),
            "Query" => query.clone(),
            "UpdateItem" => update.clone(),
            "BatchWriteItem" => r#"{"UnprocessedItems":{}}"#.to_owned(),
            _ => "{}".to_owned(),
        };
        http::Response::builder()
            .status(200)
            .header("content-type", "application/x-amz-json-1.0")
            .body(body)
            .expect("a valid response")
    });
    aws_sdk_dynamodb::Client::from_conf(workload::config().http_client(http).build())
}

/// The stub, the tables and the items the operations use.
struct Workload {
    rt: tokio::runtime::Runtime,
    client: aws_sdk_dynamodb::Client,
    /// Reads decoded straight from the body: side `onetable`.
    table: Table,
    /// The same table reading every response through the SDK's output types, and
    /// handing the SDK a batch's items to write (what decoding the body straight into
    /// the entity, and writing the items' JSON, save): side `onetable_sdk_types`.
    through_sdk: Table,
    /// The same table recording metrics, with no recorder installed (the facade's
    /// no-op recorder): side `onetable_metrics`.
    measured: Table,
    one: User,
    hundred: Vec<User>,
}

impl Workload {
    fn new() -> Self {
        let client = stub_client();
        let table = || Table::builder(client.clone(), "app").entity::<User>();
        Workload {
            rt: tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime"),
            table: table().build().expect("schema"),
            through_sdk: table().direct_reads(false).direct_writes(false).build().expect("schema"),
            measured: table().metrics(onetable::metrics::Metrics::new()).build().expect("schema"),
            client,
            one: user(1),
            hundred: (0..100).map(user).collect(),
        }
    }

    /// Operation `<group>/<side>`, one run a call: what criterion times and the
    /// counted mode counts. Each result is dropped: only getting it counts.
    fn operation(&self, name: &str) -> Box<dyn Fn() + '_> {
        let Workload { rt, client, one, hundred, .. } = self;
        let (group, side) = name.split_once('/').unwrap_or_else(|| panic!("{name}: not <group>/<side>"));
        let table = match side {
            "onetable" => &self.table,
            "onetable_sdk_types" => &self.through_sdk,
            "onetable_metrics" => &self.measured,
            "onetable_absent" => &self.table,
            // A get the stub answers with no item: the SDK's pipeline with nothing to
            // decode or parse, the least any get through it costs.
            "raw_sdk_absent" if group == "get" => {
                return Box::new(move || {
                    assert!(rt.block_on(raw::get(client, "app", &one.account, workload::ABSENT)).is_none());
                })
            }
            "raw_sdk" => {
                return match group {
                    "create" => Box::new(move || rt.block_on(raw::create(client, "app", &user(1)))),
                    "get" => Box::new(move || {
                        rt.block_on(raw::get(client, "app", &one.account, &one.id));
                    }),
                    "find_100" => Box::new(move || {
                        rt.block_on(raw::find(client, "app", "p0"));
                    }),
                    "update" => Box::new(move || {
                        rt.block_on(raw::update(client, "app", &one.account, &one.id));
                    }),
                    "mixed" => Box::new(move || {
                        rt.block_on(async {
                            raw::get(client, "app", &one.account, &one.id).await;
                            raw::create(client, "app", &user(1)).await;
                            raw::update(client, "app", &one.account, &one.id).await;
                        })
                    }),
                    "batch_write_100" => Box::new(move || rt.block_on(raw::batch(client, "app", hundred))),
                    _ => panic!("no operation {name}"),
                }
            }
            _ => panic!("no operation {name}"),
        };
        let users = table.model::<User>();
        match group {
            "create" => Box::new(move || {
                rt.block_on(users.create(user(1)).send()).unwrap();
            }),
            // No item: what onetable adds to the SDK's pipeline, decoding aside.
            "get" if side == "onetable_absent" => Box::new(move || {
                let absent = users.get(User::key(&one.account, workload::ABSENT)).send();
                assert!(rt.block_on(absent).unwrap().is_none());
            }),
            "get" => Box::new(move || {
                rt.block_on(users.get(User::key(&one.account, &one.id)).send()).unwrap();
            }),
            "find_100" => Box::new(move || {
                rt.block_on(users.find(User::partition("p0")).limit(100).send()).unwrap();
            }),
            // An application's requests of several kinds, one after the other: a get,
            // a create and an update.
            "mixed" => Box::new(move || {
                rt.block_on(async {
                    users.get(User::key(&one.account, &one.id)).send().await.unwrap();
                    users.create(user(1)).send().await.unwrap();
                    let update = users
                        .update(User::key(&one.account, &one.id))
                        .set(User::NAME, "Ann")
                        .add(User::AGE, 1);
                    update.send().await.unwrap();
                })
            }),
            "update" => Box::new(move || {
                let update =
                    users.update(User::key(&one.account, &one.id)).set(User::NAME, "Ann").add(User::AGE, 1);
                rt.block_on(update.send()).unwrap();
            }),
            "batch_write_100" => Box::new(move || {
                let mut batch = table.batch_write().concurrency(1);
                for u in hundred.iter().cloned() {
                    batch = batch.put(u);
                }
                rt.block_on(batch.send()).unwrap();
            }),
            _ => panic!("no operation {name}"),
        }
    }
}

/// Times each of `runs` (a label and an operation of [`Workload::operation`]) in
/// criterion group `group`.
fn measure(c: &mut Criterion, w: &Workload, group: &str, runs: &[(&str, String)]) {
    let mut timed = c.benchmark_group(group);
    for (label, operation) in runs {
        let run = w.operation(operation);
        timed.bench_function(*label, |b| b.iter(&run));
    }
    timed.finish();
}

/// `sides` of operation `group`, each labelled with its side.
fn sides(group: &str, sides: &[&'static str]) -> Vec<(&'static str, String)> {
    sides.iter().map(|side| (*side, format!("{group}/{side}"))).collect()
}

fn bench(c: &mut Criterion) {
    let w = Workload::new();
    let one = &w.one;

    // Every side does the same work and reads the same answers.
    w.rt.block_on(async {
        let raw_get = raw::get(&w.client, "app", &one.account, &one.id).await;
        let raw_find = raw::find(&w.client, "app", "p0").await;
        for users in [w.table.model::<User>(), w.through_sdk.model::<User>()] {
            assert_eq!(users.get(User::key(&one.account, &one.id)).await.unwrap(), raw_get);
            assert_eq!(users.find(User::partition("p0")).limit(100).await.unwrap().items, raw_find);
        }
    });

    // `onetable_sdk_types` for a write: a client without the interceptor of direct
    // reads, so what that interceptor costs others.
    let all = ["onetable", "onetable_sdk_types", "raw_sdk"];
    measure(c, &w, "create", &sides("create", &all));

    // Memory of one find of 100 items and one get, each way (printed, not timed).
    for side in all {
        let (find, get) = (w.operation(&format!("find_100/{side}")), w.operation(&format!("get/{side}")));
        let (f, fp) = memory_of(&find);
        let (g, gp) = memory_of(&get);
        eprintln!("memory {side}: find_100 allocates {f} B (peak {fp} B), get {g} B (peak {gp} B)");
    }

    measure(c, &w, "get", &sides("get", &all));
    measure(c, &w, "find_100", &sides("find_100", &all));
    measure(c, &w, "update", &sides("update", &["onetable", "raw_sdk"]));
    measure(c, &w, "batch_write_100", &sides("batch_write_100", &all));

    // Metrics compiled in (the `metrics` feature) and off at run time, the default,
    // against metrics on with no recorder installed: what recording costs onetable
    // itself, whatever exporter then adds.
    let metrics = [
        ("get_off", "get/onetable"),
        ("get_on", "get/onetable_metrics"),
        ("find_100_off", "find_100/onetable"),
        ("find_100_on", "find_100/onetable_metrics"),
    ];
    measure(c, &w, "metrics", &metrics.map(|(label, operation)| (label, operation.to_owned())));
}

/// Runs `OVERHEAD_ONLY` `OVERHEAD_RUNS` times, if both are set (see the module).
fn counted() -> bool {
    let (Ok(only), Ok(runs)) = (std::env::var("OVERHEAD_ONLY"), std::env::var("OVERHEAD_RUNS")) else {
        return false;
    };
    let runs: usize = runs.parse().expect("OVERHEAD_RUNS: a number");
    let w = Workload::new();
    let run = w.operation(&only);
    for _ in 0..=runs {
        run();
    }
    true
}

/// This thread's CPU time: what the other processes of a shared host cannot add to,
/// unlike the wall clock (they can still slow it through the caches they share).
fn thread_cpu() -> std::time::Duration {
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    std::time::Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// With `OVERHEAD_PAIRED=<group>` (or `=<operation>,<operation>`): the CPU time of the
/// group's `onetable` and `raw_sdk` sides (or of the two operations) in one process,
/// alternating in blocks of `BLOCK` operations (`OVERHEAD_BLOCKS` pairs of blocks, 200
/// by default), so that whatever else the host runs falls on both alike. Prints each
/// side's microseconds an operation (the mean over all its blocks), their ratio, and
/// the median of the blocks' ratios, which one disturbed block cannot move.
fn paired() -> bool {
    const BLOCK: usize = 50;
    let Ok(paired) = std::env::var("OVERHEAD_PAIRED") else { return false };
    let blocks: usize =
        std::env::var("OVERHEAD_BLOCKS").map_or(200, |b| b.parse().expect("OVERHEAD_BLOCKS: a number"));
    let names = match paired.split_once(',') {
        Some((a, b)) => [a.to_owned(), b.to_owned()],
        None => [format!("{paired}/onetable"), format!("{paired}/raw_sdk")],
    };
    let w = Workload::new();
    let sides = [w.operation(&names[0]), w.operation(&names[1])];
    let block = |run: &dyn Fn()| {
        let start = thread_cpu();
        for _ in 0..BLOCK {
            run();
        }
        (thread_cpu() - start).as_secs_f64() * 1e6 / BLOCK as f64
    };
    // Warm-up: each side's first runs fill its caches and the allocator's.
    sides.iter().for_each(|run| {
        block(run);
    });
    let (mut totals, mut ratios) = ([0.0f64; 2], Vec::with_capacity(blocks));
    for i in 0..blocks {
        // Each pair in turn starts with the other side.
        let order = if i % 2 == 0 { [0, 1] } else { [1, 0] };
        let mut pair = [0.0; 2];
        for side in order {
            pair[side] = block(&sides[side]);
        }
        totals[0] += pair[0];
        totals[1] += pair[1];
        ratios.push(pair[0] / pair[1]);
    }
    ratios.sort_by(f64::total_cmp);
    let (a, b) = (totals[0] / blocks as f64, totals[1] / blocks as f64);
    println!(
        "paired {} {a:.2} us/op, {} {b:.2} us/op, ratio {:.3}, median block ratio {:.3}",
        names[0],
        names[1],
        a / b,
        ratios[blocks / 2]
    );
    true
}

criterion_group!(benches, bench);

fn main() {
    if !counted() && !paired() {
        benches();
        Criterion::default().configure_from_args().final_summary();
    }
}
