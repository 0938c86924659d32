pub use onetable_core::*;
