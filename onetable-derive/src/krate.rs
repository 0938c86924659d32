//! `crate = "path"`: where the generated code finds onetable when the application
//! renamed the dependency or reaches it through a re-export, as serde's
//! `#[serde(crate = "..")]`.
//!
//! Generation always writes `::onetable::…`; this module rewrites that prefix once, on
//! the finished tokens, so no generating function needs to carry the path.

use proc_macro2::{Group, Spacing, TokenStream, TokenTree};
use quote::ToTokens;

/// The path given with `#[<attr>(crate = "..")]`, if any.
pub fn find(attrs: &[syn::Attribute], attr: &str) -> syn::Result<Option<syn::Path>> {
    let mut found = None;
    for a in attrs.iter().filter(|a| a.path().is_ident(attr)) {
        a.parse_nested_meta(|meta| {
            if meta.path.is_ident("crate") {
                let lit: syn::LitStr = meta.value()?.parse()?;
                if found.is_some() {
                    return Err(meta.error("`crate` is given twice"));
                }
                found = Some(lit.parse::<syn::Path>()?);
            } else if meta.input.peek(syn::Token![=]) {
                // Another option, read by the derive itself.
                meta.value()?.parse::<syn::Expr>()?;
            } else if meta.input.peek(syn::token::Paren) {
                meta.parse_nested_meta(|_| Ok(()))?;
            }
            Ok(())
        })?;
    }
    Ok(found)
}

/// `tokens` with every `::onetable` path prefix replaced by `path`.
pub fn rewrite(tokens: TokenStream, path: &syn::Path) -> TokenStream {
    let replacement = path.to_token_stream();
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out = TokenStream::new();
    let mut i = 0;
    while i < trees.len() {
        if let (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b)), Some(TokenTree::Ident(name))) =
            (trees.get(i), trees.get(i + 1), trees.get(i + 2))
        {
            // `::onetable` at the root of a path: after a keyword (`impl ::onetable::..`)
            // or punctuation, not after a path segment (`x::onetable` is someone else's).
            let leading = match i.checked_sub(1).and_then(|p| trees.get(p)) {
                Some(TokenTree::Ident(prev)) => syn::parse_str::<syn::Ident>(&prev.to_string()).is_err(),
                _ => true,
            };
            if a.as_char() == ':'
                && a.spacing() == Spacing::Joint
                && b.as_char() == ':'
                && name == "onetable"
                && leading
            {
                out.extend(replacement.clone());
                i += 3;
                continue;
            }
        }
        match &trees[i] {
            TokenTree::Group(g) => {
                let mut group = Group::new(g.delimiter(), rewrite(g.stream(), path));
                group.set_span(g.span());
                out.extend([TokenTree::Group(group)]);
            }
            other => out.extend([other.clone()]),
        }
        i += 1;
    }
    out
}

/// Applies `#[<attr>(crate = "..")]` to a derive's output.
pub fn apply(tokens: TokenStream, attrs: &[syn::Attribute], attr: &str) -> TokenStream {
    match find(attrs, attr) {
        Ok(Some(path)) => rewrite(tokens, &path),
        Ok(None) => tokens,
        Err(e) => {
            let mut out = e.into_compile_error();
            out.extend(tokens);
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn only_the_onetable_root_is_replaced() {
        let path: syn::Path = syn::parse_str("::my_app::db::onetable").unwrap();
        let out = rewrite(
            quote!(impl ::onetable::Entity for X { fn f() -> ::onetable::Item { other::onetable::x(::onetable_core::y) } }),
            &path,
        );
        let text = out.to_string();
        assert_eq!(text.matches(":: my_app :: db :: onetable :: Entity").count(), 1, "{text}");
        assert_eq!(text.matches(":: my_app :: db :: onetable :: Item").count(), 1, "{text}");
        assert!(text.contains("other :: onetable :: x") && text.contains(":: onetable_core :: y"), "{text}");
    }

    #[test]
    fn the_path_is_read_among_other_options() {
        let attrs: Vec<syn::Attribute> =
            vec![syn::parse_quote!(#[entity(name = "User", timestamps, crate = "ot")])];
        assert_eq!(find(&attrs, "entity").unwrap().unwrap().to_token_stream().to_string(), "ot");
        let twice: Vec<syn::Attribute> = vec![syn::parse_quote!(#[value(crate = "a", crate = "b")])];
        assert!(find(&twice, "value").is_err());
    }
}
