//! Runs onetable schemas against DynamoDB: the [`Table`] and its typed [`Model`]s.
//!
//! Users depend on the `onetable` facade, which re-exports this crate.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

mod batch;
pub mod changes;
mod collection;
mod conditions;
mod crypto;
mod cursor;
mod error;
mod find;
mod manage;
pub mod metrics;
pub mod migrate;
mod model;
mod projection;
mod read_only;
mod retry;
mod table;
mod transact;
mod unique;
mod update;
mod version;
mod write;

pub use batch::{BatchSummary, BatchWrite, GetMany};
pub use collection::{Collections, FindCollection, Unknown};
pub use cursor::Cursor;
pub use find::{Find, Page, Scan};
pub use manage::CreateTable;
pub use model::{Create, Get, Model, Put, Remove};
pub use table::{Table, TableBuilder};
pub use transact::Transaction;
pub use update::Update;
pub use write::Request;
pub use write::MAX_ACTIONS;
