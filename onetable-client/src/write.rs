//! Prepared writes: every write (put, update, delete, condition check) is first data
//! ([`Write`]), then sent as a single request or as one action of a transaction. The
//! model's operations, transactions, batches' checks and the migration engine's
//! rewrites and bookkeeping all go through it, and it sends through the table's one
//! request layer (`send`).

use crate::keys::KeyValues;
use crate::send::{Call, Captured, Failure, Member, Reason, Refusal};
use crate::table::forms::Form;
use crate::table::Table;
use aws_sdk_dynamodb::operation::delete_item::builders::DeleteItemFluentBuilder;
use aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder;
use aws_sdk_dynamodb::operation::transact_write_items::builders::TransactWriteItemsFluentBuilder;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{
    ConditionCheck, Delete, Put, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use onetable_core::expr::Placeholders;
use onetable_core::{Error, ErrorKind, FailedAction, Item};
use std::collections::HashMap;

/// The most actions DynamoDB takes in one transaction.
pub const MAX_ACTIONS: usize = 100;

/// What a write does to its item.
#[derive(Debug, Clone)]
pub(crate) enum Op {
    Put(Item),
    Update { key: Item, expression: String },
    Delete(Item),
    Check(Item),
}

/// What a write is for, to turn a failed condition into the right typed error.
#[derive(Debug, Clone)]
pub(crate) enum Role {
    /// The entity's own item.
    Item {
        entity: &'static str,
        operation: &'static str,
        /// The item's key, formatted only for an error message.
        key: KeyValues,
        /// The attribute and expected value of an optimistic-locking version.
        expected: Option<(&'static str, String)>,
        /// `create`: a failure on an existing item means the key is taken.
        create: bool,
        /// When the write's condition checks the item's form: the design this code
        /// writes for the entity (`Some(None)`: its first, unmarked design).
        form: Option<Option<&'static str>>,
    },
    /// A unique-field sentinel being claimed.
    Unique { entity: &'static str, field: &'static str, value: String },
    /// A sentinel being released: unconditional.
    Release,
    /// A write whose caller reads its refusals itself (the migration engine's).
    Raw { entity: &'static str },
}

impl Role {
    /// The entity whose item it writes (empty for a sentinel release).
    fn entity(&self) -> &'static str {
        match self {
            Role::Item { entity, .. } | Role::Unique { entity, .. } | Role::Raw { entity } => entity,
            Role::Release => "",
        }
    }
}

/// One prepared write: what it does, the condition it needs (with the names and
/// values of its expressions) and what it is for.
#[derive(Debug, Clone)]
pub struct Write {
    pub(crate) op: Op,
    pub(crate) condition: Option<String>,
    pub(crate) names: Option<HashMap<String, String>>,
    pub(crate) values: Option<Item>,
    pub(crate) role: Role,
    /// What a single request returns (`None`: what the operation returns by default:
    /// the new item of an update and the old item of a removal for the model's
    /// writes, nothing for raw ones).
    pub(crate) returns: Option<ReturnValue>,
}

impl Write {
    fn new(op: Op, entity: &'static str) -> Write {
        Write { op, condition: None, names: None, values: None, role: Role::Raw { entity }, returns: None }
    }

    /// Puts `item` (of `entity`, for metrics and errors), replacing any item with its key.
    pub fn put(entity: &'static str, item: Item) -> Write {
        Write::new(Op::Put(item), entity)
    }

    /// Updates the item with `key` by `expression` (`SET …`, `REMOVE …`, with the
    /// placeholders given by [`Write::placeholders`]).
    pub fn update(entity: &'static str, key: Item, expression: impl Into<String>) -> Write {
        Write::new(Op::Update { key, expression: expression.into() }, entity)
    }

    /// Deletes the item with `key`.
    pub fn delete(entity: &'static str, key: Item) -> Write {
        Write::new(Op::Delete(key), entity)
    }

    /// Checks the condition on the item with `key`, writing nothing (in a transaction).
    pub fn check(entity: &'static str, key: Item) -> Write {
        Write::new(Op::Check(key), entity)
    }

    /// The condition the write needs (its names and values given by
    /// [`Write::placeholders`]).
    pub fn condition(mut self, condition: impl Into<String>) -> Write {
        self.condition = Some(condition.into());
        self
    }

    /// What the request returns when it is sent alone: the item as it was
    /// ([`ReturnValue::AllOld`]) or as it is after the write ([`ReturnValue::AllNew`]).
    pub fn returning(mut self, returns: ReturnValue) -> Write {
        self.returns = Some(returns);
        self
    }

    /// The names and values of the write's expressions.
    pub fn placeholders(mut self, placeholders: Placeholders) -> Write {
        let (names, values) = placeholders.into_maps();
        self.names = names;
        self.values = values;
        self
    }

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
/// found, if any (kept with the error: [`Error::current_item`]).
/// True when DynamoDB refused an item's write on its condition (nothing written), as
/// opposed to a failure after which the write may have landed.
pub(crate) fn refused_on_condition(e: &Error) -> bool {
    e.is_condition_failed() || e.is_not_found() || e.is_version_conflict()
}

pub(crate) fn condition_error(table: &Table, role: &Role, old: Option<&Item>) -> Error {
    typed_condition_error(table, role, old).with_current_item(old.cloned())
}

fn typed_condition_error(table: &Table, role: &Role, old: Option<&Item>) -> Error {
    match role {
        Role::Unique { entity, field, value } => {
            ErrorKind::UniqueViolation { entity, field, value: value.clone() }.into()
        }
        Role::Item { entity, operation, key, expected, create, form } => {
            let key = key.text(table);
            if let (Some(old), Some(design)) = (old, form) {
                match crate::table::forms::compare(*design, crate::table::forms::marker(old)) {
                    Form::Newer(item_design) => {
                        let code_design = design.map(str::to_owned);
                        return ErrorKind::NewerDesign { entity, key, item_design, code_design }.into();
                    }
                    Form::Older(item_design) => {
                        let code_design = design.unwrap_or_default().to_owned();
                        return ErrorKind::OlderDesign { entity, key, item_design, code_design }.into();
                    }
                    Form::Current => {}
                }
            }
            match (old, expected) {
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
        Role::Raw { entity } => ErrorKind::ConditionFailed {
            entity,
            operation: "write",
            key: old.map(|o| crate::keys::describe(&table.key_of(o))).unwrap_or_default(),
        }
        .into(),
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
) -> Result<TransactWriteItemsFluentBuilder, Error> {
    if writes.len() > MAX_ACTIONS {
        return Err(ErrorKind::TooManyActions { actions: writes.len(), limit: MAX_ACTIONS }.into());
    }
    let items =
        writes.into_iter().map(|w| w.into_transact_item(table.name())).collect::<Result<Vec<_>, _>>()?;
    Ok(table.client().transact_write_items().set_transact_items(Some(items)).set_client_request_token(token))
}

/// What a transaction came to: written, or cancelled with a reason per action.
pub(crate) enum Transacted {
    /// Every action was applied; the write units they consumed.
    Done(f64),
    /// Nothing was applied.
    Cancelled(Vec<Reason>),
}

/// Sends prepared writes as one transaction; a cancellation is returned as it is.
pub(crate) async fn transact(
    table: &Table,
    call: &Call,
    writes: Vec<Write>,
    token: Option<String>,
) -> Result<Transacted, Error> {
    match table.send(call, transaction(table, writes, token)?).await {
        Ok(out) => Ok(Transacted::Done(crate::send::Outcome::units(&out))),
        Err(Failure::Refused(Refusal::Cancelled(reasons))) => Ok(Transacted::Cancelled(reasons)),
        Err(failure) => Err(failure.into_error(call.entity(), call.operation())),
    }
}

/// Runs prepared writes as one transaction, turning a cancellation into the typed
/// error of the write that caused it.
pub(crate) async fn run(table: &Table, writes: Vec<Write>, token: Option<String>) -> Result<(), Error> {
    let roles: Vec<Role> = writes.iter().map(|w| w.role.clone()).collect();
    let call = Call::new("transaction", entity_of(&roles));
    match transact(table, &call, writes, token).await? {
        Transacted::Done(_) => Ok(()),
        Transacted::Cancelled(reasons) => {
            // The first failed condition names the cause precisely; every failed
            // action comes with the item it was evaluated on.
            let failed = failed_actions(table, &reasons, &roles);
            if let Some(first) = failed.first() {
                let (reason, role) = (&reasons[first.index], &roles[first.index]);
                return Err(condition_error(table, role, reason.item.as_ref()).with_failed_actions(failed));
            }
            Err(ErrorKind::TransactionCanceled { reasons: reasons.iter().map(Reason::describe).collect() }
                .into())
        }
    }
}

/// The actions of a cancelled transaction whose condition failed, each with its
/// entity (none for a sentinel), its key and the item DynamoDB returned.
fn failed_actions(table: &Table, reasons: &[Reason], roles: &[Role]) -> Vec<FailedAction> {
    reasons
        .iter()
        .zip(roles)
        .enumerate()
        .filter(|(_, (reason, _))| reason.is_condition_failed())
        .map(|(index, (reason, role))| {
            let returned = || reason.item.as_ref().map(|i| crate::keys::describe(&table.key_of(i)));
            let (entity, key) = match role {
                Role::Item { entity, key, .. } => (Some(*entity), key.text(table)),
                Role::Raw { entity } => (Some(*entity), returned().unwrap_or_default()),
                Role::Unique { .. } | Role::Release => (None, returned().unwrap_or_default()),
            };
            FailedAction::new(index, entity, key, reason.item.clone())
        })
        .collect()
}

/// The entity whose item writes are: the entity label of their metrics (empty when
/// they write several entities' items).
fn entity_of<'r>(roles: impl IntoIterator<Item = &'r Role>) -> &'static str {
    let mut entities = roles.into_iter().filter(|r| !matches!(r, Role::Release | Role::Unique { .. }));
    let first = entities.next().map(Role::entity).unwrap_or_default();
    if entities.all(|e| e.entity() == first) {
        first
    } else {
        ""
    }
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
    PutItemFluentBuilder,
    UpdateItemFluentBuilder,
    DeleteItemFluentBuilder
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
        let Write { op, condition, names, values, role, returns } = writes.remove(0);
        let raw = matches!(role, Role::Raw { .. });
        let returns = |default: ReturnValue| returns.or((!raw).then_some(default));
        // Updates and deletes return an item, which the reader client can keep as it
        // arrived (see `crate::capture`: only when the caller asks).
        let (client, reader) = (table.client(), table.reader());
        match op {
            Op::Put(item) => Prepared::Put(
                client
                    .put_item()
                    .table_name(table.name())
                    .set_item(Some(item))
                    .conditioned(condition, names, values)
                    .set_return_values(returns(ReturnValue::None)),
                role,
            ),
            Op::Update { key, expression } => Prepared::Update(
                reader
                    .update_item()
                    .table_name(table.name())
                    .set_key(Some(key))
                    .update_expression(expression)
                    .conditioned(condition, names, values)
                    .set_return_values(returns(ReturnValue::AllNew)),
                role,
            ),
            Op::Delete(key) => Prepared::Delete(
                reader
                    .delete_item()
                    .table_name(table.name())
                    .set_key(Some(key))
                    .conditioned(condition, names, values)
                    .set_return_values(returns(ReturnValue::AllOld)),
                role,
            ),
            Op::Check(key) => Prepared::Transaction(vec![Write {
                op: Op::Check(key),
                condition,
                names,
                values,
                role,
                returns: None,
            }]),
        }
    }

    /// The request as the SDK's input, unsent.
    pub(crate) fn request(self, table: &Table, token: Option<String>) -> Result<Request, Error> {
        let built = |operation: &'static str| {
            move |e: aws_sdk_dynamodb::error::BuildError| -> Error {
                ErrorKind::Dynamo { operation, table: table.name().to_owned(), source: Box::new(e) }.into()
            }
        };
        let capacity =
            table.wants_capacity().then_some(aws_sdk_dynamodb::types::ReturnConsumedCapacity::Total);
        Ok(match self {
            Prepared::Put(b, _) => Request::PutItem(
                b.set_return_consumed_capacity(capacity).as_input().clone().build().map_err(built("put"))?,
            ),
            Prepared::Update(b, _) => Request::UpdateItem(
                b.set_return_consumed_capacity(capacity)
                    .as_input()
                    .clone()
                    .build()
                    .map_err(built("update"))?,
            ),
            Prepared::Delete(b, _) => Request::DeleteItem(
                b.set_return_consumed_capacity(capacity)
                    .as_input()
                    .clone()
                    .build()
                    .map_err(built("remove"))?,
            ),
            Prepared::Transaction(writes) => Request::TransactWriteItems(
                transaction(table, writes, token)?
                    .set_return_consumed_capacity(capacity)
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

/// The metrics of a single write: its operation, entity and partition.
fn single_call(table: &Table, role: &Role, operation: &'static str) -> Call {
    match role {
        Role::Item { entity, operation, key, .. } => {
            Call::new(operation, entity).partition(table.partition_text(|| key.partition().cloned()))
        }
        other => Call::new(operation, other.entity()),
    }
}

/// The attributes a single update or delete sent back (the new item of an update, the
/// old item of a removal): as the SDK read them, or the response body kept for the
/// library to decode (see `crate::capture`).
pub(crate) enum Returned {
    Item(Item),
    Json(Captured),
}

/// Sends prepared writes: one write as a single request, several as a transaction.
/// Returns the attributes DynamoDB sent back for a single update or delete: kept as
/// they arrived when `direct` (the caller reads them with
/// [`Model::read_returned`](crate::Model)), else as the SDK read them.
pub(crate) async fn execute(
    table: &Table,
    writes: Vec<Write>,
    direct: bool,
) -> Result<Option<Returned>, Error> {
    let refused = |role: &Role, failure: Failure, call: &Call| match failure {
        Failure::Refused(Refusal::Condition(old)) => condition_error(table, role, old.as_ref()),
        other => other.into_error(call.entity(), call.operation()),
    };
    // The kept body when there is one (the SDK was then handed the item emptied).
    let returned = |attributes: Option<Item>, kept: Option<Captured>| {
        kept.map(Returned::Json).or(attributes.map(Returned::Item))
    };
    let attributes = Member::Top("Attributes");
    match Prepared::of(table, writes) {
        Prepared::Put(b, role) => {
            let call = single_call(table, &role, "put");
            table.send(&call, b).await.map(|_| None).map_err(|f| refused(&role, f, &call))
        }
        Prepared::Update(b, role) => {
            let call = single_call(table, &role, "update");
            let sent = table.send_read(&call, b, attributes, direct).await;
            sent.map(|(out, kept)| returned(out.attributes, kept)).map_err(|f| refused(&role, f, &call))
        }
        Prepared::Delete(b, role) => {
            let call = single_call(table, &role, "remove");
            let sent = table.send_read(&call, b, attributes, direct).await;
            sent.map(|(out, kept)| returned(out.attributes, kept)).map_err(|f| refused(&role, f, &call))
        }
        Prepared::Transaction(writes) => run(table, writes, None).await.map(|()| None),
    }
}
