//! `cargo run --release --example bench -- --projections`: reads of large items, whole
//! and through a projection, against DynamoDB Local — bytes received, read capacity
//! consumed (as DynamoDB reports it) and time per read.

use aws_sdk_dynamodb::config::interceptors::BeforeDeserializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::types::ReturnConsumedCapacity;
use onetable::request::Request;
use onetable::{Entity, Projection, Table};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// An article of about 20 KB, most of it its body.
#[derive(Entity, Debug, Clone)]
#[key(pk = "AUTHOR#${author}", sk = "ARTICLE#${id}")]
#[index(name = "gs1", pk = "TOPIC#${topic}", sk = "ARTICLE#${id}", project = ["title", "views"])]
pub struct Article {
    id: String,
    author: String,
    topic: String,
    title: String,
    body: String,
    views: u64,
}

/// What a list shows.
#[derive(Projection, Debug)]
#[projection(entity = Article)]
pub struct Card {
    title: String,
    views: u64,
}

const ITEMS: usize = 100;
const READS: usize = 200;

/// Bytes of the responses received (their `Content-Length`).
#[derive(Debug, Clone, Default)]
struct Received(Arc<AtomicUsize>);

impl Intercept for Received {
    fn name(&self) -> &'static str {
        "received bytes"
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let length = context.response().headers().get("content-length").and_then(|l| l.parse::<usize>().ok());
        self.0.fetch_add(length.unwrap_or(0), Ordering::Relaxed);
        Ok(())
    }
}

/// One way of reading: bytes and capacity of one read, microseconds per read.
fn row(name: &str, bytes: usize, units: f64, micros: f64) -> serde_json::Value {
    println!("{name:34} {bytes:>9} B  {units:>6.1} RCU  {micros:>8.0} µs");
    serde_json::json!({ "bytes": bytes, "read_units": units, "micros": micros })
}

/// The capacity a read consumes, sent by hand from onetable's own request: every
/// page of a query up to its limit (a page stops at 1 MB read).
async fn units(client: &aws_sdk_dynamodb::Client, request: Request) -> f64 {
    match request {
        Request::Query(q) => {
            let (mut total, mut read, mut start) = (0.0, 0, None);
            loop {
                let out = client
                    .query()
                    .set_table_name(q.table_name.clone())
                    .set_index_name(q.index_name.clone())
                    .set_key_condition_expression(q.key_condition_expression.clone())
                    .set_filter_expression(q.filter_expression.clone())
                    .set_projection_expression(q.projection_expression.clone())
                    .set_expression_attribute_names(q.expression_attribute_names.clone())
                    .set_expression_attribute_values(q.expression_attribute_values.clone())
                    .set_limit(q.limit.map(|l| l - read))
                    .set_exclusive_start_key(start)
                    .return_consumed_capacity(ReturnConsumedCapacity::Total)
                    .send()
                    .await
                    .expect("query");
                total += out.consumed_capacity.and_then(|c| c.capacity_units).unwrap_or_default();
                read += out.count;
                start = out.last_evaluated_key;
                if start.is_none() || q.limit.is_some_and(|l| read >= l) {
                    return total;
                }
            }
        }
        Request::GetItem(g) => client
            .get_item()
            .set_table_name(g.table_name)
            .set_key(g.key)
            .set_projection_expression(g.projection_expression)
            .set_expression_attribute_names(g.expression_attribute_names)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .expect("get")
            .consumed_capacity
            .and_then(|c| c.capacity_units)
            .unwrap_or_default(),
        other => panic!("not measured: {other:?}"),
    }
}

/// Times `READS` runs of `read`, and the bytes one run receives.
async fn measure<F, Fut>(received: &Received, mut read: F) -> (usize, f64)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    read().await;
    received.0.store(0, Ordering::Relaxed);
    read().await;
    let bytes = received.0.load(Ordering::Relaxed);
    let started = Instant::now();
    for _ in 0..READS {
        read().await;
    }
    (bytes, started.elapsed().as_secs_f64() * 1e6 / READS as f64)
}

pub async fn run(local: &onetable_local::DynamoDbLocal) -> serde_json::Value {
    let received = Received::default();
    let config = local.sdk_config().to_builder().interceptor(received.clone()).build();
    let client = aws_sdk_dynamodb::Client::from_conf(config);
    // Its interceptor counts bytes and never looks at items: reads and batch writes
    // stay direct, as they are on a client without one.
    let table = Table::builder(client.clone(), "projections")
        .entity::<Article>()
        .direct_reads(true)
        .direct_writes(true)
        .build()
        .expect("schema");
    table.create_table().send().await.expect("table");
    let mut batch = table.batch_write();
    for i in 0..ITEMS {
        batch = batch.put(Article {
            id: format!("{i:04}"),
            author: "ann".into(),
            topic: "rust".into(),
            title: format!("Article {i}"),
            body: "x".repeat(20_000),
            views: i as u64,
        });
    }
    batch.await.expect("seed");
    let articles = table.model::<Article>();
    let find = || articles.find(Article::partition("ann")).limit(ITEMS);
    let get = || articles.get(Article::key("ann", "0042"));

    let mut report = serde_json::Map::new();
    let (bytes, micros) = measure(&received, || async {
        assert_eq!(find().await.unwrap().items.len(), ITEMS);
    })
    .await;
    let rcu = units(&client, find().request().unwrap()).await;
    report.insert("find_whole".into(), row("find 100, whole items", bytes, rcu, micros));
    let (bytes, micros) = measure(&received, || async {
        let cards = find().project::<Card>().await.unwrap().items;
        assert_eq!((cards.len(), cards[0].views, cards[0].title.as_str()), (ITEMS, 0, "Article 0"));
    })
    .await;
    let rcu = units(&client, find().project::<Card>().request().unwrap()).await;
    report.insert("find_projected".into(), row("find 100, projection", bytes, rcu, micros));
    let index = || articles.find(Article::gs1_partition("rust")).limit(ITEMS).project::<Card>();
    let (bytes, micros) = measure(&received, || async {
        assert_eq!(index().await.unwrap().items.len(), ITEMS);
    })
    .await;
    let rcu = units(&client, index().request().unwrap()).await;
    report.insert("find_index_projected".into(), row("find 100, projection of gs1", bytes, rcu, micros));
    let (bytes, micros) = measure(&received, || async {
        assert!(get().await.unwrap().is_some());
    })
    .await;
    let rcu = units(&client, get().request().unwrap()).await;
    report.insert("get_whole".into(), row("get, whole item", bytes, rcu, micros));
    let (bytes, micros) = measure(&received, || async {
        assert!(get().project::<Card>().await.unwrap().is_some());
    })
    .await;
    let rcu = units(&client, get().project::<Card>().request().unwrap()).await;
    report.insert("get_projected".into(), row("get, projection", bytes, rcu, micros));
    serde_json::Value::Object(report)
}
