//! `#[derive(Value)]`: unit enums stored as strings, structs stored as maps.

use crate::ast::{parse_field, Default, Field};
use crate::diag::Errors;
use proc_macro2::TokenStream;
use quote::quote;
use std::collections::HashMap;
use syn::LitStr;

pub fn derive(input: &syn::DeriveInput) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    if !input.generics.params.is_empty() {
        errors.at(&input.generics, "#[derive(Value)] does not support generic types");
    }
    let rename_all = rename_all(input, &mut errors);
    let out = match &input.data {
        syn::Data::Enum(data) => enumeration(input, data, rename_all, &mut errors),
        syn::Data::Struct(syn::DataStruct { fields: syn::Fields::Named(named), .. }) => {
            structure(input, named, &mut errors)
        }
        syn::Data::Struct(syn::DataStruct { fields: syn::Fields::Unnamed(fields), .. })
            if fields.unnamed.len() == 1 =>
        {
            Some(newtype(&input.ident, &fields.unnamed[0].ty))
        }
        _ => {
            errors.at(
                &input.ident,
                "#[derive(Value)] works on unit-only enums, structs with named fields and newtypes (`struct UserId(String)`)",
            );
            None
        }
    };
    errors.finish()?;
    Ok(out.unwrap_or_default())
}

/// A newtype (`struct UserId(String)`) is stored as the value it wraps, and writes
/// that value's key text, so it can be a key template variable.
fn newtype(ident: &syn::Ident, inner: &syn::Type) -> TokenStream {
    quote! {
        impl ::onetable::Value for #ident {
            const ONETABLE_TYPE: &'static str = <#inner as ::onetable::Value>::ONETABLE_TYPE;
            #[inline]
            fn to_attr(&self, format: &::onetable::Format) -> ::core::result::Result<::core::option::Option<::onetable::AttributeValue>, ::onetable::ValueError> {
                <#inner as ::onetable::Value>::to_attr(&self.0, format)
            }
            #[inline]
            fn into_attr(self, format: &::onetable::Format) -> ::core::result::Result<::core::option::Option<::onetable::AttributeValue>, ::onetable::ValueError> {
                <#inner as ::onetable::Value>::into_attr(self.0, format)
            }
            #[inline]
            fn from_attr(attr: ::onetable::AttributeValue) -> ::core::result::Result<Self, ::onetable::ValueError> {
                <#inner as ::onetable::Value>::from_attr(attr).map(#ident)
            }
            #[inline]
            fn from_missing() -> ::core::result::Result<Self, ::onetable::ValueError> {
                <#inner as ::onetable::Value>::from_missing().map(#ident)
            }
        }
        impl ::onetable::KeyValue for #ident {
            #[inline]
            fn write_key(&self, out: &mut ::std::string::String) -> bool {
                ::onetable::__private::write_key_via_value(&self.0, out)
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Case {
    Lower,
    Upper,
    Snake,
    ScreamingSnake,
    Kebab,
    Camel,
}

/// The spellings of `rename_all`, as serde spells them: one table for parsing and for
/// the error message.
const CASES: [(&str, Case); 6] = [
    ("lowercase", Case::Lower),
    ("UPPERCASE", Case::Upper),
    ("snake_case", Case::Snake),
    ("SCREAMING_SNAKE_CASE", Case::ScreamingSnake),
    ("kebab-case", Case::Kebab),
    ("camelCase", Case::Camel),
];

fn rename_all(input: &syn::DeriveInput, errors: &mut Errors) -> Option<Case> {
    let mut case = None;
    let mut given = false;
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("value")) {
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename_all") {
                let lit: LitStr = meta.value()?.parse()?;
                if std::mem::replace(&mut given, true) {
                    errors.at(&meta.path, "`rename_all` is given twice");
                }
                case = CASES.iter().find(|(name, _)| *name == lit.value()).map(|(_, case)| *case);
                if case.is_none() {
                    let names: Vec<&str> = CASES.iter().map(|(name, _)| *name).collect();
                    errors.at(&lit, format!("expected one of {}", names.join(", ")));
                }
            } else if meta.path.is_ident("crate") {
                // Read by `krate`, applied to the generated code.
                meta.value()?.parse::<LitStr>()?;
            } else {
                errors.at(&meta.path, "unknown option: expected `rename_all = \"..\"` or `crate = \"..\"`");
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
    case
}

fn apply_case(name: &str, case: Option<Case>) -> String {
    let Some(case) = case else { return name.to_owned() };
    let mut words: Vec<String> = Vec::new();
    for c in name.chars() {
        if c.is_uppercase() || words.is_empty() {
            words.push(String::new());
        }
        if let Some(w) = words.last_mut() {
            w.extend(c.to_lowercase());
        }
    }
    match case {
        Case::Lower => words.concat(),
        Case::Upper => words.concat().to_uppercase(),
        Case::Snake => words.join("_"),
        Case::ScreamingSnake => words.join("_").to_uppercase(),
        Case::Kebab => words.join("-"),
        Case::Camel => words
            .iter()
            .enumerate()
            .map(|(i, w)| if i == 0 { w.clone() } else { w[..1].to_uppercase() + &w[1..] })
            .collect(),
    }
}

fn enumeration(
    input: &syn::DeriveInput,
    data: &syn::DataEnum,
    case: Option<Case>,
    errors: &mut Errors,
) -> Option<TokenStream> {
    let ident = &input.ident;
    let mut names: HashMap<String, &syn::Ident> = HashMap::new();
    let mut variants = Vec::new();
    for v in &data.variants {
        if !matches!(v.fields, syn::Fields::Unit) {
            errors.at(
                &v.ident,
                "#[derive(Value)] stores enums as strings: every variant must be a unit variant",
            );
            continue;
        }
        let mut stored = apply_case(&v.ident.to_string(), case);
        let mut renamed = false;
        for attr in v.attrs.iter().filter(|a| a.path().is_ident("attr")) {
            let result = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("rename") {
                    stored = meta.value()?.parse::<LitStr>()?.value();
                    if std::mem::replace(&mut renamed, true) {
                        errors.at(&meta.path, "`rename` is given twice");
                    }
                } else {
                    errors.at(&meta.path, "unknown variant option: expected `rename = \"..\"`");
                }
                Ok(())
            });
            if let Err(e) = result {
                errors.push(e);
            }
        }
        if stored.is_empty() {
            errors.at(&v.ident, "a variant cannot be stored as an empty string");
        }
        if let Some(other) = names.insert(stored.clone(), &v.ident) {
            errors
                .at(&v.ident, format!("variants `{other}` and `{}` are both stored as {stored:?}", v.ident));
        }
        variants.push((v.ident.clone(), stored));
    }
    let to = variants.iter().map(|(v, s)| quote!(#ident::#v => #s));
    let from = variants.iter().map(|(v, s)| quote!(#s => ::core::result::Result::Ok(#ident::#v)));
    let expected = variants.iter().map(|(_, s)| format!("{s:?}")).collect::<Vec<_>>().join(", ");
    let type_name = ident.to_string();
    Some(quote! {
        #[automatically_derived]
        impl #ident {
            /// The string this variant is stored as.
            pub fn as_stored_str(&self) -> &'static str {
                match self { #(#to),* }
            }

            fn __onetable_parse(text: &str) -> ::core::result::Result<Self, ::onetable::ValueError> {
                match text {
                    #(#from,)*
                    other => ::core::result::Result::Err(::onetable::ValueError::Invalid(::std::format!(
                        "{:?} is not a {} (expected one of {})", other, #type_name, #expected
                    ))),
                }
            }
        }

        #[automatically_derived]
        impl ::onetable::Value for #ident {
            const ONETABLE_TYPE: &'static str = "string";
            fn to_attr(&self, _: &::onetable::Format) -> ::core::result::Result<::core::option::Option<::onetable::AttributeValue>, ::onetable::ValueError> {
                ::core::result::Result::Ok(::core::option::Option::Some(::onetable::AttributeValue::S(self.as_stored_str().to_owned())))
            }
            fn from_attr(attr: ::onetable::AttributeValue) -> ::core::result::Result<Self, ::onetable::ValueError> {
                match attr {
                    ::onetable::AttributeValue::S(s) => Self::__onetable_parse(&s),
                    other => ::core::result::Result::Err(::onetable::ValueError::type_of("S", &other)),
                }
            }
        }

        #[automatically_derived]
        impl ::onetable::schema::ListElement for #ident {}

        #[automatically_derived]
        impl ::onetable::KeyValue for #ident {
            fn write_key(&self, out: &mut ::std::string::String) -> bool {
                out.push_str(self.as_stored_str());
                true
            }
        }

        #[automatically_derived]
        impl ::onetable::set::SetElement for #ident {
            const SET_KIND: ::onetable::set::SetKind = ::onetable::set::SetKind::String;
            fn set_text(&self) -> ::std::string::String {
                self.as_stored_str().to_owned()
            }
            fn from_set_text(text: ::std::string::String) -> ::core::result::Result<Self, ::onetable::ValueError> {
                Self::__onetable_parse(&text)
            }
        }
    })
}

fn structure(input: &syn::DeriveInput, named: &syn::FieldsNamed, errors: &mut Errors) -> Option<TokenStream> {
    let ident = &input.ident;
    let fields: Vec<Field> = named.named.iter().filter_map(|f| parse_field(f, errors)).collect();
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut stored = Vec::new();
    for f in &fields {
        let options = [
            f.map.as_ref().map(|m| m.span()),
            f.unique,
            f.ttl,
            f.version,
            f.generate.as_ref().map(|g| g.span()),
        ];
        if let Some(span) = options.into_iter().flatten().next() {
            errors.span(span, "inside a nested value, fields take only rename, default and skip");
        }
        if f.skip.is_some() {
            continue;
        }
        let attribute = f.rename.as_ref().map_or_else(|| f.name(), LitStr::value);
        if let Some(other) = seen.insert(attribute.clone(), f.name()) {
            errors.at(
                &f.ident,
                format!("fields `{other}` and `{}` are both stored as `{attribute}`", f.name()),
            );
        }
        stored.push((f, attribute));
    }
    let type_name = ident.to_string();
    let to = |consume: bool| {
        stored.iter().map(move |(f, attribute)| {
            let field = &f.ident;
            let convert = if consume {
                quote!(::onetable::Value::into_attr(self.#field, format))
            } else {
                quote!(::onetable::Value::to_attr(&self.#field, format))
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
            None => quote!(::onetable::Value::from_missing()),
        };
        quote! {
            #field: match map.remove(#attribute) {
                ::core::option::Option::Some(av) => ::onetable::Value::from_attr(av),
                ::core::option::Option::None => #missing,
            }.map_err(|e: ::onetable::ValueError| e.at(::core::format_args!(".{}", #attribute)))?
        }
    });
    let count = stored.len();
    let consts = stored.iter().map(|(f, attribute)| {
        let name = f.name();
        let konst = crate::generate::const_name(&name);
        let ty = &f.ty;
        let doc = format!("The field `{name}` inside the map (attribute `{attribute}`).");
        quote! {
            #[doc = #doc]
            pub const #konst: ::onetable::Field<#ident, #ty> = ::onetable::Field::new(#name, #attribute, ::core::option::Option::None);
        }
    });
    Some(quote! {
        #[automatically_derived]
        impl ::onetable::Value for #ident {
            fn to_attr(&self, format: &::onetable::Format) -> ::core::result::Result<::core::option::Option<::onetable::AttributeValue>, ::onetable::ValueError> {
                let mut map = ::onetable::Item::with_capacity(#count);
                #(#to_ref)*
                ::core::result::Result::Ok(::core::option::Option::Some(::onetable::AttributeValue::M(map)))
            }
            fn into_attr(self, format: &::onetable::Format) -> ::core::result::Result<::core::option::Option<::onetable::AttributeValue>, ::onetable::ValueError> {
                let mut map = ::onetable::Item::with_capacity(#count);
                #(#to_owned)*
                ::core::result::Result::Ok(::core::option::Option::Some(::onetable::AttributeValue::M(map)))
            }
            fn from_attr(attr: ::onetable::AttributeValue) -> ::core::result::Result<Self, ::onetable::ValueError> {
                let mut map = match attr {
                    ::onetable::AttributeValue::M(map) => map,
                    other => return ::core::result::Result::Err(::onetable::ValueError::type_of("M", &other)),
                };
                let _ = #type_name;
                ::core::result::Result::Ok(Self { #(#from),* })
            }
        }

        #[automatically_derived]
        impl ::onetable::schema::ListElement for #ident {}

        // The fields inside, for updates of one of them (`Update::set_in`).
        #[automatically_derived]
        impl #ident {
            #(#consts)*
        }
        #[automatically_derived]
        impl ::onetable::Nested for #ident {
            type Fields = #ident;
        }
    })
}

/// What the derive emits beside its errors: impls that compile, so that one mistake is
/// reported once, not again at every field of this type.
pub fn stub(input: &syn::DeriveInput) -> TokenStream {
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    quote! {
        impl #impl_generics ::onetable::Value for #ident #ty_generics #where_clause {
            fn to_attr(&self, _: &::onetable::Format) -> ::core::result::Result<::core::option::Option<::onetable::AttributeValue>, ::onetable::ValueError> {
                ::core::unimplemented!()
            }
            fn from_attr(_: ::onetable::AttributeValue) -> ::core::result::Result<Self, ::onetable::ValueError> {
                ::core::unimplemented!()
            }
        }
        impl #impl_generics ::onetable::KeyValue for #ident #ty_generics #where_clause {
            fn write_key(&self, _: &mut ::std::string::String) -> bool {
                ::core::unimplemented!()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_convert_as_serde_converts_variants() {
        let expected = [
            ("lowercase", "pastdue"),
            ("UPPERCASE", "PASTDUE"),
            ("snake_case", "past_due"),
            ("SCREAMING_SNAKE_CASE", "PAST_DUE"),
            ("kebab-case", "past-due"),
            ("camelCase", "pastDue"),
        ];
        for ((name, case), (expected_name, text)) in CASES.iter().zip(expected) {
            assert_eq!(*name, expected_name);
            assert_eq!(apply_case("PastDue", Some(*case)), text, "{name}");
        }
        assert_eq!(apply_case("Active", Some(Case::Snake)), "active");
        assert_eq!(
            apply_case("HTTPError", Some(Case::Kebab)),
            "h-t-t-p-error",
            "serde's rule: a break before each capital"
        );
        assert_eq!(apply_case("PastDue", None), "PastDue");
    }
}
