//! Batches of any size: `BatchWriteItem` in requests of 25, `BatchGetItem` in requests
//! of 100 (`batch_get`), sent with bounded concurrency; whatever DynamoDB returns
//! unprocessed is retried with backoff, and what is still unprocessed at the end is
//! returned in a typed error. Nothing is dropped silently.

use crate::keys::describe as key_text;
use crate::model::Model;
use crate::retry::Backoff;
use crate::send::Call;
use crate::splice::{Splice, SPLICE};
use crate::table::Table;
use aws_sdk_dynamodb::types::{DeleteRequest, PutRequest, WriteRequest};
use futures_util::future::BoxFuture;
use futures_util::stream::{self, StreamExt};
use onetable_core::{AttributeValue, Entity, Error, ErrorKind, Item, Key, Unprocessed};
use std::future::IntoFuture;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

const WRITE_CHUNK: usize = 25;
pub(crate) const GET_CHUNK: usize = 100;

/// Writes and removals of any number of items of any registered entities, made by
/// [`Table::batch_write`]. Not atomic: use a transaction for all-or-nothing.
///
/// Entities with unique fields or a version cannot be batched (a batch write cannot
/// be conditional); they are refused with a clear error.
#[must_use = "await it or call .send().await"]
pub struct BatchWrite {
    table: Table,
    requests: Vec<WriteRequest>,
    /// The key values of `requests`, in order.
    keys: KeyList,
    /// The items of the puts, as JSON, when the table writes them itself (see
    /// `crate::splice`): such a put's request holds its item empty.
    json: String,
    /// Per request, the span of its item in `json` (`None`: a removal, or a put whose
    /// request holds its item).
    items: Vec<Option<Range<usize>>>,
    /// Entities already checked for this batch (registered, not conditional).
    checked: Vec<&'static str>,
    error: Option<Error>,
    concurrency: usize,
    backoff: Backoff,
}

/// What a batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BatchSummary {
    /// Items written or removed.
    pub processed: usize,
    /// `BatchWriteItem` / `BatchGetItem` requests sent, retries included.
    pub requests: usize,
}

impl Table {
    /// A batch of puts and removals; see [`BatchWrite`].
    pub fn batch_write(&self) -> BatchWrite {
        BatchWrite {
            table: self.clone(),
            requests: Vec::new(),
            keys: KeyList::default(),
            json: String::new(),
            items: Vec::new(),
            checked: Vec::new(),
            error: None,
            concurrency: 4,
            backoff: Backoff::default(),
        }
    }
}

fn refuse_conditional<E: Entity>(what: &str) -> Option<Error> {
    let schema = E::SCHEMA;
    let field = schema.fields.iter().find(|f| f.unique || f.version)?;
    let why = if field.unique { "a unique field" } else { "a version" };
    Some(
        ErrorKind::Invalid {
            entity: schema.name,
            message: format!(
                "{} has {why} ({}): a batch {what} cannot keep it consistent; use the model's operations or a transaction",
                schema.name, field.name
            ),
        }
        .into(),
    )
}

impl BatchWrite {
    /// Adds a put (an upsert) of `entity`.
    pub fn put<E: Entity>(mut self, mut entity: E) -> Self {
        if !self.accepts::<E>("put") {
            return self;
        }
        entity.generate_ids();
        match Model::<E>::item_from(&self.table, entity, false, true) {
            Ok(item) => {
                self.keys.push(&self.table, &item);
                let item = self.written(item);
                let put = PutRequest::builder().set_item(Some(item)).build().expect("item is set");
                self.requests.push(WriteRequest::builder().put_request(put).build());
            }
            Err(e) => self.error = Some(e),
        }
        self
    }

    /// Adds a removal of the item with `key`.
    pub fn remove<E: Entity>(mut self, key: Key<E>) -> Self {
        if !self.accepts::<E>("remove") {
            return self;
        }
        match key.into_attrs() {
            Ok(key) => {
                self.keys.push(&self.table, &key);
                self.items.push(None);
                let delete = DeleteRequest::builder().set_key(Some(key)).build().expect("key is set");
                self.requests.push(WriteRequest::builder().delete_request(delete).build());
            }
            Err(e) => self.error = Some(e),
        }
        self
    }

    /// What a put's request holds of `item`: nothing when the table writes items
    /// itself (the item is written to `json`), else the item.
    fn written(&mut self, item: Item) -> Item {
        let start = self.json.len();
        if self.table.writes_direct() && onetable_core::wire::write_item(&mut self.json, &item).is_ok() {
            self.items.push(Some(start..self.json.len()));
            return Item::new();
        }
        // A value of a type the SDK does not know: the SDK refuses it as it would.
        self.json.truncate(start);
        self.items.push(None);
        item
    }

    /// False when the batch has failed already or cannot take writes of `E`; checked
    /// once an entity (a batch usually holds many items of few entities).
    fn accepts<E: Entity>(&mut self, what: &str) -> bool {
        if self.error.is_some() {
            return false;
        }
        let name = E::SCHEMA.name;
        if self.checked.contains(&name) {
            return true;
        }
        let refused = Model::<E>::new(self.table.clone())
            .check_registered()
            .err()
            .or_else(|| refuse_conditional::<E>(what));
        match refused {
            Some(e) => {
                self.error = Some(e);
                false
            }
            None => {
                self.checked.push(name);
                true
            }
        }
    }

    /// How many requests are in flight at once (4 by default).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Attempts per request, retries of unprocessed items included (10 by default).
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.backoff.max_attempts = n.max(1);
        self
    }

    /// The first wait between retries, doubled each time up to 5 s (50 ms by default).
    pub fn base_delay(mut self, delay: Duration) -> Self {
        self.backoff.base = delay;
        self
    }

    /// Sends the batch. Fails with [`ErrorKind::BatchIncomplete`] listing every
    /// request still unprocessed when the retries run out.
    pub async fn send(self) -> Result<BatchSummary, Error> {
        if let Some(e) = self.error {
            return Err(e);
        }
        self.table.check_writable("a batch write")?;
        // One request may not name a key twice; two writes of one key in one batch
        // would also race each other. (foldhash: this hashes every key of the batch,
        // and SipHash was a measurable part of a batch's cost.)
        let (table, keys) = (&self.table, &self.keys);
        {
            let mut seen = std::collections::HashSet::with_capacity_and_hasher(
                keys.len(),
                foldhash::fast::RandomState::default(),
            );
            for i in 0..keys.len() {
                if !seen.insert(keys.get(i)) {
                    let key = key_text(&keys.items(table, i..i + 1).next().unwrap_or_default());
                    return Err(ErrorKind::DuplicateKey { key }.into());
                }
            }
        }
        let backoff = self.backoff;
        // Each chunk's items written as JSON, if it has any (see `crate::splice`).
        let (json, name) = (Arc::new(self.json), Arc::<str>::from(table.name()));
        let items = self.items;
        let splice = |range: &Range<usize>| {
            let items = &items[range.clone()];
            items.iter().any(Option::is_some).then(|| Splice {
                table: name.clone(),
                json: json.clone(),
                items: items.to_vec(),
            })
        };
        let mut chunks: Vec<(Vec<WriteRequest>, Range<usize>)> = Vec::new();
        let mut all = self.requests.into_iter().peekable();
        while all.peek().is_some() {
            let start = chunks.last().map_or(0, |(_, r)| r.end);
            let chunk: Vec<WriteRequest> = all.by_ref().take(WRITE_CHUNK).collect();
            let range = start..start + chunk.len();
            chunks.push((chunk, range));
        }
        let results: Vec<ChunkResult> = stream::iter(chunks)
            .map(|(chunk, range)| write_chunk(table, chunk, (keys, splice(&range), range), backoff))
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        summarize("batch_write", results, backoff)
    }
}
impl IntoFuture for BatchWrite {
    type Output = Result<BatchSummary, Error>;
    type IntoFuture = BoxFuture<'static, Self::Output>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// What one chunk came to after its retries.
pub(crate) struct ChunkResult {
    pub(crate) processed: usize,
    pub(crate) requests: usize,
    pub(crate) unprocessed: Vec<Unprocessed>,
    pub(crate) error: Option<Error>,
}

/// Sends one chunk (its writes' keys, the JSON of the items its requests hold empty,
/// and its place in the batch), then re-sends whatever DynamoDB returns unprocessed. A
/// request that fails outright (the SDK has already retried throttling by then, under
/// its own retry configuration) ends the chunk: its writes are reported by key.
async fn write_chunk(
    table: &Table,
    chunk: Vec<WriteRequest>,
    first: (&KeyList, Option<Splice>, Range<usize>),
    backoff: Backoff,
) -> ChunkResult {
    let name = table.name();
    let total = chunk.len();
    let (keys_first, mut splice, range_first) = first;
    let mut pending = chunk;
    let mut requests = 0;
    let call = Call::new("batch_write", "");
    // The request takes the writes; their keys stay here so that a failed request is
    // still reported exactly (a copy of every item would cost far more). A retry's
    // writes are those DynamoDB returned, whose keys are read again.
    let mut retry_keys = KeyList::default();
    for attempt in 0..backoff.max_attempts {
        if attempt > 0 {
            tokio::time::sleep(backoff.delay(attempt)).await;
            retry_keys = KeyList::of(table, &pending);
        }
        requests += 1;
        let (keys, range) =
            if attempt == 0 { (keys_first, range_first.clone()) } else { (&retry_keys, 0..pending.len()) };
        let span =
            tracing::debug_span!("onetable", table = %name, operation = "batch_write", items = range.len());
        // The first attempt's puts may hold their items empty, to be filled in from
        // the JSON; a retry's writes are those DynamoDB returned, whole.
        let result = match splice.take() {
            Some(splice) => {
                let request =
                    table.reader().batch_write_item().request_items(name, std::mem::take(&mut pending));
                SPLICE.scope(splice, table.send(&call, request)).instrument(span).await
            }
            None => {
                let request =
                    table.client().batch_write_item().request_items(name, std::mem::take(&mut pending));
                table.send(&call, request).instrument(span).await
            }
        };
        match result {
            Ok(out) => {
                let left = out.unprocessed_items.and_then(|mut m| m.remove(name)).unwrap_or_default();
                if left.is_empty() {
                    return ChunkResult { processed: total, requests, unprocessed: Vec::new(), error: None };
                }
                // DynamoDB hands back exactly the requests it did not process.
                pending = left;
                tracing::debug!(
                    unprocessed = pending.len(),
                    attempt,
                    "batch_write: retrying unprocessed items"
                );
            }
            Err(failure) => {
                let unprocessed: Vec<Unprocessed> =
                    keys.items(table, range).map(Unprocessed::Failed).collect();
                let error = Some(failure.into_error("", "batch_write"));
                return ChunkResult { processed: total - unprocessed.len(), requests, unprocessed, error };
            }
        }
    }
    let unprocessed: Vec<Unprocessed> = pending.into_iter().map(unprocessed).collect();
    ChunkResult { processed: total - unprocessed.len(), requests, unprocessed, error: None }
}

/// A write request as the caller sees it in an error.
fn unprocessed(request: WriteRequest) -> Unprocessed {
    match (request.put_request, request.delete_request) {
        (Some(put), _) => Unprocessed::Put(put.item),
        (None, Some(delete)) => Unprocessed::Remove(delete.key),
        (None, None) => Unprocessed::Remove(Item::new()),
    }
}

/// The key values of a batch's writes, kept in one buffer: a few allocations a batch
/// rather than two a write, since most requests succeed and the keys are only read to
/// find duplicates.
#[derive(Default)]
struct KeyList {
    bytes: Vec<u8>,
    /// Per write, its hash and sort values: their kind and end offset in `bytes`.
    ends: Vec<[(Kind, usize); 2]>,
}

#[derive(Clone, Copy)]
enum Kind {
    None,
    S,
    N,
    B,
}

impl KeyList {
    fn of(table: &Table, requests: &[WriteRequest]) -> KeyList {
        let mut keys = KeyList::default();
        for request in requests {
            let attrs = match (&request.put_request, &request.delete_request) {
                (Some(put), _) => &put.item,
                (None, Some(delete)) => &delete.key,
                (None, None) => &Item::new(),
            };
            keys.push(table, attrs);
        }
        keys
    }

    /// Adds the key of an item (or of a key).
    fn push(&mut self, table: &Table, attrs: &Item) {
        let (hash, sort) = table.key_attributes();
        let mut push = |value: Option<&AttributeValue>| {
            let (kind, bytes) = match value {
                Some(AttributeValue::S(s)) => (Kind::S, s.as_bytes()),
                Some(AttributeValue::N(n)) => (Kind::N, n.as_bytes()),
                Some(AttributeValue::B(b)) => (Kind::B, b.as_ref()),
                _ => (Kind::None, &[][..]),
            };
            self.bytes.extend_from_slice(bytes);
            (kind, self.bytes.len())
        };
        let ends = [push(attrs.get(hash)), push(sort.and_then(|s| attrs.get(s)))];
        self.ends.push(ends);
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    fn start(&self, i: usize) -> usize {
        i.checked_sub(1).map_or(0, |p| self.ends[p][1].1)
    }

    /// Write `i`'s hash and sort values: cheap to compare.
    fn get(&self, i: usize) -> (&[u8], &[u8]) {
        let [(_, mid), (_, end)] = self.ends[i];
        (&self.bytes[self.start(i)..mid], &self.bytes[mid..end])
    }

    /// The key attributes of writes `range`, in order.
    fn items<'k>(&'k self, table: &'k Table, range: Range<usize>) -> impl Iterator<Item = Item> + 'k {
        let (hash, sort) = table.key_attributes();
        let mut start = self.start(range.start);
        self.ends[range].iter().map(move |ends| {
            let mut key = Item::with_capacity(2);
            for (&(kind, end), name) in ends.iter().zip([Some(hash), sort]) {
                let bytes = &self.bytes[start..end];
                start = end;
                let text = || String::from_utf8_lossy(bytes).into_owned();
                let value = match kind {
                    Kind::None => continue,
                    Kind::S => AttributeValue::S(text()),
                    Kind::N => AttributeValue::N(text()),
                    Kind::B => AttributeValue::B(bytes.to_vec().into()),
                };
                if let Some(name) = name {
                    key.insert(name.to_owned(), value);
                }
            }
            key
        })
    }
}

pub(crate) fn summarize(
    operation: &'static str,
    results: Vec<ChunkResult>,
    backoff: Backoff,
) -> Result<BatchSummary, Error> {
    let mut summary = BatchSummary { processed: 0, requests: 0 };
    let mut unprocessed = Vec::new();
    let mut source = None;
    for r in results {
        summary.processed += r.processed;
        summary.requests += r.requests;
        unprocessed.extend(r.unprocessed);
        if r.error.is_some() {
            source = r.error;
        }
    }
    if unprocessed.is_empty() {
        return Ok(summary);
    }
    Err(ErrorKind::BatchIncomplete {
        operation,
        unprocessed,
        processed: summary.processed,
        attempts: backoff.max_attempts,
        source: source.map(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>),
    }
    .into())
}
