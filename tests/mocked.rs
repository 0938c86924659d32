//! What DynamoDB Local cannot show, against canned HTTP responses: throttling that
//! outlasts the SDK's retries, and service errors carried with DynamoDB's message.

mod common;

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
    (common::mocked_client(http, max_attempts), calls)
}

#[derive(Entity, Debug, Clone, PartialEq)]
#[key(pk = "STREAM#${stream}", sk = "EVENT#${seq}")]
struct Event {
    stream: String,
    seq: u64,
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

/// A fake DynamoDB for `BatchWriteItem`: `script(call, request_items)` returns the
/// status and the requests to hand back unprocessed (for a 200) for each call.
fn batch_client(
    script: impl Fn(usize, &[serde_json::Value]) -> (u16, Vec<serde_json::Value>) + Send + Sync + 'static,
) -> (aws_sdk_dynamodb::Client, Arc<std::sync::Mutex<Vec<usize>>>) {
    let sizes = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = sizes.clone();
    let http = infallible_client_fn(move |request| {
        let body: serde_json::Value =
            serde_json::from_slice(request.body().bytes().unwrap_or_default()).unwrap();
        let writes = body["RequestItems"]["app"].as_array().cloned().unwrap_or_default();
        let call = {
            let mut seen = seen.lock().unwrap();
            seen.push(writes.len());
            seen.len()
        };
        let (status, unprocessed) = script(call, &writes);
        let body = if status == 200 {
            serde_json::json!({ "UnprocessedItems": if unprocessed.is_empty() { serde_json::json!({}) } else { serde_json::json!({ "app": unprocessed }) } }).to_string()
        } else {
            THROTTLED.to_owned()
        };
        http::Response::builder()
            .status(status)
            .header("content-type", "application/x-amz-json-1.0")
            .body(body)
            .unwrap()
    });
    // The SDK retries throttled requests; the batch layer retries unprocessed items.
    (common::mocked_client(http, 3), sizes)
}

fn users(n: usize) -> Vec<User> {
    (0..n).map(|i| User { id: format!("u{i}") }).collect()
}

#[tokio::test]
async fn partial_batch_results_and_throttling_are_retried_until_written() {
    // Call 1: the last 10 of 25 come back unprocessed (the batch layer re-sends them).
    // Call 2: throttled (the SDK retries). Call 3: the 10 are written.
    let (client, sizes) = batch_client(|call, writes| match call {
        1 => (200, writes[15..].to_vec()),
        2 => (400, vec![]),
        _ => (200, vec![]),
    });
    let table = Table::builder(client, "app").entity::<User>().build().unwrap();
    let mut batch = table.batch_write().concurrency(1).base_delay(Duration::from_millis(1));
    for u in users(25) {
        batch = batch.put(u);
    }
    let summary = batch.await.unwrap();
    assert_eq!(summary.processed, 25);
    assert_eq!(summary.requests, 2, "the batch sent the 25, then the 10 unprocessed");
    assert_eq!(*sizes.lock().unwrap(), [25, 10, 10], "on the wire: the SDK resent the throttled request");
}

#[tokio::test]
async fn items_never_processed_are_listed_in_the_error() {
    // Of every request, the items with an even id number are handed back, forever.
    let (client, sizes) = batch_client(|_, writes| {
        let even = writes
            .iter()
            .filter(|w| {
                let id = w["PutRequest"]["Item"]["id"]["S"].as_str().unwrap();
                id[1..].parse::<u32>().unwrap() % 2 == 0
            })
            .cloned()
            .collect();
        (200, even)
    });
    let table = Table::builder(client, "app").entity::<User>().build().unwrap();
    let mut batch = table.batch_write().concurrency(2).max_attempts(4).base_delay(Duration::from_millis(1));
    for u in users(60) {
        batch = batch.put(u);
    }
    let err = batch.await.unwrap_err();
    let onetable::ErrorKind::BatchIncomplete { unprocessed, processed, attempts, .. } = err.kind() else {
        panic!("{err}")
    };
    assert_eq!((*processed, *attempts), (30, 4));
    let mut ids: Vec<u32> = unprocessed
        .iter()
        .map(|u| match u {
            onetable::Unprocessed::Put(item) => item["id"].as_s().unwrap()[1..].parse().unwrap(),
            other => panic!("{other:?}"),
        })
        .collect();
    ids.sort();
    assert_eq!(ids, (0..60).step_by(2).collect::<Vec<u32>>(), "exactly the items not written");
    // 60 items: chunks of 25, 25 and 10, each tried 4 times.
    let sizes = sizes.lock().unwrap();
    assert_eq!(sizes.len(), 12);
    assert!(sizes.iter().all(|&n| n <= 25));
    assert!(
        err.to_string().contains("30 of the batch's requests were not processed after 4 attempts"),
        "{err}"
    );
}

#[tokio::test]
async fn throttling_that_never_ends_fails_the_batch_with_every_item() {
    let (client, _) = batch_client(|_, _| (400, vec![]));
    let table = Table::builder(client, "app").entity::<User>().build().unwrap();
    let mut batch = table.batch_write().max_attempts(3).base_delay(Duration::from_millis(1));
    for u in users(30) {
        batch = batch.put(u);
    }
    let err = batch.await.unwrap_err();
    // Every write is listed, by key, since its request failed outright.
    let mut ids: Vec<String> = err
        .unprocessed()
        .iter()
        .map(|u| match u {
            onetable::Unprocessed::Failed(key) => key["pk"].as_s().unwrap().clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    ids.sort();
    let mut expected: Vec<String> = (0..30).map(|i| format!("USER#u{i}")).collect();
    expected.sort();
    assert_eq!(ids, expected);
    let source = std::error::Error::source(&err).map(|s| s.to_string()).unwrap_or_default();
    assert!(source.contains("throttled"), "{source}");
}

#[tokio::test]
async fn a_failed_batch_names_both_key_values_of_every_write() {
    let (client, _) = batch_client(|_, _| (400, vec![]));
    let table = Table::builder(client, "app").entity::<Event>().build().unwrap();
    let mut batch = table.batch_write().max_attempts(2).base_delay(Duration::from_millis(1));
    for seq in 0..40u64 {
        batch = batch.put(Event { stream: format!("s{}", seq % 3), seq });
    }
    batch = batch.remove(Event::key("gone", 7));
    let err = batch.await.unwrap_err();
    let mut keys: Vec<(String, String)> = err
        .unprocessed()
        .iter()
        .map(|u| match u {
            onetable::Unprocessed::Failed(key) => {
                assert_eq!(key.len(), 2, "{key:?}");
                (key["pk"].as_s().unwrap().clone(), key["sk"].as_s().unwrap().clone())
            }
            other => panic!("{other:?}"),
        })
        .collect();
    keys.sort();
    let mut expected: Vec<(String, String)> =
        (0..40u64).map(|seq| (format!("STREAM#s{}", seq % 3), format!("EVENT#{seq}"))).collect();
    expected.push(("STREAM#gone".into(), "EVENT#7".into()));
    expected.sort();
    assert_eq!(keys, expected);
}

/// Every `BatchWriteItem` body a client sent, parsed; its first `throttled` requests
/// are answered as throttled, every other one as fully processed.
fn recording_client(
    throttled: usize,
) -> (aws_sdk_dynamodb::Client, Arc<std::sync::Mutex<Vec<serde_json::Value>>>) {
    let bodies = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = bodies.clone();
    let http = infallible_client_fn(move |request| {
        let body: serde_json::Value = serde_json::from_slice(request.body().bytes().unwrap()).unwrap();
        let length: usize = request.headers()["content-length"].to_str().unwrap().parse().unwrap();
        assert_eq!(length, request.body().bytes().unwrap().len(), "the length sent is the body's");
        let mut seen = seen.lock().unwrap();
        seen.push(body);
        let (status, body) =
            if seen.len() <= throttled { (400, THROTTLED) } else { (200, r#"{"UnprocessedItems":{}}"#) };
        http::Response::builder()
            .status(status)
            .header("content-type", "application/x-amz-json-1.0")
            .body(body)
            .unwrap()
    });
    (common::mocked_client(http, 3), bodies)
}

#[tokio::test]
async fn a_batch_sends_the_same_items_whoever_writes_their_json_and_resends_them_whole() {
    // Puts of items of every shape the entity has (quotes, escapes, Unicode), and a
    // removal among them.
    let events: Vec<Event> =
        (0..30u64).map(|seq| Event { stream: format!("s\"\\\n{}é😀", seq % 3), seq }).collect();
    let send = |direct: bool, throttled: usize, concurrency: usize| {
        let events = events.clone();
        async move {
            let (client, bodies) = recording_client(throttled);
            let table =
                Table::builder(client, "app").entity::<Event>().direct_writes(direct).build().unwrap();
            let mut batch = table.batch_write().concurrency(concurrency);
            for (i, e) in events.into_iter().enumerate() {
                batch = batch.put(e);
                if i == 3 {
                    batch = batch.remove(Event::key("gone", 7));
                }
            }
            let summary = batch.await.unwrap();
            assert_eq!(summary.processed, 31);
            let bodies = bodies.lock().unwrap().clone();
            bodies
        }
    };
    let general = send(false, 0, 1).await;
    assert_eq!(general.len(), 2, "31 writes: a request of 25 and one of 6");
    let direct = send(true, 0, 1).await;
    assert_eq!(direct, general, "the same bodies with the library writing the items' JSON");
    // Both requests in flight at once: each gets its own items.
    // In the order of their sizes (25 writes, then 6): they may arrive in either.
    let sorted = |mut bodies: Vec<serde_json::Value>| {
        bodies.sort_by_key(|b| std::cmp::Reverse(b["RequestItems"]["app"].as_array().map_or(0, Vec::len)));
        bodies
    };
    assert_eq!(sorted(send(true, 0, 4).await), sorted(general.clone()), "sent together");
    // The SDK retries a throttled request: each attempt sends the items whole.
    let retried = send(true, 2, 1).await;
    assert_eq!(retried.len(), 4);
    assert_eq!(retried[..3], [general[0].clone(), general[0].clone(), general[0].clone()]);
    assert_eq!(retried[3], general[1]);
    // What was sent is what the model makes of each event.
    let (client, _) = recording_client(0);
    let table = Table::builder(client, "app").entity::<Event>().build().unwrap();
    let first = general[0]["RequestItems"]["app"].as_array().unwrap();
    let item = table.model::<Event>().to_item(&events[0]).unwrap();
    let expected: serde_json::Map<String, serde_json::Value> = item
        .iter()
        .map(|(name, value)| {
            let value = match value {
                onetable::AttributeValue::S(s) => serde_json::json!({ "S": s }),
                onetable::AttributeValue::N(n) => serde_json::json!({ "N": n }),
                other => panic!("{other:?}"),
            };
            (name.clone(), value)
        })
        .collect();
    assert_eq!(first[0]["PutRequest"]["Item"], serde_json::Value::Object(expected));
    assert!(first[4]["DeleteRequest"]["Key"]["pk"].is_object(), "the removal, in its place");
}

/// An interceptor of the application's own on batch writes: records how many puts of
/// each body it sees after serialization hold their item empty, and with `add`, adds
/// an attribute to every put's item before serialization (as a client-side
/// encryption would).
#[derive(Debug, Clone, Default)]
struct Audit {
    empty: Arc<std::sync::Mutex<Vec<usize>>>,
    add: bool,
}

impl aws_sdk_dynamodb::config::Intercept for Audit {
    fn name(&self) -> &'static str {
        "audit"
    }

    fn modify_before_serialization(
        &self,
        context: &mut aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextMut<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        _: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemInput;
        let Some(input) = context.input_mut().downcast_mut::<BatchWriteItemInput>() else { return Ok(()) };
        if self.add {
            for writes in input.request_items.iter_mut().flat_map(|m| m.values_mut()) {
                for put in writes.iter_mut().filter_map(|w| w.put_request.as_mut()) {
                    put.item.insert("sealed".into(), onetable::AttributeValue::Bool(true));
                }
            }
        }
        Ok(())
    }

    fn read_after_serialization(
        &self,
        context: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        _: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let body: serde_json::Value =
            serde_json::from_slice(context.request().body().bytes().unwrap()).unwrap();
        let writes = body["RequestItems"]["app"].as_array().cloned().unwrap_or_default();
        let empty = writes.iter().filter(|w| w["PutRequest"]["Item"] == serde_json::json!({})).count();
        self.empty.lock().unwrap().push(empty);
        Ok(())
    }
}

#[tokio::test]
async fn an_interceptor_of_the_applications_own_sees_a_batchs_items_unless_direct_writes_are_asked_for() {
    let events = || (0..30u64).map(|seq| Event { stream: "s".into(), seq });
    let (plain, expected) = recording_client(0);
    let table = Table::builder(plain, "app").entity::<Event>().build().unwrap();
    let mut batch = table.batch_write();
    for e in events() {
        batch = batch.put(e);
    }
    batch.await.unwrap();
    let expected = expected.lock().unwrap().clone();
    for direct in [None, Some(true)] {
        let (client, bodies) = recording_client(0);
        let audit = Audit::default();
        let client = aws_sdk_dynamodb::Client::from_conf(
            client.config().to_builder().interceptor(audit.clone()).build(),
        );
        let mut builder = Table::builder(client, "app").entity::<Event>();
        if let Some(direct) = direct {
            builder = builder.direct_writes(direct);
        }
        let mut batch = builder.build().unwrap().batch_write();
        for e in events() {
            batch = batch.put(e);
        }
        batch.await.unwrap();
        let empty = audit.empty.lock().unwrap().clone();
        let seen = if direct == Some(true) { vec![25, 5] } else { vec![0, 0] };
        assert_eq!(empty, seen, "direct writes {direct:?}: the puts it saw empty, per request");
        assert_eq!(*bodies.lock().unwrap(), expected, "direct writes {direct:?}: what was sent");
    }
}

#[tokio::test]
async fn a_batch_body_changed_under_the_library_is_refused_unsent_and_not_as_transient() {
    // An interceptor fills in the items the library holds empty: the library cannot
    // tell where its own go, so the request is not sent, and the batch reports every
    // write by key, with an error that retrying will not cure.
    let (client, bodies) = recording_client(0);
    let audit = Audit { add: true, ..Audit::default() };
    let client = aws_sdk_dynamodb::Client::from_conf(client.config().to_builder().interceptor(audit).build());
    let table = Table::builder(client, "app").entity::<Event>().direct_writes(true).build().unwrap();
    let mut batch = table.batch_write().base_delay(Duration::from_millis(1));
    for seq in 0..30u64 {
        batch = batch.put(Event { stream: "s".into(), seq });
    }
    let err = batch.await.unwrap_err();
    assert!(bodies.lock().unwrap().is_empty(), "nothing was sent");
    let onetable::ErrorKind::BatchIncomplete { source: Some(source), .. } = err.kind() else {
        panic!("{err:?}")
    };
    let failed = source.downcast_ref::<onetable::Error>().expect("the request's error");
    assert!(!failed.is_transient(), "{failed:?}");
    assert_eq!(err.unprocessed().len(), 30);
    assert!(err.unprocessed().iter().all(|u| matches!(u, onetable::Unprocessed::Failed(_))));
    let source = format!("{:?}", std::error::Error::source(&err));
    assert!(source.contains("batch write request body"), "{source}");
}

#[tokio::test]
async fn a_cancelled_transaction_reports_a_reason_per_action() {
    let body = r#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","Message":"Transaction cancelled, please refer cancellation reasons for specific reasons [None, TransactionConflict]","CancellationReasons":[{"Code":"None"},{"Code":"TransactionConflict","Message":"Transaction is ongoing for the item"}]}"#;
    let (client, _) = client(400, body, 1);
    let table = Table::builder(client, "app").entity::<User>().build().unwrap();
    let users = table.model::<User>();
    let err = table
        .transaction()
        .create(users.create(User { id: "a".into() }))
        .create(users.create(User { id: "b".into() }))
        .await
        .unwrap_err();
    let onetable::ErrorKind::TransactionCanceled { reasons } = err.kind() else { panic!("{err}") };
    assert_eq!(
        reasons,
        &[None, Some("TransactionConflict: Transaction is ongoing for the item".to_string())]
    );
    assert!(err.to_string().contains("action 1: TransactionConflict"), "{err}");
}

#[tokio::test]
async fn a_read_retried_after_throttling_decodes_the_response_that_succeeded() {
    // Two throttles, then a page of two events; the SDK retries, and what the library
    // decodes straight from the body is the last response's.
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let http = infallible_client_fn(move |_request| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        let (status, body) = match n % 3 {
            0 | 1 => (400, THROTTLED.to_owned()),
            _ => (
                200,
                format!(
                    r#"{{"Count":2,"Items":[{{"pk":{{"S":"STREAM#s"}},"sk":{{"S":"EVENT#{a}"}},"_type":{{"S":"Event"}},"stream":{{"S":"s"}},"seq":{{"N":"{a}"}}}},{{"pk":{{"S":"STREAM#s"}},"sk":{{"S":"EVENT#{b}"}},"_type":{{"S":"Event"}},"stream":{{"S":"s"}},"seq":{{"N":"{b}"}}}}],"ScannedCount":2}}"#,
                    a = n,
                    b = n + 1
                ),
            ),
        };
        http::Response::builder()
            .status(status)
            .header("content-type", "application/x-amz-json-1.0")
            .body(body)
            .expect("a valid response")
    });
    let table = Table::builder(common::mocked_client(http, 3), "app").entity::<Event>().build().unwrap();
    let page = table.model::<Event>().find(Event::partition("s")).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    let seqs: Vec<u64> = page.items.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [2, 3], "the items of the third response, the one that succeeded");
    assert!(page.next.is_none());
}
