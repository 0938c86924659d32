//! `#[derive(Projection)]`: a struct holding some fields of an entity, read with a
//! `ProjectionExpression`.
//!
//! The derive cannot see the entity's definition, so the check that each field is a
//! field of the entity with the same type is left to the compiler: every field is
//! read through the entity's field constant (`User::NAME`) bound to a
//! `Field<User, T>` of the projection's own type, spanned on the projection's field.
//! A misspelt field is "no associated item named `NAME` found for `User`" there, a
//! different type a mismatch between `Field<User, T>` types.

use crate::diag::Errors;
use crate::generate::const_name;
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

/// The parsed and checked input.
struct Parsed<'a> {
    ident: &'a syn::Ident,
    entity: syn::Path,
    fields: Vec<&'a syn::Field>,
}

pub fn derive(input: &syn::DeriveInput) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let parsed = parse(input, &mut errors);
    errors.finish()?;
    Ok(parsed.map(|p| generate(&p)).unwrap_or_default())
}

fn parse<'a>(input: &'a syn::DeriveInput, errors: &mut Errors) -> Option<Parsed<'a>> {
    let entity = entity_path(&input.attrs, errors);
    if entity.is_none() {
        errors.at(&input.ident, "a projection names its entity: `#[projection(entity = User)]`");
    }
    if !input.generics.params.is_empty() {
        errors.at(&input.generics, "#[derive(Projection)] does not support generic structs");
    }
    let named = match &input.data {
        syn::Data::Struct(syn::DataStruct { fields: syn::Fields::Named(named), .. }) => named,
        _ => {
            errors.at(&input.ident, "#[derive(Projection)] works on structs with named fields");
            return None;
        }
    };
    if named.named.is_empty() {
        errors.at(&input.ident, "a projection holds at least one field of its entity");
    }
    for field in &named.named {
        for attr in
            field.attrs.iter().filter(|a| a.path().is_ident("projection") || a.path().is_ident("attr"))
        {
            errors.at(
                attr,
                "a projection's fields take no options: each is read as the entity's field of the same name",
            );
        }
    }
    Some(Parsed { ident: &input.ident, entity: entity?, fields: named.named.iter().collect() })
}

/// `#[projection(entity = Path)]`; `crate = ".."` is read by `krate`.
fn entity_path(attrs: &[syn::Attribute], errors: &mut Errors) -> Option<syn::Path> {
    let mut entity = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("projection")) {
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("entity") {
                let path: syn::Path = meta.value()?.parse()?;
                if entity.is_some() {
                    errors.at(&meta.path, "`entity` is given twice");
                }
                entity = Some(path);
            } else if meta.path.is_ident("crate") {
                meta.value()?.parse::<syn::LitStr>()?;
            } else {
                errors.at(
                    &meta.path,
                    "unknown projection option: expected `entity = Type` or `crate = \"..\"`",
                );
                if meta.input.peek(syn::Token![=]) {
                    meta.value()?.parse::<syn::Expr>()?;
                }
            }
            Ok(())
        });
        if let Err(e) = result {
            errors.push(e);
        }
    }
    entity
}

fn generate(p: &Parsed<'_>) -> TokenStream {
    let (ident, entity) = (p.ident, &p.entity);
    let names: Vec<String> = p.fields.iter().filter_map(|f| f.ident.as_ref()).map(field_name).collect();
    let reads = p.fields.iter().filter_map(|f| {
        let field = f.ident.as_ref()?;
        // The constant's name carries the field's span, so that a field the entity
        // lacks is reported at the projection's field.
        let konst = syn::Ident::new(&const_name(&field_name(field)).to_string(), field.span());
        let ty = &f.ty;
        // The constant is named where the projection names the field, the type where
        // it gives the type: each mistake is reported at the user's own token.
        let constant = respan(quote!(#entity::#konst), field.span());
        let binding = quote_spanned!(ty.span()=> ::onetable::Field<#entity, #ty>);
        Some(quote! {
            #field: {
                let field: #binding = #constant;
                field.take(&mut item)?
            }
        })
    });
    quote! {
        #[automatically_derived]
        impl ::onetable::Projection for #ident {
            type Entity = #entity;
            const FIELDS: ::core::option::Option<&'static [&'static str]> =
                ::core::option::Option::Some(&[#(#names),*]);

            fn from_item(mut item: ::onetable::Item) -> ::core::result::Result<Self, ::onetable::Error> {
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
pub fn stub(input: &syn::DeriveInput) -> TokenStream {
    let mut ignored = Errors::default();
    let Some(entity) = entity_path(&input.attrs, &mut ignored) else { return TokenStream::new() };
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    quote! {
        impl #impl_generics ::onetable::Projection for #ident #ty_generics #where_clause {
            type Entity = #entity;
            const FIELDS: ::core::option::Option<&'static [&'static str]> = ::core::option::Option::None;
            fn from_item(_: ::onetable::Item) -> ::core::result::Result<Self, ::onetable::Error> {
                ::core::unimplemented!()
            }
        }
    }
}
