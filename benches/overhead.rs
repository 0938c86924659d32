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
//! or CPU time.

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

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let client = stub_client();
    let table = Table::builder(client.clone(), "app").entity::<User>().build().expect("schema");
    let users = table.model::<User>();
    let hundred: Vec<User> = (0..100).map(user).collect();
    let one = user(1);

    // Both sides do the same work and read the same answers.
    rt.block_on(async {
        assert_eq!(
            users.get(User::key(&one.account, &one.id)).await.unwrap(),
            raw::get(&client, "app", &one.account, &one.id).await
        );
        assert_eq!(
            users.find(User::partition("p0")).limit(100).await.unwrap().items,
            raw::find(&client, "app", "p0").await
        );
    });

    // The same table reading every response through the SDK's output types: what
    // decoding the body straight into the entity saves.
    let through_sdk =
        Table::builder(client.clone(), "app").entity::<User>().direct_reads(false).build().expect("schema");
    let sdk_users = through_sdk.model::<User>();
    rt.block_on(async {
        assert_eq!(
            sdk_users.find(User::partition("p0")).limit(100).await.unwrap().items,
            users.find(User::partition("p0")).limit(100).await.unwrap().items
        );
    });

    let mut group = c.benchmark_group("create");
    group.bench_function("onetable", |b| b.iter(|| rt.block_on(users.create(user(1)).send()).unwrap()));
    // A write on a client without the interceptor of direct reads: what it costs others.
    group.bench_function("onetable_sdk_types", |b| {
        b.iter(|| rt.block_on(sdk_users.create(user(1)).send()).unwrap())
    });
    group.bench_function("raw_sdk", |b| b.iter(|| rt.block_on(raw::create(&client, "app", &user(1)))));
    group.finish();

    // Memory of one find of 100 items and one get, each way (printed, not timed).
    for (side, find, get) in [("onetable", &users, &users), ("onetable_sdk_types", &sdk_users, &sdk_users)] {
        let (f, fp) = memory_of(|| {
            rt.block_on(find.find(User::partition("p0")).limit(100).send()).unwrap();
        });
        let (g, gp) = memory_of(|| {
            rt.block_on(get.get(User::key(&one.account, &one.id)).send()).unwrap();
        });
        eprintln!("memory {side}: find_100 allocates {f} B (peak {fp} B), get {g} B (peak {gp} B)");
    }
    let (f, fp) = memory_of(|| {
        rt.block_on(raw::find(&client, "app", "p0"));
    });
    let (g, gp) = memory_of(|| {
        rt.block_on(raw::get(&client, "app", &one.account, &one.id));
    });
    eprintln!("memory raw_sdk: find_100 allocates {f} B (peak {fp} B), get {g} B (peak {gp} B)");

    let mut group = c.benchmark_group("get");
    group.bench_function("onetable", |b| {
        b.iter(|| rt.block_on(users.get(User::key(&one.account, &one.id)).send()).unwrap())
    });
    group.bench_function("onetable_sdk_types", |b| {
        b.iter(|| rt.block_on(sdk_users.get(User::key(&one.account, &one.id)).send()).unwrap())
    });
    group.bench_function("raw_sdk", |b| {
        b.iter(|| rt.block_on(raw::get(&client, "app", &one.account, &one.id)))
    });
    group.finish();

    let mut group = c.benchmark_group("find_100");
    group.bench_function("onetable", |b| {
        b.iter(|| rt.block_on(users.find(User::partition("p0")).limit(100).send()).unwrap())
    });
    group.bench_function("onetable_sdk_types", |b| {
        b.iter(|| rt.block_on(sdk_users.find(User::partition("p0")).limit(100).send()).unwrap())
    });
    group.bench_function("raw_sdk", |b| b.iter(|| rt.block_on(raw::find(&client, "app", "p0"))));
    group.finish();

    let mut group = c.benchmark_group("update");
    group.bench_function("onetable", |b| {
        b.iter(|| {
            rt.block_on(
                users
                    .update(User::key(&one.account, &one.id))
                    .set(User::NAME, "Ann")
                    .add(User::AGE, 1)
                    .send(),
            )
            .unwrap()
        })
    });
    group.bench_function("raw_sdk", |b| {
        b.iter(|| rt.block_on(raw::update(&client, "app", &one.account, &one.id)))
    });
    group.finish();

    let mut group = c.benchmark_group("batch_write_100");
    group.bench_function("onetable", |b| {
        b.iter(|| {
            let mut batch = table.batch_write().concurrency(1);
            for u in hundred.iter().cloned() {
                batch = batch.put(u);
            }
            rt.block_on(batch.send()).unwrap()
        })
    });
    group.bench_function("raw_sdk", |b| b.iter(|| rt.block_on(raw::batch(&client, "app", &hundred))));
    group.finish();

    // Metrics compiled in (the `metrics` feature) and off at run time, the default,
    // against metrics on with no recorder installed (the facade's no-op recorder):
    // what recording costs onetable itself, whatever exporter then adds.
    let measured = Table::builder(client.clone(), "app")
        .entity::<User>()
        .metrics(onetable::metrics::Metrics::new())
        .build()
        .expect("schema");
    let measured_users = measured.model::<User>();
    let mut group = c.benchmark_group("metrics");
    group.bench_function("get_off", |b| {
        b.iter(|| rt.block_on(users.get(User::key(&one.account, &one.id)).send()).unwrap())
    });
    group.bench_function("get_on", |b| {
        b.iter(|| rt.block_on(measured_users.get(User::key(&one.account, &one.id)).send()).unwrap())
    });
    group.bench_function("find_100_off", |b| {
        b.iter(|| rt.block_on(users.find(User::partition("p0")).limit(100).send()).unwrap())
    });
    group.bench_function("find_100_on", |b| {
        b.iter(|| rt.block_on(measured_users.find(User::partition("p0")).limit(100).send()).unwrap())
    });
    group.finish();
}

/// Runs `OVERHEAD_ONLY` `OVERHEAD_RUNS` times, if both are set (see the module).
fn counted() -> bool {
    let (Ok(only), Ok(runs)) = (std::env::var("OVERHEAD_ONLY"), std::env::var("OVERHEAD_RUNS")) else {
        return false;
    };
    let runs: usize = runs.parse().expect("OVERHEAD_RUNS: a number");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let client = stub_client();
    let table = Table::builder(client.clone(), "app").entity::<User>().build().expect("schema");
    let users = table.model::<User>();
    let one = user(1);
    let hundred: Vec<User> = (0..100).map(user).collect();
    // Each arm's result is dropped: only the work of getting it is counted.
    let run = || match only.as_str() {
        "create/onetable" => {
            rt.block_on(users.create(user(1)).send()).unwrap();
        }
        "create/raw_sdk" => rt.block_on(raw::create(&client, "app", &user(1))),
        "get/onetable" => {
            rt.block_on(users.get(User::key(&one.account, &one.id)).send()).unwrap();
        }
        "get/raw_sdk" => {
            rt.block_on(raw::get(&client, "app", &one.account, &one.id));
        }
        "find_100/onetable" => {
            rt.block_on(users.find(User::partition("p0")).limit(100).send()).unwrap();
        }
        "find_100/raw_sdk" => {
            rt.block_on(raw::find(&client, "app", "p0"));
        }
        "update/onetable" => {
            let update =
                users.update(User::key(&one.account, &one.id)).set(User::NAME, "Ann").add(User::AGE, 1);
            rt.block_on(update.send()).unwrap();
        }
        "update/raw_sdk" => {
            rt.block_on(raw::update(&client, "app", &one.account, &one.id));
        }
        "batch_write_100/onetable" => {
            let mut batch = table.batch_write().concurrency(1);
            for u in hundred.iter().cloned() {
                batch = batch.put(u);
            }
            rt.block_on(batch.send()).unwrap();
        }
        "batch_write_100/raw_sdk" => rt.block_on(raw::batch(&client, "app", &hundred)),
        other => panic!("OVERHEAD_ONLY: no operation {other}"),
    };
    for _ in 0..=runs {
        run();
    }
    true
}

criterion_group!(benches, bench);

fn main() {
    if !counted() {
        benches();
        Criterion::default().configure_from_args().final_summary();
    }
}
