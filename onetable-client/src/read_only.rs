//! A DynamoDB client that refuses every write before it is sent: what a dry-run
//! migration step gets from its context, whichever way it reaches the client
//! (`ctx.table()`, or a table of its own built from `ctx.table().client()`).

use aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::Client;
use aws_smithy_runtime_api::client::orchestrator::Metadata;

/// The refusal an interceptor returns; [`crate::error::sdk`] finds it in the SDK
/// error's sources and turns it into `ErrorKind::ReadOnly`.
#[derive(Debug)]
pub(crate) struct WriteRefused {
    pub operation: String,
}

impl std::fmt::Display for WriteRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} refused: this client is read-only (a dry run)", self.operation)
    }
}

impl std::error::Error for WriteRefused {}

#[derive(Debug)]
struct RefuseWrites;

/// True for the operations that only read. Anything else is refused, so an
/// operation added to DynamoDB later is refused too until it is known to read.
fn reads(operation: &str) -> bool {
    matches!(operation, "Query" | "Scan" | "BatchGetItem" | "TransactGetItems")
        || ["Get", "Describe", "List"].iter().any(|prefix| operation.starts_with(prefix))
}

// Only the hook it overrides is called (see `capture::Interceptor`).
#[aws_smithy_runtime_api::client::interceptors::dyn_dispatch_hint]
impl Intercept for RefuseWrites {
    fn name(&self) -> &'static str {
        "onetable read-only client"
    }

    // The operation's name is in the bag once its configuration is applied, before
    // the request is serialized (client interceptors' first hook runs earlier).
    fn read_before_serialization(
        &self,
        _: &BeforeSerializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg.load::<Metadata>().map_or("an unknown operation", Metadata::name);
        if reads(operation) {
            return Ok(());
        }
        Err(Box::new(WriteRefused { operation: operation.to_owned() }))
    }
}

/// `client` with the same configuration, refusing every write before it is sent.
pub(crate) fn read_only(client: &Client) -> Client {
    Client::from_conf(client.config().to_builder().interceptor(RefuseWrites).build())
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_reads_pass() {
        for op in
            ["GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems", "DescribeTable", "ListTables"]
        {
            assert!(super::reads(op), "{op}");
        }
        for op in [
            "PutItem",
            "UpdateItem",
            "DeleteItem",
            "BatchWriteItem",
            "TransactWriteItems",
            "ExecuteStatement",
            "BatchExecuteStatement",
            "ExecuteTransaction",
            "CreateTable",
            "UpdateTable",
            "DeleteTable",
            "UpdateTimeToLive",
            "TagResource",
            "RestoreTableFromBackup",
        ] {
            assert!(!super::reads(op), "{op}");
        }
    }
}
