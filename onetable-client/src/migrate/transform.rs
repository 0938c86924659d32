//! Data migrations: every item of an entity rewritten as another, read in parallel
//! segments. Each page's writes and the segment's checkpoint (where its scan stands)
//! are committed in one transaction, so a killed migration resumes exactly where it
//! stopped and no item is written twice.

use super::history::PK;
use super::{Context, Version};
use crate::cursor::Cursor;
use crate::error::sdk;
use crate::model::key_of;
use crate::table::Table;
use crate::transact::{self, Op, Role, Write};
use onetable_core::{AttributeValue, Entity, Error, ErrorKind, Item};
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// At most this many items a page: each may need a put and a delete, and the checkpoint
/// takes one more action of the transaction's 100.
const PAGE: i32 = 48;

/// Rewrites every `Old` item as a `New` (see [`Context::transform`]).
#[must_use = "call .run().await"]
pub struct Transform<Old, New> {
    ctx: Context,
    name: String,
    f: Arc<dyn Fn(Old) -> Option<New> + Send + Sync>,
    segments: u32,
    rate: Option<f64>,
    marker: PhantomData<fn() -> (Old, New)>,
}

impl Context {
    /// Rewrites every item of entity `Old` as what `f` returns (`None` leaves the item
    /// as it is). When the key changes (a re-key), the new item is written and the old
    /// one removed in the same transaction. `name` tells this transform's checkpoints
    /// apart from others of the same migration.
    pub fn transform<Old: Entity, New: Entity>(
        &self,
        name: &str,
        f: impl Fn(Old) -> Option<New> + Send + Sync + 'static,
    ) -> Transform<Old, New> {
        Transform {
            ctx: self.clone(),
            name: name.to_owned(),
            f: Arc::new(f),
            segments: 4,
            rate: None,
            marker: PhantomData,
        }
    }
}

impl<Old: Entity, New: Entity> Transform<Old, New> {
    /// How many segments are read in parallel (4 by default).
    pub fn segments(mut self, n: u32) -> Self {
        self.segments = n.max(1);
        self
    }

    /// At most `items` items a second over all segments, to leave capacity to the
    /// application's own traffic.
    pub fn rate_limit(mut self, items: f64) -> Self {
        self.rate = Some(items.max(1.0));
        self
    }

    /// Runs every segment to its end; returns the items rewritten (in a dry run: that
    /// would be rewritten, writing nothing).
    pub async fn run(self) -> Result<u64, Error> {
        let this = Arc::new(self);
        let label = format!("migration {} {}", this.ctx.version, this.name);
        let progress =
            Arc::new(super::progress::Progress::start(&this.ctx.table, label, this.ctx.dry_run).await);
        let segments = (0..this.segments).map(|segment| {
            let (this, progress) = (this.clone(), progress.clone());
            async move { this.segment(segment, &progress).await }
        });
        let counts = futures_util::future::try_join_all(segments).await;
        progress.finish();
        let counts = counts?;
        let total: u64 = counts.iter().sum();
        this.ctx.count(total);
        Ok(total)
    }

    fn checkpoint_key(&self, segment: u32) -> Item {
        let sk = format!(
            "_checkpoint:{}:{}:{}:{segment}/{}",
            self.ctx.version, self.ctx.direction, self.name, self.segments
        );
        self.ctx.table.raw_key(PK, &sk)
    }

    async fn segment(&self, segment: u32, progress: &super::progress::Progress) -> Result<u64, Error> {
        let table = &self.ctx.table;
        let t = &table.inner;
        let checkpoint_key = self.checkpoint_key(segment);
        // Where this segment stands, from a previous run that was stopped.
        let saved = t
            .client
            .get_item()
            .table_name(&t.name)
            .set_key(Some(checkpoint_key.clone()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk("migration checkpoint", &t.name, e))?
            .item
            .unwrap_or_default();
        if saved.get("done") == Some(&AttributeValue::Bool(true)) {
            return Ok(0);
        }
        let mut start = match saved.get("cursor") {
            Some(AttributeValue::S(c)) => Some(Cursor::from(c.clone()).to_key()?),
            _ => None,
        };
        let mut processed: u64 =
            saved.get("items").and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok()).unwrap_or(0);
        let resumed_at = processed;
        let old_templates: Vec<_> = Old::SCHEMA.primary().key_attributes().collect();
        let started = Instant::now();
        let share = self.rate.map(|r| r / f64::from(self.segments));
        let new_model = table.model::<New>();
        let version = Old::SCHEMA.fields.iter().find(|f| f.version);
        loop {
            let out = t
                .client
                .scan()
                .table_name(&t.name)
                .segment(segment as i32)
                .total_segments(self.segments as i32)
                .filter_expression("#t = :t")
                .expression_attribute_names("#t", t.format.type_field)
                .expression_attribute_values(":t", AttributeValue::S(Old::SCHEMA.name.to_owned()))
                .set_exclusive_start_key(start.clone())
                .limit(PAGE)
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| sdk("migration scan", &t.name, e))?;
            let last = out.last_evaluated_key;
            // The writes of each item, kept together: an item the application moved
            // meanwhile is dropped as a whole.
            let mut groups: Vec<Vec<Write>> = Vec::new();
            for mut item in out.items.unwrap_or_default() {
                // An item already in the new key form (a re-key keeps the entity name)
                // is not an Old item.
                let old_form = old_templates.iter().all(
                    |k| matches!(item.get(k.attribute), Some(AttributeValue::S(v)) if k.template.matches(v)),
                );
                if !old_form {
                    continue;
                }
                let old_key = key_of(table, &item);
                let old_version = version.and_then(|f| item.get(f.attribute).cloned());
                item.remove(t.format.type_field);
                let Some(new) = (self.f)(Old::from_item(item)?) else { continue };
                if self.ctx.dry_run {
                    groups.push(Vec::new());
                    continue;
                }
                let new_item = new_model.item_for_write(&new, false)?;
                let new_key = key_of(table, &new_item);
                let group = if new_key != old_key {
                    // A re-key: the new item must not exist yet (the application may
                    // have written it) and the old one must still be there.
                    vec![
                        guarded(Op::Put(new_item), "attribute_not_exists", table, &new_key, New::SCHEMA.name),
                        guarded(
                            Op::Delete(old_key.clone()),
                            "attribute_exists",
                            table,
                            &old_key,
                            Old::SCHEMA.name,
                        ),
                    ]
                } else if let (Some(field), Some(v)) = (version, old_version) {
                    // In place, with a version: only over the version read.
                    let mut w = plain(Op::Put(new_item), New::SCHEMA.name, table, &new_key);
                    w.condition = Some("#v = :v".into());
                    w.names = Some(HashMap::from([("#v".to_owned(), field.attribute.to_owned())]));
                    w.values = Some(HashMap::from([(":v".to_owned(), v)]));
                    vec![w]
                } else {
                    vec![plain(Op::Put(new_item), New::SCHEMA.name, table, &new_key)]
                };
                groups.push(group);
            }
            let mut page_items = groups.len() as u64;
            if !self.ctx.dry_run && (page_items > 0 || last.is_none()) {
                let mut checkpoint = checkpoint_key.clone();
                checkpoint
                    .insert(t.format.type_field.to_owned(), AttributeValue::S("_MigrationCheckpoint".into()));
                match &last {
                    Some(key) => {
                        checkpoint.insert(
                            "cursor".into(),
                            AttributeValue::S(Cursor::from_key(key).as_str().to_owned()),
                        );
                    }
                    None => {
                        checkpoint.insert("done".into(), AttributeValue::Bool(true));
                    }
                }
                loop {
                    page_items = groups.len() as u64;
                    let mut with_count = checkpoint.clone();
                    with_count
                        .insert("items".into(), AttributeValue::N((processed + page_items).to_string()));
                    let owners: Vec<usize> =
                        groups.iter().enumerate().flat_map(|(g, ws)| ws.iter().map(move |_| g)).collect();
                    let mut writes: Vec<Write> = groups.iter().flatten().cloned().collect();
                    writes.push(plain(Op::Put(with_count), "_MigrationCheckpoint", table, &checkpoint_key));
                    match transact::run_or_conflicts(table, writes).await? {
                        Ok(()) => break,
                        Err(failed) => {
                            // Items the application changed since this page was read:
                            // its newer write stands; the rest of the page goes again.
                            let dropped: std::collections::HashSet<usize> =
                                failed.iter().filter_map(|i| owners.get(*i).copied()).collect();
                            if dropped.is_empty() {
                                return Err(
                                    ErrorKind::Schema("a migration checkpoint write failed".into()).into()
                                );
                            }
                            groups = groups
                                .into_iter()
                                .enumerate()
                                .filter(|(g, _)| !dropped.contains(g))
                                .map(|(_, w)| w)
                                .collect();
                        }
                    }
                }
            }
            processed += page_items;
            progress.advance(page_items);
            tracing::info!(
                migration = %self.ctx.version, transform = %self.name, segment, items = processed,
                rate = (processed - resumed_at) as f64 / started.elapsed().as_secs_f64().max(1e-3),
                "data migration progress"
            );
            match last {
                Some(key) => start = Some(key),
                None => return Ok(processed - resumed_at),
            }
            if let Some(rate) = share {
                let due = Duration::from_secs_f64((processed - resumed_at) as f64 / rate);
                if let Some(wait) = due.checked_sub(started.elapsed()) {
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }
}

fn guarded(op: Op, function: &str, table: &Table, key: &Item, entity: &'static str) -> Write {
    let mut w = plain(op, entity, table, key);
    w.condition = Some(format!("{function}(#h)"));
    w.names = Some(HashMap::from([("#h".to_owned(), table.inner.hash.clone())]));
    w
}

fn plain(op: Op, entity: &'static str, table: &Table, key: &Item) -> Write {
    let role = Role::Item {
        entity,
        operation: "migrate",
        key: crate::model::KeyValues::of(table, key),
        version: None,
        create: false,
    };
    Write { op, condition: None, names: None, values: None, role }
}

/// Removes a migration's checkpoints once it has run (so that it can run again).
pub(crate) async fn clear_checkpoints(table: &Table, version: &Version) -> Result<(), Error> {
    let t = &table.inner;
    let Some(sort) = &t.sort else { return Ok(()) };
    let out = t
        .client
        .query()
        .table_name(&t.name)
        .key_condition_expression("#h = :h AND begins_with(#s, :p)")
        .expression_attribute_names("#h", &t.hash)
        .expression_attribute_names("#s", sort)
        .expression_attribute_values(":h", AttributeValue::S(PK.into()))
        .expression_attribute_values(":p", AttributeValue::S(format!("_checkpoint:{version}:")))
        .send()
        .await
        .map_err(|e| sdk("migration checkpoint", &t.name, e))?;
    for item in out.items.unwrap_or_default() {
        table.delete_raw(key_of(table, &item), "migration checkpoint").await?;
    }
    Ok(())
}
