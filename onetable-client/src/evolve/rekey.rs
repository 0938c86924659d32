//! Serving while a re-key runs: the application reads the new key form and falls back
//! to the old one, and writes the new form (removing the old) — so it keeps working
//! before, during and after the migration that moves every item.

use super::rewrite::{self, Written};
use crate::keys::KeyValues;
use crate::raw::Call;
use crate::table::Table;
use crate::write::{self, Op, Role, Write};
use crate::Update;
use onetable_core::{AttributeValue, Entity, Error, ErrorKind, Item, Key};
use std::collections::HashMap;
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
///
/// Code that writes whole new-form items outside `Rekey` while the migration runs
/// (batches, transactions) removes the old key in the same request, as
/// [`Rekey::put`] does: where both forms exist, the new one is what `get` returns
/// and what the migration keeps.
///
/// Optimistic locking works as with [`Model`](crate::Model): a `put` of an entity
/// read at version `n` succeeds only while the item, in whichever form, is still at
/// `n`, and writes `n + 1`.
pub struct Rekey<Old, New> {
    table: Table,
    convert: Arc<dyn Fn(Old) -> New + Send + Sync>,
}

impl<Old: Entity, New: Entity> Rekey<Old, New> {
    /// `convert` is the migration's: an `Old` as a `New`.
    pub fn new(table: &Table, convert: impl Fn(Old) -> New + Send + Sync + 'static) -> Self {
        Rekey { table: table.clone(), convert: Arc::new(convert) }
    }

    /// The item under `key` now, read strongly consistently.
    async fn read(&self, key: Item) -> Result<Option<Item>, Error> {
        self.table.raw().get(&Call::new("rekey", New::SCHEMA.name), key).await
    }

    fn entity<E: Entity>(&self, mut item: Item) -> Result<E, Error> {
        match item.remove(self.table.format().type_field) {
            Some(AttributeValue::S(name)) if name == E::SCHEMA.name => {
                item.remove(crate::DESIGN_ATTRIBUTE);
                self.table.decrypt_fields(E::SCHEMA, &mut item)?;
                E::from_item(item)
            }
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
        if let Some(item) = self.read(new_key.clone()).await? {
            return self.entity::<New>(item).map(Some);
        }
        if let Some(item) = self.read(old_key.into_attrs()?).await? {
            return self.entity::<Old>(item).map(|old| Some((self.convert)(old)));
        }
        self.read(new_key).await?.map(|item| self.entity::<New>(item)).transpose()
    }

    /// Writes the item in its new form and removes its old form, in one transaction
    /// (with the item's unique-field sentinels and version check).
    pub async fn put(&self, entity: New, old_key: Key<Old>) -> Result<New, Error> {
        let model = self.table.model::<New>();
        let (entity, mut writes) = model.put(entity).prepare().await?;
        let old_key = old_key.into_attrs()?;
        let version = match &writes[0].role {
            Role::Item { expected, .. } => expected.clone(),
            _ => None,
        };
        let mut delete = Write {
            role: Role::Item {
                entity: Old::SCHEMA.name,
                operation: "put",
                key: KeyValues::of(&self.table, &old_key),
                expected: version.clone(),
                create: false,
            },
            op: Op::Delete(old_key),
            condition: None,
            names: None,
            values: None,
            returns: None,
        };
        if let Some((attribute, expected)) = version.filter(|(_, v)| v != "0") {
            // The entity was read at `expected` from one of the two forms: each form
            // that exists must still be at it.
            let hash = self.table.key_attributes().0.to_owned();
            let new = &mut writes[0];
            let condition = new.condition.take().unwrap_or_default();
            new.condition = Some(format!("attribute_not_exists(#rekey_h) OR ({condition})"));
            new.names.get_or_insert_with(HashMap::new).insert("#rekey_h".into(), hash.clone());
            delete.condition = Some("attribute_not_exists(#rekey_h) OR #rekey_v = :rekey_v".into());
            delete.names = Some(HashMap::from([
                ("#rekey_h".to_owned(), hash),
                ("#rekey_v".to_owned(), attribute.to_owned()),
            ]));
            delete.values = Some(HashMap::from([(":rekey_v".to_owned(), AttributeValue::N(expected))]));
        }
        writes.push(delete);
        write::run(&self.table, writes, None).await?;
        Ok(entity)
    }

    /// Updates the item in its new form. An item still in the old form is moved first
    /// (as the migration would move it, on condition that it did not change), then
    /// updated; `build` adds the update's actions and conditions.
    pub async fn update<F>(&self, new_key: Key<New>, old_key: Key<Old>, build: F) -> Result<New, Error>
    where
        F: FnOnce(Update<New>) -> Update<New>,
    {
        let old_key = old_key.into_attrs()?;
        let known = rewrite::known(&self.table, &[Old::SCHEMA, New::SCHEMA]);
        let call = Call::new("rekey", New::SCHEMA.name);
        let mut found = self.read(old_key).await?;
        while let Some(read) = found.take() {
            let old = self.entity::<Old>(read.clone())?;
            let mut new = crate::Model::<New>::item_from(&self.table, (self.convert)(old), false)?;
            rewrite::carry_over(&self.table, &read, &mut new, &known);
            match rewrite::relocate(&self.table, &call, &read, new, &known).await?.0 {
                Written::Done | Written::Gone | Written::NewExists => {}
                Written::Changed(now) => found = Some(now),
                Written::Conflict => found = self.read(self.table.key_of(&read)).await?,
            }
        }
        let model = self.table.model::<New>();
        build(model.update(new_key)).send().await
    }

    /// Removes the item in both forms, in one transaction (with its unique-field
    /// sentinels). Returns nothing: either form may have been there.
    pub async fn remove(&self, new_key: Key<New>, old_key: Key<Old>) -> Result<(), Error> {
        let (new_model, old_model) = (self.table.model::<New>(), self.table.model::<Old>());
        self.table
            .transaction()
            .remove(new_model.remove(new_key))
            .remove(old_model.remove(old_key))
            .send()
            .await
    }
}
