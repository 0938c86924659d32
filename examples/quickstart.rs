//! The quickstart: `cargo run --example quickstart`.
//!
//! With no configuration it starts DynamoDB Local itself; with the standard AWS
//! configuration (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL_DYNAMODB) it uses that, and
//! `--table NAME` picks the table (created when missing).

mod support;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let target = support::connect().await?;
    let client = &target.client;
    let table = support::table_name("onetable-quickstart");
    println!("using {}", target.description);

    let exists = client.describe_table().table_name(&table).send().await.is_ok();
    if !exists {
        let key = |name: &str, kind| KeySchemaElement::builder().attribute_name(name).key_type(kind).build();
        let def = |name: &str| {
            AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::S).build()
        };
        client
            .create_table()
            .table_name(&table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key("pk", KeyType::Hash)?)
            .key_schema(key("sk", KeyType::Range)?)
            .attribute_definitions(def("pk")?)
            .attribute_definitions(def("sk")?)
            .send()
            .await?;
        println!("created table {table}");
    }

    let item = [
        ("pk", AttributeValue::S("ACCOUNT#acme".into())),
        ("sk", AttributeValue::S("USER#ann".into())),
        ("_type", AttributeValue::S("User".into())),
        ("name", AttributeValue::S("Ann".into())),
    ];
    client
        .put_item()
        .table_name(&table)
        .set_item(Some(item.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()))
        .send()
        .await?;
    println!("wrote   {item:?}");

    let read = client
        .get_item()
        .table_name(&table)
        .key("pk", AttributeValue::S("ACCOUNT#acme".into()))
        .key("sk", AttributeValue::S("USER#ann".into()))
        .consistent_read(true)
        .send()
        .await?;
    println!("read    {:?}", read.item().ok_or("the item was not found")?);
    Ok(())
}
