//! Items as DynamoDB holds them, read and written through the table's one request
//! layer — metrics, consumed capacity, tracing, typed errors and DynamoDB's expression
//! limits, as every other request: for the table's own bookkeeping items (the
//! migration engine's history, lock and checkpoints, written by `onetable-migrate`),
//! and for code that needs a conditional write or a scan that onetable's typed
//! operations do not offer. Expressions are built with
//! [`Placeholders`], so values are never spliced
//! into expression text.
//!
//! ```no_run
//! # use onetable_client::{raw::{Call, Write, Written}, Table};
//! # use onetable_core::{expr::Placeholders, AttributeValue};
//! # async fn demo(table: Table) -> Result<(), onetable_core::Error> {
//! let mut p = Placeholders::new();
//! let condition = format!("attribute_not_exists({})", p.name("pk"));
//! let mut item = table.key_from_text("_lock", "_lock");
//! item.insert("owner".into(), AttributeValue::S("me".into()));
//! let write = Write::put("_Lock", item).condition(condition).placeholders(p);
//! match table.raw().write(&Call::new("lock", "_Lock"), write).await? {
//!     Written::Done { .. } => println!("taken"),
//!     Written::Refused { current } => println!("held: {current:?}"),
//! }
//! # Ok(()) }
//! ```

pub use crate::send::limits::{operators, MAX_EXPRESSION_BYTES, MAX_EXPRESSION_OPERATORS};
pub use crate::send::{Call, Failure, Reason, Refusal};
pub use crate::write::Write;

use crate::send::Outcome;
use crate::table::Table;
use crate::write::{Prepared, Transacted as Sent};
use onetable_core::expr::Placeholders;
use onetable_core::{AttributeValue, Error, Item};

/// Raw access to a table's items (see the [module](self)).
#[derive(Clone, Copy)]
pub struct Raw<'t> {
    table: &'t Table,
}

impl Table {
    /// Raw access to the table's items (see [`raw`](crate::raw)).
    pub fn raw(&self) -> Raw<'_> {
        Raw { table: self }
    }
}

/// What became of one raw write.
#[derive(Debug, Clone, PartialEq)]
pub enum Written {
    /// It landed: the attributes the request returned (see [`Write::returning`]),
    /// and the write units it consumed.
    Done {
        /// The item as DynamoDB returned it, when asked for.
        attributes: Option<Item>,
        /// The write units consumed.
        units: f64,
    },
    /// Its condition did not hold: the item it was evaluated on (`None`: there was
    /// no item under the key).
    Refused {
        /// The item as it is.
        current: Option<Item>,
    },
}

/// What became of a raw transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum Transacted {
    /// Every write landed; the write units they consumed.
    Done {
        /// The write units consumed (transactions cost twice a single write).
        units: f64,
    },
    /// Nothing was written: why, write by write.
    Cancelled(Vec<Reason>),
}

/// One page of a scan: which segment, what to keep, where to start.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct ScanPage {
    /// This page's segment, of `segments` (a parallel scan; 0 of 1 for a plain one).
    pub segment: u32,
    /// How many segments the scan has.
    pub segments: u32,
    /// Only items for which this holds (names and values in `placeholders`).
    pub filter: Option<String>,
    /// Only these attributes (names in `placeholders`).
    pub projection: Option<String>,
    /// The names and values of the expressions.
    pub placeholders: Placeholders,
    /// Where the page starts: the previous page's last key.
    pub start: Option<Item>,
    /// At most this many items read.
    pub limit: Option<i32>,
    /// A strongly consistent read.
    pub consistent: bool,
}

impl ScanPage {
    /// Segment `segment` of `segments`, from its start.
    pub fn new(segment: u32, segments: u32) -> ScanPage {
        ScanPage { segment, segments: segments.max(1), ..ScanPage::default() }
    }
}

/// What a scan page returned.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Scanned {
    /// The items.
    pub items: Vec<Item>,
    /// Where the next page starts (`None`: the segment is done).
    pub last: Option<Item>,
    /// The read units consumed.
    pub units: f64,
}

impl Raw<'_> {
    /// The item under `key` as DynamoDB holds it, read strongly consistently.
    pub async fn get(&self, call: &Call, key: Item) -> Result<Option<Item>, Error> {
        let request = self
            .table
            .client()
            .get_item()
            .table_name(self.table.name())
            .set_key(Some(key))
            .consistent_read(true);
        let out = self
            .table
            .send(call, request)
            .await
            .map_err(|f| f.into_error(call.entity(), call.operation()))?;
        Ok(out.item)
    }

    /// The items under `keys` as DynamoDB holds them, read strongly consistently with
    /// `BatchGetItem` (100 keys a request, 4 in flight, unprocessed keys retried), by
    /// their key's text ([`describe_key`](crate::describe_key)); a key with no item is
    /// absent. `attributes`: only these (with the key attributes), or every one when
    /// empty. Keys still unprocessed after the retries are an error, never a miss.
    pub async fn get_many(
        &self,
        call: &Call,
        keys: Vec<Item>,
        attributes: &[&str],
    ) -> Result<std::collections::HashMap<String, Item>, Error> {
        let mut p = Placeholders::new();
        let projection = (!attributes.is_empty()).then(|| {
            let (hash, sort) = self.table.key_attributes();
            let named = [hash].into_iter().chain(sort).chain(attributes.iter().copied());
            named.map(|a| p.name(a).into_owned()).collect::<Vec<_>>().join(", ")
        });
        let read = crate::batch_get::Read {
            call: call.clone(),
            consistent: true,
            projection,
            names: p.into_maps().0,
            concurrency: 4,
            backoff: crate::retry::Backoff::default(),
            direct: false,
        };
        crate::batch_get::get_items(self.table, keys, &read).await
    }

    /// Sends one write, alone: its condition's failure is an outcome, not an error.
    pub async fn write(&self, call: &Call, write: Write) -> Result<Written, Error> {
        let table = self.table;
        let refused = |failure: Failure| match failure {
            Failure::Refused(Refusal::Condition(current)) => Ok(Written::Refused { current }),
            other => Err(other.into_error(call.entity(), call.operation())),
        };
        let call = &call.clone().with_capacity();
        match Prepared::of(table, vec![write]) {
            Prepared::Put(b, _) => match table.send(call, b).await {
                Ok(out) => Ok(Written::Done { units: out.units(), attributes: out.attributes }),
                Err(f) => refused(f),
            },
            Prepared::Update(b, _) => match table.send(call, b).await {
                Ok(out) => Ok(Written::Done { units: out.units(), attributes: out.attributes }),
                Err(f) => refused(f),
            },
            Prepared::Delete(b, _) => match table.send(call, b).await {
                Ok(out) => Ok(Written::Done { units: out.units(), attributes: out.attributes }),
                Err(f) => refused(f),
            },
            // A condition check alone.
            Prepared::Transaction(writes) => match self.transact(call, writes, None).await? {
                Transacted::Done { units } => Ok(Written::Done { attributes: None, units }),
                Transacted::Cancelled(reasons) => {
                    Ok(Written::Refused { current: reasons.into_iter().next().and_then(|r| r.item) })
                }
            },
        }
    }

    /// Sends writes as one transaction (up to 100), with an idempotency `token` when
    /// given: a cancellation is an outcome, not an error.
    pub async fn transact(
        &self,
        call: &Call,
        writes: Vec<Write>,
        token: Option<String>,
    ) -> Result<Transacted, Error> {
        let call = call.clone().with_capacity();
        Ok(match crate::write::transact(self.table, &call, writes, token).await? {
            Sent::Done(units) => Transacted::Done { units },
            Sent::Cancelled(reasons) => Transacted::Cancelled(reasons),
        })
    }

    /// Every item of partition `hash` whose sort key begins with `prefix`, read
    /// strongly consistently, every page.
    pub async fn query_prefix(&self, call: &Call, hash: &str, prefix: &str) -> Result<Vec<Item>, Error> {
        let table = self.table;
        let (hash_attribute, sort_attribute) = table.key_attributes();
        let Some(sort_attribute) = sort_attribute else {
            let message = format!("table {} has no sort key to query by prefix", table.name());
            return Err(onetable_core::ErrorKind::Schema(message).into());
        };
        let mut p = Placeholders::new();
        let condition = format!(
            "{} = {} AND begins_with({}, {})",
            p.name(hash_attribute),
            p.value(AttributeValue::S(hash.to_owned())),
            p.name(sort_attribute),
            p.value(AttributeValue::S(prefix.to_owned()))
        );
        let (names, values) = p.into_maps();
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let request = table
                .client()
                .query()
                .table_name(table.name())
                .key_condition_expression(&condition)
                .set_expression_attribute_names(names.clone())
                .set_expression_attribute_values(values.clone())
                .consistent_read(true)
                .set_exclusive_start_key(start);
            let out =
                table.send(call, request).await.map_err(|f| f.into_error(call.entity(), call.operation()))?;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(items);
            }
        }
    }

    /// One page of a scan.
    pub async fn scan(&self, call: &Call, page: ScanPage) -> Result<Scanned, Error> {
        let table = self.table;
        let (names, values) = page.placeholders.into_maps();
        let request = table
            .client()
            .scan()
            .table_name(table.name())
            .set_segment((page.segments > 1).then_some(page.segment as i32))
            .set_total_segments((page.segments > 1).then_some(page.segments as i32))
            .set_filter_expression(page.filter)
            .set_projection_expression(page.projection)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .set_exclusive_start_key(page.start)
            .set_limit(page.limit)
            .consistent_read(page.consistent);
        let call = call.clone().with_capacity();
        let out =
            table.send(&call, request).await.map_err(|f| f.into_error(call.entity(), call.operation()))?;
        Ok(Scanned { units: out.units(), items: out.items.unwrap_or_default(), last: out.last_evaluated_key })
    }
}
