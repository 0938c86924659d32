//! Change streams as entities: `cargo run --example changes` (add `--aws` to use your
//! own AWS configuration instead of a DynamoDB Local it starts).
//!
//! Creates a table with a stream, writes customers and orders through onetable, reads
//! the stream with aws-sdk-dynamodbstreams and prints each record as a typed change of
//! the shop's collection — unique-field sentinels reported as what they are.

mod support;

use onetable::changes::{Change, OtherKind, Others};
use onetable::{Collection, Entity, Table};

#[derive(Entity, Debug, Clone, PartialEq)]
#[key(pk = "CUSTOMER#${id}", sk = "CUSTOMER")]
struct Customer {
    id: String,
    name: String,
    #[attr(unique)]
    email: String,
}

#[derive(Entity, Debug, Clone, PartialEq)]
#[key(pk = "CUSTOMER#${customer}", sk = "ORDER#${id}")]
struct Order {
    customer: String,
    id: String,
    total: u64,
    status: String,
}

/// Everything of a customer's partition.
#[derive(Collection, Debug, PartialEq)]
enum Shop {
    Customer(Customer),
    Order(Order),
}

fn show(change: &Change<Shop>) -> String {
    let name = |item: &Shop| match item {
        Shop::Customer(c) => format!("customer {} <{}>", c.id, c.email),
        Shop::Order(o) => format!("order {}/{} {} ({})", o.customer, o.id, o.total, o.status),
    };
    match change {
        Change::Insert(new) => format!("insert  {}", name(new)),
        Change::Modify { old: Some(old), new } => format!("modify  {}  ->  {}", name(old), name(new)),
        Change::Modify { old: None, new } => format!("modify  {}", name(new)),
        Change::Remove { old, expired } => {
            format!("remove  {}{}", name(old), if *expired { " (expired)" } else { "" })
        }
        Change::Other(other) => {
            let what = match &other.kind {
                OtherKind::Unique => "unique sentinel".to_owned(),
                OtherKind::Bookkeeping => "migration bookkeeping".to_owned(),
                OtherKind::Unknown(name) => format!("item of type {name:?}"),
            };
            let mut keys: Vec<_> = other.keys.iter().collect();
            keys.sort_by_key(|(name, _)| name.as_str());
            let key = keys.iter().filter_map(|(_, v)| v.as_s().ok()).cloned().collect::<Vec<_>>().join(" ");
            format!("{:<7} {what} {key}", format!("{:?}", other.event).to_lowercase())
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let target = support::connect().await?;
    println!("using {}", target.description);
    let name = support::table_name("onetable-changes-example");
    let table =
        Table::builder(target.client.clone(), &name).entity::<Customer>().entity::<Order>().build()?;
    table
        .create_table()
        .stream(onetable::aws_sdk_dynamodb::types::StreamViewType::NewAndOldImages)
        .send()
        .await?;

    let (customers, orders) = (table.model::<Customer>(), table.model::<Order>());
    let ann = Customer { id: "c1".into(), name: "Ann".into(), email: "ann@example.com".into() };
    customers.create(ann.clone()).await?;
    for (id, total) in [("o1", 120), ("o2", 35)] {
        let order = Order { customer: "c1".into(), id: id.into(), total, status: "open".into() };
        orders.create(order).await?;
    }
    orders.update(Order::key("c1", "o1")).set(Order::STATUS, "shipped".to_owned()).await?;
    customers.update(Customer::key("c1")).set(Customer::EMAIL, "ann@example.org".to_owned()).await?;
    orders.remove(Order::key("c1", "o2")).await?;

    // 1 customer + 1 sentinel, 2 orders, 1 update, email change (item + 2 sentinels), 1 removal.
    let records = support::stream::read_all(&target.client, &target.streams, &name, 9).await?;
    let changes = table.changes::<Shop>().others(Others::Report);
    println!("{} stream records:", records.len());
    for record in records {
        if let Some(change) = changes.decode(record)? {
            println!("  {}", show(&change));
        }
    }
    table.client().delete_table().table_name(&name).send().await?;
    Ok(())
}
