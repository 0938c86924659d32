//! `to_item` / `from_item` of a 10-field entity: the derive against hand-written code
//! doing the same job (keys, fields, type attribute) and against serde_dynamo 4.
//!
//! `cargo bench --bench item_mapping`

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use onetable::{AttributeValue, Entity, Format, Item, Value};
use std::collections::HashMap;

#[derive(Value, serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq)]
enum Status {
    Active,
    Suspended,
}

#[derive(Entity, serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
#[key(pk = "ACCOUNT#${account_id}", sk = "USER#${id}")]
struct User {
    id: String,
    account_id: String,
    email: String,
    name: String,
    age: u32,
    active: bool,
    score: f64,
    tags: Vec<String>,
    created: i64,
    status: Status,
}

fn user() -> User {
    User {
        id: "01HZX3J8Q6S0V1Y2Z3A4B5C6D7".into(),
        account_id: "acme-corporation".into(),
        email: "ann.smith@example.com".into(),
        name: "Ann Smith".into(),
        age: 42,
        active: true,
        score: 1234.5,
        tags: vec!["admin".into(), "beta".into(), "eu".into()],
        created: 1_715_000_000_123,
        status: Status::Active,
    }
}

/// What a careful developer writes by hand for the same item.
mod hand {
    use super::*;

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.to_owned())
    }

    fn n(v: impl ToString) -> AttributeValue {
        AttributeValue::N(v.to_string())
    }

    pub fn to_item(u: &User) -> Item {
        let mut item = HashMap::with_capacity(13);
        item.insert("pk".to_owned(), AttributeValue::S(format!("ACCOUNT#{}", u.account_id)));
        item.insert("sk".to_owned(), AttributeValue::S(format!("USER#{}", u.id)));
        item.insert("id".to_owned(), s(&u.id));
        item.insert("account_id".to_owned(), s(&u.account_id));
        item.insert("email".to_owned(), s(&u.email));
        item.insert("name".to_owned(), s(&u.name));
        item.insert("age".to_owned(), n(u.age));
        item.insert("active".to_owned(), AttributeValue::Bool(u.active));
        item.insert("score".to_owned(), n(u.score));
        item.insert("tags".to_owned(), AttributeValue::L(u.tags.iter().map(|t| s(t)).collect()));
        item.insert("created".to_owned(), n(u.created));
        let status = match u.status {
            Status::Active => "Active",
            Status::Suspended => "Suspended",
        };
        item.insert("status".to_owned(), s(status));
        item.insert("_type".to_owned(), s("User"));
        item
    }

    /// The same item, moving the strings instead of copying them.
    pub fn into_item(u: User) -> Item {
        let mut item = HashMap::with_capacity(13);
        item.insert("pk".to_owned(), AttributeValue::S(format!("ACCOUNT#{}", u.account_id)));
        item.insert("sk".to_owned(), AttributeValue::S(format!("USER#{}", u.id)));
        item.insert("id".to_owned(), AttributeValue::S(u.id));
        item.insert("account_id".to_owned(), AttributeValue::S(u.account_id));
        item.insert("email".to_owned(), AttributeValue::S(u.email));
        item.insert("name".to_owned(), AttributeValue::S(u.name));
        item.insert("age".to_owned(), n(u.age));
        item.insert("active".to_owned(), AttributeValue::Bool(u.active));
        item.insert("score".to_owned(), n(u.score));
        item.insert(
            "tags".to_owned(),
            AttributeValue::L(u.tags.into_iter().map(AttributeValue::S).collect()),
        );
        item.insert("created".to_owned(), n(u.created));
        let status = match u.status {
            Status::Active => "Active",
            Status::Suspended => "Suspended",
        };
        item.insert("status".to_owned(), s(status));
        item.insert("_type".to_owned(), s("User"));
        item
    }

    fn take_s(item: &mut Item, name: &str) -> Result<String, String> {
        match item.remove(name) {
            Some(AttributeValue::S(v)) => Ok(v),
            other => Err(format!("{name}: {other:?}")),
        }
    }

    fn take_n<T: std::str::FromStr>(item: &mut Item, name: &str) -> Result<T, String> {
        match item.remove(name) {
            Some(AttributeValue::N(v)) => v.parse().map_err(|_| format!("{name}: {v}")),
            other => Err(format!("{name}: {other:?}")),
        }
    }

    pub fn from_item(mut item: Item) -> Result<User, String> {
        Ok(User {
            id: take_s(&mut item, "id")?,
            account_id: take_s(&mut item, "account_id")?,
            email: take_s(&mut item, "email")?,
            name: take_s(&mut item, "name")?,
            age: take_n(&mut item, "age")?,
            active: match item.remove("active") {
                Some(AttributeValue::Bool(b)) => b,
                other => return Err(format!("active: {other:?}")),
            },
            score: take_n(&mut item, "score")?,
            tags: match item.remove("tags") {
                Some(AttributeValue::L(l)) => l
                    .into_iter()
                    .map(|v| match v {
                        AttributeValue::S(s) => Ok(s),
                        other => Err(format!("tags: {other:?}")),
                    })
                    .collect::<Result<_, _>>()?,
                other => return Err(format!("tags: {other:?}")),
            },
            created: take_n(&mut item, "created")?,
            status: match take_s(&mut item, "status")?.as_str() {
                "Active" => Status::Active,
                "Suspended" => Status::Suspended,
                other => return Err(format!("status: {other}")),
            },
        })
    }
}

/// serde_dynamo does the fields; the keys and type attribute are added by hand.
mod serde_dynamo_way {
    use super::*;

    pub fn to_item(u: &User) -> Item {
        let mut item: Item = serde_dynamo::to_item(u).expect("serializable");
        item.insert("pk".to_owned(), AttributeValue::S(format!("ACCOUNT#{}", u.account_id)));
        item.insert("sk".to_owned(), AttributeValue::S(format!("USER#{}", u.id)));
        item.insert("_type".to_owned(), AttributeValue::S("User".to_owned()));
        item
    }

    pub fn from_item(item: Item) -> User {
        serde_dynamo::from_item(item).expect("deserializable")
    }
}

fn bench(c: &mut Criterion) {
    let u = user();
    let format = Format::ONETABLE;
    let item = u.to_item(&format).unwrap();
    // All three ways write and read the same item.
    assert_eq!(hand::to_item(&u), item);
    assert_eq!(serde_dynamo_way::to_item(&u), item);
    assert_eq!(hand::into_item(u.clone()), item);
    assert_eq!(u.clone().into_item(&format).unwrap(), item);
    assert_eq!(hand::from_item(item.clone()).unwrap(), u);
    assert_eq!(serde_dynamo_way::from_item(item.clone()), u);

    let mut group = c.benchmark_group("to_item");
    group.bench_function("onetable", |b| b.iter(|| black_box(&u).to_item(&format).unwrap()));
    group.bench_function("hand_written", |b| b.iter(|| hand::to_item(black_box(&u))));
    group.bench_function("serde_dynamo", |b| b.iter(|| serde_dynamo_way::to_item(black_box(&u))));
    group.finish();

    let mut group = c.benchmark_group("into_item");
    group.bench_function("onetable", |b| {
        b.iter_batched(|| u.clone(), |u| u.into_item(&format).unwrap(), criterion::BatchSize::SmallInput)
    });
    group.bench_function("hand_written", |b| {
        b.iter_batched(|| u.clone(), hand::into_item, criterion::BatchSize::SmallInput)
    });
    group.finish();

    let mut group = c.benchmark_group("from_item");
    group.bench_function("onetable", |b| {
        b.iter_batched(|| item.clone(), |i| User::from_item(i).unwrap(), criterion::BatchSize::SmallInput)
    });
    group.bench_function("hand_written", |b| {
        b.iter_batched(|| item.clone(), |i| hand::from_item(i).unwrap(), criterion::BatchSize::SmallInput)
    });
    group.bench_function("serde_dynamo", |b| {
        b.iter_batched(|| item.clone(), serde_dynamo_way::from_item, criterion::BatchSize::SmallInput)
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
