//! The scan segments of a data migration as leases in the table, so that several
//! processes (or hosts) share one migration: one item per segment (pk `_migration`,
//! sk `_checkpoint:<version>:<direction>:<transform>:<segment>/<segments>`) with its
//! owner, lease expiry and epoch, and its checkpoint (where its scan stands, items
//! done). A worker takes a segment that has no owner or whose lease ran out, so the
//! segments of a dead or stalled worker are taken over; every checkpoint is written
//! under the segment's fence, so a stalled worker that wakes cannot move a cursor.

use super::lease::{self, Fence, Take, Takeover, BOOKKEEPING};
use crate::{Direction, MigrateError};
use onetable_client::raw::{Call, Write};
use onetable_client::{Table, HISTORY_PARTITION};
use onetable_core::expr::Placeholders;
use onetable_core::{AttributeValue, Error, Item, Version};
use std::sync::Arc;
use std::time::Duration;

/// The segments of one transform of one migration run.
pub(crate) struct Segments {
    table: Table,
    prefix: String,
    total: u32,
    /// The migration's version, to name it in errors.
    version: String,
}

/// A segment this process holds.
pub(crate) struct Held {
    pub index: u32,
    pub fence: Arc<Fence>,
    /// The segment item as taken: its checkpoint.
    pub item: Item,
    heartbeat: tokio::task::JoinHandle<()>,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.heartbeat.abort();
    }
}

fn number(item: &Item, name: &str) -> u64 {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok()).unwrap_or(0)
}

pub(crate) fn is_done(item: &Item) -> bool {
    item.get("done") == Some(&AttributeValue::Bool(true))
}

impl Segments {
    pub(crate) fn new(
        table: &Table,
        version: &Version,
        direction: Direction,
        name: &str,
        total: u32,
    ) -> Self {
        Segments {
            table: table.clone(),
            prefix: format!("_checkpoint:{version}:{}:{name}:", direction.label()),
            total,
            version: version.to_string(),
        }
    }

    fn key(&self, index: u32) -> Item {
        self.table.key_from_text(HISTORY_PARTITION, &format!("{}{index}/{}", self.prefix, self.total))
    }

    fn index(&self, item: &Item) -> Option<u32> {
        let sort = self.table.key_attributes().1?;
        let sk = item.get(sort)?.as_s().ok()?;
        let (index, total) = sk.strip_prefix(&self.prefix)?.split_once('/')?;
        (total.parse::<u32>().ok()? == self.total).then(|| index.parse().ok())?
    }

    /// Every segment item of this transform (none before the migration started it).
    pub(crate) async fn list(&self) -> Result<Vec<Item>, Error> {
        let items = super::history::bookkeeping(&self.table, &self.prefix).await?;
        Ok(items.into_iter().filter(|i| self.index(i).is_some()).collect())
    }

    /// Creates the segment items that do not exist yet (the migrator that holds the
    /// lock does, when the transform starts; a resumed run finds them).
    pub(crate) async fn create(&self, fence: Option<&Fence>, checksum: &str) -> Result<(), Error> {
        let listed = self.list().await?;
        self.check_checksum(&listed, checksum)?;
        let existing: Vec<u32> = listed.iter().filter_map(|i| self.index(i)).collect();
        for index in (0..self.total).filter(|i| !existing.contains(i)) {
            if let Some(fence) = fence {
                fence.check()?;
            }
            let mut item = self.key(index);
            item.insert(
                self.table.format().type_field.to_owned(),
                AttributeValue::S("_MigrationCheckpoint".into()),
            );
            item.insert("items".into(), AttributeValue::N("0".into()));
            item.insert("checksum".into(), AttributeValue::S(checksum.to_owned()));
            // Created once: a resumed run, or another migrator, may have made it.
            let mut p = Placeholders::new();
            let absent = format!("attribute_not_exists({})", p.name(self.table.key_attributes().0));
            let write = Write::put(BOOKKEEPING, item).condition(absent).placeholders(p);
            self.table.raw().write(&Call::new("migration segments", BOOKKEEPING), write).await?;
        }
        Ok(())
    }

    /// Takes a segment that is not done and has no live owner, if there is one.
    pub(crate) async fn take(
        &self,
        owner: &str,
        lease: Duration,
        checksum: &str,
    ) -> Result<Option<Held>, Error> {
        let listed = self.list().await?;
        self.check_checksum(&listed, checksum)?;
        let mut free: Vec<(u32, Item)> = listed
            .into_iter()
            .filter(|i| !is_done(i))
            .filter(|i| i.get("owner").is_none() || number(i, "expires") < lease::now_ms() as u64)
            .filter_map(|i| self.index(&i).map(|index| (index, i)))
            .collect();
        // Workers starting together do not all race for the same segment.
        fastrand::shuffle(&mut free);
        // Each take under a name of its own: two tasks of one process never take one
        // segment, and a take whose response was lost takes it again.
        let suffix: String = std::iter::repeat_with(fastrand::alphanumeric).take(6).collect();
        let owner = format!("{owner}/{suffix}");
        for (index, _) in free {
            let what = format!("segment {index}/{} of {}", self.total, self.prefix.trim_end_matches(':'));
            match lease::take(&self.table, self.key(index), what, &owner, lease, Takeover::ExistingOnly, &[])
                .await?
            {
                Take::Taken(fence, item) => {
                    let heartbeat = lease::heartbeat(fence.clone(), lease);
                    return Ok(Some(Held { index, fence, item, heartbeat }));
                }
                Take::Refused(_) => continue,
            }
        }
        Ok(None)
    }

    /// Refuses segments begun by other code of the migration (it was edited since):
    /// resuming would mix two transforms.
    fn check_checksum(&self, listed: &[Item], checksum: &str) -> Result<(), Error> {
        let recorded = listed
            .iter()
            .filter_map(|i| i.get("checksum"))
            .filter_map(|v| v.as_s().ok())
            .find(|c| *c != checksum);
        match recorded {
            Some(recorded) => Err(MigrateError::ChecksumChanged {
                version: self.version.clone(),
                recorded: recorded.clone(),
                running: checksum.to_owned(),
            }
            .into()),
            None => Ok(()),
        }
    }

    /// How many segments run now, over every worker: not done, with a live owner.
    pub(crate) async fn running(&self) -> Result<u32, Error> {
        let now = lease::now_ms() as u64;
        let listed = self.list().await?;
        let running =
            listed.iter().filter(|i| !is_done(i) && i.get("owner").is_some() && number(i, "expires") >= now);
        Ok(running.count() as u32)
    }

    /// True when every segment is done, and the items they migrated.
    pub(crate) async fn progress(&self) -> Result<(bool, u64), Error> {
        let items = self.list().await?;
        let done = items.len() == self.total as usize && items.iter().all(is_done);
        Ok((done, items.iter().map(|i| number(i, "items")).sum()))
    }
}
