//! What DynamoDB Local cannot show, against canned HTTP responses: throttling that
//! outlasts the SDK's retries, and service errors carried with DynamoDB's message.

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_http_client::test_util::infallible_client_fn;
use onetable::{Entity, Table};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(Entity, Debug, Clone, PartialEq)]
#[key(pk = "USER#${id}")]
struct User {
    id: String,
}

/// A client whose every request gets `status` and `body`, counting the requests.
fn client(
    status: u16,
    body: &'static str,
    max_attempts: u32,
) -> (aws_sdk_dynamodb::Client, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let http = infallible_client_fn(move |_request| {
        counter.fetch_add(1, Ordering::SeqCst);
        http::Response::builder()
            .status(status)
            .header("content-type", "application/x-amz-json-1.0")
            .body(body)
            .expect("a valid response")
    });
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("k", "s", None, None, "test"))
        .http_client(http)
        .retry_config(
            aws_sdk_dynamodb::config::retry::RetryConfig::standard()
                .with_max_attempts(max_attempts)
                .with_initial_backoff(Duration::from_millis(1)),
        )
        .build();
    (aws_sdk_dynamodb::Client::from_conf(config), calls)
}

const THROTTLED: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded."}"#;

#[tokio::test]
async fn throttling_that_outlasts_the_retries_is_a_typed_error() {
    let (client, calls) = client(400, THROTTLED, 3);
    let table = Table::builder(client, "app").entity::<User>().build().unwrap();
    let users = table.model::<User>();
    let err = users.get(User::key("ann")).await.unwrap_err();
    assert!(err.is_throttled(), "{err}");
    assert_eq!(calls.load(Ordering::SeqCst), 3, "the SDK retried before giving up");
    let message = err.to_string();
    assert!(message.contains("get on table app was throttled"), "{message}");
    assert!(message.contains("ProvisionedThroughputExceededException"), "{message}");

    calls.store(0, Ordering::SeqCst);
    let err = users.create(User { id: "ann".into() }).await.unwrap_err();
    assert!(err.is_throttled(), "{err}");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn service_errors_carry_dynamodbs_message() {
    let body = r#"{"__type":"com.amazon.coral.validate#ValidationException","message":"One or more parameter values were invalid"}"#;
    let (client, calls) = client(400, body, 3);
    let table = Table::builder(client, "app").entity::<User>().build().unwrap();
    let err = table.model::<User>().get(User::key("ann")).await.unwrap_err();
    assert!(!err.is_throttled());
    assert_eq!(calls.load(Ordering::SeqCst), 1, "a validation error is not retried");
    assert_eq!(
        err.to_string(),
        "get on table app failed: ValidationException: One or more parameter values were invalid"
    );
    assert!(std::error::Error::source(&err).is_some(), "the SDK error is kept as the source");
}
