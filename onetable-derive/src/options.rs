//! Reading option lists (`#[entity(name = "..", timestamps)]`): the steps every
//! derive's parse stage shares, so each reports a repeated or unknown option alike.

use crate::diag::Errors;

/// Stores an option's value, reporting a second one at its name.
pub fn set_once<T>(slot: &mut Option<T>, value: T, errors: &mut Errors, path: &syn::Path) {
    if slot.is_some() {
        errors.at(path, format!("`{}` is given twice", path_name(path)));
    }
    *slot = Some(value);
}

/// The option's name as written, for messages.
pub fn path_name(path: &syn::Path) -> String {
    path.get_ident().map(syn::Ident::to_string).unwrap_or_default()
}

/// Consumes `= value` after an unknown option so parsing can go on to the next one.
pub fn skip_value(meta: &syn::meta::ParseNestedMeta) -> syn::Result<()> {
    if meta.input.peek(syn::Token![=]) {
        let _: syn::Expr = meta.value()?.parse()?;
    }
    Ok(())
}

/// Reads every `#[<name>(..)]` attribute's options with `option`, collecting the
/// errors that stop an attribute from being read at all.
pub fn each(
    attrs: &[syn::Attribute],
    name: &str,
    errors: &mut Errors,
    mut option: impl FnMut(syn::meta::ParseNestedMeta, &mut Errors) -> syn::Result<()>,
) {
    for attr in attrs.iter().filter(|a| a.path().is_ident(name)) {
        if let Err(e) = attr.parse_nested_meta(|meta| option(meta, errors)) {
            errors.push(e);
        }
    }
}
