//! Serving while the design evolves: reading and writing an entity whose items are
//! moving from one form to another (a re-key, an in-place change), and the guarded
//! rewrites of one item that the migration engine (`onetable-migrate`) and these
//! serving paths share — each writes only if the item is still exactly what was read.

mod rekey;
pub mod rewrite;
mod upgrade;

pub use rekey::Rekey;
pub use upgrade::Upgrade;
