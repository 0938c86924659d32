//! Tests as a downstream crate writes them: one DynamoDB Local per test binary (or the
//! one named by ONETABLE_DYNAMODB_ENDPOINT), a fresh table per test.

use db::Table;
use onetable_downstream::{open, table, Account, AccountItem, Plan, User};

/// A new, empty table of this service's schema.
async fn fresh_table() -> Table {
    let local = onetable_local::DynamoDbLocal::shared().expect("DynamoDB Local");
    let table = table(local.client(), onetable_local::unique_table_name("accounts")).unwrap();
    table.create_table().send().await.unwrap();
    table
}

#[tokio::test]
async fn opening_an_account_stores_it_with_its_first_user() {
    let table = fresh_table().await;
    open(&table, "acme", "ann@acme.test").await.unwrap();
    let items = table.collection::<AccountItem>().find(Account::partition("acme")).await.unwrap();
    assert_eq!(items.items.len(), 2);
    assert!(matches!(&items.items[0], AccountItem::Account(a) if a.plan == Plan::Free));
    assert!(matches!(&items.items[1], AccountItem::User(u) if u.email == "ann@acme.test"));
}

#[tokio::test]
async fn an_account_opens_once() {
    let table = fresh_table().await;
    open(&table, "acme", "ann@acme.test").await.unwrap();
    let err = open(&table, "acme", "bob@acme.test").await.unwrap_err();
    assert!(err.to_string().contains("Account"), "{err}");
    let users = table.model::<User>().find(User::partition("acme")).await.unwrap();
    assert_eq!(users.items.len(), 1, "the transaction wrote nothing");
}
