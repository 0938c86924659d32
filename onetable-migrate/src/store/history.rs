//! The migration history, kept in the table as OneTable's `_Migration` items, field for
//! field as onetable-migrate (the library OneTable's CLI runs) writes them — pk
//! `_migration`, sk `_migration:<version>:<date>`, `version`, `date`, `description`,
//! `path`, `status` (`success`, or the error's message) and the table's timestamps —
//! with onetable's own attributes beside them: checksum, duration, items processed,
//! and the error of a failed run.

use super::lease::{Fence, BOOKKEEPING};
use onetable_client::raw::{Call, Write};
use onetable_client::Table;
use onetable_core::{AttributeValue, Error, Item, Version};
use std::time::SystemTime;

pub(crate) const PK: &str = onetable_client::HISTORY_PARTITION;

/// How a recorded migration ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// It ran to the end.
    Applied,
    /// It failed (or its runner died): `up` refuses to go on until it is retried or
    /// repaired.
    Failed,
    /// A data migration of it ended with items still in the old form: not applied,
    /// not failed; the next `up` resumes it.
    Incomplete,
}

/// One migration in the history.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Record {
    /// The migration's version.
    pub version: Version,
    /// Its description.
    pub description: String,
    /// When it started (ISO-8601).
    pub date: String,
    /// How it ended.
    pub outcome: Outcome,
    /// The checksum of the migration as it ran.
    pub checksum: String,
    /// How long it ran, in milliseconds.
    pub duration_ms: u64,
    /// Items a data migration processed.
    pub items: u64,
    /// Items a data migration's final pass found already in the new form.
    pub verified: u64,
    /// Keys of items a data migration skipped as unreadable (the first hundred).
    pub skipped: Vec<String>,
    /// Why it failed.
    pub error: Option<String>,
    /// The file the migration was declared in (within its migrations directory), or
    /// `memory` when it was built in code, as onetable-migrate records it.
    pub path: String,
    pub(crate) sort_key: String,
}

/// The `status` of a migration that ran to the end, as onetable-migrate writes it (a
/// failed one's status is its error message).
const SUCCESS: &str = "success";

/// The `status` of a migration whose data migration ended with items still in the old
/// form (onetable-migrate reads any status but `success` as a failure).
const INCOMPLETE: &str = "incomplete";

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn iso(t: SystemTime) -> String {
    match onetable_core::Format::ONETABLE.with_iso_dates(true).date(t) {
        AttributeValue::S(s) => s,
        _ => String::new(),
    }
}

impl Record {
    pub(crate) fn new(
        table: &Table,
        version: Version,
        description: &str,
        checksum: &str,
        path: &str,
    ) -> Record {
        let now = SystemTime::now();
        // The date in the sort key as OneTable writes a date into a template: epoch
        // milliseconds, or ISO-8601 when the table writes ISO dates.
        let in_key = match table.format().date(now) {
            AttributeValue::S(text) | AttributeValue::N(text) => text,
            _ => String::new(),
        };
        Record {
            sort_key: format!("{PK}:{version}:{in_key}"),
            path: path.to_owned(),
            date: iso(now),
            version,
            description: description.to_owned(),
            outcome: Outcome::Failed,
            checksum: checksum.to_owned(),
            duration_ms: 0,
            items: 0,
            verified: 0,
            skipped: Vec::new(),
            error: None,
        }
    }

    fn to_item(&self, table: &Table) -> Item {
        let mut item = table.key_from_text(PK, &self.sort_key);
        item.insert(table.format().type_field.to_owned(), s("_Migration"));
        item.insert("version".into(), s(&self.version.to_string()));
        // A Date to OneTable: written as the table writes dates.
        let started = <SystemTime as onetable_core::Value>::from_attr(s(&self.date))
            .unwrap_or_else(|_| SystemTime::now());
        let date = table.format().date(started);
        // onetable-migrate's records are items of a OneTable model, which the table's
        // timestamps apply to.
        let timestamps = table.default_timestamps();
        let (created, updated) = table.timestamp_attributes();
        if timestamps.created() {
            item.insert(created.to_owned(), date.clone());
        }
        if timestamps.updated() {
            item.insert(updated.to_owned(), date.clone());
        }
        item.insert("date".into(), date);
        item.insert("path".into(), s(&self.path));
        item.insert("description".into(), s(&self.description));
        let status = match (self.outcome, &self.error) {
            (Outcome::Applied, _) => SUCCESS,
            (Outcome::Failed, Some(e)) => e,
            (Outcome::Failed, None) => "failed",
            (Outcome::Incomplete, _) => INCOMPLETE,
        };
        item.insert("status".into(), s(status));
        item.insert("checksum".into(), s(&self.checksum));
        item.insert("duration".into(), AttributeValue::N(self.duration_ms.to_string()));
        item.insert("items".into(), AttributeValue::N(self.items.to_string()));
        item.insert("verified".into(), AttributeValue::N(self.verified.to_string()));
        if !self.skipped.is_empty() {
            let keys = self.skipped.iter().take(100).map(|k| s(k)).collect();
            item.insert("skipped".into(), AttributeValue::L(keys));
        }
        if let Some(e) = &self.error {
            item.insert("error".into(), s(e));
        }
        item
    }

    pub(crate) fn from_item(table: &Table, item: &Item) -> Option<Record> {
        let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
        let number =
            |name: &str| item.get(name).and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok()).unwrap_or(0);
        let sort_key =
            table.key_attributes().1.and_then(|s| item.get(s)).and_then(|v| v.as_s().ok()).cloned()?;
        Some(Record {
            version: Version::parse(&text("version")?).ok()?,
            description: text("description").unwrap_or_default(),
            date: item
                .get("date")
                .and_then(|d| <SystemTime as onetable_core::Value>::from_attr(d.clone()).ok())
                .map(iso)
                .unwrap_or_default(),
            // onetable-migrate writes `success` or the error's message; earlier onetable
            // versions wrote `applied` or `failed`.
            outcome: match text("status").as_deref() {
                Some(SUCCESS | "applied") | None => Outcome::Applied,
                Some(INCOMPLETE) => Outcome::Incomplete,
                Some(_) => Outcome::Failed,
            },
            checksum: text("checksum").unwrap_or_default(),
            duration_ms: number("duration"),
            items: number("items"),
            verified: number("verified"),
            skipped: item
                .get("skipped")
                .and_then(|v| v.as_l().ok())
                .map(|l| l.iter().filter_map(|k| k.as_s().ok().cloned()).collect())
                .unwrap_or_default(),
            error: text("error")
                .or_else(|| text("status").filter(|s| !matches!(s.as_str(), SUCCESS | "applied" | "failed"))),
            path: text("path").unwrap_or_default(),
            sort_key,
        })
    }

    /// Writes the record; under a lock, only while the lock is still held.
    pub(crate) async fn save(&self, table: &Table, fence: Option<&Fence>) -> Result<(), Error> {
        let item = self.to_item(table);
        if let Some(fence) = fence {
            return fence.write(Write::put(BOOKKEEPING, item)).await;
        }
        table
            .raw()
            .write(&Call::new("migration history", BOOKKEEPING), Write::put(BOOKKEEPING, item))
            .await?;
        Ok(())
    }

    pub(crate) async fn delete(&self, table: &Table, fence: &Fence) -> Result<(), Error> {
        fence.write(Write::delete(BOOKKEEPING, table.key_from_text(PK, &self.sort_key))).await
    }
}

/// The bookkeeping items (pk `_migration`) whose sort key starts with `prefix`, read
/// strongly consistently, every page.
pub(crate) async fn bookkeeping(table: &Table, prefix: &str) -> Result<Vec<Item>, Error> {
    let call = Call::new("migration history", BOOKKEEPING);
    let raw = table.raw();
    crate::retry::retrying("migration history", || raw.query_prefix(&call, PK, prefix)).await
}

/// Every recorded migration, oldest version first (a version run twice: its latest
/// record).
pub(crate) async fn load(table: &Table) -> Result<Vec<Record>, Error> {
    let items = match bookkeeping(table, &format!("{PK}:")).await {
        Ok(items) => items,
        // The first migration usually creates the table: no table, no history yet.
        Err(e) if matches!(e.kind(), onetable_core::ErrorKind::TableNotFound { .. }) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut records: Vec<Record> = items.iter().filter_map(|i| Record::from_item(table, i)).collect();
    records.sort_by(|a, b| (&a.version, &a.date).cmp(&(&b.version, &b.date)));
    let mut latest: Vec<Record> = Vec::new();
    for r in records {
        match latest.last_mut() {
            Some(last) if last.version == r.version => *last = r,
            _ => latest.push(r),
        }
    }
    Ok(latest)
}
