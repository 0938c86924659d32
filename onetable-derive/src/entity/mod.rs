//! `#[derive(Entity)]`: a struct stored as the items of one entity.
//!
//! `parse` reads the attributes into a plain model, `validate` checks the schema and
//! collects every error, `generate` (with `schema` and `keys`) emits the code.

mod design;
mod generate;
mod keys;
mod multi;
mod parse;
mod schema;
mod validate;

use crate::diag::{self, Errors, Expansion};
use proc_macro2::TokenStream;

pub fn derive(input: &syn::DeriveInput) -> Expansion {
    let mut errors = Errors::new();
    let Some(entity) = parse::entity(input, &mut errors) else {
        // Not a struct: nothing to implement the trait for.
        return diag::expand(errors, TokenStream::new, TokenStream::new);
    };
    let schema = validate::validate(&entity, &mut errors);
    diag::expand(
        errors,
        || entity.krate.wrap(generate::entity(&schema)),
        || entity.krate.wrap(generate::stub(&entity)),
    )
}

#[cfg(test)]
mod tests {
    use super::derive;

    fn expand(input: syn::DeriveInput) -> String {
        let code = derive(&input).expect("the derive accepts the input");
        syn::parse2::<syn::File>(code.clone()).expect("the output is Rust");
        code.to_string()
    }

    #[test]
    fn the_design_version_is_written_in_its_normal_spelling() {
        let code = expand(syn::parse_quote! {
            #[entity(design = "0.03.0")]
            #[key(pk = "USER#${id}")]
            struct User { id: String }
        });
        assert!(code.contains(r#"design : :: core :: option :: Option :: Some ("0.3.0")"#), "{code}");
        let code = expand(syn::parse_quote! {
            #[key(pk = "USER#${id}")]
            struct User { id: String }
        });
        assert!(code.contains("design : :: core :: option :: Option :: None"), "{code}");
    }

    #[test]
    fn a_misspelt_design_version_is_an_error_at_the_literal() {
        let input: syn::DeriveInput = syn::parse_quote! {
            #[entity(design = "v1.2.3")]
            #[key(pk = "USER#${id}")]
            struct User { id: String }
        };
        let failed = derive(&input).expect_err("refused");
        assert_eq!(failed.error.to_string(), r#"design must be MAJOR.MINOR.PATCH, such as "0.3.0""#);
        assert!(failed.stub.to_string().contains("impl _onetable :: Entity for User"));
    }

    #[test]
    fn each_field_names_the_keys_its_value_owns() {
        let code = expand(syn::parse_quote! {
            #[key(pk = "USER#${id}")]
            struct User {
                id: String,
                address: Option<Address>,
                #[attr(ttl)]
                expires: Option<u64>,
            }
        });
        assert!(code.contains("map_keys : < Option < Address > as _onetable :: Value > :: MAP"), "{code}");
        // A TTL is held by a `TtlValue`, not necessarily a `Value`.
        assert!(code.contains("map_keys : :: core :: option :: Option :: None"), "{code}");
    }

    #[test]
    fn the_user_facing_names_are_inherent_items_inside_the_block() {
        let code = expand(syn::parse_quote! {
            #[entity(crate = "db", name = "User")]
            #[key(pk = "USER#${id}")]
            struct User { id: String, name: String }
        });
        assert!(
            code.starts_with("# [allow (unused_qualifications)] const _ : () = { use db as _onetable ;"),
            "{code}"
        );
        for item in
            ["pub const NAME : _onetable :: Field < User , String >", "pub fn key (", "pub fn partition ("]
        {
            assert!(code.contains(item), "{item}: {code}");
        }
        assert!(!code.contains(":: onetable ::"), "only the alias names onetable: {code}");
    }
}
