//! Collecting every error of a derive, so one build shows the user all their mistakes.
//!
//! As serde's `Ctxt`, the collection must be finished: finishing hands the errors
//! over, and dropping an unfinished collection panics. A derive that forgot to finish
//! would otherwise lose the user's errors and emit code for a schema it refused.

use proc_macro2::TokenStream;
use std::fmt::Display;

/// The errors of one derive, collected with `syn::Error::combine`.
pub struct Errors {
    collected: Option<syn::Error>,
    finished: bool,
}

impl Errors {
    /// An empty collection, to be finished with [`Errors::finish`].
    pub fn new() -> Self {
        Errors { collected: None, finished: false }
    }

    pub fn push(&mut self, error: syn::Error) {
        match &mut self.collected {
            Some(all) => all.combine(error),
            None => self.collected = Some(error),
        }
    }

    /// An error spanned on `tokens`.
    pub fn at(&mut self, tokens: impl quote::ToTokens, message: impl Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    pub fn span(&mut self, span: proc_macro2::Span, message: impl Display) {
        self.push(syn::Error::new(span, message));
    }

    /// Consumes the collection: every error collected, combined into one.
    pub fn finish(mut self) -> syn::Result<()> {
        self.finished = true;
        self.collected.take().map_or(Ok(()), Err)
    }
}

impl Default for Errors {
    fn default() -> Self {
        Errors::new()
    }
}

impl Drop for Errors {
    fn drop(&mut self) {
        // While unwinding from another panic, a second one would abort and hide it.
        if !self.finished && !std::thread::panicking() {
            panic!("onetable-derive: a derive dropped its errors without reporting them (`Errors::finish` was never called)");
        }
    }
}

/// A derive that found mistakes: its errors, and a stub impl of the trait to emit
/// beside them so that code using the type reports nothing more.
#[derive(Debug)]
pub struct Failed {
    pub error: syn::Error,
    pub stub: TokenStream,
}

impl Failed {
    /// The errors as `compile_error!`s, followed by the stub.
    pub fn into_tokens(self) -> TokenStream {
        let mut out = self.error.into_compile_error();
        out.extend(self.stub);
        out
    }
}

/// What a derive emits: its code, or its errors and a stub.
pub type Expansion = Result<TokenStream, Failed>;

/// Finishes `errors`: `code()` when none was collected, else the errors with `stub()`.
pub fn expand(
    errors: Errors,
    code: impl FnOnce() -> TokenStream,
    stub: impl FnOnce() -> TokenStream,
) -> Expansion {
    match errors.finish() {
        Ok(()) => Ok(code()),
        Err(error) => Err(Failed { error, stub: stub() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finishing_reports_every_error_in_order() {
        let mut errors = Errors::new();
        errors.span(proc_macro2::Span::call_site(), "first");
        errors.span(proc_macro2::Span::call_site(), "second");
        let messages: Vec<String> = errors.finish().unwrap_err().into_iter().map(|e| e.to_string()).collect();
        assert_eq!(messages, ["first", "second"]);
        assert!(Errors::new().finish().is_ok());
    }

    #[test]
    fn expanding_emits_the_stub_beside_the_errors() {
        let mut errors = Errors::new();
        errors.span(proc_macro2::Span::call_site(), "wrong");
        let failed = expand(errors, || quote::quote!(code), || quote::quote!(stub)).unwrap_err();
        let text = failed.into_tokens().to_string();
        assert!(text.contains("compile_error") && text.ends_with("stub"), "{text}");
        let code = expand(Errors::new(), || quote::quote!(code), TokenStream::new).unwrap();
        assert_eq!(code.to_string(), "code");
    }

    #[test]
    #[should_panic(expected = "without reporting them")]
    fn dropping_an_unfinished_collection_panics() {
        let mut errors = Errors::new();
        errors.span(proc_macro2::Span::call_site(), "lost");
        drop(errors);
    }
}
