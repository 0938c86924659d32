//! Validate stage of `#[derive(Value)]`: how the value is stored (each variant's
//! string, each field's key), with every rule checked and all errors collected.

use super::parse::{Input, Shape};
use crate::diag::Errors;
use crate::field::Field;
use std::collections::HashMap;
use syn::{Ident, LitStr};

/// How a checked type is stored.
pub enum Layout<'a> {
    /// Each unit variant and the string it is stored as.
    Enum(Vec<(&'a Ident, String)>),
    /// The map: every field (skipped ones are made by `Default`), and the stored ones
    /// with their keys.
    Struct { fields: &'a [Field], stored: Vec<(&'a Field, String)> },
    /// The wrapped type.
    Newtype(&'a syn::Type),
}

/// The layout, or `None` when the type has no shape the derive stores (already
/// reported by the parse stage).
pub fn validate<'a>(input: &'a Input, errors: &mut Errors) -> Option<Layout<'a>> {
    if !input.generics.params.is_empty() {
        errors.at(&input.generics, "#[derive(Value)] does not support generic types");
    }
    Some(match input.shape.as_ref()? {
        Shape::Enum(variants) => {
            let mut names: HashMap<String, &Ident> = HashMap::new();
            let mut stored = Vec::new();
            for v in variants {
                if !v.unit {
                    errors.at(
                        &v.ident,
                        "#[derive(Value)] stores enums as strings: every variant must be a unit variant",
                    );
                    continue;
                }
                let name = v.ident.to_string();
                let text = match (&v.rename, input.rename_all) {
                    (Some(rename), _) => rename.value(),
                    (None, Some(case)) => case.apply(&name),
                    (None, None) => name,
                };
                if text.is_empty() {
                    errors.at(&v.ident, "a variant cannot be stored as an empty string");
                }
                if let Some(other) = names.insert(text.clone(), &v.ident) {
                    errors.at(
                        &v.ident,
                        format!("variants `{other}` and `{}` are both stored as {text:?}", v.ident),
                    );
                }
                stored.push((&v.ident, text));
            }
            Layout::Enum(stored)
        }
        Shape::Struct(fields) => Layout::Struct { fields, stored: stored_fields(fields, errors) },
        Shape::Newtype(ty) => Layout::Newtype(ty),
    })
}

/// The fields stored in the map, with their keys.
fn stored_fields<'a>(fields: &'a [Field], errors: &mut Errors) -> Vec<(&'a Field, String)> {
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut stored = Vec::new();
    for f in fields {
        let options = [
            f.map.as_ref().map(LitStr::span),
            f.unique,
            f.ttl,
            f.version,
            f.generate.as_ref().map(LitStr::span),
            f.rules.span(),
        ];
        if let Some(span) = options.into_iter().flatten().next() {
            errors.span(span, "inside a nested value, fields take only rename, default and skip");
        }
        if f.skip.is_some() {
            continue;
        }
        let attribute = f.rename.as_ref().map_or_else(|| f.name(), LitStr::value);
        if let Some(other) = seen.insert(attribute.clone(), f.name()) {
            errors.at(
                &f.ident,
                format!("fields `{other}` and `{}` are both stored as `{attribute}`", f.name()),
            );
        }
        stored.push((f, attribute));
    }
    stored
}
