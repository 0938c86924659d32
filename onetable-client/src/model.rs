//! `Model<E>`: the typed operations on one entity — create, get, put, remove — and the
//! helpers every operation shares.

use crate::conditions::{version_field, Conditions};
use crate::fetched::Raw;
use crate::keys::{check_size, describe, KeyValues};
use crate::send::{Call, Member};
use crate::table::Table;
use crate::unique::{has_unique, sentinel_changes, stored_unique_values, unique_values};
use crate::write::{execute, Op, Prepared, Request, Returned, Role, Write};
use futures_util::future::BoxFuture;
use onetable_core::expr::Condition;
use onetable_core::expr::Placeholders;
use onetable_core::{
    AttributeValue, Entity, Error, ErrorKind, FailedAction, Item, Key, Projection, Timestamps,
};
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

impl Table {
    /// The typed operations on entity `E`.
    pub fn model<E: Entity>(&self) -> Model<E> {
        Model::new(self.clone())
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
        Err(ErrorKind::NotRegistered { entity: E::SCHEMA.name, table: self.table.name().to_owned() }.into())
    }

    /// Writes the entity's item, with the `created`/`updated` its timestamps call for.
    /// `create` stamps `created` anew; a put keeps the `created` the entity carries
    /// (read back into a field of that name) and stamps it only when absent. `check`:
    /// the values are checked against their fields' rules first.
    pub(crate) fn item_for_write(&self, entity: &E, create: bool, check: bool) -> Result<Item, Error> {
        Self::stamped(&self.table, entity.to_item(self.table.format())?, create, check)
    }

    /// [`Model::item_for_write`] moving the entity's values into the item, for writes
    /// that do not hand the entity back (batches, migrations); no model needed.
    pub(crate) fn item_from(table: &Table, entity: E, create: bool, check: bool) -> Result<Item, Error> {
        Self::stamped(table, entity.into_item(table.format())?, create, check)
    }

    fn stamped(table: &Table, mut item: Item, create: bool, check: bool) -> Result<Item, Error> {
        // Clear text is what the rules are written for: checked before encryption.
        // `to_item` and data migrations (which rewrite what is stored, valid or not)
        // convert without checking; the application's writes check.
        if check {
            crate::rules::check_item(E::SCHEMA, &item)?;
        }
        // Always, as DynamoDB would refuse the write: a typed error names the field.
        E::SCHEMA.check_index_values(&item)?;
        table.encrypt_fields(E::SCHEMA, &mut item)?;
        let timestamps = table.timestamps_of(E::SCHEMA);
        if timestamps != Timestamps::Off {
            let now = table.format().date(std::time::SystemTime::now());
            let (created, updated) = table.timestamp_attributes();
            if timestamps.created() && (create || !item.contains_key(created)) {
                item.insert(created.to_owned(), now.clone());
            }
            if timestamps.updated() {
                item.insert(updated.to_owned(), now);
            }
        }
        if let Some(design) = E::SCHEMA.design {
            item.insert(crate::table::DESIGN_ATTRIBUTE.to_owned(), AttributeValue::S(design.to_owned()));
        }
        check_size(E::SCHEMA.name, &item)?;
        Ok(item)
    }

    /// The entity from an item read back, refusing an item of another entity.
    pub(crate) fn read(&self, item: Item) -> Result<E, Error> {
        self.read_as(item)
    }

    /// [`Model::read`] into a projection of the entity (or the entity itself).
    pub(crate) fn read_as<P: Projection<Entity = E>>(&self, item: Item) -> Result<P, Error> {
        // An item of an earlier form the table knows reads in the current one.
        let mut item = self.table.current_form(E::SCHEMA, item)?;
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
        self.table.decrypt_fields(E::SCHEMA, &mut item)?;
        P::from_item(item)
    }

    /// [`Model::read`] of the item an update or delete sent back.
    pub(crate) fn read_returned(&self, returned: Returned) -> Result<E, Error> {
        match returned {
            Returned::Item(item) => self.read(item),
            Returned::Json(kept) => self.table.read_json(kept.value(), |raw| self.read_raw(raw)),
        }
    }

    /// [`Model::read_as`] of an item as it came: read straight from its JSON when the
    /// projection can be, else through its map (the general path).
    pub(crate) fn read_raw<P: Projection<Entity = E>>(&self, raw: Raw<'_, '_>) -> Result<P, Error> {
        match raw {
            Raw::Item(item) => self.read_as(item),
            Raw::Json(mut json) => match json.decode::<P>(self.table.format().type_field) {
                Some(value) => Ok(value),
                None => self.read_as(json.into_item(&self.table)?),
            },
        }
    }

    /// The item this table writes for `entity` (as a put would): keys composed, type
    /// attribute, timestamps, design marker, computed and encrypted fields — to send
    /// with the SDK where onetable has no operation, or to compare with a stored item.
    /// A conversion, not a write: validation rules are not checked.
    pub fn to_item(&self, entity: &E) -> Result<Item, Error> {
        self.item_for_write(entity, false, false)
    }

    /// The item this table writes for a new `entity` (as `create` writes it: its
    /// `created` timestamp is now), taking the entity's values.
    pub fn to_new_item(&self, entity: E) -> Result<Item, Error> {
        Self::item_from(&self.table, entity, true, false)
    }

    /// An item as DynamoDB holds it (from the SDK, a stream record, another tool) read
    /// as the entity: its type attribute checked, encrypted fields decrypted.
    pub fn from_item(&self, item: Item) -> Result<E, Error> {
        self.read(item)
    }

    /// The item of this entity that made a write fail, read as the entity
    /// (DynamoDB returns it with `ReturnValuesOnConditionCheckFailure`, which every
    /// conditional write asks for): for a refused create, put, update or removal, the
    /// item its condition was evaluated on; for a cancelled transaction, the item of
    /// its first failed action on this entity. `Ok(None)` when there was no item (a
    /// write that expected one), or the error carries no item of this entity (another
    /// kind of error, a unique-field sentinel). Each failed action of a transaction:
    /// [`Error::failed_actions`] and [`Model::current_of`].
    ///
    /// ```no_run
    /// # use onetable_client::Model;
    /// # async fn demo<User>(users: Model<User>, user: User) -> Result<(), onetable_core::Error>
    /// # where User: onetable_core::Entity + std::fmt::Debug {
    /// match users.put(user).await {
    ///     Err(e) if e.is_version_conflict() => {
    ///         let stored: Option<User> = users.current(&e)?;
    ///         println!("another writer left {stored:?}");
    ///     }
    ///     other => {
    ///         other?;
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn current(&self, err: &Error) -> Result<Option<E>, Error> {
        if !err.failed_actions().is_empty() {
            let action = err.failed_actions().iter().find(|a| a.entity == Some(E::SCHEMA.name));
            return action.map_or(Ok(None), |a| self.current_of(a));
        }
        err.current_item().map_or(Ok(None), |item| self.read_own(item))
    }

    /// The item a failed action of a cancelled transaction was evaluated on, read as
    /// the entity; `Ok(None)` when there was none or the action is not on an item of
    /// this entity.
    pub fn current_of(&self, action: &FailedAction) -> Result<Option<E>, Error> {
        match (&action.item, action.entity == Some(E::SCHEMA.name)) {
            (Some(item), true) => self.read_own(item),
            _ => Ok(None),
        }
    }

    /// `item` read as the entity, or `None` when it is another entity's (a sentinel).
    fn read_own(&self, item: &Item) -> Result<Option<E>, Error> {
        match item.get(self.table.format().type_field) {
            Some(AttributeValue::S(name)) if name != E::SCHEMA.name => Ok(None),
            _ => self.read(item.clone()).map(Some),
        }
    }

    /// Creates an item; fails with [`Error::is_already_exists`] when its key is taken.
    /// Empty `generate` fields get new ids; the returned entity has them.
    pub fn create(&self, entity: E) -> Create<E> {
        Create { model: self.clone(), entity, condition: None }
    }

    /// Reads one item by its full key; `None` when there is none.
    pub fn get(&self, key: Key<E>) -> Get<E> {
        Get { model: self.clone(), key, consistent: false, projection: PhantomData }
    }

    /// Removes an item by its full key, returning the removed item (`None` when there
    /// was none).
    pub fn remove(&self, key: Key<E>) -> Remove<E> {
        Remove { model: self.clone(), key, condition: None, must_exist: false, version: None }
    }
}

macro_rules! into_future {
    // A read returning projection `P` of `E` (the entity itself by default).
    (projected $builder:ident, $output:ty) => {
        impl<E: Entity, P: onetable_core::Projection<Entity = E>> IntoFuture for $builder<E, P> {
            type Output = Result<$output, Error>;
            type IntoFuture = BoxFuture<'static, Self::Output>;
            fn into_future(self) -> Self::IntoFuture {
                Box::pin(self.send())
            }
        }
    };
    ($builder:ident, $output:ty) => {
        impl<E: Entity> IntoFuture for $builder<E> {
            type Output = Result<$output, Error>;
            type IntoFuture = BoxFuture<'static, Self::Output>;
            fn into_future(self) -> Self::IntoFuture {
                Box::pin(self.send())
            }
        }
    };
}
pub(crate) use into_future;

/// [`Model::create`]: `.await` it, or add a condition first.
#[must_use = "await it or call .send().await"]
pub struct Create<E> {
    model: Model<E>,
    entity: E,
    condition: Option<Condition<E>>,
}

impl<E: Entity> Create<E> {
    /// An extra condition the write needs (besides the key being free).
    pub fn condition(mut self, condition: Condition<E>) -> Self {
        self.condition = Some(condition);
        self
    }

    /// The writes of this create (the item and its unique sentinels), and the entity
    /// as it will be stored.
    pub(crate) fn prepare(self) -> Result<(E, Vec<Write>), Error> {
        let model = self.model.clone();
        model.check_registered()?;
        let mut entity = self.entity;
        entity.generate_ids();
        let mut item = model.item_for_write(&entity, true, true)?;
        let bumped = bump_version::<E>(&mut item);
        let mut conditions = Conditions::new(&model.table);
        conditions.item_exists(false);
        conditions.user(self.condition.as_ref())?;
        let key = KeyValues::of(&model.table, &item);
        let claims = unique_values::<E>(&item)?
            .into_iter()
            .map(|unique| crate::unique::claim(&model.table, E::SCHEMA.name, unique))
            .collect::<Vec<_>>();
        // The entity as stored, when the write changed it (its version, its computed
        // fields).
        let entity = if bumped.is_some() || computed::<E>() { model.read(item.clone())? } else { entity };
        let role = Role::Item {
            entity: E::SCHEMA.name,
            operation: "create",
            key,
            expected: None,
            create: true,
            form: None,
        };
        let mut writes = vec![conditions.into_write(Op::Put(item), role)];
        writes.extend(claims);
        Ok((entity, writes))
    }

    /// The request [`Create::send`] would send, unsent (see [`Request`]).
    pub fn request(self) -> Result<Request, Error> {
        let table = self.model.table.clone();
        let (_, writes) = self.prepare()?;
        Prepared::of(&table, writes).request(&table, None)
    }

    /// Sends the request (a transaction when the entity has unique fields).
    pub async fn send(self) -> Result<E, Error> {
        let model = self.model.clone();
        let span = model.span("create");
        async move {
            let (entity, writes) = self.prepare()?;
            execute(&model.table, writes, false).await?;
            Ok(entity)
        }
        .instrument(span)
        .await
    }
}
into_future!(Create, E);

/// [`Model::get`]: `.await` it, or ask for a consistent read or a projection first.
#[must_use = "await it or call .send().await"]
pub struct Get<E, P = E> {
    model: Model<E>,
    key: Key<E>,
    consistent: bool,
    projection: PhantomData<fn() -> P>,
}

impl<E: Entity, P: Projection<Entity = E>> Get<E, P> {
    /// A strongly consistent read (twice the read cost; not on global indexes).
    pub fn consistent(mut self) -> Self {
        self.consistent = true;
        self
    }

    /// Reads only the fields of `Q` (a struct deriving [`Projection`] of `E`): DynamoDB
    /// returns those attributes alone. Reads cost the same (capacity is counted on the
    /// whole item), but less is sent and decoded.
    pub fn project<Q: Projection<Entity = E>>(self) -> Get<E, Q> {
        Get { model: self.model, key: self.key, consistent: self.consistent, projection: PhantomData }
    }

    /// The request [`Get::send`] would send, unsent (see [`Request`]).
    pub fn request(self) -> Result<Request, Error> {
        self.model.check_registered()?;
        let key = self.key.into_attrs()?;
        let input = self.model.get_builder::<P>(key, self.consistent).as_input().clone().build();
        let table = self.model.table.name().to_owned();
        input
            .map(Request::GetItem)
            .map_err(|e| ErrorKind::Dynamo { operation: "get", table, source: Box::new(e) }.into())
    }

    /// Sends the request.
    pub async fn send(self) -> Result<Option<P>, Error> {
        let model = self.model.clone();
        let span = model.span("get");
        async move {
            model.check_registered()?;
            let key = self.key.into_attrs()?;
            let table = &model.table;
            let direct = table.reads_direct_by_key(E::SCHEMA);
            let call = Call::new("get", E::SCHEMA.name).partition(table.partition_label(&key));
            let (out, captured) = table
                .send_read(&call, model.get_builder::<P>(key, self.consistent), Member::Top("Item"), direct)
                .await
                .map_err(|f| f.into_error(E::SCHEMA.name, "get"))?;
            if let Some(captured) = captured {
                return table.read_json(captured.value(), |raw| model.read_raw(raw)).map(Some);
            }
            let item = out.item.filter(|i| !table.is_expired(E::SCHEMA, i));
            item.map(|item| model.read_as(item)).transpose()
        }
        .instrument(span)
        .await
    }
}

into_future!(projected Get, Option<P>);

impl<E: Entity> Model<E> {
    /// The stored item under `key`, as DynamoDB returns it.
    pub(crate) async fn get_raw(&self, key: Item, consistent: bool) -> Result<Option<Item>, Error> {
        self.get_item::<E>(key, consistent).await
    }

    /// The attributes of `P` of the item under `key`, as DynamoDB returns them.
    async fn get_item<P: Projection<Entity = E>>(
        &self,
        key: Item,
        consistent: bool,
    ) -> Result<Option<Item>, Error> {
        let call = Call::new("get", E::SCHEMA.name).partition(self.table.partition_label(&key));
        let out = self
            .table
            .send(&call, self.get_builder::<P>(key, consistent))
            .await
            .map_err(|f| f.into_error(E::SCHEMA.name, "get"))?;
        Ok(out.item)
    }

    /// The `GetItem` request reading `P` of the item under `key`.
    fn get_builder<P: Projection<Entity = E>>(
        &self,
        key: Item,
        consistent: bool,
    ) -> aws_sdk_dynamodb::operation::get_item::builders::GetItemFluentBuilder {
        let mut p = Placeholders::new();
        let projection = crate::projection::expression::<P>(&self.table, &[], None, &mut p);
        self.table
            .reader()
            .get_item()
            .table_name(self.table.name())
            .set_key(Some(key))
            .consistent_read(consistent)
            .set_projection_expression(projection)
            .set_expression_attribute_names(p.into_maps().0)
    }
}

/// [`Model::remove`]: `.await` it, or add a condition first.
#[must_use = "await it or call .send().await"]
pub struct Remove<E> {
    model: Model<E>,
    key: Key<E>,
    condition: Option<Condition<E>>,
    must_exist: bool,
    version: Option<String>,
}

impl<E: Entity> Remove<E> {
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

    /// Remove only if the item's `#[attr(version)]` is still `version`; fails with
    /// [`Error::is_version_conflict`] otherwise.
    pub fn if_version(mut self, version: u64) -> Self {
        self.version = Some(version.to_string());
        self
    }

    /// The writes, and the item as it was when it had to be read first.
    pub(crate) async fn prepare(mut self) -> Result<(Vec<Write>, Option<Item>), Error> {
        let key = self.take_key()?;
        self.writes(&key, None).await
    }

    /// The key's attributes (once: a key that failed to build is its error).
    fn take_key(&mut self) -> Result<Item, Error> {
        std::mem::replace(&mut self.key, Key::new(Ok(Item::new()))).into_attrs()
    }

    /// The writes, accepting an item in the `older` form too (see
    /// [`Conditions::not_newer`]).
    async fn writes(
        &self,
        key: &Item,
        older: Option<&Option<String>>,
    ) -> Result<(Vec<Write>, Option<Item>), Error> {
        let model = self.model.clone();
        model.check_registered()?;
        let key = key.clone();
        let mut conditions = Conditions::new(&model.table);
        if self.must_exist {
            conditions.item_exists(true);
        }
        let version = conditions.if_version::<E>(self.version.as_deref())?;
        let mut prior = None;
        let mut sentinels = Vec::new();
        if has_unique::<E>() {
            prior = model.get_raw(key.clone(), true).await?;
            let Some(old) = &prior else {
                if self.must_exist {
                    return Err(ErrorKind::NotFound { entity: E::SCHEMA.name, key: describe(&key) }.into());
                }
                return Ok((Vec::new(), None));
            };
            conditions.unique_values_unchanged::<E>(Some(old));
            sentinels =
                sentinel_changes::<E>(&model.table, &stored_unique_values::<E>(&model.table, old)?, &[]);
        }
        let form = conditions.not_newer::<E>(older);
        conditions.user(self.condition.as_ref())?;
        let role = Role::Item {
            entity: E::SCHEMA.name,
            operation: "remove",
            key: KeyValues::of(&model.table, &key),
            expected: version,
            create: false,
            form,
        };
        let mut writes = vec![conditions.into_write(Op::Delete(key), role)];
        writes.extend(sentinels);
        Ok((writes, prior))
    }

    /// The request [`Remove::send`] would send, unsent (see [`Request`]); `None` when
    /// it would send none (an entity with unique fields whose item is not there).
    pub async fn request(self) -> Result<Option<Request>, Error> {
        let table = self.model.table.clone();
        let (writes, _) = self.prepare().await?;
        if writes.is_empty() {
            return Ok(None);
        }
        Prepared::of(&table, writes).request(&table, None).map(Some)
    }

    /// Sends the request; returns the removed item, when it reads as `E` (an item of
    /// an earlier form the table does not know is removed all the same).
    ///
    /// When `E` declares its design, an item of a newer one is not removed: the error
    /// is [`Error::is_newer_design`] (old code still running after a migration).
    pub async fn send(mut self) -> Result<Option<E>, Error> {
        let model = self.model.clone();
        let span = model.span("remove");
        async move {
            let key = self.take_key()?;
            let mut older = None;
            for _ in 0..REMOVE_TRIES {
                let (writes, prior) = self.writes(&key, older.as_ref()).await?;
                if writes.is_empty() {
                    return Ok(None);
                }
                match execute(&model.table, writes, model.table.reads_direct(E::SCHEMA.name)).await {
                    // The write landed: what it removed is returned if it reads.
                    Ok(old) => {
                        let old = old.or(prior.map(Returned::Item));
                        return Ok(old.and_then(|old| model.read_returned(old).ok()));
                    }
                    // An older form than this code knows: removed all the same.
                    Err(e) if e.is_older_design() => {
                        older =
                            Some(e.current_item().and_then(crate::table::forms::marker).map(str::to_owned));
                    }
                    // The item read for its unique values changed before the removal
                    // (a migration rewrote or moved it): read it again.
                    Err(e)
                        if prior.is_some()
                            && e.current_item() != prior.as_ref()
                            && (e.is_condition_failed() || e.is_not_found()) => {}
                    Err(e) => return Err(e),
                }
            }
            Err(ErrorKind::Unexpected {
                operation: "remove",
                table: model.table.name().to_owned(),
                message: format!("{}: the item kept changing while it was removed", E::SCHEMA.name),
            }
            .into())
        }
        .instrument(span)
        .await
    }
}

/// How many times a remove meets an item that changed, or of a form it did not
/// expect, before giving up (each try reads it again, and accepts the form met last).
const REMOVE_TRIES: u32 = 4;

into_future!(Remove, Option<E>);

/// True when the entity has fields computed from templates.
pub(crate) fn computed<E: Entity>() -> bool {
    E::SCHEMA.fields.iter().any(|f| f.value.is_some())
}

/// Increments the item's version for the write; returns the attribute and the
/// version the write is based on.
pub(crate) fn bump_version<E: Entity>(item: &mut Item) -> Option<(&'static str, String)> {
    let field = version_field::<E>()?;
    let current = match item.get(field.attribute) {
        Some(AttributeValue::N(n)) => n.clone(),
        _ => "0".to_owned(),
    };
    let next = current.parse::<i128>().unwrap_or(0) + 1;
    item.insert(field.attribute.to_owned(), AttributeValue::N(next.to_string()));
    Some((field.attribute, current))
}
