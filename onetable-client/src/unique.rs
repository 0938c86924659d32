//! Unique fields: OneTable's sentinel items (`_unique#<Entity>#<attribute>#<value>`),
//! claimed, swapped and released in the same transaction as the item's own write.

use crate::table::Table;
use crate::write::{Op, Role, Write};
use onetable_core::{AttributeValue, Entity, Item};
use std::collections::HashMap;

/// A unique field's sentinel key, as OneTable writes it:
/// `_unique#<Entity>#<attribute>#<value>` (`<map>,<attribute>` for a packed field).
pub(crate) fn sentinel_key(
    table: &Table,
    entity: &str,
    field: &onetable_core::FieldSchema,
    value: &str,
) -> Item {
    let t = &table.inner;
    let attribute = match field.map {
        Some(map) => format!("{map},{}", field.attribute),
        None => field.attribute.to_owned(),
    };
    let mut key = Item::new();
    key.insert(t.hash.clone(), AttributeValue::S(format!("_unique#{entity}#{attribute}#{value}")));
    if let Some(sort) = &t.sort {
        key.insert(sort.clone(), AttributeValue::S("_unique#".into()));
    }
    key
}

/// Claims a sentinel: fails if another item holds the value.
pub(crate) fn claim(
    table: &Table,
    entity: &'static str,
    field: &'static onetable_core::FieldSchema,
    value: String,
) -> Write {
    let t = &table.inner;
    let mut item = sentinel_key(table, entity, field, &value);
    item.insert(t.format.type_field.to_owned(), AttributeValue::S("_Unique".into()));
    let names = HashMap::from([("#h".to_owned(), t.hash.clone())]);
    Write {
        op: Op::Put(item),
        condition: Some("attribute_not_exists(#h)".into()),
        names: Some(names),
        values: None,
        role: Role::Unique { entity, field: field.name, value },
    }
}

/// Releases a sentinel.
pub(crate) fn release(table: &Table, entity: &str, field: &onetable_core::FieldSchema, value: &str) -> Write {
    Write {
        op: Op::Delete(sentinel_key(table, entity, field, value)),
        condition: None,
        names: None,
        values: None,
        role: Role::Release,
    }
}

pub(crate) fn has_unique<E: Entity>() -> bool {
    E::SCHEMA.fields.iter().any(|f| f.unique)
}

/// The unique fields' values in an item, as their sentinels spell them.
pub(crate) fn unique_values<E: Entity>(item: &Item) -> Vec<(&'static onetable_core::FieldSchema, String)> {
    E::SCHEMA
        .fields
        .iter()
        .filter(|f| f.unique)
        .filter_map(|f| {
            let value = match f.map {
                Some(map) => item.get(map).and_then(|m| m.as_m().ok()).and_then(|m| m.get(f.attribute)),
                None => item.get(f.attribute),
            }?;
            Some((f, onetable_core::key_text(value, f.onetable_type)?))
        })
        .collect()
}

/// Releases the sentinels of values that go away and claims those of new values.
pub(crate) fn sentinel_changes<E: Entity>(
    table: &Table,
    before: &[(&'static onetable_core::FieldSchema, String)],
    after: &[(&'static onetable_core::FieldSchema, String)],
) -> Vec<Write> {
    let mut writes = Vec::new();
    for field in E::SCHEMA.fields.iter().filter(|f| f.unique) {
        let old = before.iter().find(|(f, _)| f.name == field.name).map(|(_, v)| v);
        let new = after.iter().find(|(f, _)| f.name == field.name).map(|(_, v)| v);
        if old == new {
            continue;
        }
        if let Some(old) = old {
            writes.push(release(table, E::SCHEMA.name, field, old));
        }
        if let Some(new) = new {
            writes.push(claim(table, E::SCHEMA.name, field, new.clone()));
        }
    }
    writes
}
