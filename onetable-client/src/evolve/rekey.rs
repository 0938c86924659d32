//! Serving while a re-key runs: the application reads the new key form and falls back
//! to the old one, and writes the new form (removing the old) — so it keeps working
//! before, during and after the migration that moves every item.

use crate::keys::KeyValues;
use crate::raw::Call;
use crate::rewrite::{Rewrite, Rewritten, Target};
use crate::table::Table;
use crate::write::{self, Op, Role, Write};
use crate::Update;
use onetable_core::{AttributeValue, Entity, Error, ErrorKind, Item, Key};
use std::collections::HashMap;
use std::sync::Arc;

/// How many times a move meets an item that changed under it before giving up.
const MOVE_TRIES: u32 = 20;

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
    /// (with the item's unique-field sentinels and version check). An item still in
    /// the old form is moved first, as [`Rekey::update`] does: a put replaces what the
    /// entity owns, and keeps what it does not (attributes of other services', keys of
    /// a map the entity does not declare), wherever the item was.
    pub async fn put(&self, entity: New, old_key: Key<Old>) -> Result<New, Error> {
        let old_key = old_key.into_attrs()?;
        self.move_old(old_key.clone()).await?;
        let model = self.table.model::<New>();
        let (entity, mut writes) = model.put(entity).prepare().await?;
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
                form: None,
            },
            op: Op::Delete(old_key),
            condition: None,
            names: None,
            values: None,
            returns: None,
        };
        if let Some((attribute, expected)) = version.filter(|(_, v)| v != "0") {
            // The entity was read at `expected`. The item, moved above, is under its
            // new key, whose write checks the version like any put; an old form
            // written again meanwhile (by old code) must be at it too.
            let hash = self.table.key_attributes().0.to_owned();
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
        self.move_old(old_key.into_attrs()?).await?;
        let model = self.table.model::<New>();
        build(model.update(new_key)).send().await
    }

    /// Moves the item under `old_key`, if there is one, to its new form, exactly as the
    /// migration would: only if unchanged since read, with every attribute the forms
    /// do not own and its unique-field sentinels.
    async fn move_old(&self, old_key: Item) -> Result<(), Error> {
        let rewrite =
            Rewrite::new(&self.table, Call::new("rekey", New::SCHEMA.name), Old::SCHEMA, New::SCHEMA);
        let mut found = self.read(old_key.clone()).await?;
        for _ in 0..MOVE_TRIES {
            let Some(read) = found.take() else { return Ok(()) };
            let old = self.entity::<Old>(read.clone())?;
            let as_read = self.table.model::<Old>().to_item(&old)?;
            let mut new = self.table.model::<New>().to_item(&(self.convert)(old))?;
            rewrite.carry_over(&read, &as_read, &mut new);
            match rewrite.apply(&read, Target::Move(new), Vec::new()).await?.0 {
                // Moved; or gone (removed, or moved by another writer); or the new form
                // written already, which is the one written (the old one is left to
                // the migration, which reports it).
                Rewritten::Done | Rewritten::Gone | Rewritten::Collision(_) => return Ok(()),
                Rewritten::Changed(now) => found = Some(now),
                Rewritten::Conflict => found = self.read(old_key.clone()).await?,
                Rewritten::Unique { field, value } => {
                    return Err(ErrorKind::UniqueViolation { entity: New::SCHEMA.name, field, value }.into())
                }
            }
        }
        // Written faster than it can be moved: nothing of this write is sent.
        Err(ErrorKind::Unexpected {
            operation: "rekey",
            table: self.table.name().to_owned(),
            message: format!(
                "{}: the item kept changing while it was moved to its new key",
                New::SCHEMA.name
            ),
        }
        .into())
    }

    /// Removes the item in both forms, in one transaction (with its unique-field
    /// sentinels). Returns nothing: either form may have been there.
    pub async fn remove(&self, new_key: Key<New>, old_key: Key<Old>) -> Result<(), Error> {
        let (new_model, old_model) = (self.table.model::<New>(), self.table.model::<Old>());
        let (new_key, old_key) = (new_key.into_attrs()?, old_key.into_attrs()?);
        let mut tries = 0;
        loop {
            // The old form is read first: an item moved between the two reads is then
            // found under its new key (read in the other order, under neither).
            let (mut writes, _) = old_model.remove(Key::new(Ok(old_key.clone()))).prepare().await?;
            let (new_writes, _) = new_model.remove(Key::new(Ok(new_key.clone()))).prepare().await?;
            // Both forms hold the same unique values: their sentinels are released once.
            for write in new_writes {
                if !writes.iter().any(|w| deleted(w).is_some() && deleted(w) == deleted(&write)) {
                    writes.push(write);
                }
            }
            if writes.is_empty() {
                return Ok(());
            }
            match write::run(&self.table, writes, None).await {
                // The item moved or changed between the reads and the removal (the
                // migration, or another writer, moved it): again.
                Err(e) if (e.is_not_found() || e.is_condition_failed()) && tries < MOVE_TRIES => tries += 1,
                other => return other,
            }
        }
    }
}

/// The key a write deletes.
fn deleted(write: &Write) -> Option<&Item> {
    match &write.op {
        Op::Delete(key) => Some(key),
        _ => None,
    }
}
