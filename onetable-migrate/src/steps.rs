//! Ready-made evolution steps for `up` and `down`: adding and removing a global index
//! (with the backfill of existing items), on top of [`Context::transform`] for
//! re-keying, renaming, adding and removing fields.

use crate::Context;
use onetable_core::{Entity, Error, ErrorKind, IndexKind};
use std::time::Duration;

/// How long an index may take to become ACTIVE.
const INDEX_TIMEOUT: Duration = Duration::from_secs(3600);

impl Context {
    /// Adds global index `name` as entity `E` declares it (`#[index(name = ..)]`), waits
    /// until it is ACTIVE, then backfills the index keys of the existing `E` items. In a
    /// dry run: counts the items to backfill.
    ///
    /// Expand/contract: deploy the code that writes the new index keys (it declares the
    /// index) before this migration; deploy code that queries the index after it.
    ///
    /// An index keyed on the items' own attributes (`pk = [org, team]`) needs no
    /// backfill: DynamoDB indexes the attributes the items already carry, so the step
    /// is the `UpdateTable` and the wait, and rewrites nothing (it returns 0). Its dry
    /// run reads the entity's items and lists in the plan the ones DynamoDB would
    /// leave out because an attribute has another type ([`Plan::unindexed`](crate::Plan::unindexed)).
    pub async fn add_global_index<E: Entity>(&self, name: &str) -> Result<u64, Error> {
        let Some(index) = E::SCHEMA.index(name).filter(|i| i.kind == IndexKind::Global) else {
            return Err(
                ErrorKind::Schema(format!("{} declares no global index {name}", E::SCHEMA.name)).into()
            );
        };
        if let Some(multi) = &index.multi {
            if self.is_dry_run() {
                let plan = crate::data::preflight::index::<E>(self.table(), name, multi).await?;
                if let Ok(mut plans) = self.tally().plans.lock() {
                    plans.push(plan);
                }
            } else {
                self.table().create_global_index(name, INDEX_TIMEOUT).await?;
            }
            return Ok(0);
        }
        if !self.is_dry_run() {
            self.table().create_global_index(name, INDEX_TIMEOUT).await?;
        }
        // Rewriting each item through the new schema writes its index keys; the items
        // whose keys are already right (written by the new code) are left alone.
        self.refresh::<E>(&format!("backfill-{name}")).run().await
    }

    /// Removes global index `name`. Its key attributes stay on the items until they are
    /// rewritten; they are harmless.
    ///
    /// Expand/contract: deploy code that no longer queries the index before this
    /// migration.
    pub async fn drop_global_index(&self, name: &str) -> Result<(), Error> {
        if !self.is_dry_run() {
            self.table().delete_global_index(name, INDEX_TIMEOUT).await?;
        }
        Ok(())
    }
}
