//! Generate stage of `#[derive(Value)]`: the `Value` impl of a checked type (and the
//! impls that let it be a key, a list or set element, or a nested map's fields).

use super::parse::Input;
use super::validate::Layout;
use crate::field::{const_name, Default, Field};
use proc_macro2::TokenStream;
use quote::quote;
use syn::Ident;

pub fn value(input: &Input, layout: &Layout<'_>) -> TokenStream {
    let ident = &input.ident;
    match layout {
        Layout::Enum(variants) => enumeration(ident, variants),
        Layout::Struct { fields, stored } => structure(ident, fields, stored),
        Layout::Newtype(inner) => newtype(ident, inner),
    }
}

/// A newtype (`struct UserId(String)`) is stored as the value it wraps, and writes
/// that value's key text, so it can be a key template variable.
fn newtype(ident: &Ident, inner: &syn::Type) -> TokenStream {
    quote! {
        impl _onetable::Value for #ident {
            const ONETABLE_TYPE: &'static str = <#inner as _onetable::Value>::ONETABLE_TYPE;
            const MAP: ::core::option::Option<&'static _onetable::schema::MapSchema> = <#inner as _onetable::Value>::MAP;
            #[inline]
            fn to_attr(&self, format: &_onetable::Format) -> ::core::result::Result<::core::option::Option<_onetable::AttributeValue>, _onetable::ValueError> {
                <#inner as _onetable::Value>::to_attr(&self.0, format)
            }
            #[inline]
            fn into_attr(self, format: &_onetable::Format) -> ::core::result::Result<::core::option::Option<_onetable::AttributeValue>, _onetable::ValueError> {
                <#inner as _onetable::Value>::into_attr(self.0, format)
            }
            #[inline]
            fn from_attr(attr: _onetable::AttributeValue) -> ::core::result::Result<Self, _onetable::ValueError> {
                <#inner as _onetable::Value>::from_attr(attr).map(#ident)
            }
            #[inline]
            fn from_missing() -> ::core::result::Result<Self, _onetable::ValueError> {
                <#inner as _onetable::Value>::from_missing().map(#ident)
            }
        }
        impl _onetable::KeyValue for #ident {
            #[inline]
            fn write_key(&self, out: &mut ::std::string::String) -> bool {
                _onetable::__private::write_key_via_value(&self.0, out)
            }
        }
        // Indexable when what it wraps is; the binder defers the bound to each use,
        // so a newtype of a map still compiles (and is refused only as an index key).
        impl _onetable::schema::IndexAttribute for #ident where for<'__a> #inner: _onetable::schema::IndexAttribute {}
    }
}

/// A unit enum, stored as the string of its variant.
fn enumeration(ident: &Ident, variants: &[(&Ident, String)]) -> TokenStream {
    let to = variants.iter().map(|(v, s)| quote!(#ident::#v => #s));
    let from = variants.iter().map(|(v, s)| quote!(#s => ::core::result::Result::Ok(#ident::#v)));
    let expected = variants.iter().map(|(_, s)| format!("{s:?}")).collect::<Vec<_>>().join(", ");
    let type_name = ident.to_string();
    quote! {
        #[automatically_derived]
        impl #ident {
            /// The string this variant is stored as.
            pub fn as_stored_str(&self) -> &'static str {
                match self { #(#to),* }
            }

            fn __onetable_parse(text: &str) -> ::core::result::Result<Self, _onetable::ValueError> {
                match text {
                    #(#from,)*
                    other => ::core::result::Result::Err(_onetable::ValueError::Invalid(::std::format!(
                        "{:?} is not a {} (expected one of {})", other, #type_name, #expected
                    ))),
                }
            }
        }

        #[automatically_derived]
        impl _onetable::Value for #ident {
            const ONETABLE_TYPE: &'static str = "string";
            fn to_attr(&self, _: &_onetable::Format) -> ::core::result::Result<::core::option::Option<_onetable::AttributeValue>, _onetable::ValueError> {
                ::core::result::Result::Ok(::core::option::Option::Some(_onetable::AttributeValue::S(self.as_stored_str().to_owned())))
            }
            fn from_attr(attr: _onetable::AttributeValue) -> ::core::result::Result<Self, _onetable::ValueError> {
                match attr {
                    _onetable::AttributeValue::S(s) => Self::__onetable_parse(&s),
                    other => ::core::result::Result::Err(_onetable::ValueError::type_of("S", &other)),
                }
            }
        }

        #[automatically_derived]
        impl _onetable::schema::ListElement for #ident {}

        #[automatically_derived]
        impl _onetable::KeyValue for #ident {
            fn write_key(&self, out: &mut ::std::string::String) -> bool {
                out.push_str(self.as_stored_str());
                true
            }
        }

        #[automatically_derived]
        impl _onetable::schema::IndexAttribute for #ident {}

        #[automatically_derived]
        impl _onetable::set::SetElement for #ident {
            const SET_KIND: _onetable::set::SetKind = _onetable::set::SetKind::String;
            fn set_text(&self) -> ::std::string::String {
                self.as_stored_str().to_owned()
            }
            fn from_set_text(text: ::std::string::String) -> ::core::result::Result<Self, _onetable::ValueError> {
                Self::__onetable_parse(&text)
            }
        }
    }
}

/// A struct, stored as a map of its fields.
fn structure(ident: &Ident, fields: &[Field], stored: &[(&Field, String)]) -> TokenStream {
    let type_name = ident.to_string();
    let to = |consume: bool| {
        stored.iter().map(move |(f, attribute)| {
            let field = &f.ident;
            let convert = if consume {
                quote!(_onetable::Value::into_attr(self.#field, format))
            } else {
                quote!(_onetable::Value::to_attr(&self.#field, format))
            };
            quote! {
                if let ::core::option::Option::Some(av) = #convert.map_err(|e| e.at(::core::format_args!(".{}", #attribute)))? {
                    map.insert(#attribute.to_owned(), av);
                }
            }
        })
    };
    let (to_ref, to_owned) = (to(false), to(true));
    let from = fields.iter().map(|f| {
        let field = &f.ident;
        let Some((_, attribute)) = stored.iter().find(|(s, _)| s.ident == f.ident) else {
            return quote!(#field: ::core::default::Default::default());
        };
        let missing = match &f.default {
            Some(Default::Path(path)) => quote!(::core::result::Result::Ok(#path())),
            Some(Default::Trait) => quote!(::core::result::Result::Ok(::core::default::Default::default())),
            None => quote!(_onetable::Value::from_missing()),
        };
        quote! {
            #field: match map.remove(#attribute) {
                ::core::option::Option::Some(av) => _onetable::Value::from_attr(av),
                ::core::option::Option::None => #missing,
            }.map_err(|e: _onetable::ValueError| e.at(::core::format_args!(".{}", #attribute)))?
        }
    });
    let count = stored.len();
    let map = map_schema(stored);
    let consts = stored.iter().map(|(f, attribute)| {
        let name = f.name();
        let konst = const_name(&name);
        let ty = &f.ty;
        let doc = format!("The field `{name}` inside the map (attribute `{attribute}`).");
        quote! {
            #[doc = #doc]
            pub const #konst: _onetable::Field<#ident, #ty> = _onetable::Field::new(#name, #attribute, ::core::option::Option::None);
        }
    });
    quote! {
        #[automatically_derived]
        impl _onetable::Value for #ident {
            const MAP: ::core::option::Option<&'static _onetable::schema::MapSchema> = #map;
            fn to_attr(&self, format: &_onetable::Format) -> ::core::result::Result<::core::option::Option<_onetable::AttributeValue>, _onetable::ValueError> {
                let mut map = _onetable::Item::with_capacity(#count);
                #(#to_ref)*
                ::core::result::Result::Ok(::core::option::Option::Some(_onetable::AttributeValue::M(map)))
            }
            fn into_attr(self, format: &_onetable::Format) -> ::core::result::Result<::core::option::Option<_onetable::AttributeValue>, _onetable::ValueError> {
                let mut map = _onetable::Item::with_capacity(#count);
                #(#to_owned)*
                ::core::result::Result::Ok(::core::option::Option::Some(_onetable::AttributeValue::M(map)))
            }
            fn from_attr(attr: _onetable::AttributeValue) -> ::core::result::Result<Self, _onetable::ValueError> {
                let mut map = match attr {
                    _onetable::AttributeValue::M(map) => map,
                    other => return ::core::result::Result::Err(_onetable::ValueError::type_of("M", &other)),
                };
                let _ = #type_name;
                ::core::result::Result::Ok(Self { #(#from),* })
            }
        }

        #[automatically_derived]
        impl _onetable::schema::ListElement for #ident {}

        // The fields inside, for updates of one of them (`Update::set_in`).
        #[automatically_derived]
        impl #ident {
            #(#consts)*
        }
        #[automatically_derived]
        impl _onetable::Nested for #ident {
            type Fields = #ident;
        }
    }
}

/// The keys of the struct's map: the key `to_attr` writes for each stored field, and
/// the keys of that field's own map when it is one.
fn map_schema(stored: &[(&Field, String)]) -> TokenStream {
    let keys = stored.iter().map(|(f, attribute)| {
        let ty = &f.ty;
        quote!(_onetable::schema::MapKey { attribute: #attribute, map: <#ty as _onetable::Value>::MAP })
    });
    quote!(::core::option::Option::Some(&_onetable::schema::MapSchema { keys: &[#(#keys),*] }))
}

/// What the derive emits beside its errors: impls that compile, so that one mistake is
/// reported once, not again at every field of this type.
pub fn stub(input: &Input) -> TokenStream {
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    quote! {
        impl #impl_generics _onetable::Value for #ident #ty_generics #where_clause {
            fn to_attr(&self, _: &_onetable::Format) -> ::core::result::Result<::core::option::Option<_onetable::AttributeValue>, _onetable::ValueError> {
                ::core::unimplemented!()
            }
            fn from_attr(_: _onetable::AttributeValue) -> ::core::result::Result<Self, _onetable::ValueError> {
                ::core::unimplemented!()
            }
        }
        impl #impl_generics _onetable::KeyValue for #ident #ty_generics #where_clause {
            fn write_key(&self, _: &mut ::std::string::String) -> bool {
                ::core::unimplemented!()
            }
        }
    }
}
