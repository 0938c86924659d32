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

use crate::error::{is_condition_failed, old_item, sdk};
use crate::table::Table;
use crate::write::key_of;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    ConsumedCapacity, Delete, Put, ReturnConsumedCapacity, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem,
};
use onetable_core::expr::Placeholders;
use onetable_core::{AttributeValue, Error, ErrorKind, Item};
use std::collections::BTreeSet;

/// What became of one conditional write.
#[derive(Debug)]
pub(crate) enum Written {
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
pub(crate) type Known = BTreeSet<String>;

fn units(consumed: Option<&ConsumedCapacity>) -> f64 {
    consumed.and_then(ConsumedCapacity::capacity_units).unwrap_or(0.0)
}

/// `every attribute as read, every known attribute absent as read`, keys excepted
/// (the key names the item).
fn unchanged(table: &Table, read: &Item, known: &Known, p: &mut Placeholders) -> String {
    let t = &table.inner;
    let is_key = |a: &str| a == t.hash || t.sort.as_deref() == Some(a);
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
        parts.push(format!("attribute_exists({})", p.name(&t.hash)));
    }
    parts.join(" AND ")
}

/// Rewrites the item where it is: sets the attributes whose value changed, removes
/// the known ones the new item no longer has.
pub(crate) async fn in_place(
    table: &Table,
    read: &Item,
    new: &Item,
    known: &Known,
) -> Result<(Written, f64), Error> {
    let t = &table.inner;
    let is_key = |a: &str| a == t.hash || t.sort.as_deref() == Some(a);
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
    let (names, values) = p.into_maps();
    let result = t
        .client
        .update_item()
        .table_name(&t.name)
        .set_key(Some(key_of(table, read)))
        .update_expression(expression)
        .condition_expression(condition)
        .set_expression_attribute_names(names)
        .set_expression_attribute_values(values)
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await;
    match result {
        Ok(out) => Ok((Written::Done, units(out.consumed_capacity()))),
        Err(e) if is_condition_failed(&e) => Ok((old_item(&e).map_or(Written::Gone, Written::Changed), 1.0)),
        Err(e) => Err(sdk("migration write", &t.name, e)),
    }
}

/// Moves the item to its new key: puts `new` (which must not exist yet) and deletes
/// the item read (which must be unchanged), in one transaction.
pub(crate) async fn moved(
    table: &Table,
    read: &Item,
    new: Item,
    known: &Known,
) -> Result<(Written, f64), Error> {
    let t = &table.inner;
    let build_error = |e: aws_sdk_dynamodb::error::BuildError| -> Error {
        ErrorKind::Dynamo { operation: "migration write", table: t.name.clone(), source: Box::new(e) }.into()
    };
    let old = Some(ReturnValuesOnConditionCheckFailure::AllOld);
    let put = Put::builder()
        .table_name(&t.name)
        .set_item(Some(new))
        .condition_expression("attribute_not_exists(#h)")
        .expression_attribute_names("#h", &t.hash)
        .set_return_values_on_condition_check_failure(old.clone())
        .build()
        .map_err(build_error)?;
    let mut p = Placeholders::new();
    let condition = unchanged(table, read, known, &mut p);
    let (names, values) = p.into_maps();
    let delete = Delete::builder()
        .table_name(&t.name)
        .set_key(Some(key_of(table, read)))
        .condition_expression(condition)
        .set_expression_attribute_names(names)
        .set_expression_attribute_values(values)
        .set_return_values_on_condition_check_failure(old)
        .build()
        .map_err(build_error)?;
    let result = t
        .client
        .transact_write_items()
        .transact_items(TransactWriteItem::builder().put(put).build())
        .transact_items(TransactWriteItem::builder().delete(delete).build())
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await;
    match result {
        Ok(out) => Ok((Written::Done, out.consumed_capacity().iter().map(|c| units(Some(c))).sum())),
        Err(e) => {
            if let Some(TransactWriteItemsError::TransactionCanceledException(cancel)) = e.as_service_error()
            {
                let reasons = cancel.cancellation_reasons();
                let code = |i: usize| reasons.get(i).and_then(|r| r.code());
                if code(1) == Some("ConditionalCheckFailed") {
                    let now = reasons.get(1).and_then(|r| r.item.clone());
                    return Ok((now.map_or(Written::Gone, Written::Changed), 2.0));
                }
                if code(0) == Some("ConditionalCheckFailed") {
                    return Ok((Written::NewExists, 2.0));
                }
                if reasons.iter().any(|r| r.code() == Some("TransactionConflict")) {
                    return Ok((Written::Conflict, 0.0));
                }
            }
            Err(sdk("migration write", &t.name, e))
        }
    }
}

/// Moves the item to its new key ([`moved`]); when the application wrote the new form
/// already, that stands and the old form is removed instead ([`superseded`]), which
/// ends as [`Written::NewExists`].
pub(crate) async fn relocate(
    table: &Table,
    read: &Item,
    new: Item,
    known: &Known,
) -> Result<(Written, f64), Error> {
    match moved(table, read, new, known).await? {
        (Written::NewExists, spent) => {
            let (written, units) = superseded(table, read, known).await?;
            let written = if matches!(written, Written::Done) { Written::NewExists } else { written };
            Ok((written, spent + units))
        }
        other => Ok(other),
    }
}

/// Deletes the item read, if it is unchanged: an old-form item whose new form the
/// application wrote already.
pub(crate) async fn superseded(table: &Table, read: &Item, known: &Known) -> Result<(Written, f64), Error> {
    let t = &table.inner;
    let mut p = Placeholders::new();
    let condition = unchanged(table, read, known, &mut p);
    let (names, values) = p.into_maps();
    let result = t
        .client
        .delete_item()
        .table_name(&t.name)
        .set_key(Some(key_of(table, read)))
        .condition_expression(condition)
        .set_expression_attribute_names(names)
        .set_expression_attribute_values(values)
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await;
    match result {
        Ok(out) => Ok((Written::Done, units(out.consumed_capacity()))),
        Err(e) if is_condition_failed(&e) => Ok((old_item(&e).map_or(Written::Gone, Written::Changed), 1.0)),
        Err(e) => Err(sdk("migration write", &t.name, e)),
    }
}

/// What the new form of an item keeps of the item read: its timestamps (a migration
/// is no change of the item's data) and the attributes no entity knows (another
/// service's).
pub(crate) fn carry_over(table: &Table, read: &Item, new: &mut Item, known: &Known) {
    let t = &table.inner;
    for stamp in [&t.created, &t.updated] {
        if let (Some(value), true) = (read.get(stamp), new.contains_key(stamp)) {
            new.insert(stamp.clone(), value.clone());
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
pub(crate) async fn create_absent(table: &Table, item: Item, operation: &'static str) -> Result<f64, Error> {
    let t = &table.inner;
    let result = t
        .client
        .put_item()
        .table_name(&t.name)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(#h)")
        .expression_attribute_names("#h", &t.hash)
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await;
    match result {
        Ok(out) => Ok(units(out.consumed_capacity())),
        Err(e) if is_condition_failed(&e) => Ok(0.0),
        Err(e) => Err(sdk(operation, &t.name, e)),
    }
}

/// The item under `key` now, read strongly consistently (after a transaction
/// conflict, which returns no item).
pub(crate) async fn reread(table: &Table, key: Item) -> Result<Option<Item>, Error> {
    let t = &table.inner;
    let out = t
        .client
        .get_item()
        .table_name(&t.name)
        .set_key(Some(key))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| sdk("migration read", &t.name, e))?;
    Ok(out.item)
}
