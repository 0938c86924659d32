//! Compile-time validation: each schema mistake is a compile error at the token at
//! fault (the expected messages are the `.stderr` files beside each case).
//! Regenerate them after an intended change with
//! `TRYBUILD=overwrite cargo test -p onetable-compile-fail`. They live in a crate of
//! their own, whose dev-dependencies are two: trybuild compiles every one of them again.

#[test]
fn schema_mistakes_are_compile_errors() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
