//! Hydrated finds against DynamoDB Local: an index that holds only keys (or some
//! attributes) is queried for the keys, and the items are read whole from the table,
//! 100 a request, in the index's order.

mod common;

use common::Requests;
use futures_util::TryStreamExt;
use onetable::{Entity, Projection};

/// Orders by customer and date through an index of keys only.
#[derive(Entity, Debug, Clone, PartialEq)]
#[key(pk = "ORDER#${id}", sk = "ORDER")]
#[index(name = "gs1", pk = "CUSTOMER#${customer}", sk = "PLACED#${placed}", project = "keys")]
#[index(name = "gs2", pk = "STATUS#${status}", sk = "PLACED#${placed}", project = ["total"])]
struct Order {
    id: String,
    customer: String,
    placed: String,
    status: String,
    total: u64,
    note: String,
}

#[derive(Projection, Debug, Clone, PartialEq)]
#[projection(entity = Order)]
struct OrderNote {
    id: String,
    note: String,
}

/// Another entity whose entries share the keys-only index and its sort-key prefix.
#[derive(Entity, Debug, Clone, PartialEq)]
#[key(pk = "RETURN#${id}", sk = "RETURN")]
#[index(name = "gs1", pk = "CUSTOMER#${customer}", sk = "PLACED#${placed}", project = "keys")]
struct Return {
    id: String,
    customer: String,
    placed: String,
}

fn order(i: usize) -> Order {
    Order {
        id: format!("o{i:03}"),
        customer: "ann".into(),
        placed: format!("2026-12-{:02}T{:05}", i % 28 + 1, i),
        status: if i.is_multiple_of(2) { "open" } else { "shipped" }.into(),
        total: i as u64 * 10,
        note: format!("note {i} {}", "x".repeat(200)),
    }
}

async fn seeded(requests: &Requests) -> (onetable::Table, Vec<Order>) {
    let table =
        common::table_with_client(requests.client(), |t| t.entity::<Order>().entity::<Return>()).await;
    let orders: Vec<Order> = (0..150).map(order).collect();
    let mut batch = table.batch_write();
    for o in &orders {
        batch = batch.put(o.clone());
    }
    batch = batch.put(Return { id: "r1".into(), customer: "ann".into(), placed: "2026-12-05T00000".into() });
    batch.await.unwrap();
    let mut sorted = orders;
    sorted.sort_by(|a, b| a.placed.cmp(&b.placed));
    (table, sorted)
}

#[tokio::test]
async fn a_hydrated_find_reads_whole_items_through_an_index_of_keys_in_its_order() {
    let requests = Requests::default();
    let (table, orders) = seeded(&requests).await;
    let model = table.model::<Order>();

    // Without hydrating, an index of keys cannot return whole orders.
    let err = model.find(Order::gs1_partition("ann")).await.unwrap_err();
    assert!(err.to_string().contains("holds only the keys"), "{err}");

    requests.reset();
    let page = model.find(Order::gs1_partition("ann")).hydrate().await.unwrap();
    assert!(page.items == orders, "every order, whole, in the index's order; the return left out");
    assert_eq!(requests.count("Query"), 1);
    assert_eq!(requests.count("BatchGetItem"), 2, "150 keys: two reads of up to 100");

    // Pages and cursors count the index's entries: the return's entry is among the
    // first 40, so that page holds 39 orders. Reversed, the other way round.
    let ids = |orders: &[Order]| orders.iter().map(|o| o.id.clone()).collect::<Vec<_>>();
    assert!(orders[38].placed.as_str() > "2026-12-05T00000", "the return's entry is on the first page");
    let first = model.find(Order::gs1_partition("ann")).limit(40).hydrate().await.unwrap();
    assert_eq!(ids(&first.items), ids(&orders[..39]));
    let second =
        model.find(Order::gs1_partition("ann")).limit(40).next(first.next.unwrap()).hydrate().await.unwrap();
    assert_eq!(ids(&second.items), ids(&orders[39..79]));
    let back = model.find(Order::gs1_partition("ann")).limit(40).prev(second.prev.unwrap()).hydrate().await;
    assert_eq!(ids(&back.unwrap().items), ids(&orders[..39]));
    let last = model.find(Order::gs1_partition("ann")).reverse().limit(3).hydrate().await.unwrap();
    assert_eq!(ids(&last.items), ids(&orders[147..]).into_iter().rev().collect::<Vec<_>>());

    // A global index serves eventually consistent reads only: the items are read
    // strongly.
    let strong = model.find(Order::gs1_partition("ann")).limit(5).consistent().hydrate().await.unwrap();
    assert_eq!(ids(&strong.items), ids(&orders[..5]));

    // A stream reads 100 entries a request and hydrates them with one read: five
    // items taken cost one query and one read.
    requests.reset();
    let five: Vec<Order> =
        model.find(Order::gs1_partition("ann")).limit(5).hydrate().stream().try_collect().await.unwrap();
    assert_eq!(ids(&five), ids(&orders[..5]));
    assert_eq!((requests.count("Query"), requests.count("BatchGetItem")), (1, 1));

    // As a stream, page after page; as a projection, only its fields read.
    let streamed: Vec<Order> =
        model.find(Order::gs1_partition("ann")).page_size(60).hydrate().stream().try_collect().await.unwrap();
    assert!(streamed == orders, "{} streamed", streamed.len());
    let notes = model.find(Order::gs1_partition("ann")).project::<OrderNote>().hydrate().await.unwrap();
    let expected: Vec<OrderNote> =
        orders.iter().map(|o| OrderNote { id: o.id.clone(), note: o.note.clone() }).collect();
    assert!(notes.items == expected, "{} notes", notes.items.len());
}

#[tokio::test]
async fn a_hydrated_find_reads_an_index_of_some_attributes_and_refuses_filters_it_cannot_run() {
    let requests = Requests::default();
    let (table, orders) = seeded(&requests).await;
    let model = table.model::<Order>();

    // An index of some attributes: its type filter keeps other entities out, and the
    // items come back whole.
    let open = model.find(Order::gs2_partition("open")).hydrate().await.unwrap();
    let expected: Vec<Order> = orders.iter().filter(|o| o.status == "open").cloned().collect();
    assert!(open.items == expected, "{} open orders", open.items.len());

    // A filter would run on the index's few attributes: refused, nothing sent.
    requests.reset();
    let err =
        model.find(Order::gs1_partition("ann")).filter(Order::TOTAL.gt(100)).hydrate().await.unwrap_err();
    assert!(err.to_string().contains("cannot filter"), "{err}");
    assert_eq!(requests.total(), 0);
}

/// Removes one item from every `BatchGetItem` answer, as if it had been deleted
/// between the query of the index and the read of the items (DynamoDB Local updates
/// its indexes with the item, so the race cannot be staged otherwise).
#[derive(Debug, Clone)]
struct Deleted(String);

impl aws_sdk_dynamodb::config::Intercept for Deleted {
    fn name(&self) -> &'static str {
        "deleted meanwhile"
    }

    fn modify_before_completion(
        &self,
        context: &mut aws_sdk_dynamodb::config::interceptors::FinalizerInterceptorContextMut<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        _: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let Some(Ok(output)) = context.output_or_error_mut() else { return Ok(()) };
        type Output = aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemOutput;
        if let Some(responses) = output.downcast_mut::<Output>().and_then(|o| o.responses.as_mut()) {
            for items in responses.values_mut() {
                items.retain(|item| {
                    item.get("pk").and_then(|v| v.as_s().ok()).map(String::as_str) != Some(self.0.as_str())
                });
            }
        }
        Ok(())
    }
}

#[tokio::test]
async fn an_item_removed_between_the_index_and_the_read_is_left_out() {
    let (table, orders) = seeded(&Requests::default()).await;
    let gone = orders[1].id.clone();
    let config =
        common::local().sdk_config().to_builder().interceptor(Deleted(format!("ORDER#{gone}"))).build();
    let racing = onetable::Table::builder(aws_sdk_dynamodb::Client::from_conf(config), table.name())
        .entity::<Order>()
        .entity::<Return>()
        .build()
        .unwrap();
    let page = racing.model::<Order>().find(Order::gs1_partition("ann")).limit(4).hydrate().await.unwrap();
    let ids: Vec<&str> = page.items.iter().map(|o| o.id.as_str()).collect();
    let expected: Vec<&str> = orders[..4].iter().map(|o| o.id.as_str()).filter(|id| *id != gone).collect();
    assert_eq!(ids, expected, "the limit counts the index's entries: one fewer came back");
    assert!(page.next.is_some());
}
