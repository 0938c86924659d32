//! [`Model::scan`]: every item of an entity in the table, in parallel segments.

use crate::fetched::Fetched;
use crate::model::{into_future, Model};
use crate::send::{Call, Member};
use aws_sdk_dynamodb::types::Select;
use futures_util::future::BoxFuture;
use futures_util::stream::{self, Stream, StreamExt, TryStreamExt};
use onetable_core::expr::{Condition, Placeholders};
use onetable_core::{AttributeValue, Entity, Error, Item, Projection};
use std::future::IntoFuture;
use std::marker::PhantomData;
use tracing::Instrument;

impl<E: Entity> Model<E> {
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
    model
        .table
        .reader()
        .scan()
        .table_name(model.table.name())
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
    /// [`Find::project`](crate::Find::project).
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
                let (mut count, mut start) = (0u64, None);
                let call = Call::new("scan_count", E::SCHEMA.name);
                loop {
                    let request = scan_request(&model, &prepared, (segment, segments), consistent, start);
                    let out = model
                        .table
                        .send(&call, request.select(Select::Count))
                        .await
                        .map_err(|f| f.into_error(E::SCHEMA.name, "count"))?;
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
                    let request = scan_request(&model, &prepared, (segment, segments), consistent, start);
                    let direct = model.table.reads_direct(E::SCHEMA.name);
                    let (out, captured) = model
                        .table
                        .send_read(&Call::new("scan", E::SCHEMA.name), request, Member::Top("Items"), direct)
                        .instrument(model.span("scan"))
                        .await
                        .map_err(|f| f.into_error(E::SCHEMA.name, "scan"))?;
                    let page = Fetched::new(out.items, out.count, captured);
                    let last = out.last_evaluated_key;
                    let done = last.is_none();
                    Ok(Some((page, (Ok(prepared), last, done))))
                }
            })
            .boxed()
        });
        stream::select_all(streams)
            .map_ok(move |mut page| {
                let mut read: Vec<Result<P, Error>> = Vec::with_capacity(page.len_hint());
                let each = page.each(&reader.table, |_, raw| {
                    read.push(reader.read_raw::<P>(raw));
                    Ok(true)
                });
                // A body that stops being JSON ends the page with its error.
                read.extend(each.err().map(Err));
                stream::iter(read)
            })
            .try_flatten()
            .take(limit)
            .right_stream()
    }

    /// The scan's expressions; with `project`, the projection of `P`.
    fn prepare(&self, project: bool) -> Result<ScanExpression, Error> {
        self.model.check_registered()?;
        let format = self.model.table.format();
        let mut p = Placeholders::new();
        let mut filter = format!(
            "{} = {}",
            p.name(format.type_field),
            p.value(AttributeValue::S(E::SCHEMA.name.to_owned()))
        );
        if let Some(user) = &self.filter {
            filter = format!("{filter} AND ({})", user.render(E::SCHEMA.name, format, &mut p)?);
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
