//! Migrations: sequenced, reversible, checksummed changes to a single-table design,
//! run while the application keeps serving.
//!
//! Migrations are Rust values compiled into your own binary. A [`Migrator`] holds them
//! in version order and keeps their history in the table as OneTable's `_Migration`
//! items. A lock item keeps two migrators apart; a checksum per migration reports one
//! edited after it ran; a failed migration is recorded as failed and blocks `up` until
//! it is retried or repaired.
//!
//! ```no_run
//! # use onetable_client::{migrate::{Migration, Migrator}, Table};
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

#[cfg(feature = "cli")]
pub mod cli;
mod history;
mod lock;
mod progress;
mod rekey;
mod schema_item;
mod steps;
mod transform;
mod version;

pub use history::{Outcome, Record};
pub use rekey::Rekey;
pub use transform::Transform;
pub use version::Version;

use crate::table::Table;
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use onetable_core::{Error, ErrorKind};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

type Step = Arc<dyn Fn(Context) -> BoxFuture<'static, Result<(), Error>> + Send + Sync>;

/// One migration: a version, a description, `up` and (unless it is irreversible)
/// `down`.
#[derive(Clone)]
pub struct Migration {
    version: Result<Version, String>,
    description: String,
    up: Option<Step>,
    down: Option<Step>,
    source: String,
}

impl std::fmt::Debug for Migration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Migration")
            .field("version", &self.version)
            .field("description", &self.description)
            .finish()
    }
}

impl Migration {
    /// A migration with version `MAJOR.MINOR.PATCH`.
    pub fn new(version: &str, description: impl Into<String>) -> Migration {
        Migration {
            version: Version::parse(version).map_err(|_| version.to_owned()),
            description: description.into(),
            up: None,
            down: None,
            source: String::new(),
        }
    }

    /// What the migration does.
    pub fn up<F, Fut>(mut self, step: F) -> Self
    where
        F: Fn(Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Error>> + Send + 'static,
    {
        self.up = Some(Arc::new(move |ctx| step(ctx).boxed()));
        self
    }

    /// How to undo it. Without one the migration is irreversible and `down` says so.
    pub fn down<F, Fut>(mut self, step: F) -> Self
    where
        F: Fn(Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Error>> + Send + 'static,
    {
        self.down = Some(Arc::new(move |ctx| step(ctx).boxed()));
        self
    }

    /// The migration's source text (`include_str!` of its file): part of its checksum,
    /// so editing a migration after it ran is reported before anything runs.
    pub fn source(mut self, text: &str) -> Self {
        self.source = text.to_owned();
        self
    }

    /// The checksum recorded when it runs: FNV-1a over version, description and source.
    pub fn checksum(&self) -> String {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        let version = self.version.as_ref().map_or_else(Clone::clone, ToString::to_string);
        for byte in
            version.bytes().chain([0]).chain(self.description.bytes()).chain([0]).chain(self.source.bytes())
        {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        format!("{hash:016x}")
    }
}

/// What a migration step is given: the table, whether this is a dry run, and a count
/// of the items it processes.
#[derive(Clone)]
pub struct Context {
    table: Table,
    version: Version,
    dry_run: bool,
    direction: &'static str,
    items: Arc<AtomicU64>,
}

impl Context {
    /// The table being migrated (in a dry run, a read-only view: any write fails).
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// True in a dry run: steps count what they would do and write nothing.
    pub fn is_dry_run(&self) -> bool {
        self.dry_run
    }

    /// The version of the migration running.
    pub fn version(&self) -> &Version {
        &self.version
    }

    /// Adds to the items processed, as recorded in the history.
    pub fn count(&self, items: u64) {
        self.items.fetch_add(items, Ordering::Relaxed);
    }
}

/// Where the table stands against the migrator's migrations.
#[derive(Debug, Clone)]
pub struct Status {
    /// The highest applied version.
    pub current: Option<Version>,
    /// The recorded migrations, oldest first.
    pub applied: Vec<Record>,
    /// Migrations not applied yet, in the order `up` runs them.
    pub outstanding: Vec<Version>,
    /// A migration recorded as failed, which blocks `up`.
    pub failed: Option<Record>,
    /// Applied migrations whose checksum no longer matches their code.
    pub edited: Vec<Version>,
}

/// What a run did, or in a dry run would do.
#[derive(Debug, Clone, PartialEq)]
pub struct Ran {
    /// The migration.
    pub version: Version,
    /// Its description.
    pub description: String,
    /// `up` or `down`.
    pub direction: &'static str,
    /// Items it processed (or would).
    pub items: u64,
}

/// Runs migrations against a table. See the [module](self) documentation.
pub struct Migrator {
    table: Table,
    migrations: Vec<Migration>,
    owner: String,
    lease: Duration,
}

fn migration_error(version: impl ToString, message: impl Into<String>) -> Error {
    ErrorKind::Migration { version: version.to_string(), message: message.into() }.into()
}

impl Migrator {
    /// A migrator for `table`; its lock owner is named after the host and process.
    pub fn new(table: Table) -> Migrator {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "local".into());
        Migrator {
            table,
            migrations: Vec::new(),
            owner: format!("{host}:{}", std::process::id()),
            lease: Duration::from_secs(60),
        }
    }

    /// Adds a migration (kept in version order).
    pub fn migration(mut self, migration: Migration) -> Self {
        self.migrations.push(migration);
        self.migrations.sort_by(|a, b| match (&a.version, &b.version) {
            (Ok(a), Ok(b)) => a.cmp(b),
            _ => std::cmp::Ordering::Equal,
        });
        self
    }

    /// The name this migrator holds the lock under.
    pub fn owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = owner.into();
        self
    }

    /// How long the lock is held without a heartbeat (60 s by default; renewed every
    /// third of it while running).
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// The migrations, in version order.
    pub fn migrations(&self) -> &[Migration] {
        &self.migrations
    }

    fn check_versions(&self) -> Result<Vec<(&Migration, Version)>, Error> {
        let mut out = Vec::new();
        for m in &self.migrations {
            match &m.version {
                Ok(v) => {
                    if out.iter().any(|(_, seen)| seen == v) {
                        return Err(migration_error(v, "two migrations have this version"));
                    }
                    out.push((m, v.clone()));
                }
                Err(text) => {
                    return Err(migration_error(text, "a version is MAJOR.MINOR.PATCH, such as 0.1.0"))
                }
            }
        }
        Ok(out)
    }

    /// Where the table stands: applied, outstanding, failed and edited migrations.
    pub async fn status(&self) -> Result<Status, Error> {
        let migrations = self.check_versions()?;
        let applied = history::load(&self.table).await?;
        let failed = applied.iter().find(|r| r.outcome == Outcome::Failed).cloned();
        let done: Vec<&Record> = applied.iter().filter(|r| r.outcome == Outcome::Applied).collect();
        let current = done.iter().map(|r| r.version.clone()).max();
        let outstanding = migrations
            .iter()
            .filter(|(_, v)| !done.iter().any(|r| &r.version == v))
            .map(|(_, v)| v.clone())
            .collect();
        let edited = migrations
            .iter()
            .filter(|(m, v)| done.iter().any(|r| &r.version == v && r.checksum != m.checksum()))
            .map(|(_, v)| v.clone())
            .collect();
        Ok(Status { current, applied, outstanding, failed, edited })
    }

    /// Applies the outstanding migrations in order, up to `to` when given.
    pub async fn up(&self, to: Option<&str>) -> Result<Vec<Ran>, Error> {
        self.run_up(to, false, false).await
    }

    /// What `up` would do: the steps and the items they would process. Writes nothing
    /// (not even the lock).
    pub async fn up_dry_run(&self, to: Option<&str>) -> Result<Vec<Ran>, Error> {
        self.run_up(to, true, false).await
    }

    /// Runs a failed migration again, then the rest, as `up`.
    pub async fn retry(&self, to: Option<&str>) -> Result<Vec<Ran>, Error> {
        self.run_up(to, false, true).await
    }

    async fn run_up(&self, to: Option<&str>, dry_run: bool, retry: bool) -> Result<Vec<Ran>, Error> {
        let target = to.map(Version::parse).transpose()?;
        let status = self.status().await?;
        if let Some(v) = status.edited.first() {
            return Err(migration_error(v, "it was edited after it was applied (its checksum changed): restore it, or repair the history"));
        }
        if let (Some(failed), false) = (&status.failed, retry) {
            return Err(migration_error(
                &failed.version,
                format!(
                    "it failed ({}); fix it, then retry it (`retry`) or mark it repaired (`repair`)",
                    failed.error.as_deref().unwrap_or("no error recorded")
                ),
            ));
        }
        let plan: Vec<&Migration> = self
            .check_versions()?
            .into_iter()
            .filter(|(_, v)| status.outstanding.contains(v) && target.as_ref().is_none_or(|t| v <= t))
            .map(|(m, _)| m)
            .collect();
        self.run(plan, "up", dry_run).await
    }

    /// Undoes the last `steps` applied migrations, newest first.
    pub async fn down(&self, steps: usize) -> Result<Vec<Ran>, Error> {
        self.run_down(steps, false).await
    }

    /// What `down` would do. Writes nothing.
    pub async fn down_dry_run(&self, steps: usize) -> Result<Vec<Ran>, Error> {
        self.run_down(steps, true).await
    }

    /// Undoes the applied migrations above version `to`, newest first, so that `to`
    /// is the current version afterwards.
    pub async fn down_to(&self, to: &str, dry_run: bool) -> Result<Vec<Ran>, Error> {
        let to = Version::parse(to)?;
        let steps = self
            .status()
            .await?
            .applied
            .iter()
            .filter(|r| r.outcome == Outcome::Applied && r.version > to)
            .count();
        self.run_down(steps, dry_run).await
    }

    async fn run_down(&self, steps: usize, dry_run: bool) -> Result<Vec<Ran>, Error> {
        let status = self.status().await?;
        let migrations = self.check_versions()?;
        let mut plan = Vec::new();
        for record in status.applied.iter().rev().filter(|r| r.outcome == Outcome::Applied).take(steps) {
            let Some((m, _)) = migrations.iter().find(|(_, v)| *v == record.version) else {
                return Err(migration_error(
                    &record.version,
                    "it is in the history but not in this migrator",
                ));
            };
            if m.down.is_none() {
                return Err(migration_error(&record.version, "it is irreversible: it has no down step"));
            }
            plan.push(*m);
        }
        self.run(plan, "down", dry_run).await
    }

    /// Undoes and re-applies the latest applied migration.
    pub async fn repeat(&self) -> Result<Vec<Ran>, Error> {
        let mut steps = self.down(1).await?;
        let Some(last) = steps.first() else { return Ok(steps) };
        let version = last.version.to_string();
        steps.extend(self.up(Some(&version)).await?);
        Ok(steps)
    }

    /// Undoes every applied migration. Development only: refuses unless `confirmed`.
    pub async fn reset(&self, confirmed: bool) -> Result<Vec<Ran>, Error> {
        if !confirmed {
            return Err(migration_error("*", "reset undoes every migration: confirm it explicitly (--yes)"));
        }
        self.down(usize::MAX).await
    }

    /// Marks a failed migration as applied, after it was fixed by hand.
    pub async fn repair(&self, version: &str) -> Result<(), Error> {
        let version = Version::parse(version)?;
        let status = self.status().await?;
        let Some(mut record) = status.failed.filter(|r| r.version == version) else {
            return Err(migration_error(&version, "it is not recorded as failed"));
        };
        record.outcome = Outcome::Applied;
        record.error = None;
        record.save(&self.table).await
    }

    async fn run(
        &self,
        plan: Vec<&Migration>,
        direction: &'static str,
        dry_run: bool,
    ) -> Result<Vec<Ran>, Error> {
        // The lock lives in the table: until a first migration has created it, there
        // is nothing to lock.
        let mut lock = None;
        if !dry_run && !plan.is_empty() && self.table.exists().await? {
            lock = Some(lock::Lock::acquire(&self.table, &self.owner, self.lease).await?);
        }
        let mut done = Vec::new();
        let mut result = Ok(());
        for m in plan {
            let version = m.version.clone().map_err(|v| migration_error(v, "bad version"))?;
            let ctx = Context {
                table: if dry_run { self.table.read_only() } else { self.table.clone() },
                version: version.clone(),
                dry_run,
                direction,
                items: Arc::new(AtomicU64::new(0)),
            };
            let step = if direction == "up" { m.up.clone() } else { m.down.clone() };
            let started = Instant::now();
            tracing::info!(version = %version, direction, dry_run, description = %m.description, "migration");
            let outcome = match step {
                Some(step) => step(ctx.clone()).await,
                None => Ok(()),
            };
            let items = ctx.items.load(Ordering::Relaxed);
            if dry_run {
                outcome?;
                done.push(Ran { version, description: m.description.clone(), direction, items });
                continue;
            }
            let exists = self.table.exists().await?;
            if lock.is_none() && exists {
                lock = Some(lock::Lock::acquire(&self.table, &self.owner, self.lease).await?);
            }
            if !exists {
                // A down step removed the table, and its history with it.
                outcome?;
                done.push(Ran { version, description: m.description.clone(), direction, items });
                continue;
            }
            let mut record = history::Record::new(version.clone(), &m.description, &m.checksum());
            record.duration_ms = started.elapsed().as_millis() as u64;
            record.items = items;
            match outcome {
                Ok(()) => {
                    if direction == "up" {
                        record.outcome = Outcome::Applied;
                        record.save(&self.table).await?;
                        transform::clear_checkpoints(&self.table, &version).await?;
                    } else {
                        for r in
                            history::load(&self.table).await?.into_iter().filter(|r| r.version == version)
                        {
                            r.delete(&self.table).await?;
                        }
                        transform::clear_checkpoints(&self.table, &version).await?;
                    }
                    done.push(Ran { version, description: m.description.clone(), direction, items });
                }
                Err(e) => {
                    record.outcome = Outcome::Failed;
                    record.error = Some(format!("{direction}: {e}"));
                    record.save(&self.table).await?;
                    result = Err(migration_error(&version, format!("{direction} failed: {e}")));
                    break;
                }
            }
        }
        if let Some(lock) = lock {
            if self.table.exists().await? {
                // The design as this code knows it, for OneTable's tools.
                match self.status().await?.current {
                    Some(current) => schema_item::save(&self.table, &current).await?,
                    None => schema_item::remove(&self.table).await?,
                }
                lock.release().await?;
            }
        }
        result.map(|()| done)
    }
}
