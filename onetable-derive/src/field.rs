//! A named field and its `#[attr(..)]` options, as the Entity and Value derives read
//! them: parsing records what was written; each derive's validation decides which
//! options it accepts.

use crate::diag::Errors;
use crate::options::{path_name, set_once, skip_value};
use proc_macro2::Span;
use quote::format_ident;
use syn::spanned::Spanned;
use syn::{Ident, LitStr, Type};

/// A named field and its `#[attr(...)]` options.
pub struct Field {
    pub ident: Ident,
    pub ty: Type,
    pub rename: Option<LitStr>,
    pub map: Option<LitStr>,
    pub default: Option<Default>,
    pub generate: Option<LitStr>,
    pub unique: Option<Span>,
    /// `value = ".."`: computed from other fields by a template.
    pub value: Option<LitStr>,
    /// `crypt`: stored encrypted.
    pub crypt: Option<Span>,
    /// `unique(scope = "..")`: the template of the scope the value is unique in.
    pub unique_scope: Option<LitStr>,
    pub ttl: Option<Span>,
    pub version: Option<Span>,
    pub skip: Option<Span>,
    /// `validate = ".."`, `length(..)`, `range(..)`.
    pub rules: crate::rules::Rules,
}

/// `default` (the type's `Default`) or `default = "path"` (a function).
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

/// The constant that names a field (`User::NAME` for `name`).
pub fn const_name(field: &str) -> Ident {
    format_ident!("{}", field.to_uppercase())
}

/// Whether reading an item without the field's attribute succeeds by the type alone
/// (an `Option`, a set), so the field is not required.
pub fn is_optional(ty: &Type) -> bool {
    let Type::Path(p) = ty else { return false };
    p.path
        .segments
        .last()
        .is_some_and(|s| matches!(s.ident.to_string().as_str(), "Option" | "HashSet" | "BTreeSet"))
}

/// The field and its options; `None` for a field without a name (a tuple field).
pub fn parse(f: &syn::Field, errors: &mut Errors) -> Option<Field> {
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
        rules: crate::rules::Rules::default(),
    };
    crate::options::each(&f.attrs, "attr", errors, |meta, errors| {
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
        } else if field.rules.parse(&meta, errors)? {
        } else {
            errors.at(
                p,
                format!(
                    "unknown field option `{}`: expected rename, map, default, generate, unique, value, crypt, ttl, version, skip, validate, length or range",
                    path_name(p)
                ),
            );
            skip_value(&meta)?;
        }
        Ok(())
    });
    Some(field)
}
