//! Runs onetable schemas against DynamoDB: the [`Table`] and its typed [`Model`]s.
//!
//! Users depend on the `onetable` facade, which re-exports this crate.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

mod batch;
mod batch_get;
mod call;
mod capture;
pub mod changes;
mod collection;
mod conditions;
mod crypto;
mod cursor;
pub mod evolve;
mod fetched;
mod find;
mod hydrate;
mod keys;
mod manage;
pub mod metrics;
mod model;
mod projection;
mod put;
mod query;
pub mod raw;
mod read_only;
mod retry;
pub mod rewrite;
mod rules;
mod scan;
mod schema_item;
mod send;
mod splice;
mod table;
mod transact;
mod unique;
mod update;
mod write;

pub use batch::{BatchSummary, BatchWrite};
pub use batch_get::GetMany;
pub use collection::{Collections, FindCollection, Unknown};
pub use cursor::Cursor;
pub use find::{Find, Page};
pub use keys::{describe as describe_key, HISTORY_PARTITION, SCHEMA_PARTITION};
pub use manage::CreateTable;
pub use model::{Create, Get, Model, Remove};
pub use put::Put;
pub use scan::Scan;
pub use table::DESIGN_ATTRIBUTE;
pub use table::{Table, TableBuilder};
pub use transact::Transaction;
pub use update::Update;
pub use write::{Request, MAX_ACTIONS};
