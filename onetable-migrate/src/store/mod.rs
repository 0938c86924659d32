//! Where the migration engine keeps its state, in the table itself: the history
//! (OneTable's `_Migration` items), the lock, the segments of data migrations with
//! their checkpoints, and the `_Schema` item. One interface, so that the runner reads
//! as orchestration (as sqlx's `Migrate` trait keeps a database's bookkeeping apart).
//! Every write made under the lock goes through its [`Fence`].

mod history;
mod lease;
mod lock;
mod segments;

pub use history::{Outcome, Record};
pub(crate) use lease::{Fence, BOOKKEEPING};
pub(crate) use lock::Lock;
pub(crate) use segments::{Held, Segments};

use crate::Direction;
use onetable_client::raw::Write;
use onetable_client::Table;
use onetable_core::{Error, Version};
use std::time::Duration;

/// The engine's state in one table.
#[derive(Clone)]
pub(crate) struct Store {
    table: Table,
}

impl Store {
    pub(crate) fn new(table: &Table) -> Store {
        Store { table: table.clone() }
    }

    /// True when the table exists (the first migration usually creates it).
    pub(crate) async fn exists(&self) -> Result<bool, Error> {
        self.table.exists().await
    }

    /// Every recorded migration, oldest version first (a version run twice: its latest
    /// record).
    pub(crate) async fn history(&self) -> Result<Vec<Record>, Error> {
        history::load(&self.table).await
    }

    /// The versions applied, in history order.
    pub(crate) async fn applied(&self) -> Result<Vec<Version>, Error> {
        Ok(self
            .history()
            .await?
            .into_iter()
            .filter(|r| r.outcome == Outcome::Applied)
            .map(|r| r.version)
            .collect())
    }

    /// Takes the migration lock, or fails naming its holder.
    pub(crate) async fn lock(&self, owner: &str, lease: Duration) -> Result<Lock, Error> {
        Lock::acquire(&self.table, owner, lease).await
    }

    /// A new history record of this table's format.
    pub(crate) fn new_record(
        &self,
        version: Version,
        description: &str,
        checksum: &str,
        path: &str,
    ) -> Record {
        Record::new(&self.table, version, description, checksum, path)
    }

    /// Writes a record; under the lock, only while it is held.
    pub(crate) async fn record(&self, record: &Record, fence: Option<&Fence>) -> Result<(), Error> {
        record.save(&self.table, fence).await
    }

    /// Removes every record of `version` (it was undone).
    pub(crate) async fn forget(&self, version: &Version, fence: &Fence) -> Result<(), Error> {
        for record in self.history_of(version).await? {
            record.delete(&self.table, fence).await?;
        }
        Ok(())
    }

    async fn history_of(&self, version: &Version) -> Result<Vec<Record>, Error> {
        let items = history::bookkeeping(&self.table, &format!("{}:{version}:", history::PK)).await?;
        Ok(items
            .iter()
            .filter_map(|i| Record::from_item(&self.table, i))
            .filter(|r| &r.version == version)
            .collect())
    }

    /// The segments of one transform of a migration's run.
    pub(crate) fn segments(
        &self,
        version: &Version,
        direction: Direction,
        transform: &str,
        total: u32,
    ) -> Segments {
        Segments::new(&self.table, version, direction, transform, total)
    }

    /// Removes a migration's checkpoints once it has run (so that it can run again).
    pub(crate) async fn clear_checkpoints(&self, version: &Version, fence: &Fence) -> Result<(), Error> {
        for item in history::bookkeeping(&self.table, &format!("_checkpoint:{version}:")).await? {
            fence.write(Write::delete(BOOKKEEPING, self.table.key_of(&item))).await?;
        }
        Ok(())
    }

    /// Writes the `_Schema` item of the design at `current`, or removes it when no
    /// migration is applied.
    pub(crate) async fn save_schema(&self, current: Option<&Version>, fence: &Fence) -> Result<(), Error> {
        let write = match current {
            Some(version) => Write::put("_Schema", self.table.schema_item(version)),
            None => Write::delete("_Schema", self.table.schema_item_key()),
        };
        fence.write(write).await
    }
}
