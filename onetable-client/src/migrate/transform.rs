//! Data migrations: every item of an entity rewritten as another while the
//! application keeps writing, read in parallel scan segments, many writes in flight.
//!
//! Three rules make it safe under live traffic (see `rewrite.rs` and `lock.rs`):
//! - every write is conditional on the item being exactly what was read; when someone
//!   changed it meanwhile, the item as it now is gets transformed instead, so both
//!   the application's write and the migration's change stand;
//! - every item records the design version it is in (the [`DESIGN_ATTRIBUTE`]):
//!   a replayed page, a resumed run, a second migrator or a woken one finds the
//!   item migrated and leaves it, so a transform runs once per item even when it is
//!   not idempotent;
//! - the scan segments are leases in the table (`segments.rs`): the migrator that
//!   holds the lock and any number of workers (other processes running `up` with
//!   [`Migrator::wait`](super::Migrator::wait)) share them, a dead or stalled
//!   worker's segments are taken over, and every checkpoint is written under the
//!   segment's fence, so a worker that lost its lease moves no cursor.
//!
//! After the scan a final pass reads the entity again and migrates what was written
//! in the old form behind the scan (an old deployment still running), until a pass
//! finds nothing left.

use super::budget::Budget;
use super::change::{Change, Kind};
use super::lease::Fence;
use super::rewrite::{self, Known, Written};
use super::segments::{Held, Segments};
use super::{Context, Direction, Version};
use crate::cursor::Cursor;
use crate::error::sdk;
use crate::table::Table;
use crate::write::Op;
use crate::write::{key_of, key_text};
use futures_util::future::BoxFuture;
use futures_util::{FutureExt, StreamExt, TryStreamExt};
use onetable_core::{AttributeValue, Entity, EntitySchema, Error, ErrorKind, Item};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use crate::table::DESIGN_ATTRIBUTE;

/// Items read a scan page: enough to keep the writes in flight busy, few enough that
/// a replay after a crash costs little.
const PAGE: i32 = 200;

/// How many final passes at most look for items written in the old form behind the
/// scan.
const FINAL_PASSES: u32 = 3;

/// A transform as the engine calls it.
type TransformFn<Old, New> =
    Arc<dyn Fn(Old, Table) -> BoxFuture<'static, Result<Change<New>, Error>> + Send + Sync>;

/// Rewrites every `Old` item as a `New` (see [`Context::transform`]).
#[must_use = "call .run().await"]
pub struct Transform<Old, New> {
    ctx: Context,
    name: String,
    f: TransformFn<Old, New>,
    segments: u32,
    parallel: Option<u32>,
    concurrency: usize,
    rate: Option<f64>,
    verify: bool,
    skip_unreadable: bool,
    marker: PhantomData<fn() -> (Old, New)>,
}

impl Context {
    /// Rewrites every item of entity `Old` as what `f` returns (`None` leaves the item
    /// as it is). When the key changes (a re-key), the new item is written and the old
    /// one removed in one transaction; otherwise the item is updated in place. `name`
    /// tells this transform's checkpoints apart from others of the same migration.
    ///
    /// One transform per entity per migration: the design marker says an item is in
    /// this migration's form once it ran, so a second transform of the same entity
    /// in the same migration would find nothing to do (and is refused). Split such a
    /// change into two migrations.
    pub fn transform<Old: Entity, New: Entity>(
        &self,
        name: &str,
        f: impl Fn(Old) -> Option<New> + Send + Sync + 'static,
    ) -> Transform<Old, New> {
        self.transform_with(name, move |old, _| futures_util::future::ready(Ok(Change::from(f(old)))))
    }

    /// The general transform: `f` is async and gets the migration's table, so it can
    /// read other items (to rewrite a reference), and its [`Change`] can keep, write
    /// (in place or under a new key) or retire the item, and create items of other
    /// entities beside it (split an entity, extend a collection). The guarantees of
    /// [`Context::transform`] hold for every write it makes.
    ///
    /// The crate guide has an example: a reference becomes a name, a note becomes an
    /// item of its own.
    pub fn transform_with<Old: Entity, New: Entity, F, Fut>(&self, name: &str, f: F) -> Transform<Old, New>
    where
        F: Fn(Old, Table) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<Change<New>, Error>> + Send + 'static,
    {
        Transform {
            ctx: self.clone(),
            name: name.to_owned(),
            f: Arc::new(move |old, table| f(old, table).boxed()),
            segments: 4,
            parallel: None,
            concurrency: 16,
            rate: None,
            verify: true,
            skip_unreadable: false,
            marker: PhantomData,
        }
    }
}

/// What a run saw, over every segment and pass.
#[derive(Default)]
struct Counts {
    migrated: AtomicU64,
    verified: AtomicU64,
    /// Write units consumed, in thousandths.
    milli_units: AtomicU64,
    /// Items migrated by every worker (the migrator holding the lock counts them).
    total: AtomicU64,
}

/// One item's fate.
enum Fate {
    Migrated,
    /// Already in the form this migration writes.
    Current,
    /// Gone, not this entity any more, or left as it is by the transform.
    Left,
}

impl<Old: Entity, New: Entity> Transform<Old, New> {
    /// How many scan segments are read in parallel (4 by default).
    pub fn segments(mut self, n: u32) -> Self {
        self.segments = n.max(1);
        self
    }

    /// How many segments one process works on at once (all of them by default). Set
    /// it below [`segments`](Self::segments) when several workers share the migration,
    /// so that each takes a part.
    pub fn parallel(mut self, n: u32) -> Self {
        self.parallel = Some(n.max(1));
        self
    }

    /// How many writes each segment keeps in flight (16 by default).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// At most `write_units` write units a second over all segments and all workers
    /// (what DynamoDB charges: an item of up to 1 KB costs one, a re-key's transaction
    /// four), to leave capacity to the application's own traffic. Each segment spends
    /// its share, so the whole stays within the limit however many workers run.
    pub fn rate_limit(mut self, write_units: f64) -> Self {
        self.rate = Some(write_units.max(1.0));
        self
    }

    /// Whether a final pass looks for items written in the old form after the scan
    /// passed them (on by default; it reads the entity's items once more).
    pub fn verify(mut self, verify: bool) -> Self {
        self.verify = verify;
        self
    }

    /// Leaves an item that does not read as `Old` (a missing or mistyped attribute)
    /// as it is and lists its key in the result and the history, instead of stopping
    /// the migration with an error that names it (the default).
    pub fn skip_unreadable(mut self) -> Self {
        self.skip_unreadable = true;
        self
    }

    /// Runs every segment to its end, then the final passes; returns the items
    /// migrated (in a dry run: that would be, writing nothing).
    pub async fn run(self) -> Result<u64, Error> {
        self.ctx.claim_entity(Old::SCHEMA.name)?;
        let this = Arc::new(Run {
            known: known(self.ctx.table(), &[Old::SCHEMA, New::SCHEMA]),
            rekey: !same_keys(Old::SCHEMA, New::SCHEMA),
            counts: Counts::default(),
            segments: Segments::new(
                &self.ctx.engine,
                &self.ctx.version,
                self.ctx.direction,
                &self.name,
                self.segments,
            ),
            job: self,
        });
        let label = format!("migration {} {}", this.job.ctx.version, this.job.name);
        let progress = Arc::new(
            super::progress::Progress::start(&this.job.ctx.table, label, this.job.ctx.dry_run).await,
        );
        let result = this.all(&progress).await;
        progress.finish();
        result?;
        let migrated = this.counts.migrated.load(Ordering::Relaxed);
        let ctx = &this.job.ctx;
        ctx.count(migrated);
        ctx.verified.fetch_add(this.counts.verified.load(Ordering::Relaxed), Ordering::Relaxed);
        ctx.milli_units.fetch_add(this.counts.milli_units.load(Ordering::Relaxed), Ordering::Relaxed);
        ctx.total.fetch_add(this.counts.total.load(Ordering::Relaxed), Ordering::Relaxed);
        Ok(migrated)
    }
}

/// Every attribute the entities can write: the condition requires those an item
/// lacked to be still absent, and an in-place rewrite removes those the transform
/// dropped (attributes no entity knows are left alone).
pub(crate) fn known(table: &Table, schemas: &[&EntitySchema]) -> Known {
    let t = &table.inner;
    let mut known: Known = [t.format.type_field.to_owned(), DESIGN_ATTRIBUTE.to_owned()].into();
    for schema in schemas {
        known.extend(schema.fields.iter().map(|f| f.top_attribute().to_owned()));
        known.extend(schema.indexes.iter().flat_map(|i| i.key_attributes()).map(|k| k.attribute.to_owned()));
        let timestamps = table.timestamps(schema);
        if timestamps.created() {
            known.insert(t.created.clone());
        }
        if timestamps.updated() {
            known.insert(t.updated.clone());
        }
    }
    known
}

fn same_keys(a: &EntitySchema, b: &EntitySchema) -> bool {
    let templates = |s: &EntitySchema| -> Vec<(&str, &str)> {
        s.primary().key_attributes().map(|k| (k.attribute, k.template.source)).collect()
    };
    templates(a) == templates(b)
}

/// One run of a transform: the job and what it shares between segments.
struct Run<Old, New> {
    job: Transform<Old, New>,
    known: Known,
    /// The key templates change: an item is due while its key has the old form.
    rekey: bool,
    counts: Counts,
    segments: Segments,
}

impl<Old: Entity, New: Entity> Run<Old, New> {
    /// The table the migration writes through (see `Context::engine`).
    fn engine(&self) -> &Table {
        &self.job.ctx.engine
    }

    fn fence(&self) -> Option<&Fence> {
        self.job.ctx.fence.as_deref()
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
        self.job.ctx.dry_run && !self.job.ctx.worker
    }

    /// The design marker this run writes: the migration's version going up, the
    /// version below it going down (none: the marker is removed).
    fn target(&self) -> Option<&Version> {
        match self.job.ctx.direction {
            Direction::Up => Some(&self.job.ctx.version),
            Direction::Down => self.job.ctx.below.as_ref(),
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
        let version = &self.job.ctx.version;
        match self.job.ctx.direction {
            Direction::Up => marker.as_ref().is_none_or(|m| m < version),
            Direction::Down => marker.as_ref().is_some_and(|m| m >= version),
        }
    }

    async fn all(self: &Arc<Self>, progress: &Arc<super::progress::Progress>) -> Result<(), Error> {
        let ctx = &self.job.ctx;
        if self.counting() {
            // Counting only: every segment read once, nothing written.
            let segments = (0..self.job.segments).map(|segment| self.pass(segment, progress));
            futures_util::future::try_join_all(segments).await?;
            return Ok(());
        }
        if ctx.worker {
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
            if ctx.worker {
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
            tokio::time::sleep((ctx.lease / 4).min(Duration::from_secs(1))).await;
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
                migration = %ctx.version, transform = %self.job.name, pass, migrated = found,
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
            let Some(held) = self.segments.take(&ctx.owner, ctx.lease).await? else { return Ok(()) };
            tracing::debug!(migration = %ctx.version, transform = %self.job.name, segment = held.index, epoch = held.fence.epoch(), "segment taken");
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
        let t = &self.engine().inner;
        let mut request = t
            .client
            .scan()
            .table_name(&t.name)
            .segment(segment as i32)
            .total_segments(self.job.segments as i32)
            .filter_expression("#t = :t")
            .expression_attribute_names("#t", t.format.type_field)
            .expression_attribute_values(":t", AttributeValue::S(Old::SCHEMA.name.to_owned()))
            .set_exclusive_start_key(start)
            .consistent_read(true);
        if markers {
            let mut projection = vec!["#t", "#h", "#d"];
            request = request
                .expression_attribute_names("#h", &t.hash)
                .expression_attribute_names("#d", DESIGN_ATTRIBUTE);
            if let Some(sort) = &t.sort {
                projection.push("#s");
                request = request.expression_attribute_names("#s", sort);
            }
            request = request.projection_expression(projection.join(", "));
        } else {
            request = request.limit(PAGE);
        }
        let out = request.send().await.map_err(|e| sdk("migration scan", &t.name, e))?;
        Ok((out.items.unwrap_or_default(), out.last_evaluated_key))
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
                true => match rewrite::reread(self.engine(), key_of(self.engine(), &item)).await? {
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
        let lease = self.job.ctx.lease;
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
                migration = %self.job.ctx.version, transform = %self.job.name, segment, items = processed,
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
        let markers = !self.job.ctx.dry_run;
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
        let type_field = table.inner.format.type_field;
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
            fields.remove(type_field);
            fields.remove(DESIGN_ATTRIBUTE);
            let old = match table
                .decrypt_fields(Old::SCHEMA, &mut fields)
                .and_then(|()| Old::from_item(fields))
            {
                Ok(old) => old,
                Err(e) if self.job.skip_unreadable => {
                    let key = key_text(&key_of(table, &read));
                    tracing::warn!(migration = %self.job.ctx.version, key = %key, error = %e, "unreadable item skipped");
                    if let Ok(mut skipped) = self.job.ctx.skipped.lock() {
                        if !skipped.contains(&key) {
                            skipped.push(key);
                        }
                    }
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
                    let mut item = crate::Model::<New>::item_from(table, new, false)?;
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
                None => rewrite::superseded(table, &read, &self.known).await,
                Some(item) if key_of(table, &item) == key_of(table, &read) => {
                    rewrite::in_place(table, &read, &item, &self.known).await
                }
                Some(item) => rewrite::relocate(table, &read, item, &self.known).await,
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
                        return Err(ErrorKind::Migration {
                            version: self.job.ctx.version.to_string(),
                            message: format!(
                                "{} item {}: still throttled or in conflict after {throttled} tries",
                                Old::SCHEMA.name,
                                key_text(&key_of(table, &read))
                            ),
                        }
                        .into());
                    }
                    let backoff = Duration::from_millis(25 << throttled.min(8));
                    tokio::time::sleep(backoff.mul_f64(0.5 + fastrand::f64())).await;
                    match rewrite::reread(table, key_of(table, &read)).await? {
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
        let units = rewrite::create_absent(self.engine(), item, "migration write").await?;
        self.add_units(units);
        Ok(())
    }

    fn add_units(&self, units: f64) {
        self.counts.milli_units.fetch_add((units * 1000.0) as u64, Ordering::Relaxed);
    }

    fn unreadable(&self, item: &Item, e: Error) -> Error {
        ErrorKind::Migration {
            version: self.job.ctx.version.to_string(),
            message: format!(
                "the {} item {} does not read as {}: {e} (fix the item or the entity; nothing of it was written)",
                Old::SCHEMA.name,
                key_text(&key_of(self.engine(), item)),
                Old::SCHEMA.name
            ),
        }
        .into()
    }
}

/// Removes a migration's checkpoints once it has run (so that it can run again).
pub(crate) async fn clear_checkpoints(table: &Table, version: &Version, fence: &Fence) -> Result<(), Error> {
    for item in super::history::bookkeeping(table, &format!("_checkpoint:{version}:")).await? {
        fence.write(Op::Delete(key_of(table, &item)), "_MigrationCheckpoint").await?;
    }
    Ok(())
}
