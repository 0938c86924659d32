//! The benchmarks' shared workload: the `User` entity OneTable JS's schema in
//! `bench/js` mirrors, its items, and the hand-written aws-sdk-dynamodb code every
//! comparison measures onetable against. Included by `benches/overhead.rs` and the
//! `bench` example, so both compare the same code.
#![allow(dead_code)]

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use onetable::Entity;

/// Users are spread over this many partitions (accounts `p0`..).
pub const PARTITIONS: usize = 20;

#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "User")]
#[key(pk = "ACCOUNT#${account}", sk = "USER#${id}")]
pub struct User {
    pub account: String,
    pub id: String,
    pub email: String,
    pub name: String,
    pub age: u32,
    pub active: bool,
}

/// The id of a user the stand-ins have no item for: a get of it costs the SDK's
/// pipeline with nothing to decode, the least any get costs.
pub const ABSENT: &str = "absent";

/// Whether a request body asks for the user of id [`ABSENT`], by its sort key.
pub fn asks_for_absent(body: &[u8]) -> bool {
    const KEY: &[u8] = b"USER#absent";
    body.windows(KEY.len()).any(|w| w == KEY)
}

/// Workload user `i`.
pub fn user(i: usize) -> User {
    User {
        account: format!("p{}", i % PARTITIONS),
        id: format!("{i:06}"),
        email: format!("user{i}@acme.example"),
        name: format!("User {i}"),
        age: 20 + (i % 50) as u32,
        active: i.is_multiple_of(2),
    }
}

/// User `i` as DynamoDB's JSON returns it: what a stand-in server answers.
pub fn user_json(i: usize) -> String {
    let u = user(i);
    format!(
        r#"{{"pk":{{"S":"ACCOUNT#{a}"}},"sk":{{"S":"USER#{id}"}},"_type":{{"S":"User"}},"account":{{"S":"{a}"}},"id":{{"S":"{id}"}},"email":{{"S":"{e}"}},"name":{{"S":"{n}"}},"age":{{"N":"{age}"}},"active":{{"BOOL":{active}}}}}"#,
        a = u.account,
        id = u.id,
        e = u.email,
        n = u.name,
        age = u.age,
        active = u.active
    )
}

/// A client configuration with fixed region and credentials, for a stand-in
/// endpoint or HTTP client.
pub fn config() -> aws_sdk_dynamodb::config::Builder {
    use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
    aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("local", "local", None, None, "bench"))
}

/// Hand-written SDK code doing what onetable does for each operation: the same
/// items, conditions and parsing.
pub mod raw {
    use super::*;
    use aws_sdk_dynamodb::types::{PutRequest, ReturnValue, WriteRequest};

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.to_owned())
    }

    pub fn item(u: &User) -> onetable::Item {
        onetable::Item::from([
            ("pk".to_owned(), AttributeValue::S(format!("ACCOUNT#{}", u.account))),
            ("sk".to_owned(), AttributeValue::S(format!("USER#{}", u.id))),
            ("_type".to_owned(), s("User")),
            ("account".to_owned(), s(&u.account)),
            ("id".to_owned(), s(&u.id)),
            ("email".to_owned(), s(&u.email)),
            ("name".to_owned(), s(&u.name)),
            ("age".to_owned(), AttributeValue::N(u.age.to_string())),
            ("active".to_owned(), AttributeValue::Bool(u.active)),
        ])
    }

    pub fn parse(mut item: onetable::Item) -> User {
        let mut take = |name: &str| item.remove(name).expect("attribute present");
        User {
            account: take("account").as_s().expect("S").clone(),
            id: take("id").as_s().expect("S").clone(),
            email: take("email").as_s().expect("S").clone(),
            name: take("name").as_s().expect("S").clone(),
            age: take("age").as_n().expect("N").parse().expect("u32"),
            active: *take("active").as_bool().expect("BOOL"),
        }
    }

    pub async fn create(client: &Client, table: &str, u: &User) {
        client
            .put_item()
            .table_name(table)
            .set_item(Some(item(u)))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", "pk")
            .send()
            .await
            .expect("put");
    }

    pub async fn get(client: &Client, table: &str, account: &str, id: &str) -> Option<User> {
        let out = client
            .get_item()
            .table_name(table)
            .key("pk", AttributeValue::S(format!("ACCOUNT#{account}")))
            .key("sk", AttributeValue::S(format!("USER#{id}")))
            .send()
            .await
            .expect("get");
        out.item.map(parse)
    }

    pub async fn find(client: &Client, table: &str, account: &str) -> Vec<User> {
        let out = client
            .query()
            .table_name(table)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :sk)")
            .filter_expression("#t = :t")
            .expression_attribute_names("#pk", "pk")
            .expression_attribute_names("#sk", "sk")
            .expression_attribute_names("#t", "_type")
            .expression_attribute_values(":pk", AttributeValue::S(format!("ACCOUNT#{account}")))
            .expression_attribute_values(":sk", s("USER#"))
            .expression_attribute_values(":t", s("User"))
            .limit(100)
            .send()
            .await
            .expect("query");
        out.items.unwrap_or_default().into_iter().map(parse).collect()
    }

    /// `SET name, ADD age 1` on an item that must exist, returning the new item.
    pub async fn update(client: &Client, table: &str, account: &str, id: &str) -> User {
        let out = client
            .update_item()
            .table_name(table)
            .key("pk", AttributeValue::S(format!("ACCOUNT#{account}")))
            .key("sk", AttributeValue::S(format!("USER#{id}")))
            .update_expression("SET #name = :name, #t = :t ADD #age :one")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#name", "name")
            .expression_attribute_names("#age", "age")
            .expression_attribute_names("#t", "_type")
            .expression_attribute_names("#pk", "pk")
            .expression_attribute_values(":name", s("Ann"))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":t", s("User"))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .expect("update");
        parse(out.attributes.unwrap_or_default())
    }

    /// Puts in requests of 25, insisting every item was processed.
    pub async fn batch(client: &Client, table: &str, users: &[User]) {
        for chunk in users.chunks(25) {
            let writes: Vec<WriteRequest> = chunk
                .iter()
                .map(|u| {
                    WriteRequest::builder()
                        .put_request(PutRequest::builder().set_item(Some(item(u))).build().expect("item"))
                        .build()
                })
                .collect();
            let out = client.batch_write_item().request_items(table, writes).send().await.expect("batch");
            assert!(out.unprocessed_items.unwrap_or_default().is_empty());
        }
    }
}
