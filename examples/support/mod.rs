//! Where the examples get their DynamoDB from: the quickstart's `connect` (a local
//! engine the example starts and stops itself, the embedded one unless
//! `ONETABLE_ENGINE=dynamodb-local`, or the user's AWS configuration with `--aws`),
//! and beside it the same account's DynamoDB Streams.

// Not every example reads a stream.
#[allow(dead_code)]
pub mod stream;

#[path = "../quickstart/src/connect.rs"]
mod connect;

pub use connect::table_name;

/// A DynamoDB client, the same account's DynamoDB Streams, and whatever the example
/// started (kept alive as long as this value).
pub struct Target {
    pub client: aws_sdk_dynamodb::Client,
    /// The same account's DynamoDB Streams.
    #[allow(dead_code)]
    pub streams: aws_sdk_dynamodbstreams::Client,
    pub description: String,
    _target: connect::Target,
}

pub async fn connect() -> Result<Target, Box<dyn std::error::Error>> {
    let target = connect::connect().await?;
    let streams = match (&target.aws, &target.local) {
        (Some(config), _) => aws_sdk_dynamodbstreams::Client::new(config),
        (None, Some(local)) => stream::local_client(local.endpoint()),
        (None, None) => return Err("no DynamoDB to read a stream from".into()),
    };
    Ok(Target {
        client: target.client.clone(),
        streams,
        description: target.description.clone(),
        _target: target,
    })
}
