//! placeholder
pub use onetable_core::*;
pub use onetable_derive::{Entity, Value};
