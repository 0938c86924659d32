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
use crate::call::Call;

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

    /// Records a request's metrics: its outcome (`Ok` with the capacity units it
    /// consumed and the items it returned, or the error's code) and its latency.
    pub(crate) fn record(
        &self,
        call: &Call,
        reads: bool,
        outcome: Result<(f64, usize), &str>,
        elapsed: std::time::Duration,
    ) {
        let labels = [
            ("table", self.table.clone()),
            ("operation", call.operation.into()),
            ("entity", call.entity.into()),
            ("index", call.index.unwrap_or("primary").into()),
            ("migration", call.migration.as_deref().unwrap_or_default().to_owned().into()),
        ];
        let code = match outcome {
            Ok(_) => "ok".to_owned(),
            Err(code) => code.to_owned(),
        };
        let mut with_outcome = labels.to_vec();
        with_outcome.push(("outcome", code.into()));
        metrics::counter!("onetable_requests_total", &with_outcome).increment(1);
        metrics::histogram!("onetable_request_seconds", &labels).record(elapsed.as_secs_f64());
        if let Ok((units, items)) = outcome {
            let name = if reads { "onetable_read_units_total" } else { "onetable_write_units_total" };
            // Counters are integers: capacity is counted in tenths of a unit (reads
            // of eventually consistent items cost half units).
            let tenths = (units * 10.0).round() as u64;
            metrics::counter!(name, &labels).increment(tenths);
            if reads {
                metrics::counter!("onetable_items_total", &labels).increment(items as u64);
            }
            if let (true, Some(partition)) = (self.metrics.partitions, &call.partition) {
                let labels = [
                    ("table", self.table.clone()),
                    ("index", call.index.unwrap_or("primary").into()),
                    ("partition", partition.clone().into()),
                ];
                metrics::counter!("onetable_partition_units_total", &labels).increment(tenths);
            }
        }
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
// Only the hooks it overrides are called (see `capture::Interceptor`).
#[aws_smithy_runtime_api::client::interceptors::dyn_dispatch_hint]
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
