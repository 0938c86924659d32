//! Typed conditions and the placeholders every expression is written with.
//!
//! No attribute name or value is ever spliced into an expression: names become `#n0`,
//! values `:v0`, so reserved words, `#`, `:` and `{..}` in values are all harmless.

mod condition;
mod operand;
mod placeholders;

pub use condition::{Condition, Size};
pub use operand::{Contains, IntoOperand, Operand};
pub use placeholders::{Mark, Placeholders};
