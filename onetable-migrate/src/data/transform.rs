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

use super::change::Change;
use super::run::{same_keys, Counts, Run};
use crate::store::Store;
use crate::Context;
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use onetable_client::evolve::rewrite::{self};
use onetable_client::raw::Call;
use onetable_client::Table;
use onetable_core::{Entity, Error};
use std::marker::PhantomData;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// A transform as the engine calls it.
pub(super) type TransformFn<Old, New> =
    Arc<dyn Fn(Old, Table) -> BoxFuture<'static, Result<Change<New>, Error>> + Send + Sync>;

/// Rewrites every `Old` item as a `New` (see [`Context::transform`]).
#[must_use = "call .run().await"]
pub struct Transform<Old, New> {
    pub(super) ctx: Context,
    pub(super) name: String,
    pub(super) f: TransformFn<Old, New>,
    pub(super) segments: u32,
    pub(super) parallel: Option<u32>,
    pub(super) concurrency: usize,
    pub(super) rate: Option<f64>,
    pub(super) verify: bool,
    pub(super) skip_unreadable: bool,
    pub(super) marker: PhantomData<fn() -> (Old, New)>,
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
            known: rewrite::known(self.ctx.table(), &[Old::SCHEMA, New::SCHEMA]),
            rekey: !same_keys(Old::SCHEMA, New::SCHEMA),
            counts: Counts::default(),
            segments: Store::new(self.ctx.engine()).segments(
                self.ctx.version(),
                self.ctx.direction(),
                &self.name,
                self.segments,
            ),
            call: Call::new("migration write", Old::SCHEMA.name).migration(self.ctx.version().to_string()),
            job: self,
        });
        let label = format!("migration {} {}", this.job.ctx.version(), this.job.name);
        let progress = Arc::new(
            super::progress::Progress::start(this.job.ctx.table(), label, this.job.ctx.is_dry_run()).await,
        );
        let result = this.all(&progress).await;
        progress.finish();
        result?;
        let migrated = this.counts.migrated.load(Ordering::Relaxed);
        let ctx = &this.job.ctx;
        ctx.count(migrated);
        let tally = ctx.tally();
        tally.verified.fetch_add(this.counts.verified.load(Ordering::Relaxed), Ordering::Relaxed);
        tally.milli_units.fetch_add(this.counts.milli_units.load(Ordering::Relaxed), Ordering::Relaxed);
        tally.total.fetch_add(this.counts.total.load(Ordering::Relaxed), Ordering::Relaxed);
        Ok(migrated)
    }
}
