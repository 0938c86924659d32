//! The condition that makes a rewrite land only on the item as it was read, sized to
//! fit DynamoDB's expression limits whatever the item.
//!
//! What must not change between the read and the write depends on what the write
//! does. An in-place rewrite reads the attributes its entities own (the transform is
//! given the entity, nothing else) and writes only those: a change to any other
//! attribute meanwhile cannot be lost, because the rewrite does not touch it. So its
//! guard is the owned attributes alone — each one equal to the value read, or still
//! absent — whatever the number of other attributes the item holds: it fits for any
//! item of an entity of up to about 140 attributes. A move (a re-key) copies every
//! attribute to the new item, so its guard compares every attribute read as well, as
//! far as the limits allow; a wider item is moved with the owned attributes guarded,
//! and is listed by the plan (see the guide).

use crate::send::limits::{operators, MAX_EXPRESSION_BYTES, MAX_EXPRESSION_OPERATORS};
use crate::table::Table;
use crate::DESIGN_ATTRIBUTE;
use onetable_core::expr::Placeholders;
use onetable_core::{AttributeValue, EntitySchema, Error, ErrorKind, Item};
use std::collections::BTreeSet;

/// The attributes the forms of an entity own: everything they can write.
#[derive(Debug, Clone, Default)]
pub struct Owned {
    attributes: BTreeSet<String>,
}

impl Owned {
    /// What the entities `schemas` (an entity's forms, old and new) can write: their
    /// fields (a packed field's map), their index keys, the type attribute, the design
    /// marker and the timestamps they carry.
    pub fn of(table: &Table, schemas: &[&EntitySchema]) -> Owned {
        let mut attributes: BTreeSet<String> =
            [table.format().type_field.to_owned(), DESIGN_ATTRIBUTE.to_owned()].into();
        let (created, updated) = table.timestamp_attributes();
        for schema in schemas {
            attributes.extend(schema.fields.iter().map(|f| f.top_attribute().to_owned()));
            attributes.extend(
                schema.indexes.iter().flat_map(|i| i.key_attributes()).map(|k| k.attribute.to_owned()),
            );
            let timestamps = table.timestamps_of(schema);
            if timestamps.created() {
                attributes.insert(created.to_owned());
            }
            if timestamps.updated() {
                attributes.insert(updated.to_owned());
            }
        }
        Owned { attributes }
    }

    /// True when the entities own `attribute`.
    pub fn contains(&self, attribute: &str) -> bool {
        self.attributes.contains(attribute)
    }

    /// The owned attributes.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.attributes.iter().map(String::as_str)
    }
}

/// How much of the item a guard must cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cover {
    /// The owned attributes: what an in-place rewrite reads and writes.
    Owned,
    /// Every attribute read, as far as the limits allow: what a move copies.
    Everything,
}

/// A guard, and whether it compares every attribute of the item read.
pub(crate) struct Guard {
    pub condition: String,
    pub whole: bool,
}

/// The condition that `read` is unchanged: each owned attribute equal to its value
/// read (or still absent), and with [`Cover::Everything`] each other attribute read as
/// well, in name order, as long as the limits leave room. Keys are left out (they name
/// the item). Fails when the owned attributes alone do not fit.
pub(crate) fn guard(
    table: &Table,
    read: &Item,
    owned: &Owned,
    cover: Cover,
    p: &mut Placeholders,
) -> Result<Guard, Error> {
    let (hash, sort) = table.key_attributes();
    let is_key = |a: &str| a == hash || sort == Some(a);
    let mut parts: Vec<String> = Vec::with_capacity(owned.attributes.len() + 4);
    for attribute in owned.iter().filter(|a| !is_key(a)) {
        let name = p.name(attribute);
        parts.push(match read.get(attribute) {
            Some(value) => format!("{name} = {}", p.value(value.clone())),
            None => format!("attribute_not_exists({name})"),
        });
    }
    if parts.is_empty() {
        parts.push(format!("attribute_exists({})", p.name(hash)));
    }
    let mut condition = parts.join(" AND ");
    if !fits(&condition) {
        let entity =
            read.get(table.format().type_field).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
        return Err(ErrorKind::Schema(format!(
            "the attributes entity {entity} owns ({} of them) are too many to guard in one DynamoDB condition: \
             DynamoDB takes {MAX_EXPRESSION_OPERATORS} operators and {MAX_EXPRESSION_BYTES} bytes",
            owned.attributes.len()
        ))
        .into());
    }
    let mut whole = true;
    if cover == Cover::Everything {
        let mut others: Vec<(&String, &AttributeValue)> =
            read.iter().filter(|(a, _)| !is_key(a) && !owned.contains(a)).collect();
        others.sort_by(|a, b| a.0.cmp(b.0));
        for (attribute, value) in others {
            let mark = p.mark();
            let clause = format!("{} = {}", p.name(attribute), p.value(value.clone()));
            let longer = format!("{condition} AND {clause}");
            if fits(&longer) {
                condition = longer;
            } else {
                p.rewind(mark);
                whole = false;
            }
        }
    }
    Ok(Guard { condition, whole })
}

/// True when a condition is within DynamoDB's limits, with room left for the
/// clauses a write adds to it.
fn fits(condition: &str) -> bool {
    condition.len() + 64 <= MAX_EXPRESSION_BYTES && operators(condition) + 4 <= MAX_EXPRESSION_OPERATORS
}
