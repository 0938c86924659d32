//! `crate = "path"`: where the generated code finds onetable when the application
//! renamed the dependency or reaches it through a re-export, as serde's
//! `#[serde(crate = "..")]`.
//!
//! Generated code names onetable only through the alias `_onetable`, and each derive's
//! output is wrapped in an anonymous `const _: () = { use <path> as _onetable; .. };`,
//! so the path is written once and no generating function carries it. The block also
//! keeps the alias out of the user's namespace; the impls inside it (trait impls and
//! inherent ones alike, `User::key`, `User::NAME`) belong to their types wherever they
//! are written.

use crate::diag::Errors;
use proc_macro2::TokenStream;
use quote::quote;

/// The `crate = ".."` option of a container.
#[derive(Default)]
pub struct CratePath {
    path: Option<syn::Path>,
    given: bool,
}

impl CratePath {
    /// Reads the value of `crate = ".."`, the option `meta` names.
    pub fn parse(&mut self, meta: &syn::meta::ParseNestedMeta, errors: &mut Errors) -> syn::Result<()> {
        let lit: syn::LitStr = meta.value()?.parse()?;
        if std::mem::replace(&mut self.given, true) {
            // Neither path is the one: the output falls back to `::onetable`, so that
            // the user sees this error and not one about an import it would make.
            self.path = None;
            errors.push(meta.error("`crate` is given twice"));
            return Ok(());
        }
        match lit.parse::<syn::Path>() {
            Ok(path) => self.path = Some(path),
            Err(e) => errors.push(e),
        }
        Ok(())
    }

    /// The path given, if any.
    #[cfg(test)]
    pub fn path(&self) -> Option<&syn::Path> {
        self.path.as_ref()
    }

    /// `code` in a block where `_onetable` names onetable.
    pub fn wrap(&self, code: TokenStream) -> TokenStream {
        if code.is_empty() {
            return code;
        }
        let path = match &self.path {
            Some(path) => quote!(#path),
            None => quote!(::onetable),
        };
        quote! {
            #[allow(unused_qualifications)]
            const _: () = {
                use #path as _onetable;
                #code
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::ToTokens;

    fn read(attr: syn::Attribute) -> (CratePath, syn::Result<()>) {
        let mut krate = CratePath::default();
        let mut errors = Errors::new();
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("crate") {
                krate.parse(&meta, &mut errors)
            } else {
                crate::options::skip_value(&meta)
            }
        });
        if let Err(e) = parsed {
            errors.push(e);
        }
        (krate, errors.finish())
    }

    #[test]
    fn the_path_is_read_among_other_options() {
        let (krate, result) = read(syn::parse_quote!(#[entity(name = "User", timestamps, crate = "ot")]));
        assert!(result.is_ok());
        assert_eq!(krate.path().unwrap().to_token_stream().to_string(), "ot");
        let (krate, result) = read(syn::parse_quote!(#[value(crate = "a", crate = "b")]));
        assert_eq!(result.unwrap_err().to_string(), "`crate` is given twice");
        assert!(krate.path().is_none(), "given twice, the default path is used");
    }

    #[test]
    fn the_output_names_onetable_through_the_alias() {
        let (krate, _) = read(syn::parse_quote!(#[entity(crate = "::my_app::db")]));
        let text = krate.wrap(quote!(impl _onetable::Entity for X {})).to_string();
        assert!(text.contains("const _ : () = { use :: my_app :: db as _onetable ;"), "{text}");
        let text = CratePath::default().wrap(quote!(impl _onetable::Entity for X {})).to_string();
        assert!(text.contains("use :: onetable as _onetable ;"), "{text}");
        assert!(CratePath::default().wrap(TokenStream::new()).is_empty());
    }
}
