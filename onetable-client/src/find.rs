//! Queries (`find`) and scans, by page or as streams.
//!
//! Two rules that OneTable breaks are kept here: a query returns only items of its own
//! entity (the type attribute is always part of the filter), and a limit counts the
//! items returned to the caller, fetching further pages only while more are needed.

use crate::cursor::Cursor;
use crate::fetched::Raw;
use crate::model::{into_future, Model};
pub use crate::query::Page;
use crate::query::{cursor_attributes, index_attributes, Query};
use futures_util::future::BoxFuture;
use futures_util::stream::{self, Stream, StreamExt};
use onetable_core::expr::{Condition, Placeholders};
use onetable_core::{
    AttributeValue, Entity, Error, ErrorKind, IndexProjection, PartialKey, Projection, SortCondition,
};
use std::future::IntoFuture;
use std::marker::PhantomData;
use tracing::Instrument;

/// The keys one `BatchGetItem` reads: a hydrated stream's page of entries.
const GET_BATCH: usize = 100;

/// A sort key condition given on a find.
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
    /// Read the keys from the index, the items from the table ([`Find::hydrate`]).
    hydrate: bool,
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
            hydrate: false,
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
            hydrate: self.hydrate,
            projection: PhantomData,
        }
    }

    /// Reads an index that holds fewer attributes than the find returns (only the
    /// keys, or some): the query asks the index for the keys alone, in its order, and
    /// the items are then read from the table by key with `BatchGetItem` (100 keys a
    /// request, strongly consistent with [`Find::consistent`]), whole or as
    /// [`Find::project`] asks, and returned in the index's order. Each page costs its
    /// query and one read of each item; metrics count the reads as `hydrate`.
    ///
    /// A page's limit counts the index's entries: an item removed since the index
    /// was read, and another entity's item where the index may not hold the type (any
    /// index that does not project every attribute), are left out, so a page may hold
    /// fewer ([`Find::stream`] counts the items it yields, reading 100 entries a
    /// request). A global index is queried with eventually consistent reads (the
    /// only kind it serves); [`Find::consistent`] makes the item reads strong. A
    /// [`Find::filter`] is refused unless the index projects all attributes: it would
    /// run on what the index holds.
    pub fn hydrate(mut self) -> Self {
        self.hydrate = true;
        self
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
        if self.hydrate {
            let consistent = self.consistent;
            return async move {
                let table = model.table.clone();
                let page = self.page(|raw| raw.into_item(&table).map(Some)).await?;
                let items = crate::hydrate::items(&model, page.items, consistent).await?;
                let items = items.into_iter().collect::<Result<_, _>>()?;
                Ok(Page { items, next: page.next, prev: page.prev })
            }
            .instrument(span)
            .await;
        }
        self.page(|raw| model.read_raw(raw).map(Some)).instrument(span).await
    }

    /// One page, forward or back, each item turned into a result by `read`.
    pub(crate) async fn page<T>(
        self,
        read: impl FnMut(Raw<'_, '_>) -> Result<Option<T>, Error>,
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
        let (hydrate, consistent) = (self.hydrate, self.consistent);
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
                // Hydrated: at most one `BatchGetItem` of entries a page, so memory
                // stays flat and no more is read than the stream is asked for.
                let entries = (hydrate && query.page_size.is_none()).then_some(GET_BATCH);
                let (page, last) = query.fetch(&table, entries).await?;
                let done = last.is_none();
                query.start = last;
                Ok(Some((page, (Ok(query), done))))
            }
        })
        .then(move |page| {
            let model = model.clone();
            async move {
                let read: Vec<Result<P, Error>> = match (page, hydrate) {
                    (Err(e), _) => vec![Err(e)],
                    (Ok(mut page), false) => {
                        let mut read = Vec::with_capacity(page.len_hint());
                        let each = page.each(&model.table, |_, raw| {
                            read.push(model.read_raw::<P>(raw));
                            Ok(true)
                        });
                        // A body that stops being JSON ends the page with its error.
                        read.extend(each.err().map(Err));
                        read
                    }
                    (Ok(page), true) => match page.into_items(&model.table) {
                        Ok(page) => crate::hydrate::items(&model, page, consistent)
                            .await
                            .unwrap_or_else(|e| vec![Err(e)]),
                        Err(e) => vec![Err(e)],
                    },
                };
                stream::iter(read)
            }
        })
        .flatten()
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
        let type_field = model.table.format().type_field;
        let entity = E::SCHEMA.name;
        let index = self.key.index();
        if project && !self.hydrate {
            crate::projection::readable::<P>(index)?;
        }
        if self.hydrate && self.filter.is_some() && index.projection != IndexProjection::All {
            let message = format!(
                "a hydrated find on index {} cannot filter: the filter would run on what the index holds, not on the items; filter the items returned",
                index.name
            );
            return Err(ErrorKind::Invalid { entity, message }.into());
        }
        let mut p = Placeholders::new();
        let (index_name, key_condition, partition) = if index.multi.is_some() {
            if self.range.is_some() {
                let message = format!(
                    "index {} is keyed on attributes: compare its sort attributes with the partition's .gt(..), .between(..) and the like, not sort key text",
                    index.name
                );
                return Err(ErrorKind::Invalid { entity, message }.into());
            }
            let condition = self.key.multi_condition(model.table.format(), &mut p)?.ok_or_else(|| {
                let message = format!(
                    "index {} is keyed on attributes: query it with its partition's values",
                    index.name
                );
                Error::from(ErrorKind::Invalid { entity, message })
            })?;
            (Some(index.name), condition, None)
        } else {
            let (index_name, hash_attr, sort_attr) = index_attributes(&model.table, index);
            let (hash, sort) = self.key.resolve()?;
            let partition = model.table.partition_text(|| Some(hash.clone()));
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
            (index_name, key_condition, partition)
        };
        // Only this entity's items, whatever else shares the partition (OneTable #419);
        // an index of keys only holds no type: hydrating checks it on the items read.
        let typed = !(project && self.hydrate) || crate::hydrate::holds_type(index);
        let mut filter = String::new();
        if typed {
            filter = format!("{} = {}", p.name(type_field), p.value(AttributeValue::S(entity.to_owned())));
        }
        let filtered = self.filter.is_some();
        let mut and = |clause: String| {
            filter = if filter.is_empty() { clause } else { format!("{filter} AND {clause}") };
        };
        if let Some(user) = &self.filter {
            and(format!("({})", user.render(entity, model.table.format(), &mut p)?));
        }
        if let Some(unexpired) = model.table.unexpired_clause(E::SCHEMA, index, &mut p) {
            and(unexpired);
        }
        let cursor_attrs = cursor_attributes(&model.table, index);
        let on_index = index_name.map(|_| index);
        let projection = match (project, self.hydrate) {
            (true, true) => Some(crate::hydrate::key_projection(type_field, index, &cursor_attrs, &mut p)),
            (true, false) => {
                crate::projection::expression::<P>(&model.table, &cursor_attrs, on_index, &mut p)
            }
            (false, _) => None,
        };
        let (names, values) = p.into_maps();
        Ok(Query {
            entity,
            partition,
            index: index_name,
            key_condition,
            filter: (!filter.is_empty()).then_some(filter),
            projection,
            names,
            values,
            filtered,
            page_size: self.page_size,
            reverse: self.reverse,
            // A global index cannot be read consistently; hydrating, the items are.
            consistent: self.consistent && !(self.hydrate && index.kind == onetable_core::IndexKind::Global),
            limit: self.limit,
            start: self.next.or(self.prev).map(|c| c.to_key()).transpose()?,
            first_read: None,
            cursor_attrs,
        })
    }
}
into_future!(projected Find, Page<P>);
