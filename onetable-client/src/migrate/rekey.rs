//! Serving while a re-key runs: the application reads the new key form and falls back
//! to the old one, and writes the new form (removing the old) — so it keeps working
//! before, during and after the migration that moves every item.

use crate::model::KeyValues;
use crate::table::Table;
use crate::transact::{self, Op, Role, Write};
use onetable_core::{AttributeValue, Entity, Error, ErrorKind, Item, Key};
use std::sync::Arc;

/// The application's view of an entity being re-keyed from `Old` to `New` (same
/// entity name, other key templates).
///
/// Expand/contract for a re-key:
/// 1. deploy code that reads and writes through `Rekey` (new form first, old as
///    fallback; writes move an item to the new form);
/// 2. run the migration (`ctx.transform::<Old, New>`): it moves the items the
///    application has not moved, and leaves alone those it has;
/// 3. deploy code that uses `New` alone.
pub struct Rekey<Old, New> {
    table: Table,
    convert: Arc<dyn Fn(Old) -> New + Send + Sync>,
}

impl<Old: Entity, New: Entity> Rekey<Old, New> {
    /// `convert` is the migration's: an `Old` as a `New`.
    pub fn new(table: &Table, convert: impl Fn(Old) -> New + Send + Sync + 'static) -> Self {
        Rekey { table: table.clone(), convert: Arc::new(convert) }
    }

    async fn raw(&self, key: Item) -> Result<Option<Item>, Error> {
        let t = &self.table.inner;
        let out = t
            .client
            .get_item()
            .table_name(&t.name)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| crate::error::sdk("get", &t.name, e))?;
        Ok(out.item)
    }

    fn entity<E: Entity>(&self, mut item: Item) -> Result<E, Error> {
        match item.remove(self.table.format().type_field) {
            Some(AttributeValue::S(name)) if name == E::SCHEMA.name => E::from_item(item),
            other => Err(ErrorKind::WrongEntity {
                expected: E::SCHEMA.name,
                found: other.and_then(|v| v.as_s().ok().cloned()),
            }
            .into()),
        }
    }

    /// The item in its new form, or its old form converted. Three strongly consistent
    /// reads at most: new, old, and new again — the migration moves an item in one
    /// transaction, so an item moved between the first two reads is found by the third.
    pub async fn get(&self, new_key: Key<New>, old_key: Key<Old>) -> Result<Option<New>, Error> {
        let new_key = new_key.into_attrs()?;
        if let Some(item) = self.raw(new_key.clone()).await? {
            return self.entity::<New>(item).map(Some);
        }
        if let Some(item) = self.raw(old_key.into_attrs()?).await? {
            return self.entity::<Old>(item).map(|old| Some((self.convert)(old)));
        }
        self.raw(new_key).await?.map(|item| self.entity::<New>(item)).transpose()
    }

    /// Writes the item in its new form and removes its old form, in one transaction.
    pub async fn put(&self, entity: New, old_key: Key<Old>) -> Result<New, Error> {
        let item = self.table.model::<New>().item_for_write(&entity, false)?;
        let old_key = old_key.into_attrs()?;
        let role = |key: &Item| Role::Item {
            entity: New::SCHEMA.name,
            operation: "put",
            key: KeyValues::of(&self.table, key),
            version: None,
            create: false,
        };
        let new_role = role(&item);
        let old_role = role(&old_key);
        let writes = vec![
            Write { op: Op::Put(item), condition: None, names: None, values: None, role: new_role },
            Write { op: Op::Delete(old_key), condition: None, names: None, values: None, role: old_role },
        ];
        transact::run(&self.table, writes, None).await?;
        Ok(entity)
    }
}
