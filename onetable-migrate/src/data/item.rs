//! One item's migration: transform the item read, write its new form only if the
//! item is still as read; when it changed, transform it as it now is, and so on — a
//! bounded number of times, each after a pause.

use super::budget::Budget;
use super::change::Kind;
use super::run::{Fate, Run};
use super::transform::Conflicts;
use crate::retry::{backoff, retrying};
use crate::store::Fence;
use crate::MigrateError;
use onetable_client::rewrite::{same, Rewritten, Target};
use onetable_client::{describe_key, DESIGN_ATTRIBUTE};
use onetable_core::{AttributeValue, Entity, Error, Item};
use std::sync::atomic::Ordering;

/// How many times one item may be found changed, in conflict or its move blocked
/// before the segment leaves it to the final passes (a hot item, written faster than
/// it can be read and rewritten).
const TRIES: u32 = 16;

/// How many times a move onto a taken key is tried again before it is a collision
/// (the application may be moving the item itself, in a batch whose removal of the
/// old form is still on its way).
const COLLISION_TRIES: u32 = 4;

/// A transform's decision for one image of an item, kept so that an attempt that
/// fails without the item changing (a conflict) does not run the transform again.
struct Decided {
    read: Item,
    target: Target,
    also: Vec<Item>,
}

impl<Old: Entity, New: Entity> Run<Old, New> {
    /// Migrates one item read whole.
    pub(super) async fn item(
        &self,
        mut read: Item,
        lease: Option<&Fence>,
        budget: &Budget,
    ) -> Result<Fate, Error> {
        let table = self.engine();
        let type_field = table.format().type_field;
        let rewrite = &self.rewrite;
        let mut decided: Option<Decided> = None;
        let (mut tries, mut collisions) = (0u32, 0u32);
        loop {
            if read.get(type_field).and_then(|v| v.as_s().ok()).map(String::as_str) != Some(Old::SCHEMA.name)
            {
                return Ok(Fate::Left);
            }
            if !self.due(&read) {
                self.counts.verified.fetch_add(1, Ordering::Relaxed);
                return Ok(Fate::Current);
            }
            if tries >= TRIES {
                tracing::warn!(migration = %self.job.ctx.version(), key = %describe_key(&table.key_of(&read)), tries, "an item in contention: left to the final passes");
                return Ok(Fate::Left);
            }
            // The transform runs once per image of the item.
            let same_image = decided.as_ref().is_some_and(|d| images_equal(&d.read, &read));
            if !same_image {
                decided = match self.decide(&read).await? {
                    Some(d) => Some(d),
                    None => return Ok(Fate::Left),
                };
            }
            let d = decided.as_ref().expect("decided above");
            if matches!(d.target, Target::Keep) && d.also.is_empty() {
                self.leave(&read);
                return Ok(Fate::Left);
            }
            budget.wait().await;
            // After any wait: a migrator that was paused meanwhile stops here.
            self.check_leases(lease)?;
            let (rewritten, units) =
                retrying("migration write", || rewrite.apply(&read, d.target.clone(), d.also.clone()))
                    .await?;
            budget.spend(units);
            self.counts.milli_units.fetch_add((units * 1000.0) as u64, Ordering::Relaxed);
            match rewritten {
                Rewritten::Done => {
                    if matches!(d.target, Target::Keep) {
                        self.leave(&read);
                        return Ok(Fate::Left);
                    }
                    self.counts.migrated.fetch_add(1, Ordering::Relaxed);
                    return Ok(Fate::Migrated);
                }
                Rewritten::Gone => return Ok(Fate::Left),
                Rewritten::Changed(now) => {
                    tries += 1;
                    read = now;
                }
                Rewritten::Conflict => {
                    tries += 1;
                    tokio::time::sleep(backoff(tries)).await;
                    match self.reread(table.key_of(&read)).await? {
                        Some(now) => read = now,
                        None => return Ok(Fate::Left),
                    }
                }
                Rewritten::Collision(occupant) => {
                    collisions += 1;
                    if collisions < COLLISION_TRIES {
                        tokio::time::sleep(backoff(collisions)).await;
                        match self.reread(table.key_of(&read)).await? {
                            Some(now) => read = now,
                            None => return Ok(Fate::Left),
                        }
                        continue;
                    }
                    let new_key = describe_key(&table.key_of(&occupant));
                    return self.conflict(
                        &read,
                        MigrateError::Collision {
                            version: self.job.ctx.version().to_string(),
                            entity: Old::SCHEMA.name,
                            key: describe_key(&table.key_of(&read)),
                            new_key,
                        },
                    );
                }
                Rewritten::Unique { field, value } => {
                    return self.conflict(
                        &read,
                        MigrateError::UniqueConflict {
                            version: self.job.ctx.version().to_string(),
                            entity: Old::SCHEMA.name,
                            key: describe_key(&table.key_of(&read)),
                            field,
                            value,
                        },
                    );
                }
            }
        }
    }

    /// What the transform makes of one image of an item: its target and the items
    /// made beside it. `None`: the item is left as it is (unreadable and skipped).
    async fn decide(&self, read: &Item) -> Result<Option<Decided>, Error> {
        let table = self.engine();
        let mut fields = read.clone();
        fields.remove(DESIGN_ATTRIBUTE);
        let old = match table.model::<Old>().from_item(fields) {
            Ok(old) => old,
            Err(e) if self.job.skip_unreadable => {
                let key = describe_key(&table.key_of(read));
                tracing::warn!(migration = %self.job.ctx.version(), key = %key, error = %e, "unreadable item skipped");
                self.job.ctx.tally().skip(key);
                self.leave(read);
                return Ok(None);
            }
            Err(e) => return Err(self.unreadable(read, e)),
        };
        let as_read = table.model::<Old>().to_item(&old)?;
        let change = (self.job.f)(old, table.clone()).await?;
        let target = match change.kind {
            Kind::Keep => Target::Keep,
            Kind::Remove => Target::Retire,
            Kind::Write(new) => {
                let mut item = table.model::<New>().to_item(&new)?;
                match self.mode_keeps_marker() {
                    true => match read.get(DESIGN_ATTRIBUTE) {
                        Some(marker) => item.insert(DESIGN_ATTRIBUTE.to_owned(), marker.clone()),
                        None => item.remove(DESIGN_ATTRIBUTE),
                    },
                    false => match self.target() {
                        Some(v) => item.insert(DESIGN_ATTRIBUTE.to_owned(), AttributeValue::S(v)),
                        None => item.remove(DESIGN_ATTRIBUTE),
                    },
                };
                self.rewrite.carry_over(read, &as_read, &mut item);
                match self.rewrite.moves(read, &item) {
                    true => Target::Move(item),
                    false => Target::InPlace(item),
                }
            }
        };
        Ok(Some(Decided { read: read.clone(), target, also: change.also }))
    }

    /// A refresh leaves the marker as it is.
    fn mode_keeps_marker(&self) -> bool {
        self.job.mode == super::run::Mode::Refresh
    }

    /// A collision or conflict: the item left as it is and listed, or the migration
    /// stopped, as chosen (left, when nothing was chosen: a plan found none).
    fn conflict(&self, read: &Item, e: MigrateError) -> Result<Fate, Error> {
        if self.job.conflicts == Some(Conflicts::Stop) {
            return Err(e.into());
        }
        tracing::warn!(migration = %self.job.ctx.version(), error = %e, "item left as it is");
        if let Ok(mut conflicts) = self.counts.conflicts.lock() {
            conflicts.push(e.to_string());
        }
        self.leave(read);
        Ok(Fate::Left)
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
}

/// Two images of an item hold the same values.
fn images_equal(a: &Item, b: &Item) -> bool {
    a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| same(v, w)))
}
