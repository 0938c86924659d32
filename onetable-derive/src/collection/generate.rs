//! Generate stage of `#[derive(Collection)]`: the `Collection` impl, which reads an
//! item as the variant whose entity wrote it.

use super::parse::Input;
use super::validate::Members;
use proc_macro2::TokenStream;
use quote::quote;

pub fn collection(ident: &syn::Ident, members: &Members<'_>) -> TokenStream {
    // A variant holds an entity or a projection of one (every entity is its own).
    let schemas = members
        .iter()
        .map(|(_, ty)| quote!(<<#ty as _onetable::Projection>::Entity as _onetable::Entity>::SCHEMA));
    let fields = members.iter().map(|(_, ty)| quote!(<#ty as _onetable::Projection>::FIELDS));
    let arms = members.iter().map(|(v, ty)| {
        quote! {
            if name == <<#ty as _onetable::Projection>::Entity as _onetable::Entity>::SCHEMA.name {
                return ::core::option::Option::Some(<#ty as _onetable::Projection>::from_item(item).map(Self::#v));
            }
        }
    });
    let json_arms = members.iter().map(|(v, ty)| {
        quote! {
            if name == <<#ty as _onetable::Projection>::Entity as _onetable::Entity>::SCHEMA.name {
                return <#ty as _onetable::Projection>::from_json(json, type_field).map(Self::#v);
            }
        }
    });
    quote! {
        #[automatically_derived]
        impl _onetable::Collection for #ident {
            const ENTITIES: &'static [&'static _onetable::schema::EntitySchema] = &[#(#schemas),*];
            const FIELDS: &'static [::core::option::Option<&'static [&'static str]>] = &[#(#fields),*];

            fn from_item(name: &str, item: _onetable::Item) -> ::core::option::Option<::core::result::Result<Self, _onetable::Error>> {
                #(#arms)*
                ::core::option::Option::None
            }

            fn from_json(name: &str, json: &mut _onetable::__private::WireReader<'_>, type_field: &str) -> ::core::option::Option<Self> {
                #(#json_arms)*
                ::core::option::Option::None
            }
        }
    }
}

/// What the derive emits beside its errors: an impl that compiles, so that code using
/// the enum reports nothing more than the derive's own mistakes.
pub fn stub(input: &Input) -> TokenStream {
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    quote! {
        impl #impl_generics _onetable::Collection for #ident #ty_generics #where_clause {
            const ENTITIES: &'static [&'static _onetable::schema::EntitySchema] = &[];
            const FIELDS: &'static [::core::option::Option<&'static [&'static str]>] = &[];
            fn from_item(_: &str, _: _onetable::Item) -> ::core::option::Option<::core::result::Result<Self, _onetable::Error>> {
                ::core::unimplemented!()
            }
        }
    }
}
