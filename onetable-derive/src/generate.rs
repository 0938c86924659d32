//! Generate stage: the `Entity` impl, the schema constant, field constants and typed
//! key builders of a validated entity.

use crate::ast::{Default, Entity};
use crate::template::Part;
use crate::validate::{Generate, Index, KeyAttr, Kind, Schema, Stored};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::Ident;

pub fn entity(schema: &Schema<'_>) -> TokenStream {
    let ident = &schema.entity.ident;
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
            quote!(::core::option::Option::Some(::onetable::Timestamps::#which))
        }
    };
    let templates = template_consts(schema);
    let indexes = schema.indexes.iter().enumerate().map(|(i, index)| index_schema(i, index));
    let fields = schema.fields.iter().map(field_schema);
    let (to_item, into_item) = (to_item(schema, false), to_item(schema, true));
    let from_item = from_item(schema);
    let primary_key = primary_key(schema);
    let generate_ids = generate_ids(schema);
    let field_consts = field_consts(schema);
    let key_builders = key_builders(schema);
    let assertions = assertions(schema);
    quote! {
        #[automatically_derived]
        impl ::onetable::Entity for #ident {
            const SCHEMA: &'static ::onetable::schema::EntitySchema = &::onetable::schema::EntitySchema {
                name: #name,
                indexes: &[#(#indexes),*],
                fields: &[#(#fields),*],
                timestamps: #timestamps,
            };

            fn to_item(&self, format: &::onetable::Format) -> ::core::result::Result<::onetable::Item, ::onetable::Error> {
                #to_item
            }

            fn into_item(self, format: &::onetable::Format) -> ::core::result::Result<::onetable::Item, ::onetable::Error> {
                #into_item
            }

            fn from_item(mut item: ::onetable::Item) -> ::core::result::Result<Self, ::onetable::Error> {
                #from_item
            }

            fn primary_key(&self) -> ::core::result::Result<::onetable::Item, ::onetable::Error> {
                #primary_key
            }

            fn generate_ids(&mut self) {
                #generate_ids
            }
        }

        #[automatically_derived]
        #[allow(non_upper_case_globals, dead_code)]
        impl #ident {
            #templates
            #field_consts
            #key_builders
        }

        const _: () = { #assertions };
    }
}

/// A stub impl emitted when validation fails, so one schema mistake does not bury the
/// user under follow-on "trait not implemented" errors.
pub fn stub(entity: &Entity) -> TokenStream {
    let ident = &entity.ident;
    let (impl_generics, ty_generics, where_clause) = entity.generics.split_for_impl();
    quote! {
        impl #impl_generics ::onetable::Entity for #ident #ty_generics #where_clause {
            const SCHEMA: &'static ::onetable::schema::EntitySchema = ::core::unimplemented!();
            fn to_item(&self, _: &::onetable::Format) -> ::core::result::Result<::onetable::Item, ::onetable::Error> { ::core::unimplemented!() }
            fn into_item(self, _: &::onetable::Format) -> ::core::result::Result<::onetable::Item, ::onetable::Error> { ::core::unimplemented!() }
            fn from_item(_: ::onetable::Item) -> ::core::result::Result<Self, ::onetable::Error> { ::core::unimplemented!() }
            fn primary_key(&self) -> ::core::result::Result<::onetable::Item, ::onetable::Error> { ::core::unimplemented!() }
            fn generate_ids(&mut self) {}
        }
    }
}

/// A parsed template as a `::onetable::schema::Template` value.
fn template_tokens(source: &str, parsed: &crate::template::Parsed) -> TokenStream {
    let delimiters = &parsed.delimiters;
    let parts = parsed.parts.iter().map(|p| match p {
        Part::Text(t) => quote!(::onetable::schema::Part::Text(#t)),
        Part::Var(v) => quote!(::onetable::schema::Part::Var(#v)),
        Part::Padded(v, width, pad) => {
            let pad = pad_tokens(*width, *pad);
            quote!(::onetable::schema::Part::Padded(#v, #pad))
        }
    });
    quote!(::onetable::schema::Template { source: #source, parts: &[#(#parts),*], delimiters: #delimiters })
}

/// `::onetable::schema::Pad { width, with }`.
fn pad_tokens(width: usize, pad: char) -> TokenStream {
    quote!(::onetable::schema::Pad { width: #width, with: #pad })
}

fn template_ident(index: usize, sort: bool) -> Ident {
    format_ident!("__ONETABLE_TEMPLATE_{}_{}", index, if sort { "SORT" } else { "HASH" })
}

fn template_consts(schema: &Schema<'_>) -> TokenStream {
    let mut out = TokenStream::new();
    for (i, index) in schema.indexes.iter().enumerate() {
        for (sort, key) in [(false, &index.hash), (true, &index.sort)] {
            let Some(key) = key else { continue };
            let ident = template_ident(i, sort);
            let template = template_tokens(&key.source.value(), &key.parsed);
            out.extend(quote! {
                #[doc(hidden)]
                const #ident: ::onetable::schema::Template = #template;
            });
        }
    }
    out
}

fn index_schema(i: usize, index: &Index) -> TokenStream {
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
            quote!(::core::option::Option::Some(::onetable::schema::KeyAttribute { attribute: #attribute, template: Self::#template }))
        }
        None => quote!(::core::option::Option::None),
    };
    let (hash, sort) = (key(&index.hash, false), key(&index.sort, true));
    let projection = match &index.projection {
        crate::validate::Projection::All => quote!(::onetable::schema::IndexProjection::All),
        crate::validate::Projection::KeysOnly => quote!(::onetable::schema::IndexProjection::KeysOnly),
        crate::validate::Projection::Include(attributes) => {
            quote!(::onetable::schema::IndexProjection::Include(&[#(#attributes),*]))
        }
    };
    quote!(::onetable::schema::IndexSchema {
        name: #name, kind: ::onetable::schema::IndexKind::#kind, hash: #hash, sort: #sort, projection: #projection,
    })
}

pub(crate) fn is_optional(ty: &syn::Type) -> bool {
    let syn::Type::Path(p) = ty else { return false };
    p.path
        .segments
        .last()
        .is_some_and(|s| matches!(s.ident.to_string().as_str(), "Option" | "HashSet" | "BTreeSet"))
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
        Some(Generate::Ulid) => quote!(::core::option::Option::Some(::onetable::schema::Generate::Ulid)),
        Some(Generate::Uuid) => quote!(::core::option::Option::Some(::onetable::schema::Generate::Uuid)),
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
    // TTLs are dates to OneTable, whatever Rust type holds the seconds.
    let onetable_type = if ttl { quote!("date") } else { quote!(<#ty as ::onetable::Value>::ONETABLE_TYPE) };
    quote! {
        ::onetable::schema::FieldSchema {
            name: #name, attribute: #attribute, map: #map, rust_type: #rust_type, onetable_type: #onetable_type,
            required: #required, unique: #unique, unique_scope: #unique_scope, value: #value, crypt: #crypt,
            ttl: #ttl, version: #version, generate: #generate,
        }
    }
}

fn option_str(s: Option<&str>) -> TokenStream {
    match s {
        Some(s) => quote!(::core::option::Option::Some(#s)),
        None => quote!(::core::option::Option::None),
    }
}

fn map_var(map: &str) -> Ident {
    format_ident!(
        "__onetable_map_{}",
        map.chars().map(|c| if c.is_alphanumeric() { c } else { '_' }).collect::<String>()
    )
}

fn maps(schema: &Schema<'_>) -> Vec<String> {
    let mut maps: Vec<String> = schema.fields.iter().filter_map(|f| f.map.clone()).collect();
    maps.dedup();
    maps.sort();
    maps.dedup();
    maps
}

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
        return quote!(item.insert(#attribute.to_owned(), ::onetable::AttributeValue::S(#t.to_owned())););
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
            let mut k = ::onetable::schema::KeyBuf::new(#entity, &Self::#template);
            #(#steps)*
            item.insert(#attribute.to_owned(), ::onetable::AttributeValue::S(k.finish()));
        }}
    } else {
        quote! {{
            let mut k = ::onetable::schema::KeyBuf::new(#entity, &Self::#template);
            let mut complete = true;
            #(#steps)*
            if complete {
                item.insert(#attribute.to_owned(), ::onetable::AttributeValue::S(k.finish()));
            }
        }}
    }
}

fn compose_keys(schema: &Schema<'_>, primary_only: bool) -> TokenStream {
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

/// The computed fields (`#[attr(value = "..")]`), filled from their inputs before any
/// field is moved into the item; left out while an input is absent.
fn computed_values(schema: &Schema<'_>) -> TokenStream {
    let mut out = TokenStream::new();
    for stored in schema.fields.iter().filter(|f| f.value.is_some()) {
        let Some(parsed) = &stored.value else { continue };
        let attribute = &stored.attribute;
        let target = match &stored.map {
            Some(m) => map_var(m),
            None => format_ident!("item"),
        };
        let steps = parsed.parts.iter().map(|p| match p {
            Part::Text(t) => quote!(v.push_str(#t);),
            Part::Var(name) | Part::Padded(name, ..) => {
                let Some(input) = schema.field(name) else { return quote!() };
                let (ident, ty) = (&input.field.ident, &input.field.ty);
                let write = quote_spanned!(ty.span()=> <#ty as ::onetable::KeyValue>::write_key(&self.#ident, &mut v));
                match p {
                    Part::Padded(_, width, pad) => {
                        let pad = pad_tokens(*width, *pad);
                        quote! {
                            let start = v.len();
                            complete &= #write;
                            #pad.apply(&mut v, start);
                        }
                    }
                    _ => quote!(complete &= #write;),
                }
            }
        });
        out.extend(quote! {{
            let mut v = ::std::string::String::new();
            let mut complete = true;
            #(#steps)*
            if complete {
                #target.insert(#attribute.to_owned(), ::onetable::AttributeValue::S(v));
            }
        }});
    }
    out
}

fn to_item(schema: &Schema<'_>, consume: bool) -> TokenStream {
    let entity = &schema.name;
    let keys = compose_keys(schema, false);
    let key_count = schema.indexes.iter().map(|i| i.hash.iter().chain(&i.sort).count()).sum::<usize>();
    let capacity = key_count + schema.fields.len() + 1;
    let maps = maps(schema);
    let map_decls = maps.iter().map(|m| {
        let var = map_var(m);
        quote!(let mut #var = ::onetable::__private::HashMap::new();)
    });
    let map_inserts = maps.iter().map(|m| {
        let var = map_var(m);
        // Written even when empty, so later updates can set paths inside it.
        quote!(item.insert(#m.to_owned(), ::onetable::AttributeValue::M(#var));)
    });
    let fields = schema.fields.iter().map(|stored| {
        let f = stored.field;
        let ident = &f.ident;
        let name = f.name();
        let attribute = &stored.attribute;
        let target = match &stored.map {
            Some(m) => map_var(m),
            None => format_ident!("item"),
        };
        let ty = &f.ty;
        if stored.value.is_some() {
            // Written from its inputs (`computed`), not from the struct.
            return quote!();
        }
        if f.ttl.is_some() {
            let ttl = quote_spanned!(ty.span()=> <#ty as ::onetable::TtlValue>::to_ttl(&self.#ident));
            return quote! {
                if let ::core::option::Option::Some(av) = #ttl {
                    #target.insert(#attribute.to_owned(), av);
                }
            };
        }
        let convert = if consume {
            quote_spanned!(ty.span()=> <#ty as ::onetable::Value>::into_attr(self.#ident, format))
        } else {
            quote_spanned!(ty.span()=> <#ty as ::onetable::Value>::to_attr(&self.#ident, format))
        };
        quote!(::onetable::__private::put(&mut #target, #entity, #name, #attribute, #convert)?;)
    });
    let computed = computed_values(schema);
    quote! {
        let mut item = ::onetable::Item::with_capacity(#capacity);
        #keys
        #(#map_decls)*
        #computed
        #(#fields)*
        #(#map_inserts)*
        item.insert(format.type_field.to_owned(), ::onetable::AttributeValue::S(#entity.to_owned()));
        ::core::result::Result::Ok(item)
    }
}

/// The function that makes a field's default value (called, not wrapped in a closure,
/// so generated code raises no lint in the user's crate).
fn default_fn(default: &Option<Default>, span: Span) -> TokenStream {
    match default {
        Some(Default::Path(path)) => quote_spanned!(path.span()=> #path),
        _ => quote_spanned!(span=> ::core::default::Default::default),
    }
}

/// Reads one stored field from `source` (the item, or the map it is packed into):
/// the entity's `from_item` and the field's reader (for projections) share it.
fn read_field(schema: &Schema<'_>, stored: &Stored<'_>, source: &TokenStream) -> TokenStream {
    let entity = &schema.name;
    let f = stored.field;
    let name = f.name();
    let attribute = &stored.attribute;
    // Spanned on the type so that a type without the trait is reported there.
    let ty = &f.ty;
    if f.ttl.is_some() {
        return quote_spanned!(ty.span()=> ::onetable::__private::take_ttl::<#ty>(#source, #entity, #name, #attribute));
    }
    match &f.default {
        None => {
            quote_spanned!(ty.span()=> ::onetable::__private::take::<#ty>(#source, #entity, #name, #attribute))
        }
        Some(_) => {
            let default = default_fn(&f.default, f.ident.span());
            quote_spanned!(ty.span()=> ::onetable::__private::take_or::<#ty>(#source, #entity, #name, #attribute, #default))
        }
    }
}

fn from_item(schema: &Schema<'_>) -> TokenStream {
    let entity = &schema.name;
    let maps = maps(schema);
    let map_takes = maps.iter().map(|m| {
        let var = map_var(m);
        quote!(let mut #var = ::onetable::__private::take_map(&mut item, #entity, #m)?;)
    });
    let fields = schema.entity.fields.iter().map(|f| {
        let ident = &f.ident;
        let Some(stored) = schema.fields.iter().find(|s| s.field.ident == f.ident) else {
            let default = default_fn(&f.default, f.ident.span());
            return quote!(#ident: #default());
        };
        let source = match &stored.map {
            Some(m) => map_var(m),
            None => format_ident!("item"),
        };
        let read = read_field(schema, stored, &quote!(&mut #source));
        quote!(#ident: #read?)
    });
    quote! {
        #(#map_takes)*
        ::core::result::Result::Ok(Self { #(#fields),* })
    }
}

fn primary_key(schema: &Schema<'_>) -> TokenStream {
    let keys = compose_keys(schema, true);
    quote! {
        let mut item = ::onetable::Item::with_capacity(2);
        #keys
        ::core::result::Result::Ok(item)
    }
}

fn generate_ids(schema: &Schema<'_>) -> TokenStream {
    let steps = schema.fields.iter().filter_map(|s| {
        let ident = &s.field.ident;
        let generator = match s.generate? {
            Generate::Ulid => quote!(::onetable::generate::ulid()),
            Generate::Uuid => quote!(::onetable::generate::uuid()),
        };
        Some(quote! {
            if ::onetable::GeneratedId::is_unset(&self.#ident) {
                ::onetable::GeneratedId::set_id(&mut self.#ident, #generator);
            }
        })
    });
    quote!(#(#steps)*)
}

pub(crate) fn const_name(field: &str) -> Ident {
    format_ident!("{}", field.to_uppercase())
}

fn field_consts(schema: &Schema<'_>) -> TokenStream {
    let ident = &schema.entity.ident;
    let consts = schema.fields.iter().map(|s| {
        let f = s.field;
        let name = f.name();
        let konst = const_name(&name);
        let ty = &f.ty;
        let attribute = &s.attribute;
        let map = option_str(s.map.as_deref());
        let doc = format!("The field `{name}` (attribute `{}`).", s.map.as_ref().map_or(attribute.clone(), |m| format!("{m}.{attribute}")));
        // The reader a projection of the entity takes the field with.
        let source = match &s.map {
            Some(m) => {
                let entity = &schema.name;
                quote!(::onetable::__private::map_mut(item, #entity, #m)?)
            }
            None => quote!(item),
        };
        let read = read_field(schema, s, &source);
        quote! {
            #[doc = #doc]
            pub const #konst: ::onetable::Field<#ident, #ty> = ::onetable::Field::stored(#name, #attribute, #map, |item| #read);
        }
    });
    quote!(#(#consts)*)
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
            Some(quote!(#ident: impl ::onetable::AsKeyPart<#ty>))
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
        let mut k = ::onetable::schema::KeyBuf::new(#entity, &Self::#template);
        #(#steps)*
        k.finish()
    }}
}

fn key_builders(schema: &Schema<'_>) -> TokenStream {
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
        inserts.push(quote!(item.insert(#attribute.to_owned(), ::onetable::AttributeValue::S(#value));));
    }
    let doc = format!(
        "The primary key of one `{ident}`: `{}`{}.",
        hash.source.value(),
        primary.sort.as_ref().map_or(String::new(), |s| format!(", `{}`", s.source.value()))
    );
    out.extend(quote! {
        #[doc = #doc]
        pub fn key(#(#params),*) -> ::onetable::Key<Self> {
            ::onetable::Key::new((|| -> ::core::result::Result<::onetable::Item, ::onetable::Error> {
                let mut item = ::onetable::Item::with_capacity(2);
                #(#inserts)*
                ::core::result::Result::Ok(item)
            })())
        }
    });

    // A partition per index, for queries.
    for (i, index) in schema.indexes.iter().enumerate() {
        let (hash_index, hash_key) = match (&index.hash, index.kind) {
            (Some(h), _) => (i, h),
            (None, Kind::Local) => (0, hash),
            (None, _) => continue,
        };
        let vars = variables([hash_key]);
        let params = key_params(schema, &vars);
        let value = compose_from_args(schema, hash_index, hash_key, false);
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
        let doc = format!(
            "A partition of `{ident}` on index `{}` (`{}`), to query; narrow the sort key with `.with(..)`.",
            index.name,
            hash_key.source.value()
        );
        let entity = &schema.name;
        out.extend(quote! {
            #[doc = #doc]
            pub fn #fn_name(#(#params),*) -> ::onetable::PartialKey<Self> {
                let hash = (|| -> ::core::result::Result<::std::string::String, ::onetable::Error> {
                    ::core::result::Result::Ok(#value)
                })();
                ::onetable::PartialKey::new(#entity, &<Self as ::onetable::Entity>::SCHEMA.indexes[#i], hash)
            }
        });
    }
    out
}

/// Trait bounds for the options whose generated uses would not otherwise point at the
/// field: a version must be an integer, a generated id a string. (Values, TTLs and key
/// variables are checked where they are converted, spanned on the field's type.)
fn assertions(schema: &Schema<'_>) -> TokenStream {
    let mut out = TokenStream::new();
    for stored in &schema.fields {
        let ty = &stored.field.ty;
        if stored.field.version.is_some() {
            out.extend(quote_spanned!(ty.span()=> ::onetable::__private::assert_version::<#ty>();));
        }
        if stored.generate.is_some() {
            out.extend(quote_spanned!(ty.span()=> ::onetable::__private::assert_generated_id::<#ty>();));
        }
        if stored.field.crypt.is_some() {
            out.extend(quote_spanned!(ty.span()=> ::onetable::__private::assert_crypt::<#ty>();));
        }
        if stored.value.is_some() {
            out.extend(quote_spanned!(ty.span()=> ::onetable::__private::assert_computed::<#ty>();));
        }
        // A unique scope's variables are written as key text, like a key's.
        let name = stored.field.name();
        let in_scope =
            schema.fields.iter().filter_map(|f| f.scope.as_ref()).any(|s| s.variables().any(|v| v == name));
        if in_scope {
            out.extend(quote_spanned!(ty.span()=> ::onetable::__private::assert_key_value::<#ty>();));
        }
        // Once per padded field, however many templates pad it.
        let name = stored.field.name();
        let padded = schema
            .indexes
            .iter()
            .flat_map(|i| i.hash.iter().chain(&i.sort))
            .any(|k| k.parsed.parts.iter().any(|p| matches!(p, Part::Padded(v, ..) if *v == name)));
        if padded {
            out.extend(quote_spanned!(ty.span()=> ::onetable::__private::assert_paddable::<#ty>();));
        }
    }
    out
}
