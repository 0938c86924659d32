//! The migration lock: one lease item (pk `_migration`, sk `_lock`) that keeps two
//! migrators from running migrations at once. Every bookkeeping write a migrator makes
//! (history, `_Schema`, clearing checkpoints, the release) goes through its fence, so
//! one that was paused past its lease records nothing when it wakes (see `lease.rs`).
//!
//! The lock item is never deleted, only released (owner removed), so that its epoch
//! keeps growing across runs.

use super::lease::{self, Fence, Take, Takeover};
use crate::MigrateError;
use onetable_client::Table;
use onetable_core::{AttributeValue, Error, Item};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

pub(crate) fn key(table: &Table) -> Item {
    table.key_from_text(onetable_client::HISTORY_PARTITION, "_lock")
}

/// A held lock; [`Lock::release`] gives it up. Its heartbeat stops when it is dropped.
pub(crate) struct Lock {
    fence: Arc<Fence>,
    heartbeat: tokio::task::JoinHandle<()>,
}

impl Lock {
    /// Takes the lock for `lease`, renewed every third of it, under a new epoch; or
    /// fails with [`MigrateError::Locked`] naming the holder.
    pub(crate) async fn acquire(table: &Table, owner: &str, lease: Duration) -> Result<Lock, Error> {
        let kind = AttributeValue::S("_MigrationLock".into());
        let set = [(table.format().type_field, kind)];
        match lease::take(
            table,
            key(table),
            "the migration lock".into(),
            owner,
            lease,
            Takeover::CreateOrReclaim,
            &set,
        )
        .await?
        {
            Take::Taken(fence, _) => {
                tracing::info!(owner, epoch = fence.epoch(), "migration lock acquired");
                let heartbeat = lease::heartbeat(fence.clone(), lease);
                Ok(Lock { fence, heartbeat })
            }
            Take::Refused(holder) => Err(locked(holder.unwrap_or_default())),
        }
    }

    /// The fence every bookkeeping write of this run goes through.
    pub(crate) fn fence(&self) -> Arc<Fence> {
        self.fence.clone()
    }

    /// Gives the lock up, only if this owner and epoch still hold it: a lock lost to
    /// another migrator is an error.
    pub(crate) async fn release(self) -> Result<(), Error> {
        self.heartbeat.abort();
        self.fence.release(&[]).await
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        self.heartbeat.abort();
    }
}

/// The error for a lock another migrator holds: who, and until when.
fn locked(holder: Item) -> Error {
    let text = |n: &str| holder.get(n).and_then(|v| v.as_s().or(v.as_n()).ok()).cloned().unwrap_or_default();
    let until = text("expires").parse::<i64>().map(|ms| {
        let t = UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64);
        match onetable_core::Format::ONETABLE.with_iso_dates(true).date(t) {
            AttributeValue::S(s) => s,
            _ => ms.to_string(),
        }
    });
    MigrateError::Locked { owner: text("owner"), expires: until.unwrap_or_default() }.into()
}
