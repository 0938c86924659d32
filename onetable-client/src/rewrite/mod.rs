//! Rewriting one item as another form of its entity, only if it is still exactly what
//! was read: the migration engine's write, and the one a table makes when it upgrades
//! an item before a write of the current code (see [`TableBuilder::upgrade`]).
//!
//! Whoever else writes the table — this library's operations, batches and
//! transactions, or OneTable JS, which knows none of the attributes this library adds
//! — a rewrite must never undo an acknowledged write. So it is conditional on the item
//! as read ([`guard`](self) explains what is compared); when the item changed, DynamoDB
//! refuses the write and returns the item as it now is
//! (`ReturnValuesOnConditionCheckFailure`), and the caller rewrites that instead.
//!
//! Nothing the schema does not own is lost: attributes no form declares stay where
//! they are (an in-place rewrite does not touch them) or move with the item, keys of
//! a known map that the schema does not declare are kept, and a number whose value
//! did not change keeps its stored text.
//!
//! What the item becomes ([`Target`]) is written with everything that must change
//! with it, in one request: the item's unique-field sentinels (released and claimed),
//! and the items of other entities made beside it ([`Rewrite::apply`]'s `also`), which
//! are created only where nothing is stored yet. One write alone is a single request;
//! anything more is a transaction (which DynamoDB charges twice).
//!
//! [`TableBuilder::upgrade`]: crate::TableBuilder::upgrade

mod guard;
mod keep;
mod upgrade;

pub use guard::{Cover, Owned};
pub use keep::{same, stored, Maps};
pub(crate) use upgrade::upgrade;

use crate::keys::describe;
use crate::raw::{Call, Reason, Transacted, Write, Written};
use crate::table::Table;
use crate::unique::{claim, release, sentinel_key, unique_values_of};
use crate::write::Role;
use onetable_core::expr::Placeholders;
use onetable_core::{item_size, AttributeValue, EntitySchema, Error, Item};

/// What the item read becomes.
#[derive(Debug, Clone)]
pub enum Target {
    /// This item, written where the read one is (same key).
    InPlace(Item),
    /// This item, under another key: the item read is removed.
    Move(Item),
    /// Nothing: the item read is removed.
    Retire,
    /// The item read, unchanged (only the items made beside it are written).
    Keep,
}

/// What became of a rewrite.
#[derive(Debug, Clone, PartialEq)]
pub enum Rewritten {
    /// It landed.
    Done,
    /// Someone changed the item since it was read: here it is now.
    Changed(Item),
    /// The item is gone (removed, or moved by another writer).
    Gone,
    /// A move found its new key taken by another item (here it is): nothing was
    /// written.
    Collision(Item),
    /// A unique value the new form holds is another item's: nothing was written.
    Unique {
        /// The unique field.
        field: &'static str,
        /// The value.
        value: String,
    },
    /// Another request wrote one of the items at the same moment: read it and try
    /// again.
    Conflict,
}

/// Rewrites of items of one entity, from form `old` to form `new` (the same schema
/// when the form does not change).
pub struct Rewrite {
    table: Table,
    call: Call,
    old: &'static EntitySchema,
    new: &'static EntitySchema,
    owned: Owned,
    maps: Maps,
}

/// What a rewrite writes, and what each of its actions is.
struct Plan {
    writes: Vec<Write>,
    actions: Vec<Action>,
    /// The size of the items written, for the capacity a refusal costs.
    bytes: usize,
}

#[derive(Debug, Clone)]
enum Action {
    /// The item read (its update, delete or check).
    Read,
    /// The item under its new key.
    Moved,
    /// A sentinel claimed for a unique value.
    Claim { field: &'static str, value: String },
    /// A sentinel released.
    Release,
    /// An item made beside the one rewritten (`index` in `also`).
    Also(usize),
}

impl Rewrite {
    /// Rewrites of `old` items as `new` ones, their requests sent for `call`.
    pub fn new(table: &Table, call: Call, old: &'static EntitySchema, new: &'static EntitySchema) -> Self {
        Rewrite {
            owned: Owned::of(table, &[old, new]),
            maps: Maps::of(&[old, new]),
            table: table.clone(),
            call: call.with_capacity(),
            old,
            new,
        }
    }

    /// The attributes the two forms own.
    pub fn owned(&self) -> &Owned {
        &self.owned
    }

    /// The new form of an item, completed from the item read: its timestamps (a
    /// rewrite is no change of the item's data), the attributes no form owns, and, of
    /// the attributes it owns, those the transform left as they were — as stored, so
    /// that a number keeps every digit the entity's type would round off and a map
    /// keeps the keys the forms do not declare (a map the transform changed keeps
    /// them too). `as_read`: the entity read, as its old form writes it, which tells
    /// what the transform left as it was.
    pub fn carry_over(&self, read: &Item, as_read: &Item, new: &mut Item) {
        let (created, updated) = self.table.timestamp_attributes();
        for stamp in [created, updated] {
            if let (Some(value), true) = (read.get(stamp), new.contains_key(stamp)) {
                new.insert(stamp.to_owned(), value.clone());
            }
        }
        for (attribute, value) in read {
            if !self.owned.contains(attribute) && !new.contains_key(attribute) {
                new.insert(attribute.clone(), value.clone());
            }
        }
        let attributes: Vec<String> = new.keys().chain(read.keys()).cloned().collect();
        for attribute in attributes {
            if !self.owned.contains(&attribute) || [created, updated].contains(&attribute.as_str()) {
                continue;
            }
            let (stored, value) = (read.get(&attribute), new.get(&attribute));
            if let (Some(stored), Some(value)) = (stored, value) {
                if as_read.get(&attribute) == Some(value) {
                    new.insert(attribute, stored.clone());
                    continue;
                }
            }
            match self.maps.keep(&attribute, read.get(&attribute), new.remove(&attribute)) {
                Some(value) => new.insert(attribute, value),
                None => new.remove(&attribute),
            };
        }
    }

    /// True when `new` needs the key of the item read to change (a move).
    pub fn moves(&self, read: &Item, new: &Item) -> bool {
        self.table.key_of(read) != self.table.key_of(new)
    }

    /// Writes `target` in place of `read`, with `also` (items of other entities,
    /// created only where nothing is stored yet) and the unique sentinels the change
    /// moves — only if `read` is unchanged. Returns what became of it and the write
    /// units it consumed (a refused write is charged as DynamoDB charges it: the size
    /// of the items it would have written).
    pub async fn apply(
        &self,
        read: &Item,
        target: Target,
        mut also: Vec<Item>,
    ) -> Result<(Rewritten, f64), Error> {
        loop {
            let plan = self.plan(read, &target, &also)?;
            if plan.writes.is_empty() {
                return Ok((Rewritten::Done, 0.0));
            }
            let refused_units =
                write_units(plan.bytes) as f64 * if plan.writes.len() > 1 { 2.0 } else { 1.0 };
            if plan.writes.len() == 1 {
                let write = plan.writes.into_iter().next().expect("one write");
                return Ok(match self.table.raw().write(&self.call, write).await? {
                    Written::Done { units, .. } => (Rewritten::Done, units),
                    Written::Refused { current } => {
                        (current.map_or(Rewritten::Gone, Rewritten::Changed), refused_units)
                    }
                });
            }
            let reasons = match self.table.raw().transact(&self.call, plan.writes, None).await? {
                Transacted::Done { units } => return Ok((Rewritten::Done, units)),
                Transacted::Cancelled(reasons) => reasons,
            };
            let read_at = plan.actions.iter().position(|a| matches!(a, Action::Read));
            if let Some(reason) = read_at.and_then(|i| reasons.get(i)).filter(|r| r.is_condition_failed()) {
                let now = reason.item.clone();
                return Ok((now.map_or(Rewritten::Gone, Rewritten::Changed), refused_units));
            }
            let moved_at = plan.actions.iter().position(|a| matches!(a, Action::Moved));
            if let Some(reason) = moved_at.and_then(|i| reasons.get(i)).filter(|r| r.is_condition_failed()) {
                return Ok((Rewritten::Collision(reason.item.clone().unwrap_or_default()), refused_units));
            }
            // An item made beside this one exists already (a replay, or the
            // application's): it stands, and the rest is written without it.
            let taken: Vec<usize> = plan
                .actions
                .iter()
                .zip(&reasons)
                .filter_map(|(a, r)| match a {
                    Action::Also(i) if r.is_condition_failed() => Some(*i),
                    _ => None,
                })
                .collect();
            if !taken.is_empty() {
                also = also
                    .into_iter()
                    .enumerate()
                    .filter(|(i, _)| !taken.contains(i))
                    .map(|(_, item)| item)
                    .collect();
                continue;
            }
            for (action, reason) in plan.actions.iter().zip(&reasons) {
                if let (Action::Claim { field, value }, true) = (action, reason.is_condition_failed()) {
                    return Ok((Rewritten::Unique { field, value: value.clone() }, refused_units));
                }
            }
            if reasons.iter().any(|r| r.is_conflict() || r.is_transient()) {
                return Ok((Rewritten::Conflict, 0.0));
            }
            return Err(onetable_core::ErrorKind::TransactionCanceled {
                reasons: reasons.iter().map(Reason::describe).collect(),
            }
            .into());
        }
    }

    /// The writes of a rewrite.
    fn plan(&self, read: &Item, target: &Target, also: &[Item]) -> Result<Plan, Error> {
        let table = &self.table;
        let entity = self.call.entity();
        let mut writes = Vec::new();
        let mut actions = Vec::new();
        let mut bytes = 0;
        // The item's own write, guarded.
        let before = unique_values_of(self.old, read)?;
        let (own, after) = match target {
            Target::InPlace(new) => {
                bytes += item_size(new).max(item_size(read));
                (self.in_place(read, new)?, unique_values_of(self.new, new)?)
            }
            Target::Move(new) => {
                bytes += item_size(new) + item_size(read);
                let mut p = Placeholders::new();
                let absent = format!("attribute_not_exists({})", p.name(table.key_attributes().0));
                writes.push(Write::put(entity, new.clone()).condition(absent).placeholders(p));
                actions.push(Action::Moved);
                (
                    Some(self.guarded(Write::delete(entity, table.key_of(read)), read, Cover::Everything)?),
                    unique_values_of(self.new, new)?,
                )
            }
            Target::Retire => {
                bytes += item_size(read);
                (
                    Some(self.guarded(Write::delete(entity, table.key_of(read)), read, Cover::Owned)?),
                    Vec::new(),
                )
            }
            Target::Keep => (None, before.clone()),
        };
        // Unique values that go release their sentinel, new ones claim theirs.
        let mut sentinels: Vec<Write> = before
            .iter()
            .filter(|b| !after.iter().any(|a| a == *b))
            .map(|gone| release(table, self.old.name, gone))
            .collect();
        sentinels.extend(
            after
                .iter()
                .filter(|a| !before.iter().any(|b| b == *a))
                .map(|new| claim(table, self.new.name, new.clone())),
        );
        let check = own.is_none() && (!sentinels.is_empty() || !also.is_empty());
        match own {
            Some(write) => {
                writes.push(write);
                actions.push(Action::Read);
            }
            // Writes beside an item left as it is: only while it is still as read.
            None if check => {
                writes.push(self.guarded(Write::check(entity, table.key_of(read)), read, Cover::Owned)?);
                actions.push(Action::Read);
            }
            None => {}
        }
        for write in sentinels {
            let action = match &write.role {
                Role::Unique { field, value, .. } => Action::Claim { field, value: value.clone() },
                _ => Action::Release,
            };
            writes.push(write);
            actions.push(action);
        }
        let type_field = table.format().type_field;
        for (i, item) in also.iter().enumerate() {
            bytes += item_size(item);
            let mut p = Placeholders::new();
            let absent = format!("attribute_not_exists({})", p.name(table.key_attributes().0));
            writes.push(Write::put(entity, item.clone()).condition(absent).placeholders(p));
            actions.push(Action::Also(i));
            // Its unique values, claimed as its entity's create claims them.
            let schema = item.get(type_field).and_then(|v| v.as_s().ok()).and_then(|n| table.entity_named(n));
            if let Some(schema) = schema {
                for unique in unique_values_of(schema, item)? {
                    let (field, value) = (unique.field.name, unique.value.clone());
                    writes.push(claim(table, schema.name, unique));
                    actions.push(Action::Claim { field, value });
                }
            }
        }
        Ok(Plan { writes, actions, bytes })
    }

    /// The item's update in place: sets what changed, removes the owned attributes
    /// the new form no longer has, leaves every other attribute alone. `None` when
    /// nothing changes.
    fn in_place(&self, read: &Item, new: &Item) -> Result<Option<Write>, Error> {
        let (hash, sort) = self.table.key_attributes();
        let is_key = |a: &str| a == hash || sort == Some(a);
        let mut p = Placeholders::new();
        let mut set: Vec<(&String, &AttributeValue)> =
            new.iter().filter(|(a, v)| !is_key(a) && !read.get(*a).is_some_and(|r| same(r, v))).collect();
        set.sort_by(|a, b| a.0.cmp(b.0));
        let mut removed: Vec<&String> =
            read.keys().filter(|a| !is_key(a) && self.owned.contains(a) && !new.contains_key(*a)).collect();
        removed.sort();
        if set.is_empty() && removed.is_empty() {
            return Ok(None);
        }
        let mut clauses = Vec::new();
        if !set.is_empty() {
            let sets: Vec<String> =
                set.into_iter().map(|(a, v)| format!("{} = {}", p.name(a), p.value(v.clone()))).collect();
            clauses.push(format!("SET {}", sets.join(", ")));
        }
        if !removed.is_empty() {
            let names: Vec<String> = removed.into_iter().map(|a| p.name(a).into_owned()).collect();
            clauses.push(format!("REMOVE {}", names.join(", ")));
        }
        let guard = guard::guard(&self.table, read, &self.owned, Cover::Owned, &mut p)?;
        let write = Write::update(self.call.entity(), self.table.key_of(read), clauses.join(" "));
        Ok(Some(write.condition(guard.condition).placeholders(p)))
    }

    /// `write` on condition that `read` is unchanged.
    fn guarded(&self, write: Write, read: &Item, cover: Cover) -> Result<Write, Error> {
        let mut p = Placeholders::new();
        let guard = guard::guard(&self.table, read, &self.owned, cover, &mut p)?;
        if !guard.whole {
            tracing::info!(
                entity = self.old.name,
                key = %describe(&self.table.key_of(read)),
                "an item too wide to guard whole: its owned attributes are guarded"
            );
        }
        Ok(write.condition(guard.condition).placeholders(p))
    }

    /// True when the guard of a move of `read` compares every attribute (see the
    /// guide: wider items are moved with their owned attributes guarded).
    pub fn guards_whole(&self, read: &Item) -> Result<bool, Error> {
        let mut p = Placeholders::new();
        Ok(guard::guard(&self.table, read, &self.owned, Cover::Everything, &mut p)?.whole)
    }

    /// The key of the sentinel of each unique value of `item` (of the new form).
    pub fn sentinels_of(&self, item: &Item) -> Result<Vec<(&'static str, String, Item)>, Error> {
        Ok(unique_values_of(self.new, item)?
            .into_iter()
            .map(|u| {
                let key = sentinel_key(&self.table, self.new.name, &u);
                (u.field.name, u.value, key)
            })
            .collect())
    }
}

/// The write units a write of an item of `bytes` costs: one per kilobyte begun (a
/// transaction's actions cost twice that).
pub fn write_units(bytes: usize) -> u64 {
    bytes.div_ceil(1024).max(1) as u64
}
