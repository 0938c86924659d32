//! What a transform does with one item: keep it, write its new form (in place or
//! under a new key), or retire it, and create items of other entities beside it.

use onetable_client::Table;
use onetable_core::{Entity, Error, Item};

/// The outcome of [`Context::transform_with`](crate::Context::transform_with) for one
/// item.
///
/// Every write keeps the guarantees of a data migration: the item's own write (or
/// removal) is conditional on the item as read, and the items made with
/// [`Change::also`] are written in the same request (a transaction), created only
/// where nothing is stored yet — so they are made from the version of the item that
/// is migrated, not at all for an item that vanished, once even when a crash replays
/// the page, and beside an item left as it is ([`Change::keep`]) too.
#[must_use]
pub struct Change<New> {
    pub(crate) kind: Kind<New>,
    pub(crate) also: Vec<Item>,
}

pub(crate) enum Kind<New> {
    Keep,
    Write(New),
    Remove,
}

impl<New> Change<New> {
    /// Leaves the item as it is (and unmarked: a later run looks at it again); the
    /// items made with [`Change::also`] are created, while the item is unchanged.
    pub fn keep() -> Self {
        Change { kind: Kind::Keep, also: Vec::new() }
    }

    /// Writes the item's new form: in place when its key is the same, moved to the new
    /// key (the old item removed in the same transaction) when it is not.
    pub fn write(new: New) -> Self {
        Change { kind: Kind::Write(new), also: Vec::new() }
    }

    /// Retires the item: it is removed (if it did not change since it was read).
    pub fn remove() -> Self {
        Change { kind: Kind::Remove, also: Vec::new() }
    }

    /// Creates an item of entity `E` too: a new item of an extended collection, the
    /// other half of a split entity. `table` is the migration's
    /// ([`Context::table`](crate::Context::table)).
    pub fn also<E: Entity>(mut self, table: &Table, entity: E) -> Result<Self, Error> {
        let item = table.model::<E>().to_new_item(entity)?;
        self.also.push(item);
        Ok(self)
    }
}

impl<New> From<Option<New>> for Change<New> {
    /// `Some`: write it; `None`: keep the item as it is.
    fn from(new: Option<New>) -> Self {
        new.map_or_else(Change::keep, Change::write)
    }
}
