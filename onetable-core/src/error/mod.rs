//! The error type shared by every onetable operation.

use crate::value_error::ValueError;
use std::fmt;

/// Why a value cannot go into a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyProblem {
    /// The value is empty: DynamoDB rejects empty key strings and an empty template
    /// variable would make two templates' keys look alike.
    Empty,
    /// The value contains one of the template's delimiter characters, so it could
    /// forge the key of a different item (`a#b` + `c` == `a` + `b#c`).
    ContainsDelimiter(char),
    /// The value is absent (`None`) where the key needs it.
    Absent,
}

impl fmt::Display for KeyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyProblem::Empty => f.write_str("key values may not be empty"),
            KeyProblem::ContainsDelimiter(c) => {
                write!(f, "it contains the template delimiter '{c}', which would make the key ambiguous")
            }
            KeyProblem::Absent => f.write_str("the value is absent but the key needs it"),
        }
    }
}

mod refused;
pub use refused::FailedAction;

/// Any failure of a onetable operation.
///
/// Messages name the entity, field and value at fault. Branch on the kind with
/// [`Error::kind`] or the `is_*` methods.
#[derive(Debug)]
pub struct Error {
    kind: Box<ErrorKind>,
    /// What DynamoDB returned about a refused write (boxed: errors stay two words).
    refused: Option<Box<refused::Refused>>,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.kind, f)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&*self.kind)
    }
}

/// The kinds of [`Error`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A value cannot be placed in a key template.
    #[error(
        "{entity}.{field}: the value {value:?} cannot be used in the key template \"{template}\": {problem}"
    )]
    InvalidKey {
        /// The entity's name.
        entity: &'static str,
        /// The field whose value was rejected.
        field: &'static str,
        /// The value as it would have appeared in the key.
        value: String,
        /// The template.
        template: &'static str,
        /// Why it was rejected.
        problem: KeyProblem,
    },
    /// An attribute could not be converted to or from its field.
    #[error("{entity}.{field} (attribute \"{attribute}\"): {error}")]
    Value {
        /// The entity's name.
        entity: &'static str,
        /// The Rust field.
        field: &'static str,
        /// The DynamoDB attribute.
        attribute: &'static str,
        /// What was wrong with it.
        error: ValueError,
    },
    /// An item is of another entity than the one asked for.
    #[error("expected an item of entity {expected}, found {found:?}")]
    WrongEntity {
        /// The entity asked for.
        expected: &'static str,
        /// The type attribute found (None when absent).
        found: Option<String>,
    },
    /// The item would exceed DynamoDB's 400 KB item limit.
    #[error("{entity}: the item is {size} bytes, over DynamoDB's limit of {limit} bytes")]
    ItemTooLarge {
        /// The entity's name.
        entity: &'static str,
        /// The item's size as DynamoDB counts it.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// An encrypted field (`#[attr(crypt)]`) could not be decrypted: the key it names
    /// is not the table's, or the value was not encrypted with it (a wrong key fails
    /// here, never as garbage text); or there is no key to encrypt with.
    #[error("{entity}.{field}: {message}")]
    Crypt {
        /// The entity's name.
        entity: &'static str,
        /// The Rust field.
        field: &'static str,
        /// What went wrong.
        message: String,
    },
    /// The schema is inconsistent (found when a table is built or changed, such as two
    /// entities whose keys could collide in one table, or an index no entity declares).
    #[error("schema: {0}")]
    Schema(String),
    /// An entity used with a table it was not registered with: its keys were never
    /// checked against the others', and the table's indexes may not hold it.
    #[error(
        "entity {entity} is not registered with table {table}: add .entity::<{entity}>() to its builder"
    )]
    NotRegistered {
        /// The entity's name.
        entity: &'static str,
        /// The table.
        table: String,
    },
    /// A transaction with more actions than DynamoDB takes (unique fields add one
    /// action each).
    #[error(
        "a transaction takes at most {limit} actions; this one has {actions} (unique fields add one each)"
    )]
    TooManyActions {
        /// The actions asked for.
        actions: usize,
        /// DynamoDB's limit.
        limit: usize,
    },
    /// A batch names one key twice: DynamoDB refuses such a request, and the two
    /// writes would race each other.
    #[error("the batch writes the key {key} more than once")]
    DuplicateKey {
        /// The key, as text.
        key: String,
    },
    /// DynamoDB answered in a way it should not (an update asked to return the item
    /// returned none; a unique sentinel to release was gone).
    #[error("{operation} on table {table}: {message}")]
    Unexpected {
        /// The operation.
        operation: &'static str,
        /// The table.
        table: String,
        /// What was unexpected.
        message: String,
    },
    /// An operation's input cannot be carried out (such as an update that changes
    /// only some inputs of a key template).
    #[error("{entity}: {message}")]
    Invalid {
        /// The entity's name.
        entity: &'static str,
        /// What is wrong, naming the field.
        message: String,
    },
    /// A write's condition did not hold.
    #[error("{entity}: the condition of {operation} on {key} did not hold")]
    ConditionFailed {
        /// The entity's name.
        entity: &'static str,
        /// The operation (`create`, `update`, ...).
        operation: &'static str,
        /// The item's key, as text.
        key: String,
    },
    /// `create` found an item with the same key.
    #[error("{entity}: an item with the key {key} already exists")]
    AlreadyExists {
        /// The entity's name.
        entity: &'static str,
        /// The item's key, as text.
        key: String,
    },
    /// The operation needs an item that does not exist.
    #[error("{entity}: no item with the key {key}")]
    NotFound {
        /// The entity's name.
        entity: &'static str,
        /// The item's key, as text.
        key: String,
    },
    /// DynamoDB kept throttling the request after the SDK's retries.
    #[error("{operation} on table {table} was throttled and the retries ran out: {source}")]
    Throttled {
        /// The operation.
        operation: &'static str,
        /// The table.
        table: String,
        /// The last throttling error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The table does not exist.
    #[error("table {table} does not exist (create it with Table::create_table)")]
    TableNotFound {
        /// The table.
        table: String,
    },
    /// A pagination cursor that this library did not produce, or for another query.
    #[error("invalid cursor: {0}")]
    InvalidCursor(String),
    /// A batch ended with requests DynamoDB did not process, after every retry. They
    /// are all listed: nothing is dropped silently.
    #[error("{operation}: {} of the batch's requests were not processed after {attempts} attempts ({processed} were){}", unprocessed.len(), source.as_ref().map(|s| format!(": {s}")).unwrap_or_default())]
    BatchIncomplete {
        /// `batch_write` or `batch_get`.
        operation: &'static str,
        /// The requests not processed: whole when DynamoDB returned them unprocessed,
        /// by key when their request failed outright.
        unprocessed: Vec<Unprocessed>,
        /// How many requests were processed.
        processed: usize,
        /// Attempts made for the requests that failed.
        attempts: u32,
        /// The last error, when a request failed rather than came back unprocessed.
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// A transaction was cancelled; one reason per action, in order.
    #[error("the transaction was cancelled: {}", describe_reasons(reasons))]
    TransactionCanceled {
        /// Why each action failed (`None` for the actions that were fine).
        reasons: Vec<Option<String>>,
    },
    /// A value breaks its field's rules (`#[attr(validate = "..", length(..),
    /// range(..))]`): nothing was written.
    #[error("{entity}.{field}: the value {value:?} {rule}")]
    Validation {
        /// The entity's name.
        entity: &'static str,
        /// The field.
        field: &'static str,
        /// The value refused (a number as its digits).
        value: String,
        /// The rule it breaks, described (`does not match /^[a-z]+$/`).
        rule: String,
    },
    /// A transaction was sent with a client request token that a transaction with
    /// other writes used in the last ten minutes (DynamoDB's
    /// `IdempotentParameterMismatch`): nothing was written. A token names one logical
    /// transaction; a new transaction needs a new token.
    #[error("table {table}: the transaction's request token was used in the last ten minutes by a transaction with other writes; nothing was written (a new transaction needs a new token)")]
    IdempotentMismatch {
        /// The table.
        table: String,
    },
    /// Another item of the entity already holds the value of a unique field.
    #[error("{entity}.{field}: the value {value:?} is already taken (the field is unique)")]
    UniqueViolation {
        /// The entity's name.
        entity: &'static str,
        /// The unique field.
        field: &'static str,
        /// The value.
        value: String,
    },
    /// The item's version is not the one this write was based on: another writer
    /// changed it in between (optimistic locking).
    #[error(
        "{entity}: the item {key} changed since it was read (expected version {expected}, found {found:?})"
    )]
    VersionConflict {
        /// The entity's name.
        entity: &'static str,
        /// The item's key, as text.
        key: String,
        /// The version this write expected.
        expected: String,
        /// The version stored, if the item exists.
        found: Option<String>,
    },
    /// A write through a read-only table or client: the table and client a dry-run
    /// migration step is given refuse every write before it is sent.
    #[error("{operation} on table {table} refused: this is a dry run, which writes nothing (check ctx.is_dry_run() in the step)")]
    ReadOnly {
        /// The refused operation (`PutItem`, `CreateTable`, `create`, …).
        operation: String,
        /// The table.
        table: String,
    },
    /// A migration failed or cannot run as asked: the migration engine's own error
    /// (`onetable::migrate::MigrateError`), whose variants `MigrateErrorExt` reads.
    #[error(transparent)]
    Migrate(Box<dyn std::error::Error + Send + Sync>),
    /// The item is in a newer design than this code's entity (a migration moved it
    /// into a form this code does not know): the write is refused rather than
    /// acknowledged and lost in the new form. Deploy the code for the newer design.
    #[error("{entity}: the item {key} is in design {item_design}, newer than this code's ({}): the write is refused; deploy the code for design {item_design}", code_design.as_deref().unwrap_or("the first design"))]
    NewerDesign {
        /// The entity's name.
        entity: &'static str,
        /// The item's key, as text.
        key: String,
        /// The design the item is in.
        item_design: String,
        /// The design this code's entity declares (`None`: the first, unmarked).
        code_design: Option<String>,
    },
    /// The item is in an older design than this code's entity and the table knows no
    /// way to upgrade it: register the migration's conversion with
    /// `TableBuilder::upgrade` (then the item is upgraded before the write).
    #[error("{entity}: the item {key} is in {}, older than this code's design {code_design}, and the table has no upgrade from it: register the migration's conversion with TableBuilder::upgrade", item_design.as_deref().map_or_else(|| "the first design".to_owned(), |d| format!("design {d}")))]
    OlderDesign {
        /// The entity's name.
        entity: &'static str,
        /// The item's key, as text.
        key: String,
        /// The design the item is in (`None`: the first, unmarked).
        item_design: Option<String>,
        /// The design this code's entity declares.
        code_design: String,
    },
    /// An error of the application's own, carried as it is (a migration step that
    /// fails for a reason of its own returns one: [`Error::other`]).
    #[error(transparent)]
    Other(Box<dyn std::error::Error + Send + Sync>),
    /// DynamoDB could not serve the request now (an internal error, a 5xx, a timeout,
    /// a broken connection) and the SDK's retries ran out: worth trying again later.
    #[error(
        "{operation} on table {table}: DynamoDB could not serve it now, and the retries ran out: {source}"
    )]
    Unavailable {
        /// The operation.
        operation: &'static str,
        /// The table.
        table: String,
        /// The last error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An expression over DynamoDB's limits (4 KB of text, 300 operators or
    /// functions), refused before it was sent.
    #[error("{entity}: the {expression} of {operation} on table {table} has {size} bytes and {operators} operators; DynamoDB takes at most 4096 bytes and 300 operators")]
    ExpressionTooLarge {
        /// The entity's name.
        entity: &'static str,
        /// The operation.
        operation: &'static str,
        /// The table.
        table: String,
        /// Which expression (`ConditionExpression`, `UpdateExpression`, ...).
        expression: &'static str,
        /// Its length in bytes.
        size: usize,
        /// Its operators and functions.
        operators: usize,
    },
    /// A design version that is not `MAJOR.MINOR.PATCH`.
    #[error("{text:?} is not a version: a version is MAJOR.MINOR.PATCH, such as 0.1.0")]
    InvalidVersion {
        /// The text given.
        text: String,
    },
    /// Any other failure reported by DynamoDB or the SDK.
    #[error("{operation} on table {table} failed: {source}")]
    Dynamo {
        /// The operation.
        operation: &'static str,
        /// The table.
        table: String,
        /// The SDK's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// A batch request that DynamoDB did not process.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Unprocessed {
    /// A put of this item.
    Put(crate::Item),
    /// A removal of the item with this key.
    Remove(crate::Item),
    /// A read of the item with this key.
    Get(crate::Item),
    /// A write whose request failed outright (the error's source says why): the key
    /// of its item.
    Failed(crate::Item),
}

fn describe_reasons(reasons: &[Option<String>]) -> String {
    let failed: Vec<String> = reasons
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.as_ref().map(|r| format!("action {i}: {r}")))
        .collect();
    failed.join("; ")
}

impl Error {
    /// The kind of failure.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// Takes the kind out.
    pub fn into_kind(self) -> ErrorKind {
        *self.kind
    }

    /// True when a value was rejected from a key.
    pub fn is_invalid_key(&self) -> bool {
        matches!(*self.kind, ErrorKind::InvalidKey { .. })
    }

    /// True when an attribute could not be converted.
    pub fn is_value(&self) -> bool {
        matches!(*self.kind, ErrorKind::Value { .. })
    }

    /// True when an encrypted field could not be encrypted or decrypted.
    pub fn is_crypt(&self) -> bool {
        matches!(*self.kind, ErrorKind::Crypt { .. })
    }

    /// True when an item is over the 400 KB limit.
    pub fn is_item_too_large(&self) -> bool {
        matches!(*self.kind, ErrorKind::ItemTooLarge { .. })
    }

    /// True when a write's condition did not hold (DynamoDB's
    /// `ConditionalCheckFailedException`).
    pub fn is_condition_failed(&self) -> bool {
        matches!(*self.kind, ErrorKind::ConditionFailed { .. })
    }

    /// True when `create` found the key taken.
    pub fn is_already_exists(&self) -> bool {
        matches!(*self.kind, ErrorKind::AlreadyExists { .. })
    }

    /// True when the item the operation needs does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(*self.kind, ErrorKind::NotFound { .. })
    }

    /// True when DynamoDB throttled the request beyond the SDK's retries.
    pub fn is_throttled(&self) -> bool {
        matches!(*self.kind, ErrorKind::Throttled { .. })
    }

    /// True when a value broke its field's rules (see [`ErrorKind::Validation`]).
    pub fn is_validation(&self) -> bool {
        matches!(*self.kind, ErrorKind::Validation { .. })
    }

    /// True when a transaction's request token was already used by a transaction
    /// with other writes (see [`ErrorKind::IdempotentMismatch`]).
    pub fn is_idempotent_mismatch(&self) -> bool {
        matches!(*self.kind, ErrorKind::IdempotentMismatch { .. })
    }

    /// True when DynamoDB could not serve the request now (see
    /// [`ErrorKind::Unavailable`]).
    pub fn is_unavailable(&self) -> bool {
        matches!(*self.kind, ErrorKind::Unavailable { .. })
    }

    /// True for a failure that may pass if the request is sent again later:
    /// throttling, or DynamoDB unable to serve it now.
    pub fn is_transient(&self) -> bool {
        self.is_throttled() || self.is_unavailable()
    }

    /// True for a write refused because the item is in a newer design than this
    /// code's (see [`ErrorKind::NewerDesign`]).
    pub fn is_newer_design(&self) -> bool {
        matches!(*self.kind, ErrorKind::NewerDesign { .. })
    }

    /// True for a write refused because the item is in an older design and the table
    /// cannot upgrade it (see [`ErrorKind::OlderDesign`]).
    pub fn is_older_design(&self) -> bool {
        matches!(*self.kind, ErrorKind::OlderDesign { .. })
    }

    /// True for an expression over DynamoDB's limits, refused before sending.
    pub fn is_expression_too_large(&self) -> bool {
        matches!(*self.kind, ErrorKind::ExpressionTooLarge { .. })
    }

    /// True when a unique field's value is taken.
    pub fn is_unique_violation(&self) -> bool {
        matches!(*self.kind, ErrorKind::UniqueViolation { .. })
    }

    /// True when an optimistic-locking version did not match.
    pub fn is_version_conflict(&self) -> bool {
        matches!(*self.kind, ErrorKind::VersionConflict { .. })
    }

    /// True for an entity used with a table it was not registered with.
    pub fn is_not_registered(&self) -> bool {
        matches!(*self.kind, ErrorKind::NotRegistered { .. })
    }

    /// True for a transaction with more actions than DynamoDB takes.
    pub fn is_too_many_actions(&self) -> bool {
        matches!(*self.kind, ErrorKind::TooManyActions { .. })
    }

    /// True for a batch that names one key twice.
    pub fn is_duplicate_key(&self) -> bool {
        matches!(*self.kind, ErrorKind::DuplicateKey { .. })
    }

    /// True for a write refused by a read-only table or client (a dry run).
    pub fn is_read_only(&self) -> bool {
        matches!(*self.kind, ErrorKind::ReadOnly { .. })
    }

    /// An error of the application's own: `Error::other("no account for this user")`,
    /// or any error type (its message and source chain are kept).
    pub fn other(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Error {
        ErrorKind::Other(error.into()).into()
    }

    /// The migration engine's error this is, as `T` (`onetable::migrate::MigrateError`).
    pub fn migrate_error<T: std::error::Error + 'static>(&self) -> Option<&T> {
        match &*self.kind {
            ErrorKind::Migrate(e) => e.downcast_ref::<T>(),
            _ => None,
        }
    }

    /// The requests a batch could not process, if this is a batch error.
    pub fn unprocessed(&self) -> &[Unprocessed] {
        match &*self.kind {
            ErrorKind::BatchIncomplete { unprocessed, .. } => unprocessed,
            _ => &[],
        }
    }

    /// True when the operation's input was refused before any request.
    pub fn is_invalid(&self) -> bool {
        matches!(
            *self.kind,
            ErrorKind::Invalid { .. }
                | ErrorKind::InvalidKey { .. }
                | ErrorKind::ItemTooLarge { .. }
                | ErrorKind::Validation { .. }
        )
    }

    /// Wraps a conversion error with the entity, field and attribute it concerns.
    pub fn value(
        entity: &'static str,
        field: &'static str,
        attribute: &'static str,
        error: ValueError,
    ) -> Error {
        ErrorKind::Value { entity, field, attribute, error }.into()
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Error { kind: Box::new(kind), refused: None }
    }
}

/// A conversion that cannot fail (such as a value already of the type asked for).
impl From<std::convert::Infallible> for Error {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}
