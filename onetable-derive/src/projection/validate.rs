//! Validate stage of `#[derive(Projection)]`: what can be checked without the entity's
//! definition (the compiler checks the rest, see `generate`).

use super::parse::{Field, Input};
use crate::diag::Errors;

/// A checked projection.
pub struct Projection<'a> {
    pub ident: &'a syn::Ident,
    pub entity: &'a syn::Path,
    pub fields: &'a [Field],
}

pub fn validate<'a>(input: &'a Input, errors: &mut Errors) -> Option<Projection<'a>> {
    if input.entity.is_none() {
        errors.at(&input.ident, "a projection names its entity: `#[projection(entity = User)]`");
    }
    if !input.generics.params.is_empty() {
        errors.at(&input.generics, "#[derive(Projection)] does not support generic structs");
    }
    let fields = input.fields.as_deref()?;
    if fields.is_empty() {
        errors.at(&input.ident, "a projection holds at least one field of its entity");
    }
    for option in fields.iter().flat_map(|f| &f.options) {
        errors.at(
            option,
            "a projection's fields take no options: each is read as the entity's field of the same name",
        );
    }
    Some(Projection { ident: &input.ident, entity: input.entity.as_ref()?, fields })
}
