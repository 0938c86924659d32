//! What a read returns: a whole entity, or a projection of one.

use crate::{Entity, Error, Item};

/// A type a read can return for entity [`Projection::Entity`]: the entity itself
/// (every entity is its own projection, reading the whole item), or a struct deriving
/// `Projection` that holds some of its fields, read with a `ProjectionExpression` so
/// that DynamoDB returns only those attributes.
///
/// `#[derive(Projection)]` checks at compile time that each field of the struct is a
/// field of the entity with the same type, and reads each one as the entity does
/// (defaults, TTLs, packed maps, encrypted fields).
pub trait Projection: Sized + Send + 'static {
    /// The entity whose items are read.
    type Entity: Entity;

    /// The entity's fields this type holds, by Rust name; `None` reads the whole item.
    const FIELDS: Option<&'static [&'static str]>;

    /// The value from an item of the entity, holding at least [`Projection::FIELDS`]
    /// (its type attribute already checked and removed, encrypted fields decrypted).
    fn from_item(item: Item) -> Result<Self, Error>;

    /// The value read straight from the item `json` stands at, as
    /// [`Entity::from_json`]; `None` takes the general path.
    #[doc(hidden)]
    fn from_json(json: &mut crate::wire::Reader<'_>, type_field: &str) -> Option<Self> {
        let _ = (json, type_field);
        None
    }
}

impl<E: Entity> Projection for E {
    type Entity = E;
    const FIELDS: Option<&'static [&'static str]> = None;

    fn from_item(item: Item) -> Result<Self, Error> {
        <E as Entity>::from_item(item)
    }

    fn from_json(json: &mut crate::wire::Reader<'_>, type_field: &str) -> Option<Self> {
        <E as Entity>::from_json(json, type_field)
    }
}
