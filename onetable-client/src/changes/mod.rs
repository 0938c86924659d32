//! Change streams as entities: records of a table's DynamoDB stream (read with
//! aws-sdk-dynamodbstreams, delivered to a Lambda function, or from anywhere else as
//! a [`StreamRecord`]) decoded into the table's entities or a collection's variants.
//!
//! Items that are not entities of the table — unique-field sentinels, the migration
//! history, lock, checkpoints and `_Schema` item, and items of types the decoder does
//! not know — are skipped, reported or refused, as [`Others`] says.

mod record;

pub use record::{Event, StreamRecord};

use crate::model::Model;
use crate::table::Table;
use onetable_core::{AttributeValue, Collection, Entity, EntitySchema, Error, ErrorKind, Item};

/// One change to an item of the table, typed.
#[derive(Debug, Clone, PartialEq)]
pub enum Change<T> {
    /// A new item.
    Insert(T),
    /// An item written over: `old` is `None` when the stream carries new images only.
    Modify {
        /// The item before.
        old: Option<T>,
        /// The item after.
        new: T,
    },
    /// An item removed.
    Remove {
        /// The item as it was.
        old: T,
        /// Removed by DynamoDB because its TTL passed, not by a writer.
        expired: bool,
    },
    /// An item that is not an entity of the decoder ([`Others::Report`]).
    Other(Other),
}

/// A record of an item that is not an entity of the decoder.
#[derive(Debug, Clone, PartialEq)]
pub struct Other {
    /// What the item is.
    pub kind: OtherKind,
    /// What happened to it.
    pub event: Event,
    /// Its primary key.
    pub keys: Item,
}

/// What an item that is not an entity is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OtherKind {
    /// A unique-field sentinel (`_unique#…`), written beside the item that holds the
    /// value.
    Unique,
    /// The migrations' bookkeeping: the history, the lock, checkpoints, `_Schema`.
    Bookkeeping,
    /// An item of another type (its type attribute, if it has one).
    Unknown(Option<String>),
}

/// What a decoder does with records of items that are not its entities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Others {
    /// Leave them out: [`Changes::decode`] returns `None` (the default).
    #[default]
    Skip,
    /// Return them as [`Change::Other`].
    Report,
    /// Fail with [`ErrorKind::WrongEntity`], naming the type.
    Error,
}

/// Decodes stream records into changes of `T`: an entity ([`Model::changes`]) or a
/// collection's variants ([`Table::changes`]). Cheap to clone.
#[derive(Clone)]
pub struct Changes<T> {
    table: Table,
    members: &'static [&'static EntitySchema],
    read: fn(&str, Item) -> Option<Result<T, Error>>,
    others: Others,
}

impl Table {
    /// A decoder of this table's stream records into the variants of collection `C`
    /// (`#[derive(Collection)]`).
    pub fn changes<C: Collection>(&self) -> Changes<C> {
        Changes { table: self.clone(), members: C::ENTITIES, read: C::from_item, others: Others::Skip }
    }
}

impl<E: Entity> Model<E> {
    /// A decoder of the table's stream records into changes of `E`.
    pub fn changes(&self) -> Changes<E> {
        fn read<E: Entity>(name: &str, item: Item) -> Option<Result<E, Error>> {
            (name == E::SCHEMA.name).then(|| E::from_item(item))
        }
        let members: &'static [&'static EntitySchema] = std::slice::from_ref(&E::SCHEMA);
        Changes { table: self.table.clone(), members, read: read::<E>, others: Others::Skip }
    }
}

impl<T> Changes<T> {
    /// What to do with records of items that are not the decoder's entities.
    pub fn others(mut self, others: Others) -> Self {
        self.others = others;
        self
    }

    /// The change a record carries: `None` for a record left out ([`Others::Skip`]).
    /// Fails on a record whose images cannot tell what the item was (a stream of
    /// keys only, or a removal in a stream of new images only), on an entity the
    /// table was not built with, and on an item that does not read as its entity.
    pub fn decode<R>(&self, record: R) -> Result<Option<Change<T>>, Error>
    where
        R: TryInto<StreamRecord>,
        Error: From<R::Error>,
    {
        let record = record.try_into()?;
        for schema in self.members {
            if !self.table.is_registered(schema) {
                let table = self.table.name().to_owned();
                return Err(ErrorKind::NotRegistered { entity: schema.name, table }.into());
            }
        }
        if let Some(kind) = self.bookkeeping(&record.keys) {
            return self.other(kind, &record);
        }
        let type_field = self.table.format().type_field;
        let name = |image: &Option<Item>| match image.as_ref().and_then(|i| i.get(type_field)) {
            Some(AttributeValue::S(name)) => Some(name.clone()),
            _ => None,
        };
        let Some(name) = name(&record.new_image).or_else(|| name(&record.old_image)) else {
            if record.old_image.is_none() && record.new_image.is_none() {
                let entity = self.members.first().map_or("", |m| m.name);
                return Err(missing_image(
                    entity,
                    record.event,
                    &record.keys,
                    "has no image to read the item from",
                ));
            }
            return self.other(OtherKind::Unknown(None), &record);
        };
        if !self.members.iter().any(|m| m.name == name) {
            return self.other(OtherKind::Unknown(Some(name)), &record);
        }
        let read = |image: Option<Item>| -> Result<Option<T>, Error> {
            let Some(item) = image else { return Ok(None) };
            let (_, item) = self.table.current_form_named(item)?;
            (self.read)(&name, item).transpose()
        };
        let StreamRecord { event, keys, old_image, new_image, expired } = record;
        let change = match event {
            Event::Insert => read(new_image)?.map(Change::Insert),
            Event::Modify => {
                let old = read(old_image)?;
                read(new_image)?.map(|new| Change::Modify { old, new })
            }
            Event::Remove => read(old_image)?.map(|old| Change::Remove { old, expired }),
        };
        let entity = self.members.iter().find(|m| m.name == name).map_or("", |m| m.name);
        change.map(Some).ok_or_else(|| missing_image(entity, event, &keys, "lacks the image its event needs"))
    }

    /// Sentinels and migration bookkeeping, told by their partition key.
    fn bookkeeping(&self, keys: &Item) -> Option<OtherKind> {
        let hash = keys.get(self.table.key_attributes().0)?.as_s().ok()?;
        if hash.starts_with("_unique#") {
            Some(OtherKind::Unique)
        } else if hash == crate::keys::HISTORY_PARTITION || hash == crate::keys::SCHEMA_PARTITION {
            Some(OtherKind::Bookkeeping)
        } else {
            None
        }
    }

    fn other(&self, kind: OtherKind, record: &StreamRecord) -> Result<Option<Change<T>>, Error> {
        match self.others {
            Others::Skip => Ok(None),
            Others::Report => {
                Ok(Some(Change::Other(Other { kind, event: record.event, keys: record.keys.clone() })))
            }
            Others::Error => {
                let found = match kind {
                    OtherKind::Unique => Some("a unique-field sentinel".to_owned()),
                    OtherKind::Bookkeeping => Some("a migration's bookkeeping item".to_owned()),
                    OtherKind::Unknown(name) => name,
                };
                Err(ErrorKind::WrongEntity { expected: "an entity of the decoder", found }.into())
            }
        }
    }
}

/// A record whose stream does not carry the image a change needs.
fn missing_image(entity: &'static str, event: Event, keys: &Item, what: &str) -> Error {
    let message = format!(
        "a stream record ({event:?} of {}) {what}: the stream's view type must carry images (NEW_AND_OLD_IMAGES)",
        crate::keys::describe(keys)
    );
    ErrorKind::Invalid { entity, message }.into()
}
