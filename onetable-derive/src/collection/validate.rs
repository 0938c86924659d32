//! Validate stage of `#[derive(Collection)]`: every variant holds one entity (or a
//! projection of one); that its type is one is left to the compiler.

use super::parse::Input;
use crate::diag::Errors;

/// Each variant and the type it holds.
pub type Members<'a> = Vec<(&'a syn::Ident, &'a syn::Type)>;

pub fn validate<'a>(input: &'a Input, errors: &mut Errors) -> Option<Members<'a>> {
    let variants = input.variants.as_ref()?;
    if !input.generics.params.is_empty() {
        errors.at(&input.generics, "#[derive(Collection)] does not support generic enums");
    }
    let mut members = Vec::new();
    for v in variants {
        match &v.ty {
            Some(ty) => members.push((&v.ident, ty)),
            None => errors.at(
                &v.ident,
                "each variant holds one entity or a projection of one, as in `User(User)` or `User(UserCard)`",
            ),
        }
    }
    Some(members)
}
