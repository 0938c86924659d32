//! The design as OneTable's `_Schema` item (pk `_schema`, sk `_schema:Current`), so
//! OneTable's tools can load it: the migration engine writes it after each migration.

use crate::keys::SCHEMA_PARTITION;
use crate::table::Table;
use onetable_core::{AttributeValue, EntitySchema, IndexKind, Item, Part, Template, Timestamps, Version};
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
        // OneTable's spelling of a regular expression in a saved schema: /source/flags.
        if let Some(pattern) = f.rules.and_then(|r| r.pattern) {
            def.push(("validate".into(), s(&format!("/{pattern}/"))));
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

impl Table {
    /// The key of the `_Schema` item.
    pub fn schema_item_key(&self) -> Item {
        self.key_from_text(SCHEMA_PARTITION, "_schema:Current")
    }

    /// The `_Schema` item of this design at `version`, as OneTable writes it: the
    /// registered entities as models, the indexes, the table's parameters.
    pub fn schema_item(&self, version: &Version) -> Item {
        schema_item(self, version)
    }
}

fn schema_item(table: &Table, version: &Version) -> Item {
    let (hash, sort) = table.key_attributes();
    let format = table.format();
    let mut indexes: HashMap<String, AttributeValue> = HashMap::new();
    let mut primary = vec![("hash".to_owned(), s(hash))];
    if let Some(sort) = sort {
        primary.push(("sort".into(), s(sort)));
    }
    indexes.insert("primary".into(), map(primary));
    for index in table.indexes() {
        // OneTable's `project`: 'all', 'keys' or the attributes.
        let project = match index.include.as_deref() {
            None => s("all"),
            Some([]) => s("keys"),
            Some(attributes) => AttributeValue::L(attributes.iter().map(|a| s(a)).collect()),
        };
        let mut def = vec![("project".to_owned(), project)];
        // One attribute as OneTable writes it; a multi-attribute key as the list of
        // its attributes, in order (OneTable cannot declare one, but reads the rest).
        let names = |keys: &[(String, onetable_core::ScalarType)]| match keys {
            [(one, _)] => s(one),
            many => AttributeValue::L(many.iter().map(|(a, _)| s(a)).collect()),
        };
        if index.kind == IndexKind::Local {
            def.push(("type".into(), s("local")));
        } else {
            def.push(("hash".into(), names(&index.hash)));
        }
        if !index.sort.is_empty() {
            def.push(("sort".into(), names(&index.sort)));
        }
        indexes.insert(index.name.clone(), map(def));
    }
    let models = map(table.entities().iter().map(|e| (e.name.to_owned(), model(e))));
    // OneTable has one setting for the table: the timestamps any entity carries (a
    // OneTable writer then stamps some items with an attribute onetable ignores,
    // rather than leave one out that onetable reads).
    let chosen = table.entities().iter().map(|e| table.timestamps_of(e));
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
    let (created, updated) = table.timestamp_attributes();
    let params = map([
        ("typeField".into(), s(format.type_field)),
        ("isoDates".into(), AttributeValue::Bool(format.iso_dates)),
        ("nulls".into(), AttributeValue::Bool(format.nulls)),
        ("timestamps".into(), timestamps),
        ("createdField".into(), s(created)),
        ("updatedField".into(), s(updated)),
    ]);
    let mut item = table.schema_item_key();
    item.insert(format.type_field.to_owned(), s("_Schema"));
    item.insert("format".into(), s("onetable:1.1.0"));
    item.insert("name".into(), s("Current"));
    item.insert("version".into(), s(&version.to_string()));
    item.insert("indexes".into(), AttributeValue::M(indexes));
    item.insert("models".into(), models);
    item.insert("params".into(), params);
    item.insert("queries".into(), AttributeValue::M(HashMap::new()));
    item.insert("process".into(), AttributeValue::M(HashMap::new()));
    item
}
