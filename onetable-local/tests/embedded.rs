//! The embedded engine: it starts with nothing installed, serves the DynamoDB API over the SDK
//! as DynamoDB Local does, and stops when its handle is dropped.

#![cfg(feature = "embedded")]

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ReturnValuesOnConditionCheckFailure, ScalarAttributeType,
};
use onetable_local::{DynamoDbLocal, Engine, Error};

async fn create(client: &aws_sdk_dynamodb::Client, table: &str) {
    client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(KeySchemaElement::builder().attribute_name("pk").key_type(KeyType::Hash).build().unwrap())
        .send()
        .await
        .expect("create table");
}

#[tokio::test]
async fn the_embedded_engine_serves_conditional_writes_and_stops_with_its_handle() {
    let local = DynamoDbLocal::embedded().expect("the embedded engine starts");
    assert_eq!(local.engine(), Some(Engine::Embedded));
    assert!(local.is_running());
    assert_eq!(local.pid(), None, "no other process");
    let client = local.client();
    create(&client, "things").await;
    let item = |n: &str| {
        [("pk".to_owned(), AttributeValue::S("a".into())), ("n".to_owned(), AttributeValue::N(n.into()))]
    };
    client.put_item().table_name("things").set_item(Some(item("1").into())).send().await.unwrap();
    // A failed condition is a typed error carrying the item as it is.
    let err = client
        .put_item()
        .table_name("things")
        .set_item(Some(item("2").into()))
        .condition_expression("attribute_not_exists(pk)")
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    let current = match err {
        aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(e) => e.item,
        other => panic!("{other:?}"),
    };
    assert_eq!(current.unwrap().get("n"), Some(&AttributeValue::N("1".into())));

    // Another engine is another database.
    let other = DynamoDbLocal::embedded().unwrap();
    assert_ne!(other.endpoint(), local.endpoint());
    assert!(other.client().list_tables().send().await.unwrap().table_names().is_empty());

    let endpoint = local.endpoint().to_owned();
    drop(local);
    // Nothing answers there any more, or (the port handed to another engine of this
    // test binary at once) something without this engine's table.
    match client.list_tables().send().await {
        Err(_) => {}
        Ok(listed) => {
            assert!(!listed.table_names().contains(&"things".to_owned()), "still answers at {endpoint}")
        }
    }
}

#[test]
fn an_engine_is_named_by_the_environment_or_refused_with_the_names_it_takes() {
    assert_eq!("embedded".parse::<Engine>().unwrap(), Engine::Embedded);
    assert_eq!("dynamodb-local".parse::<Engine>().unwrap(), Engine::DynamoDbLocal);
    let err = "dynalite".parse::<Engine>().unwrap_err();
    assert!(matches!(&err, Error::UnknownEngine { name } if name == "dynalite"));
    let message = err.to_string();
    assert!(message.contains("`dynamodb-local`") && message.contains("`embedded`"), "{message}");
}

#[test]
fn the_shared_embedded_engine_is_one_per_process() {
    let a = Engine::Embedded.shared().unwrap();
    let b = Engine::Embedded.shared().unwrap();
    assert!(std::ptr::eq(a, b));
    assert_eq!(a.engine(), Some(Engine::Embedded));
}

#[test]
fn a_request_that_never_finishes_does_not_hold_the_stop() {
    use std::io::Write;
    let local = DynamoDbLocal::embedded().unwrap();
    // Half a request: the headers promise a body that never comes (as from a client
    // whose task waits on the thread now dropping the engine).
    let mut half = std::net::TcpStream::connect(local.endpoint().trim_start_matches("http://")).unwrap();
    half.write_all(b"POST / HTTP/1.1\r\nhost: local\r\ncontent-length: 1000\r\n\r\n{\"Tab").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(100));
    // Returns (a hang here is the failure): the engine drops the connection after its
    // grace period, and the half-sent request's connection is closed, not left open.
    drop(local);
    half.set_read_timeout(Some(std::time::Duration::from_secs(60))).unwrap();
    let mut rest = Vec::new();
    let closed = std::io::Read::read_to_end(&mut half, &mut rest);
    let reset = |e: &std::io::Error| e.kind() == std::io::ErrorKind::ConnectionReset;
    assert!(closed.is_ok() || closed.as_ref().is_err_and(reset), "still open: {closed:?}");
}
