//! The span of one request, with the attributes OpenTelemetry's semantic conventions
//! give a DynamoDB client call (`db.*`, `rpc.*`, `aws.dynamodb.*`, `otel.*`), so that
//! `tracing-opentelemetry` exports it as any instrumented AWS client's, plus the
//! library's own (`onetable.*`). Nothing is formatted unless a subscriber listens
//! at debug level: a disabled span's fields are never evaluated.

use super::operation::Outcome;
use crate::call::Call;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use tracing::field::Empty;
use tracing::Span;

/// The span of a request of `operation` (DynamoDB's name: `GetItem`, ...) on `table`.
pub(super) fn start(operation: &'static str, table: &str, call: &Call) -> Span {
    let span = tracing::debug_span!(
        "dynamodb",
        otel.name = %format_args!("{operation} {table}"),
        otel.kind = "client",
        otel.status_code = Empty,
        db.system.name = "aws.dynamodb",
        db.operation.name = operation,
        rpc.system = "aws-api",
        rpc.service = "DynamoDB",
        rpc.method = operation,
        aws.dynamodb.table_names = %table,
        aws.dynamodb.index_name = Empty,
        aws.dynamodb.consumed_capacity = Empty,
        aws.dynamodb.count = Empty,
        error.type = Empty,
        onetable.operation = call.operation,
        onetable.entity = call.entity,
        onetable.migration = Empty,
    );
    if !span.is_disabled() {
        if let Some(index) = call.index {
            span.record("aws.dynamodb.index_name", index);
        }
        if let Some(migration) = &call.migration {
            span.record("onetable.migration", &**migration);
        }
    }
    span
}

/// Records what the request came to: the capacity it consumed and a query's or
/// scan's count, or the error's code.
pub(super) fn finish<O: Outcome, E: ProvideErrorMetadata, R>(
    span: &Span,
    table: &str,
    result: &Result<O, SdkError<E, R>>,
) {
    if span.is_disabled() {
        return;
    }
    match result {
        Ok(out) => {
            let units = out.units();
            if units > 0.0 {
                // As the conventions have it: the JSON of DynamoDB's ConsumedCapacity.
                let json = format!(r#"{{"TableName":{table:?},"CapacityUnits":{units}}}"#);
                span.record("aws.dynamodb.consumed_capacity", json);
            }
            if let Some(count) = out.count() {
                span.record("aws.dynamodb.count", i64::from(count));
            }
        }
        Err(e) => {
            span.record("otel.status_code", "ERROR");
            span.record(
                "error.type",
                e.code().unwrap_or(match e {
                    SdkError::TimeoutError(_) => "timeout",
                    SdkError::DispatchFailure(_) => "dispatch_failure",
                    _ => "error",
                }),
            );
        }
    }
}
