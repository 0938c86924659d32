//! The derive macros of onetable: `#[derive(Entity)]`, `#[derive(Value)]`,
//! `#[derive(Collection)]` and `#[derive(Projection)]`.
//!
//! Use them through the `onetable` crate, which documents every attribute. Each derive
//! runs three stages, in its own module: `parse` reads the attributes into a plain
//! model, `validate` checks it and collects every error, `generate` emits the code. On
//! error a stub impl is emitted next to the errors so that one mistake is reported
//! once.

mod collection;
mod diag;
mod entity;
mod field;
mod krate;
mod options;
mod projection;
mod rules;
mod template;
mod value;

use proc_macro::TokenStream;

/// Derives `onetable::Entity`. See the `onetable` crate for the attributes.
#[proc_macro_derive(Entity, attributes(entity, key, index, attr))]
pub fn derive_entity(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    emit(entity::derive(&input))
}

/// Derives `onetable::Value` for a unit-only enum (stored as a string) or a struct
/// (stored as a map). See the `onetable` crate.
#[proc_macro_derive(Value, attributes(value, attr))]
pub fn derive_value(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    emit(value::derive(&input))
}

/// Derives `onetable::Collection` for an enum whose variants each hold one entity
/// sharing a partition. See the `onetable` crate.
#[proc_macro_derive(Collection, attributes(collection))]
pub fn derive_collection(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    emit(collection::derive(&input))
}

/// Derives `onetable::Projection` for a struct holding some fields of an entity. See
/// the `onetable` crate.
#[proc_macro_derive(Projection, attributes(projection, attr))]
pub fn derive_projection(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    emit(projection::derive(&input))
}

/// The derive's code, or its errors as `compile_error!`s followed by its stub.
fn emit(expansion: diag::Expansion) -> TokenStream {
    expansion.unwrap_or_else(diag::Failed::into_tokens).into()
}
