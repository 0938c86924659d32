//! `#[derive(Collection)]`: an enum whose variants each hold one entity.

use proc_macro2::TokenStream;
use quote::quote;

pub fn derive(input: &syn::DeriveInput) -> syn::Result<TokenStream> {
    let ident = &input.ident;
    let syn::Data::Enum(data) = &input.data else {
        return Err(syn::Error::new_spanned(
            ident,
            "#[derive(Collection)] works on enums whose variants each hold one entity",
        ));
    };
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &input.generics,
            "#[derive(Collection)] does not support generic enums",
        ));
    }
    let mut errors: Option<syn::Error> = None;
    let mut variants = Vec::new();
    for v in &data.variants {
        match &v.fields {
            syn::Fields::Unnamed(f) if f.unnamed.len() == 1 => variants.push((&v.ident, &f.unnamed[0].ty)),
            _ => {
                let e =
                    syn::Error::new_spanned(&v.ident, "each variant holds one entity, as in `User(User)`");
                match &mut errors {
                    Some(all) => all.combine(e),
                    None => errors = Some(e),
                }
            }
        }
    }
    if let Some(e) = errors {
        return Err(e);
    }
    let schemas = variants.iter().map(|(_, ty)| quote!(<#ty as ::onetable::Entity>::SCHEMA));
    let arms = variants.iter().map(|(v, ty)| {
        quote! {
            if name == <#ty as ::onetable::Entity>::SCHEMA.name {
                return ::core::option::Option::Some(<#ty as ::onetable::Entity>::from_item(item).map(Self::#v));
            }
        }
    });
    Ok(quote! {
        #[automatically_derived]
        impl ::onetable::Collection for #ident {
            const ENTITIES: &'static [&'static ::onetable::schema::EntitySchema] = &[#(#schemas),*];

            fn from_item(name: &str, item: ::onetable::Item) -> ::core::option::Option<::core::result::Result<Self, ::onetable::Error>> {
                #(#arms)*
                ::core::option::Option::None
            }
        }
    })
}
