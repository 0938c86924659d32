//! A prepared query of one partition, reused for every page: the request, its pages,
//! counts and cursors. Finds of one entity and of a collection both run one.

use crate::cursor::Cursor;
use crate::fetched::{Fetched, Raw};
use crate::send::{Call, Member};
use aws_sdk_dynamodb::types::Select;
use onetable_core::{Error, IndexKind, Item};

/// One page of results and where the next starts (`None` after the last).
#[derive(Debug)]
#[non_exhaustive]
pub struct Page<E> {
    /// The items, in sort-key order (reversed with [`Find::reverse`](crate::Find::reverse)).
    pub items: Vec<E>,
    /// Pass it to [`Find::next`](crate::Find::next) for the following page.
    pub next: Option<Cursor>,
    /// Pass it to [`Find::prev`](crate::Find::prev) for the page before this one (OneTable's `prev`):
    /// `None` on the first page.
    pub prev: Option<Cursor>,
}

/// The index name to query (none for the table) and its hash and sort attributes.
pub(crate) fn index_attributes(
    table: &crate::Table,
    index: &onetable_core::IndexSchema,
) -> (Option<&'static str>, String, Option<String>) {
    let (hash, sort) = table.key_attributes();
    match index.kind {
        IndexKind::Primary => (None, hash.to_owned(), sort.map(str::to_owned)),
        IndexKind::Global => (
            Some(index.name),
            index.hash.as_ref().map_or_else(|| hash.to_owned(), |k| k.attribute.to_owned()),
            index.sort.as_ref().map(|k| k.attribute.to_owned()),
        ),
        IndexKind::Local => {
            (Some(index.name), hash.to_owned(), index.sort.as_ref().map(|k| k.attribute.to_owned()))
        }
    }
}

/// The attributes of an `ExclusiveStartKey` for a query: the table's key, and the
/// index's when querying an index (every attribute of a multi-attribute key).
pub(crate) fn cursor_attributes(table: &crate::Table, index: &onetable_core::IndexSchema) -> Vec<String> {
    let (table_hash, table_sort) = table.key_attributes();
    let mut attrs = vec![table_hash.to_owned()];
    attrs.extend(table_sort.map(str::to_owned));
    match &index.multi {
        Some(multi) => attrs.extend(multi.fields().map(|f| f.attribute.to_owned())),
        None if index.kind != IndexKind::Primary => {
            let (_, hash, sort) = index_attributes(table, index);
            attrs.push(hash);
            attrs.extend(sort);
        }
        None => {}
    }
    attrs.sort();
    attrs.dedup();
    attrs
}

/// A prepared query, reused for every page.
pub(crate) struct Query {
    /// The entity queried (empty for a collection's members), for metrics.
    pub(crate) entity: &'static str,
    /// The partition key queried, when metrics record partitions.
    pub(crate) partition: Option<String>,
    pub(crate) index: Option<&'static str>,
    pub(crate) key_condition: String,
    pub(crate) filter: Option<String>,
    /// The `ProjectionExpression` (`None`: whole items).
    pub(crate) projection: Option<String>,
    pub(crate) names: Option<std::collections::HashMap<String, String>>,
    pub(crate) values: Option<Item>,
    pub(crate) filtered: bool,
    pub(crate) page_size: Option<i32>,
    pub(crate) reverse: bool,
    pub(crate) consistent: bool,
    pub(crate) limit: Option<usize>,
    pub(crate) start: Option<Item>,
    pub(crate) cursor_attrs: Vec<String>,
    /// The key of the first item `collect` returned (the page's edge a backward
    /// page hands on as its `next`).
    pub(crate) first_read: Option<Item>,
}

impl Query {
    /// One request: the page's items and its `LastEvaluatedKey`.
    pub(crate) async fn fetch(
        &self,
        table: &crate::Table,
        remaining: Option<usize>,
    ) -> Result<(Fetched, Option<Item>), Error> {
        let call = self.call("find");
        // An entity's items straight from the body when the table can (a collection
        // decides item by item, by the entity its type names).
        let direct = table.reads_direct(self.entity);
        let (out, captured) = table
            .send_read(&call, self.builder(table, remaining), Member::Top("Items"), direct)
            .await
            .map_err(|f| f.into_error(self.entity, "find"))?;
        Ok((Fetched::new(out.items, out.count, captured), out.last_evaluated_key))
    }

    /// The request for the page from `start`, `remaining` items still wanted.
    pub(crate) fn builder(
        &self,
        table: &crate::Table,
        remaining: Option<usize>,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        // Without a caller's filter, asking for exactly the items still needed takes
        // one request. With one, DynamoDB applies the limit before filtering, so a
        // small limit would cost a request per few items (OneTable #554): read full
        // pages instead and stop once enough items came back.
        let limit = self.page_size.or_else(|| {
            if self.filtered {
                None
            } else {
                remaining.map(|r| i32::try_from(r).unwrap_or(i32::MAX))
            }
        });
        table
            .reader()
            .query()
            .table_name(table.name())
            .set_index_name(self.index.map(str::to_owned))
            .key_condition_expression(&self.key_condition)
            .set_filter_expression(self.filter.clone())
            .set_projection_expression(self.projection.clone())
            .set_expression_attribute_names(self.names.clone())
            .set_expression_attribute_values(self.values.clone())
            .set_exclusive_start_key(self.start.clone())
            .set_limit(limit)
            .scan_index_forward(!self.reverse)
            .consistent_read(self.consistent)
    }

    /// True when at least one more item matches from `start` on.
    pub(crate) async fn has_more(&mut self, table: &crate::Table) -> Result<bool, Error> {
        loop {
            let (items, last) = self.fetch(table, Some(1)).await?;
            if !items.is_empty().map_err(|e| crate::fetched::wire_error(table, "read", e))? {
                return Ok(true);
            }
            match last {
                Some(last) => self.start = Some(last),
                None => return Ok(false),
            }
        }
    }

    /// Counts the matching items, page after page (`Select: COUNT`).
    pub(crate) async fn count(&mut self, table: &crate::Table) -> Result<u64, Error> {
        let mut count = 0u64;
        let call = self.call("count");
        loop {
            // The page size is the query's own: counting wants no item limit.
            let request = self.builder(table, None).select(Select::Count);
            let out = table.send(&call, request).await.map_err(|f| f.into_error(self.entity, "count"))?;
            count += u64::try_from(out.count).unwrap_or(0);
            match out.last_evaluated_key {
                Some(last) => self.start = Some(last),
                None => return Ok(count),
            }
        }
    }

    /// Fetches pages until the limit is reached or the results end; `convert` turns
    /// each item into a result (or `None` to leave it out, which still counts as read).
    /// Also returns the keys of the first and last items returned.
    pub(crate) async fn collect<T>(
        &mut self,
        table: &crate::Table,
        mut convert: impl FnMut(Raw<'_, '_>) -> Result<Option<T>, Error>,
    ) -> Result<(Page<T>, Option<Item>, Option<Item>), Error> {
        let limit = self.limit;
        let mut items = Vec::new();
        let (mut first, mut last_kept) = (None, None);
        if limit == Some(0) {
            return Ok((Page { items, next: None, prev: None }, None, None));
        }
        loop {
            let remaining = limit.map(|l| l - items.len());
            let (mut page, last) = self.fetch(table, remaining).await?;
            // Where the cursors come from: an SDK map's key is copied before the map
            // is converted; an item kept as JSON is read again only if it is an edge.
            let (mut first_here, mut last_kept_here, mut last_returned) = (None, None, None);
            let stopped_inside = page.each(table, |index, raw| {
                if Some(items.len()) == limit {
                    return Ok(false);
                }
                let edge = match &raw {
                    Raw::Item(item) => Edge::Key(self.cursor_key(item)),
                    Raw::Json(_) => Edge::At(index),
                };
                if let Some(value) = convert(raw)? {
                    items.push(value);
                    if first.is_none() && first_here.is_none() {
                        first_here = Some(edge.clone());
                    }
                    last_kept_here = Some(edge.clone());
                }
                last_returned = Some(edge);
                Ok(Some(items.len()) != limit)
            })?;
            if let Some(edge) = first_here {
                first = self.edge_key(&page, edge, table)?;
            }
            if let Some(edge) = last_kept_here {
                last_kept = self.edge_key(&page, edge, table)?;
            }
            if Some(items.len()) == limit {
                // Stopped inside a page: the next one starts after the last item
                // returned, so nothing is skipped. At a page's end: where DynamoDB
                // stopped reading.
                let next = match last_returned {
                    Some(edge) if stopped_inside => self.edge_key(&page, edge, table)?,
                    _ => last,
                };
                self.first_read = first.clone();
                let page = Page { items, next: next.as_ref().map(Cursor::from_key), prev: None };
                return Ok((page, first, last_kept));
            }
            match last {
                Some(last) => self.start = Some(last),
                None => {
                    self.first_read = first.clone();
                    return Ok((Page { items, next: None, prev: None }, first, last_kept));
                }
            }
        }
    }

    /// The cursor key of an item of `page`.
    fn edge_key(&self, page: &Fetched, edge: Edge, table: &crate::Table) -> Result<Option<Item>, Error> {
        match edge {
            Edge::Key(key) => Ok(Some(key)),
            Edge::At(index) => Ok(page.item_at(index, table)?.map(|item| self.cursor_key(&item))),
        }
    }

    /// What this query's requests for `operation` are.
    fn call(&self, operation: &'static str) -> Call {
        Call::new(operation, self.entity).index(self.index).partition(self.partition.clone())
    }

    pub(crate) fn cursor_key(&self, item: &Item) -> Item {
        self.cursor_attrs.iter().filter_map(|a| item.get(a).map(|v| (a.clone(), v.clone()))).collect()
    }
}

/// An item a cursor may start from: its key, or its place in a page kept as JSON.
#[derive(Clone)]
enum Edge {
    Key(Item),
    At(usize),
}
