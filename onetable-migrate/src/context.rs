//! What a migration step is given: the table, the migration, the role this process
//! plays in running it, and one tally of what its data migrations did.

use crate::report::Ran;
use crate::store::Fence;
use crate::{Direction, MigrateError};
use onetable_client::Table;
use onetable_core::{Error, Version};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The part this process plays in a migration's run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// It holds the migration lock and runs the migration: it writes and records.
    Leader,
    /// It takes part in another migrator's run (see
    /// [`Migrator::wait`](crate::Migrator::wait)): its data migrations write their
    /// share of the segments, anything else it would write is refused.
    Worker,
    /// A dry run: it counts what it would do and writes nothing.
    DryRun,
}

/// What a migration's data migrations did, shared by every segment and pass.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    /// Items migrated by this process.
    pub items: AtomicU64,
    /// Items migrated by every worker (the leader counts them).
    pub total: AtomicU64,
    /// Items a final pass found already in the new form.
    pub verified: AtomicU64,
    /// Write units consumed, in thousandths.
    pub milli_units: AtomicU64,
    /// Keys of the items left as they were because they do not read as their entity.
    pub skipped: Mutex<Vec<String>>,
    /// The entities transformed so far (one transform per entity per migration).
    pub transformed: Mutex<Vec<&'static str>>,
    /// Collisions and conflicts left as they are, said in full.
    pub conflicts: Mutex<Vec<String>>,
    /// The plans of a dry run's data migrations.
    pub plans: Mutex<Vec<crate::Plan>>,
}

impl Tally {
    pub(crate) fn skip(&self, key: String) {
        if let Ok(mut skipped) = self.skipped.lock() {
            if !skipped.contains(&key) {
                skipped.push(key);
            }
        }
    }
}

/// What a migration step is given: the table, the migration's version and direction,
/// whether this is a dry run, and a count of the items it processes.
#[derive(Clone)]
pub struct Context {
    /// The table as the step sees it: read-only unless this process is the leader.
    table: Table,
    /// The table data migrations write through: writable in a worker too.
    engine: Table,
    version: Version,
    /// Going down: the applied version below this one, the design items return to
    /// when their entity declares none.
    below: Option<Version>,
    role: Role,
    direction: Direction,
    fence: Option<Arc<Fence>>,
    owner: String,
    lease: Duration,
    checksum: String,
    one_write_region: bool,
    tally: Arc<Tally>,
}

/// How a [`Context`] is made (by the runner).
pub(crate) struct Setup {
    pub table: Table,
    pub version: Version,
    pub below: Option<Version>,
    pub role: Role,
    pub direction: Direction,
    pub fence: Option<Arc<Fence>>,
    pub owner: String,
    pub lease: Duration,
    /// The checksum of the migration running.
    pub checksum: String,
    /// See [`Migrator::writers_in_one_region`](crate::Migrator::writers_in_one_region).
    pub one_write_region: bool,
}

impl Context {
    pub(crate) fn new(setup: Setup) -> Context {
        let Setup { table, version, below, role, direction, fence, owner, lease, checksum, one_write_region } =
            setup;
        // A read-only table has a client of its own: built only when needed.
        let (table, engine) = match role {
            Role::Leader => (table.clone(), table),
            Role::Worker => (table.read_only(), table),
            Role::DryRun => {
                let read_only = table.read_only();
                (read_only.clone(), read_only)
            }
        };
        Context {
            table,
            engine,
            version,
            below,
            role,
            direction,
            fence,
            owner,
            lease,
            checksum,
            one_write_region,
            tally: Arc::default(),
        }
    }

    /// The table being migrated (in a dry run, a read-only view: any write fails).
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// True in a dry run, and in a worker taking part in another migrator's run:
    /// steps count what they would do and write nothing (a worker's data migrations
    /// do their share of the writes).
    pub fn is_dry_run(&self) -> bool {
        self.role != Role::Leader
    }

    /// True in a worker taking part in another migrator's run (see
    /// [`Migrator::wait`](crate::Migrator::wait)).
    pub fn is_worker(&self) -> bool {
        self.role == Role::Worker
    }

    /// The part this process plays in the run.
    pub fn role(&self) -> Role {
        self.role
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
        self.tally.items.fetch_add(items, Ordering::Relaxed);
    }

    /// Fails with [`MigrateErrorExt::is_lock_lost`](crate::MigrateErrorExt::is_lock_lost)
    /// once this migrator's lease on the lock is lost: a step that writes by itself
    /// calls it before each write.
    pub fn check_lock(&self) -> Result<(), Error> {
        self.fence.as_deref().map_or(Ok(()), Fence::check)
    }

    /// The table data migrations write through.
    pub(crate) fn engine(&self) -> &Table {
        &self.engine
    }

    /// Going down: the applied version below this one.
    pub(crate) fn below(&self) -> Option<&Version> {
        self.below.as_ref()
    }

    pub(crate) fn fence(&self) -> Option<&Fence> {
        self.fence.as_deref()
    }

    pub(crate) fn owner(&self) -> &str {
        &self.owner
    }

    pub(crate) fn lease(&self) -> Duration {
        self.lease
    }

    /// The checksum of the migration running: a resumed run checks its segments
    /// were begun by the same code.
    pub(crate) fn checksum(&self) -> String {
        self.checksum.clone()
    }

    pub(crate) fn tally(&self) -> &Tally {
        &self.tally
    }

    /// What the run of this context did.
    pub(crate) fn ran(&self, description: &str) -> Ran {
        let t = &self.tally;
        Ran {
            version: self.version.clone(),
            description: description.to_owned(),
            direction: self.direction,
            items: t.items.load(Ordering::Relaxed),
            verified: t.verified.load(Ordering::Relaxed),
            skipped: t.skipped.lock().map(|s| s.clone()).unwrap_or_default(),
            write_units: t.milli_units.load(Ordering::Relaxed) as f64 / 1000.0,
            worker: self.role == Role::Worker,
            conflicts: t.conflicts.lock().map(|c| c.clone()).unwrap_or_default(),
            plans: t.plans.lock().map(|p| p.clone()).unwrap_or_default(),
        }
    }

    /// Items migrated by every worker, as the leader counted them.
    pub(crate) fn total(&self) -> u64 {
        self.tally.total.load(Ordering::Relaxed)
    }

    /// Refuses a data migration on a global table whose replicas are eventually
    /// consistent, unless the operator confirmed that every writer writes in one
    /// region: the guards of its writes and the fences of its leases are conditions,
    /// and a condition holds within the region it is evaluated in. A table with
    /// strongly consistent replicas (MRSC) evaluates them across regions. A dry run
    /// warns instead, so that its report does not promise a run that will be refused.
    pub(crate) async fn check_regions(&self) -> Result<(), Error> {
        if self.one_write_region {
            return Ok(());
        }
        let description = self.engine.describe().await?;
        let replicas: Vec<String> =
            description.replicas().iter().filter_map(|r| r.region_name().map(str::to_owned)).collect();
        let strong = description.multi_region_consistency().is_some_and(|c| c.as_str() == "STRONG");
        if replicas.is_empty() || strong {
            return Ok(());
        }
        let refused = MigrateError::MultiRegion {
            version: self.version.to_string(),
            table: self.engine.name().to_owned(),
            replicas,
        };
        if self.role == Role::DryRun {
            tracing::warn!(error = %refused, "the data migration would be refused");
            return Ok(());
        }
        Err(refused.into())
    }

    /// Refuses a second transform of one entity in one migration (see
    /// [`Context::transform`]).
    pub(crate) fn claim_entity(&self, entity: &'static str) -> Result<(), Error> {
        let mut seen = self.tally.transformed.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.contains(&entity) {
            return Err(MigrateError::TransformedTwice { version: self.version.to_string(), entity }.into());
        }
        seen.push(entity);
        Ok(())
    }
}
