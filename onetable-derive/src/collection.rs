//! `#[derive(Collection)]`: an enum whose variants each hold one entity.

use crate::diag::Errors;
use proc_macro2::TokenStream;
use quote::quote;

pub fn derive(input: &syn::DeriveInput) -> syn::Result<TokenStream> {
    let ident = &input.ident;
    let mut errors = Errors::default();
    let syn::Data::Enum(data) = &input.data else {
        errors.at(ident, "#[derive(Collection)] works on enums whose variants each hold one entity");
        return errors.finish().map(|()| TokenStream::new());
    };
    if !input.generics.params.is_empty() {
        errors.at(&input.generics, "#[derive(Collection)] does not support generic enums");
    }
    let mut variants = Vec::new();
    for v in &data.variants {
        match &v.fields {
            syn::Fields::Unnamed(f) if f.unnamed.len() == 1 => variants.push((&v.ident, &f.unnamed[0].ty)),
            _ => errors.at(
                &v.ident,
                "each variant holds one entity or a projection of one, as in `User(User)` or `User(UserCard)`",
            ),
        }
    }
    errors.finish()?;
    // A variant holds an entity or a projection of one (every entity is its own).
    let schemas = variants
        .iter()
        .map(|(_, ty)| quote!(<<#ty as ::onetable::Projection>::Entity as ::onetable::Entity>::SCHEMA));
    let fields = variants.iter().map(|(_, ty)| quote!(<#ty as ::onetable::Projection>::FIELDS));
    let arms = variants.iter().map(|(v, ty)| {
        quote! {
            if name == <<#ty as ::onetable::Projection>::Entity as ::onetable::Entity>::SCHEMA.name {
                return ::core::option::Option::Some(<#ty as ::onetable::Projection>::from_item(item).map(Self::#v));
            }
        }
    });
    Ok(quote! {
        #[automatically_derived]
        impl ::onetable::Collection for #ident {
            const ENTITIES: &'static [&'static ::onetable::schema::EntitySchema] = &[#(#schemas),*];
            const FIELDS: &'static [::core::option::Option<&'static [&'static str]>] = &[#(#fields),*];

            fn from_item(name: &str, item: ::onetable::Item) -> ::core::option::Option<::core::result::Result<Self, ::onetable::Error>> {
                #(#arms)*
                ::core::option::Option::None
            }
        }
    })
}

/// What the derive emits beside its errors: an impl that compiles, so that code using
/// the enum reports nothing more than the derive's own mistakes.
pub fn stub(input: &syn::DeriveInput) -> TokenStream {
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    quote! {
        impl #impl_generics ::onetable::Collection for #ident #ty_generics #where_clause {
            const ENTITIES: &'static [&'static ::onetable::schema::EntitySchema] = &[];
            const FIELDS: &'static [::core::option::Option<&'static [&'static str]>] = &[];
            fn from_item(_: &str, _: ::onetable::Item) -> ::core::option::Option<::core::result::Result<Self, ::onetable::Error>> {
                ::core::unimplemented!()
            }
        }
    }
}
