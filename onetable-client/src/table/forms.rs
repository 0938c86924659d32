//! The form an item is in — the design version its `_design` marker names — against
//! the form this code writes for its entity (`#[entity(design = "..")]`), and the
//! earlier forms a table knows how to read and upgrade ([`TableBuilder::upgrade`]).
//!
//! Every write of the current code checks the item's form in its condition: an item
//! in a newer form is refused (old code, still running after a migration, must not
//! write a form the new code reads differently); an item in an older form is
//! upgraded first when the table knows how, else refused. Reads convert an item of an
//! earlier form the table knows.
//!
//! [`TableBuilder::upgrade`]: crate::TableBuilder::upgrade

use super::Table;
use crate::DESIGN_ATTRIBUTE;
use onetable_core::{AttributeValue, EntitySchema, Error, Item, Version};
use std::sync::Arc;

/// Where an item's form stands against the form this code writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Form {
    /// The form this code writes.
    Current,
    /// An older one (`None`: the first, unmarked).
    Older(Option<String>),
    /// A newer one, or a marker this code cannot read.
    Newer(String),
}

/// The design marker of an item, if it has one.
pub(crate) fn marker(item: &Item) -> Option<&str> {
    match item.get(DESIGN_ATTRIBUTE) {
        Some(AttributeValue::S(marker)) => Some(marker),
        _ => None,
    }
}

/// The form `item` is in for code whose entity is `schema`.
pub(crate) fn form_of(schema: &EntitySchema, item: &Item) -> Form {
    compare(schema.design, marker(item))
}

/// Where an item marked `marker` stands for code writing design `design`.
pub(crate) fn compare(design: Option<&str>, marker: Option<&str>) -> Form {
    match (design, marker) {
        (None, None) => Form::Current,
        (None, Some(m)) => Form::Newer(m.to_owned()),
        (Some(_), None) => Form::Older(None),
        (Some(d), Some(m)) if d == m => Form::Current,
        (Some(d), Some(m)) => match (Version::parse(d), Version::parse(m)) {
            (Ok(d), Ok(v)) if v < d => Form::Older(Some(m.to_owned())),
            (Ok(d), Ok(v)) if v == d => Form::Current,
            _ => Form::Newer(m.to_owned()),
        },
    }
}

/// Converts an item of an earlier form into the current one, as the table writes it;
/// returns too the entity read as its earlier form writes it (which tells what the
/// conversion left as it was).
pub(crate) type Convert = Arc<dyn Fn(&Table, Item) -> Result<(Item, Item), Error> + Send + Sync>;

/// An earlier form of a registered entity that the table reads and upgrades.
#[derive(Clone)]
pub(crate) struct EarlierForm {
    /// The entity's name (both forms share it).
    pub entity: &'static str,
    /// The schema of the earlier form.
    pub schema: &'static EntitySchema,
    /// The schema of the current form.
    pub current: &'static EntitySchema,
    /// An item of the earlier form as the table writes the current one.
    pub convert: Convert,
}

impl EarlierForm {
    /// The earlier form's design (`None`: the first, unmarked).
    pub fn design(&self) -> Option<&'static str> {
        self.schema.design
    }
}
