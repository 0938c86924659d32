//! `#[derive(Projection)]`: a struct holding some fields of an entity, read with a
//! `ProjectionExpression`.
//!
//! `parse` reads the options and fields, `validate` checks what it can without the
//! entity and collects every error, `generate` emits the impl.

mod generate;
mod parse;
mod validate;

use crate::diag::{self, Errors, Expansion};

pub fn derive(input: &syn::DeriveInput) -> Expansion {
    let mut errors = Errors::new();
    let input = parse::input(input, &mut errors);
    let projection = validate::validate(&input, &mut errors);
    diag::expand(
        errors,
        || input.krate.wrap(projection.as_ref().map(generate::projection).unwrap_or_default()),
        || input.krate.wrap(generate::stub(&input)),
    )
}
