//! The trait `#[derive(Entity)]` implements.

use crate::{EntitySchema, Error, Format, Item};

/// A Rust type stored as items of one entity type in a single table.
///
/// Implemented by `#[derive(Entity)]`; see the `onetable` crate for the attributes.
pub trait Entity: Sized + Send + Sync + 'static {
    /// The entity's schema.
    const SCHEMA: &'static EntitySchema;

    /// The whole item: key attributes from the templates, every field, and the type
    /// attribute. Sparse index keys are left out when a variable is absent.
    fn to_item(&self, format: &Format) -> Result<Item, Error>;

    /// Like [`Entity::to_item`], moving the field values instead of copying them.
    fn into_item(self, format: &Format) -> Result<Item, Error>;

    /// The entity from an item. Errors name the entity, field, attribute and the
    /// type found.
    fn from_item(item: Item) -> Result<Self, Error>;

    /// The entity read straight from the item that `json` stands at, in DynamoDB's
    /// JSON (one element of a response's `Items`), leaving `json` at its end, without
    /// building the item's map: each attribute the
    /// entity stores is taken as it comes, the others skipped. `None` hands the item
    /// to the general path ([`Entity::from_item`] after the table's own steps), which
    /// every item takes that is not plainly this entity's in its current form: another
    /// type attribute, a value that does not read (so its error is the general path's),
    /// an entity with encrypted or packed fields. Derived; a hand-written entity
    /// keeps this default and always takes the general path.
    #[doc(hidden)]
    fn from_json(json: &mut crate::wire::Reader<'_>, type_field: &str) -> Option<Self> {
        let _ = (json, type_field);
        None
    }

    /// The primary key attributes of this value.
    fn primary_key(&self) -> Result<Item, Error>;

    /// Fills every empty `#[attr(generate = ..)]` field with a new id.
    fn generate_ids(&mut self);
}
