//! Serving while an entity changes in place (same keys, other attributes): the
//! application reads every item in the new form, whether the migration has reached it
//! yet or not, so code for the new design can ship before the migration finishes.

use crate::find::{Find, Page};
use crate::raw::Call;
use crate::table::Table;
use crate::DESIGN_ATTRIBUTE;
use onetable_core::Version;
use onetable_core::{AttributeValue, Entity, Error, ErrorKind, Item, Key};
use std::sync::Arc;

/// The application's view of an entity changed in place from `Old` to `New` by the
/// migration `version` (upgrade on read).
///
/// An item's design marker ([`DESIGN_ATTRIBUTE`]) says which form it is in: from
/// `version` on it reads as `New`; before it (or unmarked) it reads as `Old` and is
/// converted, and an unmarked item that does not read as `Old` (written by new code
/// that does not stamp its design) reads as `New`.
///
/// Expand/contract for an in-place change:
/// 1. deploy code that reads through `Upgrade` and writes the new form with
///    [`TableBuilder::design_version`](crate::TableBuilder::design_version) set to
///    `version`;
/// 2. run the migration (`ctx.transform::<Old, New>`), which leaves the items that
///    code wrote alone;
/// 3. deploy code that reads `New` directly.
pub struct Upgrade<Old, New> {
    table: Table,
    version: Version,
    convert: Arc<dyn Fn(Old) -> New + Send + Sync>,
}

impl<Old: Entity, New: Entity> Upgrade<Old, New> {
    /// `convert` is the migration's: an `Old` as a `New`. `version` is the migration's
    /// version (`MAJOR.MINOR.PATCH`).
    pub fn new(
        table: &Table,
        version: &str,
        convert: impl Fn(Old) -> New + Send + Sync + 'static,
    ) -> Result<Self, Error> {
        Ok(Upgrade { table: table.clone(), version: Version::parse(version)?, convert: Arc::new(convert) })
    }

    /// One item as read from the table (a query, a scan, a stream record), in the new
    /// form.
    pub fn read(&self, mut item: Item) -> Result<New, Error> {
        match item.remove(self.table.format().type_field) {
            Some(AttributeValue::S(name)) if name == New::SCHEMA.name || name == Old::SCHEMA.name => {}
            None => {}
            other => {
                return Err(ErrorKind::WrongEntity {
                    expected: New::SCHEMA.name,
                    found: other.and_then(|v| v.as_s().ok().cloned()),
                }
                .into())
            }
        }
        let marker = match item.remove(DESIGN_ATTRIBUTE) {
            Some(AttributeValue::S(v)) => Version::parse(&v).ok(),
            _ => None,
        };
        let t = &self.table;
        let as_new =
            |mut item: Item| t.decrypt_fields(New::SCHEMA, &mut item).and_then(|()| New::from_item(item));
        let as_old =
            |mut item: Item| t.decrypt_fields(Old::SCHEMA, &mut item).and_then(|()| Old::from_item(item));
        match marker {
            Some(m) if m >= self.version => as_new(item),
            Some(_) => as_old(item).map(|old| (self.convert)(old)),
            None => match as_old(item.clone()) {
                Ok(old) => Ok((self.convert)(old)),
                Err(old_error) => as_new(item).map_err(|_| old_error),
            },
        }
    }

    /// The item with `key`, in the new form (strongly consistent).
    pub async fn get(&self, key: Key<New>) -> Result<Option<New>, Error> {
        let call = Call::new("upgrade", New::SCHEMA.name);
        self.table.raw().get(&call, key.into_attrs()?).await?.map(|item| self.read(item)).transpose()
    }

    /// Runs a query built on the new entity (`table.model::<New>().find(..)`, with any
    /// of its options) and returns its page with every item in the new form.
    pub async fn find(&self, find: Find<New>) -> Result<Page<New>, Error> {
        find.page(|item| self.read(item).map(Some)).await
    }
}
