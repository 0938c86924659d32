//! Prepared writes: every write (put, update, delete, condition check) is first data
//! ([`Write`]), then sent as a single request or as one action of a transaction. The
//! model's operations, transactions, batches' checks and migrations all go through it.

use crate::error::{is_condition_failed, old_item, sdk};
use crate::table::Table;
use aws_sdk_dynamodb::operation::delete_item::builders::DeleteItemFluentBuilder;
use aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder;
use aws_sdk_dynamodb::operation::transact_write_items::{TransactWriteItemsError, TransactWriteItemsInput};
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{
    ConditionCheck, Delete, Put, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use onetable_core::{item_size, AttributeValue, Error, ErrorKind, Item, MAX_ITEM_SIZE};
use std::collections::HashMap;
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
        let Write { op, condition, names, values, .. } = self;
        let item = match op {
            Op::Put(item) => TransactWriteItem::builder().put(
                Put::builder()
                    .table_name(table)
                    .set_item(Some(item))
                    .conditioned(condition, names, values)
                    .build()
                    .map_err(build_error)?,
            ),
            Op::Update { key, expression } => TransactWriteItem::builder().update(
                Update::builder()
                    .table_name(table)
                    .set_key(Some(key))
                    .update_expression(expression)
                    .conditioned(condition, names, values)
                    .build()
                    .map_err(build_error)?,
            ),
            Op::Delete(key) => TransactWriteItem::builder().delete(
                Delete::builder()
                    .table_name(table)
                    .set_key(Some(key))
                    .conditioned(condition, names, values)
                    .build()
                    .map_err(build_error)?,
            ),
            Op::Check(key) => TransactWriteItem::builder().condition_check(
                ConditionCheck::builder()
                    .table_name(table)
                    .set_key(Some(key))
                    .conditioned(condition, names, values)
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

/// The `TransactWriteItems` request of prepared writes: what `run` sends and what
/// `.request()` shows.
fn transaction(
    table: &Table,
    writes: Vec<Write>,
    token: Option<String>,
) -> Result<aws_sdk_dynamodb::operation::transact_write_items::builders::TransactWriteItemsFluentBuilder, Error>
{
    let t = &table.inner;
    let items = writes.into_iter().map(|w| w.into_transact_item(&t.name)).collect::<Result<Vec<_>, _>>()?;
    Ok(t.client
        .transact_write_items()
        .set_transact_items(Some(items))
        .set_client_request_token(token)
        .set_return_consumed_capacity(table.capacity_request()))
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
    let op = crate::metrics::Labels::new("transaction", entity_of(&roles));
    let result = table
        .observe(op, transaction(table, writes, token)?.send())
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
    let op = crate::metrics::Labels::new("transaction", entity_of(writes.iter().map(|w| &w.role)));
    let items = writes.into_iter().map(|w| w.into_transact_item(&t.name)).collect::<Result<Vec<_>, _>>()?;
    let request = t
        .client
        .transact_write_items()
        .set_transact_items(Some(items))
        .set_return_consumed_capacity(table.capacity_request())
        .send();
    let result = table.observe(op, request).await;
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

/// The entity whose item writes are: the entity label of their metrics (empty when
/// they write several entities' items).
fn entity_of<'r>(roles: impl IntoIterator<Item = &'r Role>) -> &'static str {
    let mut entities = roles.into_iter().filter_map(|r| match r {
        Role::Item { entity, .. } => Some(*entity),
        _ => None,
    });
    let first = entities.next().unwrap_or_default();
    if entities.all(|e| e == first) {
        first
    } else {
        ""
    }
}

/// DynamoDB refuses items over 400 KB; say so before sending, naming the entity.
pub(crate) fn check_size(entity: &'static str, item: &Item) -> Result<(), Error> {
    let size = item_size(item);
    if size > MAX_ITEM_SIZE {
        return Err(ErrorKind::ItemTooLarge { entity, size, limit: MAX_ITEM_SIZE }.into());
    }
    Ok(())
}

/// A key as text for messages: `pk=ACCOUNT#a, sk=USER#b`.
pub(crate) fn key_text(key: &Item) -> String {
    let mut parts: Vec<String> = key
        .iter()
        .map(|(k, v)| match v {
            AttributeValue::S(s) | AttributeValue::N(s) => format!("{k}={s}"),
            other => format!("{k}={other:?}"),
        })
        .collect();
    parts.sort();
    parts.join(", ")
}

/// The values of an item's key, kept to name the item in an error: two values are
/// cheaper to keep than a key map, and most writes never fail.
#[derive(Debug, Clone)]
pub(crate) struct KeyValues(Option<AttributeValue>, Option<AttributeValue>);

impl KeyValues {
    pub(crate) fn of(table: &Table, item: &Item) -> KeyValues {
        let t = &table.inner;
        KeyValues(item.get(&t.hash).cloned(), t.sort.as_ref().and_then(|s| item.get(s)).cloned())
    }

    pub(crate) fn into_item(self, table: &Table) -> Item {
        let t = &table.inner;
        let mut key = Item::with_capacity(2);
        if let Some(v) = self.0 {
            key.insert(t.hash.clone(), v);
        }
        if let (Some(sort), Some(v)) = (&t.sort, self.1) {
            key.insert(sort.clone(), v);
        }
        key
    }

    pub(crate) fn text(&self, table: &Table) -> String {
        key_text(&self.clone().into_item(table))
    }
}

/// The primary key attributes of a full item.
pub(crate) fn key_of(table: &Table, item: &Item) -> Item {
    let t = &table.inner;
    std::iter::once(&t.hash)
        .chain(t.sort.as_ref())
        .filter_map(|k| item.get(k).map(|v| (k.clone(), v.clone())))
        .collect()
}

/// A write's condition, its names and values, and the item as it was when the
/// condition fails: set the same way on every request shape, single or in a
/// transaction.
trait Conditioned: Sized {
    fn conditioned(
        self,
        condition: Option<String>,
        names: Option<HashMap<String, String>>,
        values: Option<Item>,
    ) -> Self;
}

macro_rules! conditioned {
    ($($builder:ty),*) => {$(
        impl Conditioned for $builder {
            fn conditioned(
                self,
                condition: Option<String>,
                names: Option<HashMap<String, String>>,
                values: Option<Item>,
            ) -> Self {
                self.set_condition_expression(condition)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .set_return_values_on_condition_check_failure(Some(ReturnValuesOnConditionCheckFailure::AllOld))
            }
        }
    )*};
}

conditioned!(
    aws_sdk_dynamodb::types::builders::PutBuilder,
    aws_sdk_dynamodb::types::builders::UpdateBuilder,
    aws_sdk_dynamodb::types::builders::DeleteBuilder,
    aws_sdk_dynamodb::types::builders::ConditionCheckBuilder,
    aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder,
    aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder,
    aws_sdk_dynamodb::operation::delete_item::builders::DeleteItemFluentBuilder
);

/// The request prepared writes make: one write alone is a single request (an
/// operation's SDK builder), several — or a condition check — a transaction.
pub(crate) enum Prepared {
    Put(PutItemFluentBuilder, Role),
    Update(UpdateItemFluentBuilder, Role),
    Delete(DeleteItemFluentBuilder, Role),
    Transaction(Vec<Write>),
}

impl Prepared {
    pub(crate) fn of(table: &Table, mut writes: Vec<Write>) -> Prepared {
        let single = writes.len() == 1 && !matches!(writes[0].op, Op::Check(_));
        if !single {
            return Prepared::Transaction(writes);
        }
        let Write { op, condition, names, values, role } = writes.remove(0);
        let t = &table.inner;
        let capacity = table.capacity_request();
        match op {
            Op::Put(item) => Prepared::Put(
                t.client
                    .put_item()
                    .table_name(&t.name)
                    .set_return_consumed_capacity(capacity)
                    .set_item(Some(item))
                    .conditioned(condition, names, values),
                role,
            ),
            Op::Update { key, expression } => Prepared::Update(
                t.client
                    .update_item()
                    .table_name(&t.name)
                    .set_return_consumed_capacity(capacity)
                    .set_key(Some(key))
                    .update_expression(expression)
                    .conditioned(condition, names, values)
                    .return_values(ReturnValue::AllNew),
                role,
            ),
            Op::Delete(key) => Prepared::Delete(
                t.client
                    .delete_item()
                    .table_name(&t.name)
                    .set_return_consumed_capacity(capacity)
                    .set_key(Some(key))
                    .conditioned(condition, names, values)
                    .return_values(ReturnValue::AllOld),
                role,
            ),
            Op::Check(key) => {
                Prepared::Transaction(vec![Write { op: Op::Check(key), condition, names, values, role }])
            }
        }
    }

    /// The request as the SDK's input, unsent.
    pub(crate) fn request(self, table: &Table, token: Option<String>) -> Result<Request, Error> {
        let t = &table.inner;
        let built = |operation: &'static str| {
            move |e: aws_sdk_dynamodb::error::BuildError| -> Error {
                ErrorKind::Dynamo { operation, table: t.name.clone(), source: Box::new(e) }.into()
            }
        };
        Ok(match self {
            Prepared::Put(b, _) => Request::PutItem(b.as_input().clone().build().map_err(built("put"))?),
            Prepared::Update(b, _) => {
                Request::UpdateItem(b.as_input().clone().build().map_err(built("update"))?)
            }
            Prepared::Delete(b, _) => {
                Request::DeleteItem(b.as_input().clone().build().map_err(built("remove"))?)
            }
            Prepared::Transaction(writes) => Request::TransactWriteItems(
                transaction(table, writes, token)?
                    .as_input()
                    .clone()
                    .build()
                    .map_err(built("transaction"))?,
            ),
        })
    }
}

/// A request onetable would send, as aws-sdk-dynamodb's input type, without sending
/// it (OneTable's `execute: false`, ElectroDB's `.params()`): to log, to inspect in a
/// test, or to send with code onetable has no operation for. Made by `.request()` on
/// each operation's builder.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Request {
    /// `GetItem`.
    GetItem(aws_sdk_dynamodb::operation::get_item::GetItemInput),
    /// `Query` (the first page).
    Query(aws_sdk_dynamodb::operation::query::QueryInput),
    /// `PutItem`.
    PutItem(aws_sdk_dynamodb::operation::put_item::PutItemInput),
    /// `UpdateItem`.
    UpdateItem(aws_sdk_dynamodb::operation::update_item::UpdateItemInput),
    /// `DeleteItem`.
    DeleteItem(aws_sdk_dynamodb::operation::delete_item::DeleteItemInput),
    /// `TransactWriteItems`: a write with unique sentinels, or a transaction.
    TransactWriteItems(TransactWriteItemsInput),
}

/// Sends prepared writes: one write as a single request, several as a transaction.
/// Returns the attributes DynamoDB sent back (the new item of an update, the old item
/// of a removal) for a single request.
pub(crate) async fn execute(table: &Table, writes: Vec<Write>) -> Result<Option<Item>, Error> {
    table.check_writable("a write")?;
    let t = &table.inner;
    macro_rules! finish {
        ($result:expr, $role:expr, $operation:literal) => {
            match $result {
                Ok(out) => {
                    table.record_capacity(out.consumed_capacity());
                    Ok(out.attributes)
                }
                Err(e) if is_condition_failed(&e) => {
                    Err(condition_error(table, &$role, old_item(&e).as_ref()))
                }
                Err(e) => Err(sdk($operation, &t.name, e)),
            }
        };
    }
    // The metrics of a single write: its operation, entity and partition.
    let op = |role: &Role, operation: &'static str| {
        let (operation, entity, partition) = match role {
            Role::Item { entity, operation, key, .. } => {
                (*operation, *entity, key.0.as_ref().and_then(|v| v.as_s().ok()))
            }
            _ => (operation, "", None),
        };
        crate::metrics::Labels::new(operation, entity).partition(table.partition_text(|| partition.cloned()))
    };
    match Prepared::of(table, writes) {
        Prepared::Put(b, role) => finish!(table.observe(op(&role, "put"), b.send()).await, role, "put"),
        Prepared::Update(b, role) => {
            finish!(table.observe(op(&role, "update"), b.send()).await, role, "update")
        }
        Prepared::Delete(b, role) => {
            finish!(table.observe(op(&role, "remove"), b.send()).await, role, "remove")
        }
        Prepared::Transaction(writes) => run(table, writes, None).await.map(|()| None),
    }
}
