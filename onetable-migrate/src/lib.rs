//! Migrations: sequenced, reversible, checksummed changes to a single-table design,
//! run while the application keeps serving.
//!
//! Migrations are Rust values compiled into your own binary. A [`Migrator`] holds them
//! in version order and keeps their history in the table as OneTable's `_Migration`
//! items. A lock item keeps two migrators apart (its epoch fences out one that was
//! paused past its lease); a checksum per migration reports one edited after it ran; a
//! failed migration is recorded as failed and blocks `up` until it is retried or
//! repaired.
//!
//! Data migrations ([`Context::transform`]) run beside live traffic: every write is
//! conditional on the item as read, every item records the design version it is in
//! ([`DESIGN_ATTRIBUTE`]), and several processes can share one migration's segments
//! ([`Migrator::wait`]). The `onetable` crate's guide explains the guarantees and
//! their cost.
//!
//! Every request the engine sends goes through the table's request layer
//! (`onetable_client::raw`): it is observed, costed and typed as any other.
//!
//! ```no_run
//! # use onetable_migrate::{Migration, Migrator};
//! # use onetable_client::Table;
//! # async fn demo(table: Table) -> Result<(), onetable_core::Error> {
//! let migrator = Migrator::new(table)
//!     .migration(
//!         Migration::new("0.1.0", "initial schema")
//!             .up(|ctx| async move { ctx.table().create_table().send().await.map(|_| ()) })
//!             .down(|ctx| async move { ctx.table().delete_table().await }),
//!     );
//! migrator.up(None).await?;
//! # Ok(()) }
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

#[cfg(feature = "cli")]
#[cfg_attr(docsrs, doc(cfg(feature = "cli")))]
pub mod cli;
mod context;
mod data;
mod error;
mod files;
mod migration;
mod migrator;
mod report;
mod retry;
mod runner;
mod steps;
mod store;

pub use context::{Context, Role};
pub use data::{Change, Conflicts, Plan, Transform};
pub use error::{MigrateError, MigrateErrorExt};
pub use files::{Bump, Migrations};
pub use migration::{Direction, Migration};
pub use migrator::Migrator;
pub use onetable_client::evolve::Rekey;
pub use onetable_client::DESIGN_ATTRIBUTE;
pub use onetable_core::Version;
pub use report::{Listed, Ran, State, Status};
pub use store::{Outcome, Record};
