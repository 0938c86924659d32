//! `Model::update`: typed SET / REMOVE / ADD / DELETE / list append / if-not-exists,
//! and the key attributes those changes invalidate.

mod changes;

use crate::conditions::Conditions;
use crate::keys::{describe, KeyValues};
use crate::model::{into_future, Model};
use crate::write::{execute, Op, Prepared, Request, Returned, Role, Write};
use changes::{invalid, primary_values, Changes};
use futures_util::future::BoxFuture;
use onetable_core::expr::{Condition, IntoOperand, Operand, Placeholders};
use onetable_core::{Entity, Error, ErrorKind, Field, Item, Key, ListElement, Nested};
use std::future::IntoFuture;
use tracing::Instrument;

#[derive(Debug, Clone, Copy)]
struct Target {
    name: &'static str,
    map: Option<&'static str>,
    attribute: &'static str,
    /// An attribute inside the field's map (`set_in`): only it changes.
    inner: Option<&'static str>,
}

impl<E, T> From<Field<E, T>> for Target {
    fn from(f: Field<E, T>) -> Self {
        Target { name: f.name(), map: f.map(), attribute: f.attribute(), inner: None }
    }
}

impl Target {
    /// The document path, with placeholders: `#a`, `#m.#a` (packed) or `#a.#i` (inside).
    fn path(&self, p: &mut Placeholders) -> String {
        let mut path = p.path(self.map, self.attribute).into_owned();
        if let Some(inner) = self.inner {
            path.push('.');
            path.push_str(&p.name(inner));
        }
        path
    }
}

enum Action {
    Set(Target, Operand),
    SetIfNotExists(Target, Operand),
    Remove(Target),
    Add(Target, Operand),
    Delete(Target, Operand),
    Append(Target, Operand),
}

impl Action {
    fn target(&self) -> &Target {
        match self {
            Action::Set(t, _)
            | Action::SetIfNotExists(t, _)
            | Action::Remove(t)
            | Action::Add(t, _)
            | Action::Delete(t, _)
            | Action::Append(t, _) => t,
        }
    }
}

/// [`Model::update`]: changes to one item, sent as one `UpdateItem`.
///
/// By default the item must exist ([`Error::is_not_found`] otherwise); see
/// [`Update::upsert`]. Resolves to the item as it is after the update.
#[must_use = "await it or call .send().await"]
pub struct Update<E> {
    model: Model<E>,
    key: Key<E>,
    actions: Vec<Action>,
    condition: Option<Condition<E>>,
    upsert: bool,
    version: Option<String>,
}

impl<E: Entity> Model<E> {
    /// Changes fields of one item in place.
    ///
    /// Setting a field used by an index key template recomputes that key attribute in
    /// the same request. The template's other inputs come from this update or from the
    /// item's primary key; when neither has them the update is refused rather than
    /// leaving a stale index key. Primary key fields cannot change (remove and create).
    pub fn update(&self, key: Key<E>) -> Update<E> {
        Update {
            model: self.clone(),
            key,
            actions: Vec::new(),
            condition: None,
            upsert: false,
            version: None,
        }
    }
}

impl<E: Entity> Update<E> {
    /// `SET field = value`.
    pub fn set<T>(mut self, field: Field<E, T>, value: impl IntoOperand<T>) -> Self {
        self.actions.push(Action::Set(field.into(), value.into_operand()));
        self
    }

    /// `SET field = if_not_exists(field, value)`: sets it only when the item has none.
    pub fn set_if_not_exists<T>(mut self, field: Field<E, T>, value: impl IntoOperand<T>) -> Self {
        self.actions.push(Action::SetIfNotExists(field.into(), value.into_operand()));
        self
    }

    /// `REMOVE field`.
    pub fn remove<T>(mut self, field: Field<E, T>) -> Self {
        self.actions.push(Action::Remove(field.into()));
        self
    }

    /// `ADD field value`: adds to a number (an atomic counter, starting from 0) or adds
    /// elements to a set.
    pub fn add<T>(mut self, field: Field<E, T>, value: impl IntoOperand<T>) -> Self {
        self.actions.push(Action::Add(field.into(), value.into_operand()));
        self
    }

    /// `DELETE field value`: removes elements from a set.
    pub fn delete<T>(mut self, field: Field<E, T>, elements: impl IntoOperand<T>) -> Self {
        self.actions.push(Action::Delete(field.into(), elements.into_operand()));
        self
    }

    /// Appends to a list: `SET field = list_append(if_not_exists(field, []), values)`.
    pub fn append<T: ListElement + Send + Sync + 'static>(
        mut self,
        field: Field<E, Vec<T>>,
        values: Vec<T>,
    ) -> Self {
        self.actions.push(Action::Append(field.into(), Operand::new(values)));
        self
    }

    /// `SET field.inner = value`: one field inside a map (a struct deriving
    /// [`Value`](onetable_core::Value), or an `Option` of one), the rest of the map
    /// kept, as OneTable's `partial: true` updates it — `update(key).set_in(User::ADDRESS,
    /// Address::CITY, "Paris")`. The map must exist on the item, as DynamoDB requires:
    /// when it does not, the update fails with [`Error::is_invalid`] and changes
    /// nothing (set the whole field instead).
    pub fn set_in<S: Nested, T>(
        mut self,
        field: Field<E, S>,
        inner: Field<S::Fields, T>,
        value: impl IntoOperand<T>,
    ) -> Self {
        let target = Target { inner: Some(inner.attribute()), ..field.into() };
        self.actions.push(Action::Set(target, value.into_operand()));
        self
    }

    /// `REMOVE field.inner`: one field inside a map, the rest kept (see
    /// [`Update::set_in`]).
    pub fn remove_in<S: Nested, T>(mut self, field: Field<E, S>, inner: Field<S::Fields, T>) -> Self {
        let target = Target { inner: Some(inner.attribute()), ..field.into() };
        self.actions.push(Action::Remove(target));
        self
    }

    /// A condition the update needs; fails with [`Error::is_condition_failed`].
    pub fn condition(mut self, condition: Condition<E>) -> Self {
        self.condition = Some(condition);
        self
    }

    /// Apply only if the item's `#[attr(version)]` is still `version` (the one read);
    /// fails with [`Error::is_version_conflict`] otherwise. Every update increments
    /// the version, with or without this check.
    pub fn if_version(mut self, version: u64) -> Self {
        self.version = Some(version.to_string());
        self
    }

    /// Create the item when it does not exist (DynamoDB's default; onetable's is to
    /// require it).
    pub fn upsert(mut self) -> Self {
        self.upsert = true;
        self
    }

    /// The writes of this update, as a transaction takes them (the item read first
    /// when a map it sets keeps keys it does not own).
    pub(crate) async fn prepare(self) -> Result<Vec<Write>, Error> {
        let (model, parts) = self.parts()?;
        let image = match parts.sets_struct_maps() {
            true => model.get_raw(parts.key.clone(), true).await?,
            false => None,
        };
        Ok(parts.writes(&model, image.as_ref()).await?.0)
    }

    /// The update's parts, its key resolved.
    fn parts(self) -> Result<(Model<E>, Parts<E>), Error> {
        self.model.check_registered()?;
        let key = self.key.into_attrs()?;
        let parts = Parts {
            key,
            actions: self.actions,
            condition: self.condition,
            upsert: self.upsert,
            version: self.version,
        };
        Ok((self.model, parts))
    }

    /// The request [`Update::send`] would send, unsent (see [`Request`]). When a
    /// unique value changes, the item is read first, as `send` reads it.
    pub async fn request(self) -> Result<Request, Error> {
        let table = self.model.table.clone();
        let writes = self.prepare().await?;
        Prepared::of(&table, writes).request(&table, None)
    }

    /// Sends the request (a transaction when a unique value changes). An item still
    /// in an earlier form the table knows is upgraded first (see
    /// [`TableBuilder::upgrade`](crate::TableBuilder::upgrade)).
    pub async fn send(self) -> Result<E, Error> {
        let model = self.model.clone();
        // The fields changed inside their map, to name in the error when a map is absent.
        let inside: Vec<&'static str> =
            self.actions.iter().map(Action::target).filter(|t| t.inner.is_some()).map(|t| t.name).collect();
        let span = model.span("update");
        async move {
            let (model, parts) = self.parts()?;
            let direct = model.table.reads_direct(E::SCHEMA.name);
            let mut image = match parts.sets_struct_maps() {
                true => model.get_raw(parts.key.clone(), true).await?,
                false => None,
            };
            for _ in 0..UPDATE_TRIES {
                let (writes, maps) = parts.writes(&model, image.as_ref()).await?;
                // A transaction returns no item: it is read back by key.
                let transaction = writes.len() > 1;
                let written = match execute(&model.table, writes, direct).await {
                    Ok(written) => written,
                    Err(e) => {
                        let now = e.current_item().cloned();
                        // A map it merges is not as read: merge with it as it is. (Only
                        // when DynamoDB refused the write: after a timeout it may have
                        // landed, and must not be sent twice.)
                        if crate::write::refused_on_condition(&e)
                            && maps.iter().any(|m| {
                                now.as_ref().and_then(|n| n.get(m))
                                    != image.as_ref().and_then(|i: &Item| i.get(m))
                            })
                        {
                            image = now;
                            continue;
                        }
                        // An item of an earlier form: upgraded first.
                        if e.is_older_design()
                            && crate::rewrite::upgrade(&model.table, E::SCHEMA, parts.key.clone()).await?
                        {
                            image = match image {
                                Some(_) => model.get_raw(parts.key.clone(), true).await?,
                                None => None,
                            };
                            continue;
                        }
                        return Err(missing_map::<E>(e, &inside));
                    }
                };
                let item = match (written, transaction) {
                    (Some(returned), _) => returned,
                    (None, true) => {
                        let item = model.get_raw(parts.key.clone(), true).await?;
                        let missing =
                            || ErrorKind::NotFound { entity: E::SCHEMA.name, key: describe(&parts.key) };
                        Returned::Item(item.ok_or_else(missing)?)
                    }
                    (None, false) => {
                        let (operation, table) = ("update", model.table.name().to_owned());
                        let message = "it returned no item".to_owned();
                        return Err(ErrorKind::Unexpected { operation, table, message }.into());
                    }
                };
                return model.read_returned(item);
            }
            Err(ErrorKind::Unexpected {
                operation: "update",
                table: model.table.name().to_owned(),
                message: format!("{}: the item kept changing while it was updated", E::SCHEMA.name),
            }
            .into())
        }
        .instrument(span)
        .await
    }
}

/// How many times an update meets an item that changed under it before giving up.
const UPDATE_TRIES: u32 = 8;

/// An update, its key resolved: what each attempt is prepared from.
struct Parts<E> {
    key: Item,
    actions: Vec<Action>,
    condition: Option<Condition<E>>,
    upsert: bool,
    version: Option<String>,
}

impl<E: Entity> Parts<E> {
    /// True when the update sets a whole struct field, whose map keeps the keys the
    /// struct does not own: it is computed from the item as stored.
    fn sets_struct_maps(&self) -> bool {
        self.actions
            .iter()
            .any(|a| matches!(a, Action::Set(..)) && changes::struct_map::<E>(a.target()).is_some())
    }

    /// The writes of this update: the item's, and the sentinels of unique values it
    /// changes; and the map attributes whose guard assumed `image`.
    async fn writes(
        &self,
        model: &Model<E>,
        image: Option<&Item>,
    ) -> Result<(Vec<Write>, Vec<String>), Error> {
        let key = self.key.clone();
        let table = &model.table;
        let mut conditions = Conditions::new(table);
        // What the caller changes.
        let mut changes = Changes::of::<E>(&self.actions, table, image, &mut conditions.p)?;
        // What follows from it: a new item gets its primary key's fields, and index
        // keys and computed fields whose inputs change are recomputed.
        let needs_key_values = self.upsert || changes.touches_keys::<E>() || changes.touches_values::<E>();
        let known = if needs_key_values { primary_values::<E>(&key) } else { Vec::new() };
        if self.upsert {
            changes.create_primary_fields::<E>(&known, table.format(), &mut conditions.p);
        }
        changes.recompute_keys::<E>(&known, &mut conditions.p)?;
        changes.recompute_values::<E>(&known, &mut conditions.p)?;
        // What every write of the entity carries.
        changes.stamp::<E>(table, &mut conditions.p);
        // Unique values that change swap their sentinels in the same transaction,
        // chosen from the item as read now.
        let (sentinels, prior) = changes.sentinels::<E>(model, &key, &known, self.upsert).await?;
        // What must hold when it lands: the item exists (unless upserted), in the form
        // this code writes.
        if !self.upsert {
            conditions.item_exists(true);
        }
        let form = conditions.form::<E>(self.upsert, None);
        let version = conditions.if_version::<E>(self.version.as_deref())?;
        if let Some(prior) = prior {
            conditions.unique_values_unchanged::<E>(prior.as_ref());
        }
        let maps = changes.merged_maps().to_vec();
        conditions.maps_as(&maps, image);
        conditions.user(self.condition.as_ref())?;
        let role = Role::Item {
            entity: E::SCHEMA.name,
            operation: "update",
            key: KeyValues::of(table, &key),
            expected: version,
            create: false,
            form,
        };
        let op = Op::Update { key, expression: changes.expression() };
        let mut writes = vec![conditions.into_write(op, role)];
        writes.extend(sentinels);
        Ok((writes, maps))
    }
}
into_future!(Update, E);

/// DynamoDB refuses a path inside a map the item lacks ("The document path provided in
/// the update expression is invalid for update"): an input error, naming the fields.
fn missing_map<E: Entity>(e: Error, inside: &[&'static str]) -> Error {
    if inside.is_empty()
        || !e.to_string().contains("document path provided in the update expression is invalid")
    {
        return e;
    }
    let entity = E::SCHEMA.name;
    let fields = inside.iter().map(|f| format!("{entity}.{f}")).collect::<Vec<_>>().join(", ");
    invalid(entity, format!("{fields} is absent on this item: set the whole field before setting inside it"))
}
