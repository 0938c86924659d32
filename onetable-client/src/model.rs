//! `Model<E>`: the typed operations on one entity — create, get, put, remove — and the
//! helpers every operation shares.

use crate::error::{existed, is_condition_failed, sdk};
use crate::table::Table;
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};
use futures_util::future::BoxFuture;
use onetable_core::expr::{Condition, Placeholders};
use onetable_core::{item_size, AttributeValue, Entity, Error, ErrorKind, Item, Key, MAX_ITEM_SIZE};
use std::future::IntoFuture;
use std::marker::PhantomData;
use tracing::Instrument;

/// The operations on entity `E` in a [`Table`]. Made by [`Table::model`]; cheap to
/// clone.
pub struct Model<E> {
    pub(crate) table: Table,
    entity: PhantomData<fn() -> E>,
}

impl<E> Clone for Model<E> {
    fn clone(&self) -> Self {
        Model { table: self.table.clone(), entity: PhantomData }
    }
}

impl<E: Entity> Model<E> {
    pub(crate) fn new(table: Table) -> Self {
        Model { table, entity: PhantomData }
    }

    /// The table.
    pub fn table(&self) -> &Table {
        &self.table
    }

    pub(crate) fn span(&self, operation: &'static str) -> tracing::Span {
        tracing::debug_span!("onetable", table = %self.table.name(), entity = E::SCHEMA.name, operation)
    }

    /// Refuses an entity the table was not built with: its keys were never checked
    /// against the others', and `create_table` did not create its indexes.
    pub(crate) fn check_registered(&self) -> Result<(), Error> {
        if self.table.is_registered(E::SCHEMA) {
            return Ok(());
        }
        Err(ErrorKind::Schema(format!(
            "entity {} is not registered with table {}: add .entity::<{}>() to its builder",
            E::SCHEMA.name,
            self.table.name(),
            E::SCHEMA.name
        ))
        .into())
    }

    /// Writes the entity's item, with `created`/`updated` when the entity has
    /// timestamps; `create` also stamps `created`.
    pub(crate) fn item_for_write(&self, entity: &E, create: bool) -> Result<Item, Error> {
        let t = &self.table.inner;
        let mut item = entity.to_item(&t.format)?;
        if E::SCHEMA.timestamps {
            let now = t.format.date(std::time::SystemTime::now());
            if create || !item.contains_key(&t.created) {
                item.insert(t.created.clone(), now.clone());
            }
            item.insert(t.updated.clone(), now);
        }
        check_size(E::SCHEMA.name, &item)?;
        Ok(item)
    }

    /// The entity from an item read back, refusing an item of another entity.
    pub(crate) fn read(&self, mut item: Item) -> Result<E, Error> {
        let type_field = self.table.format().type_field;
        match item.remove(type_field) {
            Some(AttributeValue::S(name)) if name == E::SCHEMA.name => {}
            None => {}
            other => {
                return Err(ErrorKind::WrongEntity {
                    expected: E::SCHEMA.name,
                    found: other.map(|v| v.as_s().map_or_else(|_| format!("{v:?}"), String::clone)),
                }
                .into())
            }
        }
        E::from_item(item)
    }

    /// The condition that a write applies to the item of `E` named by its key:
    /// `attribute_exists(pk)` or `attribute_not_exists(pk)`, and the caller's.
    pub(crate) fn condition(
        &self,
        exists: Option<bool>,
        user: Option<&Condition<E>>,
        p: &mut Placeholders,
    ) -> Result<Option<String>, Error> {
        let mut parts = Vec::new();
        if let Some(exists) = exists {
            let hash = p.name(&self.table.inner.hash);
            let function = if exists { "attribute_exists" } else { "attribute_not_exists" };
            parts.push(format!("{function}({hash})"));
        }
        if let Some(c) = user {
            parts.push(format!("({})", c.render(E::SCHEMA.name, self.table.format(), p)?));
        }
        Ok((!parts.is_empty()).then(|| parts.join(" AND ")))
    }

    /// Creates an item; fails with [`Error::is_already_exists`] when its key is taken.
    /// Empty `generate` fields get new ids; the returned entity has them.
    pub fn create(&self, entity: E) -> Create<'_, E> {
        Create { model: self, entity, condition: None }
    }

    /// Reads one item by its full key; `None` when there is none.
    pub fn get(&self, key: Key<E>) -> Get<'_, E> {
        Get { model: self, key, consistent: false }
    }

    /// Writes an item whether or not one exists with its key (an upsert that replaces
    /// the whole item).
    pub fn put(&self, entity: E) -> Put<'_, E> {
        Put { model: self, entity, condition: None }
    }

    /// Removes an item by its full key, returning the removed item (`None` when there
    /// was none).
    pub fn remove(&self, key: Key<E>) -> Remove<'_, E> {
        Remove { model: self, key, condition: None, must_exist: false }
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

/// The primary key attributes of a full item.
pub(crate) fn key_of(table: &Table, item: &Item) -> Item {
    let t = &table.inner;
    std::iter::once(&t.hash)
        .chain(t.sort.as_ref())
        .filter_map(|k| item.get(k).map(|v| (k.clone(), v.clone())))
        .collect()
}

macro_rules! into_future {
    ($builder:ident, $output:ty) => {
        impl<'a, E: Entity> IntoFuture for $builder<'a, E> {
            type Output = Result<$output, Error>;
            type IntoFuture = BoxFuture<'a, Self::Output>;
            fn into_future(self) -> Self::IntoFuture {
                Box::pin(self.send())
            }
        }
    };
}
pub(crate) use into_future;

/// [`Model::create`]: `.await` it, or add a condition first.
#[must_use = "await it or call .send().await"]
pub struct Create<'a, E> {
    model: &'a Model<E>,
    entity: E,
    condition: Option<Condition<E>>,
}

impl<E: Entity> Create<'_, E> {
    /// An extra condition the write needs (besides the key being free).
    pub fn condition(mut self, condition: Condition<E>) -> Self {
        self.condition = Some(condition);
        self
    }

    /// Sends the request.
    pub async fn send(self) -> Result<E, Error> {
        let model = self.model;
        let span = model.span("create");
        async move {
            model.check_registered()?;
            let mut entity = self.entity;
            entity.generate_ids();
            let item = model.item_for_write(&entity, true)?;
            let mut p = Placeholders::new();
            let condition = model.condition(Some(false), self.condition.as_ref(), &mut p)?;
            let (names, values) = p.into_maps();
            let key = key_of(&model.table, &item);
            let t = &model.table.inner;
            let result = t
                .client
                .put_item()
                .table_name(&t.name)
                .set_return_consumed_capacity(model.table.capacity_request())
                .set_item(Some(item))
                .set_condition_expression(condition)
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values)
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .send()
                .await;
            match result {
                Ok(out) => {
                    model.table.record_capacity(out.consumed_capacity());
                    Ok(entity)
                }
                Err(e) if is_condition_failed(&e) => {
                    // DynamoDB returns the existing item when the key was taken; without
                    // one, it was the caller's own condition that failed.
                    let existed = existed(&e);
                    let key = key_text(&key);
                    let entity = E::SCHEMA.name;
                    Err(if existed {
                        ErrorKind::AlreadyExists { entity, key }.into()
                    } else {
                        ErrorKind::ConditionFailed { entity, operation: "create", key }.into()
                    })
                }
                Err(e) => Err(sdk("create", &t.name, e)),
            }
        }
        .instrument(span)
        .await
    }
}
into_future!(Create, E);

/// [`Model::get`]: `.await` it, or ask for a consistent read first.
#[must_use = "await it or call .send().await"]
pub struct Get<'a, E> {
    model: &'a Model<E>,
    key: Key<E>,
    consistent: bool,
}

impl<E: Entity> Get<'_, E> {
    /// A strongly consistent read (twice the read cost; not on global indexes).
    pub fn consistent(mut self) -> Self {
        self.consistent = true;
        self
    }

    /// Sends the request.
    pub async fn send(self) -> Result<Option<E>, Error> {
        let model = self.model;
        async move {
            model.check_registered()?;
            let key = self.key.into_attrs()?;
            let t = &model.table.inner;
            let out = t
                .client
                .get_item()
                .table_name(&t.name)
                .set_return_consumed_capacity(model.table.capacity_request())
                .set_key(Some(key))
                .consistent_read(self.consistent)
                .send()
                .await
                .map_err(|e| sdk("get", &t.name, e))?;
            model.table.record_capacity(out.consumed_capacity());
            out.item.map(|item| model.read(item)).transpose()
        }
        .instrument(model.span("get"))
        .await
    }
}
into_future!(Get, Option<E>);

/// [`Model::put`]: `.await` it, or add a condition first.
#[must_use = "await it or call .send().await"]
pub struct Put<'a, E> {
    model: &'a Model<E>,
    entity: E,
    condition: Option<Condition<E>>,
}

impl<E: Entity> Put<'_, E> {
    /// A condition the write needs; fails with [`Error::is_condition_failed`].
    pub fn condition(mut self, condition: Condition<E>) -> Self {
        self.condition = Some(condition);
        self
    }

    /// Sends the request.
    pub async fn send(self) -> Result<E, Error> {
        let model = self.model;
        async move {
            model.check_registered()?;
            let mut entity = self.entity;
            entity.generate_ids();
            let item = model.item_for_write(&entity, true)?;
            let mut p = Placeholders::new();
            let condition = model.condition(None, self.condition.as_ref(), &mut p)?;
            let (names, values) = p.into_maps();
            let key = key_of(&model.table, &item);
            let t = &model.table.inner;
            let out = t
                .client
                .put_item()
                .table_name(&t.name)
                .set_return_consumed_capacity(model.table.capacity_request())
                .set_item(Some(item))
                .set_condition_expression(condition)
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values)
                .send()
                .await
                .map_err(|e| condition_or_sdk::<E, _, _>("put", &t.name, &key, e))?;
            model.table.record_capacity(out.consumed_capacity());
            Ok(entity)
        }
        .instrument(model.span("put"))
        .await
    }
}
into_future!(Put, E);

pub(crate) fn condition_or_sdk<E: Entity, Err, R>(
    operation: &'static str,
    table: &str,
    key: &Item,
    e: aws_sdk_dynamodb::error::SdkError<Err, R>,
) -> Error
where
    Err: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if is_condition_failed(&e) {
        ErrorKind::ConditionFailed { entity: E::SCHEMA.name, operation, key: key_text(key) }.into()
    } else {
        sdk(operation, table, e)
    }
}

/// [`Model::remove`]: `.await` it, or add a condition first.
#[must_use = "await it or call .send().await"]
pub struct Remove<'a, E> {
    model: &'a Model<E>,
    key: Key<E>,
    condition: Option<Condition<E>>,
    must_exist: bool,
}

impl<E: Entity> Remove<'_, E> {
    /// A condition the removal needs; fails with [`Error::is_condition_failed`].
    pub fn condition(mut self, condition: Condition<E>) -> Self {
        self.condition = Some(condition);
        self
    }

    /// Fail with [`Error::is_not_found`] when there is no such item (by default,
    /// removing a missing item succeeds and returns `None`).
    pub fn must_exist(mut self) -> Self {
        self.must_exist = true;
        self
    }

    /// Sends the request; returns the removed item.
    pub async fn send(self) -> Result<Option<E>, Error> {
        let model = self.model;
        async move {
            model.check_registered()?;
            let key = self.key.into_attrs()?;
            let mut p = Placeholders::new();
            let exists = self.must_exist.then_some(true);
            let condition = model.condition(exists, self.condition.as_ref(), &mut p)?;
            let (names, values) = p.into_maps();
            let t = &model.table.inner;
            let result = t
                .client
                .delete_item()
                .table_name(&t.name)
                .set_return_consumed_capacity(model.table.capacity_request())
                .set_key(Some(key.clone()))
                .set_condition_expression(condition)
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values)
                .return_values(ReturnValue::AllOld)
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .send()
                .await;
            match result {
                Ok(out) => {
                    model.table.record_capacity(out.consumed_capacity());
                    out.attributes.map(|item| model.read(item)).transpose()
                }
                Err(e) if is_condition_failed(&e) => {
                    let existed = existed(&e);
                    let (entity, key) = (E::SCHEMA.name, key_text(&key));
                    Err(if self.must_exist && !existed {
                        ErrorKind::NotFound { entity, key }.into()
                    } else {
                        ErrorKind::ConditionFailed { entity, operation: "remove", key }.into()
                    })
                }
                Err(e) => Err(sdk("remove", &t.name, e)),
            }
        }
        .instrument(model.span("remove"))
        .await
    }
}
into_future!(Remove, Option<E>);
