//! The engine of a transform's run: the segments it takes, the pages it reads, the
//! final passes, and each item's migration.

use super::budget::Budget;
use super::change::Kind;
use super::transform::Transform;
use crate::store::{Fence, Held, Segments};
use crate::{Direction, MigrateError, MigrateErrorExt};
use futures_util::{StreamExt, TryStreamExt};
use onetable_client::evolve::rewrite::{self, Known, Written};
use onetable_client::raw::{Call, ScanPage};
use onetable_client::{describe_key, Cursor, Table};
use onetable_core::{AttributeValue, Entity, EntitySchema, Error, Item, Version};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use onetable_client::DESIGN_ATTRIBUTE;

/// Items read a scan page: enough to keep the writes in flight busy, few enough that
/// a replay after a crash costs little.
const PAGE: i32 = 200;

/// How many final passes at most look for items written in the old form behind the
/// scan.
const FINAL_PASSES: u32 = 3;

/// What a run saw, over every segment and pass.
#[derive(Default)]
pub(super) struct Counts {
    pub(super) migrated: AtomicU64,
    pub(super) verified: AtomicU64,
    /// Write units consumed, in thousandths.
    pub(super) milli_units: AtomicU64,
    /// Items migrated by every worker (the migrator holding the lock counts them).
    pub(super) total: AtomicU64,
}

/// One item's fate.
pub(super) enum Fate {
    Migrated,
    /// Already in the form this migration writes.
    Current,
    /// Gone, not this entity any more, or left as it is by the transform.
    Left,
}

pub(super) fn same_keys(a: &EntitySchema, b: &EntitySchema) -> bool {
    let templates = |s: &EntitySchema| -> Vec<(&str, &str)> {
        s.primary().key_attributes().map(|k| (k.attribute, k.template.source)).collect()
    };
    templates(a) == templates(b)
}

/// One run of a transform: the job and what it shares between segments.
pub(super) struct Run<Old, New> {
    pub(super) job: Transform<Old, New>,
    pub(super) known: Known,
    /// The key templates change: an item is due while its key has the old form.
    pub(super) rekey: bool,
    pub(super) counts: Counts,
    pub(super) segments: Segments,
    /// What its writes are, for metrics: the migration's, of entity `Old`.
    pub(super) call: Call,
}

impl<Old: Entity, New: Entity> Run<Old, New> {
    /// The table the migration writes through (see `Context::engine`).
    fn engine(&self) -> &Table {
        self.job.ctx.engine()
    }

    fn fence(&self) -> Option<&Fence> {
        self.job.ctx.fence()
    }

    fn check_fence(&self) -> Result<(), Error> {
        self.fence().map_or(Ok(()), Fence::check)
    }

    /// The migration lock's fence and, when a segment is held, the segment's.
    fn check_leases(&self, segment: Option<&Fence>) -> Result<(), Error> {
        self.check_fence()?;
        segment.map_or(Ok(()), Fence::check)
    }

    /// A dry run of the migrator holding the lock: items are counted, not written.
    fn counting(&self) -> bool {
        self.job.ctx.role() == crate::Role::DryRun
    }

    /// The design marker this run writes: the migration's version going up, the
    /// version below it going down (none: the marker is removed).
    fn target(&self) -> Option<&Version> {
        match self.job.ctx.direction() {
            Direction::Up => Some(self.job.ctx.version()),
            Direction::Down => self.job.ctx.below(),
        }
    }

    /// True when the item is still to be migrated by this run.
    fn due(&self, item: &Item) -> bool {
        if self.rekey {
            return Old::SCHEMA.primary().key_attributes().all(
                |k| matches!(item.get(k.attribute), Some(AttributeValue::S(v)) if k.template.matches(v)),
            );
        }
        let marker = match item.get(DESIGN_ATTRIBUTE) {
            Some(AttributeValue::S(v)) => Version::parse(v).ok(),
            _ => None,
        };
        let version = self.job.ctx.version();
        match self.job.ctx.direction() {
            Direction::Up => marker.as_ref().is_none_or(|m| m < version),
            Direction::Down => marker.as_ref().is_some_and(|m| m >= version),
        }
    }

    pub(super) async fn all(
        self: &Arc<Self>,
        progress: &Arc<super::progress::Progress>,
    ) -> Result<(), Error> {
        let ctx = &self.job.ctx;
        if self.counting() {
            // Counting only: every segment read once, nothing written.
            let segments = (0..self.job.segments).map(|segment| self.pass(segment, progress));
            futures_util::future::try_join_all(segments).await?;
            return Ok(());
        }
        if ctx.is_worker() {
            // Taking part in another migrator's run: only once it has started.
            if self.segments.list().await?.is_empty() {
                return Ok(());
            }
        } else {
            self.segments.create(self.fence()).await?;
        }
        let parallel = self.job.parallel.unwrap_or(self.job.segments).min(self.job.segments);
        loop {
            let workers = (0..parallel).map(|_| {
                let (this, progress) = (self.clone(), progress.clone());
                async move { this.take_segments(&progress).await }
            });
            futures_util::future::try_join_all(workers).await?;
            if ctx.is_worker() {
                return Ok(());
            }
            // What other workers hold: wait for it, or take it over once their lease
            // runs out.
            let (done, items) = self.segments.progress().await?;
            if done {
                self.counts.total.fetch_add(items, Ordering::Relaxed);
                break;
            }
            self.check_fence()?;
            tokio::time::sleep((ctx.lease() / 4).min(Duration::from_secs(1))).await;
        }
        if !self.job.verify {
            return Ok(());
        }
        for pass in 1..=FINAL_PASSES {
            let before = self.counts.migrated.load(Ordering::Relaxed);
            self.counts.verified.store(0, Ordering::Relaxed);
            let segments = (0..self.job.segments).map(|segment| self.pass(segment, progress));
            futures_util::future::try_join_all(segments).await?;
            let found = self.counts.migrated.load(Ordering::Relaxed) - before;
            self.counts.total.fetch_add(found, Ordering::Relaxed);
            tracing::info!(
                migration = %ctx.version(), transform = %self.job.name, pass, migrated = found,
                verified = self.counts.verified.load(Ordering::Relaxed), "data migration final pass"
            );
            if found == 0 {
                break;
            }
        }
        Ok(())
    }

    /// Takes free segments one after the other and runs each to its end, until none
    /// is free.
    async fn take_segments(&self, progress: &super::progress::Progress) -> Result<(), Error> {
        let ctx = &self.job.ctx;
        loop {
            self.check_fence()?;
            let Some(held) = self.segments.take(ctx.owner(), ctx.lease()).await? else { return Ok(()) };
            tracing::debug!(migration = %ctx.version(), transform = %self.job.name, segment = held.index, epoch = held.fence.epoch(), "segment taken");
            match self.segment(&held, progress).await {
                Ok(()) => {}
                // Another worker took this segment over (this one was too slow or
                // paused): it finishes it; this one goes on with others, unless it
                // lost the migration lock too.
                Err(e) if e.is_lock_lost() && self.check_fence().is_ok() => {
                    tracing::warn!(error = %e, "segment lost to another worker");
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn scan(&self, segment: u32, start: Option<Item>) -> Result<(Vec<Item>, Option<Item>), Error> {
        self.scan_as(segment, start, false).await
    }

    /// A page of the entity's items in one segment; `markers`: only what tells whether
    /// an item is due (key, type, design marker), in pages of up to 1 MB.
    async fn scan_as(
        &self,
        segment: u32,
        start: Option<Item>,
        markers: bool,
    ) -> Result<(Vec<Item>, Option<Item>), Error> {
        let table = self.engine();
        let mut page = ScanPage::new(segment, self.job.segments);
        let p = &mut page.placeholders;
        page.filter = Some(format!(
            "{} = {}",
            p.name(table.format().type_field),
            p.value(AttributeValue::S(Old::SCHEMA.name.to_owned()))
        ));
        page.start = start;
        page.consistent = true;
        if markers {
            let (hash, sort) = table.key_attributes();
            let mut projection =
                vec![p.name(table.format().type_field).into_owned(), p.name(hash).into_owned()];
            projection.push(p.name(DESIGN_ATTRIBUTE).into_owned());
            projection.extend(sort.map(|s| p.name(s).into_owned()));
            page.projection = Some(projection.join(", "));
        } else {
            page.limit = Some(PAGE);
        }
        let call =
            Call::new("migration scan", Old::SCHEMA.name).migration(self.job.ctx.version().to_string());
        let scanned = table.raw().scan(&call, page).await?;
        Ok((scanned.items, scanned.last))
    }

    /// Migrates a page's items, many in flight; returns how many were migrated.
    /// `markers`: the page holds keys and markers only, each item is read whole first.
    async fn page(
        &self,
        items: Vec<Item>,
        markers: bool,
        lease: Option<&Fence>,
        budget: &Budget,
    ) -> Result<u64, Error> {
        let migrate = |item: Item| async move {
            let item = match markers {
                true => match self.reread(self.engine().key_of(&item)).await? {
                    Some(item) => item,
                    None => return Ok(Fate::Left),
                },
                false => item,
            };
            self.item(item, lease, budget).await
        };
        futures_util::stream::iter(items.into_iter().map(migrate))
            .buffer_unordered(self.job.concurrency)
            .try_fold(0u64, |n, fate| async move { Ok(n + u64::from(matches!(fate, Fate::Migrated))) })
            .await
    }

    /// Runs a segment this process holds from its checkpoint to its end,
    /// checkpointing each page under the segment's fence.
    async fn segment(&self, held: &Held, progress: &super::progress::Progress) -> Result<(), Error> {
        let segment = held.index;
        let start = match held.item.get("cursor") {
            Some(AttributeValue::S(c)) => Some(Cursor::from(c.clone()).to_key()?),
            _ => None,
        };
        let mut processed: u64 =
            held.item.get("items").and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok()).unwrap_or(0);
        let started = Instant::now();
        let resumed_at = processed;
        let budget = Budget::new(self.job.rate.map(|r| r / f64::from(self.job.segments)));
        let lease = self.job.ctx.lease();
        self.check_fence()?;
        held.fence.check()?;
        let mut page = self.scan(segment, start).await?;
        loop {
            let (items, last) = page;
            // The next page is read while this one is written.
            let next = async {
                match &last {
                    Some(key) => Some(self.scan(segment, Some(key.clone())).await),
                    None => None,
                }
            };
            let (migrated, next) =
                futures_util::future::join(self.page(items, false, Some(&held.fence), &budget), next).await;
            let migrated = migrated?;
            processed += migrated;
            progress.advance(migrated);
            let count = ("items", AttributeValue::N(processed.to_string()));
            match &last {
                Some(key) => {
                    let cursor = AttributeValue::S(Cursor::from_key(key).as_str().to_owned());
                    held.fence.update(&[count, ("cursor", cursor)], &[], Some(lease)).await?;
                }
                None => held.fence.release(&[count, ("done", AttributeValue::Bool(true))]).await?,
            }
            tracing::debug!(
                migration = %self.job.ctx.version(), transform = %self.job.name, segment, items = processed,
                rate = (processed - resumed_at) as f64 / started.elapsed().as_secs_f64().max(1e-3),
                "data migration progress"
            );
            match next {
                Some(next) => page = next?,
                None => return Ok(()),
            }
        }
    }

    /// A final pass over one segment: items still due are migrated, the others
    /// counted as verified.
    async fn pass(&self, segment: u32, progress: &super::progress::Progress) -> Result<(), Error> {
        let mut start = None;
        let budget = Budget::new(self.job.rate.map(|r| r / f64::from(self.job.segments)));
        // A final pass reads markers only, and the whole item of those still due.
        let markers = !self.counting();
        loop {
            self.check_fence()?;
            let (mut items, last) = self.scan_as(segment, start, markers).await?;
            if markers {
                let before = items.len();
                items.retain(|i| self.due(i));
                self.counts.verified.fetch_add((before - items.len()) as u64, Ordering::Relaxed);
            }
            let migrated = self.page(items, markers, None, &budget).await?;
            progress.advance(migrated);
            match last {
                Some(key) => start = Some(key),
                None => return Ok(()),
            }
        }
    }

    /// Migrates one item: transforms the item read and writes it on condition that it
    /// did not change; if it did, transforms it as it is now, and so on.
    async fn item(&self, mut read: Item, lease: Option<&Fence>, budget: &Budget) -> Result<Fate, Error> {
        let table = self.engine();
        let type_field = table.format().type_field;
        let mut throttled = 0u32;
        loop {
            if read.get(type_field).and_then(|v| v.as_s().ok()).map(String::as_str) != Some(Old::SCHEMA.name)
            {
                return Ok(Fate::Left);
            }
            if !self.due(&read) {
                self.counts.verified.fetch_add(1, Ordering::Relaxed);
                return Ok(Fate::Current);
            }
            let mut fields = read.clone();
            fields.remove(DESIGN_ATTRIBUTE);
            let old = match table.model::<Old>().from_item(fields) {
                Ok(old) => old,
                Err(e) if self.job.skip_unreadable => {
                    let key = describe_key(&table.key_of(&read));
                    tracing::warn!(migration = %self.job.ctx.version(), key = %key, error = %e, "unreadable item skipped");
                    self.job.ctx.tally().skip(key);
                    return Ok(Fate::Left);
                }
                Err(e) => return Err(self.unreadable(&read, e)),
            };
            let change = (self.job.f)(old, table.clone()).await?;
            // `None`: the item is retired.
            let new = match change.kind {
                Kind::Keep => return Ok(Fate::Left),
                Kind::Remove => None,
                Kind::Write(new) => Some(new),
            };
            if self.counting() {
                self.counts.migrated.fetch_add(1, Ordering::Relaxed);
                return Ok(Fate::Migrated);
            }
            for item in change.also {
                self.create(item, lease).await?;
            }
            let new_item = match new {
                Some(new) => {
                    let mut item = table.model::<New>().to_item(&new)?;
                    match self.target() {
                        Some(v) => item.insert(DESIGN_ATTRIBUTE.to_owned(), AttributeValue::S(v.to_string())),
                        None => item.remove(DESIGN_ATTRIBUTE),
                    };
                    rewrite::carry_over(table, &read, &mut item, &self.known);
                    Some(item)
                }
                None => None,
            };
            budget.wait().await;
            // After any wait: a migrator that was paused meanwhile stops here.
            self.check_leases(lease)?;
            let (written, units) = match new_item {
                None => rewrite::superseded(table, &self.call, &read, &self.known).await,
                Some(item) if table.key_of(&item) == table.key_of(&read) => {
                    rewrite::in_place(table, &self.call, &read, &item, &self.known).await
                }
                Some(item) => rewrite::relocate(table, &self.call, &read, item, &self.known).await,
            }
            .or_else(|e| if e.is_throttled() { Ok((Written::Conflict, 0.0)) } else { Err(e) })?;
            budget.spend(units);
            self.add_units(units);
            match written {
                Written::Done => {
                    self.counts.migrated.fetch_add(1, Ordering::Relaxed);
                    return Ok(Fate::Migrated);
                }
                Written::NewExists | Written::Gone => return Ok(Fate::Left),
                Written::Changed(now) => read = now,
                Written::Conflict => {
                    throttled += 1;
                    if throttled > 12 {
                        return Err(MigrateError::Stuck {
                            version: self.job.ctx.version().to_string(),
                            entity: Old::SCHEMA.name,
                            key: describe_key(&table.key_of(&read)),
                            tries: throttled,
                        }
                        .into());
                    }
                    let backoff = Duration::from_millis(25 << throttled.min(8));
                    tokio::time::sleep(backoff.mul_f64(0.5 + fastrand::f64())).await;
                    match self.reread(table.key_of(&read)).await? {
                        Some(now) => read = now,
                        None => return Ok(Fate::Left),
                    }
                }
            }
        }
    }

    /// Creates an item a transform made beside the one it migrates, unless one is
    /// stored under its key already (a replay, or the application's).
    async fn create(&self, item: Item, lease: Option<&Fence>) -> Result<(), Error> {
        self.check_leases(lease)?;
        let units = rewrite::create_absent(self.engine(), &self.call, item).await?;
        self.add_units(units);
        Ok(())
    }

    fn add_units(&self, units: f64) {
        self.counts.milli_units.fetch_add((units * 1000.0) as u64, Ordering::Relaxed);
    }

    fn unreadable(&self, item: &Item, e: Error) -> Error {
        MigrateError::Unreadable {
            version: self.job.ctx.version().to_string(),
            entity: Old::SCHEMA.name,
            key: describe_key(&self.engine().key_of(item)),
            source: e,
        }
        .into()
    }

    /// The item under `key` now, read strongly consistently.
    async fn reread(&self, key: Item) -> Result<Option<Item>, Error> {
        self.engine().raw().get(&self.call, key).await
    }
}
