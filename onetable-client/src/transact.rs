//! Transactions: up to 100 writes of several entities that all happen or none do,
//! combined from the operations' prepared writes (see `write`), unique-field
//! sentinels and version checks included.

use crate::conditions::Conditions;
use crate::keys::KeyValues;
use crate::model::{Create, Remove};
use crate::table::Table;
use crate::write::{run, Op, Prepared, Request, Role, Write};
use futures_util::future::BoxFuture;
use onetable_core::expr::Condition;
use onetable_core::{Entity, Error, ErrorKind, Key};
use std::future::IntoFuture;

/// How many times a transaction upgrades an item of an earlier form and is sent again.
const TRIES: u32 = 8;

/// Writes of several entities that succeed or fail together, made by
/// [`Table::transaction`]. Unique-field sentinels and version checks of the entities
/// involved are part of it.
#[must_use = "await it or call .send().await"]
pub struct Transaction {
    table: Table,
    steps: Vec<BoxFuture<'static, Result<Vec<Write>, Error>>>,
    token: Option<String>,
}

impl Table {
    /// A transaction; see [`Transaction`].
    pub fn transaction(&self) -> Transaction {
        Transaction { table: self.clone(), steps: Vec::new(), token: None }
    }
}

impl Transaction {
    fn step(mut self, step: BoxFuture<'static, Result<Vec<Write>, Error>>) -> Self {
        self.steps.push(step);
        self
    }

    /// Adds a create (`users.create(user)`, with its condition if any); with its
    /// unique sentinels.
    pub fn create<E: Entity>(self, create: Create<E>) -> Self {
        self.step(Box::pin(async move { create.prepare().map(|(_, writes)| writes) }))
    }

    /// Adds a put (`users.put(user)`).
    pub fn put<E: Entity>(self, put: crate::Put<E>) -> Self {
        self.step(Box::pin(async move { put.prepare().await.map(|(_, writes)| writes) }))
    }

    /// Adds an update (`users.update(key).set(..)`).
    pub fn update<E: Entity>(self, update: crate::Update<E>) -> Self {
        self.step(Box::pin(update.prepare()))
    }

    /// Adds a removal (`users.remove(key)`).
    pub fn remove<E: Entity>(self, remove: Remove<E>) -> Self {
        self.step(Box::pin(async move { remove.prepare().await.map(|(writes, _)| writes) }))
    }

    /// Adds a check: the transaction fails unless `condition` holds on the item with
    /// `key` (which is not written).
    pub fn check<E: Entity>(self, key: Key<E>, condition: Condition<E>) -> Self {
        let table = self.table.clone();
        self.step(Box::pin(async move {
            let key = key.into_attrs()?;
            let mut conditions = Conditions::new(&table);
            conditions.user(Some(&condition))?;
            let role = Role::Item {
                entity: E::SCHEMA.name,
                operation: "check",
                key: KeyValues::of(&table, &key),
                expected: None,
                create: false,
                form: None,
            };
            Ok(vec![conditions.into_write(Op::Check(key), role)])
        }))
    }

    /// An idempotency token (1 to 36 characters) naming this logical transaction:
    /// sent again with the same token within ten minutes — by a retry of your own,
    /// after a timeout or a redelivered message — it is not applied twice; the same
    /// token with other writes is refused with [`Error::is_idempotent_mismatch`].
    /// Without one, the SDK makes a token for each `send` and reuses it on its own
    /// retries, so a transaction whose response was lost is not applied twice either.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The `TransactWriteItems` request [`Transaction::send`] would send, unsent (see
    /// [`Request`]).
    pub async fn request(self) -> Result<Request, Error> {
        let mut writes = Vec::new();
        for step in self.steps {
            writes.extend(step.await?);
        }
        Prepared::Transaction(writes).request(&self.table, self.token)
    }

    /// Sends the transaction. A failed condition reports the write that caused it
    /// (already exists, unique violation, version conflict, ...); other cancellations
    /// list a reason per action.
    ///
    /// An item a write finds in an earlier form the table knows (see
    /// [`TableBuilder::upgrade`](crate::TableBuilder::upgrade)) is upgraded, and the
    /// transaction sent again.
    pub async fn send(self) -> Result<(), Error> {
        let mut writes = Vec::new();
        for step in self.steps {
            writes.extend(step.await?);
        }
        // Removals of items with unique fields that are not there write nothing.
        if writes.is_empty() {
            return Ok(());
        }
        let table = &self.table;
        for _ in 0..TRIES {
            let Err(e) = run(table, writes.clone(), self.token.clone()).await else { return Ok(()) };
            let older = match (e.is_older_design(), e.current_item()) {
                (true, Some(item)) => item,
                _ => return Err(e),
            };
            let key = table.key_of(older);
            let schema = match e.kind() {
                ErrorKind::OlderDesign { entity, .. } => table.entity_named(entity),
                _ => None,
            };
            match schema {
                Some(schema) if crate::rewrite::upgrade(table, schema, key).await? => {}
                _ => return Err(e),
            }
        }
        run(table, writes, self.token.clone()).await
    }
}

impl IntoFuture for Transaction {
    type Output = Result<(), Error>;
    type IntoFuture = BoxFuture<'static, Self::Output>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}
