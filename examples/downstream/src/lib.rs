//! A small service's data layer, written as an application depending on onetable
//! would write it: the dependency is renamed (`db`), so each derive is told where it
//! is; its tests get a fresh table per test from `onetable-local`.

use db::prelude::*;

/// A plan, stored as its lowercase name.
#[derive(Value, Debug, Clone, Copy, PartialEq)]
#[value(crate = "db", rename_all = "lowercase")]
pub enum Plan {
    /// Free of charge.
    Free,
    /// Paid.
    Pro,
}

/// An account.
#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(crate = "db", name = "Account")]
#[key(pk = "ACCOUNT#${id}", sk = "ACCOUNT")]
pub struct Account {
    /// Its id.
    pub id: String,
    /// Its plan.
    pub plan: Plan,
}

/// A user of an account, in the account's partition.
#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(crate = "db", name = "User", timestamps)]
#[key(pk = "ACCOUNT#${account}", sk = "USER#${email}")]
pub struct User {
    /// The account.
    pub account: String,
    /// The user's email.
    pub email: String,
}

/// An account's partition, read in one query.
#[derive(Collection, Debug)]
#[collection(crate = "db")]
pub enum AccountItem {
    /// The account item.
    Account(Account),
    /// One of its users.
    User(User),
}

/// The table as this service describes it.
pub fn table(client: db::aws_sdk_dynamodb::Client, name: impl Into<String>) -> Result<Table, db::Error> {
    Table::builder(client, name).entity::<Account>().entity::<User>().build()
}

/// Opens an account with its first user.
pub async fn open(table: &Table, id: &str, email: &str) -> Result<(), db::Error> {
    let (accounts, users) = (table.model::<Account>(), table.model::<User>());
    table
        .transaction()
        .create(accounts.create(Account { id: id.into(), plan: Plan::Free }))
        .create(users.create(User { account: id.into(), email: email.into() }))
        .await
        .map(|_| ())
}
