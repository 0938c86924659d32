//! Field validation rules — `validate = "regex"`, `length(min = .., max = ..)` and
//! `range(min = .., max = ..)` — read with the other field options, checked when the
//! entity compiles (the pattern is one the library can run, each bound is in order),
//! and written into the field's schema beside an assertion of the field's type.

use crate::diag::Errors;
use proc_macro2::{Literal, Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{LitStr, Type};

/// The rules written on one field.
#[derive(Default)]
pub struct Rules {
    /// `validate = ".."`: a regular expression the text must match (anywhere in it,
    /// as OneTable's `RegExp.exec`).
    pub pattern: Option<LitStr>,
    /// `length(..)`: bounds on the text's length in characters.
    pub length: Option<Bounds>,
    /// `range(..)`: bounds on the number.
    pub range: Option<Bounds>,
}

/// `min` and `max`, either optional, and where they were written.
pub struct Bounds {
    pub span: Span,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

impl Rules {
    /// Where the first rule was written, when there is one.
    pub fn span(&self) -> Option<Span> {
        let pattern = self.pattern.as_ref().map(LitStr::span);
        pattern.or(self.length.as_ref().map(|b| b.span)).or(self.range.as_ref().map(|b| b.span))
    }

    /// Reads the option `meta` if it is a rule; `false` when it is another option.
    pub fn parse(&mut self, meta: &syn::meta::ParseNestedMeta, errors: &mut Errors) -> syn::Result<bool> {
        let p = &meta.path;
        if p.is_ident("validate") {
            crate::options::set_once(&mut self.pattern, meta.value()?.parse()?, errors, p);
        } else if p.is_ident("length") {
            let bounds = bounds(meta, true, errors)?;
            crate::options::set_once(&mut self.length, bounds, errors, p);
        } else if p.is_ident("range") {
            let bounds = bounds(meta, false, errors)?;
            crate::options::set_once(&mut self.range, bounds, errors, p);
        } else {
            return Ok(false);
        }
        Ok(true)
    }

    /// The pattern compiles with the engine that will run it; bounds are in order.
    pub fn validate(&self, errors: &mut Errors) {
        if let Some(pattern) = &self.pattern {
            if let Err(e) = regex_lite::Regex::new(&pattern.value()) {
                errors.span(
                    pattern.span(),
                    format!("`validate` is not a regular expression onetable can run: {e}"),
                );
            } else if let Some(syntax) = not_javascript(&pattern.value()) {
                errors.span(
                    pattern.span(),
                    format!("`validate` uses {syntax}, which OneTable JS (a JavaScript RegExp) reads differently or refuses: write it the way both read alike"),
                );
            }
        }
        for bounds in [&self.length, &self.range].into_iter().flatten() {
            if let (Some(min), Some(max)) = (bounds.min, bounds.max) {
                if min > max {
                    errors.span(bounds.span, format!("`min` ({min}) is greater than `max` ({max})"));
                }
            }
        }
    }

    /// The field's `rules` in its schema: `None`, or the rules.
    pub fn tokens(&self) -> TokenStream {
        if self.span().is_none() {
            return quote!(::core::option::Option::None);
        }
        let pattern = match &self.pattern {
            Some(p) => quote!(::core::option::Option::Some(#p)),
            None => quote!(::core::option::Option::None),
        };
        let length = |bound: Option<f64>| match bound {
            Some(n) => {
                let n = Literal::usize_unsuffixed(n as usize);
                quote!(::core::option::Option::Some(#n))
            }
            None => quote!(::core::option::Option::None),
        };
        let number = |bound: Option<f64>| match bound {
            Some(n) => {
                let n = Literal::f64_suffixed(n);
                quote!(::core::option::Option::Some(#n))
            }
            None => quote!(::core::option::Option::None),
        };
        let (min_length, max_length) = (
            length(self.length.as_ref().and_then(|b| b.min)),
            length(self.length.as_ref().and_then(|b| b.max)),
        );
        let (min, max) = (
            number(self.range.as_ref().and_then(|b| b.min)),
            number(self.range.as_ref().and_then(|b| b.max)),
        );
        quote!(::core::option::Option::Some(&_onetable::schema::Rules {
            pattern: #pattern, min_length: #min_length, max_length: #max_length, min: #min, max: #max,
        }))
    }

    /// Assertions that the field's type is one its rules apply to: text for a
    /// pattern or a length, a number for a range.
    pub fn assertions(&self, ty: &Type) -> TokenStream {
        let mut out = TokenStream::new();
        if self.pattern.is_some() || self.length.is_some() {
            out.extend(quote_spanned!(ty.span()=> _onetable::__private::assert_text::<#ty>();));
        }
        if self.range.is_some() {
            out.extend(quote_spanned!(ty.span()=> _onetable::__private::assert_number::<#ty>();));
        }
        out
    }
}

/// `(min = .., max = ..)`: numbers (whole and not negative for a length), at least one.
fn bounds(meta: &syn::meta::ParseNestedMeta, length: bool, errors: &mut Errors) -> syn::Result<Bounds> {
    let mut bounds = Bounds { span: meta.path.span(), min: None, max: None };
    let mut written = false;
    meta.parse_nested_meta(|inner| {
        written = true;
        let slot = if inner.path.is_ident("min") {
            &mut bounds.min
        } else if inner.path.is_ident("max") {
            &mut bounds.max
        } else {
            errors.at(&inner.path, "expected `min = ..` or `max = ..`");
            return crate::options::skip_value(&inner);
        };
        let expr: syn::Expr = inner.value()?.parse()?;
        match number(&expr).filter(|n| n.is_finite()) {
            Some(n) if length && (n < 0.0 || n.fract() != 0.0) => {
                errors.span(expr.span(), "a length is a whole number of characters, not negative")
            }
            Some(n) => crate::options::set_once(slot, n, errors, &inner.path),
            None => errors.span(expr.span(), "expected a number"),
        }
        Ok(())
    })?;
    if !written {
        errors.span(bounds.span, "give `min`, `max` or both");
    }
    Ok(bounds)
}

/// Syntax the Rust engine accepts and a JavaScript `RegExp` (without flags) reads
/// otherwise or refuses, so that one `validate` means one thing on both sides.
fn not_javascript(pattern: &str) -> Option<&'static str> {
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek().copied()) {
            ('\\', Some('A' | 'z' | 'Z')) => return Some("`\\A`, `\\z` or `\\Z`"),
            ('\\', Some('p' | 'P')) => return Some("a Unicode class (`\\p{..}`)"),
            ('\\', Some('x')) => {
                chars.next();
                if chars.peek() == Some(&'{') {
                    return Some("`\\x{..}`");
                }
            }
            ('\\', Some(_)) => {
                chars.next();
            }
            ('(', Some('?')) => {
                chars.next();
                if !matches!(chars.peek(), Some(':' | '<')) {
                    return Some("an inline flag or a `(?P<..>)` group");
                }
            }
            _ => {}
        }
    }
    None
}

/// A number written as a literal, possibly negative.
fn number(expr: &syn::Expr) -> Option<f64> {
    match expr {
        syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(i), .. }) => i.base10_parse::<f64>().ok(),
        syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Float(f), .. }) => f.base10_parse::<f64>().ok(),
        syn::Expr::Unary(syn::ExprUnary { op: syn::UnOp::Neg(_), expr, .. }) => number(expr).map(|n| -n),
        _ => None,
    }
}
