//! The engine of a transform's run: the segments it takes, the pages it reads, and
//! the final passes that find what was written in the old form behind the scan.

use super::budget::{Budget, Pace, RECOUNT};
use super::transform::{same_keys, Transform};
use crate::retry::retrying;
use crate::store::{Fence, Held, Segments, Store};
use crate::{Direction, MigrateError, MigrateErrorExt, Role};
use futures_util::{StreamExt, TryStreamExt};
use onetable_client::raw::{Call, ScanPage};
use onetable_client::rewrite::Rewrite;
use onetable_client::{describe_key, Cursor, DESIGN_ATTRIBUTE};
use onetable_core::{AttributeValue, Entity, Error, Item, Version};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Items read a scan page: enough to keep the writes in flight busy, few enough that
/// a replay after a crash costs little.
const PAGE: i32 = 200;

/// Which items a run migrates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Those whose design marker is not the target form's: a change of design.
    Design,
    /// Those whose derived attributes (index keys) are not what the schema derives: a
    /// refresh, which leaves the marker as it is.
    Refresh,
}

/// What a run saw, over every segment and pass.
#[derive(Default)]
pub(super) struct Counts {
    pub(super) migrated: AtomicU64,
    pub(super) verified: AtomicU64,
    /// Write units consumed, in thousandths.
    pub(super) milli_units: AtomicU64,
    /// Items migrated by every worker (the migrator holding the lock counts them).
    pub(super) total: AtomicU64,
    /// Keys of the items left as they are on purpose: kept by the transform, skipped
    /// as unreadable, left by a collision or conflict. Not "still old".
    pub(super) left: Mutex<BTreeSet<String>>,
    /// What was left for a collision or conflict, said in full.
    pub(super) conflicts: Mutex<Vec<String>>,
}

/// One item's fate.
pub(super) enum Fate {
    Migrated,
    /// Already in the form this migration writes.
    Current,
    /// Gone, not this entity any more, or left as it is.
    Left,
}

/// One run of a transform: the job and what it shares between segments.
pub(super) struct Run<Old, New> {
    pub(super) job: Transform<Old, New>,
    pub(super) rewrite: Rewrite,
    /// The key templates change: a re-key.
    pub(super) rekey: bool,
    pub(super) counts: Counts,
    pub(super) segments: Segments,
    /// What its writes and reads are, for metrics: the migration's, of entity `Old`.
    pub(super) call: Call,
    /// The design items go to going up (see `goal`).
    goal: Version,
    /// The migration's write-unit limit, shared by the segments running over every
    /// worker.
    pace: Arc<Pace>,
    /// The segments this process runs now.
    here: AtomicU32,
}

impl<Old: Entity, New: Entity> Run<Old, New> {
    pub(super) fn new(job: Transform<Old, New>) -> Self {
        let ctx = &job.ctx;
        let call = Call::new("migration write", Old::SCHEMA.name).migration(ctx.version().to_string());
        Run {
            rewrite: Rewrite::new(ctx.engine(), call.clone(), Old::SCHEMA, New::SCHEMA),
            rekey: !same_keys(Old::SCHEMA, New::SCHEMA),
            counts: Counts::default(),
            segments: Store::new(ctx.engine()).segments(
                ctx.version(),
                ctx.direction(),
                &job.name,
                job.segments,
            ),
            call,
            // Until counted: as if every segment ran, as many may.
            pace: Pace::new(job.rate, job.segments),
            here: AtomicU32::new(0),
            goal: New::SCHEMA
                .design
                .and_then(|d| Version::parse(d).ok())
                .unwrap_or_else(|| ctx.version().clone()),
            job,
        }
    }

    /// The table the migration writes through (see `Context::engine`).
    pub(super) fn engine(&self) -> &onetable_client::Table {
        self.job.ctx.engine()
    }

    pub(super) fn fence(&self) -> Option<&Fence> {
        self.job.ctx.fence()
    }

    pub(super) fn check_fence(&self) -> Result<(), Error> {
        self.fence().map_or(Ok(()), Fence::check)
    }

    /// The migration lock's fence and, when a segment is held, the segment's.
    pub(super) fn check_leases(&self, segment: Option<&Fence>) -> Result<(), Error> {
        self.check_fence()?;
        segment.map_or(Ok(()), Fence::check)
    }

    /// True when a change of this transform can meet collisions or unique conflicts.
    pub(super) fn can_conflict(&self) -> bool {
        self.rekey || New::SCHEMA.fields.iter().any(|f| f.unique)
    }

    /// True when this migration's segments exist already (a resumed run).
    pub(super) async fn resumed(&self) -> Result<bool, Error> {
        Ok(!self.segments.list().await?.is_empty())
    }

    /// The design items go to going up: the design the entity written declares (a
    /// later migration with the same transform converts exactly the items still
    /// older, such as those old replicas created after the first), or else the
    /// migration's version.
    pub(super) fn goal(&self) -> &Version {
        &self.goal
    }

    /// The design marker this run writes: `goal()` going up; going
    /// down, the design of the form items return to (`New`: a down step transforms
    /// the current form back into the earlier one), or the version applied below this
    /// one (none: the marker is removed). Never this migration's version going down:
    /// items would stay due, and old code would find them newer than its own.
    pub(super) fn target(&self) -> Option<String> {
        let ctx = &self.job.ctx;
        match ctx.direction() {
            Direction::Up => Some(self.goal().to_string()),
            Direction::Down => {
                let below = |v: &onetable_core::Version| v < ctx.version();
                let declared = New::SCHEMA.design.and_then(|d| onetable_core::Version::parse(d).ok());
                declared.filter(below).or_else(|| ctx.below().cloned()).map(|v| v.to_string())
            }
        }
    }

    /// True when the item is still to be migrated by this run: by its form (its
    /// marker), never by what its key looks like.
    pub(super) fn due(&self, item: &Item) -> bool {
        if self.job.mode == Mode::Refresh {
            return self.stale(item);
        }
        let marker = match item.get(DESIGN_ATTRIBUTE) {
            Some(AttributeValue::S(v)) => Some(Version::parse(v).ok()),
            _ => None,
        };
        let version = self.job.ctx.version();
        let older = match (self.job.ctx.direction(), marker) {
            (Direction::Up, None) => true,
            (Direction::Up, Some(m)) => m.is_some_and(|m| &m < self.goal()),
            (Direction::Down, Some(m)) => m.is_some_and(|m| &m >= version),
            (Direction::Down, None) => false,
        };
        // A re-key's unmarked item under a key only the new form makes is in the new
        // form (written by code that declares no design). The marker decides the
        // others: a new key may fit the old template too, and a key that fits neither
        // (another writer's spelling) is moved to the key its fields make.
        older && (!self.rekey || has_key_of(Old::SCHEMA, item) || !has_key_of(New::SCHEMA, item))
    }

    /// For a refresh (an entity rewritten as itself): the item's derived key
    /// attributes differ from what the schema derives from it.
    fn stale(&self, item: &Item) -> bool {
        let model = self.engine().model::<Old>();
        let Ok(entity) = model.from_item(item.clone()) else { return false };
        let Ok(derived) = model.to_item(&entity) else { return false };
        Old::SCHEMA
            .indexes
            .iter()
            .flat_map(|i| i.key_attributes())
            .any(|k| item.get(k.attribute) != derived.get(k.attribute))
    }

    /// Every segment, then the final passes.
    pub(super) async fn all(self: &Arc<Self>) -> Result<u64, Error> {
        let ctx = &self.job.ctx;
        let label = format!("migration {} {}", ctx.version(), self.job.name);
        let progress = Arc::new(super::progress::Progress::start(ctx.table(), label, ctx.is_dry_run()).await);
        let result = self.segments_and_passes(&progress).await;
        progress.finish();
        result?;
        let migrated = self.counts.migrated.load(Ordering::Relaxed);
        ctx.count(migrated);
        let tally = ctx.tally();
        tally.verified.fetch_add(self.counts.verified.load(Ordering::Relaxed), Ordering::Relaxed);
        tally.milli_units.fetch_add(self.counts.milli_units.load(Ordering::Relaxed), Ordering::Relaxed);
        tally.total.fetch_add(self.counts.total.load(Ordering::Relaxed), Ordering::Relaxed);
        let conflicts = self.counts.conflicts.lock().map(|c| c.clone()).unwrap_or_default();
        tally.conflicts.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend(conflicts);
        Ok(migrated)
    }

    async fn segments_and_passes(
        self: &Arc<Self>,
        progress: &Arc<super::progress::Progress>,
    ) -> Result<(), Error> {
        let ctx = &self.job.ctx;
        if ctx.role() == Role::Worker {
            // Taking part in another migrator's run: only once it has started.
            if self.segments.list().await?.is_empty() {
                return Ok(());
            }
            ctx.check_regions().await?;
        } else {
            self.segments.create(self.fence(), &ctx.checksum()).await?;
        }
        let parallel = self.job.parallel.unwrap_or(self.job.segments).min(self.job.segments);
        loop {
            let workers = (0..parallel).map(|_| {
                let (this, progress) = (self.clone(), progress.clone());
                async move { this.take_segments(&progress).await }
            });
            // Meanwhile the segments running over every worker are counted, so the
            // limit stays the migration's however many workers join or finish.
            let recount = async {
                if self.job.rate.is_none() {
                    // Nothing to share: no count, no wake-up every second.
                    return std::future::pending::<()>().await;
                }
                loop {
                    tokio::time::sleep(RECOUNT).await;
                    self.recount().await;
                }
            };
            let workers = Box::pin(futures_util::future::try_join_all(workers));
            match futures_util::future::select(workers, Box::pin(recount)).await {
                futures_util::future::Either::Left((ran, _)) => ran?,
                futures_util::future::Either::Right(_) => {
                    unreachable!("the recount runs until the segments end")
                }
            };
            if ctx.role() == Role::Worker {
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
        self.final_passes(progress).await
    }

    /// Reads the entity again, migrating what is due, until a pass finds nothing due;
    /// after the last pass, items still due (and not left on purpose) make the run
    /// incomplete.
    async fn final_passes(&self, progress: &super::progress::Progress) -> Result<(), Error> {
        let passes = self.job.final_passes;
        if passes == 0 {
            return Ok(());
        }
        let ctx = &self.job.ctx;
        for pass in 1..=passes {
            if pass > 1 {
                // Old-form writes may still be under way: give them time to land.
                tokio::time::sleep(Duration::from_secs(1 << (pass - 2).min(4))).await;
            }
            let before = self.counts.migrated.load(Ordering::Relaxed);
            self.counts.verified.store(0, Ordering::Relaxed);
            // Every segment's pass at once, by this process alone: they share the limit.
            let pace = Pace::new(self.job.rate, self.job.segments);
            let segments = (0..self.job.segments).map(|segment| self.pass(segment, &pace, progress));
            let due: u64 = futures_util::future::try_join_all(segments).await?.into_iter().sum();
            let found = self.counts.migrated.load(Ordering::Relaxed) - before;
            self.counts.total.fetch_add(found, Ordering::Relaxed);
            tracing::info!(
                migration = %ctx.version(), transform = %self.job.name, pass, due, migrated = found,
                verified = self.counts.verified.load(Ordering::Relaxed), "data migration final pass"
            );
            if due == found && self.still_old().await?.is_empty() {
                return Ok(());
            }
        }
        let left = self.still_old().await?;
        if left.is_empty() {
            return Ok(());
        }
        Err(MigrateError::Incomplete {
            version: ctx.version().to_string(),
            entity: Old::SCHEMA.name,
            left: left.len() as u64,
            passes,
            keys: left.into_iter().take(10).collect(),
        }
        .into())
    }

    /// The keys of the items still due, besides those left on purpose.
    async fn still_old(&self) -> Result<Vec<String>, Error> {
        let left = self.counts.left.lock().map(|l| l.clone()).unwrap_or_default();
        let mut old = Vec::new();
        for segment in 0..self.job.segments {
            let mut start = None;
            loop {
                let (items, last) = self.scan_as(segment, start, true).await?;
                for item in items.iter().filter(|i| self.due(i)) {
                    let key = describe_key(&self.engine().key_of(item));
                    if !left.contains(&key) {
                        old.push(key);
                    }
                }
                match last {
                    Some(key) => start = Some(key),
                    None => break,
                }
            }
        }
        Ok(old)
    }

    /// Takes free segments one after the other and runs each to its end, until none
    /// is free.
    async fn take_segments(&self, progress: &super::progress::Progress) -> Result<(), Error> {
        let ctx = &self.job.ctx;
        // One bucket for every segment this task runs: its share carries over.
        let budget = Budget::new(self.pace.clone());
        loop {
            self.check_fence()?;
            let Some(held) = self.segments.take(ctx.owner(), ctx.lease(), &ctx.checksum()).await? else {
                return Ok(());
            };
            tracing::debug!(migration = %ctx.version(), transform = %self.job.name, segment = held.index, epoch = held.fence.epoch(), "segment taken");
            self.here.fetch_add(1, Ordering::Relaxed);
            self.recount().await;
            let ran = self.segment(&held, &budget, progress).await;
            self.here.fetch_sub(1, Ordering::Relaxed);
            match ran {
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

    /// Counts the segments running over every worker (at least this process's own),
    /// for the share of the limit each spends. A failed count keeps the last one.
    async fn recount(&self) {
        if self.job.rate.is_none() {
            return;
        }
        // Bounded: a count that DynamoDB delays (its reads retried while throttled)
        // keeps the last count rather than holding the writes up.
        if let Ok(Ok(running)) = tokio::time::timeout(RECOUNT, self.segments.running()).await {
            self.pace.set_running(running.max(self.here.load(Ordering::Relaxed)));
        }
    }

    /// A page of the entity's items in one segment; `markers`: only what tells whether
    /// an item is due (key, type, design marker), in pages of up to 1 MB.
    pub(super) async fn scan_as(
        &self,
        segment: u32,
        start: Option<Item>,
        markers: bool,
    ) -> Result<(Vec<Item>, Option<Item>), Error> {
        let table = self.engine();
        let markers = markers && self.job.mode == Mode::Design;
        let scan = || {
            let mut page = ScanPage::new(segment, self.job.segments);
            let p = &mut page.placeholders;
            page.filter = Some(format!(
                "{} = {}",
                p.name(table.format().type_field),
                p.value(AttributeValue::S(Old::SCHEMA.name.to_owned()))
            ));
            page.start = start.clone();
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
            async move { table.raw().scan(&call, page).await }
        };
        let scanned = retrying("migration scan", scan).await?;
        Ok((scanned.items, scanned.last))
    }

    /// Migrates a page's items, many in flight; returns how many were migrated.
    /// `markers`: the page holds keys and markers only, each item is read whole first.
    pub(super) async fn page(
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
    async fn segment(
        &self,
        held: &Held,
        budget: &Budget,
        progress: &super::progress::Progress,
    ) -> Result<(), Error> {
        let segment = held.index;
        let start = match held.item.get("cursor") {
            Some(AttributeValue::S(c)) => Some(Cursor::from(c.clone()).to_key()?),
            _ => None,
        };
        let mut processed: u64 =
            held.item.get("items").and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok()).unwrap_or(0);
        let started = Instant::now();
        let resumed_at = processed;
        let lease = self.job.ctx.lease();
        self.check_fence()?;
        held.fence.check()?;
        let mut page = self.scan_as(segment, start, false).await?;
        loop {
            let (items, last) = page;
            // The next page is read while this one is written.
            let next = async {
                match &last {
                    Some(key) => Some(self.scan_as(segment, Some(key.clone()), false).await),
                    None => None,
                }
            };
            let (migrated, next) =
                futures_util::future::join(self.page(items, false, Some(&held.fence), budget), next).await;
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
    /// counted as verified. Returns how many were due.
    async fn pass(
        &self,
        segment: u32,
        pace: &Arc<Pace>,
        progress: &super::progress::Progress,
    ) -> Result<u64, Error> {
        let mut start = None;
        let budget = Budget::new(pace.clone());
        let markers = self.job.mode == Mode::Design;
        let mut due = 0;
        loop {
            self.check_fence()?;
            let (mut items, last) = self.scan_as(segment, start, markers).await?;
            let before = items.len();
            items.retain(|i| self.due(i));
            self.counts.verified.fetch_add((before - items.len()) as u64, Ordering::Relaxed);
            self.skip_left(&mut items);
            due += items.len() as u64;
            let migrated = self.page(items, markers, None, &budget).await?;
            progress.advance(migrated);
            match last {
                Some(key) => start = Some(key),
                None => return Ok(due),
            }
        }
    }

    /// The item under `key` now, read strongly consistently.
    pub(super) async fn reread(&self, key: Item) -> Result<Option<Item>, Error> {
        let raw = self.engine().raw();
        retrying("migration read", || raw.get(&self.call, key.clone())).await
    }

    /// Drops the items left on purpose earlier in this run: a later pass meets them
    /// again, and neither retries them nor lists them twice.
    fn skip_left(&self, items: &mut Vec<Item>) {
        let Ok(left) = self.counts.left.lock() else { return };
        if left.is_empty() {
            return;
        }
        items.retain(|i| !left.contains(&describe_key(&self.engine().key_of(i))));
    }

    /// Notes an item left as it is on purpose, so that it does not count as still old.
    pub(super) fn leave(&self, item: &Item) {
        let key = describe_key(&self.engine().key_of(item));
        if let Ok(mut left) = self.counts.left.lock() {
            left.insert(key);
        }
    }
}

/// True when the item's key is one `schema`'s templates make.
fn has_key_of(schema: &onetable_core::EntitySchema, item: &Item) -> bool {
    schema
        .primary()
        .key_attributes()
        .all(|k| matches!(item.get(k.attribute), Some(AttributeValue::S(v)) if k.template.matches(v)))
}
