//! Generate stage of `#[derive(Projection)]`: the `Projection` impl of a checked
//! projection, reading each field through the entity's field constant.
//!
//! The derive cannot see the entity's definition, so the check that each field is a
//! field of the entity with the same type is left to the compiler: every field is
//! read through the entity's field constant (`User::NAME`) bound to a
//! `Field<User, T>` of the projection's own type, spanned on the projection's field.
//! A misspelt field is "no associated item named `NAME` found for `User`" there, a
//! different type a mismatch between `Field<User, T>` types.

use super::parse::Input;
use super::validate::Projection;
use crate::field::const_name;
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

pub fn projection(p: &Projection<'_>) -> TokenStream {
    let (ident, entity) = (p.ident, p.entity);
    let names: Vec<String> = p.fields.iter().map(|f| field_name(&f.ident)).collect();
    let reads = p.fields.iter().map(|f| {
        let field = &f.ident;
        // The constant's name carries the field's span, so that a field the entity
        // lacks is reported at the projection's field.
        let konst = syn::Ident::new(&const_name(&field_name(field)).to_string(), field.span());
        let ty = &f.ty;
        // The constant is named where the projection names the field, the type where
        // it gives the type: each mistake is reported at the user's own token.
        let constant = respan(quote!(#entity::#konst), field.span());
        let binding = quote_spanned!(ty.span()=> _onetable::Field<#entity, #ty>);
        quote! {
            #field: {
                let field: #binding = #constant;
                field.take(&mut item)?
            }
        }
    });
    quote! {
        #[automatically_derived]
        impl _onetable::Projection for #ident {
            type Entity = #entity;
            const FIELDS: ::core::option::Option<&'static [&'static str]> =
                ::core::option::Option::Some(&[#(#names),*]);

            fn from_item(mut item: _onetable::Item) -> ::core::result::Result<Self, _onetable::Error> {
                ::core::result::Result::Ok(Self { #(#reads),* })
            }
        }
    }
}

/// `tokens` with every span set to `span`.
fn respan(tokens: TokenStream, span: proc_macro2::Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let proc_macro2::TokenTree::Group(g) = &tree {
                let mut group = proc_macro2::Group::new(g.delimiter(), respan(g.stream(), span));
                group.set_span(span);
                tree = proc_macro2::TokenTree::Group(group);
            }
            tree.set_span(span);
            tree
        })
        .collect()
}

fn field_name(ident: &syn::Ident) -> String {
    ident.to_string().trim_start_matches("r#").to_owned()
}

/// What the derive emits beside its errors when the entity is known: an impl that
/// compiles, so code reading the projection reports nothing more.
pub fn stub(input: &Input) -> TokenStream {
    let Some(entity) = &input.entity else { return TokenStream::new() };
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    quote! {
        impl #impl_generics _onetable::Projection for #ident #ty_generics #where_clause {
            type Entity = #entity;
            const FIELDS: ::core::option::Option<&'static [&'static str]> = ::core::option::Option::None;
            fn from_item(_: _onetable::Item) -> ::core::result::Result<Self, _onetable::Error> {
                ::core::unimplemented!()
            }
        }
    }
}
