//! Turning SDK errors into onetable's typed errors.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use onetable_core::{Error, ErrorKind};

/// DynamoDB's error code, when the service answered with one.
pub(crate) fn code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<&str> {
    match err {
        SdkError::ServiceError(e) => e.err().code(),
        _ => None,
    }
}

/// True for the service's conditional-check failure.
pub(crate) fn is_condition_failed<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    code(err) == Some("ConditionalCheckFailedException")
}

/// An SDK error whose message says what DynamoDB said (the SDK's own `Display` is
/// only "service error"); the SDK error stays reachable as the source.
#[derive(Debug)]
struct Failure<E: std::error::Error + 'static> {
    detail: String,
    source: E,
}

impl<E: std::error::Error + 'static> std::fmt::Display for Failure<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)
    }
}

impl<E: std::error::Error + 'static> std::error::Error for Failure<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// The typed error for a failed request: throttling that outlasted the SDK's retries,
/// a missing table, or the SDK error itself as the source.
pub(crate) fn sdk<E, R>(operation: &'static str, table: &str, err: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let table = table.to_owned();
    if let Some(operation) = crate::read_only::refused(&err) {
        return ErrorKind::ReadOnly { operation: operation.to_owned(), table }.into();
    }
    let detail = match (code(&err), err.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        _ => aws_sdk_dynamodb::error::DisplayErrorContext(&err).to_string(),
    };
    let code = code(&err).map(str::to_owned);
    let err = Failure { detail, source: err };
    match code.as_deref() {
        Some("ProvisionedThroughputExceededException" | "ThrottlingException" | "RequestLimitExceeded") => {
            ErrorKind::Throttled { operation, table, source: Box::new(err) }.into()
        }
        Some("ResourceNotFoundException") => ErrorKind::TableNotFound { table }.into(),
        _ => ErrorKind::Dynamo { operation, table, source: Box::new(err) }.into(),
    }
}

/// Operation errors that carry the item a failed condition saw (requested with
/// `ReturnValuesOnConditionCheckFailure::AllOld`).
pub(crate) trait ConditionItem {
    /// The item the failed condition was evaluated on, if it existed.
    fn condition_item(&self) -> Option<&onetable_core::Item>;
}

macro_rules! condition_item {
    ($($error:path),*) => {$(
        impl ConditionItem for $error {
            fn condition_item(&self) -> Option<&onetable_core::Item> {
                match self {
                    Self::ConditionalCheckFailedException(c) => c.item.as_ref(),
                    _ => None,
                }
            }
        }
    )*};
}
condition_item!(
    aws_sdk_dynamodb::operation::put_item::PutItemError,
    aws_sdk_dynamodb::operation::delete_item::DeleteItemError,
    aws_sdk_dynamodb::operation::update_item::UpdateItemError
);

/// The item a failed conditional write found under its key.
pub(crate) fn old_item<E: ConditionItem, R>(err: &SdkError<E, R>) -> Option<onetable_core::Item> {
    err.as_service_error().and_then(ConditionItem::condition_item).cloned()
}
