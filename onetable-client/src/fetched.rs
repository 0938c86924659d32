//! The items of one read response: the SDK's maps, or the response body the library
//! decodes itself (see `crate::capture`), read in one pass: each item decoded where it
//! stands, its span noted on the way for the one or two a cursor is taken from.

use crate::send::Captured;
use onetable_core::wire::{Reader, WireError};
use onetable_core::{Error, ErrorKind, Item, Projection};
use std::ops::Range;

/// The most items a capacity is reserved for from a response's own count.
const MAX_HINT: usize = 1000;

/// The items of one response, in its order.
pub(crate) enum Fetched {
    /// Read by the SDK.
    Items(Vec<Item>),
    /// Kept as they arrived: the body, its array of items, how many there are (the
    /// response's `Count`), and the span of each item read so far.
    Json { body: String, array: Range<usize>, count: usize, spans: Vec<Range<usize>> },
}

/// One item of a response, as it came.
pub(crate) enum Raw<'r, 'a> {
    /// The SDK's map.
    Item(Item),
    /// The item's JSON, next in the body.
    Json(JsonItem<'r, 'a>),
}

/// An item of a body kept as JSON: the reader stands at its start. Reading it, either
/// way, leaves the reader at its end.
pub(crate) struct JsonItem<'r, 'a> {
    reader: &'r mut Reader<'a>,
    start: usize,
    read: &'r mut bool,
}

impl<'a> JsonItem<'_, 'a> {
    /// The item read straight into `P`, if `P` reads it (see `Projection::from_json`).
    pub fn decode<P: Projection>(&mut self, type_field: &str) -> Option<P> {
        self.decode_with(|reader| P::from_json(reader, type_field))
    }

    /// The item read straight by `read`; `None` leaves it to be read again.
    pub fn decode_with<T>(&mut self, read: impl FnOnce(&mut Reader<'a>) -> Option<T>) -> Option<T> {
        let value = read(self.reader);
        if value.is_some() {
            *self.read = true;
        } else {
            self.reader.rewind(self.start);
        }
        value
    }

    /// The entity name in the item's type attribute `type_field`, if it holds one.
    pub fn type_name(&mut self, type_field: &str) -> Option<&'a str> {
        self.reader.string_attribute(type_field).ok().flatten()
    }

    /// The item as a map, as the SDK would have read it.
    pub fn into_item(self, table: &crate::Table) -> Result<Item, Error> {
        let item = self.reader.item().map_err(|e| wire_error(table, "read", e))?;
        *self.read = true;
        Ok(item)
    }
}

impl Fetched {
    /// A query's or scan's items (`count`: its `Count`): the kept `Items` when there
    /// is one, else the SDK's.
    pub fn new(items: Option<Vec<Item>>, count: i32, captured: Option<Captured>) -> Fetched {
        match captured {
            None => Fetched::Items(items.unwrap_or_default()),
            Some(c) => {
                let count = usize::try_from(count).unwrap_or(0);
                let spans = Vec::with_capacity(count.min(MAX_HINT));
                Fetched::Json { body: c.body, array: c.value, count, spans }
            }
        }
    }

    /// How many items, as the response counts them (`Count`): a capacity to reserve,
    /// never trusted past a page's worth.
    pub fn len_hint(&self) -> usize {
        match self {
            Fetched::Items(items) => items.len(),
            Fetched::Json { count, .. } => (*count).min(MAX_HINT),
        }
    }

    /// Whether the response holds no item.
    pub fn is_empty(&self) -> Result<bool, WireError> {
        match self {
            Fetched::Items(items) => Ok(items.is_empty()),
            Fetched::Json { body, array, .. } => {
                let mut reader = Reader::new(&body[array.clone()]);
                reader.begin_array()?;
                Ok(!reader.next_element()?)
            }
        }
    }

    /// Hands each item in order to `each` (with its index) until it returns `false`;
    /// whether it stopped with items left. An item it leaves unread is skipped. Once
    /// only: the SDK's maps are moved out.
    pub fn each(
        &mut self,
        table: &crate::Table,
        mut each: impl FnMut(usize, Raw<'_, '_>) -> Result<bool, Error>,
    ) -> Result<bool, Error> {
        match self {
            Fetched::Items(items) => {
                let len = items.len();
                for (index, item) in items.drain(..).enumerate() {
                    if !each(index, Raw::Item(item))? {
                        return Ok(index + 1 < len);
                    }
                }
                Ok(false)
            }
            Fetched::Json { body, array, spans, .. } => {
                let body: &str = body;
                let failed = |e| wire_error(table, "read", e);
                let mut reader = Reader::new(body);
                reader.rewind(array.start);
                reader.begin_array().map_err(failed)?;
                let mut index = 0;
                while reader.next_element().map_err(failed)? {
                    let start = reader.value_start();
                    let mut read = false;
                    let more =
                        each(index, Raw::Json(JsonItem { reader: &mut reader, start, read: &mut read }))?;
                    if !read {
                        reader.rewind(start);
                        reader.skip().map_err(failed)?;
                    }
                    spans.push(start..reader.position());
                    index += 1;
                    if !more {
                        return reader.next_element().map_err(failed);
                    }
                }
                Ok(false)
            }
        }
    }

    /// The item at `index` as a map (the JSON form, once [`Fetched::each`] has passed
    /// it; `None` for the SDK's maps, which `each` moved out).
    pub fn item_at(&self, index: usize, table: &crate::Table) -> Result<Option<Item>, Error> {
        match self {
            Fetched::Items(_) => Ok(None),
            Fetched::Json { body, spans, .. } => match spans.get(index) {
                Some(span) => table.wire_item(&body[span.clone()]).map(Some),
                None => Ok(None),
            },
        }
    }

    /// Every item as a map.
    pub fn into_items(mut self, table: &crate::Table) -> Result<Vec<Item>, Error> {
        let mut out = Vec::with_capacity(self.len_hint());
        self.each(table, |_, raw| {
            out.push(raw.into_item(table)?);
            Ok(true)
        })?;
        Ok(out)
    }
}

impl Raw<'_, '_> {
    /// The item as a map.
    pub fn into_item(self, table: &crate::Table) -> Result<Item, Error> {
        match self {
            Raw::Item(item) => Ok(item),
            Raw::Json(json) => json.into_item(table),
        }
    }
}

/// A body that is not the JSON DynamoDB sends, as the error of `operation`.
pub(crate) fn wire_error(table: &crate::Table, operation: &'static str, e: WireError) -> Error {
    ErrorKind::Dynamo { operation, table: table.name().to_owned(), source: Box::new(e) }.into()
}

impl crate::Table {
    /// The item in DynamoDB JSON `json`, as the SDK would have read it.
    pub(crate) fn wire_item(&self, json: &str) -> Result<Item, Error> {
        onetable_core::wire::item(json).map_err(|e| wire_error(self, "read", e))
    }

    /// A body's one item read as `P` (a get's `Item`), straight or through its map.
    pub(crate) fn read_json<T>(
        &self,
        json: &str,
        read: impl FnOnce(Raw<'_, '_>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut reader = Reader::new(json);
        let mut done = false;
        read(Raw::Json(JsonItem { reader: &mut reader, start: 0, read: &mut done }))
    }
}
