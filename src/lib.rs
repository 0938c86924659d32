//! Single-table design for Amazon DynamoDB.
//!
//! Many entity types share one table under generic key attributes (`pk`, `sk`,
//! `gs1pk`, ...) whose values come from templates such as `USER#${id}`. onetable
//! checks such a schema at compile time with [`derive@Entity`], composes keys safely
//! (no value can forge another item's key), and maps items straight to and from
//! DynamoDB attribute values in the storage format of the JavaScript OneTable library,
//! so Rust and JavaScript services can share a table.
//!
//! This crate is the one to depend on: it re-exports the core types and the derives.
//!
//! ```
//! use onetable::{Entity, Format};
//!
//! #[derive(Entity, Debug, Clone, PartialEq)]
//! #[key(pk = "ACCOUNT#${account_id}", sk = "USER#${id}")]
//! struct User {
//!     account_id: String,
//!     id: String,
//!     name: String,
//! }
//!
//! let user = User { account_id: "acme".into(), id: "ann".into(), name: "Ann".into() };
//! let item = user.to_item(&Format::ONETABLE)?;
//! assert_eq!(item["sk"].as_s().unwrap(), "USER#ann");
//! assert_eq!(User::from_item(item)?, user);
//! # Ok::<(), onetable::Error>(())
//! ```
//!
//! The [guide] shows the client: tables, every operation, batches, transactions,
//! unique fields, optimistic locking, TTL and collections.
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `ulid` | yes | `#[attr(generate = "ulid")]`, `ulid::Ulid` fields |
//! | `uuid` | yes | `#[attr(generate = "uuid")]`, `uuid::Uuid` fields |
//! | `chrono` | no | `chrono::DateTime<Utc>` fields, keys and TTLs |
//! | `cli` | no | [`migrate::cli`]: the migration CLI for your migration binary (clap, aws-config with its default HTTPS client, tracing-subscriber) |
//!
//! onetable picks no HTTP client and no TLS: it works with the
//! [`aws_sdk_dynamodb::Client`] you give it, which carries whatever your `aws-config`
//! chose (rustls by default; see the README for another TLS or your own HTTP client).

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

/// The AWS SDK for DynamoDB that onetable is built on, for building clients with the
/// same version.
pub use aws_sdk_dynamodb;

#[doc = include_str!("docs/guide.md")]
pub mod guide {}

pub use onetable_client::*;
pub use onetable_core::*;

#[doc = include_str!("docs/derive_entity.md")]
pub use onetable_derive::Entity;

#[doc = include_str!("docs/derive_value.md")]
pub use onetable_derive::Value;

/// Derives [`Collection`](trait@crate::Collection) for an enum whose variants each hold
/// one entity of a shared partition; query it with [`Table::collection`].
pub use onetable_derive::Collection;
