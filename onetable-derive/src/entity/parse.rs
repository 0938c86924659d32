//! Parse stage: the derive input's attributes into a plain model of the entity.
//!
//! Parsing records what was written (with spans) and reports only what cannot be read
//! at all; every rule about the schema is checked in `validate`.

use crate::diag::Errors;
use crate::field::{self, Field};
use crate::krate::CratePath;
use crate::options::{path_name, set_once, skip_value};
use syn::{Ident, LitStr};

/// A struct deriving `Entity`.
pub struct Entity {
    pub ident: Ident,
    pub generics: syn::Generics,
    pub name: Option<LitStr>,
    /// `created`, `updated` (both by default), or `false`; absent: the table decides.
    pub timestamps: Option<(bool, bool)>,
    /// `design = "0.3.0"`: the design version the entity's items are in, as written.
    pub design: Option<LitStr>,
    pub krate: CratePath,
    pub key: Option<KeyDecl>,
    pub indexes: Vec<IndexDecl>,
    pub fields: Vec<Field>,
}

/// `#[key(...)]` or `#[index(...)]`.
pub struct KeyDecl {
    /// The whole attribute, for errors about the declaration as a whole.
    pub attr: syn::Attribute,
    pub pk: Option<LitStr>,
    pub sk: Option<LitStr>,
    pub pk_attr: Option<LitStr>,
    pub sk_attr: Option<LitStr>,
    /// `pk = [org, team]`: a multi-attribute partition key, the fields in order.
    pub pk_fields: Option<Vec<Ident>>,
    /// `sk = [prio, created]`: a multi-attribute sort key.
    pub sk_fields: Option<Vec<Ident>>,
}

pub struct IndexDecl {
    pub name: Option<LitStr>,
    pub local: bool,
    pub key: KeyDecl,
    pub project: Option<Project>,
}

/// `project = "all" | "keys"` or `project = ["field", ..]`.
pub enum Project {
    Named(LitStr),
    Fields(Vec<LitStr>),
}

/// The entity, or `None` when the input is not a struct with named fields.
pub fn entity(input: &syn::DeriveInput, errors: &mut Errors) -> Option<Entity> {
    let syn::Data::Struct(data) = &input.data else {
        errors.at(&input.ident, "#[derive(Entity)] works on structs with named fields");
        return None;
    };
    let syn::Fields::Named(named) = &data.fields else {
        errors.at(&input.ident, "#[derive(Entity)] works on structs with named fields");
        return None;
    };
    let mut entity = Entity {
        ident: input.ident.clone(),
        generics: input.generics.clone(),
        name: None,
        timestamps: None,
        design: None,
        krate: CratePath::default(),
        key: None,
        indexes: Vec::new(),
        fields: Vec::new(),
    };
    for attr in &input.attrs {
        if attr.path().is_ident("entity") {
            let result = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("name") {
                    set_once(&mut entity.name, meta.value()?.parse()?, errors, &meta.path);
                } else if meta.path.is_ident("timestamps") {
                    let which = if meta.input.peek(syn::Token![=]) {
                        match meta.value()?.parse::<syn::Lit>()? {
                            syn::Lit::Bool(b) => Some((b.value, b.value)),
                            syn::Lit::Str(s) if s.value() == "create" => Some((true, false)),
                            syn::Lit::Str(s) if s.value() == "update" => Some((false, true)),
                            other => {
                                errors.at(
                                    &other,
                                    "timestamps are `timestamps` (both), `timestamps = \"create\"`, `\"update\"`, `true` or `false`",
                                );
                                None
                            }
                        }
                    } else {
                        Some((true, true))
                    };
                    if entity.timestamps.is_some() {
                        errors.at(&meta.path, "`timestamps` is given twice");
                    }
                    entity.timestamps = which.or(entity.timestamps);
                } else if meta.path.is_ident("design") {
                    set_once(&mut entity.design, meta.value()?.parse()?, errors, &meta.path);
                } else if meta.path.is_ident("crate") {
                    entity.krate.parse(&meta, errors)?;
                } else {
                    errors.at(
                        &meta.path,
                        "unknown entity option: expected `name = \"..\"`, `timestamps` (or `timestamps = \"create\"` …), `design = \"..\"` or `crate = \"..\"`",
                    );
                    skip_value(&meta)?;
                }
                Ok(())
            });
            if let Err(e) = result {
                errors.push(e);
            }
        } else if attr.path().is_ident("key") {
            let key = parse_key(attr, None, errors);
            if entity.key.is_some() {
                errors.at(
                    attr,
                    "an entity has one #[key(..)]; declare other access patterns with #[index(..)]",
                );
            }
            entity.key = Some(key);
        } else if attr.path().is_ident("index") {
            let (mut name, mut local, mut project) = (None, false, None);
            let key = parse_key(attr, Some((&mut name, &mut local, &mut project)), errors);
            entity.indexes.push(IndexDecl { name, local, key, project });
        }
    }
    for f in &named.named {
        if let Some(field) = field::parse(f, errors) {
            entity.fields.push(field);
        }
    }
    Some(entity)
}

fn parse_key(
    attr: &syn::Attribute,
    mut index: Option<(&mut Option<LitStr>, &mut bool, &mut Option<Project>)>,
    errors: &mut Errors,
) -> KeyDecl {
    let mut key = KeyDecl {
        attr: attr.clone(),
        pk: None,
        sk: None,
        pk_attr: None,
        sk_attr: None,
        pk_fields: None,
        sk_fields: None,
    };
    let result = attr.parse_nested_meta(|meta| {
        let p = &meta.path;
        if p.is_ident("pk") || p.is_ident("sk") {
            let sort = p.is_ident("sk");
            let value = meta.value()?;
            if value.peek(syn::token::Bracket) {
                let fields = field_list(value.parse()?, errors);
                if index.is_none() {
                    errors.at(p, "the table's key is a template: lists of fields key global indexes");
                }
                let (list, template) =
                    if sort { (&mut key.sk_fields, &key.sk) } else { (&mut key.pk_fields, &key.pk) };
                if template.is_some() {
                    errors.at(p, format!("`{}` is given twice", path_name(p)));
                }
                set_once(list, fields, errors, p);
            } else {
                let (template, list) =
                    if sort { (&mut key.sk, &key.sk_fields) } else { (&mut key.pk, &key.pk_fields) };
                if list.is_some() {
                    errors.at(p, format!("`{}` is given twice", path_name(p)));
                }
                set_once(template, value.parse()?, errors, p);
            }
        } else if p.is_ident("pk_attr") {
            set_once(&mut key.pk_attr, meta.value()?.parse()?, errors, p);
        } else if p.is_ident("sk_attr") {
            set_once(&mut key.sk_attr, meta.value()?.parse()?, errors, p);
        } else if let (true, Some((name, _, _))) = (p.is_ident("name"), index.as_mut()) {
            set_once(*name, meta.value()?.parse()?, errors, p);
        } else if let (true, Some((_, local, _))) = (p.is_ident("local"), index.as_mut()) {
            **local = true;
        } else if let (true, Some((_, _, project))) = (p.is_ident("project"), index.as_mut()) {
            let value = meta.value()?;
            let parsed = if value.peek(LitStr) {
                Project::Named(value.parse()?)
            } else {
                let list: syn::ExprArray = value.parse()?;
                let mut fields = Vec::new();
                for element in list.elems {
                    match element {
                        syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => fields.push(s),
                        other => errors.at(&other, "expected a field name in quotes"),
                    }
                }
                Project::Fields(fields)
            };
            set_once(*project, parsed, errors, p);
        } else {
            let expected = if index.is_some() {
                "`name`, `pk`, `sk`, `pk_attr`, `sk_attr`, `local` or `project`"
            } else {
                "`pk`, `sk`, `pk_attr` or `sk_attr`"
            };
            errors.at(p, format!("unknown option `{}`: expected {expected}", path_name(p)));
            skip_value(&meta)?;
        }
        Ok(())
    });
    if let Err(e) = result {
        errors.push(e);
    }
    key
}

/// `[org, team]` (or `["org", "team"]`): the fields of a multi-attribute key.
fn field_list(list: syn::ExprArray, errors: &mut Errors) -> Vec<Ident> {
    let mut fields = Vec::new();
    for element in list.elems {
        match element {
            syn::Expr::Path(path) if path.path.get_ident().is_some() => {
                fields.push(path.path.get_ident().expect("checked").clone());
            }
            syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => match s.parse::<Ident>() {
                Ok(ident) => fields.push(ident),
                Err(_) => errors.at(&s, "expected a field name"),
            },
            other => errors.at(&other, "expected a field name, such as `pk = [org, team]`"),
        }
    }
    fields
}
