//! Running planned migrations in one direction: lock → step → record, one migration
//! after the other, then the `_Schema` item and the lock's release. Each stage is a
//! function; the state they keep is in the table, behind the [`Store`].

use crate::context::{Context, Role, Setup};
use crate::report::Ran;
use crate::store::{Fence, Lock, Outcome, Store};
use crate::{Direction, MigrateError, MigrateErrorExt, Migration};
use onetable_client::Table;
use onetable_core::{Error, ErrorKind, Version};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a run needs of its migrator.
pub(crate) struct Runner<'m> {
    pub table: &'m Table,
    /// The name the lock is held under, and for how long without a heartbeat.
    pub owner: &'m str,
    pub lease: Duration,
    pub dry_run: bool,
    /// The operator confirmed that every writer writes in one region.
    pub one_write_region: bool,
    /// Told of each migration as it finishes.
    pub report: Option<&'m (dyn Fn(&Ran) + Send + Sync)>,
}

impl Runner<'_> {
    fn store(&self) -> Store {
        Store::new(self.table)
    }

    /// The context of one step of `version`.
    pub(crate) fn context(
        &self,
        migration: &Migration,
        version: &Version,
        below: Option<Version>,
        direction: Direction,
        role: Role,
        fence: Option<Arc<Fence>>,
    ) -> Context {
        Context::new(Setup {
            checksum: migration.checksum(),
            table: self.table.clone(),
            version: version.clone(),
            below,
            role,
            direction,
            fence,
            owner: self.owner.to_owned(),
            lease: self.lease,
            one_write_region: self.one_write_region,
        })
    }
}

/// Runs `plan` (migrations in the order to run them) in `direction`.
pub(crate) async fn run(
    m: &Runner<'_>,
    plan: Vec<&Migration>,
    direction: Direction,
) -> Result<Vec<Ran>, Error> {
    let store = m.store();
    let mut lock = lock(m, &store, !plan.is_empty()).await?;
    let mut done = Vec::new();
    let mut result = Ok(());
    for migration in plan {
        let version =
            migration.version.clone().map_err(|text| Error::from(ErrorKind::InvalidVersion { text }))?;
        // Going down, items return to the design of the applied version below.
        let below = store.applied().await?.into_iter().filter(|v| *v < version).max();
        let stepped = step(m, &store, &mut lock, migration, &version, below, direction).await?;
        match record(&store, stepped, migration, &version, direction).await? {
            Ok(ran) => {
                if let Some(report) = m.report {
                    report(&ran);
                }
                done.push(ran);
            }
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    if let Some(lock) = lock {
        finish(&store, lock).await?;
    }
    result.map(|()| done)
}

/// Takes the lock when there is anything to run and a table to keep it in (until a
/// first migration has created the table, there is nothing to lock); a dry run
/// takes none.
async fn lock(m: &Runner<'_>, store: &Store, anything: bool) -> Result<Option<Lock>, Error> {
    if m.dry_run || !anything || !store.exists().await? {
        return Ok(None);
    }
    store.lock(m.owner, m.lease).await.map(Some)
}

/// What a step came to, before it is recorded.
struct Stepped {
    ran: Ran,
    /// Items migrated by every worker, as the leader counted them.
    total: u64,
    outcome: Result<(), Error>,
    started: Instant,
    /// The fence the record is written under; `None`: nothing to record (a dry run,
    /// or a down step that removed the table and its history with it).
    fence: Option<Arc<Fence>>,
}

/// Runs one migration's step. A step that began before the table existed takes the
/// lock once the table is there, and runs again under it if it failed meanwhile.
async fn step(
    m: &Runner<'_>,
    store: &Store,
    lock: &mut Option<Lock>,
    migration: &Migration,
    version: &Version,
    below: Option<Version>,
    direction: Direction,
) -> Result<Stepped, Error> {
    let role = if m.dry_run { Role::DryRun } else { Role::Leader };
    let step = match direction {
        Direction::Up => migration.up.clone(),
        Direction::Down => migration.down.clone(),
    };
    let run = |ctx: Context| {
        let step = step.clone();
        async move {
            match step {
                Some(step) => step(ctx).await,
                None => Ok(()),
            }
        }
    };
    let started = Instant::now();
    tracing::info!(version = %version, %direction, dry_run = m.dry_run, description = %migration.description, "migration");
    let mut ctx =
        m.context(migration, version, below.clone(), direction, role, lock.as_ref().map(Lock::fence));
    let mut outcome = run(ctx.clone()).await;
    if role == Role::DryRun {
        outcome?;
        return Ok(Stepped {
            ran: ctx.ran(&migration.description),
            total: 0,
            outcome: Ok(()),
            started,
            fence: None,
        });
    }
    if let Err(e) = &outcome {
        // Another migrator holds the lock now: record nothing, release nothing.
        if e.is_lock_lost() || ctx.check_lock().is_err() {
            tracing::error!(version = %version, error = %e, "migration lock lost: stopping");
            return Err(outcome.unwrap_err());
        }
    }
    let exists = store.exists().await?;
    if lock.is_none() && exists {
        let acquired = store.lock(m.owner, m.lease).await?;
        // The table did not exist when this run began, so no lock kept another
        // migrator away meanwhile: if it applied this migration, start over from the
        // history (as when its lock is found held).
        if store.history().await?.iter().any(|r| &r.version == version && r.outcome == Outcome::Applied) {
            acquired.release().await?;
            let owner = format!("another migrator, which applied {version} meanwhile");
            return Err(MigrateError::Locked { owner, expires: "now".into() }.into());
        }
        // A step that failed before any lock could be held (replicas of a new
        // environment all creating its table, say) runs again under the lock before
        // its failure is recorded: the other migrator may have done it.
        if let Err(e) = &outcome {
            tracing::info!(version = %version, error = %e, "failed before the table had a lock: running it again under the lock");
            ctx = m.context(migration, version, below, direction, Role::Leader, Some(acquired.fence()));
            outcome = run(ctx.clone()).await;
        }
        *lock = Some(acquired);
    }
    let fence = lock.as_ref().filter(|_| exists).map(Lock::fence);
    Ok(Stepped { ran: ctx.ran(&migration.description), total: ctx.total(), outcome, started, fence })
}

/// Records a step's outcome in the history, under the lock: applied (or, going
/// down, its records removed) and its checkpoints cleared; or failed, with its error,
/// which is returned as `Ok(Err(..))`. A data migration that ended with items still
/// in the old form is recorded as incomplete (resumed by the next `up`, which it
/// does not block); one stopped by a transient fault (throttling, DynamoDB
/// unavailable) is not recorded at all, and resumes from its checkpoints.
async fn record(
    store: &Store,
    stepped: Stepped,
    migration: &Migration,
    version: &Version,
    direction: Direction,
) -> Result<Result<Ran, Error>, Error> {
    let Stepped { ran, total, outcome, started, fence } = stepped;
    let Some(fence) = fence else {
        // Nothing to record in: a dry run, or a down step that removed the table.
        return outcome.map(|()| Ok(ran));
    };
    let path = migration.file.unwrap_or("memory");
    let mut record = store.new_record(version.clone(), &migration.description, &migration.checksum(), path);
    record.duration_ms = started.elapsed().as_millis() as u64;
    // Every worker's items, when data migrations were shared.
    record.items = ran.items.max(total);
    record.verified = ran.verified;
    record.skipped = ran.skipped.clone();
    match outcome {
        Ok(()) => {
            match direction {
                Direction::Up => {
                    record.outcome = Outcome::Applied;
                    store.record(&record, Some(&fence)).await?;
                }
                Direction::Down => store.forget(version, &fence).await?,
            }
            store.clear_checkpoints(version, &fence).await?;
            tracing::info!(version = %version, %direction, items = ran.items, verified = ran.verified, "migration done");
            Ok(Ok(ran))
        }
        Err(e) if e.is_transient() => {
            tracing::warn!(version = %version, %direction, error = %e, "migration interrupted by a transient fault: nothing recorded, `up` resumes it");
            Ok(Err(e))
        }
        // A data migration refused before it wrote an item: nothing is recorded, and
        // `up` runs the migration again (from its first step, as after a transient
        // fault) once the operator confirms one write region.
        Err(e) if e.is_multi_region() => Ok(Err(e)),
        Err(e) if e.is_incomplete() => {
            record.outcome = Outcome::Incomplete;
            record.error = Some(format!("{direction}: {e}"));
            store.record(&record, Some(&fence)).await?;
            Ok(Err(e))
        }
        Err(e) => {
            record.outcome = Outcome::Failed;
            record.error = Some(format!("{direction}: {e}"));
            store.record(&record, Some(&fence)).await?;
            Ok(Err(MigrateError::Failed { version: version.to_string(), direction, source: e }.into()))
        }
    }
}

/// Writes the `_Schema` item of the design now applied (this code's view of it, for
/// OneTable's tools) and releases the lock.
async fn finish(store: &Store, lock: Lock) -> Result<(), Error> {
    if !store.exists().await? {
        return Ok(());
    }
    let current = store.applied().await?.into_iter().max();
    store.save_schema(current.as_ref(), &lock.fence()).await?;
    lock.release().await
}
