//! Validate stage: every rule of a single-table schema that can be checked at compile
//! time, with all errors collected and each pointing at the token at fault.
//!
//! Type rules (a key variable must be key-able, a version an integer, a TTL a time)
//! are left to the compiler through trait bounds that `generate` spans on the field's
//! type, so they too arrive in the same build.

use super::parse::{Entity, KeyDecl, Project};
use crate::diag::Errors;
use crate::field::{is_optional, Field};
use crate::template::{self, Parsed};
use proc_macro2::Span;
use std::collections::HashMap;
use syn::LitStr;

/// The type attribute's default name (OneTable's `typeField`).
pub const TYPE_FIELD: &str = "_type";

pub struct Schema<'a> {
    pub entity: &'a Entity,
    pub name: String,
    /// The design version, normalized (`"0.3.0"`).
    pub design: Option<String>,
    /// The primary index first.
    pub indexes: Vec<Index>,
    pub fields: Vec<Stored<'a>>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Primary,
    Global,
    Local,
}

pub struct Index {
    pub name: String,
    pub kind: Kind,
    pub hash: Option<KeyAttr>,
    pub sort: Option<KeyAttr>,
    pub projection: Projection,
    /// Keyed on a list of fields (`pk = [org, team]`): `hash` and `sort` are `None`.
    pub multi: Option<super::multi::Multi>,
}

/// What a secondary index holds: everything, the keys, or the keys and attributes.
pub enum Projection {
    All,
    KeysOnly,
    Include(Vec<String>),
}

pub struct KeyAttr {
    pub attribute: String,
    pub source: LitStr,
    pub parsed: Parsed,
}

/// A field and where it is stored.
pub struct Stored<'a> {
    pub field: &'a Field,
    pub attribute: String,
    pub map: Option<String>,
    pub generate: Option<Generate>,
    /// The parsed template of `unique(scope = "..")`.
    pub scope: Option<Parsed>,
    /// The parsed template of `value = ".."`.
    pub value: Option<Parsed>,
}

#[derive(Clone, Copy)]
pub enum Generate {
    Ulid,
    Uuid,
}

impl Schema<'_> {
    pub fn field(&self, name: &str) -> Option<&Stored<'_>> {
        self.fields.iter().find(|f| f.field.name() == name)
    }
}

pub fn validate<'a>(entity: &'a Entity, errors: &mut Errors) -> Schema<'a> {
    if !entity.generics.params.is_empty() {
        errors.at(&entity.generics, "an entity cannot be generic: its schema is one static value");
    }
    let name = entity.name.as_ref().map_or_else(|| entity.ident.to_string(), LitStr::value);
    if name.is_empty() {
        errors.at(entity.name.as_ref(), "the entity name cannot be empty");
    }
    let design = entity.design.as_ref().and_then(|lit| {
        let version = super::design::normalize(&lit.value());
        if version.is_none() {
            errors.at(lit, "design must be MAJOR.MINOR.PATCH, such as \"0.3.0\"");
        }
        version
    });

    let mut indexes = Vec::new();
    match &entity.key {
        None => errors.at(
            &entity.ident,
            "missing #[key(pk = \"...\")]: every entity needs a partition key template, such as #[key(pk = \"USER#${id}\")]",
        ),
        Some(key) => {
            // A list given instead was refused where it was parsed.
            if key.pk.is_none() && key.pk_fields.is_none() {
                errors.at(&key.attr, "#[key(..)] needs `pk = \"...\"`, the partition key template");
            }
            indexes.push(index("primary", Kind::Primary, key, "pk", "sk", errors));
        }
    }
    let mut names: HashMap<String, Span> = HashMap::new();
    for decl in &entity.indexes {
        let Some(lit) = &decl.name else {
            errors.at(&decl.key.attr, "#[index(..)] needs `name = \"...\"`, the DynamoDB index name");
            continue;
        };
        let index_name = lit.value();
        if index_name == "primary" {
            errors.at(lit, "`primary` is the table's own key; give the index another name");
        } else if names.insert(index_name.clone(), lit.span()).is_some() {
            errors.at(lit, format!("duplicate index name `{index_name}`"));
        }
        let kind = if decl.local { Kind::Local } else { Kind::Global };
        if super::multi::declared(&decl.key) {
            // Checked against the stored fields below.
            let projection = Projection::All;
            indexes.push(Index { name: index_name, kind, hash: None, sort: None, projection, multi: None });
            continue;
        }
        if decl.local && decl.key.pk.is_some() {
            errors.at(&decl.key.attr, "a local index shares the table's partition key: give it only `sk`");
        }
        if decl.local && decl.key.sk.is_none() {
            errors.at(&decl.key.attr, "a local index needs `sk = \"...\"`, its sort key template");
        }
        if !decl.local && decl.key.pk.is_none() {
            errors.at(&decl.key.attr, "a global index needs `pk = \"...\"`, its partition key template");
        }
        let (pk, sk) = (format!("{index_name}pk"), format!("{index_name}sk"));
        indexes.push(index(&index_name, kind, &decl.key, &pk, &sk, errors));
    }

    let fields = stored_fields(entity, errors);
    for decl in entity.indexes.iter().filter(|d| super::multi::declared(&d.key)) {
        let Some(name) = &decl.name else { continue };
        let Some(index) = indexes.iter_mut().find(|i| i.name == name.value()) else { continue };
        index.multi = super::multi::validate(&decl.key, index.kind, &fields, &entity.ident, errors);
    }
    for decl in &entity.indexes {
        let (Some(project), Some(name)) = (&decl.project, &decl.name) else { continue };
        let Some(index) = indexes.iter_mut().find(|i| i.name == name.value()) else { continue };
        index.projection = projection(project, &fields, errors);
    }
    let schema = Schema { entity, name, design, indexes, fields };
    check_attributes(&schema, errors);
    check_template_variables(&schema, errors);
    schema
}

/// `project = ..` as the index's projection: fields named by their Rust names, stored
/// as their (top-level) attributes.
fn projection(project: &Project, fields: &[Stored<'_>], errors: &mut Errors) -> Projection {
    match project {
        Project::Named(lit) => match lit.value().as_str() {
            "all" => Projection::All,
            "keys" => Projection::KeysOnly,
            other => {
                errors.at(
                    lit,
                    format!("unknown projection `{other}`: expected \"all\", \"keys\" or a list of fields"),
                );
                Projection::All
            }
        },
        Project::Fields(names) => {
            let mut attributes: Vec<String> = Vec::new();
            for lit in names {
                match fields.iter().find(|f| f.field.name() == lit.value()) {
                    Some(f) => {
                        let top = f.map.clone().unwrap_or_else(|| f.attribute.clone());
                        if !attributes.contains(&top) {
                            attributes.push(top);
                        }
                    }
                    None => errors.at(lit, format!("unknown field `{}` in the projection", lit.value())),
                }
            }
            Projection::Include(attributes)
        }
    }
}

fn index(name: &str, kind: Kind, key: &KeyDecl, pk: &str, sk: &str, errors: &mut Errors) -> Index {
    let attr = |template: &Option<LitStr>, rename: &Option<LitStr>, default: &str, errors: &mut Errors| {
        let source = template.as_ref()?;
        match template::parse(&source.value()) {
            Ok(parsed) => Some(KeyAttr {
                attribute: rename.as_ref().map_or_else(|| default.to_owned(), LitStr::value),
                source: source.clone(),
                parsed,
            }),
            Err(message) => {
                errors.at(source, format!("malformed key template: {message}"));
                None
            }
        }
    };
    Index {
        name: name.to_owned(),
        kind,
        hash: if kind == Kind::Local { None } else { attr(&key.pk, &key.pk_attr, pk, errors) },
        sort: attr(&key.sk, &key.sk_attr, sk, errors),
        projection: Projection::All,
        multi: None,
    }
}

fn stored_fields<'a>(entity: &'a Entity, errors: &mut Errors) -> Vec<Stored<'a>> {
    let mut stored = Vec::new();
    let (mut ttl, mut version) = (None::<Span>, None::<Span>);
    for field in &entity.fields {
        if let Some(skip) = field.skip {
            let others = [field.unique, field.ttl, field.version, field.crypt, field.rules.span()];
            if field.rename.is_some()
                || field.map.is_some()
                || field.generate.is_some()
                || others.iter().any(Option::is_some)
            {
                errors.span(skip, "a skipped field is not stored: it takes no other option than `default`");
            }
            continue;
        }
        if let Some(span) = field.crypt {
            // An encrypted value differs at every write (a random IV): no sentinel,
            // key or version could be made of it.
            if field.unique.is_some()
                || field.ttl.is_some()
                || field.version.is_some()
                || field.generate.is_some()
            {
                errors.span(span, "an encrypted field cannot also be unique, the TTL, the version or generated: its stored text changes at every write");
            }
        }
        if let Some(span) = field.ttl {
            if ttl.replace(span).is_some() {
                errors.span(span, "only one field can be the TTL");
            }
            if field.map.is_some() {
                errors.span(
                    span,
                    "the TTL must be a top-level attribute: DynamoDB does not read it inside a map",
                );
            }
        }
        if let Some(span) = field.version {
            if version.replace(span).is_some() {
                errors.span(span, "only one field can be the version");
            }
            if field.map.is_some() {
                errors.span(span, "the version must be a top-level attribute, not packed into a map");
            }
        }
        let generate = field.generate.as_ref().and_then(|lit| match lit.value().as_str() {
            "ulid" => Some(Generate::Ulid),
            "uuid" => Some(Generate::Uuid),
            other => {
                errors.at(lit, format!("unknown id generator `{other}`: expected \"ulid\" or \"uuid\""));
                None
            }
        });
        let mut attribute = field.rename.as_ref().map_or_else(|| field.name(), LitStr::value);
        if attribute.is_empty() {
            errors.at(&field.rename, "the attribute name cannot be empty");
        }
        let map = field.map.as_ref().and_then(|lit| {
            let value = lit.value();
            let (map, inner) = match value.split_once('.') {
                Some((map, inner)) => (map.to_owned(), Some(inner.to_owned())),
                None => (value.clone(), None),
            };
            if map.is_empty() || inner.as_deref().is_some_and(|i| i.is_empty() || i.contains('.')) {
                errors.at(
                    lit,
                    "expected `map = \"data\"` or `map = \"data.name\"`: one map attribute, one level deep",
                );
                return None;
            }
            if let Some(inner) = inner {
                attribute = inner;
            }
            Some(map)
        });
        let scope = field.unique_scope.as_ref().and_then(|lit| match template::parse(&lit.value()) {
            Ok(parsed) => Some(parsed),
            Err(e) => {
                errors.at(lit, format!("malformed unique scope: {e}"));
                None
            }
        });
        let value = field.value.as_ref().and_then(|lit| match template::parse_value(&lit.value()) {
            Ok(parsed) => Some(parsed),
            Err(e) => {
                errors.at(lit, format!("malformed value template: {e}"));
                None
            }
        });
        if let Some(lit) = &field.value {
            let others = [field.unique, field.crypt, field.ttl, field.version];
            if others.iter().any(Option::is_some) || field.generate.is_some() {
                errors.at(
                    lit,
                    "a computed field cannot also be unique, encrypted, the TTL, the version or generated",
                );
            }
        }
        field.rules.validate(errors);
        if let (Some(span), true) = (field.rules.span(), field.value.is_some()) {
            errors.span(span, "a computed field is made by its template: it takes no validation rules");
        }
        stored.push(Stored { field, attribute, map, generate, scope, value });
    }
    stored
}

/// No two things may be stored under one attribute name.
fn check_attributes(schema: &Schema<'_>, errors: &mut Errors) {
    // Key attributes: one index may reuse another's attribute with the same template
    // (a GSI sorted on the table's `sk`), never with a different one.
    let mut keys: HashMap<&str, (&str, String)> = HashMap::new();
    for index in &schema.indexes {
        for key in index.hash.iter().chain(&index.sort) {
            let template = key.source.value();
            match keys.get(key.attribute.as_str()) {
                Some((other, t)) if *t != template => errors.at(
                    &key.source,
                    format!(
                        "attribute `{}` is already the key of index `{other}` with the template \"{t}\"",
                        key.attribute
                    ),
                ),
                Some(_) => {}
                None => {
                    keys.insert(&key.attribute, (&index.name, template));
                }
            }
        }
    }
    let mut top: HashMap<&str, &Field> = HashMap::new();
    let mut packed: HashMap<(&str, &str), &Field> = HashMap::new();
    for stored in &schema.fields {
        let field = stored.field;
        let clash = |errors: &mut Errors, what: String| {
            let target: &dyn quote::ToTokens = match (&field.rename, &field.map) {
                (_, Some(map)) => map,
                (Some(rename), None) => rename,
                (None, None) => &field.ident,
            };
            errors.at(target, what);
        };
        let name = stored.map.as_deref().unwrap_or(&stored.attribute);
        if let Some((index, _)) = keys.get(name) {
            clash(
                errors,
                format!(
                    "field `{}` is stored as `{name}`, the key attribute of index `{index}`",
                    field.name()
                ),
            );
        } else if name == TYPE_FIELD {
            clash(
                errors,
                format!("field `{}` is stored as `{TYPE_FIELD}`, which holds the entity name", field.name()),
            );
        }
        match &stored.map {
            None => {
                if let Some(other) = top.insert(name, field) {
                    clash(
                        errors,
                        format!(
                            "fields `{}` and `{}` are both stored as `{name}`",
                            other.name(),
                            field.name()
                        ),
                    );
                }
            }
            Some(map) => {
                if let Some(other) = top.get(map.as_str()).filter(|o| o.map.is_none()) {
                    clash(
                        errors,
                        format!(
                            "`{map}` is the attribute of field `{}`, not a map to pack into",
                            other.name()
                        ),
                    );
                }
                top.entry(map).or_insert(field);
                if let Some(other) = packed.insert((map, &stored.attribute), field) {
                    clash(
                        errors,
                        format!(
                            "fields `{}` and `{}` are both packed as `{map}.{}`",
                            other.name(),
                            field.name(),
                            stored.attribute
                        ),
                    );
                }
            }
        }
    }
}

fn check_template_variables(schema: &Schema<'_>, errors: &mut Errors) {
    let stored: Vec<String> = schema.fields.iter().map(|f| f.field.name()).collect();
    // A computed field's inputs: stored fields that are not computed or encrypted; a
    // `String` field needs inputs that are always there.
    for field in &schema.fields {
        let (Some(value), Some(lit)) = (&field.value, &field.field.value) else { continue };
        for var in value.variables() {
            match schema.field(var) {
                None => errors.at(
                    lit,
                    format!(
                        "unknown field `{var}` in the value template; the fields are: {}",
                        stored.join(", ")
                    ),
                ),
                Some(input) if input.value.is_some() => errors
                    .at(lit, format!("`{var}` is computed too: compute from the fields it is computed from")),
                Some(input) if input.field.crypt.is_some() => errors.at(
                    lit,
                    format!("`{var}` is encrypted: its clear text cannot go into another attribute"),
                ),
                Some(input) if is_optional(&input.field.ty) && !is_optional(&field.field.ty) => errors.at(
                    lit,
                    format!(
                        "`{var}` can be absent, and then so is this value: make `{}` an `Option<String>`",
                        field.field.name()
                    ),
                ),
                Some(_) => {}
            }
        }
    }
    for field in &schema.fields {
        let (Some(scope), Some(lit)) = (&field.scope, &field.field.unique_scope) else { continue };
        for var in scope.variables() {
            if !stored.iter().any(|s| s == var) {
                errors.at(
                    lit,
                    format!(
                        "unknown field `{var}` in the unique scope; the fields are: {}",
                        stored.join(", ")
                    ),
                );
            }
        }
    }
    for key in schema.indexes.iter().flat_map(|i| i.hash.iter().chain(&i.sort)) {
        for var in key.parsed.variables() {
            if schema.fields.iter().any(|f| f.field.name() == var && f.value.is_some()) {
                errors.at(
                    &key.source,
                    format!("`{var}` is computed: put the fields it is computed from in the key template"),
                );
                continue;
            }
            if schema.fields.iter().any(|f| f.field.name() == var && f.field.crypt.is_some()) {
                errors.at(
                    &key.source,
                    format!("`{var}` is encrypted: an encrypted field cannot be part of a key"),
                );
                continue;
            }
            if stored.iter().any(|s| s == var) {
                continue;
            }
            let skipped = schema.entity.fields.iter().any(|f| f.name() == var);
            let message = if skipped {
                format!("field `{var}` is skipped, so it cannot be a key template variable")
            } else {
                format!("unknown field `{var}` in key template; the fields are: {}", stored.join(", "))
            };
            errors.at(&key.source, message);
        }
    }
}
