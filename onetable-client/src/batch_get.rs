//! `BatchGetItem` for `Model::get_many` (and the library's own reads by key): 100 keys a
//! request, bounded concurrency, unprocessed keys retried, what is still unprocessed at
//! the end a typed error. Items are kept as JSON for the caller to decode when the
//! table reads so (see `crate::capture`).

use crate::batch::{summarize, ChunkResult, GET_CHUNK};
use crate::fetched::wire_error;
use crate::keys::describe as key_text;
use crate::model::{into_future, Model};
use crate::retry::Backoff;
use crate::send::{Call, Captured, Member};
use crate::table::Table;
use aws_sdk_dynamodb::types::KeysAndAttributes;
use futures_util::future::BoxFuture;
use futures_util::stream::{self, StreamExt};
use onetable_core::expr::Placeholders;
use onetable_core::{Entity, Error, ErrorKind, Item, Key, Projection, Unprocessed};
use std::collections::HashMap;
use std::future::IntoFuture;
use std::marker::PhantomData;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

/// [`Model::get_many`]: reads of any number of items by key.
#[must_use = "await it or call .send().await"]
pub struct GetMany<E, P = E> {
    model: Model<E>,
    keys: Vec<Key<E>>,
    consistent: bool,
    concurrency: usize,
    backoff: Backoff,
    projection: PhantomData<fn() -> P>,
}

impl<E: Entity> Model<E> {
    /// Reads many items by key with `BatchGetItem`, 100 keys a request. Resolves to
    /// one `Option<E>` per key, in the order of the keys.
    pub fn get_many(&self, keys: impl IntoIterator<Item = Key<E>>) -> GetMany<E> {
        GetMany {
            model: self.clone(),
            keys: keys.into_iter().collect(),
            consistent: false,
            concurrency: 4,
            backoff: Backoff::default(),
            projection: PhantomData,
        }
    }
}

impl<E: Entity, P: Projection<Entity = E>> GetMany<E, P> {
    /// Reads only the fields of `Q` (a struct deriving [`Projection`] of `E`), as
    /// [`Get::project`](crate::Get::project).
    pub fn project<Q: Projection<Entity = E>>(self) -> GetMany<E, Q> {
        GetMany {
            model: self.model,
            keys: self.keys,
            consistent: self.consistent,
            concurrency: self.concurrency,
            backoff: self.backoff,
            projection: PhantomData,
        }
    }

    /// Strongly consistent reads.
    pub fn consistent(mut self) -> Self {
        self.consistent = true;
        self
    }

    /// How many requests are in flight at once (4 by default).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Attempts per request, retries of unprocessed keys included (10 by default).
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.backoff.max_attempts = n.max(1);
        self
    }

    /// The first wait between retries (50 ms by default).
    pub fn base_delay(mut self, delay: Duration) -> Self {
        self.backoff.base = delay;
        self
    }

    /// Sends the requests.
    pub async fn send(self) -> Result<Vec<Option<P>>, Error> {
        let model = self.model.clone();
        model.check_registered()?;
        let keys: Vec<Item> = self.keys.into_iter().map(Key::into_attrs).collect::<Result<_, _>>()?;
        let texts: Vec<String> = keys.iter().map(key_text).collect();
        let mut p = Placeholders::new();
        let projection = crate::projection::expression::<P>(&model.table, &[], None, &mut p);
        let table = &model.table;
        let read = Read {
            call: Call::new("get_many", E::SCHEMA.name),
            consistent: self.consistent,
            projection,
            names: p.into_maps().0,
            concurrency: self.concurrency,
            backoff: self.backoff,
            direct: table.reads_direct_by_key(E::SCHEMA),
        };
        let found = fetch_items(table, keys, &read).await?;
        let mut out = Vec::with_capacity(texts.len());
        for text in &texts {
            // A key asked for twice gets the item twice.
            let value = match found.get(text) {
                None => None,
                Some(Found::Json(body, span)) => {
                    Some(table.read_json(&body[span.clone()], |raw| model.read_raw(raw))?)
                }
                Some(Found::Item(item)) if table.is_expired(E::SCHEMA, item) => None,
                Some(Found::Item(item)) => Some(model.read_as(item.clone())?),
            };
            out.push(value);
        }
        Ok(out)
    }
}
into_future!(projected GetMany, Vec<Option<P>>);

/// How each key of a `get_many` is read.
#[derive(Clone)]
pub(crate) struct Read {
    pub(crate) call: Call,
    pub(crate) consistent: bool,
    pub(crate) projection: Option<String>,
    pub(crate) names: Option<HashMap<String, String>>,
    pub(crate) concurrency: usize,
    pub(crate) backoff: Backoff,
    /// Keep the items as JSON, for the caller to decode (see `crate::capture`).
    pub(crate) direct: bool,
}

/// An item a `BatchGetItem` returned: the SDK's map, or its span in a response body
/// the library decodes.
pub(crate) enum Found {
    Item(Item),
    Json(Arc<String>, Range<usize>),
}

/// Reads `keys` with `BatchGetItem`, 100 keys a request and `read.concurrency` in
/// flight, each distinct key once (one request may not name a key twice), retrying
/// unprocessed keys; the items found by their key's text. Keys still unprocessed
/// after the retries are an error that lists them: a missing item is never a read
/// that did not happen.
pub(crate) async fn get_items(
    table: &Table,
    keys: Vec<Item>,
    read: &Read,
) -> Result<HashMap<String, Item>, Error> {
    let found = fetch_items(table, keys, &Read { direct: false, ..read.clone() }).await?;
    Ok(found
        .into_iter()
        .filter_map(|(key, found)| match found {
            Found::Item(item) => Some((key, item)),
            Found::Json(..) => None,
        })
        .collect())
}

/// [`get_items`], each item kept as JSON when `read.direct`.
async fn fetch_items(table: &Table, keys: Vec<Item>, read: &Read) -> Result<HashMap<String, Found>, Error> {
    let mut distinct: Vec<Item> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for key in keys {
        if seen.insert(key_text(&key)) {
            distinct.push(key);
        }
    }
    let chunks: Vec<Vec<Item>> = distinct.chunks(GET_CHUNK).map(<[Item]>::to_vec).collect();
    let results: Vec<(Vec<(String, Found)>, ChunkResult)> = stream::iter(chunks)
        .map(|chunk| get_chunk(table, chunk, read))
        .buffer_unordered(read.concurrency)
        .collect()
        .await;
    let mut found: HashMap<String, Found> = HashMap::new();
    let mut chunk_results = Vec::new();
    for (items, result) in results {
        found.extend(items);
        chunk_results.push(result);
    }
    summarize("batch_get", chunk_results, read.backoff)?;
    Ok(found)
}

/// The items of one response by their key's text: kept as JSON, or the SDK's maps.
fn found_items(
    table: &Table,
    out: &mut aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemOutput,
    captured: Option<Captured>,
) -> Result<Vec<(String, Found)>, Error> {
    let Some(captured) = captured else {
        let items = out.responses.as_mut().and_then(|r| r.remove(table.name())).unwrap_or_default();
        return Ok(items
            .into_iter()
            .map(|item| (key_text(&table.key_of(&item)), Found::Item(item)))
            .collect());
    };
    let (hash, sort) = table.key_attributes();
    let names: Vec<&str> = std::iter::once(hash).chain(sort).collect();
    let body = Arc::new(captured.body);
    let spans = onetable_core::wire::elements(&body, captured.value)
        .map_err(|e| wire_error(table, "batch_get", e))?;
    let mut out = Vec::with_capacity(spans.len());
    for span in spans {
        let key = onetable_core::wire::Reader::new(&body[span.clone()])
            .attributes(&names)
            .map_err(|e| wire_error(table, "batch_get", e))?;
        out.push((key_text(&key), Found::Json(body.clone(), span)));
    }
    Ok(out)
}

async fn get_chunk(table: &Table, chunk: Vec<Item>, read: &Read) -> (Vec<(String, Found)>, ChunkResult) {
    let (name, call, backoff) = (table.name(), &read.call, read.backoff);
    let total = chunk.len();
    let mut pending = chunk;
    let mut items = Vec::new();
    let mut requests = 0;
    for attempt in 0..backoff.max_attempts {
        if attempt > 0 {
            tokio::time::sleep(backoff.delay(attempt)).await;
        }
        requests += 1;
        let request = KeysAndAttributes::builder()
            .set_keys(Some(pending.clone()))
            .consistent_read(read.consistent)
            .set_projection_expression(read.projection.clone())
            .set_expression_attribute_names(read.names.clone())
            .build();
        let request = match request {
            Ok(r) => r,
            Err(e) => {
                let error =
                    ErrorKind::Dynamo { operation: "batch_get", table: name.to_owned(), source: Box::new(e) }
                        .into();
                let unprocessed = pending.into_iter().map(Unprocessed::Get).collect();
                return (items, ChunkResult { processed: 0, requests, unprocessed, error: Some(error) });
            }
        };
        let request = table.reader().batch_get_item().request_items(name, request);
        let result = table
            .send_read(call, request, Member::Responses(name.to_owned()), read.direct)
            .instrument(tracing::debug_span!("onetable", table = %name, operation = "batch_get", keys = pending.len()))
            .await;
        match result {
            Ok((mut out, captured)) => {
                match found_items(table, &mut out, captured) {
                    Ok(found) => items.extend(found),
                    Err(error) => {
                        let unprocessed: Vec<_> = pending.into_iter().map(Unprocessed::Get).collect();
                        let processed = total - unprocessed.len();
                        return (items, ChunkResult { processed, requests, unprocessed, error: Some(error) });
                    }
                }
                let left =
                    out.unprocessed_keys.and_then(|mut m| m.remove(name)).map(|k| k.keys).unwrap_or_default();
                if left.is_empty() {
                    return (
                        items,
                        ChunkResult { processed: total, requests, unprocessed: Vec::new(), error: None },
                    );
                }
                pending = left;
            }
            Err(failure) => {
                let error = failure.into_error(call.entity(), "batch_get");
                if !error.is_throttled() || attempt + 1 == backoff.max_attempts {
                    let unprocessed: Vec<_> = pending.into_iter().map(Unprocessed::Get).collect();
                    let processed = total - unprocessed.len();
                    return (items, ChunkResult { processed, requests, unprocessed, error: Some(error) });
                }
            }
        }
    }
    let unprocessed: Vec<_> = pending.into_iter().map(Unprocessed::Get).collect();
    (items, ChunkResult { processed: total - unprocessed.len(), requests, unprocessed, error: None })
}
