//! The migration lock: one item (pk `_migration`, sk `_lock`) written conditionally, with
//! an owner and a lease that a heartbeat renews while the migrator runs. A lease that
//! ran out (its migrator died) can be taken over.

use super::history::PK;
use crate::error::{is_condition_failed, sdk};
use crate::table::Table;
use onetable_core::{AttributeValue, Error, ErrorKind, Item};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

fn key(table: &Table) -> Item {
    table.raw_key(PK, "_lock")
}

/// A held lock; [`Lock::release`] gives it up. Its heartbeat stops when it is dropped.
pub(crate) struct Lock {
    table: Table,
    owner: String,
    heartbeat: tokio::task::JoinHandle<()>,
}

impl Lock {
    /// Takes the lock for `lease`, renewed every third of it, or fails with
    /// [`ErrorKind::Locked`] naming the holder.
    pub(crate) async fn acquire(table: &Table, owner: &str, lease: Duration) -> Result<Lock, Error> {
        let t = &table.inner;
        let mut item = key(table);
        item.insert(t.format.type_field.to_owned(), AttributeValue::S("_MigrationLock".into()));
        item.insert("owner".into(), AttributeValue::S(owner.to_owned()));
        let expires = now_ms() + lease.as_millis() as i64;
        item.insert("expires".into(), AttributeValue::N(expires.to_string()));
        let result = t
            .client
            .put_item()
            .table_name(&t.name)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#h) OR #e < :now OR #o = :me")
            .expression_attribute_names("#h", &t.hash)
            .expression_attribute_names("#e", "expires")
            .expression_attribute_names("#o", "owner")
            .expression_attribute_values(":now", AttributeValue::N(now_ms().to_string()))
            .expression_attribute_values(":me", AttributeValue::S(owner.to_owned()))
            .return_values_on_condition_check_failure(
                aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
            )
            .send()
            .await;
        match result {
            Ok(_) => {}
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
        }
        let heartbeat = tokio::spawn(heartbeat(table.clone(), owner.to_owned(), lease));
        Ok(Lock { table: table.clone(), owner: owner.to_owned(), heartbeat })
    }

    /// Gives the lock up (only if still ours).
    pub(crate) async fn release(self) -> Result<(), Error> {
        self.heartbeat.abort();
        let t = &self.table.inner;
        let result = t
            .client
            .delete_item()
            .table_name(&t.name)
            .set_key(Some(key(&self.table)))
            .condition_expression("#o = :me")
            .expression_attribute_names("#o", "owner")
            .expression_attribute_values(":me", AttributeValue::S(self.owner.clone()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Taken over after our lease ran out: nothing of ours to release.
            Err(e) if is_condition_failed(&e) => Ok(()),
            Err(e) => Err(sdk("migration lock", &t.name, e)),
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        self.heartbeat.abort();
    }
}

/// Renews the lease while the migrator runs; stops when the lock is no longer ours.
async fn heartbeat(table: Table, owner: String, lease: Duration) {
    let t = &table.inner;
    loop {
        tokio::time::sleep(lease / 3).await;
        let result = t
            .client
            .update_item()
            .table_name(&t.name)
            .set_key(Some(key(&table)))
            .update_expression("SET #e = :e")
            .condition_expression("#o = :me")
            .expression_attribute_names("#e", "expires")
            .expression_attribute_names("#o", "owner")
            .expression_attribute_values(
                ":e",
                AttributeValue::N((now_ms() + lease.as_millis() as i64).to_string()),
            )
            .expression_attribute_values(":me", AttributeValue::S(owner.clone()))
            .send()
            .await;
        if let Err(e) = result {
            tracing::warn!(error = %crate::error::sdk("migration lock", &t.name, e), "migration lock heartbeat failed");
            if !matches!(table.exists().await, Ok(true)) {
                return;
            }
        }
    }
}
