//! The plan of a data migration, made before anything is written: every item read and
//! transformed, nothing written, and what the migration would meet reported — the
//! items in each form, those that would not read, the re-key collisions, the unique
//! conflicts, the items too wide to guard whole, and the write units and time it
//! would take at its rate limit. A dry run reports it; a migration that can meet
//! collisions or conflicts, and was not told what to do with them, makes it first and
//! refuses to start if it finds any.

use super::change::Kind;
use super::run::Run;
use onetable_client::raw::Call;
use onetable_client::rewrite::{write_units, Rewrite};
use onetable_client::{describe_key, DESIGN_ATTRIBUTE};
use onetable_core::{item_size, AttributeValue, Entity, Error, Item};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// What a data migration would do, found by reading every item of its entity.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Plan {
    /// The entity migrated.
    pub entity: &'static str,
    /// The transform.
    pub transform: String,
    /// The entity's items by the design they are in (`""`: the first, unmarked).
    pub forms: BTreeMap<String, u64>,
    /// The items the migration would rewrite.
    pub due: u64,
    /// Keys of the items that do not read as the entity (they stop the migration, or
    /// are skipped with `skip_unreadable`).
    pub unreadable: Vec<String>,
    /// Items whose new key another item holds, or another item of the migration would
    /// take too: `old key → new key`.
    pub collisions: Vec<String>,
    /// Items whose new form would take a unique value another item holds (or another
    /// new form takes too): `key: field = value`.
    pub conflicts: Vec<String>,
    /// Keys of the items a re-key moves with their owned attributes guarded (too many
    /// attributes to guard whole in one condition; see the guide).
    pub wide: Vec<String>,
    /// For an index keyed on the items' own attributes: keys of the items DynamoDB
    /// would leave out of it because an attribute holds another type than the key's
    /// (`key: field is S, the index reads N`). Once the index exists, a write that
    /// keeps such a value is refused.
    pub unindexed: Vec<String>,
    /// The write units the rewrites would consume (transactions counted twice).
    pub write_units: f64,
    /// How long that takes at the migration's rate limit (`None`: no limit).
    pub duration: Option<Duration>,
}

impl Plan {
    /// The collisions and conflicts, each naming its items.
    pub fn conflicting(&self) -> Vec<String> {
        self.collisions.iter().chain(&self.conflicts).cloned().collect()
    }

    /// Makes the plan of `run`: reads every item, transforms each one due, writes
    /// nothing.
    pub(super) async fn of<Old: Entity, New: Entity>(run: &Run<Old, New>) -> Result<Plan, Error> {
        let table = run.engine();
        let rewrite: &Rewrite = &run.rewrite;
        let call = Call::new("migration plan", Old::SCHEMA.name).migration(run.job.ctx.version().to_string());
        let mut plan = Plan { entity: Old::SCHEMA.name, transform: run.job.name.clone(), ..Plan::default() };
        // New key → the item moving there; new unique sentinel → the item taking it.
        let mut new_keys: HashMap<String, String> = HashMap::new();
        let mut claims: HashMap<String, String> = HashMap::new();
        for segment in 0..run.job.segments {
            let mut start = None;
            loop {
                let (items, last) = run.scan_as(segment, start, false).await?;
                // What this page's new keys and sentinels meet is read at the end of
                // the page, 100 keys a request.
                let mut checks: Vec<Check> = Vec::new();
                for read in items {
                    let form = match read.get(DESIGN_ATTRIBUTE) {
                        Some(AttributeValue::S(m)) => m.clone(),
                        _ => String::new(),
                    };
                    *plan.forms.entry(form).or_default() += 1;
                    if !run.due(&read) {
                        continue;
                    }
                    plan.due += 1;
                    let key = describe_key(&table.key_of(&read));
                    let mut fields = read.clone();
                    fields.remove(DESIGN_ATTRIBUTE);
                    let old = match table.model::<Old>().from_item(fields) {
                        Ok(old) => old,
                        Err(e) => {
                            plan.unreadable.push(format!("{key}: {e}"));
                            continue;
                        }
                    };
                    let change = (run.job.f)(old, table.clone()).await?;
                    let also: u64 = change.also.iter().map(|i| write_units(item_size(i))).sum();
                    let new = match change.kind {
                        Kind::Keep => continue,
                        Kind::Remove => {
                            plan.write_units += write_units(item_size(&read)) as f64;
                            continue;
                        }
                        Kind::Write(new) => table.model::<New>().to_item(&new)?,
                    };
                    let moves = rewrite.moves(&read, &new);
                    if moves {
                        let new_key = describe_key(&table.key_of(&new));
                        match new_keys.insert(new_key.clone(), key.clone()) {
                            Some(other) => {
                                plan.collisions.push(format!("{key} → {new_key} (held by {other})"))
                            }
                            None => checks.push(Check::Key {
                                read: table.key_of(&new),
                                key: key.clone(),
                                new_key,
                            }),
                        }
                        if !rewrite.guards_whole(&read)? {
                            plan.wide.push(key.clone());
                        }
                    }
                    let mut transaction = moves || also > 0;
                    let before: Vec<(&str, String)> = rewrite
                        .sentinels_of(&read)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(f, v, _)| (f, v))
                        .collect();
                    for (field, value, sentinel) in rewrite.sentinels_of(&new)? {
                        if before.iter().any(|(f, v)| *f == field && *v == value) {
                            continue;
                        }
                        transaction = true;
                        match claims.insert(describe_key(&sentinel), key.clone()) {
                            Some(other) => {
                                plan.conflicts.push(format!("{key}: {field} = {value:?} (held by {other})"))
                            }
                            None => {
                                checks.push(Check::Unique { read: sentinel, key: key.clone(), field, value })
                            }
                        }
                    }
                    let size = item_size(&new).max(item_size(&read));
                    let writes = if moves {
                        write_units(item_size(&new)) + write_units(item_size(&read))
                    } else {
                        write_units(size)
                    };
                    let factor = if transaction { 2 } else { 1 };
                    plan.write_units += (factor * (writes + also)) as f64;
                }
                let keys = checks.iter().map(|c| c.read().clone()).collect();
                // What holds each key, not all of it: keys and type only.
                let found = table.raw().get_many(&call, keys, &[table.format().type_field]).await?;
                for check in checks {
                    let occupant = found.get(&describe_key(check.read()));
                    match check {
                        Check::Key { key, new_key, .. } => {
                            if let Some(other) = occupant.and_then(|o| foreign(run, o)) {
                                plan.collisions.push(format!("{key} → {new_key} (held by {other})"));
                            }
                        }
                        Check::Unique { key, field, value, .. } => {
                            if occupant.is_some() {
                                plan.conflicts
                                    .push(format!("{key}: {field} = {value:?} (held by another item)"));
                            }
                        }
                    }
                }
                match last {
                    Some(key) => start = Some(key),
                    None => break,
                }
            }
        }
        plan.duration = run.job.rate.map(|rate| Duration::from_secs_f64(plan.write_units / rate));
        Ok(plan)
    }
}

/// A key the plan reads to know whether a due item's new form can take it.
enum Check {
    /// The new key of a moving item (`key`).
    Key { read: Item, key: String, new_key: String },
    /// The unique sentinel the new form of `key` claims.
    Unique { read: Item, key: String, field: &'static str, value: String },
}

impl Check {
    fn read(&self) -> &Item {
        match self {
            Check::Key { read, .. } | Check::Unique { read, .. } => read,
        }
    }
}

/// The key of `occupant` when it is an item of another entity. An item of this entity
/// is no collision the plan can tell: one due to move moves first (or the migration
/// meets it and retries), and one in the new form is the new form the application
/// writes for this very item under the re-key's contract (it removes the old form in
/// the same request); two items moving to one key are found by the plan itself.
fn foreign<Old: Entity, New: Entity>(run: &Run<Old, New>, occupant: &Item) -> Option<String> {
    let table = run.engine();
    let entity = occupant.get(table.format().type_field).and_then(|v| v.as_s().ok()).map(String::as_str);
    if entity == Some(Old::SCHEMA.name) || entity == Some(New::SCHEMA.name) {
        return None;
    }
    Some(describe_key(&table.key_of(occupant)))
}
