//! The current schema, written after each migration as OneTable's `_Schema` item
//! (pk `_schema`, sk `_schema:Current`), so OneTable's tools can load this design.

use super::lease::Fence;
use super::Version;
use crate::table::Table;
use crate::write::Op;
use onetable_core::{AttributeValue, EntitySchema, Error, IndexKind, Part, Template, Timestamps};
use std::collections::HashMap;

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn map(entries: impl IntoIterator<Item = (String, AttributeValue)>) -> AttributeValue {
    AttributeValue::M(entries.into_iter().collect())
}

/// The name OneTable uses for a field: its attribute (inside its map when packed).
fn property(entity: &EntitySchema, field: &str) -> String {
    entity.field(field).map_or_else(|| field.to_owned(), |f| f.attribute.to_owned())
}

/// A template in OneTable's spelling, naming properties instead of Rust fields.
fn template(entity: &EntitySchema, template: &Template) -> String {
    template
        .parts
        .iter()
        .map(|p| match p {
            Part::Text(t) => (*t).to_owned(),
            Part::Var(v) => format!("${{{}}}", property(entity, v)),
            Part::Padded(v, pad) => format!("${{{}:{}:{}}}", property(entity, v), pad.width, pad.with),
        })
        .collect()
}

fn model(entity: &EntitySchema) -> AttributeValue {
    let mut fields: HashMap<String, AttributeValue> = HashMap::new();
    for index in entity.indexes {
        for key in index.key_attributes() {
            let value = template(entity, &key.template);
            fields.insert(
                key.attribute.to_owned(),
                map([("type".into(), s("string")), ("value".into(), s(&value))]),
            );
        }
    }
    for f in entity.fields {
        let mut def: Vec<(String, AttributeValue)> = vec![("type".into(), s(f.onetable_type))];
        if f.required {
            def.push(("required".into(), AttributeValue::Bool(true)));
        }
        if f.unique {
            def.push(("unique".into(), AttributeValue::Bool(true)));
        }
        if let Some(value) = f.value {
            def.push(("value".into(), s(&template(entity, value))));
        }
        if let Some(scope) = f.unique_scope {
            def.push(("scope".into(), s(&template(entity, scope))));
        }
        if f.ttl {
            def.push(("ttl".into(), AttributeValue::Bool(true)));
        }
        if let Some(m) = f.map {
            def.push(("map".into(), s(&format!("{m}.{}", f.attribute))));
        }
        if let Some(g) = f.generate {
            def.push((
                "generate".into(),
                s(if g == onetable_core::Generate::Ulid { "ulid" } else { "uuid" }),
            ));
        }
        fields.insert(f.attribute.to_owned(), map(def));
    }
    AttributeValue::M(fields)
}

/// Writes the `_Schema` item for the table's registered entities.
pub(crate) async fn save(table: &Table, version: &Version, fence: &Fence) -> Result<(), Error> {
    let t = &table.inner;
    let mut indexes: HashMap<String, AttributeValue> = HashMap::new();
    let mut primary = vec![("hash".to_owned(), s(&t.hash))];
    if let Some(sort) = &t.sort {
        primary.push(("sort".into(), s(sort)));
    }
    indexes.insert("primary".into(), map(primary));
    for index in &t.indexes {
        // OneTable's `project`: 'all', 'keys' or the attributes.
        let project = match index.include.as_deref() {
            None => s("all"),
            Some([]) => s("keys"),
            Some(attributes) => AttributeValue::L(attributes.iter().map(|a| s(a)).collect()),
        };
        let mut def = vec![("project".to_owned(), project)];
        if index.kind == IndexKind::Local {
            def.push(("type".into(), s("local")));
        } else {
            def.push(("hash".into(), s(&index.hash)));
        }
        if let Some(sort) = &index.sort {
            def.push(("sort".into(), s(sort)));
        }
        indexes.insert(index.name.clone(), map(def));
    }
    let models = map(t.entities.iter().map(|e| (e.name.to_owned(), model(e))));
    // OneTable has one setting for the table: the timestamps any entity carries (a
    // OneTable writer then stamps some items with an attribute onetable ignores,
    // rather than leave one out that onetable reads).
    let chosen = t.entities.iter().map(|e| table.timestamps(e));
    let (created, updated) = chosen.fold((false, false), |(c, u), t| (c || t.created(), u || t.updated()));
    let timestamps = match (created, updated) {
        (true, true) => Timestamps::Both,
        (true, false) => Timestamps::Create,
        (false, true) => Timestamps::Update,
        (false, false) => Timestamps::Off,
    };
    let timestamps = match timestamps {
        Timestamps::Off => AttributeValue::Bool(false),
        Timestamps::Both => AttributeValue::Bool(true),
        Timestamps::Create => s("create"),
        Timestamps::Update => s("update"),
    };
    let params = map([
        ("typeField".into(), s(t.format.type_field)),
        ("isoDates".into(), AttributeValue::Bool(t.format.iso_dates)),
        ("nulls".into(), AttributeValue::Bool(t.format.nulls)),
        ("timestamps".into(), timestamps),
        ("createdField".into(), s(&t.created)),
        ("updatedField".into(), s(&t.updated)),
    ]);
    let mut item = table.raw_key("_schema", "_schema:Current");
    item.insert(t.format.type_field.to_owned(), s("_Schema"));
    item.insert("format".into(), s("onetable:1.1.0"));
    item.insert("name".into(), s("Current"));
    item.insert("version".into(), s(&version.to_string()));
    item.insert("indexes".into(), AttributeValue::M(indexes));
    item.insert("models".into(), models);
    item.insert("params".into(), params);
    item.insert("queries".into(), AttributeValue::M(HashMap::new()));
    item.insert("process".into(), AttributeValue::M(HashMap::new()));
    fence.write(Op::Put(item), "_Schema").await
}

/// Removes the `_Schema` item once no migration is applied.
pub(crate) async fn remove(table: &Table, fence: &Fence) -> Result<(), Error> {
    fence.write(Op::Delete(table.raw_key("_schema", "_schema:Current")), "_Schema").await
}
