//! [`Model::put`]: writing an entity whole — every attribute it owns set, those it no
//! longer has removed — while what it does not own stays: attributes of other
//! services, and the keys of its maps that it does not declare. An `UpdateItem`, so
//! that nothing has to be read for what stays; a map whose other keys are kept is
//! merged with the item as stored.

use crate::conditions::Conditions;
use crate::keys::KeyValues;
use crate::model::{bump_version, computed, into_future, Model};
use crate::table::Table;
use crate::unique::{has_unique, sentinel_changes, stored_unique_values, unique_values};
use crate::write::{execute, Op, Prepared, Request, Role, Write};
use futures_util::future::BoxFuture;
use onetable_core::expr::{Condition, Placeholders};
use onetable_core::{Entity, Error, ErrorKind, Item};
use std::future::IntoFuture;
use tracing::Instrument;

impl<E: Entity> Model<E> {
    /// Writes an item whether or not one exists with its key (an upsert that replaces
    /// the whole item).
    pub fn put(&self, entity: E) -> Put<E> {
        Put { model: self.clone(), entity, condition: None }
    }
}

/// [`Model::put`]: `.await` it, or add a condition first.
#[must_use = "await it or call .send().await"]
pub struct Put<E> {
    model: Model<E>,
    entity: E,
    condition: Option<Condition<E>>,
}

impl<E: Entity> Put<E> {
    /// A condition the write needs; fails with [`Error::is_condition_failed`].
    pub fn condition(mut self, condition: Condition<E>) -> Self {
        self.condition = Some(condition);
        self
    }

    /// The entity as it will be stored, and its item.
    fn item(self) -> Result<PutItem<E>, Error> {
        let model = self.model;
        model.check_registered()?;
        let mut entity = self.entity;
        entity.generate_ids();
        let mut item = model.item_for_write(&entity, false, true)?;
        let expected = bump_version::<E>(&mut item);
        let entity = if expected.is_some() || computed::<E>() { model.read(item.clone())? } else { entity };
        Ok(PutItem { model, entity, item, expected, condition: self.condition })
    }

    /// The writes of this put, as a transaction takes them: the item read first when
    /// its maps or unique values need it.
    pub(crate) async fn prepare(self) -> Result<(E, Vec<Write>), Error> {
        let put = self.item()?;
        let image = match put.needs_image() {
            true => put.model.get_raw(put.model.table.key_of(&put.item), true).await?,
            false => None,
        };
        let accept = image.as_ref().and_then(|i| older_marker::<E>(&put.model.table, i));
        let (writes, _) = put.writes(image.as_ref(), accept.as_ref()).await?;
        Ok((put.entity, writes))
    }

    /// The request [`Put::send`] would send, unsent (see [`Request`]). With unique
    /// fields, the item is read first, as `send` reads it.
    pub async fn request(self) -> Result<Request, Error> {
        let table = self.model.table.clone();
        let put = self.item()?;
        let (writes, _) = put.writes(None, None).await?;
        Prepared::of(&table, writes).request(&table, None)
    }

    /// Sends the request (a transaction when a unique value changes).
    pub async fn send(self) -> Result<E, Error> {
        let model = self.model.clone();
        let span = model.span("put");
        async move {
            let put = self.item()?;
            // The item as stored, when the write is computed from it; and the older
            // form it is in, which this put replaces.
            let mut image = match put.needs_image() {
                true => model.get_raw(model.table.key_of(&put.item), true).await?,
                false => None,
            };
            let mut accept = image.as_ref().and_then(|i| older_marker::<E>(&model.table, i));
            for _ in 0..PUT_TRIES {
                let (writes, maps) = put.writes(image.as_ref(), accept.as_ref()).await?;
                let Err(e) = execute(&model.table, writes, false).await else { return Ok(put.entity) };
                let now = e.current_item().cloned();
                // A known map is not as the write assumed: merge with it as it is (only
                // when DynamoDB refused the write: after a timeout it may have landed).
                if crate::write::refused_on_condition(&e)
                    && maps.iter().any(|m| {
                        now.as_ref().and_then(|n| n.get(m)) != image.as_ref().and_then(|i: &Item| i.get(m))
                    })
                {
                    image = now;
                    continue;
                }
                // An item of an older form the table knows: a put replaces it whole.
                if let Some(older) = now.as_ref().and_then(|n| older_marker::<E>(&model.table, n)) {
                    if e.is_older_design() && accept.as_ref() != Some(&older) {
                        accept = Some(older);
                        image = now;
                        continue;
                    }
                }
                return Err(e);
            }
            Err(ErrorKind::Unexpected {
                operation: "put",
                table: model.table.name().to_owned(),
                message: format!("{}: the item kept changing while it was put", E::SCHEMA.name),
            }
            .into())
        }
        .instrument(span)
        .await
    }
}

/// The marker of `item` when it is in an older form of `E` that the table knows
/// (registered with `TableBuilder::upgrade`; `Some(None)`: the first, unmarked),
/// which a put replaces. An older form the table does not know is refused with
/// `is_older_design`: the entity put was not read from it through its conversion.
fn older_marker<E: Entity>(table: &crate::table::Table, item: &Item) -> Option<Option<String>> {
    match crate::table::forms::form_of(E::SCHEMA, item) {
        crate::table::forms::Form::Older(marker)
            if table.earlier_form(E::SCHEMA.name, marker.as_deref()).is_some() =>
        {
            Some(marker)
        }
        _ => None,
    }
}

/// How many times a put meets an item that changed shape before giving up.
const PUT_TRIES: u32 = 8;

/// A put's item and what it needs to be written.
struct PutItem<E> {
    model: Model<E>,
    entity: E,
    item: Item,
    expected: Option<(&'static str, String)>,
    condition: Option<Condition<E>>,
}

impl<E: Entity> PutItem<E> {
    /// True when the write is computed from the item as stored: it has unique values
    /// (their sentinels swap) or maps whose other keys are kept.
    fn needs_image(&self) -> bool {
        has_unique::<E>() || !crate::rewrite::Maps::of(&[E::SCHEMA]).is_empty()
    }

    /// The writes: an `UpdateItem` that sets every attribute of the entity, removes
    /// those it owns and no longer has, and leaves the others (another service's)
    /// alone; and the unique sentinels that change. `image`: the item as stored, when
    /// known; `accept`: the older form it is in, which this put replaces. Returns too
    /// the map attributes whose guard assumed `image`.
    async fn writes(
        &self,
        image: Option<&Item>,
        accept: Option<&Option<String>>,
    ) -> Result<(Vec<Write>, Vec<String>), Error> {
        let table = &self.model.table;
        let key = table.key_of(&self.item);
        let mut conditions = Conditions::new(table);
        if let Some((attribute, expected)) = &self.expected {
            conditions.version(attribute, expected);
        }
        let form = conditions.form::<E>(true, accept);
        // Unique values that change release the old sentinel and claim the new one;
        // the item's write is conditional on the values read, so a concurrent change
        // cannot slip in between.
        let mut sentinels = Vec::new();
        let mut image = image.cloned();
        if has_unique::<E>() {
            if image.is_none() {
                image = self.model.get_raw(key.clone(), true).await?;
            }
            let before =
                image.as_ref().map(|i| stored_unique_values::<E>(table, i)).transpose()?.unwrap_or_default();
            let after = unique_values::<E>(&self.item)?;
            conditions.unique_values_unchanged::<E>(image.as_ref());
            sentinels = sentinel_changes::<E>(table, &before, &after);
        }
        let schemas: Vec<&'static onetable_core::EntitySchema> =
            std::iter::once(E::SCHEMA).chain(table.earlier_forms(E::SCHEMA.name).map(|e| e.schema)).collect();
        let (expression, maps) =
            replace_expression(table, &schemas, &self.item, image.as_ref(), &mut conditions.p);
        conditions.maps_as(&maps, image.as_ref());
        conditions.user(self.condition.as_ref())?;
        let role = Role::Item {
            entity: E::SCHEMA.name,
            operation: "put",
            key: KeyValues::of(table, &key),
            expected: self.expected.clone(),
            create: false,
            form,
        };
        let mut write = conditions.into_write(Op::Update { key, expression }, role);
        write.returns = Some(aws_sdk_dynamodb::types::ReturnValue::None);
        let mut writes = vec![write];
        writes.extend(sentinels);
        Ok((writes, maps))
    }
}

/// The update expression that replaces what `schemas` own of an item with `item`:
/// `SET` each of its attributes (a known map merged with `image`, keeping the keys it
/// does not own), `REMOVE` each owned attribute it lacks (a map of packed fields kept
/// for its other keys). Returns the known maps it writes, whose guard the caller
/// adds: as `image` holds them, or absent.
fn replace_expression(
    table: &Table,
    schemas: &[&'static onetable_core::EntitySchema],
    item: &Item,
    image: Option<&Item>,
    p: &mut Placeholders,
) -> (String, Vec<String>) {
    let (hash, sort) = table.key_attributes();
    let is_key = |a: &str| a == hash || sort == Some(a);
    let owned = crate::rewrite::Owned::of(table, schemas);
    let maps = crate::rewrite::Maps::of(schemas);
    let mut attributes: Vec<&str> =
        item.keys().map(String::as_str).chain(owned.iter()).filter(|a| !is_key(a)).collect();
    attributes.sort_unstable();
    attributes.dedup();
    let (mut sets, mut removes, mut guarded) = (Vec::new(), Vec::new(), Vec::new());
    for attribute in attributes {
        let new = item.get(attribute).cloned();
        let known_map = maps.contains(attribute);
        let value = match (known_map, image) {
            (true, Some(image)) => maps.keep(attribute, image.get(attribute), new),
            _ => new,
        };
        // A map written whole is guarded as it was merged; a map of packed fields
        // removed without knowing it, so that its other keys are not lost.
        if known_map && (value.is_some() || (image.is_none() && maps.is_packed(attribute))) {
            guarded.push(attribute.to_owned());
        }
        match value {
            Some(value) => sets.push(format!("{} = {}", p.name(attribute), p.value(value))),
            None => removes.push(p.name(attribute).into_owned()),
        }
    }
    let mut expression = format!("SET {}", sets.join(", "));
    if !removes.is_empty() {
        expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
    }
    (expression, guarded)
}
into_future!(Put, E);
