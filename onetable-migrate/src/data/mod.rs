//! Data migrations: every item of an entity rewritten as another while the
//! application keeps writing.

mod budget;
mod change;
mod item;
mod plan;
pub(crate) mod preflight;
mod progress;
mod run;
mod transform;

pub use change::Change;
pub use plan::Plan;
pub use transform::{Conflicts, Transform};
