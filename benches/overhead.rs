//! Library overhead: each operation through onetable and through hand-written
//! aws-sdk-dynamodb code doing exactly the same job, both against one in-process stub
//! that answers with canned DynamoDB responses — so only client CPU is measured.
//!
//! `cargo bench --bench overhead`

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, ReturnValue, WriteRequest};
use aws_sdk_dynamodb::Client;
use aws_smithy_http_client::test_util::infallible_client_fn;
use criterion::{criterion_group, criterion_main, Criterion};
use onetable::{Entity, Table};
use std::collections::HashMap;

#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "User")]
#[key(pk = "ACCOUNT#${account_id}", sk = "USER#${id}")]
struct User {
    account_id: String,
    id: String,
    email: String,
    name: String,
    age: u32,
    active: bool,
    logins: u64,
}

fn user(i: usize) -> User {
    User {
        account_id: "acme".into(),
        id: format!("{i:06}"),
        email: format!("user{i}@acme.example"),
        name: format!("User {i}"),
        age: 40,
        active: true,
        logins: 7,
    }
}

/// The JSON of one stored user, as DynamoDB returns it.
fn user_json(i: usize) -> String {
    format!(
        r#"{{"pk":{{"S":"ACCOUNT#acme"}},"sk":{{"S":"USER#{i:06}"}},"_type":{{"S":"User"}},"account_id":{{"S":"acme"}},"id":{{"S":"{i:06}"}},"email":{{"S":"user{i}@acme.example"}},"name":{{"S":"User {i}"}},"age":{{"N":"40"}},"active":{{"BOOL":true}},"logins":{{"N":"7"}}}}"#
    )
}

/// A client whose requests are answered by `x-amz-target` from canned bodies.
fn stub_client() -> Client {
    let one = user_json(1);
    let hundred: Vec<String> = (0..100).map(user_json).collect();
    let query = format!(r#"{{"Items":[{}],"Count":100,"ScannedCount":100}}"#, hundred.join(","));
    let get = format!(r#"{{"Item":{one}}}"#);
    let update = format!(r#"{{"Attributes":{one}}}"#);
    let http = infallible_client_fn(move |request| {
        let target = request.headers().get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
        let body = match target.rsplit('.').next().unwrap_or_default() {
            "GetItem" => get.clone(),
            "Query" => query.clone(),
            "UpdateItem" => update.clone(),
            "BatchWriteItem" => r#"{"UnprocessedItems":{}}"#.to_owned(),
            _ => "{}".to_owned(),
        };
        http::Response::builder()
            .status(200)
            .header("content-type", "application/x-amz-json-1.0")
            .body(body)
            .expect("a valid response")
    });
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("k", "s", None, None, "bench"))
        .http_client(http)
        .build();
    Client::from_conf(config)
}

/// Hand-written SDK code doing what onetable does for each operation.
mod raw {
    use super::*;

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.to_owned())
    }

    pub fn item(u: &User) -> HashMap<String, AttributeValue> {
        HashMap::from([
            ("pk".to_owned(), AttributeValue::S(format!("ACCOUNT#{}", u.account_id))),
            ("sk".to_owned(), AttributeValue::S(format!("USER#{}", u.id))),
            ("_type".to_owned(), s("User")),
            ("account_id".to_owned(), s(&u.account_id)),
            ("id".to_owned(), s(&u.id)),
            ("email".to_owned(), s(&u.email)),
            ("name".to_owned(), s(&u.name)),
            ("age".to_owned(), AttributeValue::N(u.age.to_string())),
            ("active".to_owned(), AttributeValue::Bool(u.active)),
            ("logins".to_owned(), AttributeValue::N(u.logins.to_string())),
        ])
    }

    pub fn parse(mut item: HashMap<String, AttributeValue>) -> User {
        let mut take = |name: &str| item.remove(name).expect("attribute present");
        User {
            account_id: take("account_id").as_s().expect("S").clone(),
            id: take("id").as_s().expect("S").clone(),
            email: take("email").as_s().expect("S").clone(),
            name: take("name").as_s().expect("S").clone(),
            age: take("age").as_n().expect("N").parse().expect("u32"),
            active: *take("active").as_bool().expect("BOOL"),
            logins: take("logins").as_n().expect("N").parse().expect("u64"),
        }
    }

    pub async fn create(client: &Client, u: &User) {
        client
            .put_item()
            .table_name("app")
            .set_item(Some(item(u)))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", "pk")
            .send()
            .await
            .expect("put");
    }

    pub async fn get(client: &Client) -> Option<User> {
        let out = client
            .get_item()
            .table_name("app")
            .key("pk", s("ACCOUNT#acme"))
            .key("sk", s("USER#000001"))
            .send()
            .await
            .expect("get");
        out.item.map(parse)
    }

    pub async fn find(client: &Client) -> Vec<User> {
        let out = client
            .query()
            .table_name("app")
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :sk)")
            .filter_expression("#t = :t")
            .expression_attribute_names("#pk", "pk")
            .expression_attribute_names("#sk", "sk")
            .expression_attribute_names("#t", "_type")
            .expression_attribute_values(":pk", s("ACCOUNT#acme"))
            .expression_attribute_values(":sk", s("USER#"))
            .expression_attribute_values(":t", s("User"))
            .limit(100)
            .send()
            .await
            .expect("query");
        out.items.unwrap_or_default().into_iter().map(parse).collect()
    }

    pub async fn update(client: &Client) -> User {
        let out = client
            .update_item()
            .table_name("app")
            .key("pk", s("ACCOUNT#acme"))
            .key("sk", s("USER#000001"))
            .update_expression("SET #name = :name, #t = :t ADD #logins :one")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#name", "name")
            .expression_attribute_names("#logins", "logins")
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

    pub async fn batch(client: &Client, users: &[User]) {
        for chunk in users.chunks(25) {
            let writes: Vec<WriteRequest> = chunk
                .iter()
                .map(|u| {
                    WriteRequest::builder()
                        .put_request(PutRequest::builder().set_item(Some(item(u))).build().expect("item"))
                        .build()
                })
                .collect();
            let out = client.batch_write_item().request_items("app", writes).send().await.expect("batch");
            assert!(out.unprocessed_items.unwrap_or_default().is_empty());
        }
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let client = stub_client();
    let table = Table::builder(client.clone(), "app").entity::<User>().build().expect("schema");
    let users = table.model::<User>();
    let hundred: Vec<User> = (0..100).map(user).collect();

    // Both sides do the same work and read the same answers.
    rt.block_on(async {
        assert_eq!(users.get(User::key("acme", "000001")).await.unwrap(), raw::get(&client).await);
        assert_eq!(
            users.find(User::partition("acme")).limit(100).await.unwrap().items,
            raw::find(&client).await
        );
    });

    let mut group = c.benchmark_group("create");
    group.bench_function("onetable", |b| b.iter(|| rt.block_on(users.create(user(1)).send()).unwrap()));
    group.bench_function("raw_sdk", |b| b.iter(|| rt.block_on(raw::create(&client, &user(1)))));
    group.finish();

    let mut group = c.benchmark_group("get");
    group.bench_function("onetable", |b| {
        b.iter(|| rt.block_on(users.get(User::key("acme", "000001")).send()).unwrap())
    });
    group.bench_function("raw_sdk", |b| b.iter(|| rt.block_on(raw::get(&client))));
    group.finish();

    let mut group = c.benchmark_group("find_100");
    group.bench_function("onetable", |b| {
        b.iter(|| rt.block_on(users.find(User::partition("acme")).limit(100).send()).unwrap())
    });
    group.bench_function("raw_sdk", |b| b.iter(|| rt.block_on(raw::find(&client))));
    group.finish();

    let mut group = c.benchmark_group("update");
    group.bench_function("onetable", |b| {
        b.iter(|| {
            rt.block_on(
                users.update(User::key("acme", "000001")).set(User::NAME, "Ann").add(User::LOGINS, 1).send(),
            )
            .unwrap()
        })
    });
    group.bench_function("raw_sdk", |b| b.iter(|| rt.block_on(raw::update(&client))));
    group.finish();

    let mut group = c.benchmark_group("batch_write_100");
    group.bench_function("onetable", |b| {
        b.iter(|| {
            let mut batch = table.batch_write().concurrency(1);
            for u in hundred.iter().cloned() {
                batch = batch.put(u);
            }
            rt.block_on(batch.send()).unwrap()
        })
    });
    group.bench_function("raw_sdk", |b| b.iter(|| rt.block_on(raw::batch(&client, &hundred))));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
