//! Parse stage of `#[derive(Value)]`: the container's options and the shape of the
//! type (variants, fields or the wrapped type) as written, with spans. Only what cannot
//! be read at all is reported here; the rules are checked in `validate`.

use super::case::Case;
use crate::diag::Errors;
use crate::field::{self, Field};
use crate::krate::CratePath;
use crate::options::{self, set_once, skip_value};
use syn::{Ident, LitStr};

/// A type deriving `Value`.
pub struct Input {
    pub ident: Ident,
    pub generics: syn::Generics,
    pub krate: CratePath,
    /// `rename_all = ".."`, when it names a case.
    pub rename_all: Option<Case>,
    /// `None` when the type has no shape the derive stores.
    pub shape: Option<Shape>,
}

pub enum Shape {
    /// An enum, stored as the string of its variant.
    Enum(Vec<Variant>),
    /// A struct with named fields, stored as a map.
    Struct(Vec<Field>),
    /// A struct of one unnamed field, stored as that field.
    Newtype(syn::Type),
}

pub struct Variant {
    pub ident: Ident,
    /// Unit variants are the only ones a string can name.
    pub unit: bool,
    pub rename: Option<LitStr>,
}

pub fn input(input: &syn::DeriveInput, errors: &mut Errors) -> Input {
    let mut krate = CratePath::default();
    let mut rename_all = None;
    let mut rename_all_given = false;
    options::each(&input.attrs, "value", errors, |meta, errors| {
        if meta.path.is_ident("rename_all") {
            let lit: LitStr = meta.value()?.parse()?;
            if std::mem::replace(&mut rename_all_given, true) {
                errors.at(&meta.path, "`rename_all` is given twice");
            }
            rename_all = Case::from_name(&lit.value()).map_err(|message| errors.at(&lit, message)).ok();
        } else if meta.path.is_ident("crate") {
            krate.parse(&meta, errors)?;
        } else {
            errors.at(&meta.path, "unknown option: expected `rename_all = \"..\"` or `crate = \"..\"`");
            skip_value(&meta)?;
        }
        Ok(())
    });
    let shape = match &input.data {
        syn::Data::Enum(data) => {
            Some(Shape::Enum(data.variants.iter().map(|v| variant(v, errors)).collect()))
        }
        syn::Data::Struct(syn::DataStruct { fields: syn::Fields::Named(named), .. }) => {
            Some(Shape::Struct(named.named.iter().filter_map(|f| field::parse(f, errors)).collect()))
        }
        syn::Data::Struct(syn::DataStruct { fields: syn::Fields::Unnamed(fields), .. })
            if fields.unnamed.len() == 1 =>
        {
            Some(Shape::Newtype(fields.unnamed[0].ty.clone()))
        }
        _ => {
            errors.at(
                &input.ident,
                "#[derive(Value)] works on unit-only enums, structs with named fields and newtypes (`struct UserId(String)`)",
            );
            None
        }
    };
    Input { ident: input.ident.clone(), generics: input.generics.clone(), krate, rename_all, shape }
}

fn variant(v: &syn::Variant, errors: &mut Errors) -> Variant {
    let mut rename = None;
    options::each(&v.attrs, "attr", errors, |meta, errors| {
        if meta.path.is_ident("rename") {
            set_once(&mut rename, meta.value()?.parse()?, errors, &meta.path);
        } else {
            errors.at(&meta.path, "unknown variant option: expected `rename = \"..\"`");
            skip_value(&meta)?;
        }
        Ok(())
    });
    Variant { ident: v.ident.clone(), unit: matches!(v.fields, syn::Fields::Unit), rename }
}
