//! `#[derive(Collection)]`: an enum whose variants each hold one entity of a shared
//! partition.
//!
//! `parse` reads the options and variants, `validate` checks each variant's shape and
//! collects every error, `generate` emits the impl.

mod generate;
mod parse;
mod validate;

use crate::diag::{self, Errors, Expansion};

pub fn derive(input: &syn::DeriveInput) -> Expansion {
    let mut errors = Errors::new();
    let input = parse::input(input, &mut errors);
    let members = validate::validate(&input, &mut errors);
    diag::expand(
        errors,
        || {
            input
                .krate
                .wrap(members.as_ref().map(|m| generate::collection(&input.ident, m)).unwrap_or_default())
        },
        || input.krate.wrap(generate::stub(&input)),
    )
}
