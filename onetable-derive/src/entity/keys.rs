//! Keys of a validated entity: composing them from an entity's fields (on write) and
//! from arguments (the key builders `User::key(..)`, `User::partition(..)`).

use super::schema::{pad_tokens, template_ident};
use super::validate::{KeyAttr, Kind, Schema};
use crate::template::Part;
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

/// Composes one key attribute from `self`. Primary keys need every variable; a
/// secondary index key is left out (sparse index) when one is absent.
fn compose_from_self(
    schema: &Schema<'_>,
    i: usize,
    key: &KeyAttr,
    sort: bool,
    required: bool,
) -> TokenStream {
    let entity = &schema.name;
    let attribute = &key.attribute;
    if let [Part::Text(t)] = key.parsed.parts.as_slice() {
        return quote!(item.insert(#attribute.to_owned(), _onetable::AttributeValue::S(#t.to_owned())););
    }
    let template = template_ident(i, sort);
    let steps = key.parsed.parts.iter().map(|p| match p {
        Part::Text(t) => quote!(k.text(#t);),
        Part::Var(v) | Part::Padded(v, ..) => {
            let Some(stored) = schema.field(v) else { return quote!() };
            let (ident, ty) = (&stored.field.ident, &stored.field.ty);
            // Spanned on the type so that a type that cannot be a key is reported there.
            let var = match p {
                Part::Padded(_, width, pad) => {
                    let pad = pad_tokens(*width, *pad);
                    quote_spanned!(ty.span()=> k.var_padded::<#ty>(#v, &self.#ident, #pad))
                }
                _ => quote_spanned!(ty.span()=> k.var::<#ty>(#v, &self.#ident)),
            };
            if required {
                quote!(let present = #var?; k.required(#v, present)?;)
            } else {
                quote!(complete &= #var?;)
            }
        }
    });
    if required {
        quote! {{
            let mut k = _onetable::schema::KeyBuf::new(#entity, &Self::#template);
            #(#steps)*
            item.insert(#attribute.to_owned(), _onetable::AttributeValue::S(k.finish()));
        }}
    } else {
        quote! {{
            let mut k = _onetable::schema::KeyBuf::new(#entity, &Self::#template);
            let mut complete = true;
            #(#steps)*
            if complete {
                item.insert(#attribute.to_owned(), _onetable::AttributeValue::S(k.finish()));
            }
        }}
    }
}

pub fn compose_keys(schema: &Schema<'_>, primary_only: bool) -> TokenStream {
    let mut out = TokenStream::new();
    let mut seen = Vec::new();
    for (i, index) in schema.indexes.iter().enumerate() {
        if primary_only && index.kind != Kind::Primary {
            continue;
        }
        for (sort, key) in [(false, &index.hash), (true, &index.sort)] {
            let Some(key) = key else { continue };
            // An attribute shared by two indexes (same template) is written once.
            if seen.contains(&key.attribute) {
                continue;
            }
            seen.push(key.attribute.clone());
            out.extend(compose_from_self(schema, i, key, sort, index.kind == Kind::Primary));
        }
    }
    out
}

pub fn primary_key(schema: &Schema<'_>) -> TokenStream {
    let keys = compose_keys(schema, true);
    quote! {
        let mut item = _onetable::Item::with_capacity(2);
        #keys
        ::core::result::Result::Ok(item)
    }
}

/// Variables of a template, in order, without repeats.
fn variables<'k>(keys: impl IntoIterator<Item = &'k KeyAttr>) -> Vec<String> {
    let mut vars: Vec<String> = Vec::new();
    for key in keys {
        for v in key.parsed.variables() {
            if !vars.iter().any(|x| x == v) {
                vars.push(v.to_owned());
            }
        }
    }
    vars
}

fn key_params(schema: &Schema<'_>, vars: &[String]) -> Vec<TokenStream> {
    vars.iter()
        .filter_map(|v| {
            let stored = schema.field(v)?;
            let ident = &stored.field.ident;
            let ty = &stored.field.ty;
            Some(quote!(#ident: impl _onetable::AsKeyPart<#ty>))
        })
        .collect()
}

/// Composes one key attribute value from the builder's arguments.
fn compose_from_args(schema: &Schema<'_>, i: usize, key: &KeyAttr, sort: bool) -> TokenStream {
    let entity = &schema.name;
    let template = template_ident(i, sort);
    let steps = key.parsed.parts.iter().map(|p| match p {
        Part::Text(t) => quote!(k.text(#t);),
        Part::Var(v) | Part::Padded(v, ..) => {
            let Some(stored) = schema.field(v) else { return quote!() };
            let ident = &stored.field.ident;
            let ty = &stored.field.ty;
            let arg = match p {
                Part::Padded(_, width, pad) => {
                    let pad = pad_tokens(*width, *pad);
                    quote_spanned!(ty.span()=> k.arg_padded::<#ty, _>(#v, &#ident, #pad))
                }
                _ => quote_spanned!(ty.span()=> k.arg::<#ty, _>(#v, &#ident)),
            };
            quote!(let present = #arg?; k.required(#v, present)?;)
        }
    });
    quote! {{
        let mut k = _onetable::schema::KeyBuf::new(#entity, &Self::#template);
        #(#steps)*
        k.finish()
    }}
}

pub fn key_builders(schema: &Schema<'_>) -> TokenStream {
    let ident = &schema.entity.ident;
    let Some(primary) = schema.indexes.first().filter(|i| i.kind == Kind::Primary) else {
        return TokenStream::new();
    };
    let Some(hash) = &primary.hash else { return TokenStream::new() };
    let mut out = TokenStream::new();

    // The full primary key.
    let vars = variables(primary.hash.iter().chain(&primary.sort));
    let params = key_params(schema, &vars);
    let mut inserts = Vec::new();
    for (sort, key) in [(false, &primary.hash), (true, &primary.sort)] {
        let Some(key) = key else { continue };
        let attribute = &key.attribute;
        let value = compose_from_args(schema, 0, key, sort);
        inserts.push(quote!(item.insert(#attribute.to_owned(), _onetable::AttributeValue::S(#value));));
    }
    let doc = format!(
        "The primary key of one `{ident}`: `{}`{}.",
        hash.source.value(),
        primary.sort.as_ref().map_or(String::new(), |s| format!(", `{}`", s.source.value()))
    );
    out.extend(quote! {
        #[doc = #doc]
        pub fn key(#(#params),*) -> _onetable::Key<Self> {
            _onetable::Key::new((|| -> ::core::result::Result<_onetable::Item, _onetable::Error> {
                let mut item = _onetable::Item::with_capacity(2);
                #(#inserts)*
                ::core::result::Result::Ok(item)
            })())
        }
    });

    // A partition per index, for queries.
    for (i, index) in schema.indexes.iter().enumerate() {
        let fn_name = if index.kind == Kind::Primary {
            format_ident!("partition")
        } else {
            let clean: String = index
                .name
                .chars()
                .map(|c| if c.is_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
                .collect();
            if clean.starts_with(|c: char| c.is_ascii_digit()) {
                format_ident!("index_{}_partition", clean)
            } else {
                format_ident!("{}_partition", clean)
            }
        };
        if let Some(multi) = &index.multi {
            out.extend(super::multi::partition_builder(
                multi,
                schema,
                i,
                &fn_name,
                &schema.name,
                &index.name,
            ));
            continue;
        }
        let (hash_index, hash_key) = match (&index.hash, index.kind) {
            (Some(h), _) => (i, h),
            (None, Kind::Local) => (0, hash),
            (None, _) => continue,
        };
        let vars = variables([hash_key]);
        let params = key_params(schema, &vars);
        let value = compose_from_args(schema, hash_index, hash_key, false);
        let doc = format!(
            "A partition of `{ident}` on index `{}` (`{}`), to query; narrow the sort key with `.with(..)`.",
            index.name,
            hash_key.source.value()
        );
        let entity = &schema.name;
        out.extend(quote! {
            #[doc = #doc]
            pub fn #fn_name(#(#params),*) -> _onetable::PartialKey<Self> {
                let hash = (|| -> ::core::result::Result<::std::string::String, _onetable::Error> {
                    ::core::result::Result::Ok(#value)
                })();
                _onetable::PartialKey::new(#entity, &<Self as _onetable::Entity>::SCHEMA.indexes[#i], hash)
            }
        });
    }
    out
}
