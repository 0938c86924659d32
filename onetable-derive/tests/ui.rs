//! Compile-time validation: each schema mistake is a compile error at the token at
//! fault (the expected messages are the `.stderr` files beside each case).
//! Regenerate them after an intended change with
//! `TRYBUILD=overwrite cargo test -p onetable-derive --test ui`. They live in this crate,
//! whose dev-dependencies are few: trybuild compiles every one of them again.

#[test]
fn schema_mistakes_are_compile_errors() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
