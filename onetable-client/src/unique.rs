//! Unique fields: OneTable's sentinel items (`_unique#<Entity>#<attribute>#<value>`,
//! `_unique#<scope>#<Entity>#…` for a value unique within a scope), claimed, swapped
//! and released in the same transaction as the item's own write.

use crate::table::Table;
use crate::write::{Op, Role, Write};
use onetable_core::{
    key_text, AttributeValue, Entity, EntitySchema, Error, ErrorKind, FieldSchema, Input, Item, Rendered,
};
use std::collections::HashMap;

/// A unique field's value in an item, and the scope it is unique in.
#[derive(Debug, Clone)]
pub(crate) struct UniqueValue {
    pub field: &'static FieldSchema,
    /// The rendered `unique(scope = ..)`, if the field has one.
    pub scope: Option<String>,
    pub value: String,
}

/// Two values are the same when they have the same sentinel: the same stored
/// attribute (and map), scope and value — whatever the field is called in each form
/// of the entity, so that a rename of the stored attribute moves the sentinel and a
/// rename of the field alone does not.
impl PartialEq for UniqueValue {
    fn eq(&self, other: &Self) -> bool {
        (self.field.attribute, self.field.map, &self.scope, &self.value)
            == (other.field.attribute, other.field.map, &other.scope, &other.value)
    }
}

/// A field's attribute in an item (inside its map when packed).
pub(crate) fn field_attr<'i>(item: &'i Item, f: &FieldSchema) -> Option<&'i AttributeValue> {
    match f.map {
        Some(map) => item.get(map).and_then(|m| m.as_m().ok()).and_then(|m| m.get(f.attribute)),
        None => item.get(f.attribute),
    }
}

/// A unique field's sentinel key, as OneTable writes it:
/// `_unique#[<scope>#]<Entity>#<attribute>#<value>` (`<map>,<attribute>` for a packed
/// field).
pub(crate) fn sentinel_key(table: &Table, entity: &str, unique: &UniqueValue) -> Item {
    let (hash_attribute, sort_attribute) = table.key_attributes();
    let field = unique.field;
    let attribute = match field.map {
        Some(map) => format!("{map},{}", field.attribute),
        None => field.attribute.to_owned(),
    };
    let scope = unique.scope.as_deref().map_or(String::new(), |s| format!("{s}#"));
    let mut key = Item::new();
    let hash = format!("_unique#{scope}{entity}#{attribute}#{}", unique.value);
    key.insert(hash_attribute.to_owned(), AttributeValue::S(hash));
    if let Some(sort) = sort_attribute {
        key.insert(sort.to_owned(), AttributeValue::S("_unique#".into()));
    }
    key
}

/// Claims a sentinel: fails if another item holds the value.
pub(crate) fn claim(table: &Table, entity: &'static str, unique: UniqueValue) -> Write {
    let mut item = sentinel_key(table, entity, &unique);
    item.insert(table.format().type_field.to_owned(), AttributeValue::S("_Unique".into()));
    let names = HashMap::from([("#h".to_owned(), table.key_attributes().0.to_owned())]);
    Write {
        op: Op::Put(item),
        condition: Some("attribute_not_exists(#h)".into()),
        names: Some(names),
        values: None,
        role: Role::Unique { entity, field: unique.field.name, value: unique.value },
        returns: None,
    }
}

/// Releases a sentinel.
pub(crate) fn release(table: &Table, entity: &str, unique: &UniqueValue) -> Write {
    Write {
        op: Op::Delete(sentinel_key(table, entity, unique)),
        condition: None,
        names: None,
        values: None,
        role: Role::Release,
        returns: None,
    }
}

pub(crate) fn has_unique<E: Entity>() -> bool {
    E::SCHEMA.fields.iter().any(|f| f.unique)
}

/// True when `field` is a variable of some unique field's scope.
pub(crate) fn is_scope_input<E: Entity>(field: &str) -> bool {
    E::SCHEMA.fields.iter().filter_map(|f| f.unique_scope).any(|s| s.variables().any(|v| v == field))
}

/// The unique fields' values in an item, as their sentinels spell them, with their
/// scopes rendered from the item. A scope whose variable the item lacks cannot name a
/// sentinel: an error, rather than a sentinel in the wrong scope.
pub(crate) fn unique_values<E: Entity>(item: &Item) -> Result<Vec<UniqueValue>, Error> {
    unique_values_of(E::SCHEMA, item)
}

/// The unique values `item` stores, read by the form of `E` it is in (an earlier
/// form the table knows may keep them under other attributes).
pub(crate) fn stored_unique_values<E: Entity>(table: &Table, item: &Item) -> Result<Vec<UniqueValue>, Error> {
    unique_values_of(table.form_schema(E::SCHEMA, item), item)
}

/// [`unique_values`] of an entity known by its schema.
pub(crate) fn unique_values_of(
    schema: &'static EntitySchema,
    item: &Item,
) -> Result<Vec<UniqueValue>, Error> {
    let entity = schema.name;
    let mut values = Vec::new();
    for field in schema.fields.iter().filter(|f| f.unique) {
        let Some(value) = field_attr(item, field).and_then(|v| key_text(v, field.onetable_type)) else {
            continue;
        };
        let scope = match field.unique_scope {
            None => None,
            Some(template) => {
                let input = |name: &'static str| {
                    let text = schema
                        .field(name)
                        .and_then(|f| field_attr(item, f).and_then(|v| key_text(v, f.onetable_type)));
                    text.map_or(Input::Absent, |t| Input::Text(t.into()))
                };
                match template.render(entity, input)? {
                    Rendered::Key(scope) => Some(scope),
                    Rendered::Absent(missing) | Rendered::Partial { missing, .. } => {
                        let message = format!(
                            "{entity}.{} is unique within \"{}\", which needs {entity}.{missing}",
                            field.name, template.source
                        );
                        return Err(ErrorKind::Invalid { entity, message }.into());
                    }
                }
            }
        };
        values.push(UniqueValue { field, scope, value });
    }
    Ok(values)
}

/// Releases the sentinels of values that go away and claims those of new values.
pub(crate) fn sentinel_changes<E: Entity>(
    table: &Table,
    before: &[UniqueValue],
    after: &[UniqueValue],
) -> Vec<Write> {
    sentinel_changes_of(table, E::SCHEMA, before, after)
}

/// [`sentinel_changes`] of an entity known by its schema.
pub(crate) fn sentinel_changes_of(
    table: &Table,
    schema: &'static EntitySchema,
    before: &[UniqueValue],
    after: &[UniqueValue],
) -> Vec<Write> {
    let mut writes = Vec::new();
    for field in schema.fields.iter().filter(|f| f.unique) {
        let old = before.iter().find(|u| u.field.name == field.name);
        let new = after.iter().find(|u| u.field.name == field.name);
        if old == new {
            continue;
        }
        if let Some(old) = old {
            writes.push(release(table, schema.name, old));
        }
        if let Some(new) = new {
            writes.push(claim(table, schema.name, new.clone()));
        }
    }
    writes
}
