//! The `EntitySchema` constant of a validated entity: its indexes with their parsed
//! templates, and its fields, as `'static` data the client reads.

use super::validate::{Generate, Index, KeyAttr, Kind, Projection, Schema, Stored};
use crate::field::is_optional;
use crate::template::{Parsed, Part};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::Ident;

/// `&EntitySchema { .. }`, the value of `Entity::SCHEMA`.
pub fn constant(schema: &Schema<'_>) -> TokenStream {
    let name = &schema.name;
    let timestamps = match schema.entity.timestamps {
        None => quote!(::core::option::Option::None),
        Some(which) => {
            let which = match which {
                (true, true) => quote!(Both),
                (true, false) => quote!(Create),
                (false, true) => quote!(Update),
                (false, false) => quote!(Off),
            };
            quote!(::core::option::Option::Some(_onetable::Timestamps::#which))
        }
    };
    let design = option_str(schema.design.as_deref());
    let indexes = schema.indexes.iter().enumerate().map(|(i, index)| index_schema(i, index, schema));
    let fields = schema.fields.iter().map(field_schema);
    quote! {
        &_onetable::schema::EntitySchema {
            name: #name,
            indexes: &[#(#indexes),*],
            fields: &[#(#fields),*],
            timestamps: #timestamps,
            design: #design,
        }
    }
}

/// A parsed template as a `_onetable::schema::Template` value.
fn template_tokens(source: &str, parsed: &Parsed) -> TokenStream {
    let delimiters = &parsed.delimiters;
    let parts = parsed.parts.iter().map(|p| match p {
        Part::Text(t) => quote!(_onetable::schema::Part::Text(#t)),
        Part::Var(v) => quote!(_onetable::schema::Part::Var(#v)),
        Part::Padded(v, width, pad) => {
            let pad = pad_tokens(*width, *pad);
            quote!(_onetable::schema::Part::Padded(#v, #pad))
        }
    });
    quote!(_onetable::schema::Template { source: #source, parts: &[#(#parts),*], delimiters: #delimiters })
}

/// `_onetable::schema::Pad { width, with }`.
pub fn pad_tokens(width: usize, pad: char) -> TokenStream {
    quote!(_onetable::schema::Pad { width: #width, with: #pad })
}

pub fn template_ident(index: usize, sort: bool) -> Ident {
    format_ident!("__ONETABLE_TEMPLATE_{}_{}", index, if sort { "SORT" } else { "HASH" })
}

pub fn template_consts(schema: &Schema<'_>) -> TokenStream {
    let mut out = TokenStream::new();
    for (i, index) in schema.indexes.iter().enumerate() {
        for (sort, key) in [(false, &index.hash), (true, &index.sort)] {
            let Some(key) = key else { continue };
            let ident = template_ident(i, sort);
            let template = template_tokens(&key.source.value(), &key.parsed);
            out.extend(quote! {
                #[doc(hidden)]
                const #ident: _onetable::schema::Template = #template;
            });
        }
    }
    out
}

fn index_schema(i: usize, index: &Index, schema: &Schema<'_>) -> TokenStream {
    let name = &index.name;
    let kind = match index.kind {
        Kind::Primary => quote!(Primary),
        Kind::Global => quote!(Global),
        Kind::Local => quote!(Local),
    };
    let key = |key: &Option<KeyAttr>, sort| match key {
        Some(k) => {
            let attribute = &k.attribute;
            let template = template_ident(i, sort);
            quote!(::core::option::Option::Some(_onetable::schema::KeyAttribute { attribute: #attribute, template: Self::#template }))
        }
        None => quote!(::core::option::Option::None),
    };
    let (hash, sort) = (key(&index.hash, false), key(&index.sort, true));
    let projection = match &index.projection {
        Projection::All => quote!(_onetable::schema::IndexProjection::All),
        Projection::KeysOnly => quote!(_onetable::schema::IndexProjection::KeysOnly),
        Projection::Include(attributes) => {
            quote!(_onetable::schema::IndexProjection::Include(&[#(#attributes),*]))
        }
    };
    let multi = match &index.multi {
        Some(multi) => super::multi::schema(multi, schema),
        None => quote!(::core::option::Option::None),
    };
    quote!(_onetable::schema::IndexSchema {
        name: #name, kind: _onetable::schema::IndexKind::#kind, hash: #hash, sort: #sort, projection: #projection,
        multi: #multi,
    })
}

fn field_schema(stored: &Stored<'_>) -> TokenStream {
    let f = stored.field;
    let name = f.name();
    let attribute = &stored.attribute;
    let map = option_str(stored.map.as_deref());
    let ty = &f.ty;
    let rust_type = quote!(#ty).to_string().replace(' ', "");
    let required = f.default.is_none() && !is_optional(&f.ty);
    let (unique, ttl, version) = (f.unique.is_some(), f.ttl.is_some(), f.version.is_some());
    let crypt = f.crypt.is_some();
    let generate = match stored.generate {
        Some(Generate::Ulid) => quote!(::core::option::Option::Some(_onetable::schema::Generate::Ulid)),
        Some(Generate::Uuid) => quote!(::core::option::Option::Some(_onetable::schema::Generate::Uuid)),
        None => quote!(::core::option::Option::None),
    };
    let value = match (&stored.value, &f.value) {
        (Some(parsed), Some(lit)) => {
            let template = template_tokens(&lit.value(), parsed);
            quote!(::core::option::Option::Some(&#template))
        }
        _ => quote!(::core::option::Option::None),
    };
    let unique_scope = match (&stored.scope, &f.unique_scope) {
        (Some(parsed), Some(lit)) => {
            let template = template_tokens(&lit.value(), parsed);
            quote!(::core::option::Option::Some(&#template))
        }
        _ => quote!(::core::option::Option::None),
    };
    // A TTL is held by a `TtlValue`, which need not be a `Value`: a date to OneTable,
    // and never a map.
    let (onetable_type, map_keys) = if ttl {
        (quote!("date"), quote!(::core::option::Option::None))
    } else {
        (quote!(<#ty as _onetable::Value>::ONETABLE_TYPE), quote!(<#ty as _onetable::Value>::MAP))
    };
    let rules = f.rules.tokens();
    quote! {
        _onetable::schema::FieldSchema {
            name: #name, attribute: #attribute, map: #map, rust_type: #rust_type, onetable_type: #onetable_type,
            required: #required, unique: #unique, unique_scope: #unique_scope, value: #value, crypt: #crypt,
            ttl: #ttl, version: #version, generate: #generate, map_keys: #map_keys, rules: #rules,
        }
    }
}

pub fn option_str(s: Option<&str>) -> TokenStream {
    match s {
        Some(s) => quote!(::core::option::Option::Some(#s)),
        None => quote!(::core::option::Option::None),
    }
}
