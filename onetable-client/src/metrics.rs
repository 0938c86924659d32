//! Metrics of every request, through the [`metrics`](https://docs.rs/metrics) crate's
//! facade (feature `metrics`, and [`TableBuilder::metrics`](crate::TableBuilder::metrics)
//! at run time): whichever exporter the application installs — Prometheus, StatsD,
//! CloudWatch EMF — receives them.
//!
//! Without the feature nothing is compiled in: each request is sent as it is. With it
//! and metrics off, one branch a request. Requests of migrations are counted by the
//! retry and throttle counters only.
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `onetable_requests_total` | counter | `table`, `operation`, `entity`, `index`, `outcome` (`ok` or the error's code) |
//! | `onetable_request_seconds` | histogram | `table`, `operation`, `entity`, `index` |
//! | `onetable_read_units_total` / `onetable_write_units_total` | counter, in tenths of a unit (an eventually consistent read of a small item counts 5) | `table`, `operation`, `entity`, `index` |
//! | `onetable_items_total` | counter (items returned by reads) | `table`, `operation`, `entity`, `index` |
//! | `onetable_retries_total` / `onetable_throttles_total` | counter (attempts the SDK retried / throttled) | `table`, `operation` (DynamoDB's name) |
//! | `onetable_partition_units_total` | counter, with [`Metrics::partitions`] | `table`, `index`, `partition` |

#[cfg(feature = "metrics")]
use aws_sdk_dynamodb::types::ConsumedCapacity;
#[cfg(feature = "metrics")]
use std::future::Future;

/// What a request is, for its metrics: the onetable operation that sent it (`get`,
/// `find`, `batch_write`, …), the entity (empty for requests of several), the index
/// (`primary` for the table) and, for requests of one partition, its key.
/// The partition is only filled in when partitions are recorded (the table's
/// `partition_label`).
#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
pub(crate) struct Labels {
    pub operation: &'static str,
    pub entity: &'static str,
    pub index: &'static str,
    pub partition: Option<String>,
}

impl Labels {
    pub(crate) fn new(operation: &'static str, entity: &'static str) -> Self {
        Labels { operation, entity, index: "primary", partition: None }
    }

    /// On index `index` (`None`: the table).
    pub(crate) fn index(self, index: Option<&'static str>) -> Self {
        Labels { index: index.unwrap_or("primary"), ..self }
    }

    pub(crate) fn partition(self, partition: Option<String>) -> Self {
        Labels { partition, ..self }
    }
}

/// What metrics are recorded (see the [module](self) for the names).
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
#[derive(Debug, Clone, Copy, Default)]
pub struct Metrics {
    partitions: bool,
}

#[cfg(feature = "metrics")]
impl Metrics {
    /// Requests, latency, capacity, items, retries and throttles.
    pub fn new() -> Self {
        Metrics::default()
    }

    /// Also the capacity each partition key consumes, to find hot partitions
    /// (OneTable's `metrics.hot`): one time series per partition key, so keep it for
    /// investigations or tables with few partitions.
    pub fn partitions(mut self) -> Self {
        self.partitions = true;
        self
    }
}

/// The parts of a response metrics read.
#[cfg(feature = "metrics")]
pub(crate) trait Outcome {
    /// Whether the request reads (its capacity is read units).
    const READS: bool;
    /// The capacity units consumed (when DynamoDB was asked for them).
    fn units(&self) -> f64;
    /// The items a read returned.
    fn items(&self) -> usize {
        0
    }
}

#[cfg(feature = "metrics")]
fn total(consumed: Option<&ConsumedCapacity>) -> f64 {
    consumed.and_then(ConsumedCapacity::capacity_units).unwrap_or_default()
}

#[cfg(feature = "metrics")]
mod outcomes {
    use super::{total, Outcome};
    use aws_sdk_dynamodb::operation as op;

    impl Outcome for op::get_item::GetItemOutput {
        const READS: bool = true;
        fn units(&self) -> f64 {
            total(self.consumed_capacity())
        }
        fn items(&self) -> usize {
            usize::from(self.item.is_some())
        }
    }
    impl Outcome for op::query::QueryOutput {
        const READS: bool = true;
        fn units(&self) -> f64 {
            total(self.consumed_capacity())
        }
        fn items(&self) -> usize {
            // A count returns no items but `count`.
            self.items.as_ref().map_or(0, Vec::len)
        }
    }
    impl Outcome for op::scan::ScanOutput {
        const READS: bool = true;
        fn units(&self) -> f64 {
            total(self.consumed_capacity())
        }
        fn items(&self) -> usize {
            self.items.as_ref().map_or(0, Vec::len)
        }
    }
    impl Outcome for op::batch_get_item::BatchGetItemOutput {
        const READS: bool = true;
        fn units(&self) -> f64 {
            self.consumed_capacity().iter().map(|c| total(Some(c))).sum()
        }
        fn items(&self) -> usize {
            self.responses.as_ref().map_or(0, |r| r.values().map(Vec::len).sum())
        }
    }
    impl Outcome for op::batch_write_item::BatchWriteItemOutput {
        const READS: bool = false;
        fn units(&self) -> f64 {
            self.consumed_capacity().iter().map(|c| total(Some(c))).sum()
        }
    }
    impl Outcome for op::transact_write_items::TransactWriteItemsOutput {
        const READS: bool = false;
        fn units(&self) -> f64 {
            self.consumed_capacity().iter().map(|c| total(Some(c))).sum()
        }
    }
    impl Outcome for op::put_item::PutItemOutput {
        const READS: bool = false;
        fn units(&self) -> f64 {
            total(self.consumed_capacity())
        }
    }
    impl Outcome for op::update_item::UpdateItemOutput {
        const READS: bool = false;
        fn units(&self) -> f64 {
            total(self.consumed_capacity())
        }
    }
    impl Outcome for op::delete_item::DeleteItemOutput {
        const READS: bool = false;
        fn units(&self) -> f64 {
            total(self.consumed_capacity())
        }
    }
}

/// The bound the table's `observe` puts on a response: none without the feature.
#[cfg(feature = "metrics")]
pub(crate) use Outcome as Observed;
#[cfg(not(feature = "metrics"))]
pub(crate) trait Observed {}
#[cfg(not(feature = "metrics"))]
impl<T> Observed for T {}

/// The error's code for the `outcome` label.
#[cfg(feature = "metrics")]
pub(crate) use aws_sdk_dynamodb::error::ProvideErrorMetadata as ObservedError;
#[cfg(not(feature = "metrics"))]
pub(crate) trait ObservedError {}
#[cfg(not(feature = "metrics"))]
impl<T> ObservedError for T {}

/// What a table records, and its name as a label: kept by a table built with
/// [`TableBuilder::metrics`](crate::TableBuilder::metrics).
#[cfg(feature = "metrics")]
#[derive(Debug, Clone)]
pub(crate) struct Recorder {
    pub metrics: Metrics,
    pub table: metrics::SharedString,
}

#[cfg(feature = "metrics")]
impl Recorder {
    /// Whether partition keys are recorded.
    pub(crate) fn partitions(&self) -> bool {
        self.metrics.partitions
    }

    /// Sends `request` (a request builder's `send()`), recording its metrics.
    pub(crate) async fn observe<T: Observed, E: ObservedError>(
        &self,
        op: Labels,
        request: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        let started = std::time::Instant::now();
        let result = request.await;
        let seconds = started.elapsed().as_secs_f64();
        let labels = [
            ("table", self.table.clone()),
            ("operation", op.operation.into()),
            ("entity", op.entity.into()),
            ("index", op.index.into()),
        ];
        let outcome = match &result {
            Ok(_) => "ok".to_owned(),
            Err(e) => e.code().unwrap_or("error").to_owned(),
        };
        let mut with_outcome = labels.to_vec();
        with_outcome.push(("outcome", outcome.into()));
        metrics::counter!("onetable_requests_total", &with_outcome).increment(1);
        metrics::histogram!("onetable_request_seconds", &labels).record(seconds);
        if let Ok(out) = &result {
            let units = out.units();
            let name = if T::READS { "onetable_read_units_total" } else { "onetable_write_units_total" };
            // Counters are integers: capacity is counted in tenths of a unit (reads
            // of eventually consistent items cost half units).
            let tenths = (units * 10.0).round() as u64;
            metrics::counter!(name, &labels).increment(tenths);
            if T::READS {
                metrics::counter!("onetable_items_total", &labels).increment(out.items() as u64);
            }
            if let (true, Some(partition)) = (self.metrics.partitions, op.partition) {
                let labels = [
                    ("table", self.table.clone()),
                    ("index", op.index.into()),
                    ("partition", partition.into()),
                ];
                metrics::counter!("onetable_partition_units_total", &labels).increment(tenths);
            }
        }
        result
    }
}

/// Counts the attempts the SDK retries and those DynamoDB throttled: installed on the
/// table's client when metrics are on.
#[cfg(feature = "metrics")]
#[derive(Debug)]
pub(crate) struct Attempts {
    pub table: metrics::SharedString,
}

#[cfg(feature = "metrics")]
#[derive(Debug, Clone, Copy)]
struct AttemptCount(u32);

#[cfg(feature = "metrics")]
impl aws_smithy_types::config_bag::Storable for AttemptCount {
    type Storer = aws_smithy_types::config_bag::StoreReplace<Self>;
}

#[cfg(feature = "metrics")]
impl aws_sdk_dynamodb::config::Intercept for Attempts {
    fn name(&self) -> &'static str {
        "onetable metrics"
    }

    fn read_before_attempt(
        &self,
        _: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let attempt = cfg.load::<AttemptCount>().map_or(1, |a| a.0 + 1);
        cfg.interceptor_state().store_put(AttemptCount(attempt));
        if attempt > 1 {
            metrics::counter!("onetable_retries_total", &self.labels(cfg)).increment(1);
        }
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &aws_sdk_dynamodb::config::interceptors::FinalizerInterceptorContextRef<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let Some(response) = context.response() else { return Ok(()) };
        if response.status().as_u16() != 400 {
            return Ok(());
        }
        // DynamoDB names the error in the JSON body's `__type`.
        let body = response.body().bytes().unwrap_or_default();
        let throttled =
            [&b"ThrottlingException"[..], b"ProvisionedThroughputExceeded", b"RequestLimitExceeded"]
                .iter()
                .any(|code| body.windows(code.len()).any(|w| w == *code));
        if throttled {
            metrics::counter!("onetable_throttles_total", &self.labels(cfg)).increment(1);
        }
        Ok(())
    }
}

#[cfg(feature = "metrics")]
impl Attempts {
    fn labels(
        &self,
        cfg: &aws_sdk_dynamodb::config::ConfigBag,
    ) -> [(&'static str, metrics::SharedString); 2] {
        let operation = cfg
            .load::<aws_smithy_runtime_api::client::orchestrator::Metadata>()
            .map_or_else(|| "unknown".to_owned(), |m| m.name().to_owned());
        [("table", self.table.clone()), ("operation", operation.into())]
    }
}
