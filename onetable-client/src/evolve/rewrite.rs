//! One item's migration write, made only if the item is still exactly what the
//! migration read.
//!
//! Whoever else writes the table — this library's `update`, `put`, `remove`, batches
//! and transactions, or OneTable JS, which knows none of the attributes this library
//! adds — the migration must never undo an acknowledged write. So the condition of
//! every write compares the **whole image read**: each attribute read must still hold
//! the value read, and each attribute the entity knows but the item lacked must still
//! be absent (the design marker among them, which is what makes a replayed write,
//! a second worker or a woken migrator find the item already migrated). Any change in
//! between fails the condition; DynamoDB returns the item as it now is
//! (`ReturnValuesOnConditionCheckFailure`), and the caller transforms that again —
//! one round trip, no extra read.
//!
//! The cost: the request carries the old values besides the new ones (bytes, not
//! capacity: a condition costs no write units), and the expression grows with the
//! number of attributes (DynamoDB allows 4 KB of expression text: about 120
//! attributes).
//!
//! An in-place rewrite is an `UpdateItem` that sets what changed and removes what the
//! transform dropped, so attributes the entities do not know (another service's) stay
//! untouched. A re-key is a transaction of the new item's put (it must not exist yet)
//! and the old item's delete (unchanged since read): the one place where atomicity
//! across two items is needed.

use crate::raw::{Call, Transacted, Write, Written as Sent};
use crate::table::Table;
use onetable_core::expr::Placeholders;
use onetable_core::{AttributeValue, EntitySchema, Error, Item};
use std::collections::BTreeSet;

/// What became of one conditional write.
#[derive(Debug)]
pub enum Written {
    /// It landed.
    Done,
    /// Someone changed the item since it was read: here it is now.
    Changed(Item),
    /// The item is gone (the application removed it, or moved it).
    Gone,
    /// A re-key found the new item written already (by the application).
    NewExists,
    /// A transaction collided with another write of the same item: read it again.
    Conflict,
}

/// The attributes an item of the migrated entities can hold: the condition requires
/// each one the item lacked to be still absent.
pub type Known = BTreeSet<String>;

/// Every attribute the entities can write: the condition requires those an item
/// lacked to be still absent, and an in-place rewrite removes those the transform
/// dropped (attributes no entity knows are left alone).
pub fn known(table: &Table, schemas: &[&EntitySchema]) -> Known {
    let mut known: Known = [table.format().type_field.to_owned(), crate::DESIGN_ATTRIBUTE.to_owned()].into();
    let (created, updated) = table.timestamp_attributes();
    for schema in schemas {
        known.extend(schema.fields.iter().map(|f| f.top_attribute().to_owned()));
        known.extend(schema.indexes.iter().flat_map(|i| i.key_attributes()).map(|k| k.attribute.to_owned()));
        let timestamps = table.timestamps_of(schema);
        if timestamps.created() {
            known.insert(created.to_owned());
        }
        if timestamps.updated() {
            known.insert(updated.to_owned());
        }
    }
    known
}

/// `every attribute as read, every known attribute absent as read`, keys excepted
/// (the key names the item).
fn unchanged(table: &Table, read: &Item, known: &Known, p: &mut Placeholders) -> String {
    let (hash, sort) = table.key_attributes();
    let is_key = |a: &str| a == hash || sort == Some(a);
    let mut parts: Vec<String> = Vec::with_capacity(read.len() + 4);
    // Sorted, so that one item's expression is the same whatever the map's order.
    let mut present: Vec<(&String, &AttributeValue)> = read.iter().filter(|(a, _)| !is_key(a)).collect();
    present.sort_by(|a, b| a.0.cmp(b.0));
    for (attribute, value) in present {
        let (name, value) = (p.name(attribute), p.value(value.clone()));
        parts.push(format!("{name} = {value}"));
    }
    for attribute in known.iter().filter(|a| !is_key(a) && !read.contains_key(*a)) {
        parts.push(format!("attribute_not_exists({})", p.name(attribute)));
    }
    if parts.is_empty() {
        // An item of keys alone: it must still exist.
        parts.push(format!("attribute_exists({})", p.name(hash)));
    }
    parts.join(" AND ")
}

fn written(sent: Sent) -> (Written, f64) {
    match sent {
        Sent::Done { units, .. } => (Written::Done, units),
        Sent::Refused { current } => (current.map_or(Written::Gone, Written::Changed), 1.0),
    }
}

/// Rewrites the item where it is: sets the attributes whose value changed, removes
/// the known ones the new item no longer has.
pub async fn in_place(
    table: &Table,
    call: &Call,
    read: &Item,
    new: &Item,
    known: &Known,
) -> Result<(Written, f64), Error> {
    let (hash, sort) = table.key_attributes();
    let is_key = |a: &str| a == hash || sort == Some(a);
    let mut p = Placeholders::new();
    let mut set = Vec::new();
    let mut changed: Vec<(&String, &AttributeValue)> =
        new.iter().filter(|(a, v)| !is_key(a) && read.get(*a) != Some(*v)).collect();
    changed.sort_by(|a, b| a.0.cmp(b.0));
    for (attribute, value) in changed {
        let (name, value) = (p.name(attribute), p.value(value.clone()));
        set.push(format!("{name} = {value}"));
    }
    let mut removed: Vec<&String> =
        read.keys().filter(|a| !is_key(a) && known.contains(*a) && !new.contains_key(*a)).collect();
    removed.sort();
    let remove: Vec<String> = removed.into_iter().map(|a| p.name(a).into_owned()).collect();
    let condition = unchanged(table, read, known, &mut p);
    let mut expression = String::new();
    if !set.is_empty() {
        expression = format!("SET {}", set.join(", "));
    }
    if !remove.is_empty() {
        if !expression.is_empty() {
            expression.push(' ');
        }
        expression.push_str(&format!("REMOVE {}", remove.join(", ")));
    }
    if expression.is_empty() {
        return Ok((Written::Done, 0.0));
    }
    let write =
        Write::update(call.entity(), table.key_of(read), expression).condition(condition).placeholders(p);
    Ok(written(table.raw().write(call, write).await?))
}

/// Moves the item to its new key: puts `new` (which must not exist yet) and deletes
/// the item read (which must be unchanged), in one transaction.
pub async fn moved(
    table: &Table,
    call: &Call,
    read: &Item,
    new: Item,
    known: &Known,
) -> Result<(Written, f64), Error> {
    let mut p = Placeholders::new();
    let absent = format!("attribute_not_exists({})", p.name(table.key_attributes().0));
    let put = Write::put(call.entity(), new).condition(absent).placeholders(p);
    let mut p = Placeholders::new();
    let condition = unchanged(table, read, known, &mut p);
    let delete = Write::delete(call.entity(), table.key_of(read)).condition(condition).placeholders(p);
    match table.raw().transact(call, vec![put, delete], None).await? {
        Transacted::Done { units } => Ok((Written::Done, units)),
        Transacted::Cancelled(reasons) => {
            let reason = |i: usize| reasons.get(i).cloned().unwrap_or_default();
            if reason(1).is_condition_failed() {
                return Ok((reason(1).item.map_or(Written::Gone, Written::Changed), 2.0));
            }
            if reason(0).is_condition_failed() {
                return Ok((Written::NewExists, 2.0));
            }
            Ok((Written::Conflict, 0.0))
        }
    }
}

/// Moves the item to its new key ([`moved`]); when the application wrote the new form
/// already, that stands and the old form is removed instead ([`superseded`]), which
/// ends as [`Written::NewExists`].
pub async fn relocate(
    table: &Table,
    call: &Call,
    read: &Item,
    new: Item,
    known: &Known,
) -> Result<(Written, f64), Error> {
    match moved(table, call, read, new, known).await? {
        (Written::NewExists, spent) => {
            let (written, units) = superseded(table, call, read, known).await?;
            let written = if matches!(written, Written::Done) { Written::NewExists } else { written };
            Ok((written, spent + units))
        }
        other => Ok(other),
    }
}

/// Deletes the item read, if it is unchanged: an old-form item whose new form the
/// application wrote already.
pub async fn superseded(
    table: &Table,
    call: &Call,
    read: &Item,
    known: &Known,
) -> Result<(Written, f64), Error> {
    let mut p = Placeholders::new();
    let condition = unchanged(table, read, known, &mut p);
    let write = Write::delete(call.entity(), table.key_of(read)).condition(condition).placeholders(p);
    Ok(written(table.raw().write(call, write).await?))
}

/// What the new form of an item keeps of the item read: its timestamps (a migration
/// is no change of the item's data) and the attributes no entity knows (another
/// service's).
pub fn carry_over(table: &Table, read: &Item, new: &mut Item, known: &Known) {
    let (created, updated) = table.timestamp_attributes();
    for stamp in [created, updated] {
        if let (Some(value), true) = (read.get(stamp), new.contains_key(stamp)) {
            new.insert(stamp.to_owned(), value.clone());
        }
    }
    for (attribute, value) in read {
        if !known.contains(attribute) && !new.contains_key(attribute) {
            new.insert(attribute.clone(), value.clone());
        }
    }
}

/// Puts `item` unless an item is stored under its key already; returns the write
/// units it consumed (none when one was there).
pub async fn create_absent(table: &Table, call: &Call, item: Item) -> Result<f64, Error> {
    let mut p = Placeholders::new();
    let absent = format!("attribute_not_exists({})", p.name(table.key_attributes().0));
    let write = Write::put(call.entity(), item).condition(absent).placeholders(p);
    Ok(match table.raw().write(call, write).await? {
        Sent::Done { units, .. } => units,
        _ => 0.0,
    })
}
