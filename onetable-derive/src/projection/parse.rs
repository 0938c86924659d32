//! Parse stage of `#[derive(Projection)]`: the container's options and the fields as
//! written. The rules are checked in `validate`.

use crate::diag::Errors;
use crate::krate::CratePath;
use crate::options::{self, skip_value};
use syn::Ident;

/// A struct deriving `Projection`.
pub struct Input {
    pub ident: Ident,
    pub generics: syn::Generics,
    pub krate: CratePath,
    /// `entity = Path`.
    pub entity: Option<syn::Path>,
    /// `None` when the input is not a struct with named fields.
    pub fields: Option<Vec<Field>>,
}

pub struct Field {
    pub ident: Ident,
    pub ty: syn::Type,
    /// The `#[attr(..)]` and `#[projection(..)]` attributes written on the field.
    pub options: Vec<syn::Attribute>,
}

pub fn input(input: &syn::DeriveInput, errors: &mut Errors) -> Input {
    let mut krate = CratePath::default();
    let mut entity = None;
    options::each(&input.attrs, "projection", errors, |meta, errors| {
        if meta.path.is_ident("entity") {
            let path: syn::Path = meta.value()?.parse()?;
            if entity.is_some() {
                errors.at(&meta.path, "`entity` is given twice");
            }
            entity = Some(path);
        } else if meta.path.is_ident("crate") {
            krate.parse(&meta, errors)?;
        } else {
            errors.at(&meta.path, "unknown projection option: expected `entity = Type` or `crate = \"..\"`");
            skip_value(&meta)?;
        }
        Ok(())
    });
    let fields = match &input.data {
        syn::Data::Struct(syn::DataStruct { fields: syn::Fields::Named(named), .. }) => Some(
            named
                .named
                .iter()
                .filter_map(|f| {
                    let options = f
                        .attrs
                        .iter()
                        .filter(|a| a.path().is_ident("projection") || a.path().is_ident("attr"))
                        .cloned()
                        .collect();
                    Some(Field { ident: f.ident.clone()?, ty: f.ty.clone(), options })
                })
                .collect(),
        ),
        _ => {
            errors.at(&input.ident, "#[derive(Projection)] works on structs with named fields");
            None
        }
    };
    Input { ident: input.ident.clone(), generics: input.generics.clone(), krate, entity, fields }
}
