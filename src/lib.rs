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
//! | `migrate` | no | [`migrate`]: migrations, the migrator, data migrations beside live traffic (the `onetable-migrate` crate) |
//! | `cli` | no | `migrate`, and [`migrate::cli`]: the migration CLI for your migration binary (clap, aws-config with its default HTTPS client, tracing-subscriber) |
//! | `crypt` | no | encrypted fields (`#[attr(crypt)]`, AES-256-GCM), byte-compatible with OneTable's `crypto` |
//! | `metrics` | no | [`metrics`]: every request counted, timed and costed through the `metrics` crate facade |
//! | `streams` | no | [`changes`]: stream records read with aws-sdk-dynamodbstreams decoded as entities |
//! | `lambda` | no | [`changes`]: Lambda DynamoDB events (aws_lambda_events) decoded as entities |
//!
//! The `onetable` command (`cargo install onetable-cli`) shows the migration history
//! and `_Schema` item of any table.
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

// The everyday API, by name.
pub use onetable_client::{
    changes, evolve, metrics, raw, rewrite, BatchSummary, Cursor, Model, Page, Table, TableBuilder, Unknown,
    DESIGN_ATTRIBUTE, MAX_ACTIONS,
};

/// The migration engine (feature `migrate`): migrations, the migrator, data
/// migrations beside live traffic, and (feature `cli`) the CLI for your migration
/// binary.
#[cfg(feature = "migrate")]
#[cfg_attr(docsrs, doc(cfg(feature = "migrate")))]
pub use onetable_migrate as migrate;

pub use onetable_core::{
    expr, generate, item_size, set, AsKeyPart, AttributeValue, Collection, Entity, Error, ErrorKind,
    FailedAction, Field, Format, GeneratedId, Item, Key, KeyProblem, KeyValue, Nested, Paddable, PartialKey,
    Projection, SortCondition, Timestamps, TtlValue, Unprocessed, Value, ValueError, MAX_ITEM_SIZE,
};
#[cfg(feature = "migrate")]
#[cfg_attr(docsrs, doc(cfg(feature = "migrate")))]
pub use onetable_migrate::migrations;

/// The request builders that [`Model`], [`Table`] and their collections return: each
/// is awaited (or `.send()`), after options are added in as many steps as needed.
pub mod request {
    pub use onetable_client::{
        BatchWrite, Collections, Create, CreateTable, Find, FindCollection, Get, GetMany, Put, Remove,
        Request, Scan, Transaction, Update,
    };
}

/// The schema model the derives generate ([`Entity::SCHEMA`]): for tools that read a
/// design (the `_Schema` item, table creation) and for hand-written entities.
pub mod schema {
    pub use onetable_core::{
        attr_from_key_text, key_text, type_name, EntitySchema, FieldSchema, Generate, IndexAttribute,
        IndexKind, IndexProjection, IndexSchema, Input, KeyAttribute, KeyBuf, KeyField, ListElement, MapKey,
        MapSchema, MultiKey, Pad, Part, Rendered, Rules, ScalarType, Template,
    };
}

/// The names almost every module using onetable needs: `use onetable::prelude::*;`.
pub mod prelude {
    pub use crate::{Collection, Entity, Error, Model, Projection, Table, Value};

    /// The `is_*` methods of migration errors.
    #[cfg(feature = "migrate")]
    pub use onetable_migrate::MigrateErrorExt;
}

/// Items the code generated by the derives and `migrations!` needs. Not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use onetable_core::__private::*;
}

#[doc = include_str!("docs/derive_entity.md")]
pub use onetable_derive::Entity;

#[doc = include_str!("docs/derive_value.md")]
pub use onetable_derive::Value;

#[doc = include_str!("docs/derive_projection.md")]
pub use onetable_derive::Projection;

/// Derives [`Collection`](trait@crate::Collection) for an enum whose variants each hold
/// one entity of a shared partition; query it with [`Table::collection`].
pub use onetable_derive::Collection;
