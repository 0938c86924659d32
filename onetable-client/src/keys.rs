//! Naming items by their key: the key of an item, a key built from text (the table's
//! own bookkeeping items), the key values kept to name an item in an error, and a key
//! as text for messages. Any module names a key through here, without the write path.

use crate::table::Table;
use onetable_core::{item_size, AttributeValue, Error, ErrorKind, Item, MAX_ITEM_SIZE};

/// The partition of the migrations' bookkeeping: history, lock and checkpoints (as
/// OneTable's migration library names it).
pub const HISTORY_PARTITION: &str = "_migration";

/// The partition of the `_Schema` item.
pub const SCHEMA_PARTITION: &str = "_schema";

impl Table {
    /// The primary key attributes of an item (the attributes it has of them).
    pub fn key_of(&self, item: &Item) -> Item {
        let (hash, sort) = self.key_attributes();
        std::iter::once(hash)
            .chain(sort)
            .filter_map(|k| item.get(k).map(|v| (k.to_owned(), v.clone())))
            .collect()
    }

    /// The key with `hash` in the partition key and `sort` in the sort key (when the
    /// table has one): how the table's own bookkeeping items (migration history,
    /// lock, checkpoints, the `_Schema` item) are named.
    pub fn key_from_text(&self, hash: &str, sort: &str) -> Item {
        let (hash_attribute, sort_attribute) = self.key_attributes();
        let mut key = Item::with_capacity(2);
        key.insert(hash_attribute.to_owned(), AttributeValue::S(hash.to_owned()));
        if let Some(s) = sort_attribute {
            key.insert(s.to_owned(), AttributeValue::S(sort.to_owned()));
        }
        key
    }
}

/// DynamoDB refuses items over 400 KB; say so before sending, naming the entity.
pub(crate) fn check_size(entity: &'static str, item: &Item) -> Result<(), Error> {
    let size = item_size(item);
    if size > MAX_ITEM_SIZE {
        return Err(ErrorKind::ItemTooLarge { entity, size, limit: MAX_ITEM_SIZE }.into());
    }
    Ok(())
}

/// A key as text for messages: `pk=ACCOUNT#a, sk=USER#b`.
pub fn describe(key: &Item) -> String {
    let mut parts: Vec<String> = key
        .iter()
        .map(|(k, v)| match v {
            AttributeValue::S(s) | AttributeValue::N(s) => format!("{k}={s}"),
            other => format!("{k}={other:?}"),
        })
        .collect();
    parts.sort();
    parts.join(", ")
}

/// The values of an item's key, kept to name the item in an error: two values are
/// cheaper to keep than a key map, and most writes never fail.
#[derive(Debug, Clone)]
pub(crate) struct KeyValues(Option<AttributeValue>, Option<AttributeValue>);

impl KeyValues {
    pub(crate) fn of(table: &Table, item: &Item) -> KeyValues {
        let (hash, sort) = table.key_attributes();
        KeyValues(item.get(hash).cloned(), sort.and_then(|s| item.get(s)).cloned())
    }

    /// The partition key's text, if it is a string.
    pub(crate) fn partition(&self) -> Option<&String> {
        self.0.as_ref().and_then(|v| v.as_s().ok())
    }

    pub(crate) fn into_item(self, table: &Table) -> Item {
        let (hash, sort) = table.key_attributes();
        let mut key = Item::with_capacity(2);
        if let Some(v) = self.0 {
            key.insert(hash.to_owned(), v);
        }
        if let (Some(sort), Some(v)) = (sort, self.1) {
            key.insert(sort.to_owned(), v);
        }
        key
    }

    pub(crate) fn text(&self, table: &Table) -> String {
        describe(&self.clone().into_item(table))
    }
}
