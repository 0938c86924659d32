//! Typed collections: the entities that share a partition, read in one query.

use crate::{EntitySchema, Error, Item};

/// An enum of entities stored in one partition (an Account with its Users and
/// Invoices), implemented by `#[derive(Collection)]`: one query returns each item as
/// the variant its type attribute names. A variant holds an entity or a projection of
/// one; when every variant is a projection, the query asks for their fields alone.
pub trait Collection: Sized + Send + 'static {
    /// The member entities, one per variant.
    const ENTITIES: &'static [&'static EntitySchema];

    /// Per member, in the order of [`Collection::ENTITIES`], the fields its variant
    /// holds: `None` when the variant is the whole entity, the fields of a
    /// [`Projection`](crate::Projection) otherwise.
    const FIELDS: &'static [Option<&'static [&'static str]>];

    /// The variant for an item of entity `name`; `None` when no variant has it.
    fn from_item(name: &str, item: Item) -> Option<Result<Self, Error>>;

    /// The variant for an item of entity `name`, read straight from the JSON `json`
    /// stands at (see [`Entity::from_json`](crate::Entity::from_json)); `None` takes
    /// the general path.
    #[doc(hidden)]
    fn from_json(name: &str, json: &mut crate::wire::Reader<'_>, type_field: &str) -> Option<Self> {
        let _ = (name, json, type_field);
        None
    }
}
