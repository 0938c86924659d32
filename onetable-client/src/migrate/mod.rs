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
//! ([`Migrator::wait`]). The crate's guide explains the guarantees and their cost.
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

mod budget;
mod change;
#[cfg(feature = "cli")]
pub mod cli;
mod files;
mod history;
mod lease;
mod lock;
mod progress;
mod rekey;
mod rewrite;
mod schema_item;
mod segments;
mod steps;
mod transform;
mod upgrade;

pub use crate::version::Version;
pub use change::Change;
pub use files::{Bump, Migrations};
pub use history::{Outcome, Record};
pub use rekey::Rekey;
pub use transform::{Transform, DESIGN_ATTRIBUTE};
pub use upgrade::Upgrade;

/// The partition of the migrations' bookkeeping: history, lock and checkpoints.
pub(crate) use history::PK as HISTORY_PARTITION;

use crate::table::Table;
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use onetable_core::{Error, ErrorKind};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Called as each migration finishes (see [`Migrator::on_each`]).
type Report = Arc<dyn Fn(&Ran) + Send + Sync>;

type Step = Arc<dyn Fn(Context) -> BoxFuture<'static, Result<(), Error>> + Send + Sync>;

/// One migration: a version, a description, `up` and (unless it is irreversible)
/// `down`.
///
/// Kept as a file of a migrations directory (see [`migrations!`](crate::migrations)),
/// its source is part of its checksum, so editing it after it ran is reported before
/// anything runs.
#[derive(Clone)]
pub struct Migration {
    version: Result<Version, String>,
    description: String,
    up: Option<Step>,
    down: Option<Step>,
    source: String,
    /// The file it was declared in, within its migrations directory.
    file: Option<&'static str>,
}

impl std::fmt::Debug for Migration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Migration")
            .field("version", &self.version)
            .field("description", &self.description)
            .field("file", &self.file)
            .finish()
    }
}

/// The checksum algorithm, named in every checksum recorded.
const CHECKSUM: &str = "sha256";

impl Migration {
    /// A migration with version `MAJOR.MINOR.PATCH`.
    pub fn new(version: &str, description: impl Into<String>) -> Migration {
        Migration {
            version: Version::parse(version).map_err(|_| version.to_owned()),
            description: description.into(),
            up: None,
            down: None,
            source: String::new(),
            file: None,
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

    /// The migration's source text, part of its checksum. A migration declared in a
    /// migrations directory ([`migrations!`](crate::migrations)) has its file's text
    /// already; this is for migrations kept elsewhere.
    pub fn source(mut self, text: &str) -> Self {
        // Line endings depend on the checkout (git on Windows), not on the code.
        self.source = text.replace("\r\n", "\n");
        self
    }

    /// The version, as written.
    pub fn version(&self) -> Result<&Version, &str> {
        self.version.as_ref().map_err(String::as_str)
    }

    /// What it does.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The file it was declared in, for a migration of a migrations directory.
    pub fn file(&self) -> Option<&'static str> {
        self.file
    }

    /// The checksum recorded when it runs: SHA-256 over version, description and
    /// source, written `sha256:<hex>` so that the history names its algorithm.
    pub fn checksum(&self) -> String {
        use sha2::Digest;
        let mut hash = sha2::Sha256::new();
        for part in [self.version_text().as_bytes(), self.description.as_bytes(), self.source.as_bytes()] {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part);
        }
        let digest = hash.finalize();
        let mut out = String::with_capacity(CHECKSUM.len() + 1 + 64);
        out.push_str(CHECKSUM);
        out.push(':');
        for byte in digest {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
        out
    }

    /// True when `recorded` (from the history) is this migration's checksum. Records
    /// written before checksums named their algorithm hold a bare FNV-1a hash.
    fn checksum_matches(&self, recorded: &str) -> bool {
        // onetable-migrate (OneTable's CLI) records no checksum: nothing to compare.
        if recorded.is_empty() {
            return true;
        }
        if recorded.contains(':') {
            return recorded == self.checksum();
        }
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        let version = self.version_text();
        for byte in
            version.bytes().chain([0]).chain(self.description.bytes()).chain([0]).chain(self.source.bytes())
        {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        recorded == format!("{hash:016x}")
    }

    fn version_text(&self) -> String {
        self.version.as_ref().map_or_else(Clone::clone, ToString::to_string)
    }
}

/// Which way a migration runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Applying it.
    Up,
    /// Undoing it.
    Down,
}

impl Direction {
    /// `up` or `down`.
    pub fn label(self) -> &'static str {
        match self {
            Direction::Up => "up",
            Direction::Down => "down",
        }
    }
}

impl std::fmt::Display for Direction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// What a migration step is given: the table, whether this is a dry run, and a count
/// of the items it processes.
#[derive(Clone)]
pub struct Context {
    table: Table,
    /// The table data migrations write through: writable in a worker, whose own
    /// writes (through `table`) are refused like a dry run's.
    engine: Table,
    version: Version,
    /// Going down: the applied version below this one, the design items return to.
    below: Option<Version>,
    dry_run: bool,
    /// Taking part in another migrator's run: data migrations share its segments,
    /// everything else is a dry run.
    worker: bool,
    direction: Direction,
    fence: Option<Arc<lease::Fence>>,
    owner: String,
    lease: Duration,
    items: Arc<AtomicU64>,
    total: Arc<AtomicU64>,
    verified: Arc<AtomicU64>,
    skipped: Arc<Mutex<Vec<String>>>,
    milli_units: Arc<AtomicU64>,
    transformed: Arc<Mutex<Vec<&'static str>>>,
}

impl Context {
    /// The table being migrated (in a dry run, a read-only view: any write fails).
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// True in a dry run, and in a worker taking part in another migrator's run:
    /// steps count what they would do and write nothing (a worker's data migrations
    /// do their share of the writes).
    pub fn is_dry_run(&self) -> bool {
        self.dry_run
    }

    /// True in a worker taking part in another migrator's run (see
    /// [`Migrator::wait`]).
    pub fn is_worker(&self) -> bool {
        self.worker
    }

    /// The version of the migration running.
    pub fn version(&self) -> &Version {
        &self.version
    }

    /// Which way the migration runs.
    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// Adds to the items processed, as recorded in the history.
    pub fn count(&self, items: u64) {
        self.items.fetch_add(items, Ordering::Relaxed);
    }

    /// Fails with [`Error::is_lock_lost`] once this migrator's lease on the lock is
    /// lost: a step that writes by itself calls it before each write.
    pub fn check_lock(&self) -> Result<(), Error> {
        self.fence.as_deref().map_or(Ok(()), lease::Fence::check)
    }

    /// What the run of this context did.
    fn ran(&self, description: &str) -> Ran {
        Ran {
            version: self.version.clone(),
            description: description.to_owned(),
            direction: self.direction,
            items: self.items.load(Ordering::Relaxed),
            verified: self.verified.load(Ordering::Relaxed),
            skipped: self.skipped.lock().map(|s| s.clone()).unwrap_or_default(),
            write_units: self.milli_units.load(Ordering::Relaxed) as f64 / 1000.0,
            worker: self.worker,
        }
    }

    /// Refuses a second transform of one entity in one migration (see
    /// [`Context::transform`]).
    fn claim_entity(&self, entity: &'static str) -> Result<(), Error> {
        let mut seen = self.transformed.lock().map_err(|_| migration_error(&self.version, "poisoned"))?;
        if seen.contains(&entity) {
            return Err(migration_error(
                &self.version,
                format!("it transforms {entity} twice: one transform per entity per migration (split it into two migrations)"),
            ));
        }
        seen.push(entity);
        Ok(())
    }
}

/// Where the table stands against the migrator's migrations.
#[derive(Debug, Clone)]
#[non_exhaustive]
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

/// One migration a migrator knows, as [`Migrator::list`] shows it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Listed {
    /// Its version.
    pub version: Version,
    /// What it does.
    pub description: String,
    /// The file it is declared in, for a migration of a migrations directory.
    pub file: Option<&'static str>,
    /// Where it stands.
    pub state: State,
    /// When it was last run (ISO-8601), if it was.
    pub date: Option<String>,
}

/// Where a known migration stands in the table's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum State {
    /// Applied, and unchanged since.
    Applied,
    /// Not applied yet.
    Outstanding,
    /// Its last run failed: `up` waits for `retry` or `repair`.
    Failed,
    /// Applied, and its code changed since (its checksum differs).
    Edited,
}

impl State {
    /// `applied`, `outstanding`, `failed` or `edited`.
    pub fn label(self) -> &'static str {
        match self {
            State::Applied => "applied",
            State::Outstanding => "outstanding",
            State::Failed => "failed",
            State::Edited => "edited",
        }
    }
}

/// What a run did, or in a dry run would do.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Ran {
    /// The migration.
    pub version: Version,
    /// Its description.
    pub description: String,
    /// Up or down.
    pub direction: Direction,
    /// Items it processed (or would).
    pub items: u64,
    /// Items a data migration's final pass found already in the new form.
    pub verified: u64,
    /// Keys of the items a data migration left as they were because they do not
    /// read as its old entity (with `skip_unreadable`).
    pub skipped: Vec<String>,
    /// Write units its data migrations consumed (as DynamoDB reports them).
    pub write_units: f64,
    /// True when this process took part in another migrator's run of it (as a
    /// worker of its data migrations): `items` are the ones this process migrated.
    pub worker: bool,
}

/// Runs migrations against a table. See the [module](self) documentation.
pub struct Migrator {
    table: Table,
    migrations: Vec<Migration>,
    directory: Option<std::path::PathBuf>,
    owner: String,
    lease: Duration,
    wait: Duration,
    dry_run: bool,
    on_each: Option<Report>,
}

/// How long `up` waits for another migrator by default: long enough for a rolling
/// deploy's replicas to find the migrations applied by the first one.
const DEFAULT_WAIT: Duration = Duration::from_secs(300);

/// This machine's name, for the lock owner (`local` if the system has none).
fn host_name() -> String {
    hostname::get()
        .ok()
        .and_then(|h| h.into_string().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "local".into())
}

/// A migrator's default lock owner: host, process and a random suffix, so that two
/// migrators in one process (or a reused pid in a container) are told apart.
fn default_owner() -> String {
    let suffix: String = std::iter::repeat_with(fastrand::alphanumeric).take(6).collect();
    format!("{}:{}:{suffix}", host_name(), std::process::id())
}

fn migration_error(version: impl ToString, message: impl Into<String>) -> Error {
    ErrorKind::Migration { version: version.to_string(), message: message.into() }.into()
}

impl Migrator {
    /// A migrator for `table`; its lock owner is named after the host and process,
    /// with a random suffix.
    pub fn new(table: Table) -> Migrator {
        Migrator {
            table,
            migrations: Vec::new(),
            directory: None,
            owner: default_owner(),
            lease: Duration::from_secs(60),
            wait: DEFAULT_WAIT,
            dry_run: false,
            on_each: None,
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

    /// Adds the migrations of a directory (`migrations::all()`, see
    /// [`migrations!`](crate::migrations)); `generate` writes the next one there.
    pub fn migrations(mut self, migrations: Migrations) -> Self {
        if migrations.directory.is_some() {
            self.directory = migrations.directory;
        }
        for migration in migrations.list {
            self = self.migration(migration);
        }
        self
    }

    /// Makes every command a dry run: it reports what it would do, with item counts,
    /// and writes nothing, not even the lock (each step's table and client refuse
    /// writes before they are sent).
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Calls `report` as each migration finishes (in a dry run, as each would have
    /// run), so that a long run shows its progress and a failure keeps what ran before it.
    pub fn on_each(mut self, report: impl Fn(&Ran) + Send + Sync + 'static) -> Self {
        self.on_each = Some(Arc::new(report));
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

    /// How long `up` waits for a lock another migrator holds (five minutes by
    /// default, as replicas of a service running their migrations at start-up need;
    /// `Duration::ZERO` fails with [`Error::is_locked`] at once). While it waits it
    /// takes part in the other migrator's data migrations as a worker (their segments
    /// are leases any process can take), then finds the migrations applied, or takes
    /// the lock over if the other migrator died. Several processes or hosts running
    /// the same migrations share one migration's work this way.
    pub fn wait(mut self, timeout: Duration) -> Self {
        self.wait = timeout;
        self
    }

    /// The migrations this migrator knows, in version order.
    pub fn known(&self) -> &[Migration] {
        &self.migrations
    }

    /// The directory of the migration files, when it is known and on this machine.
    pub fn directory(&self) -> Option<&std::path::Path> {
        self.directory.as_deref()
    }

    /// Writes the migration after the latest one known into `directory` (or the
    /// migrations' own directory) and adds it to the directory's `mod.rs`. Returns the
    /// file written.
    pub fn generate(
        &self,
        description: &str,
        bump: Bump,
        directory: Option<&std::path::Path>,
    ) -> Result<std::path::PathBuf, Error> {
        let latest = self.migrations.iter().filter_map(|m| m.version.as_ref().ok()).max();
        let version = files::next_version(latest, bump);
        let directory = directory.or(self.directory.as_deref()).ok_or_else(|| {
            migration_error(
                &version,
                "the migrations directory is not known here: give it (--dir src/migrations)",
            )
        })?;
        files::generate(directory, &version, description)
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
            .filter(|(m, v)| done.iter().any(|r| &r.version == v && !m.checksum_matches(&r.checksum)))
            .map(|(_, v)| v.clone())
            .collect();
        Ok(Status { current, applied, outstanding, failed, edited })
    }

    /// Every migration this migrator knows, with where it stands in the table's
    /// history, in version order.
    pub async fn list(&self) -> Result<Vec<Listed>, Error> {
        let status = self.status().await?;
        let mut out = Vec::new();
        for (m, version) in self.check_versions()? {
            let record = status.applied.iter().rev().find(|r| r.version == version);
            let state = match record.map(|r| r.outcome) {
                _ if status.edited.contains(&version) => State::Edited,
                Some(Outcome::Applied) => State::Applied,
                Some(Outcome::Failed) => State::Failed,
                None => State::Outstanding,
            };
            out.push(Listed {
                version,
                description: m.description.clone(),
                file: m.file,
                state,
                date: record.map(|r| r.date.clone()),
            });
        }
        Ok(out)
    }

    fn report(&self, ran: &Ran) {
        if let Some(report) = &self.on_each {
            report(ran);
        }
    }

    /// Applies the outstanding migrations in order, up to `to` when given.
    ///
    /// When another migrator holds the lock, this waits as long as
    /// [`wait`](Self::wait) allows, then finds the migrations applied (and returns
    /// what it did as a worker meanwhile), or fails with [`Error::is_locked`].
    pub async fn up(&self, to: Option<&str>) -> Result<Vec<Ran>, Error> {
        self.run_up(to, false).await
    }

    /// Runs a failed migration again, then the rest, as `up`.
    pub async fn retry(&self, to: Option<&str>) -> Result<Vec<Ran>, Error> {
        self.run_up(to, true).await
    }

    async fn run_up(&self, to: Option<&str>, retry: bool) -> Result<Vec<Ran>, Error> {
        let dry_run = self.dry_run;
        let deadline = Instant::now() + self.wait;
        let mut joined: Vec<Ran> = Vec::new();
        let mut waiting = false;
        loop {
            match self.run_up_once(to, retry).await {
                Err(e) if e.is_locked() && !dry_run && Instant::now() < deadline => {
                    if !waiting {
                        waiting = true;
                        tracing::info!(owner = %self.owner, error = %e, "another migrator runs the migrations: waiting, and working on its data migrations meanwhile");
                    }
                    for ran in self.join(to).await? {
                        match joined.iter_mut().find(|r| r.version == ran.version) {
                            Some(r) => r.items += ran.items,
                            None => joined.push(ran),
                        }
                    }
                    let left = deadline.saturating_duration_since(Instant::now());
                    tokio::time::sleep((self.lease / 4).min(Duration::from_secs(1)).min(left)).await;
                }
                Ok(ran) => {
                    joined.retain(|j| j.items > 0);
                    if ran.is_empty() && !dry_run {
                        tracing::info!(owner = %self.owner, worked_on = joined.len(), "migrations up to date");
                    }
                    joined.extend(ran);
                    return Ok(joined);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Takes part in the data migrations of another migrator's run: each outstanding
    /// migration's `up` step runs as a worker (see [`Context::is_worker`]).
    async fn join(&self, to: Option<&str>) -> Result<Vec<Ran>, Error> {
        let target = to.map(Version::parse).transpose()?;
        let status = self.status().await?;
        let mut ran = Vec::new();
        for (m, version) in self.check_versions()? {
            if !status.outstanding.contains(&version) || target.as_ref().is_some_and(|t| &version > t) {
                continue;
            }
            let Some(step) = m.up.clone() else { continue };
            let ctx = self.context(&version, None, Direction::Up, true, true, None);
            match step(ctx.clone()).await {
                Ok(()) => {}
                // The step writes outside its data migrations (a worker's table is
                // read-only), or this worker's segment was taken over: the migrator
                // holding the lock does the rest.
                Err(e) if e.is_lock_lost() || e.is_read_only() => {
                    tracing::debug!(version = %version, error = %e, "worker: step left to the lock holder");
                }
                Err(e) => return Err(e),
            }
            let done = ctx.ran(&m.description);
            if done.items > 0 {
                tracing::info!(version = %version, items = done.items, owner = %self.owner, "worker: took part in a data migration");
            }
            ran.push(done);
        }
        Ok(ran)
    }

    fn context(
        &self,
        version: &Version,
        below: Option<Version>,
        direction: Direction,
        dry_run: bool,
        worker: bool,
        fence: Option<Arc<lease::Fence>>,
    ) -> Context {
        // A read-only table has a client of its own: built only for a dry run.
        let table = if dry_run { self.table.read_only() } else { self.table.clone() };
        Context {
            engine: if dry_run && !worker { table.clone() } else { self.table.clone() },
            table,
            version: version.clone(),
            below,
            dry_run,
            worker,
            direction,
            fence,
            owner: self.owner.clone(),
            lease: self.lease,
            items: Arc::default(),
            total: Arc::default(),
            verified: Arc::default(),
            skipped: Arc::default(),
            milli_units: Arc::default(),
            transformed: Arc::default(),
        }
    }

    async fn run_up_once(&self, to: Option<&str>, retry: bool) -> Result<Vec<Ran>, Error> {
        let target = to.map(Version::parse).transpose()?;
        let status = self.status().await?;
        if !status.edited.is_empty() {
            return Err(ErrorKind::Edited {
                versions: status.edited.iter().map(ToString::to_string).collect(),
            }
            .into());
        }
        if let (Some(failed), false) = (&status.failed, retry) {
            let error = failed.error.clone().unwrap_or_else(|| "no error recorded".into());
            return Err(ErrorKind::Blocked { version: failed.version.to_string(), error }.into());
        }
        let plan: Vec<&Migration> = self
            .check_versions()?
            .into_iter()
            .filter(|(_, v)| status.outstanding.contains(v) && target.as_ref().is_none_or(|t| v <= t))
            .map(|(m, _)| m)
            .collect();
        self.run(plan, Direction::Up).await
    }

    /// Undoes the last `steps` applied migrations, newest first.
    pub async fn down(&self, steps: usize) -> Result<Vec<Ran>, Error> {
        self.run_down(steps).await
    }

    /// Undoes the applied migrations above version `to`, newest first, so that `to`
    /// is the current version afterwards.
    pub async fn down_to(&self, to: &str) -> Result<Vec<Ran>, Error> {
        let to = Version::parse(to)?;
        let steps = self
            .status()
            .await?
            .applied
            .iter()
            .filter(|r| r.outcome == Outcome::Applied && r.version > to)
            .count();
        self.run_down(steps).await
    }

    async fn run_down(&self, steps: usize) -> Result<Vec<Ran>, Error> {
        let status = self.status().await?;
        let migrations = self.check_versions()?;
        let mut plan = Vec::new();
        for record in status.applied.iter().rev().filter(|r| r.outcome == Outcome::Applied).take(steps) {
            let Some((m, _)) = migrations.iter().find(|(_, v)| *v == record.version) else {
                return Err(ErrorKind::UnknownVersion { version: record.version.to_string() }.into());
            };
            if m.down.is_none() {
                return Err(ErrorKind::Irreversible { version: record.version.to_string() }.into());
            }
            plan.push(*m);
        }
        self.run(plan, Direction::Down).await
    }

    /// Undoes and re-applies the latest applied migration (in a dry run, reports both
    /// steps).
    pub async fn repeat(&self) -> Result<Vec<Ran>, Error> {
        let status = self.status().await?;
        let Some(last) = status.applied.iter().rev().find(|r| r.outcome == Outcome::Applied) else {
            return Ok(Vec::new());
        };
        let Some(migration) = self.migrations.iter().find(|m| m.version.as_ref() == Ok(&last.version)) else {
            return Err(ErrorKind::UnknownVersion { version: last.version.to_string() }.into());
        };
        if migration.down.is_none() {
            return Err(ErrorKind::Irreversible { version: last.version.to_string() }.into());
        }
        let mut steps = self.run(vec![migration], Direction::Down).await?;
        if self.dry_run {
            // The history is as it was: show the step up as it would run.
            steps.extend(self.run(vec![migration], Direction::Up).await?);
        } else {
            // From the history again, under the lock: another migrator may have
            // applied it between the two steps.
            steps.extend(self.run_up(Some(&last.version.to_string()), false).await?);
        }
        Ok(steps)
    }

    /// Undoes every applied migration. Development only: refuses unless `confirmed`.
    pub async fn reset(&self, confirmed: bool) -> Result<Vec<Ran>, Error> {
        if !confirmed {
            return Err(migration_error("*", "reset undoes every migration: confirm it explicitly (--yes)"));
        }
        self.down(usize::MAX).await
    }

    /// Marks a failed migration as applied after it was fixed by hand, or records
    /// the checksum of an applied migration edited on purpose (a comment, a fix that
    /// changes nothing already done).
    pub async fn repair(&self, version: &str) -> Result<(), Error> {
        let version = Version::parse(version)?;
        let status = self.status().await?;
        let edited = status.edited.contains(&version);
        let record = match status.failed.filter(|r| r.version == version) {
            Some(failed) => Some(failed),
            None if edited => {
                status.applied.into_iter().find(|r| r.version == version && r.outcome == Outcome::Applied)
            }
            None => None,
        };
        let Some(mut record) = record else {
            return Err(migration_error(&version, "it is neither failed nor edited: nothing to repair"));
        };
        if let Some(m) = self.migrations.iter().find(|m| m.version.as_ref() == Ok(&version)) {
            record.checksum = m.checksum();
        }
        record.outcome = Outcome::Applied;
        record.error = None;
        if self.dry_run {
            return Ok(());
        }
        record.save(&self.table, None).await
    }

    async fn run(&self, plan: Vec<&Migration>, direction: Direction) -> Result<Vec<Ran>, Error> {
        let dry_run = self.dry_run;
        // The lock lives in the table: until a first migration has created it, there
        // is nothing to lock.
        let mut lock = None;
        if !dry_run && !plan.is_empty() && self.table.exists().await? {
            lock = Some(lock::Lock::acquire(&self.table, &self.owner, self.lease).await?);
        }
        // Going down, items return to the design of the applied version below.
        let mut applied: Vec<Version> = history::load(&self.table)
            .await?
            .into_iter()
            .filter(|r| r.outcome == Outcome::Applied)
            .map(|r| r.version)
            .collect();
        let mut done = Vec::new();
        let mut result = Ok(());
        for m in plan {
            let version = m.version.clone().map_err(|v| migration_error(v, "bad version"))?;
            let below = applied.iter().filter(|v| **v < version).max().cloned();
            let mut ctx = self.context(
                &version,
                below.clone(),
                direction,
                dry_run,
                false,
                lock.as_ref().map(lock::Lock::fence),
            );
            let step = match direction {
                Direction::Up => m.up.clone(),
                Direction::Down => m.down.clone(),
            };
            let started = Instant::now();
            tracing::info!(version = %version, %direction, dry_run, description = %m.description, "migration");
            let mut outcome = match &step {
                Some(step) => step(ctx.clone()).await,
                None => Ok(()),
            };
            let mut ran = ctx.ran(&m.description);
            if dry_run {
                outcome?;
                self.report(&ran);
                done.push(ran);
                continue;
            }
            outcome = match outcome {
                // Another migrator holds the lock now: record nothing, release nothing.
                Err(e) if e.is_lock_lost() || ctx.check_lock().is_err() => {
                    tracing::error!(version = %version, error = %e, "migration lock lost: stopping");
                    return Err(e);
                }
                outcome => outcome,
            };
            let exists = self.table.exists().await?;
            if lock.is_none() && exists {
                let acquired = lock::Lock::acquire(&self.table, &self.owner, self.lease).await?;
                // The table did not exist when this run began, so no lock kept another
                // migrator away meanwhile: if it applied this migration, start over
                // from the history (as when its lock is found held).
                let history = history::load(&self.table).await?;
                if history.iter().any(|r| r.version == version && r.outcome == Outcome::Applied) {
                    acquired.release().await?;
                    return Err(ErrorKind::Locked {
                        owner: format!("another migrator, which applied {version} meanwhile"),
                        expires: "now".into(),
                    }
                    .into());
                }
                // A step that failed before any lock could be held (replicas of a new
                // environment all creating its table, say) runs again under the lock
                // before its failure is recorded: the other migrator may have done it.
                if let (Err(e), Some(step)) = (&outcome, &step) {
                    tracing::info!(version = %version, error = %e, "failed before the table had a lock: running it again under the lock");
                    ctx = self.context(&version, below, direction, false, false, Some(acquired.fence()));
                    outcome = step(ctx.clone()).await;
                    ran = ctx.ran(&m.description);
                }
                lock = Some(acquired);
            }
            let fence = match (&lock, exists) {
                (Some(lock), true) => lock.fence(),
                _ => {
                    // A down step removed the table, and its history with it.
                    outcome?;
                    self.report(&ran);
                    done.push(ran);
                    continue;
                }
            };
            let path = m.file.unwrap_or("memory");
            let mut record =
                history::Record::new(&self.table, version.clone(), &m.description, &m.checksum(), path);
            record.duration_ms = started.elapsed().as_millis() as u64;
            // Every worker's items, when data migrations were shared.
            record.items = ran.items.max(ctx.total.load(Ordering::Relaxed));
            record.verified = ran.verified;
            record.skipped = ran.skipped.clone();
            match outcome {
                Ok(()) => {
                    match direction {
                        Direction::Up => {
                            record.outcome = Outcome::Applied;
                            record.save(&self.table, Some(&fence)).await?;
                            applied.push(version.clone());
                        }
                        Direction::Down => {
                            for r in
                                history::load(&self.table).await?.into_iter().filter(|r| r.version == version)
                            {
                                r.delete(&self.table, &fence).await?;
                            }
                            applied.retain(|v| *v != version);
                        }
                    }
                    transform::clear_checkpoints(&self.table, &version, &fence).await?;
                    tracing::info!(version = %version, %direction, items = ran.items, verified = ran.verified, "migration done");
                    self.report(&ran);
                    done.push(ran);
                }
                Err(e) => {
                    record.outcome = Outcome::Failed;
                    record.error = Some(format!("{direction}: {e}"));
                    record.save(&self.table, Some(&fence)).await?;
                    let direction = direction.label();
                    result =
                        Err(ErrorKind::Failed { version: version.to_string(), direction, source: e }.into());
                    break;
                }
            }
        }
        if let Some(lock) = lock {
            if self.table.exists().await? {
                // The design as this code knows it, for OneTable's tools.
                let fence = lock.fence();
                match self.status().await?.current {
                    Some(current) => schema_item::save(&self.table, &current, &fence).await?,
                    None => schema_item::remove(&self.table, &fence).await?,
                }
                lock.release().await?;
            }
        }
        result.map(|()| done)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_lock_owner_names_this_machine() {
        let host = super::host_name();
        assert!(!host.is_empty() && !host.contains('\n'));
        if let Ok(kernel) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
            assert_eq!(host, kernel.trim());
        }
    }
}
