//! `#[derive(Value)]`: unit enums stored as strings, structs stored as maps, newtypes
//! stored as the value they wrap.
//!
//! `parse` reads the options and the shape of the type, `validate` decides how each
//! variant or field is stored and collects every error, `generate` emits the impls.

mod case;
mod generate;
mod parse;
mod validate;

use crate::diag::{self, Errors, Expansion};

pub fn derive(input: &syn::DeriveInput) -> Expansion {
    let mut errors = Errors::new();
    let input = parse::input(input, &mut errors);
    let layout = validate::validate(&input, &mut errors);
    diag::expand(
        errors,
        || input.krate.wrap(layout.as_ref().map(|l| generate::value(&input, l)).unwrap_or_default()),
        || input.krate.wrap(generate::stub(&input)),
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
    fn a_struct_owns_its_stored_keys_and_those_of_its_nested_maps() {
        let code = expand(syn::parse_quote! {
            struct Address {
                street: String,
                #[attr(rename = "geo")]
                point: Option<Point>,
                tags: Vec<String>,
                #[attr(skip)]
                cache: String,
            }
        });
        let keys = [
            r#"_onetable :: schema :: MapKey { attribute : "street" , map : < String as _onetable :: Value > :: MAP }"#,
            r#"_onetable :: schema :: MapKey { attribute : "geo" , map : < Option < Point > as _onetable :: Value > :: MAP }"#,
            r#"_onetable :: schema :: MapKey { attribute : "tags" , map : < Vec < String > as _onetable :: Value > :: MAP }"#,
        ]
        .join(" , ");
        let expected = format!(
            "const MAP : :: core :: option :: Option < & 'static _onetable :: schema :: MapSchema > = :: core :: option :: Option :: Some (& _onetable :: schema :: MapSchema {{ keys : & [{keys}] }}) ;"
        );
        assert!(code.contains(&expected), "{code}");
        assert!(!code.contains(r#"attribute : "cache""#), "a skipped field is not stored: {code}");
    }

    #[test]
    fn a_newtype_owns_the_keys_of_what_it_wraps() {
        let code = expand(syn::parse_quote!(
            struct Home(Address);
        ));
        assert!(code.contains("= < Address as _onetable :: Value > :: MAP ;"), "{code}");
    }

    #[test]
    fn the_output_is_wrapped_with_the_crate_path() {
        let code = expand(syn::parse_quote! {
            #[value(crate = "db", rename_all = "lowercase")]
            enum Plan { Free, Pro }
        });
        assert!(
            code.starts_with("# [allow (unused_qualifications)] const _ : () = { use db as _onetable ;"),
            "{code}"
        );
        assert!(code.contains(r#"Plan :: Free => "free""#), "{code}");
        assert!(!code.contains(":: onetable ::"), "only the alias names onetable: {code}");
    }

    #[test]
    fn errors_come_with_a_stub_under_the_same_path() {
        let input: syn::DeriveInput = syn::parse_quote! {
            #[value(crate = "db")]
            struct Pair(String, u64);
        };
        let failed = derive(&input).expect_err("a tuple of two is refused");
        assert!(failed.error.to_string().contains("works on unit-only enums"));
        assert!(failed.stub.to_string().contains("use db as _onetable ;"), "{}", failed.stub);
    }
}
