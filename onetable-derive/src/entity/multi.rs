//! Multi-attribute index keys (`#[index(name = "gs4", pk = [org, team], sk = [prio])]`):
//! checking the declaration and generating its schema, partition builder and type
//! assertions.
//!
//! Such an index reads the fields the entity stores, so every field must be a
//! top-level attribute in clear text; that it is a string, number or binary is left
//! to the compiler through `IndexAttribute`, spanned on the field's type.

use super::parse::KeyDecl;
use super::validate::{Kind, Schema, Stored};
use crate::diag::Errors;
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::Ident;

/// DynamoDB's limit: four attributes for each of the partition and the sort key.
const MAX_ATTRIBUTES: usize = 4;

/// A checked multi-attribute key: the stored fields (indexes into the schema's
/// fields), in order.
pub struct Multi {
    pub hash: Vec<usize>,
    pub sort: Vec<usize>,
}

impl Multi {
    fn fields<'s>(list: &[usize], schema: &'s Schema<'_>) -> Vec<&'s Stored<'s>> {
        list.iter().map(|i| &schema.fields[*i]).collect()
    }
}

/// True when the declaration keys its index with lists of fields.
pub fn declared(key: &KeyDecl) -> bool {
    key.pk_fields.is_some() || key.sk_fields.is_some()
}

/// Checks a list-keyed index declaration against the entity's stored fields.
pub fn validate(
    key: &KeyDecl,
    kind: Kind,
    fields: &[Stored<'_>],
    entity: &syn::Ident,
    errors: &mut Errors,
) -> Option<Multi> {
    if kind == Kind::Local {
        errors.at(
            &key.attr,
            "a local index shares the table's partition key: lists of fields key global indexes",
        );
        return None;
    }
    if key.pk.is_some() || key.sk.is_some() {
        errors.at(
            &key.attr,
            "an index is keyed by templates or by lists of fields, not both: write `pk` and `sk` as lists",
        );
    }
    for rename in [&key.pk_attr, &key.sk_attr].into_iter().flatten() {
        errors.at(
            rename,
            "a multi-attribute key reads the fields' own attributes: it has no key attribute to rename",
        );
    }
    let Some(pk) = &key.pk_fields else {
        errors.at(&key.attr, "a global index needs `pk = [..]`, the fields of its partition key");
        return None;
    };
    let mut seen: Vec<Ident> = Vec::new();
    let mut list = |idents: &[Ident], what: &str, errors: &mut Errors| {
        if idents.is_empty() && what == "partition" {
            errors.at(&key.attr, "the partition key needs at least one field");
        }
        if let Some(extra) = idents.get(MAX_ATTRIBUTES) {
            errors.at(extra, format!("a {what} key has at most {MAX_ATTRIBUTES} attributes"));
        }
        let mut out = Vec::new();
        for ident in idents {
            if seen.contains(ident) {
                errors.at(ident, format!("`{ident}` is in the key twice"));
                continue;
            }
            seen.push(ident.clone());
            if let Some(stored) = field(ident, fields, entity, errors) {
                out.push(stored);
            }
        }
        out
    };
    let hash = list(pk, "partition", errors);
    let sort = list(key.sk_fields.as_deref().unwrap_or_default(), "sort", errors);
    Some(Multi { hash, sort })
}

/// The stored field `ident` names, if it can be an index key attribute.
fn field(ident: &Ident, fields: &[Stored<'_>], entity: &syn::Ident, errors: &mut Errors) -> Option<usize> {
    // `r#type` in the list names the field `type`, as the field's own name drops `r#`.
    let name = ident.to_string().trim_start_matches("r#").to_owned();
    let Some(position) = fields.iter().position(|f| f.field.name() == name) else {
        errors.at(ident, format!("`{entity}` has no stored field `{name}`"));
        return None;
    };
    let stored = &fields[position];
    if let Some(map) = &stored.map {
        errors.at(
            ident,
            format!("`{name}` is packed into the map `{map}`: DynamoDB indexes top-level attributes only"),
        );
        return None;
    }
    if stored.field.crypt.is_some() {
        errors.at(
            ident,
            format!("`{name}` is encrypted: its stored text changes at every write and cannot be queried"),
        );
        return None;
    }
    if stored.field.ttl.is_some() {
        errors.at(ident, format!("`{name}` is the TTL: key the index on a field of its own"));
        return None;
    }
    Some(position)
}

/// `_onetable::schema::MultiKey { .. }`.
pub fn schema(multi: &Multi, schema: &Schema<'_>) -> TokenStream {
    let list = |fields: &[&Stored<'_>]| {
        let fields = fields.iter().map(|stored| {
            let (name, attribute, ty) = (stored.field.name(), &stored.attribute, &stored.field.ty);
            quote!(_onetable::schema::KeyField {
                field: #name, attribute: #attribute, onetable_type: <#ty as _onetable::Value>::ONETABLE_TYPE,
            })
        });
        quote!(&[#(#fields),*])
    };
    let (hash, sort) = (list(&Multi::fields(&multi.hash, schema)), list(&Multi::fields(&multi.sort, schema)));
    quote!(::core::option::Option::Some(_onetable::schema::MultiKey { hash: #hash, sort: #sort }))
}

/// Compile-time checks that each key field's type can be indexed, spanned on the type.
pub fn assertions(multi: &Multi, schema: &Schema<'_>) -> TokenStream {
    let checks = multi.hash.iter().chain(&multi.sort).map(|i| {
        let ty = &schema.fields[*i].field.ty;
        quote_spanned!(ty.span()=> _onetable::__private::assert_index_attribute::<#ty>();)
    });
    quote!(#(#checks)*)
}

/// `pub fn gs4_partition(org: impl IntoOperand<String>, ..) -> PartialKey<Self>`.
pub fn partition_builder(
    multi: &Multi,
    schema: &Schema<'_>,
    i: usize,
    fn_name: &Ident,
    entity: &str,
    index: &str,
) -> TokenStream {
    let (hash, sort) = (Multi::fields(&multi.hash, schema), Multi::fields(&multi.sort, schema));
    let params = hash.iter().map(|stored| {
        let (ident, ty) = (&stored.field.ident, &stored.field.ty);
        quote!(#ident: impl _onetable::expr::IntoOperand<#ty>)
    });
    let operands = hash.iter().map(|stored| {
        let (ident, ty) = (&stored.field.ident, &stored.field.ty);
        quote!(_onetable::__private::operand::<#ty, _>(#ident))
    });
    let names: Vec<String> = hash.iter().map(|s| s.field.name()).collect();
    let sort: Vec<String> = sort.iter().map(|s| s.field.name()).collect();
    let doc = format!(
        "A partition of `{entity}` on index `{index}` ([{}]), to query; narrow it on [{}] with `.eq(..)`, then a range such as `.gt(..)`.",
        names.join(", "),
        sort.join(", ")
    );
    quote! {
        #[doc = #doc]
        pub fn #fn_name(#(#params),*) -> _onetable::PartialKey<Self> {
            _onetable::PartialKey::multi(
                #entity,
                &<Self as _onetable::Entity>::SCHEMA.indexes[#i],
                ::std::vec![#(#operands),*],
            )
        }
    }
}
