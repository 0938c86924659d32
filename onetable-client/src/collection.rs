//! Queries of a typed collection: every entity of a partition, each item as its
//! variant (OneTable #503).

use crate::cursor::Cursor;
use crate::fetched::Raw;
use crate::query::{cursor_attributes, index_attributes, Page, Query};
use crate::table::Table;
use futures_util::future::BoxFuture;
use onetable_core::expr::Placeholders;
use onetable_core::{AttributeValue, Collection, Entity, Error, ErrorKind, PartialKey};
use std::future::IntoFuture;
use std::marker::PhantomData;
use tracing::Instrument;

/// What a collection query does with an item whose type no variant has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unknown {
    /// Leave it out (filtered by DynamoDB: only the members' types are read).
    Skip,
    /// Fail with [`ErrorKind::WrongEntity`].
    Error,
}

/// The queries of collection `C` in a table, made by [`Table::collection`].
pub struct Collections<C> {
    table: Table,
    marker: PhantomData<fn() -> C>,
}

impl<C> Clone for Collections<C> {
    fn clone(&self) -> Self {
        Collections { table: self.table.clone(), marker: PhantomData }
    }
}

impl Table {
    /// Queries of the collection `C` (`#[derive(Collection)]`).
    pub fn collection<C: Collection>(&self) -> Collections<C> {
        Collections { table: self.clone(), marker: PhantomData }
    }
}

impl<C: Collection> Collections<C> {
    /// Every item of the members in the partition of `key` (any member's partition
    /// key, such as `Account::partition("acme")`; its sort-key part is not used).
    pub fn find<E: Entity>(&self, key: PartialKey<E>) -> FindCollection<C> {
        FindCollection {
            collections: self.clone(),
            key: key.into_partition(),
            limit: None,
            next: None,
            reverse: false,
            consistent: false,
            unknown: Unknown::Skip,
        }
    }
}

/// [`Collections::find`].
#[must_use = "await it or call .send().await"]
pub struct FindCollection<C> {
    collections: Collections<C>,
    key: Result<(&'static onetable_core::IndexSchema, String), Error>,
    limit: Option<usize>,
    next: Option<Cursor>,
    reverse: bool,
    consistent: bool,
    unknown: Unknown,
}

impl<C: Collection> FindCollection<C> {
    /// At most `n` items.
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = Some(n);
        self
    }

    /// Start after the page that returned this cursor.
    pub fn next(mut self, cursor: Cursor) -> Self {
        self.next = Some(cursor);
        self
    }

    /// Descending sort-key order.
    pub fn reverse(mut self) -> Self {
        self.reverse = true;
        self
    }

    /// Strongly consistent reads.
    pub fn consistent(mut self) -> Self {
        self.consistent = true;
        self
    }

    /// What to do with items of other types (skip them by default).
    pub fn unknown(mut self, unknown: Unknown) -> Self {
        self.unknown = unknown;
        self
    }

    /// Sends the queries.
    pub async fn send(self) -> Result<Page<C>, Error> {
        let table = &self.collections.table;
        let span = tracing::debug_span!("onetable", table = %table.name(), operation = "find_collection");
        async move {
            for schema in C::ENTITIES {
                if !table.entities().iter().any(|e| e.name == schema.name) {
                    let table = table.name().to_owned();
                    return Err(ErrorKind::NotRegistered { entity: schema.name, table }.into());
                }
            }
            let (index, hash) = self.key?;
            let partition = table.partition_text(|| Some(hash.clone()));
            let members: Vec<_> = C::ENTITIES.iter().copied().zip(C::FIELDS.iter().copied()).collect();
            for (schema, fields) in &members {
                crate::projection::readable_by(index, schema, *fields)?;
            }
            let type_field = table.format().type_field;
            let (index_name, hash_attr, _) = index_attributes(table, index);
            let mut p = Placeholders::new();
            let key_condition = format!("{} = {}", p.name(&hash_attr), p.value(AttributeValue::S(hash)));
            // Skipping unknown types is DynamoDB's work; reporting them needs them read.
            let filter = match self.unknown {
                Unknown::Skip => {
                    let name = p.name(type_field);
                    let names: Vec<String> = C::ENTITIES
                        .iter()
                        .map(|e| p.value(AttributeValue::S(e.name.to_owned())).into_owned())
                        .collect();
                    Some(format!("{name} IN ({})", names.join(", ")))
                }
                Unknown::Error => None,
            };
            let cursor_attrs = cursor_attributes(table, index);
            let on_index = index_name.map(|_| index);
            let projection =
                crate::projection::expression_of(table, &members, &cursor_attrs, on_index, &mut p);
            let (names, values) = p.into_maps();
            let mut query = Query {
                entity: "",
                partition,
                index: index_name,
                key_condition,
                filter,
                projection,
                names,
                values,
                filtered: self.unknown == Unknown::Skip,
                page_size: None,
                reverse: self.reverse,
                consistent: self.consistent,
                limit: self.limit,
                start: self.next.map(|c| c.to_key()).transpose()?,
                cursor_attrs,
                first_read: None,
            };
            let unknown = self.unknown;
            query
                .collect(table, |raw| {
                    // Straight from the body when the item's entity reads so.
                    let raw = match raw {
                        Raw::Json(mut json) => {
                            let name = json.type_name(type_field).filter(|name| table.reads_direct(name));
                            let direct =
                                name.and_then(|name| json.decode_with(|r| C::from_json(name, r, type_field)));
                            if let Some(variant) = direct {
                                return Ok(Some(variant));
                            }
                            Raw::Json(json)
                        }
                        raw => raw,
                    };
                    let (name, item) = table.current_form_named(raw.into_item(table)?)?;
                    match name.as_deref().and_then(|n| C::from_item(n, item)) {
                        Some(variant) => variant.map(Some),
                        None if unknown == Unknown::Skip => Ok(None),
                        None => Err(ErrorKind::WrongEntity {
                            expected: "a member of the collection",
                            found: name,
                        }
                        .into()),
                    }
                })
                .await
                .map(|(page, _, _)| page)
        }
        .instrument(span)
        .await
    }
}

impl<C: Collection> IntoFuture for FindCollection<C> {
    type Output = Result<Page<C>, Error>;
    type IntoFuture = BoxFuture<'static, Self::Output>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}
