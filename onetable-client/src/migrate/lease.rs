//! Leases on items of the table: the migration lock, and each segment of a data
//! migration that several workers share (the pattern of the Kinesis Client Library:
//! owner, expiry, a counter bumped by every take, a checkpoint).
//!
//! A lease alone cannot keep a paused process (a GC pause, a frozen VM, a process
//! stopped with SIGSTOP) from writing after another one took over: it wakes up
//! believing it still holds it. So a lease carries an **epoch** that grows with every
//! take, and every write made under it goes through its [`Fence`]: conditional on the
//! lease item still naming this owner and epoch. DynamoDB refuses the write once
//! another process took the lease. The fence also stops trusting the lease locally
//! once no renewal got through in time, so a woken process stops before it sends
//! anything.

use crate::error::{is_condition_failed, sdk};
use crate::table::Table;
use crate::write::{self, Op, Role, Write};
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};
use onetable_core::{AttributeValue, Error, ErrorKind, Item};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub(crate) fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// How long after a renewal was sent this process still trusts its lease: a little
/// less than the lease, so that it stops before another process (whose clock may run
/// a little ahead) can take over.
fn trusted(lease: Duration) -> Duration {
    lease - lease / 10
}

/// The proof that this process holds a lease: the item, owner and epoch. Shared by the
/// heartbeat, which renews it, and every task that writes under it.
pub(crate) struct Fence {
    table: Table,
    key: Item,
    what: String,
    owner: String,
    epoch: u64,
    lost: AtomicBool,
    valid_until: Mutex<Instant>,
}

/// The outcome of [`take`].
pub(crate) enum Take {
    /// Ours, with the lease item as it is now.
    Taken(Arc<Fence>, Item),
    /// Held by another live owner (the item as it is), or not takeable.
    Refused(Option<Item>),
}

/// Takes the lease on the item with `key` for `lease`, under a new epoch: when it has
/// no owner or its lease expired. `must_exist`: only an existing item that is not
/// marked done (a segment: tasks of one process must not take the same one twice);
/// else the item is created if absent, and an owner of the same name takes it back at
/// once (the lock: a migrator restarted under a fixed name). `set` adds attributes.
pub(crate) async fn take(
    table: &Table,
    key: Item,
    what: String,
    owner: &str,
    lease: Duration,
    must_exist: bool,
    set: &[(&str, AttributeValue)],
) -> Result<Take, Error> {
    let t = &table.inner;
    let sent = Instant::now();
    let mut names = HashMap::from([
        ("#o".to_owned(), "owner".to_owned()),
        ("#e".to_owned(), "expires".to_owned()),
        ("#ep".to_owned(), "epoch".to_owned()),
    ]);
    let mut values = HashMap::from([
        (":me".to_owned(), AttributeValue::S(owner.to_owned())),
        (":e".to_owned(), AttributeValue::N((now_ms() + lease.as_millis() as i64).to_string())),
        (":now".to_owned(), AttributeValue::N(now_ms().to_string())),
        (":one".to_owned(), AttributeValue::N("1".into())),
    ]);
    let mut assignments = vec!["#o = :me".to_owned(), "#e = :e".to_owned()];
    for (i, (name, value)) in set.iter().enumerate() {
        names.insert(format!("#s{i}"), (*name).to_owned());
        values.insert(format!(":s{i}"), value.clone());
        assignments.push(format!("#s{i} = :s{i}"));
    }
    let mut condition = "(attribute_not_exists(#o) OR #e < :now OR #o = :me)".to_owned();
    if must_exist {
        condition = "(attribute_not_exists(#o) OR #e < :now)".to_owned();
        names.insert("#h".into(), t.hash.clone());
        names.insert("#done".into(), "done".into());
        values.insert(":true".into(), AttributeValue::Bool(true));
        condition = format!("attribute_exists(#h) AND NOT #done = :true AND {condition}");
    }
    let result = t
        .client
        .update_item()
        .table_name(&t.name)
        .set_key(Some(key.clone()))
        .update_expression(format!("SET {} ADD #ep :one", assignments.join(", ")))
        .condition_expression(condition)
        .set_expression_attribute_names(Some(names))
        .set_expression_attribute_values(Some(values))
        .return_values(ReturnValue::AllNew)
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await;
    match result {
        Ok(out) => {
            let item = out.attributes.unwrap_or_default();
            let epoch =
                item.get("epoch").and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok()).unwrap_or(1);
            let fence = Arc::new(Fence {
                table: table.clone(),
                key,
                what,
                owner: owner.to_owned(),
                epoch,
                lost: AtomicBool::new(false),
                valid_until: Mutex::new(sent + trusted(lease)),
            });
            Ok(Take::Taken(fence, item))
        }
        Err(e) if is_condition_failed(&e) => Ok(Take::Refused(crate::error::old_item(&e))),
        Err(e) => Err(sdk("migration lease", &t.name, e)),
    }
}

impl Fence {
    fn lost_error(&self) -> Error {
        ErrorKind::LockLost { lease: self.what.clone(), owner: self.owner.clone(), epoch: self.epoch }.into()
    }

    /// The epoch this process holds.
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Fails with [`ErrorKind::LockLost`] once the lease is lost or no longer
    /// trusted (no renewal got through in time). Cheap: called before every write.
    pub(crate) fn check(&self) -> Result<(), Error> {
        let expired = self.valid_until.lock().map_or(true, |until| Instant::now() >= *until);
        if expired || self.lost.load(Ordering::Acquire) {
            self.lost.store(true, Ordering::Release);
            return Err(self.lost_error());
        }
        Ok(())
    }

    fn mark_lost(&self) -> Error {
        self.lost.store(true, Ordering::Release);
        self.lost_error()
    }

    /// `owner = me AND epoch = mine`, with its names and values.
    fn held(&self, names: &mut HashMap<String, String>, values: &mut Item) -> String {
        names.insert("#lease_o".into(), "owner".into());
        names.insert("#lease_ep".into(), "epoch".into());
        values.insert(":lease_me".into(), AttributeValue::S(self.owner.clone()));
        values.insert(":lease_ep".into(), AttributeValue::N(self.epoch.to_string()));
        "#lease_o = :lease_me AND #lease_ep = :lease_ep".into()
    }

    /// Writes `op` (a put or delete of another item) only while this process holds
    /// the lease: one transaction with a check of the lease item's owner and epoch.
    pub(crate) async fn write(&self, op: Op, entity: &'static str) -> Result<(), Error> {
        self.check()?;
        let (mut names, mut values) = (HashMap::new(), Item::new());
        let condition = self.held(&mut names, &mut values);
        let role = |key: &Item| Role::Item {
            entity,
            operation: "migration bookkeeping",
            key: crate::write::KeyValues::of(&self.table, key),
            version: None,
            create: false,
        };
        let target = match &op {
            Op::Put(item) | Op::Delete(item) | Op::Check(item) | Op::Update { key: item, .. } => {
                crate::write::key_of(&self.table, item)
            }
        };
        let writes = vec![
            Write {
                role: role(&self.key),
                op: Op::Check(self.key.clone()),
                condition: Some(condition),
                names: Some(names),
                values: Some(values),
            },
            Write { role: role(&target), op, condition: None, names: None, values: None },
        ];
        match write::run_or_conflicts(&self.table, writes).await? {
            Ok(()) => Ok(()),
            Err(_) => Err(self.mark_lost()),
        }
    }

    /// Updates the lease item itself (a checkpoint, a renewal, a release) only while
    /// this process holds the lease. `set` and `remove` name attributes; the lease is
    /// renewed for `lease`, or with none, made to expire now.
    pub(crate) async fn update(
        &self,
        set: &[(&str, AttributeValue)],
        remove: &[&str],
        lease: Option<Duration>,
    ) -> Result<(), Error> {
        self.check()?;
        let t = &self.table.inner;
        let sent = Instant::now();
        let (mut names, mut values) = (HashMap::new(), Item::new());
        let condition = self.held(&mut names, &mut values);
        let mut assignments = Vec::new();
        for (i, (name, value)) in set.iter().enumerate() {
            names.insert(format!("#u{i}"), (*name).to_owned());
            values.insert(format!(":u{i}"), value.clone());
            assignments.push(format!("#u{i} = :u{i}"));
        }
        names.insert("#lease_e".into(), "expires".into());
        let expires = lease.map_or(0, |l| now_ms() + l.as_millis() as i64);
        values.insert(":lease_e".into(), AttributeValue::N(expires.to_string()));
        assignments.push("#lease_e = :lease_e".into());
        let mut expression = format!("SET {}", assignments.join(", "));
        let removed: Vec<String> = remove
            .iter()
            .enumerate()
            .map(|(i, name)| {
                names.insert(format!("#r{i}"), (*name).to_owned());
                format!("#r{i}")
            })
            .collect();
        if !removed.is_empty() {
            expression.push_str(&format!(" REMOVE {}", removed.join(", ")));
        }
        let result = t
            .client
            .update_item()
            .table_name(&t.name)
            .set_key(Some(self.key.clone()))
            .update_expression(expression)
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .send()
            .await;
        match result {
            Ok(_) => {
                if let (Some(lease), Ok(mut until)) = (lease, self.valid_until.lock()) {
                    *until = sent + trusted(lease);
                }
                Ok(())
            }
            Err(e) if is_condition_failed(&e) => Err(self.mark_lost()),
            Err(e) => Err(sdk("migration lease", &t.name, e)),
        }
    }

    /// Gives the lease up (owner removed, expired): only if still held.
    pub(crate) async fn release(&self, set: &[(&str, AttributeValue)]) -> Result<(), Error> {
        self.update(set, &["owner"], None).await
    }
}

/// Renews the lease every third of it until aborted. A renewal refused because
/// another process took the lease marks the fence lost; one that does not get through
/// leaves the lease to run out locally (the fence stops trusting it).
pub(crate) fn heartbeat(fence: Arc<Fence>, lease: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(lease / 3).await;
            if fence.check().is_err() {
                return;
            }
            match fence.update(&[], &[], Some(lease)).await {
                Ok(()) => {}
                Err(e) if e.is_lock_lost() => {
                    tracing::warn!(lease = %fence.what, owner = %fence.owner, epoch = fence.epoch, "lease taken over by another process: stopping");
                    return;
                }
                Err(e) => {
                    tracing::warn!(lease = %fence.what, error = %e, "lease renewal failed");
                    if !matches!(fence.table.exists().await, Ok(true)) {
                        return;
                    }
                }
            }
        }
    })
}
