//! Parse stage of `#[derive(Collection)]`: the container's options and the variants as
//! written. The rules are checked in `validate`.

use crate::diag::Errors;
use crate::krate::CratePath;
use crate::options::{self, skip_value};
use syn::Ident;

/// An enum deriving `Collection`.
pub struct Input {
    pub ident: Ident,
    pub generics: syn::Generics,
    pub krate: CratePath,
    /// `None` when the input is not an enum.
    pub variants: Option<Vec<Variant>>,
}

pub struct Variant {
    pub ident: Ident,
    /// The one unnamed field's type, `None` for any other shape.
    pub ty: Option<syn::Type>,
}

pub fn input(input: &syn::DeriveInput, errors: &mut Errors) -> Input {
    let mut krate = CratePath::default();
    options::each(&input.attrs, "collection", errors, |meta, errors| {
        if meta.path.is_ident("crate") {
            krate.parse(&meta, errors)?;
        } else {
            errors.at(&meta.path, "unknown collection option: expected `crate = \"..\"`");
            skip_value(&meta)?;
        }
        Ok(())
    });
    let variants = match &input.data {
        syn::Data::Enum(data) => Some(
            data.variants
                .iter()
                .map(|v| Variant {
                    ident: v.ident.clone(),
                    ty: match &v.fields {
                        syn::Fields::Unnamed(f) if f.unnamed.len() == 1 => Some(f.unnamed[0].ty.clone()),
                        _ => None,
                    },
                })
                .collect(),
        ),
        _ => {
            errors
                .at(&input.ident, "#[derive(Collection)] works on enums whose variants each hold one entity");
            None
        }
    };
    Input { ident: input.ident.clone(), generics: input.generics.clone(), krate, variants }
}
