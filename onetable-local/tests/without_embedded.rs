//! Built without the `embedded` feature (`cargo test -p onetable-local
//! --no-default-features --test without_embedded`): asking for the embedded engine is
//! an error that says what to turn on, never a hang or a silent DynamoDB Local.

#![cfg(not(feature = "embedded"))]

use onetable_local::{DynamoDbLocal, Engine, Error};

#[test]
fn the_embedded_engine_in_a_build_without_it_is_a_clear_error() {
    let err = DynamoDbLocal::embedded().unwrap_err();
    assert!(matches!(err, Error::EmbeddedNotBuilt));
    assert!(err.to_string().contains("`embedded` feature"), "{err}");
    let shared = Engine::Embedded.shared().unwrap_err();
    assert!(matches!(shared, Error::EmbeddedNotBuilt));
}
