//! What a failed request becomes: the refusals a caller handles (a failed condition
//! with the item it was evaluated on, a cancelled transaction with a reason per
//! action) and every other failure as a typed [`Error`]. The only place an SDK error
//! is read.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::CancellationReason;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use onetable_core::{Error, ErrorKind, Item};

/// A request DynamoDB refused for a reason its caller handles.
#[derive(Debug, Clone)]
pub enum Refusal {
    /// A single write's condition failed; the item it was evaluated on (`None` when
    /// there was none), as DynamoDB returns it with
    /// `ReturnValuesOnConditionCheckFailure: ALL_OLD`.
    Condition(Option<Item>),
    /// A transaction was cancelled: one reason per action, in order.
    Cancelled(Vec<Reason>),
}

/// Why one action of a cancelled transaction failed (or did not).
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Reason {
    /// DynamoDB's code: `ConditionalCheckFailed`, `TransactionConflict`, `None` (this
    /// action was fine), ...
    pub code: Option<String>,
    /// DynamoDB's message.
    pub message: Option<String>,
    /// The item a failed condition was evaluated on, when the action asked for it.
    pub item: Option<Item>,
}

impl Reason {
    pub(crate) fn of(reason: &CancellationReason) -> Reason {
        Reason {
            code: reason.code().map(str::to_owned),
            message: reason.message().map(str::to_owned),
            item: reason.item.clone(),
        }
    }

    /// This action's condition failed.
    pub fn is_condition_failed(&self) -> bool {
        self.code.as_deref() == Some("ConditionalCheckFailed")
    }

    /// Another request wrote one of the transaction's items at the same time.
    pub fn is_conflict(&self) -> bool {
        self.code.as_deref() == Some("TransactionConflict")
    }

    /// This action did not fail (another one did).
    pub fn is_fine(&self) -> bool {
        matches!(self.code.as_deref(), None | Some("None"))
    }

    /// Throttled, or DynamoDB could not serve it now: worth trying again.
    pub fn is_transient(&self) -> bool {
        matches!(
            self.code.as_deref(),
            Some(
                "ThrottlingError"
                    | "ProvisionedThroughputExceeded"
                    | "RequestLimitExceeded"
                    | "InternalServerError"
            )
        )
    }

    /// `code: message`, for an error message.
    pub(crate) fn describe(&self) -> Option<String> {
        if self.is_fine() {
            return None;
        }
        Some(format!(
            "{}: {}",
            self.code.as_deref().unwrap_or_default(),
            self.message.as_deref().unwrap_or_default()
        ))
    }
}

/// How a request failed: refused for a reason the caller handles, or an error.
#[derive(Debug)]
pub enum Failure {
    /// See [`Refusal`].
    Refused(Refusal),
    /// Anything else.
    Error(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Error(e)
    }
}

impl Failure {
    /// The error, for a caller that handles no refusal: a failed condition as
    /// [`ErrorKind::ConditionFailed`] (the request's entity and operation, no key),
    /// a cancelled transaction as [`ErrorKind::TransactionCanceled`].
    pub fn into_error(self, entity: &'static str, operation: &'static str) -> Error {
        match self {
            Failure::Error(e) => e,
            Failure::Refused(Refusal::Condition(_)) => {
                ErrorKind::ConditionFailed { entity, operation, key: String::new() }.into()
            }
            Failure::Refused(Refusal::Cancelled(reasons)) => {
                ErrorKind::TransactionCanceled { reasons: reasons.iter().map(Reason::describe).collect() }
                    .into()
            }
        }
    }
}

/// DynamoDB's error code, when the service answered with one.
fn code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<&str> {
    match err {
        SdkError::ServiceError(e) => e.err().code(),
        _ => None,
    }
}

/// An SDK error whose message says what DynamoDB said (the SDK's own `Display` is
/// only "service error"); the SDK error stays reachable as the source.
#[derive(Debug)]
struct Described<E: std::error::Error + 'static> {
    detail: String,
    source: E,
}

impl<E: std::error::Error + 'static> std::fmt::Display for Described<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)
    }
}

impl<E: std::error::Error + 'static> std::error::Error for Described<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// The first of `error` and its sources that is a `T`: a failure the library's own
/// interceptors raised, which the SDK wraps.
fn cause<'e, T: std::error::Error + 'static>(error: &'e (dyn std::error::Error + 'static)) -> Option<&'e T> {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(found) = e.downcast_ref::<T>() {
            return Some(found);
        }
        next = e.source();
    }
    None
}

/// The typed error of a failed request: a write refused by a read-only table,
/// throttling that outlasted the SDK's retries, DynamoDB unable to serve it now (a
/// 5xx, a timeout, a broken connection), a missing table, or the SDK error itself.
pub(crate) fn error<E>(operation: &'static str, table: &str, err: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let table = table.to_owned();
    if let Some(refused) = cause::<crate::read_only::WriteRefused>(&err) {
        return ErrorKind::ReadOnly { operation: refused.operation.clone(), table }.into();
    }
    let detail = match (code(&err), err.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        _ => aws_sdk_dynamodb::error::DisplayErrorContext(&err).to_string(),
    };
    let code = code(&err).map(str::to_owned);
    // A batch write's body the library could not fill in fails the same way every time.
    let transient = (cause::<crate::splice::Unfilled>(&err).is_none()
        && matches!(err, SdkError::TimeoutError(_) | SdkError::DispatchFailure(_)))
        || matches!(&err, SdkError::ServiceError(e) if e.raw().status().as_u16() >= 500);
    let err = Described { detail, source: err };
    match code.as_deref() {
        Some("ProvisionedThroughputExceededException" | "ThrottlingException" | "RequestLimitExceeded") => {
            ErrorKind::Throttled { operation, table, source: Box::new(err) }.into()
        }
        Some("ResourceNotFoundException") => ErrorKind::TableNotFound { table }.into(),
        Some("IdempotentParameterMismatchException") => ErrorKind::IdempotentMismatch { table }.into(),
        Some("InternalServerError" | "ServiceUnavailable") => {
            ErrorKind::Unavailable { operation, table, source: Box::new(err) }.into()
        }
        _ if transient => ErrorKind::Unavailable { operation, table, source: Box::new(err) }.into(),
        _ => ErrorKind::Dynamo { operation, table, source: Box::new(err) }.into(),
    }
}
