//! Where the quickstart (and the other examples, through `examples/support`) gets its
//! DynamoDB from: a local engine it starts itself, unless the user asks for their own
//! AWS configuration with `--aws` (an AWS profile or region merely present in the
//! environment is not enough: nothing creates a table in a real account by accident).

use onetable::aws_sdk_dynamodb;
use onetable_local::{DynamoDbLocal, Engine};

/// A DynamoDB client and, when the example started one, the engine behind it (kept
/// alive as long as this value; dropping it stops the engine).
pub struct Target {
    pub client: aws_sdk_dynamodb::Client,
    pub description: String,
    /// The user's AWS configuration, with `--aws` (the other examples build their
    /// streams client from it).
    #[allow(dead_code)]
    pub aws: Option<aws_config::SdkConfig>,
    /// The engine started, without `--aws`; holding it keeps the engine running.
    #[allow(dead_code)]
    pub local: Option<DynamoDbLocal>,
}

/// True when the user configured AWS through the standard environment variables.
fn aws_configured() -> bool {
    ["AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION"]
        .iter()
        .any(|v| std::env::var_os(v).is_some())
}

pub async fn connect() -> Result<Target, Box<dyn std::error::Error>> {
    let asked = std::env::args().skip(1).any(|a| a == "--aws");
    if asked {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let description = format!(
            "your AWS configuration (region {}, endpoint {})",
            config.region().map(|r| r.as_ref()).unwrap_or("unset"),
            std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap_or_else(|_| "default".into())
        );
        let client = aws_sdk_dynamodb::Client::new(&config);
        return Ok(Target { client, description, aws: Some(config), local: None });
    }
    if aws_configured() {
        eprintln!(
            "An AWS configuration is set in the environment; this example runs locally \
             anyway. Pass --aws to run it against your AWS configuration (it creates its table there)."
        );
    }
    // The embedded engine unless ONETABLE_ENGINE names another. Starting DynamoDB Local
    // blocks for a few seconds: off the async worker threads.
    let engine = Engine::from_env_or(Engine::Embedded)?;
    let local = tokio::task::spawn_blocking(move || engine.start()).await??;
    let description = match local.pid() {
        Some(pid) => format!("DynamoDB Local at {} (pid {pid})", local.endpoint()),
        None => format!("the embedded engine at {}", local.endpoint()),
    };
    Ok(Target { client: local.client(), description, aws: None, local: Some(local) })
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
