//! The derive macros of onetable: `#[derive(Entity)]`, `#[derive(Value)]`,
//! `#[derive(Collection)]` and `#[derive(Projection)]`.
//!
//! Use them through the `onetable` crate, which documents every attribute. Each derive
//! runs three stages: `ast` parses the attributes into a plain model, `validate`
//! checks the schema and collects every error, `generate` emits the code. On error
//! a stub impl is emitted next to the errors so that one mistake is reported once.

mod ast;
mod collection;
mod diag;
mod generate;
mod krate;
mod projection;
mod template;
mod validate;
mod value;

use proc_macro::TokenStream;

/// Derives `onetable::Entity`. See the `onetable` crate for the attributes.
#[proc_macro_derive(Entity, attributes(entity, key, index, attr))]
pub fn derive_entity(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    krate::apply(entity(&input), &input.attrs, "entity").into()
}

/// Derives `onetable::Value` for a unit-only enum (stored as a string) or a struct
/// (stored as a map). See the `onetable` crate.
#[proc_macro_derive(Value, attributes(value, attr))]
pub fn derive_value(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    let out = value::derive(&input).unwrap_or_else(|e| {
        let mut out = e.into_compile_error();
        out.extend(value::stub(&input));
        out
    });
    krate::apply(out, &input.attrs, "value").into()
}

/// Derives `onetable::Collection` for an enum whose variants each hold one entity
/// sharing a partition. See the `onetable` crate.
#[proc_macro_derive(Collection, attributes(collection))]
pub fn derive_collection(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    let out = collection::derive(&input).unwrap_or_else(|e| {
        let mut out = e.into_compile_error();
        out.extend(collection::stub(&input));
        out
    });
    krate::apply(out, &input.attrs, "collection").into()
}

/// Derives `onetable::Projection` for a struct holding some fields of an entity. See
/// the `onetable` crate.
#[proc_macro_derive(Projection, attributes(projection, attr))]
pub fn derive_projection(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    let out = projection::derive(&input).unwrap_or_else(|e| {
        let mut out = e.into_compile_error();
        out.extend(projection::stub(&input));
        out
    });
    krate::apply(out, &input.attrs, "projection").into()
}

fn entity(input: &syn::DeriveInput) -> proc_macro2::TokenStream {
    let mut errors = diag::Errors::default();
    let Some(parsed) = ast::parse_entity(input, &mut errors) else {
        return errors.finish().err().map(syn::Error::into_compile_error).unwrap_or_default();
    };
    let schema = validate::validate(&parsed, &mut errors);
    match (errors.finish(), schema) {
        (Ok(()), Some(schema)) => generate::entity(&schema),
        (Err(e), _) => {
            let mut out = e.into_compile_error();
            out.extend(generate::stub(&parsed));
            out
        }
        (Ok(()), None) => generate::stub(&parsed),
    }
}
