//! Typed collections: the entities that share a partition, read in one query.

use crate::{EntitySchema, Error, Item};

/// An enum of entities stored in one partition (an Account with its Users and
/// Invoices), implemented by `#[derive(Collection)]`: one query returns each item as
/// the variant its type attribute names.
pub trait Collection: Sized + Send + 'static {
    /// The member entities, one per variant.
    const ENTITIES: &'static [&'static EntitySchema];

    /// The variant for an item of entity `name`; `None` when no variant has it.
    fn from_item(name: &str, item: Item) -> Option<Result<Self, Error>>;
}
