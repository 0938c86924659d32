//! The migrator: a table and its migrations in version order, and the commands that
//! read where the table stands (`status`, `list`) and change it (`up`, `down`,
//! `repeat`, `reset`, `repair`, `generate`).

use crate::context::Role;
use crate::report::{Listed, Ran, State, Status};
use crate::runner;
use crate::store::{Outcome, Record, Store};
use crate::{Bump, Direction, MigrateError, MigrateErrorExt, Migration, Migrations};
use onetable_client::Table;
use onetable_core::{Error, ErrorKind, Version};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Called as each migration finishes (see [`Migrator::on_each`]).
type Report = Arc<dyn Fn(&Ran) + Send + Sync>;

/// What `up` does about a migration recorded as failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failed {
    /// Refuses to go on until it is retried or repaired.
    Block,
    /// Runs it again (`retry`).
    Retry,
}

/// Runs migrations against a table. See the [crate](crate) documentation.
pub struct Migrator {
    table: Table,
    migrations: Vec<Migration>,
    directory: Option<std::path::PathBuf>,
    owner: String,
    lease: Duration,
    wait: Duration,
    dry_run: bool,
    one_write_region: bool,
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
            one_write_region: false,
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

    /// Confirms that every process writing the table — the application and the
    /// migrators — writes in one region, so that data migrations may run on a global
    /// table whose replicas are eventually consistent. Without it they refuse to
    /// start there ([`MigrateError::MultiRegion`](crate::MigrateError::MultiRegion)):
    /// a conditional write and a lease hold within one region, and a write made in
    /// another region meanwhile replicates over the migration's by last writer wins.
    pub fn writers_in_one_region(mut self, confirmed: bool) -> Self {
        self.one_write_region = confirmed;
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

    /// The table.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// The engine's state in the table.
    pub(crate) fn store(&self) -> Store {
        Store::new(&self.table)
    }

    /// What a run needs of this migrator.
    fn runner(&self) -> runner::Runner<'_> {
        runner::Runner {
            table: &self.table,
            owner: &self.owner,
            lease: self.lease,
            dry_run: self.dry_run,
            one_write_region: self.one_write_region,
            report: self.on_each.as_deref(),
        }
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
        let version = crate::files::next_version(latest, bump);
        let directory = directory.or(self.directory.as_deref()).ok_or(MigrateError::NoDirectory)?;
        crate::files::generate(directory, &version, description)
    }

    pub(crate) fn check_versions(&self) -> Result<Vec<(&Migration, Version)>, Error> {
        let mut out = Vec::new();
        for m in &self.migrations {
            match &m.version {
                Ok(v) => {
                    if out.iter().any(|(_, seen)| seen == v) {
                        return Err(MigrateError::DuplicateVersion { version: v.to_string() }.into());
                    }
                    out.push((m, v.clone()));
                }
                Err(text) => return Err(ErrorKind::InvalidVersion { text: text.clone() }.into()),
            }
        }
        Ok(out)
    }

    /// Where the table stands: applied, outstanding, failed and edited migrations.
    pub async fn status(&self) -> Result<Status, Error> {
        let migrations = self.check_versions()?;
        let applied = self.store().history().await?;
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
                Some(Outcome::Incomplete) => State::Incomplete,
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

    /// Applies the outstanding migrations in order, up to `to` when given.
    ///
    /// When another migrator holds the lock, this waits as long as
    /// [`wait`](Self::wait) allows, then finds the migrations applied (and returns
    /// what it did as a worker meanwhile), or fails with [`Error::is_locked`].
    pub async fn up(&self, to: Option<&str>) -> Result<Vec<Ran>, Error> {
        self.run_up(to, Failed::Block).await
    }

    /// Runs a failed migration again, then the rest, as `up`.
    pub async fn retry(&self, to: Option<&str>) -> Result<Vec<Ran>, Error> {
        self.run_up(to, Failed::Retry).await
    }

    pub(crate) async fn run_up(&self, to: Option<&str>, failed: Failed) -> Result<Vec<Ran>, Error> {
        let dry_run = self.dry_run;
        let deadline = Instant::now() + self.wait;
        let mut joined: Vec<Ran> = Vec::new();
        let mut waiting = false;
        loop {
            match self.run_up_once(to, failed).await {
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
            let ctx = self.runner().context(m, &version, None, Direction::Up, Role::Worker, None);
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

    async fn run_up_once(&self, to: Option<&str>, failed: Failed) -> Result<Vec<Ran>, Error> {
        let target = to.map(Version::parse).transpose()?;
        let status = self.status().await?;
        if !status.edited.is_empty() {
            return Err(MigrateError::Edited {
                versions: status.edited.iter().map(ToString::to_string).collect(),
            }
            .into());
        }
        if let (Some(failed), Failed::Block) = (&status.failed, failed) {
            let error = failed.error.clone().unwrap_or_else(|| "no error recorded".into());
            return Err(MigrateError::Blocked { version: failed.version.to_string(), error }.into());
        }
        let plan: Vec<&Migration> = self
            .check_versions()?
            .into_iter()
            .filter(|(_, v)| status.outstanding.contains(v) && target.as_ref().is_none_or(|t| v <= t))
            .map(|(m, _)| m)
            .collect();
        runner::run(&self.runner(), plan, Direction::Up).await
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
                return Err(MigrateError::UnknownVersion { version: record.version.to_string() }.into());
            };
            if m.down.is_none() {
                return Err(MigrateError::Irreversible { version: record.version.to_string() }.into());
            }
            plan.push(*m);
        }
        runner::run(&self.runner(), plan, Direction::Down).await
    }

    /// Undoes and re-applies the latest applied migration (in a dry run, reports both
    /// steps).
    pub async fn repeat(&self) -> Result<Vec<Ran>, Error> {
        let status = self.status().await?;
        let Some(last) = status.applied.iter().rev().find(|r| r.outcome == Outcome::Applied) else {
            return Ok(Vec::new());
        };
        let Some(migration) = self.migrations.iter().find(|m| m.version.as_ref() == Ok(&last.version)) else {
            return Err(MigrateError::UnknownVersion { version: last.version.to_string() }.into());
        };
        if migration.down.is_none() {
            return Err(MigrateError::Irreversible { version: last.version.to_string() }.into());
        }
        let mut steps = runner::run(&self.runner(), vec![migration], Direction::Down).await?;
        if self.dry_run {
            // The history is as it was: show the step up as it would run.
            steps.extend(runner::run(&self.runner(), vec![migration], Direction::Up).await?);
        } else {
            // From the history again, under the lock: another migrator may have
            // applied it between the two steps.
            steps.extend(self.run_up(Some(&last.version.to_string()), Failed::Block).await?);
        }
        Ok(steps)
    }

    /// Undoes every applied migration. Development only: refuses unless `confirmed`.
    pub async fn reset(&self, confirmed: bool) -> Result<Vec<Ran>, Error> {
        if !confirmed {
            return Err(MigrateError::MustConfirm { command: "reset", what: "undoes every migration" }.into());
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
            return Err(MigrateError::NothingToRepair { version: version.to_string() }.into());
        };
        if let Some(m) = self.migrations.iter().find(|m| m.version.as_ref() == Ok(&version)) {
            record.checksum = m.checksum();
        }
        record.outcome = Outcome::Applied;
        record.error = None;
        if self.dry_run {
            return Ok(());
        }
        self.store().record(&record, None).await
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
