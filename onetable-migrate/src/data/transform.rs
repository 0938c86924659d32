//! Data migrations: every item of an entity rewritten as another while the
//! application keeps writing, read in parallel scan segments, many writes in flight.
//!
//! What makes it safe under live traffic:
//! - every write is conditional on the item being what was read (the attributes its
//!   forms own; a move, every attribute): when someone changed it meanwhile, the item
//!   as it now is gets transformed instead, so both the application's write and the
//!   migration's change stand (`onetable_client::rewrite`);
//! - whether an item is due is decided by its form — the design marker it carries
//!   ([`DESIGN_ATTRIBUTE`](crate::DESIGN_ATTRIBUTE)) — never by what its key looks
//!   like: a replayed page, a resumed run, a second migrator or a woken one finds the
//!   item migrated and leaves it, so a transform runs once per item even when it is
//!   not idempotent;
//! - the scan segments are leases in the table: the migrator that holds the lock and
//!   any number of workers share them, a dead or stalled worker's segments are taken
//!   over, and every checkpoint is written under the segment's fence.
//!
//! After the scan, final passes read the entity again and migrate what was written in
//! the old form behind the scan, until a pass finds nothing due — or, after the last
//! one, the migration ends incomplete, naming what is still old.

use super::change::Change;
use super::plan::Plan;
use super::run::{Mode, Run};
use crate::{Context, Direction, MigrateError};
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use onetable_client::Table;
use onetable_core::{Entity, EntitySchema, Error};
use std::marker::PhantomData;
use std::sync::Arc;

/// A transform as the engine calls it.
pub(super) type TransformFn<Old, New> =
    Arc<dyn Fn(Old, Table) -> BoxFuture<'static, Result<Change<New>, Error>> + Send + Sync>;

/// What a migration does with an item whose new form would collide with another item
/// (a re-key onto a taken key) or take a unique value another item holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflicts {
    /// Leave that item as it is (nothing written, nothing deleted) and list it in the
    /// result and the history; migrate the others.
    Leave,
    /// Stop the migration at the first, naming both items: nothing of it is written.
    Stop,
}

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
    pub(super) final_passes: u32,
    pub(super) skip_unreadable: bool,
    pub(super) conflicts: Option<Conflicts>,
    pub(super) mode: Mode,
    pub(super) marker: PhantomData<fn() -> (Old, New)>,
}

impl Context {
    /// Rewrites every item of entity `Old` as what `f` returns (`None` leaves the item
    /// as it is). When the key changes (a re-key), the new item is written and the old
    /// one removed in one transaction; otherwise the item is updated in place. `name`
    /// tells this transform's checkpoints apart from others of the same migration.
    ///
    /// Every item it writes carries this migration's version as its design marker
    /// (going down, `Old`'s design, or the version applied below this one): that is
    /// what tells a migrated item. `New`, the entity in the design this migration
    /// moves items into, declares that version when the application's writes are to
    /// respect the migration (`#[entity(design = "<this migration's version>")]`; see
    /// the guide); one that declares another is refused.
    ///
    /// One transform per entity per migration: the design marker says an item is in
    /// this migration's form once it ran, so a second transform of the same entity in
    /// the same migration would find nothing to do (and is refused). Split such a
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
            final_passes: 5,
            skip_unreadable: false,
            conflicts: None,
            mode: Mode::Design,
            marker: PhantomData,
        }
    }

    /// Rewrites every item of `E` as itself, to write what the current schema derives
    /// from it (a new index's keys): due are the items whose derived attributes differ
    /// from what is stored. The design marker is left as it is.
    pub(crate) fn refresh<E: Entity>(&self, name: &str) -> Transform<E, E> {
        Transform { mode: Mode::Refresh, ..self.transform(name, |e: E| Some(e)) }
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
    /// four; a refused write is charged as DynamoDB charges it), to leave capacity to
    /// the application's own traffic. Each running segment spends an equal share, and
    /// the segments running over every worker are counted from their leases (when a
    /// worker takes a segment, and every second), so the whole stays at the limit
    /// however many workers run, one or many, joining or finishing.
    pub fn rate_limit(mut self, write_units: f64) -> Self {
        self.rate = Some(write_units.max(1.0));
        self
    }

    /// How many final passes at most look for items written in the old form behind
    /// the scan (5 by default, each after a longer pause: 0, 1, 2, 4, 8 s). A pass that
    /// finds nothing due ends them; items still due after the last make the migration
    /// incomplete ([`MigrateError::Incomplete`]), resumed by the next `up`. `0` skips
    /// them (and the check).
    pub fn final_passes(mut self, passes: u32) -> Self {
        self.final_passes = passes;
        self
    }

    /// Whether the final passes run (`verify(false)` is `final_passes(0)`).
    pub fn verify(self, verify: bool) -> Self {
        let passes = if verify { 5 } else { 0 };
        self.final_passes(passes)
    }

    /// Leaves an item that does not read as `Old` (a missing or mistyped attribute)
    /// as it is and lists its key in the result and the history, instead of stopping
    /// the migration with an error that names it (the default).
    pub fn skip_unreadable(mut self) -> Self {
        self.skip_unreadable = true;
        self
    }

    /// What to do with an item whose new form would collide with another item (a
    /// re-key onto a taken key) or take a unique value another item holds. Without a
    /// choice, a migration that can meet them (a re-key, or a `New` with unique
    /// fields) first plans every item and refuses to start when it finds any
    /// ([`MigrateError::Conflicts`]); one that appears while it runs leaves that
    /// item as it is.
    pub fn on_conflict(mut self, conflicts: Conflicts) -> Self {
        self.conflicts = Some(conflicts);
        self
    }

    /// Runs every segment to its end, then the final passes; returns the items
    /// migrated (in a dry run: that would be, writing nothing, and the plan in the
    /// result).
    pub async fn run(self) -> Result<u64, Error> {
        self.ctx.claim_entity(Old::SCHEMA.name)?;
        self.check_design()?;
        if self.ctx.role() != crate::Role::Worker {
            self.ctx.check_regions().await?;
        }
        let run = Arc::new(Run::new(self));
        if run.job.ctx.role() == crate::Role::DryRun {
            let plan = Plan::of(&run).await?;
            let items = plan.due;
            run.job.ctx.tally().plans.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(plan);
            run.job.ctx.count(items);
            return Ok(items);
        }
        // A change that can meet collisions or conflicts, with no choice made of what
        // to do with them, is planned first: it starts only if there are none.
        if run.job.conflicts.is_none()
            && run.can_conflict()
            && run.job.ctx.role() == crate::Role::Leader
            && !run.resumed().await?
        {
            let plan = Plan::of(&run).await?;
            let found = plan.conflicting();
            if !found.is_empty() {
                return Err(MigrateError::Conflicts {
                    version: run.job.ctx.version().to_string(),
                    entity: Old::SCHEMA.name,
                    conflicts: found,
                }
                .into());
            }
        }
        run.all().await
    }

    /// The form the transform writes is the migration's: `New` declares no other
    /// (going up; going down, `Old`'s form is the one written).
    fn check_design(&self) -> Result<(), Error> {
        if self.mode == Mode::Refresh || self.ctx.direction() == Direction::Down {
            return Ok(());
        }
        let parse = |d: Option<&str>| d.map(onetable_core::Version::parse).transpose();
        let (from, to) = (parse(Old::SCHEMA.design)?, parse(New::SCHEMA.design)?);
        let fits = match (&from, &to) {
            (_, None) => true,
            (None, Some(to)) => to <= self.ctx.version(),
            (Some(from), Some(to)) => from < to && to <= self.ctx.version(),
        };
        if fits {
            return Ok(());
        }
        Err(MigrateError::DesignMismatch {
            version: self.ctx.version().to_string(),
            entity: New::SCHEMA.name,
            from: Old::SCHEMA.design.map(str::to_owned),
            to: New::SCHEMA.design.map(str::to_owned),
        }
        .into())
    }
}

/// True when the two forms have the same primary key templates.
pub(super) fn same_keys(a: &EntitySchema, b: &EntitySchema) -> bool {
    let templates = |s: &EntitySchema| -> Vec<(&str, &str)> {
        s.primary().key_attributes().map(|k| (k.attribute, k.template.source)).collect()
    };
    templates(a) == templates(b)
}
