//! The migration lock: one item (pk `_migration`, sk `_lock`) with an owner, a lease
//! that a heartbeat renews while the migrator runs, and an **epoch** that grows with
//! every acquisition and takeover.
//!
//! A lease alone cannot keep a paused migrator (a GC pause, a frozen VM, a process
//! stopped with SIGSTOP) from writing after another one took over: it wakes up
//! believing it still holds the lock. So every bookkeeping write a migrator makes
//! (checkpoints, history, `_Schema`, the release) goes through its [`Fence`]: a
//! transaction whose first action checks that the lock still names this owner and
//! epoch. DynamoDB refuses the write once a newer epoch holds the lock. The per-item
//! writes of a data migration need no fence: each is conditional on the item as read,
//! including its design marker (see `transform.rs`).
//!
//! The lock item is never deleted, only released (owner removed), so that epochs keep
//! growing across runs.

use super::history::PK;
use crate::error::{is_condition_failed, sdk};
use crate::table::Table;
use crate::transact::{self, Op, Role, Write};
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};
use onetable_core::{AttributeValue, Error, ErrorKind, Item};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

fn key(table: &Table) -> Item {
    table.raw_key(PK, "_lock")
}

/// How long after a renewal was sent this migrator still trusts its lease: a little
/// less than the lease, so that it stops before another migrator (whose clock may run
/// a little ahead) can take over.
fn trusted(lease: Duration) -> Duration {
    lease - lease / 10
}

/// The proof that this migrator holds the lock: owner and epoch. Shared by the
/// heartbeat, which renews it, and every task that writes bookkeeping.
pub(crate) struct Fence {
    table: Table,
    owner: String,
    epoch: u64,
    lost: AtomicBool,
    valid_until: Mutex<Instant>,
}

impl Fence {
    fn lost_error(&self) -> Error {
        ErrorKind::LockLost { owner: self.owner.clone(), epoch: self.epoch }.into()
    }

    /// The epoch this migrator holds.
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

    fn mark_lost(&self) {
        self.lost.store(true, Ordering::Release);
    }

    /// `#o = :me AND #ep = :epoch` on the lock item, with its names and values.
    fn held(&self, names: &mut HashMap<String, String>, values: &mut Item) -> String {
        names.insert("#lock_o".into(), "owner".into());
        names.insert("#lock_ep".into(), "epoch".into());
        values.insert(":lock_me".into(), AttributeValue::S(self.owner.clone()));
        values.insert(":lock_ep".into(), AttributeValue::N(self.epoch.to_string()));
        "#lock_o = :lock_me AND #lock_ep = :lock_ep".into()
    }

    /// Writes `op` (a bookkeeping put or delete) only while this migrator holds the
    /// lock: one transaction with a check of the lock's owner and epoch.
    pub(crate) async fn write(&self, op: Op, entity: &'static str) -> Result<(), Error> {
        self.check()?;
        let (mut names, mut values) = (HashMap::new(), Item::new());
        let condition = self.held(&mut names, &mut values);
        let role = |key: &Item| Role::Item {
            entity,
            operation: "migration bookkeeping",
            key: crate::model::KeyValues::of(&self.table, key),
            version: None,
            create: false,
        };
        let lock_key = key(&self.table);
        let target = match &op {
            Op::Put(item) | Op::Delete(item) | Op::Check(item) | Op::Update { key: item, .. } => {
                crate::model::key_of(&self.table, item)
            }
        };
        let writes = vec![
            Write {
                role: role(&lock_key),
                op: Op::Check(lock_key),
                condition: Some(condition),
                names: Some(names),
                values: Some(values),
            },
            Write { role: role(&target), op, condition: None, names: None, values: None },
        ];
        match transact::run_or_conflicts(&self.table, writes).await? {
            Ok(()) => Ok(()),
            Err(_) => {
                self.mark_lost();
                Err(self.lost_error())
            }
        }
    }
}

/// A held lock; [`Lock::release`] gives it up. Its heartbeat stops when it is dropped.
pub(crate) struct Lock {
    fence: Arc<Fence>,
    heartbeat: tokio::task::JoinHandle<()>,
}

impl Lock {
    /// Takes the lock for `lease`, renewed every third of it, under a new epoch; or
    /// fails with [`ErrorKind::Locked`] naming the holder.
    pub(crate) async fn acquire(table: &Table, owner: &str, lease: Duration) -> Result<Lock, Error> {
        let t = &table.inner;
        let sent = Instant::now();
        let expires = now_ms() + lease.as_millis() as i64;
        let result = t
            .client
            .update_item()
            .table_name(&t.name)
            .set_key(Some(key(table)))
            .update_expression("SET #t = :t, #o = :me, #e = :e ADD #ep :one")
            .condition_expression("attribute_not_exists(#o) OR #e < :now OR #o = :me")
            .expression_attribute_names("#t", t.format.type_field)
            .expression_attribute_names("#e", "expires")
            .expression_attribute_names("#o", "owner")
            .expression_attribute_names("#ep", "epoch")
            .expression_attribute_values(":t", AttributeValue::S("_MigrationLock".into()))
            .expression_attribute_values(":e", AttributeValue::N(expires.to_string()))
            .expression_attribute_values(":now", AttributeValue::N(now_ms().to_string()))
            .expression_attribute_values(":me", AttributeValue::S(owner.to_owned()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let epoch = match result {
            Ok(out) => out
                .attributes
                .as_ref()
                .and_then(|a| a.get("epoch"))
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(1),
            Err(e) if is_condition_failed(&e) => {
                let holder = crate::error::old_item(&e).unwrap_or_default();
                let text = |n: &str| {
                    holder.get(n).and_then(|v| v.as_s().or(v.as_n()).ok()).cloned().unwrap_or_default()
                };
                let until = text("expires").parse::<i64>().map(|ms| {
                    let t = UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64);
                    match (onetable_core::Format { iso_dates: true, ..onetable_core::Format::ONETABLE })
                        .date(t)
                    {
                        AttributeValue::S(s) => s,
                        _ => ms.to_string(),
                    }
                });
                return Err(
                    ErrorKind::Locked { owner: text("owner"), expires: until.unwrap_or_default() }.into()
                );
            }
            Err(e) => return Err(sdk("migration lock", &t.name, e)),
        };
        tracing::info!(owner, epoch, "migration lock acquired");
        let fence = Arc::new(Fence {
            table: table.clone(),
            owner: owner.to_owned(),
            epoch,
            lost: AtomicBool::new(false),
            valid_until: Mutex::new(sent + trusted(lease)),
        });
        let heartbeat = tokio::spawn(heartbeat(fence.clone(), lease));
        Ok(Lock { fence, heartbeat })
    }

    /// The fence every bookkeeping write of this run goes through.
    pub(crate) fn fence(&self) -> Arc<Fence> {
        self.fence.clone()
    }

    /// Gives the lock up, only if this owner and epoch still hold it: a lock lost to
    /// another migrator is an error.
    pub(crate) async fn release(self) -> Result<(), Error> {
        self.heartbeat.abort();
        let fence = &self.fence;
        fence.check()?;
        let t = &fence.table.inner;
        let (mut names, mut values) = (HashMap::new(), Item::new());
        let condition = fence.held(&mut names, &mut values);
        names.insert("#e".into(), "expires".into());
        values.insert(":zero".into(), AttributeValue::N("0".into()));
        let result = t
            .client
            .update_item()
            .table_name(&t.name)
            .set_key(Some(key(&fence.table)))
            .update_expression("SET #e = :zero REMOVE #lock_o")
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failed(&e) => {
                fence.mark_lost();
                Err(fence.lost_error())
            }
            Err(e) => Err(sdk("migration lock", &t.name, e)),
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        self.heartbeat.abort();
    }
}

/// Renews the lease while the migrator runs. A renewal refused because another
/// migrator holds the lock marks the fence lost; one that does not get through leaves
/// the lease to run out locally (the fence stops trusting it).
async fn heartbeat(fence: Arc<Fence>, lease: Duration) {
    let t = &fence.table.inner;
    loop {
        tokio::time::sleep(lease / 3).await;
        if fence.check().is_err() {
            return;
        }
        let sent = Instant::now();
        let (mut names, mut values) = (HashMap::new(), Item::new());
        let condition = fence.held(&mut names, &mut values);
        names.insert("#e".into(), "expires".into());
        values.insert(":e".into(), AttributeValue::N((now_ms() + lease.as_millis() as i64).to_string()));
        let result = t
            .client
            .update_item()
            .table_name(&t.name)
            .set_key(Some(key(&fence.table)))
            .update_expression("SET #e = :e")
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .send()
            .await;
        match result {
            Ok(_) => {
                if let Ok(mut until) = fence.valid_until.lock() {
                    *until = sent + trusted(lease);
                }
            }
            Err(e) if is_condition_failed(&e) => {
                tracing::warn!(owner = %fence.owner, epoch = fence.epoch, "migration lock taken over by another migrator: stopping");
                fence.mark_lost();
                return;
            }
            Err(e) => {
                tracing::warn!(error = %sdk("migration lock", &t.name, e), "migration lock heartbeat failed");
                if !matches!(fence.table.exists().await, Ok(true)) {
                    return;
                }
            }
        }
    }
}
