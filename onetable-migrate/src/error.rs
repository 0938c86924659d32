//! The migration engine's errors: one variant per cause a caller can act on, carried
//! by the library's [`Error`] (`?` converts), and read back with [`MigrateErrorExt`].

use crate::Direction;
use onetable_core::{Error, ErrorKind};

/// Why a migration failed, or cannot run as asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MigrateError {
    /// Another migrator holds the migration lock.
    #[error("another migrator ({owner}) holds the migration lock until {expires}; wait, or take it over once the lease expires")]
    Locked {
        /// The holder's name.
        owner: String,
        /// When its lease runs out (ISO-8601).
        expires: String,
    },
    /// This migrator's lease (on the migration lock, or on a segment of a data
    /// migration shared by several workers) ran out and another process took it (a
    /// newer epoch): it stopped, wrote nothing more and recorded nothing.
    #[error("{lease} was lost (held as {owner} under epoch {epoch}): another process took it over, so this one stopped and recorded nothing")]
    LockLost {
        /// Which lease: the migration lock, or a data migration's segment.
        lease: String,
        /// The name this migrator held it under.
        owner: String,
        /// The epoch it held; the lease is now under a newer one.
        epoch: u64,
    },
    /// Applied migrations whose code changed since they ran (their checksum no longer
    /// matches the history): nothing runs until they are restored or the history is
    /// repaired.
    #[error("migration {} edited after it was applied (its checksum changed): restore it, or record the new checksum with `repair`", versions.join(", "))]
    Edited {
        /// The edited migrations' versions.
        versions: Vec<String>,
    },
    /// A migration step failed: it is recorded as failed, and `up` waits for `retry`
    /// or `repair`. The step's own error is the source, with its kind.
    #[error("migration {version} {direction} failed: {source}")]
    Failed {
        /// The migration's version.
        version: String,
        /// Which way it ran.
        direction: Direction,
        /// What the step returned.
        source: Error,
    },
    /// A migration recorded as failed: nothing runs until it is retried or repaired.
    #[error("migration {version} failed ({error}); fix it, then retry it (`retry`) or mark it repaired (`repair`)")]
    Blocked {
        /// The failed migration's version.
        version: String,
        /// The error recorded with it.
        error: String,
    },
    /// Undoing a migration that has no down step.
    #[error("migration {version} is irreversible: it has no down step")]
    Irreversible {
        /// The migration's version.
        version: String,
    },
    /// A migration in the table's history that the migrator does not know (its code is
    /// older than the table's design).
    #[error("migration {version} is in the history but not in this migrator")]
    UnknownVersion {
        /// The migration's version.
        version: String,
    },
    /// Two migrations of one migrator have the same version.
    #[error("two migrations have the version {version}")]
    DuplicateVersion {
        /// The version.
        version: String,
    },
    /// A destructive command that needs an explicit confirmation.
    #[error("{command} {what}: confirm it explicitly (--yes)")]
    MustConfirm {
        /// The command (`reset`).
        command: &'static str,
        /// What it would do.
        what: &'static str,
    },
    /// `repair` of a migration that is neither failed nor edited.
    #[error("migration {version} is neither failed nor edited: nothing to repair")]
    NothingToRepair {
        /// The migration's version.
        version: String,
    },
    /// One migration transforms one entity twice: the design marker would say its
    /// items are migrated after the first transform.
    #[error("migration {version} transforms {entity} twice: one transform per entity per migration (split it into two migrations)")]
    TransformedTwice {
        /// The migration's version.
        version: String,
        /// The entity.
        entity: &'static str,
    },
    /// An item that does not read as the entity a data migration transforms.
    #[error("migration {version}: the {entity} item {key} does not read as {entity}: {source} (fix the item or the entity, or skip such items; nothing of it was written)")]
    Unreadable {
        /// The migration's version.
        version: String,
        /// The entity.
        entity: &'static str,
        /// The item's key, as text.
        key: String,
        /// Why it does not read.
        source: Error,
    },
    /// An item whose rewrite kept conflicting with other writes.
    #[error(
        "migration {version}: the {entity} item {key} was still throttled or in conflict after {tries} tries"
    )]
    Stuck {
        /// The migration's version.
        version: String,
        /// The entity.
        entity: &'static str,
        /// The item's key, as text.
        key: String,
        /// The attempts made.
        tries: u32,
    },
    /// A transform's designs cannot tell a converted item from one to convert: the
    /// entity it writes declares a design newer than the migration, or one no newer
    /// than the entity it reads.
    #[error("migration {version} reads {entity} items of design {} and writes design {}: the design written must be newer than the one read, and not newer than the migration; declare #[entity(design = \"{version}\")] on the entity the migration writes", from.as_deref().unwrap_or("(none)"), to.as_deref().unwrap_or("(none)"))]
    DesignMismatch {
        /// The migration's version.
        version: String,
        /// The entity.
        entity: &'static str,
        /// The design of the entity the transform reads.
        from: Option<String>,
        /// The design of the entity it writes.
        to: Option<String>,
    },
    /// A data migration on a global table with eventually consistent replicas, and
    /// no confirmation that every writer writes in one region: nothing was written.
    #[error("migration {version}: table {table} has replicas in {} and is eventually consistent across regions; a migration's conditional writes and leases hold within one region only. If every writer (the application and the migrators) writes in one region, confirm it with Migrator::writers_in_one_region(true); otherwise stop the writers in the other regions first", replicas.join(", "))]
    MultiRegion {
        /// The migration's version.
        version: String,
        /// The table.
        table: String,
        /// The regions of its replicas.
        replicas: Vec<String>,
    },
    /// The plan of a data migration found re-key collisions or unique conflicts, and
    /// the migration was not told what to do with them: nothing was written.
    #[error("migration {version}: {} of {entity}'s items would collide or conflict ({}); nothing was written: fix them, or choose with .on_conflict(..) to leave those items as they are or stop at the first", conflicts.len(), conflicts.iter().take(5).cloned().collect::<Vec<_>>().join("; "))]
    Conflicts {
        /// The migration's version.
        version: String,
        /// The entity.
        entity: &'static str,
        /// Each collision or conflict, naming the keys and values at fault.
        conflicts: Vec<String>,
    },
    /// A re-key found the new key of an item taken by another item: nothing was
    /// written, nothing deleted.
    #[error("migration {version}: the {entity} item {key} cannot move to {new_key}, which another item holds; nothing was written")]
    Collision {
        /// The migration's version.
        version: String,
        /// The entity.
        entity: &'static str,
        /// The item's key, as text.
        key: String,
        /// The key it would move to, as text.
        new_key: String,
    },
    /// The new form of an item holds a unique value another item holds.
    #[error("migration {version}: the {entity} item {key} would take {field} = {value:?}, which another item holds; nothing was written")]
    UniqueConflict {
        /// The migration's version.
        version: String,
        /// The entity.
        entity: &'static str,
        /// The item's key, as text.
        key: String,
        /// The unique field.
        field: &'static str,
        /// The value.
        value: String,
    },
    /// A data migration ended with items still in the old form (written in that form
    /// faster than the final passes took them, or in contention): recorded as
    /// incomplete, not applied, and resumed by the next `up`.
    #[error("migration {version}: {left} {entity} items are still in the old form after {passes} final passes (old-form writes continue, or the items are in contention): recorded as incomplete; `up` resumes it{}", if keys.is_empty() { String::new() } else { format!(" (first: {})", keys.join("; ")) })]
    Incomplete {
        /// The migration's version.
        version: String,
        /// The entity.
        entity: &'static str,
        /// How many items are still in the old form.
        left: u64,
        /// The final passes made.
        passes: u32,
        /// The keys of the first of them.
        keys: Vec<String>,
    },
    /// A migration's code changed while a run of it was under way: resuming would mix
    /// two transforms.
    #[error("migration {version} changed since its run began (checksum {recorded}, now {running}): resuming would mix two transforms; restore it, or undo the run with `down`")]
    ChecksumChanged {
        /// The migration's version.
        version: String,
        /// The checksum the run began with.
        recorded: String,
        /// The checksum of the code now.
        running: String,
    },
    /// The migrations directory, needed to write a migration file, is not known.
    #[error("the migrations directory is not known here: give it (--dir src/migrations)")]
    NoDirectory,
    /// A migration file could not be written or registered.
    #[error("migration {version}: {message}")]
    File {
        /// The version of the migration being generated.
        version: String,
        /// What went wrong.
        message: String,
    },
}

impl From<MigrateError> for Error {
    fn from(e: MigrateError) -> Error {
        ErrorKind::Migrate(Box::new(e)).into()
    }
}

/// Reads the migration engine's errors out of the library's [`Error`]: `use
/// onetable::migrate::MigrateErrorExt` (or the prelude) and branch with `is_*`.
pub trait MigrateErrorExt {
    /// The migration engine's error, if this is one.
    fn migrate(&self) -> Option<&MigrateError>;

    /// True when another migrator holds the migration lock.
    fn is_locked(&self) -> bool {
        matches!(self.migrate(), Some(MigrateError::Locked { .. }))
    }

    /// True when a migrator lost its lease to another process and stopped (see
    /// [`MigrateError::LockLost`]).
    fn is_lock_lost(&self) -> bool {
        matches!(self.migrate(), Some(MigrateError::LockLost { .. }))
    }

    /// True when applied migrations were edited after they ran.
    fn is_edited(&self) -> bool {
        matches!(self.migrate(), Some(MigrateError::Edited { .. }))
    }

    /// True for a migration step that failed just now (see [`MigrateError::Failed`]).
    fn is_failed(&self) -> bool {
        matches!(self.migrate(), Some(MigrateError::Failed { .. }))
    }

    /// True when a migration recorded as failed keeps `up` from running.
    fn is_blocked(&self) -> bool {
        matches!(self.migrate(), Some(MigrateError::Blocked { .. }))
    }

    /// True for undoing a migration that has no down step.
    fn is_irreversible(&self) -> bool {
        matches!(self.migrate(), Some(MigrateError::Irreversible { .. }))
    }

    /// True for a migration in the history that the migrator does not know.
    fn is_unknown_version(&self) -> bool {
        matches!(self.migrate(), Some(MigrateError::UnknownVersion { .. }))
    }

    /// True for a data migration that ended with items still in the old form (see
    /// [`MigrateError::Incomplete`]): not failed, resumed by the next `up`.
    fn is_incomplete(&self) -> bool {
        matches!(self.migrate(), Some(MigrateError::Incomplete { .. }))
    }

    /// True for a data migration refused on a global table with eventually
    /// consistent replicas (see [`MigrateError::MultiRegion`]).
    fn is_multi_region(&self) -> bool {
        matches!(self.cause(), Some(MigrateError::MultiRegion { .. }))
    }

    /// True for a re-key collision or a unique conflict, found by a plan or by the
    /// migration (also as the cause of a failed migration).
    fn is_conflict(&self) -> bool {
        matches!(
            self.cause(),
            Some(
                MigrateError::Conflicts { .. }
                    | MigrateError::Collision { .. }
                    | MigrateError::UniqueConflict { .. }
            )
        )
    }

    /// The migration error at the root of this one: the step's own error when a
    /// migration failed ([`MigrateError::Failed`]).
    fn cause(&self) -> Option<&MigrateError> {
        match self.migrate() {
            Some(MigrateError::Failed { source, .. }) => source.migrate().or(self.migrate()),
            other => other,
        }
    }

    /// True for any error of the migration engine.
    fn is_migration(&self) -> bool {
        self.migrate().is_some()
    }
}

impl MigrateErrorExt for Error {
    fn migrate(&self) -> Option<&MigrateError> {
        self.migrate_error::<MigrateError>()
    }
}
