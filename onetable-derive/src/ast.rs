//! Parse stage: the derive input's attributes into a plain model of the entity.
//!
//! Parsing records what was written (with spans) and reports only what cannot be read
//! at all; every rule about the schema is checked in `validate`.

use crate::diag::Errors;
use syn::spanned::Spanned;
use syn::{Ident, LitStr, Type};

/// A struct deriving `Entity`.
pub struct Entity {
    pub ident: Ident,
    pub generics: syn::Generics,
    pub name: Option<LitStr>,
    /// `created`, `updated` (both by default), or `false`; absent: the table decides.
    pub timestamps: Option<(bool, bool)>,
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

/// A named field and its `#[attr(...)]` options.
pub struct Field {
    pub ident: Ident,
    pub ty: Type,
    pub rename: Option<LitStr>,
    pub map: Option<LitStr>,
    pub default: Option<Default>,
    pub generate: Option<LitStr>,
    pub unique: Option<proc_macro2::Span>,
    /// `value = ".."`: computed from other fields by a template.
    pub value: Option<LitStr>,
    /// `crypt`: stored encrypted.
    pub crypt: Option<proc_macro2::Span>,
    /// `unique(scope = "..")`: the template of the scope the value is unique in.
    pub unique_scope: Option<LitStr>,
    pub ttl: Option<proc_macro2::Span>,
    pub version: Option<proc_macro2::Span>,
    pub skip: Option<proc_macro2::Span>,
}

pub enum Default {
    Trait,
    Path(syn::ExprPath),
}

impl Field {
    /// The field name without a raw-identifier prefix.
    pub fn name(&self) -> String {
        self.ident.to_string().trim_start_matches("r#").to_owned()
    }
}

fn set_once<T>(slot: &mut Option<T>, value: T, errors: &mut Errors, path: &syn::Path) {
    if slot.is_some() {
        errors.at(path, format!("`{}` is given twice", path_name(path)));
    }
    *slot = Some(value);
}

fn path_name(path: &syn::Path) -> String {
    path.get_ident().map(Ident::to_string).unwrap_or_default()
}

pub fn parse_entity(input: &syn::DeriveInput, errors: &mut Errors) -> Option<Entity> {
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
                } else if meta.path.is_ident("crate") {
                    // Read by `krate`, applied to the generated code.
                    skip_value(&meta)?;
                } else {
                    errors.at(
                        &meta.path,
                        "unknown entity option: expected `name = \"..\"`, `timestamps` (or `timestamps = \"create\"` …) or `crate = \"..\"`",
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
        if let Some(field) = parse_field(f, errors) {
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
    let mut key = KeyDecl { attr: attr.clone(), pk: None, sk: None, pk_attr: None, sk_attr: None };
    let result = attr.parse_nested_meta(|meta| {
        let p = &meta.path;
        if p.is_ident("pk") {
            set_once(&mut key.pk, meta.value()?.parse()?, errors, p);
        } else if p.is_ident("sk") {
            set_once(&mut key.sk, meta.value()?.parse()?, errors, p);
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

/// Consumes `= value` after an unknown option so parsing can go on to the next one.
fn skip_value(meta: &syn::meta::ParseNestedMeta) -> syn::Result<()> {
    if meta.input.peek(syn::Token![=]) {
        let _: syn::Expr = meta.value()?.parse()?;
    }
    Ok(())
}

pub fn parse_field(f: &syn::Field, errors: &mut Errors) -> Option<Field> {
    let ident = f.ident.clone()?;
    let mut field = Field {
        ident,
        ty: f.ty.clone(),
        rename: None,
        map: None,
        default: None,
        generate: None,
        unique: None,
        unique_scope: None,
        value: None,
        crypt: None,
        ttl: None,
        version: None,
        skip: None,
    };
    for attr in f.attrs.iter().filter(|a| a.path().is_ident("attr")) {
        let result = attr.parse_nested_meta(|meta| {
            let p = &meta.path;
            let span = p.span();
            if p.is_ident("rename") {
                set_once(&mut field.rename, meta.value()?.parse()?, errors, p);
            } else if p.is_ident("map") {
                set_once(&mut field.map, meta.value()?.parse()?, errors, p);
            } else if p.is_ident("default") {
                let default = if meta.input.peek(syn::Token![=]) {
                    let path: LitStr = meta.value()?.parse()?;
                    Default::Path(path.parse()?)
                } else {
                    Default::Trait
                };
                set_once(&mut field.default, default, errors, p);
            } else if p.is_ident("generate") {
                set_once(&mut field.generate, meta.value()?.parse()?, errors, p);
            } else if p.is_ident("unique") {
                set_once(&mut field.unique, span, errors, p);
                // `unique(scope = "ACCOUNT#${account_id}")`: unique within the scope.
                if meta.input.peek(syn::token::Paren) {
                    meta.parse_nested_meta(|inner| {
                        if inner.path.is_ident("scope") {
                            set_once(&mut field.unique_scope, inner.value()?.parse()?, errors, &inner.path);
                        } else {
                            errors.at(&inner.path, "unknown unique option: expected `scope = \"..\"`");
                            skip_value(&inner)?;
                        }
                        Ok(())
                    })?;
                }
            } else if p.is_ident("ttl") {
                set_once(&mut field.ttl, span, errors, p);
            } else if p.is_ident("value") {
                set_once(&mut field.value, meta.value()?.parse()?, errors, p);
            } else if p.is_ident("crypt") {
                set_once(&mut field.crypt, span, errors, p);
            } else if p.is_ident("version") {
                set_once(&mut field.version, span, errors, p);
            } else if p.is_ident("skip") {
                set_once(&mut field.skip, span, errors, p);
            } else {
                errors.at(
                    p,
                    format!(
                        "unknown field option `{}`: expected rename, map, default, generate, unique, value, crypt, ttl, version or skip",
                        path_name(p)
                    ),
                );
                skip_value(&meta)?;
            }
            Ok(())
        });
        if let Err(e) = result {
            errors.push(e);
        }
    }
    Some(field)
}
