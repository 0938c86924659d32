//! Generate stage: the `Entity` impl (item mapping), field constants and assertions of
//! a validated entity; its schema constant and key code are in `schema` and `keys`.

use super::keys::{compose_keys, key_builders, primary_key};
use super::parse::Entity;
use super::schema::{option_str, pad_tokens, template_consts};
use super::validate::{Generate, Schema, Stored};
use crate::field::{const_name, Default};
use crate::template::Part;
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::Ident;

pub fn entity(schema: &Schema<'_>) -> TokenStream {
    let ident = &schema.entity.ident;
    let constant = super::schema::constant(schema);
    let templates = template_consts(schema);
    let (to_item, into_item) = (to_item(schema, false), to_item(schema, true));
    let from_item = from_item(schema);
    let from_json = from_json(schema);
    let primary_key = primary_key(schema);
    let generate_ids = generate_ids(schema);
    let field_consts = field_consts(schema);
    let key_builders = key_builders(schema);
    let assertions = assertions(schema);
    quote! {
        #[automatically_derived]
        impl _onetable::Entity for #ident {
            const SCHEMA: &'static _onetable::schema::EntitySchema = #constant;

            fn to_item(&self, format: &_onetable::Format) -> ::core::result::Result<_onetable::Item, _onetable::Error> {
                #to_item
            }

            fn into_item(self, format: &_onetable::Format) -> ::core::result::Result<_onetable::Item, _onetable::Error> {
                #into_item
            }

            fn from_item(mut item: _onetable::Item) -> ::core::result::Result<Self, _onetable::Error> {
                #from_item
            }

            #from_json

            fn primary_key(&self) -> ::core::result::Result<_onetable::Item, _onetable::Error> {
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
        impl #impl_generics _onetable::Entity for #ident #ty_generics #where_clause {
            const SCHEMA: &'static _onetable::schema::EntitySchema = ::core::unimplemented!();
            fn to_item(&self, _: &_onetable::Format) -> ::core::result::Result<_onetable::Item, _onetable::Error> { ::core::unimplemented!() }
            fn into_item(self, _: &_onetable::Format) -> ::core::result::Result<_onetable::Item, _onetable::Error> { ::core::unimplemented!() }
            fn from_item(_: _onetable::Item) -> ::core::result::Result<Self, _onetable::Error> { ::core::unimplemented!() }
            fn primary_key(&self) -> ::core::result::Result<_onetable::Item, _onetable::Error> { ::core::unimplemented!() }
            fn generate_ids(&mut self) {}
        }
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
                let write =
                    quote_spanned!(ty.span()=> <#ty as _onetable::KeyValue>::write_key(&self.#ident, &mut v));
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
                #target.insert(#attribute.to_owned(), _onetable::AttributeValue::S(v));
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
        quote!(let mut #var = _onetable::__private::HashMap::new();)
    });
    let map_inserts = maps.iter().map(|m| {
        let var = map_var(m);
        // Written even when empty, so later updates can set paths inside it.
        quote!(item.insert(#m.to_owned(), _onetable::AttributeValue::M(#var));)
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
            let ttl = quote_spanned!(ty.span()=> <#ty as _onetable::TtlValue>::to_ttl(&self.#ident));
            return quote! {
                if let ::core::option::Option::Some(av) = #ttl {
                    #target.insert(#attribute.to_owned(), av);
                }
            };
        }
        let convert = if consume {
            quote_spanned!(ty.span()=> <#ty as _onetable::Value>::into_attr(self.#ident, format))
        } else {
            quote_spanned!(ty.span()=> <#ty as _onetable::Value>::to_attr(&self.#ident, format))
        };
        quote!(_onetable::__private::put(&mut #target, #entity, #name, #attribute, #convert)?;)
    });
    let computed = computed_values(schema);
    quote! {
        let mut item = _onetable::Item::with_capacity(#capacity);
        #keys
        #(#map_decls)*
        #computed
        #(#fields)*
        #(#map_inserts)*
        item.insert(format.type_field.to_owned(), _onetable::AttributeValue::S(#entity.to_owned()));
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
        return quote_spanned!(ty.span()=> _onetable::__private::take_ttl::<#ty>(#source, #entity, #name, #attribute));
    }
    match &f.default {
        None => {
            quote_spanned!(ty.span()=> _onetable::__private::take::<#ty>(#source, #entity, #name, #attribute))
        }
        Some(_) => {
            let default = default_fn(&f.default, f.ident.span());
            quote_spanned!(ty.span()=> _onetable::__private::take_or::<#ty>(#source, #entity, #name, #attribute, #default))
        }
    }
}

fn from_item(schema: &Schema<'_>) -> TokenStream {
    let entity = &schema.name;
    let maps = maps(schema);
    let map_takes = maps.iter().map(|m| {
        let var = map_var(m);
        quote!(let mut #var = _onetable::__private::take_map(&mut item, #entity, #m)?;)
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

/// `Entity::from_json`: the item's attributes read from a response body one by one,
/// each the entity stores kept for its field and the rest skipped, then converted in
/// field order as `from_item` converts them. Not generated (the general path reads
/// every item) for an entity with packed fields (their map would be read whole
/// anyway) or encrypted ones (the table holds the key).
fn from_json(schema: &Schema<'_>) -> TokenStream {
    let entity = &schema.name;
    if schema.fields.iter().any(|s| s.map.is_some() || s.field.crypt.is_some()) {
        return TokenStream::new();
    }
    let slot = |i: usize| format_ident!("__onetable_slot_{}", i);
    let slots = (0..schema.fields.len()).map(|i| {
        let var = slot(i);
        quote!(let mut #var: ::core::option::Option<_onetable::AttributeValue> = ::core::option::Option::None;)
    });
    let arms = schema.fields.iter().enumerate().map(|(i, stored)| {
        let (attribute, var) = (&stored.attribute, slot(i));
        quote!(#attribute => #var = ::core::option::Option::Some(reader.attribute().ok()?),)
    });
    // Every value that can fail is converted first, so that no default is made for an
    // item the general path then reads (and makes its defaults for) again.
    let value = |i: usize| format_ident!("__onetable_value_{}", i);
    let conversions = schema.fields.iter().enumerate().map(|(i, stored)| {
        let f = stored.field;
        let (ty, var, value) = (&f.ty, slot(i), value(i));
        let read = if f.ttl.is_some() {
            quote_spanned!(ty.span()=> _onetable::__private::slot_ttl::<#ty>(#var))
        } else if f.default.is_some() {
            quote_spanned!(ty.span()=> _onetable::__private::slot_present::<#ty>(#var))
        } else {
            quote_spanned!(ty.span()=> _onetable::__private::slot::<#ty>(#var))
        };
        quote!(let #value = #read?;)
    });
    let fields = schema.entity.fields.iter().map(|f| {
        let ident = &f.ident;
        let default = default_fn(&f.default, f.ident.span());
        let Some(i) = schema.fields.iter().position(|s| s.field.ident == f.ident) else {
            return quote!(#ident: #default());
        };
        let value = value(i);
        if f.default.is_some() && f.ttl.is_none() {
            quote!(#ident: #value.unwrap_or_else(#default))
        } else {
            quote!(#ident: #value)
        }
    });
    quote! {
        fn from_json(reader: &mut _onetable::__private::WireReader<'_>, type_field: &str) -> ::core::option::Option<Self> {
            reader.begin_object().ok()?;
            #(#slots)*
            while let ::core::option::Option::Some(key) = reader.next_key().ok()? {
                let key: &str = &key;
                if key == type_field {
                    // Another entity's item, or a type that is not a string: the
                    // general path reports it.
                    if !reader.attribute_is_string(#entity).ok()? {
                        return ::core::option::Option::None;
                    }
                    continue;
                }
                match key {
                    #(#arms)*
                    _ => reader.skip().ok()?,
                }
            }
            #(#conversions)*
            ::core::option::Option::Some(Self { #(#fields),* })
        }
    }
}

fn generate_ids(schema: &Schema<'_>) -> TokenStream {
    let steps = schema.fields.iter().filter_map(|s| {
        let ident = &s.field.ident;
        let generator = match s.generate? {
            Generate::Ulid => quote!(_onetable::generate::ulid()),
            Generate::Uuid => quote!(_onetable::generate::uuid()),
        };
        Some(quote! {
            if _onetable::GeneratedId::is_unset(&self.#ident) {
                _onetable::GeneratedId::set_id(&mut self.#ident, #generator);
            }
        })
    });
    quote!(#(#steps)*)
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
                quote!(_onetable::__private::map_mut(item, #entity, #m)?)
            }
            None => quote!(item),
        };
        let read = read_field(schema, s, &source);
        quote! {
            #[doc = #doc]
            pub const #konst: _onetable::Field<#ident, #ty> = _onetable::Field::stored(#name, #attribute, #map, |item| #read);
        }
    });
    quote!(#(#consts)*)
}

/// Trait bounds for the options whose generated uses would not otherwise point at the
/// field: a version must be an integer, a generated id a string, a pattern or length
/// text, a range a number. (Values, TTLs and key
/// variables are checked where they are converted, spanned on the field's type.)
fn assertions(schema: &Schema<'_>) -> TokenStream {
    let mut out = TokenStream::new();
    for stored in &schema.fields {
        let ty = &stored.field.ty;
        if stored.field.version.is_some() {
            out.extend(quote_spanned!(ty.span()=> _onetable::__private::assert_version::<#ty>();));
        }
        if stored.generate.is_some() {
            out.extend(quote_spanned!(ty.span()=> _onetable::__private::assert_generated_id::<#ty>();));
        }
        if stored.field.crypt.is_some() {
            out.extend(quote_spanned!(ty.span()=> _onetable::__private::assert_crypt::<#ty>();));
        }
        if stored.value.is_some() {
            out.extend(quote_spanned!(ty.span()=> _onetable::__private::assert_computed::<#ty>();));
        }
        out.extend(stored.field.rules.assertions(ty));
        // A unique scope's variables are written as key text, like a key's.
        let name = stored.field.name();
        let in_scope =
            schema.fields.iter().filter_map(|f| f.scope.as_ref()).any(|s| s.variables().any(|v| v == name));
        if in_scope {
            out.extend(quote_spanned!(ty.span()=> _onetable::__private::assert_key_value::<#ty>();));
        }
        // Once per padded field, however many templates pad it.
        let name = stored.field.name();
        let padded = schema
            .indexes
            .iter()
            .flat_map(|i| i.hash.iter().chain(&i.sort))
            .any(|k| k.parsed.parts.iter().any(|p| matches!(p, Part::Padded(v, ..) if *v == name)));
        if padded {
            out.extend(quote_spanned!(ty.span()=> _onetable::__private::assert_paddable::<#ty>();));
        }
    }
    for multi in schema.indexes.iter().filter_map(|i| i.multi.as_ref()) {
        out.extend(super::multi::assertions(multi, schema));
    }
    out
}
