//! Data migrations: every item of an entity rewritten as another while the
//! application keeps writing.

mod budget;
mod change;
mod progress;
mod run;
mod transform;

pub use change::Change;
pub use transform::Transform;
