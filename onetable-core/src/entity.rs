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

    /// The primary key attributes of this value.
    fn primary_key(&self) -> Result<Item, Error>;

    /// Fills every empty `#[attr(generate = ..)]` field with a new id.
    fn generate_ids(&mut self);
}
