//! Where the examples get their DynamoDB from: a local engine the example starts and
//! stops itself (the embedded one, unless `ONETABLE_ENGINE=dynamodb-local` asks for
//! AWS's DynamoDB Local), unless the user asks for their own AWS configuration with `--aws`
//! (an AWS profile or region merely present in the environment is not enough: nothing
//! creates a table in a real account by accident).

// Not every example reads a stream.
#[allow(dead_code)]
pub mod stream;

use aws_sdk_dynamodb::Client;
use onetable_local::{DynamoDbLocal, Engine};

/// A DynamoDB client and, when the example started one, the engine behind it (kept
/// alive as long as this value; dropping it stops the engine).
pub struct Target {
    pub client: Client,
    /// The same account's DynamoDB Streams.
    #[allow(dead_code)]
    pub streams: aws_sdk_dynamodbstreams::Client,
    pub description: String,
    _local: Option<DynamoDbLocal>,
}

/// True when the user configured AWS through the standard environment variables.
fn aws_configured() -> bool {
    ["AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION"]
        .iter()
        .any(|v| std::env::var_os(v).is_some())
}

pub async fn connect() -> Result<Target, Box<dyn std::error::Error>> {
    let asked = std::env::args().skip(1).any(|a| a == "--aws");
    if !asked && aws_configured() {
        eprintln!(
            "An AWS configuration is set in the environment; this example runs locally \
             anyway. Pass --aws to run it against your AWS configuration (it creates its table there)."
        );
    }
    if asked {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let description = format!(
            "your AWS configuration (region {}, endpoint {})",
            config.region().map(|r| r.as_ref()).unwrap_or("unset"),
            std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap_or_else(|_| "default".into())
        );
        let streams = aws_sdk_dynamodbstreams::Client::new(&config);
        return Ok(Target { client: Client::new(&config), streams, description, _local: None });
    }
    // Starting java blocks for a few seconds; keep it off the async worker threads.
    let engine = Engine::from_env_or(Engine::Embedded)?;
    let local = tokio::task::spawn_blocking(move || engine.start()).await??;
    let streams = stream::local_client(local.endpoint());
    let description = match local.pid() {
        Some(pid) => format!("DynamoDB Local started at {} (pid {pid})", local.endpoint()),
        None => format!("the embedded engine at {}", local.endpoint()),
    };
    Ok(Target { client: local.client(), streams, description, _local: Some(local) })
}

/// The table name from `--table NAME` or `ONETABLE_TABLE`, else `default`.
pub fn table_name(default: &str) -> String {
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--table" {
            if let Some(name) = args.next() {
                return name;
            }
        } else if let Some(name) = arg.strip_prefix("--table=") {
            return name.to_owned();
        }
    }
    std::env::var("ONETABLE_TABLE").unwrap_or_else(|_| default.to_owned())
}
