//! The one way a request reaches DynamoDB. Every request the library sends — models,
//! queries, batches, transactions, table management, and the migration engine's
//! rewrites, leases and history — goes through [`Table::send`]: a read-only table
//! refuses writes there, expressions are checked against DynamoDB's limits, consumed
//! capacity is asked for and recorded, the request gets its tracing span and metrics
//! labelled by [`Call`], and a failure becomes a typed error or a [`Refusal`] the
//! caller handles — one error mapping, one parser of cancelled transactions.

mod failure;
pub mod limits;
mod operation;
mod read;
mod span;

pub use crate::call::Call;
pub(crate) use crate::capture::{Captured, Member};
pub(crate) use failure::error;
pub use failure::{Failure, Reason, Refusal};
pub(crate) use operation::{Operation, Outcome};

use crate::table::Table;
use aws_sdk_dynamodb::types::ReturnConsumedCapacity;
use tracing::Instrument;

impl Table {
    /// Sends `request` (an SDK request builder) for `call`.
    pub(crate) async fn send<O: Operation>(&self, call: &Call, request: O) -> Result<O::Output, Failure> {
        if O::WRITES {
            self.check_writable(O::NAME)?;
        }
        limits::check(call, self.name(), &request.expressions())?;
        let asked = call.capacity || self.wants_capacity();
        let capacity = asked.then_some(ReturnConsumedCapacity::Total);
        let span = span::start(O::NAME, self.name(), call);
        #[cfg(feature = "metrics")]
        // The clock is read only for a table that records metrics.
        let started = self.recorder().map(|_| std::time::Instant::now());
        // The SDK's request future is several kilobytes; boxed, the futures wrapping it
        // here and in every caller stay small, so awaiting them moves a pointer, not the
        // whole state (unboxed, those moves cost a get about 3% of its time).
        let result = Box::pin(request.capacity(capacity).send()).instrument(span.clone()).await;
        #[cfg(feature = "metrics")]
        if let (Some(recorder), Some(started)) = (self.recorder(), started) {
            use aws_sdk_dynamodb::error::ProvideErrorMetadata;
            let outcome = match &result {
                Ok(out) => Ok((out.units(), out.items())),
                Err(e) => Err(e.code().unwrap_or("error")),
            };
            recorder.record(call, <O::Output as Outcome>::READS, outcome, started.elapsed());
        }
        span::finish(&span, self.name(), &result);
        match result {
            Ok(out) => {
                if asked {
                    tracing::debug!(operation = call.operation, units = out.units(), "consumed capacity");
                }
                Ok(out)
            }
            Err(e) => {
                if let Some(refusal) = e.as_service_error().and_then(O::refusal) {
                    return Err(Failure::Refused(refusal));
                }
                Err(Failure::Error(error(call.operation, self.name(), e)))
            }
        }
    }
}
