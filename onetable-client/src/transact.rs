//! Transactions: up to 100 writes that all happen or none do.
//!
//! Every write is first prepared as data ([`Write`]), which is how the model's own
//! operations add unique-field sentinels to an item's write, and how
//! [`Table::transaction`] combines writes of several entities.

use crate::error::sdk;
use crate::model::{Create, KeyValues, Remove};
use crate::table::Table;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    ConditionCheck, Delete, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use futures_util::future::BoxFuture;
use onetable_core::expr::{Condition, Placeholders};
use onetable_core::{AttributeValue, Entity, Error, ErrorKind, Item, Key};
use std::collections::HashMap;
use std::future::IntoFuture;
use tracing::Instrument;

/// The most actions DynamoDB takes in one transaction.
pub const MAX_ACTIONS: usize = 100;

#[derive(Clone)]
pub(crate) enum Op {
    Put(Item),
    Update { key: Item, expression: String },
    Delete(Item),
    Check(Item),
}

/// What a write is for, to turn a failed condition into the right typed error.
#[derive(Clone)]
pub(crate) enum Role {
    /// The entity's own item.
    Item {
        entity: &'static str,
        operation: &'static str,
        /// The item's key, formatted only for an error message.
        key: KeyValues,
        /// The attribute and expected value of an optimistic-locking version.
        version: Option<(&'static str, String)>,
        /// `create`: a failure on an existing item means the key is taken.
        create: bool,
    },
    /// A unique-field sentinel being claimed.
    Unique { entity: &'static str, field: &'static str, value: String },
    /// A sentinel being released: unconditional.
    Release,
}

/// One prepared write.
#[derive(Clone)]
pub(crate) struct Write {
    pub op: Op,
    pub condition: Option<String>,
    pub names: Option<HashMap<String, String>>,
    pub values: Option<Item>,
    pub role: Role,
}

impl Write {
    fn into_transact_item(self, table: &str) -> Result<TransactWriteItem, Error> {
        let build_error = |e: aws_sdk_dynamodb::error::BuildError| -> Error {
            ErrorKind::Dynamo { operation: "transaction", table: table.to_owned(), source: Box::new(e) }
                .into()
        };
        let old = Some(ReturnValuesOnConditionCheckFailure::AllOld);
        let item = match self.op {
            Op::Put(item) => TransactWriteItem::builder().put(
                Put::builder()
                    .table_name(table)
                    .set_item(Some(item))
                    .set_condition_expression(self.condition)
                    .set_expression_attribute_names(self.names)
                    .set_expression_attribute_values(self.values)
                    .set_return_values_on_condition_check_failure(old)
                    .build()
                    .map_err(build_error)?,
            ),
            Op::Update { key, expression } => TransactWriteItem::builder().update(
                Update::builder()
                    .table_name(table)
                    .set_key(Some(key))
                    .update_expression(expression)
                    .set_condition_expression(self.condition)
                    .set_expression_attribute_names(self.names)
                    .set_expression_attribute_values(self.values)
                    .set_return_values_on_condition_check_failure(old)
                    .build()
                    .map_err(build_error)?,
            ),
            Op::Delete(key) => TransactWriteItem::builder().delete(
                Delete::builder()
                    .table_name(table)
                    .set_key(Some(key))
                    .set_condition_expression(self.condition)
                    .set_expression_attribute_names(self.names)
                    .set_expression_attribute_values(self.values)
                    .set_return_values_on_condition_check_failure(old)
                    .build()
                    .map_err(build_error)?,
            ),
            Op::Check(key) => TransactWriteItem::builder().condition_check(
                ConditionCheck::builder()
                    .table_name(table)
                    .set_key(Some(key))
                    .set_condition_expression(self.condition)
                    .set_expression_attribute_names(self.names)
                    .set_expression_attribute_values(self.values)
                    .set_return_values_on_condition_check_failure(old)
                    .build()
                    .map_err(build_error)?,
            ),
        };
        Ok(item.build())
    }
}

/// The typed error for a write whose condition failed; `old` is the item DynamoDB
/// found, if any.
pub(crate) fn condition_error(table: &Table, role: &Role, old: Option<&Item>) -> Error {
    match role {
        Role::Unique { entity, field, value } => {
            ErrorKind::UniqueViolation { entity, field, value: value.clone() }.into()
        }
        Role::Item { entity, operation, key, version, create } => {
            let key = key.text(table);
            match (old, version) {
                (Some(_), _) if *create => ErrorKind::AlreadyExists { entity, key }.into(),
                (Some(old), Some((attribute, expected))) => {
                    let found = old.get(*attribute).and_then(|v| v.as_n().ok()).cloned();
                    if found.as_deref() != Some(expected.as_str()) {
                        return ErrorKind::VersionConflict { entity, key, expected: expected.clone(), found }
                            .into();
                    }
                    ErrorKind::ConditionFailed { entity, operation, key }.into()
                }
                (None, Some((_, expected))) if expected != "0" => {
                    ErrorKind::VersionConflict { entity, key, expected: expected.clone(), found: None }.into()
                }
                (None, _) if !*create && *operation != "put" => ErrorKind::NotFound { entity, key }.into(),
                _ => ErrorKind::ConditionFailed { entity, operation, key }.into(),
            }
        }
        Role::Release => ErrorKind::Unexpected {
            operation: "transaction",
            table: table.name().to_owned(),
            message:
                "a unique sentinel to release was not there (written by another client, or removed by hand)"
                    .into(),
        }
        .into(),
    }
}

/// Runs prepared writes as one transaction, turning a cancellation into the typed
/// error of the write that caused it.
pub(crate) async fn run(table: &Table, writes: Vec<Write>, token: Option<String>) -> Result<(), Error> {
    table.check_writable("a transaction")?;
    let t = &table.inner;
    if writes.len() > MAX_ACTIONS {
        return Err(ErrorKind::TooManyActions { actions: writes.len(), limit: MAX_ACTIONS }.into());
    }
    let roles: Vec<Role> = writes.iter().map(|w| w.role.clone()).collect();
    let items = writes.into_iter().map(|w| w.into_transact_item(&t.name)).collect::<Result<Vec<_>, _>>()?;
    let result = t
        .client
        .transact_write_items()
        .set_transact_items(Some(items))
        .set_client_request_token(token)
        .set_return_consumed_capacity(table.capacity_request())
        .send()
        .instrument(tracing::debug_span!("onetable", table = %t.name, operation = "transaction", actions = roles.len()))
        .await;
    match result {
        Ok(out) => {
            for c in out.consumed_capacity() {
                table.record_capacity(Some(c));
            }
            Ok(())
        }
        Err(e) => {
            if let Some(TransactWriteItemsError::TransactionCanceledException(cancel)) = e.as_service_error()
            {
                let reasons = cancel.cancellation_reasons();
                // The first failed condition names the cause precisely.
                for (reason, role) in reasons.iter().zip(&roles) {
                    if reason.code() == Some("ConditionalCheckFailed") {
                        return Err(condition_error(table, role, reason.item.as_ref()));
                    }
                }
                let reasons = reasons
                    .iter()
                    .map(|r| match r.code() {
                        None | Some("None") => None,
                        Some(code) => Some(format!("{code}: {}", r.message().unwrap_or_default())),
                    })
                    .collect();
                return Err(ErrorKind::TransactionCanceled { reasons }.into());
            }
            Err(sdk("transaction", &t.name, e))
        }
    }
}

/// Runs writes as one transaction. When it is cancelled only because some conditions
/// failed, returns the positions of those writes (`Ok(Err(..))`), so the caller can
/// drop them and try again; any other failure is an error.
pub(crate) async fn run_or_conflicts(
    table: &Table,
    writes: Vec<Write>,
) -> Result<Result<(), Vec<usize>>, Error> {
    table.check_writable("a transaction")?;
    let t = &table.inner;
    let items = writes.into_iter().map(|w| w.into_transact_item(&t.name)).collect::<Result<Vec<_>, _>>()?;
    let result = t.client.transact_write_items().set_transact_items(Some(items)).send().await;
    match result {
        Ok(_) => Ok(Ok(())),
        Err(e) => {
            if let Some(TransactWriteItemsError::TransactionCanceledException(cancel)) = e.as_service_error()
            {
                let reasons = cancel.cancellation_reasons();
                let failed: Vec<usize> = reasons
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.code() == Some("ConditionalCheckFailed"))
                    .map(|(i, _)| i)
                    .collect();
                let only_conditions = reasons
                    .iter()
                    .all(|r| matches!(r.code(), None | Some("None" | "ConditionalCheckFailed")));
                if !failed.is_empty() && only_conditions {
                    return Ok(Err(failed));
                }
            }
            Err(sdk("transaction", &t.name, e))
        }
    }
}

/// A unique field's sentinel key, as OneTable writes it:
/// `_unique#<Entity>#<attribute>#<value>` (`<map>,<attribute>` for a packed field).
pub(crate) fn sentinel_key(
    table: &Table,
    entity: &str,
    field: &onetable_core::FieldSchema,
    value: &str,
) -> Item {
    let t = &table.inner;
    let attribute = match field.map {
        Some(map) => format!("{map},{}", field.attribute),
        None => field.attribute.to_owned(),
    };
    let mut key = Item::new();
    key.insert(t.hash.clone(), AttributeValue::S(format!("_unique#{entity}#{attribute}#{value}")));
    if let Some(sort) = &t.sort {
        key.insert(sort.clone(), AttributeValue::S("_unique#".into()));
    }
    key
}

/// Claims a sentinel: fails if another item holds the value.
pub(crate) fn claim(
    table: &Table,
    entity: &'static str,
    field: &'static onetable_core::FieldSchema,
    value: String,
) -> Write {
    let t = &table.inner;
    let mut item = sentinel_key(table, entity, field, &value);
    item.insert(t.format.type_field.to_owned(), AttributeValue::S("_Unique".into()));
    let names = HashMap::from([("#h".to_owned(), t.hash.clone())]);
    Write {
        op: Op::Put(item),
        condition: Some("attribute_not_exists(#h)".into()),
        names: Some(names),
        values: None,
        role: Role::Unique { entity, field: field.name, value },
    }
}

/// Releases a sentinel.
pub(crate) fn release(table: &Table, entity: &str, field: &onetable_core::FieldSchema, value: &str) -> Write {
    Write {
        op: Op::Delete(sentinel_key(table, entity, field, value)),
        condition: None,
        names: None,
        values: None,
        role: Role::Release,
    }
}

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
        let format = self.table.format().clone();
        let table = self.table.clone();
        self.step(Box::pin(async move {
            let key = key.into_attrs()?;
            let mut p = Placeholders::new();
            let condition = condition.render(E::SCHEMA.name, &format, &mut p)?;
            let (names, values) = p.into_maps();
            let role = Role::Item {
                entity: E::SCHEMA.name,
                operation: "check",
                key: KeyValues::of(&table, &key),
                version: None,
                create: false,
            };
            Ok(vec![Write { op: Op::Check(key), condition: Some(condition), names, values, role }])
        }))
    }

    /// An idempotency token: a retried transaction with the same token within ten
    /// minutes is not applied twice.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Sends the transaction. A failed condition reports the write that caused it
    /// (already exists, unique violation, version conflict, ...); other cancellations
    /// list a reason per action.
    pub async fn send(self) -> Result<(), Error> {
        let mut writes = Vec::new();
        for step in self.steps {
            writes.extend(step.await?);
        }
        run(&self.table, writes, self.token).await
    }
}

impl IntoFuture for Transaction {
    type Output = Result<(), Error>;
    type IntoFuture = BoxFuture<'static, Self::Output>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}
