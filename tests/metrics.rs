//! Metrics through the `metrics` facade: what a recorder receives for each operation,
//! entity and index against DynamoDB Local, the hottest partitions by consumed
//! capacity, and retries and throttles against canned throttling responses.

mod common;

use aws_smithy_http_client::test_util::infallible_client_fn;
use metrics::{
    Counter, CounterFn, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder, SharedString, Unit,
};
use onetable::metrics::Metrics;
use onetable::{Entity, Table};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// A metric's name and its labels, sorted.
type Id = (String, Vec<(String, String)>);

/// Every counter's total and every histogram's samples.
#[derive(Default)]
struct Store {
    counters: Mutex<BTreeMap<Id, Arc<Count>>>,
    histograms: Mutex<BTreeMap<Id, Arc<Samples>>>,
}

#[derive(Default)]
struct Count(AtomicUsize);
impl CounterFn for Count {
    fn increment(&self, value: u64) {
        self.0.fetch_add(value as usize, Ordering::SeqCst);
    }
    fn absolute(&self, value: u64) {
        self.0.store(value as usize, Ordering::SeqCst);
    }
}

#[derive(Default)]
struct Samples(Mutex<Vec<f64>>);
impl HistogramFn for Samples {
    fn record(&self, value: f64) {
        self.0.lock().unwrap().push(value);
    }
}

fn id(key: &Key) -> Id {
    let mut labels: Vec<(String, String)> =
        key.labels().map(|l| (l.key().to_owned(), l.value().to_owned())).collect();
    labels.sort();
    (key.name().to_owned(), labels)
}

struct Shared(&'static Store);

impl Recorder for Shared {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let count = self.0.counters.lock().unwrap().entry(id(key)).or_default().clone();
        Counter::from_arc(count)
    }
    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        let samples = self.0.histograms.lock().unwrap().entry(id(key)).or_default().clone();
        Histogram::from_arc(samples)
    }
}

/// The recorder of this test binary, installed once.
fn store() -> &'static Store {
    static STORE: OnceLock<&'static Store> = OnceLock::new();
    STORE.get_or_init(|| {
        let store: &'static Store = Box::leak(Box::default());
        metrics::set_global_recorder(Shared(store)).expect("the only recorder");
        store
    })
}

/// The counter `name` of table `table` summed over the series whose labels include
/// every one of `labels`.
fn counter(table: &str, name: &str, labels: &[(&str, &str)]) -> usize {
    let counters = store().counters.lock().unwrap();
    counters
        .iter()
        .filter(|((n, l), _)| {
            n == name
                && l.iter().any(|(k, v)| k == "table" && v == table)
                && labels.iter().all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
        })
        .map(|(_, c)| c.0.load(Ordering::SeqCst))
        .sum()
}

fn samples(table: &str, name: &str, operation: &str) -> usize {
    let histograms = store().histograms.lock().unwrap();
    histograms
        .iter()
        .filter(|((n, l), _)| {
            n == name
                && l.iter().any(|(k, v)| k == "table" && v == table)
                && l.iter().any(|(k, v)| k == "operation" && v == operation)
        })
        .map(|(_, s)| s.0.lock().unwrap().len())
        .sum()
}

#[derive(Entity, Debug, Clone, PartialEq)]
#[key(pk = "ACCOUNT#${account}", sk = "ORDER#${id}")]
#[index(name = "gs1", pk = "STATUS#${status}", sk = "ORDER#${id}")]
struct Order {
    account: String,
    id: String,
    status: String,
    notes: String,
}

fn order(account: &str, i: usize, size: usize) -> Order {
    Order { account: account.into(), id: format!("{i:04}"), status: "open".into(), notes: "n".repeat(size) }
}

#[tokio::test]
async fn every_request_is_counted_timed_and_costed_by_operation_entity_and_index() {
    store();
    let table = common::table(|t| t.entity::<Order>().metrics(Metrics::new().partitions())).await;
    let name = table.name().to_owned();
    let orders = table.model::<Order>();

    // One hot account with orders of almost 3 KB, five quiet ones.
    for i in 0..20 {
        orders.create(order("hot", i, 2_900)).await.unwrap();
    }
    for account in ["a", "b", "c", "d", "e"] {
        orders.create(order(account, 0, 10)).await.unwrap();
    }
    let err = orders.create(order("a", 0, 10)).await.unwrap_err();
    assert!(err.is_already_exists());
    for _ in 0..3 {
        orders.get(Order::key("hot", "0001")).await.unwrap().unwrap();
    }
    let found = orders.find(Order::partition("hot")).await.unwrap();
    assert_eq!(found.items.len(), 20);
    let open = orders.find(Order::gs1_partition("open")).limit(7).await.unwrap();
    assert_eq!(open.items.len(), 7);
    orders.update(Order::key("b", "0000")).set(Order::STATUS, "closed".to_owned()).await.unwrap();
    orders.remove(Order::key("c", "0000")).await.unwrap();
    let mut batch = table.batch_write();
    for i in 100..130 {
        batch = batch.put(order("f", i, 10));
    }
    batch.await.unwrap();

    let of = |op: &str| counter(&name, "onetable_requests_total", &[("operation", op), ("entity", "Order")]);
    assert_eq!(of("create"), 26);
    assert_eq!(of("get"), 3);
    assert_eq!((of("find"), of("update"), of("remove")), (2, 1, 1));
    assert_eq!(
        counter(&name, "onetable_requests_total", &[("operation", "batch_write")]),
        2,
        "30 puts, 2 requests"
    );
    let failed = counter(
        &name,
        "onetable_requests_total",
        &[("operation", "create"), ("outcome", "ConditionalCheckFailedException")],
    );
    assert_eq!(failed, 1, "the taken key is counted with its error");
    assert_eq!(
        counter(&name, "onetable_requests_total", &[("operation", "find"), ("index", "gs1")]),
        1,
        "the index is a label"
    );
    // Every request timed.
    assert_eq!(samples(&name, "onetable_request_seconds", "create"), 26);
    assert_eq!(samples(&name, "onetable_request_seconds", "find"), 2);
    // Items returned by reads.
    assert_eq!(counter(&name, "onetable_items_total", &[("operation", "get")]), 3);
    assert_eq!(counter(&name, "onetable_items_total", &[("operation", "find"), ("index", "primary")]), 20);
    assert_eq!(counter(&name, "onetable_items_total", &[("operation", "find"), ("index", "gs1")]), 7);
    // Capacity as DynamoDB reported it, in tenths: an order of almost 3 KB costs 3
    // write units, a small one 1, each twice (the table and gs1, which holds whole
    // items); a get of a 3 KB item half a read unit.
    let written = counter(&name, "onetable_write_units_total", &[("operation", "create")]);
    assert_eq!(written, 2 * (20 * 3 + 5) * 10, "{written} tenths");
    assert_eq!(counter(&name, "onetable_read_units_total", &[("operation", "get")]), 3 * 5);
    assert!(counter(&name, "onetable_write_units_total", &[("operation", "batch_write")]) >= 300);

    // The hottest partitions by consumed capacity.
    let mut partitions: Vec<(String, usize)> = {
        let counters = store().counters.lock().unwrap();
        counters
            .iter()
            .filter(|((n, l), _)| {
                n == "onetable_partition_units_total" && l.iter().any(|(k, v)| k == "table" && *v == name)
            })
            .map(|((_, l), c)| {
                let partition = l.iter().find(|(k, _)| k == "partition").unwrap().1.clone();
                (partition, c.0.load(Ordering::SeqCst))
            })
            .collect()
    };
    partitions.sort_by_key(|(_, units)| std::cmp::Reverse(*units));
    let top: Vec<&str> = partitions.iter().take(3).map(|(p, _)| p.as_str()).collect();
    assert_eq!(top[0], "ACCOUNT#hot", "{partitions:?}");
    // The hot partition's capacity is its creates', gets' and find's.
    let hot_reads = counter(&name, "onetable_read_units_total", &[("operation", "get")])
        + counter(&name, "onetable_read_units_total", &[("operation", "find"), ("index", "primary")]);
    assert_eq!(partitions[0].1, written - 2 * 5 * 10 + hot_reads, "{partitions:?}");
    assert!(partitions[0].1 > 10 * partitions[1].1, "{partitions:?}");
}

#[tokio::test]
async fn metrics_off_record_nothing() {
    store();
    let table = common::table(|t| t.entity::<Order>()).await;
    let orders = table.model::<Order>();
    orders.create(order("x", 1, 10)).await.unwrap();
    orders.get(Order::key("x", "0001")).await.unwrap().unwrap();
    let name = table.name();
    assert_eq!(counter(name, "onetable_requests_total", &[]), 0);
}

const THROTTLED: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded."}"#;

#[tokio::test]
async fn retries_and_throttles_are_counted_per_attempt() {
    store();
    // Two throttled attempts, then the item.
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let http = infallible_client_fn(move |_request| {
        let call = seen.fetch_add(1, Ordering::SeqCst);
        let (status, body) = if call < 2 {
            (400, THROTTLED)
        } else {
            (
                200,
                r#"{"Item":{"pk":{"S":"ACCOUNT#a"},"sk":{"S":"ORDER#0001"},"_type":{"S":"Order"},"account":{"S":"a"},"id":{"S":"0001"},"status":{"S":"open"},"notes":{"S":""}},"ConsumedCapacity":{"TableName":"throttled","CapacityUnits":0.5}}"#,
            )
        };
        http::Response::builder()
            .status(status)
            .header("content-type", "application/x-amz-json-1.0")
            .body(body)
            .expect("a response")
    });
    let client = common::mocked_client(http, 5);
    let table =
        Table::builder(client, "throttled").entity::<Order>().metrics(Metrics::new()).build().unwrap();
    let got = table.model::<Order>().get(Order::key("a", "0001")).await.unwrap();
    assert_eq!(got.map(|o| o.id), Some("0001".to_owned()));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(counter("throttled", "onetable_throttles_total", &[("operation", "GetItem")]), 2);
    assert_eq!(counter("throttled", "onetable_retries_total", &[("operation", "GetItem")]), 2);
    assert_eq!(
        counter("throttled", "onetable_requests_total", &[("operation", "get"), ("outcome", "ok")]),
        1
    );
    assert_eq!(counter("throttled", "onetable_read_units_total", &[("operation", "get")]), 5);

    // Throttling that outlasts the retries: the request counted with its error.
    calls.store(0, Ordering::SeqCst);
    let http = infallible_client_fn(move |_request| {
        http::Response::builder()
            .status(400)
            .header("content-type", "application/x-amz-json-1.0")
            .body(THROTTLED)
            .expect("a response")
    });
    let table = Table::builder(common::mocked_client(http, 3), "always-throttled")
        .entity::<Order>()
        .metrics(Metrics::new())
        .build()
        .unwrap();
    let err = table.model::<Order>().get(Order::key("a", "0001")).await.unwrap_err();
    assert!(err.is_throttled());
    let outcome = "ProvisionedThroughputExceededException";
    assert_eq!(counter("always-throttled", "onetable_requests_total", &[("outcome", outcome)]), 1);
    assert_eq!(counter("always-throttled", "onetable_throttles_total", &[]), 3);
    assert_eq!(counter("always-throttled", "onetable_retries_total", &[]), 2);
}

/// A migration's requests are counted like any other's: by operation and entity, with
/// the migration's version as a label, their capacity costed.
#[tokio::test]
async fn a_migrations_requests_are_counted_by_entity_operation_and_version() {
    use onetable::migrate::{Migration, Migrator};
    store();
    let table = common::table(|t| t.entity::<Order>().metrics(Metrics::new())).await;
    let name = table.name().to_owned();
    let orders = table.model::<Order>();
    for i in 0..12 {
        orders.create(order("m", i, 10)).await.unwrap();
    }
    let migrator = Migrator::new(table.clone()).migration(Migration::new("0.2.0", "close every order").up(
        |ctx| async move {
            ctx.transform("close", |o: Order| Some(Order { status: "closed".into(), ..o }))
                .segments(2)
                .run()
                .await
                .map(|_| ())
        },
    ));
    let ran = migrator.up(None).await.unwrap();
    assert_eq!(ran[0].items, 12);

    let migration = [("entity", "Order"), ("migration", "0.2.0")];
    let of = |operation: &str, outcome: &str| {
        let mut labels = vec![("operation", operation), ("outcome", outcome)];
        labels.extend(migration);
        counter(&name, "onetable_requests_total", &labels)
    };
    assert_eq!(of("migration write", "ok"), 12, "one write an order");
    // Two segments read once by the scan and once by the final pass, at least.
    assert!(of("migration scan", "ok") >= 4, "the scans: {}", of("migration scan", "ok"));
    let written = counter(
        &name,
        "onetable_write_units_total",
        &[("operation", "migration write"), ("entity", "Order"), ("migration", "0.2.0")],
    );
    // Each order costs a write unit on the table and at least one on gs1 (its key
    // changed: DynamoDB may charge the old index entry's removal too).
    assert!(written >= 12 * 2 * 10, "{written} tenths");
    // The engine's bookkeeping (lock, segments, history) is counted under its own entity.
    let bookkeeping =
        counter(&name, "onetable_requests_total", &[("entity", "_Migration"), ("outcome", "ok")]);
    assert!(bookkeeping >= 5, "lock, segments and history: {bookkeeping}");
}
