//! Queries (`find`) and scans, by page or as streams.
//!
//! Two rules that OneTable breaks are kept here: a query returns only items of its own
//! entity (the type attribute is always part of the filter), and a limit counts the
//! items returned to the caller, fetching further pages only while more are needed.

use crate::cursor::Cursor;
use crate::error::sdk;
use crate::metrics::Labels;
use crate::model::{into_future, Model};
use aws_sdk_dynamodb::types::Select;
use futures_util::future::BoxFuture;
use futures_util::stream::{self, Stream, StreamExt, TryStreamExt};
use onetable_core::expr::{Condition, Placeholders};
use onetable_core::{
    AttributeValue, Entity, Error, ErrorKind, IndexKind, Item, PartialKey, Projection, SortCondition,
};
use std::future::IntoFuture;
use std::marker::PhantomData;
use tracing::Instrument;

/// One page of results and where the next starts (`None` after the last).
#[derive(Debug)]
#[non_exhaustive]
pub struct Page<E> {
    /// The items, in sort-key order (reversed with [`Find::reverse`]).
    pub items: Vec<E>,
    /// Pass it to [`Find::next`] for the following page.
    pub next: Option<Cursor>,
    /// Pass it to [`Find::prev`] for the page before this one (OneTable's `prev`):
    /// `None` on the first page.
    pub prev: Option<Cursor>,
}

#[derive(Debug, Clone)]
enum SortRange {
    Between(String, String),
    Compare(&'static str, String),
}

/// [`Model::find`]: a query of one partition, on the primary key or an index.
#[must_use = "await it, call .send().await or .stream()"]
pub struct Find<E, P = E> {
    model: Model<E>,
    key: PartialKey<E>,
    range: Option<SortRange>,
    filter: Option<Condition<E>>,
    limit: Option<usize>,
    page_size: Option<i32>,
    reverse: bool,
    consistent: bool,
    next: Option<Cursor>,
    /// Page back from here ([`Find::prev`]).
    prev: Option<Cursor>,
    projection: PhantomData<fn() -> P>,
}

impl<E: Entity> Model<E> {
    /// Queries the partition `key` (`User::partition(..)`, `User::gs1_partition(..)`):
    /// the items of `E` whose sort key starts with the template's text up to the first
    /// variable not given.
    pub fn find(&self, key: PartialKey<E>) -> Find<E> {
        Find {
            model: self.clone(),
            key,
            range: None,
            filter: None,
            limit: None,
            page_size: None,
            reverse: false,
            consistent: false,
            next: None,
            prev: None,
            projection: PhantomData,
        }
    }

    /// Reads every item of `E` in the table.
    pub fn scan(&self) -> Scan<E> {
        Scan {
            model: self.clone(),
            filter: None,
            segments: 1,
            consistent: false,
            limit: None,
            projection: PhantomData,
        }
    }
}

impl<E: Entity, P: Projection<Entity = E>> Find<E, P> {
    /// Returns only the fields of `Q` (a struct deriving [`Projection`] of `E`):
    /// DynamoDB returns those attributes (and the keys pages need) alone. On the table
    /// or an index projecting all attributes a query costs the same capacity (counted
    /// on whole items) but sends less; an index that projects some attributes
    /// (`project = ["title"]`) can only be read this way, through a projection of the
    /// fields it holds.
    pub fn project<Q: Projection<Entity = E>>(self) -> Find<E, Q> {
        Find {
            model: self.model,
            key: self.key,
            range: self.range,
            filter: self.filter,
            limit: self.limit,
            page_size: self.page_size,
            reverse: self.reverse,
            consistent: self.consistent,
            next: self.next,
            prev: self.prev,
            projection: PhantomData,
        }
    }

    /// At most `n` items are returned (counted after filtering).
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = Some(n);
        self
    }

    /// Descending sort-key order.
    pub fn reverse(mut self) -> Self {
        self.reverse = true;
        self
    }

    /// Strongly consistent reads (not on global indexes).
    pub fn consistent(mut self) -> Self {
        self.consistent = true;
        self
    }

    /// Start after the page that returned this cursor.
    pub fn next(mut self, cursor: Cursor) -> Self {
        self.next = Some(cursor);
        self
    }

    /// The page before the one that returned this cursor (its [`Page::prev`]): the
    /// items just before it, up to [`Find::limit`], in the same order as the pages
    /// going forward. The partition is read backwards from the cursor, so this costs
    /// what the forward page cost.
    pub fn prev(mut self, cursor: Cursor) -> Self {
        self.prev = Some(cursor);
        self
    }

    /// Only items for which `condition` holds (applied by DynamoDB after reading).
    pub fn filter(mut self, condition: Condition<E>) -> Self {
        self.filter = Some(condition);
        self
    }

    /// How many items DynamoDB reads per request (by default: up to 1 MB, or the
    /// items still needed for the limit when there is no filter).
    pub fn page_size(mut self, n: i32) -> Self {
        self.page_size = Some(n);
        self
    }

    /// Sort keys between `low` and `high` (inclusive), replacing the partial key's
    /// prefix; raw sort-key text such as `"ORDER#2024-01"`.
    pub fn sort_between(mut self, low: impl Into<String>, high: impl Into<String>) -> Self {
        self.range = Some(SortRange::Between(low.into(), high.into()));
        self
    }

    /// Sort keys below `value`.
    pub fn sort_lt(self, value: impl Into<String>) -> Self {
        self.compare("<", value)
    }

    /// Sort keys at most `value`.
    pub fn sort_le(self, value: impl Into<String>) -> Self {
        self.compare("<=", value)
    }

    /// Sort keys above `value`.
    pub fn sort_gt(self, value: impl Into<String>) -> Self {
        self.compare(">", value)
    }

    /// Sort keys at least `value`.
    pub fn sort_ge(self, value: impl Into<String>) -> Self {
        self.compare(">=", value)
    }

    fn compare(mut self, op: &'static str, value: impl Into<String>) -> Self {
        self.range = Some(SortRange::Compare(op, value.into()));
        self
    }

    /// Sends queries until the page is full or the partition ends.
    pub async fn send(self) -> Result<Page<P>, Error> {
        let model = self.model.clone();
        let span = model.span("find");
        self.page(|item| model.read_as(item).map(Some)).instrument(span).await
    }

    /// One page, forward or back, each item turned into a result by `read`.
    pub(crate) async fn page<T>(
        self,
        read: impl FnMut(Item) -> Result<Option<T>, Error>,
    ) -> Result<Page<T>, Error> {
        let model = self.model.clone();
        let (started, backwards) = (self.next.is_some(), self.prev.is_some());
        {
            let mut query = self.prepare()?;
            if !backwards {
                let (mut page, first, _) = query.collect(&model.table, read).await?;
                // A page that began at a cursor has items before it.
                page.prev = first.filter(|_| started).as_ref().map(Cursor::from_key);
                return Ok(page);
            }
            // Read backwards from the cursor, then turn the page the caller's way round.
            query.reverse = !query.reverse;
            let (mut page, _, last) = query.collect(&model.table, read).await?;
            page.items.reverse();
            // Going back stopped with the page full: whether anything precedes it takes
            // one more look (DynamoDB hands back a key whenever the limit is reached).
            // Items were found: this page's successor is after them.
            let more_before = match page.next.take() {
                Some(cursor) => {
                    query.start = Some(cursor.to_key()?);
                    query.has_more(&model.table).await?
                }
                None => false,
            };
            page.prev = if more_before { last.as_ref().map(Cursor::from_key) } else { None };
            page.next = query.first_read.take().as_ref().map(Cursor::from_key);
            Ok(page)
        }
    }

    /// The `Query` request of the first page [`Find::send`] would send, unsent (see
    /// [`Request`](crate::Request)).
    pub fn request(self) -> Result<crate::Request, Error> {
        let table = self.model.table.clone();
        let backwards = self.prev.is_some();
        let mut query = self.prepare()?;
        // A page back reads the partition the other way (see `Find::prev`).
        query.reverse ^= backwards;
        let input = query.builder(&table, query.limit).as_input().clone().build();
        input.map(crate::Request::Query).map_err(|e| {
            ErrorKind::Dynamo { operation: "find", table: table.name().to_owned(), source: Box::new(e) }
                .into()
        })
    }

    /// How many items of the entity the query matches, with its filter and sort-key
    /// range, counted by DynamoDB (`Select: COUNT`) page after page to the end of the
    /// partition: no item is returned or converted, though each page still costs the
    /// read capacity of the items it reads. [`Find::limit`] and the cursor are
    /// ignored: the count is of the whole result.
    pub async fn count(self) -> Result<u64, Error> {
        let model = self.model.clone();
        let span = model.span("count");
        async move {
            // A count returns no attributes: the query without the projection.
            let mut query = self.prepare_as(false)?;
            query.start = None;
            query.count(&model.table).await
        }
        .instrument(span)
        .await
    }

    /// The items one by one, fetching pages as they are consumed: memory stays flat
    /// however large the result. Honours [`Find::limit`].
    pub fn stream(self) -> impl Stream<Item = Result<P, Error>> + Send + 'static {
        let model = self.model.clone();
        let prepared = self.prepare();
        let limit = prepared.as_ref().ok().and_then(|q| q.limit).unwrap_or(usize::MAX);
        let table = model.table.clone();
        stream::try_unfold((prepared, false), move |(query, done)| {
            let table = table.clone();
            async move {
                if done {
                    return Ok::<_, Error>(None);
                }
                let mut query = query?;
                let (page, last) = query.fetch(&table, None).await?;
                let done = last.is_none();
                query.start = last;
                Ok(Some((page, (Ok(query), done))))
            }
        })
        .map_ok(move |page| {
            let model = model.clone();
            stream::iter(page.into_iter().map(move |item| model.read_as::<P>(item)))
        })
        .try_flatten()
        .take(limit)
    }

    pub(crate) fn prepare(self) -> Result<Query, Error> {
        self.prepare_as(true)
    }

    /// The query; with `project`, reading `P` (checked against what the index holds),
    /// without, asking for no attributes (a count).
    fn prepare_as(self, project: bool) -> Result<Query, Error> {
        let model = self.model.clone();
        model.check_registered()?;
        let t = &model.table.inner;
        let entity = E::SCHEMA.name;
        let index = self.key.index();
        if project {
            crate::projection::readable::<P>(index)?;
        }
        let (index_name, hash_attr, sort_attr) = index_attributes(&model.table, index);
        let (hash, sort) = self.key.resolve()?;
        let partition = model.table.partition_text(|| Some(hash.clone()));
        let mut p = Placeholders::new();
        let mut key_condition = format!("{} = {}", p.name(&hash_attr), p.value(AttributeValue::S(hash)));
        if let Some(sort_attr) = &sort_attr {
            let name = p.name(sort_attr);
            let clause = match (self.range, sort) {
                (Some(SortRange::Between(lo, hi)), _) => {
                    let (lo, hi) = (p.value(AttributeValue::S(lo)), p.value(AttributeValue::S(hi)));
                    Some(format!("{name} BETWEEN {lo} AND {hi}"))
                }
                (Some(SortRange::Compare(op, v)), _) => {
                    Some(format!("{name} {op} {}", p.value(AttributeValue::S(v))))
                }
                (None, Some(SortCondition::Equals(v))) => {
                    Some(format!("{name} = {}", p.value(AttributeValue::S(v))))
                }
                (None, Some(SortCondition::Prefix(prefix))) if !prefix.is_empty() => {
                    Some(format!("begins_with({name}, {})", p.value(AttributeValue::S(prefix))))
                }
                _ => None,
            };
            if let Some(clause) = clause {
                key_condition.push_str(" AND ");
                key_condition.push_str(&clause);
            }
        }
        // Only this entity's items, whatever else shares the partition (OneTable #419).
        let mut filter =
            format!("{} = {}", p.name(t.format.type_field), p.value(AttributeValue::S(entity.to_owned())));
        let filtered = self.filter.is_some();
        if let Some(user) = &self.filter {
            filter = format!("{filter} AND ({})", user.render(entity, &t.format, &mut p)?);
        }
        if let Some(unexpired) = model.table.unexpired_clause(E::SCHEMA, index, &mut p) {
            filter = format!("{filter} AND {unexpired}");
        }
        let cursor_attrs = cursor_attributes(&model.table, index_name, hash_attr, sort_attr);
        let on_index = index_name.map(|_| index);
        let projection = if project {
            crate::projection::expression::<P>(&model.table, &cursor_attrs, on_index, &mut p)
        } else {
            None
        };
        let (names, values) = p.into_maps();
        Ok(Query {
            entity,
            partition,
            index: index_name,
            key_condition,
            filter: Some(filter),
            projection,
            names,
            values,
            filtered,
            page_size: self.page_size,
            reverse: self.reverse,
            consistent: self.consistent,
            limit: self.limit,
            start: self.next.or(self.prev).map(|c| c.to_key()).transpose()?,
            first_read: None,
            cursor_attrs,
        })
    }
}
into_future!(projected Find, Page<P>);

/// The index name to query (none for the table) and its hash and sort attributes.
pub(crate) fn index_attributes(
    table: &crate::Table,
    index: &onetable_core::IndexSchema,
) -> (Option<&'static str>, String, Option<String>) {
    let t = &table.inner;
    match index.kind {
        IndexKind::Primary => (None, t.hash.clone(), t.sort.clone()),
        IndexKind::Global => (
            Some(index.name),
            index.hash.as_ref().map_or_else(|| t.hash.clone(), |k| k.attribute.to_owned()),
            index.sort.as_ref().map(|k| k.attribute.to_owned()),
        ),
        IndexKind::Local => {
            (Some(index.name), t.hash.clone(), index.sort.as_ref().map(|k| k.attribute.to_owned()))
        }
    }
}

/// The attributes of an `ExclusiveStartKey` for a query: the table's key, and the
/// index's when querying an index.
pub(crate) fn cursor_attributes(
    table: &crate::Table,
    index: Option<&str>,
    hash: String,
    sort: Option<String>,
) -> Vec<String> {
    let t = &table.inner;
    let mut attrs = vec![t.hash.clone()];
    attrs.extend(t.sort.clone());
    if index.is_some() {
        attrs.push(hash);
        attrs.extend(sort);
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
    ) -> Result<(Vec<Item>, Option<Item>), Error> {
        let t = &table.inner;
        let request = self.builder(table, remaining).send();
        let out = table.observe(self.labels("find"), request).await.map_err(|e| sdk("find", &t.name, e))?;
        table.record_capacity(out.consumed_capacity());
        Ok((out.items.unwrap_or_default(), out.last_evaluated_key))
    }

    /// The request for the page from `start`, `remaining` items still wanted.
    fn builder(
        &self,
        table: &crate::Table,
        remaining: Option<usize>,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        let t = &table.inner;
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
        t.client
            .query()
            .table_name(&t.name)
            .set_return_consumed_capacity(table.capacity_request())
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
            if !items.is_empty() {
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
        let t = &table.inner;
        let mut count = 0u64;
        loop {
            // The page size is the query's own: counting wants no item limit.
            let request = self.builder(table, None).select(Select::Count).send();
            let out =
                table.observe(self.labels("count"), request).await.map_err(|e| sdk("count", &t.name, e))?;
            table.record_capacity(out.consumed_capacity());
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
        mut convert: impl FnMut(Item) -> Result<Option<T>, Error>,
    ) -> Result<(Page<T>, Option<Item>, Option<Item>), Error> {
        let limit = self.limit;
        let mut items = Vec::new();
        let (mut first, mut last_kept) = (None, None);
        if limit == Some(0) {
            return Ok((Page { items, next: None, prev: None }, None, None));
        }
        loop {
            let remaining = limit.map(|l| l - items.len());
            let (page, last) = self.fetch(table, remaining).await?;
            let page_len = page.len();
            let mut taken = 0;
            let mut last_returned = None;
            for item in page {
                if Some(items.len()) == limit {
                    break;
                }
                last_returned = Some(self.cursor_key(&item));
                taken += 1;
                let key = last_returned.clone();
                if let Some(value) = convert(item)? {
                    items.push(value);
                    if first.is_none() {
                        first = key.clone();
                    }
                    last_kept = key;
                }
            }
            if Some(items.len()) == limit {
                // Stopped inside a page: the next one starts after the last item
                // returned, so nothing is skipped. At a page's end: where DynamoDB
                // stopped reading.
                let next = if taken < page_len { last_returned } else { last };
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

    /// The labels of this query's requests for `operation`.
    fn labels(&self, operation: &'static str) -> Labels {
        Labels::new(operation, self.entity).index(self.index).partition(self.partition.clone())
    }

    pub(crate) fn cursor_key(&self, item: &Item) -> Item {
        self.cursor_attrs.iter().filter_map(|a| item.get(a).map(|v| (a.clone(), v.clone()))).collect()
    }
}

/// A scan's filter, with its names and values, and its projection.
type ScanExpression = (String, std::collections::HashMap<String, String>, Item, Option<String>);

/// The request for one page of one segment of a scan: the same for its items and its
/// count.
fn scan_request<E>(
    model: &Model<E>,
    (filter, names, values, projection): &ScanExpression,
    (segment, segments): (u32, u32),
    consistent: bool,
    start: Option<Item>,
) -> aws_sdk_dynamodb::operation::scan::builders::ScanFluentBuilder {
    let t = &model.table.inner;
    t.client
        .scan()
        .table_name(&t.name)
        .set_return_consumed_capacity(model.table.capacity_request())
        .filter_expression(filter)
        .set_projection_expression(projection.clone())
        .set_expression_attribute_names(Some(names.clone()))
        .set_expression_attribute_values(Some(values.clone()))
        .set_exclusive_start_key(start)
        .segment(segment as i32)
        .total_segments(segments as i32)
        .consistent_read(consistent)
}

/// [`Model::scan`]: every item of the entity in the table.
#[must_use = "await it, call .send().await or .stream()"]
pub struct Scan<E, P = E> {
    model: Model<E>,
    filter: Option<Condition<E>>,
    segments: u32,
    consistent: bool,
    limit: Option<usize>,
    projection: PhantomData<fn() -> P>,
}

impl<E: Entity, P: Projection<Entity = E>> Scan<E, P> {
    /// Returns only the fields of `Q` (a struct deriving [`Projection`] of `E`), as
    /// [`Find::project`].
    pub fn project<Q: Projection<Entity = E>>(self) -> Scan<E, Q> {
        Scan {
            model: self.model,
            filter: self.filter,
            segments: self.segments,
            consistent: self.consistent,
            limit: self.limit,
            projection: PhantomData,
        }
    }

    /// Reads `n` segments of the table in parallel (1 by default).
    pub fn segments(mut self, n: u32) -> Self {
        self.segments = n.max(1);
        self
    }

    /// Only items for which `condition` holds.
    pub fn filter(mut self, condition: Condition<E>) -> Self {
        self.filter = Some(condition);
        self
    }

    /// Strongly consistent reads.
    pub fn consistent(mut self) -> Self {
        self.consistent = true;
        self
    }

    /// At most `n` items.
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = Some(n);
        self
    }

    /// All the items (collected from every segment).
    pub async fn send(self) -> Result<Vec<P>, Error> {
        self.stream().try_collect().await
    }

    /// How many items of the entity the scan matches (with its filter), counted by
    /// DynamoDB (`Select: COUNT`) in every segment to the end of the table: no item is
    /// returned or converted. [`Scan::limit`] is ignored.
    pub async fn count(self) -> Result<u64, Error> {
        // A count returns no attributes: no projection.
        let prepared = self.prepare(false)?;
        let model = self.model.clone();
        let (segments, consistent) = (self.segments, self.consistent);
        let one = |segment: u32| {
            let prepared = prepared.clone();
            let model = model.clone();
            async move {
                let t = &model.table.inner;
                let (mut count, mut start) = (0u64, None);
                loop {
                    let request = scan_request(&model, &prepared, (segment, segments), consistent, start);
                    let labels = Labels::new("scan_count", E::SCHEMA.name);
                    let out = model
                        .table
                        .observe(labels, request.select(Select::Count).send())
                        .await
                        .map_err(|e| sdk("count", &t.name, e))?;
                    model.table.record_capacity(out.consumed_capacity());
                    count += u64::try_from(out.count).unwrap_or(0);
                    start = out.last_evaluated_key;
                    if start.is_none() {
                        return Ok::<u64, Error>(count);
                    }
                }
            }
        };
        let counts = futures_util::future::try_join_all((0..segments).map(one))
            .instrument(model.span("count"))
            .await?;
        Ok(counts.into_iter().sum())
    }

    /// The items as they arrive from the segments, a page at a time per segment.
    pub fn stream(self) -> impl Stream<Item = Result<P, Error>> + Send + 'static {
        let model = self.model.clone();
        let limit = self.limit.unwrap_or(usize::MAX);
        // A request that cannot be prepared fails once, with its own kind.
        let prepared = match self.prepare(true) {
            Ok(prepared) => prepared,
            Err(e) => return stream::once(std::future::ready(Err(e))).left_stream(),
        };
        let segments = self.segments;
        let reader = model.clone();
        let streams = (0..segments).map(move |segment| {
            let prepared = Ok::<_, Error>(prepared.clone());
            let consistent = self.consistent;
            let model = model.clone();
            stream::try_unfold((prepared, None::<Item>, false), move |(prepared, start, done)| {
                let model = model.clone();
                async move {
                    if done {
                        return Ok::<_, Error>(None);
                    }
                    let prepared = prepared?;
                    let t = &model.table.inner;
                    let request = scan_request(&model, &prepared, (segment, segments), consistent, start);
                    let out = model
                        .table
                        .observe(Labels::new("scan", E::SCHEMA.name), request.send())
                        .instrument(model.span("scan"))
                        .await
                        .map_err(|e| sdk("scan", &t.name, e))?;
                    model.table.record_capacity(out.consumed_capacity());
                    let last = out.last_evaluated_key;
                    let done = last.is_none();
                    Ok(Some((out.items.unwrap_or_default(), (Ok(prepared), last, done))))
                }
            })
            .boxed()
        });
        stream::select_all(streams)
            .map_ok(move |page| {
                let model = reader.clone();
                stream::iter(page.into_iter().map(move |item| model.read_as::<P>(item)))
            })
            .try_flatten()
            .take(limit)
            .right_stream()
    }

    /// The scan's expressions; with `project`, the projection of `P`.
    fn prepare(&self, project: bool) -> Result<ScanExpression, Error> {
        self.model.check_registered()?;
        let t = &self.model.table.inner;
        let mut p = Placeholders::new();
        let mut filter = format!(
            "{} = {}",
            p.name(t.format.type_field),
            p.value(AttributeValue::S(E::SCHEMA.name.to_owned()))
        );
        if let Some(user) = &self.filter {
            filter = format!("{filter} AND ({})", user.render(E::SCHEMA.name, &t.format, &mut p)?);
        }
        if let Some(unexpired) = self.model.table.unexpired_clause(E::SCHEMA, E::SCHEMA.primary(), &mut p) {
            filter = format!("{filter} AND {unexpired}");
        }
        let projection = if project {
            crate::projection::expression::<P>(&self.model.table, &[], None, &mut p)
        } else {
            None
        };
        let (names, values) = p.into_maps();
        Ok((filter, names.unwrap_or_default(), values.unwrap_or_default(), projection))
    }
}
into_future!(projected Scan, Vec<P>);
