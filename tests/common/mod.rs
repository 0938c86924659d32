//! Shared by the integration tests: a fresh table of their own on the DynamoDB Local
//! that the test binary starts once.
#![allow(dead_code)]

use onetable::{Entity, Table, TableBuilder};
use onetable_local::DynamoDbLocal;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// The account entity several tests share (the OneTable JS schema of the interop test
/// has the same model).
#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Account", timestamps)]
#[key(pk = "ACCOUNT#${id}", sk = "ACCOUNT")]
pub struct Account {
    pub id: String,
    pub name: String,
}

/// A client whose requests are answered by `http` (canned responses: for what DynamoDB
/// Local cannot show, such as throttling), retrying up to `max_attempts` times with a
/// 1 ms backoff.
pub fn mocked_client(
    http: impl aws_sdk_dynamodb::config::HttpClient + 'static,
    max_attempts: u32,
) -> aws_sdk_dynamodb::Client {
    use aws_sdk_dynamodb::config::{retry::RetryConfig, BehaviorVersion, Credentials, Region};
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("k", "s", None, None, "test"))
        .http_client(http)
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(max_attempts)
                .with_initial_backoff(std::time::Duration::from_millis(1)),
        )
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

pub fn local() -> &'static DynamoDbLocal {
    DynamoDbLocal::shared().unwrap_or_else(|e| panic!("DynamoDB Local: {e}"))
}

/// A new table with a unique name, built by `describe` and created.
pub async fn table(describe: impl FnOnce(TableBuilder) -> TableBuilder) -> Table {
    table_with_client(local().client(), describe).await
}

pub async fn table_with_client(
    client: aws_sdk_dynamodb::Client,
    describe: impl FnOnce(TableBuilder) -> TableBuilder,
) -> Table {
    let table =
        describe(Table::builder(client, onetable_local::unique_table_name("test"))).build().expect("schema");
    table.create_table().send().await.expect("create table");
    table
}

/// Another view of an existing table: the same name, described by `describe`.
pub fn table_named(name: &str, describe: impl FnOnce(TableBuilder) -> TableBuilder) -> Table {
    describe(Table::builder(local().client(), name)).build().expect("schema")
}

/// Counts the HTTP requests a client sends, by operation name, and the bytes of the
/// responses it receives.
#[derive(Debug, Clone, Default)]
pub struct Requests(Arc<std::sync::Mutex<Vec<String>>>, Arc<AtomicUsize>, Arc<AtomicUsize>);

impl Requests {
    pub fn count(&self, operation: &str) -> usize {
        self.0.lock().unwrap().iter().filter(|o| *o == operation).count()
    }

    pub fn total(&self) -> usize {
        self.1.load(Ordering::SeqCst)
    }

    /// The bytes of every response body received (their `Content-Length`).
    pub fn received(&self) -> usize {
        self.2.load(Ordering::SeqCst)
    }

    pub fn reset(&self) {
        self.0.lock().unwrap().clear();
        self.1.store(0, Ordering::SeqCst);
        self.2.store(0, Ordering::SeqCst);
    }

    /// A client for the shared DynamoDB Local that records its requests here.
    pub fn client(&self) -> aws_sdk_dynamodb::Client {
        let config = local().sdk_config().to_builder().interceptor(self.clone()).build();
        aws_sdk_dynamodb::Client::from_conf(config)
    }
}

impl aws_sdk_dynamodb::config::Intercept for Requests {
    fn name(&self) -> &'static str {
        "count requests"
    }

    fn read_before_transmit(
        &self,
        context: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        _: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let target = context
            .request()
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or("?")
            .to_owned();
        self.0.lock().unwrap().push(target);
        self.1.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn read_before_deserialization(
        &self,
        context: &aws_sdk_dynamodb::config::interceptors::BeforeDeserializationInterceptorContextRef<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        _: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let length = context.response().headers().get("content-length").and_then(|l| l.parse::<usize>().ok());
        self.2.fetch_add(length.unwrap_or(0), Ordering::SeqCst);
        Ok(())
    }
}

/// A client for a DynamoDB Local at `endpoint`: how a child process the test started
/// reaches the parent's instance.
pub fn client_at(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "local", "local", None, None, "test",
        ))
        .endpoint_url(endpoint)
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// Sends `signal` to process `pid` (a child of the test).
pub fn signal(pid: u32, signal: i32) {
    // SAFETY: kill(2) with a child's pid; no memory is shared.
    assert_eq!(unsafe { libc::kill(pid as i32, signal) }, 0, "kill {pid}");
}

/// Runs `work` to its end from synchronous code inside the runtime (a migration's
/// transform that writes as another deployment would): on the runtime's workers,
/// waited for on a channel. Not `Handle::block_on` in `block_in_place`: on the
/// thread of a test's own `block_on`, that nested `block_on` shares the thread's
/// parker with the outer one and can swallow a wake-up meant for it, leaving the test
/// waiting forever.
#[allow(dead_code)]
pub fn complete<T: Send + 'static>(work: impl std::future::Future<Output = T> + Send + 'static) -> T {
    let (done, result) = std::sync::mpsc::channel();
    tokio::runtime::Handle::current().spawn(async move {
        let _ = done.send(work.await);
    });
    tokio::task::block_in_place(|| result.recv().expect("the work ran to its end"))
}

/// Every item of the table, raw, read strongly consistently.
pub async fn scan_all(table: &Table) -> Vec<onetable::Item> {
    let mut all = Vec::new();
    let mut start = None;
    loop {
        let out = table
            .client()
            .scan()
            .table_name(table.name())
            .set_exclusive_start_key(start)
            .consistent_read(true)
            .send()
            .await
            .expect("scan");
        all.extend(out.items.unwrap_or_default());
        start = out.last_evaluated_key;
        if start.is_none() {
            return all;
        }
    }
}

/// An attribute value as text, maps in key order (their iteration order varies) and
/// sets sorted (their members come back in no order): to compare whole items.
pub fn canonical(value: &onetable::AttributeValue) -> String {
    match value {
        onetable::AttributeValue::M(m) => {
            let mut fields: Vec<String> = m.iter().map(|(k, v)| format!("{k}={}", canonical(v))).collect();
            fields.sort();
            format!("{{{}}}", fields.join(";"))
        }
        onetable::AttributeValue::L(l) => {
            format!("[{}]", l.iter().map(canonical).collect::<Vec<_>>().join(","))
        }
        other => format!("{:?}", sets_sorted(other.clone())),
    }
}

/// `value` with the members of every set in it sorted. A set's members come back in no
/// order (DynamoDB Local changes it from one read of an item to the next): sorted,
/// sets compare as sets.
pub fn sets_sorted(value: onetable::AttributeValue) -> onetable::AttributeValue {
    use onetable::AttributeValue::{Bs, Ns, Ss, L, M};
    match value {
        Ss(mut s) => {
            s.sort();
            Ss(s)
        }
        Ns(mut s) => {
            s.sort();
            Ns(s)
        }
        Bs(mut s) => {
            s.sort_by(|a, b| a.as_ref().cmp(b.as_ref()));
            Bs(s)
        }
        L(l) => L(l.into_iter().map(sets_sorted).collect()),
        M(m) => M(m.into_iter().map(|(k, v)| (k, sets_sorted(v))).collect()),
        other => other,
    }
}

/// The data-migration tests' item: a migration that counts its passes shows an item
/// migrated twice.
#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Counter")]
#[key(pk = "COUNTER#${id}", sk = "COUNTER")]
pub struct Counter {
    pub id: u32,
    pub passes: u32,
}

/// Writes counters `0..n`, not migrated yet.
pub async fn seed_counters(table: &Table, n: u32) {
    let mut batch = table.batch_write().concurrency(8);
    for id in 0..n {
        batch = batch.put(Counter { id, passes: 0 });
    }
    batch.await.expect("seed counters");
}

/// The DynamoDB operation of a request (`UpdateItem`, ...), recorded by an
/// interceptor before the request is sent, for its hooks that see the response.
#[derive(Debug, Clone)]
pub struct Target(pub String);

impl aws_smithy_types::config_bag::Storable for Target {
    type Storer = aws_smithy_types::config_bag::StoreReplace<Self>;
}

impl Target {
    /// Records the operation of the request about to be sent.
    pub fn record(
        context: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) {
        let target = context.request().headers().get("x-amz-target").unwrap_or_default();
        let operation = target.rsplit('.').next().unwrap_or_default().to_owned();
        cfg.interceptor_state().store_put(Target(operation));
    }

    /// True when the request is of `operation`.
    pub fn is(cfg: &aws_sdk_dynamodb::config::ConfigBag, operation: &str) -> bool {
        cfg.load::<Target>().is_some_and(|t| t.0 == operation)
    }
}
