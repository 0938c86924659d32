//! Request bodies filled in by the library itself: a batch write's items, written as
//! JSON once (`onetable_core::wire::write_item`) rather than handed to the SDK as
//! `AttributeValue` maps for its serializer to walk. The SDK is given each put with
//! its item empty (`"Item":{}`) and builds the rest of the request as always (the
//! table, the other members, headers, endpoint); then, once, before its retry loop and
//! so before signing, the interceptor on the table's reader client puts each item's
//! JSON where its empty item is. Every attempt, retries included, sends and signs
//! that body, and everything after (errors, unprocessed items, metrics) is the SDK's
//! as for any request.
//!
//! A body that is not what the library expects (not in memory, another shape, another
//! number of writes, an item that is not empty) fails the request before anything is
//! sent: the batch reports its writes by key, as for any failed request.
//!
//! An interceptor of the application's own would see the items empty up to its
//! `modify_before_retry_loop` (and the full body from `modify_before_signing` on): a
//! client carrying one hands the SDK every item unless
//! `TableBuilder::direct_writes(true)` says otherwise. The body is filled in only for
//! a `BatchWriteItem` sent in the splice's scope.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::http::Request;
use aws_smithy_types::body::SdkBody;
use onetable_core::wire::{elements, member};
use std::ops::Range;
use std::sync::Arc;

/// One `BatchWriteItem` request's items, as JSON.
#[derive(Debug, Clone)]
pub(crate) struct Splice {
    /// The table the writes are for (their list is `RequestItems.<table>`).
    pub table: Arc<str>,
    /// The items of a whole batch, one after another.
    pub json: Arc<String>,
    /// Per write of the request, in order, the span of its item in `json` (`None`: a
    /// removal, or a put whose item the SDK was handed).
    pub items: Vec<Option<Range<usize>>>,
}

tokio::task_local! {
    /// The splice of the request being sent from this task, if any: requests sent
    /// without one are left alone.
    pub(crate) static SPLICE: Splice;
}

/// A batch write's body that is not what the library expects: the request is not
/// sent. Not transient (the same request fails the same way again): the typed error
/// finds it among the SDK error's sources.
#[derive(Debug)]
pub(crate) struct Unfilled(String);

impl std::fmt::Display for Unfilled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "batch write request body: {}", self.0)
    }
}

impl std::error::Error for Unfilled {}

/// Puts the items of the task's splice, if it has one, into `request`'s body, when it
/// is a `BatchWriteItem` request (`operation`: the SDK's name of the one being sent).
pub(crate) fn apply(request: &mut Request, operation: Option<&str>) -> Result<(), BoxError> {
    if operation != Some("BatchWriteItem") {
        return Ok(());
    }
    let Ok(body) = SPLICE.try_with(|splice| fill(request, splice)) else {
        return Ok(());
    };
    let body = body?;
    let length = body.len().to_string();
    *request.body_mut() = SdkBody::from(body);
    request.headers_mut().insert("content-length", length);
    Ok(())
}

/// The body of `request` with `splice`'s items in it.
fn fill(request: &Request, splice: &Splice) -> Result<String, BoxError> {
    let body = request.body().bytes().ok_or_else(|| unexpected("not in memory"))?;
    let body = std::str::from_utf8(body).map_err(|_| unexpected("not UTF-8"))?;
    let at = match placeholders(body, splice.items.iter().flatten().count()) {
        Some(at) => at,
        None => walk(body, splice)?,
    };
    let extra: usize = splice.items.iter().flatten().map(|r| r.len()).sum();
    let mut out = String::with_capacity(body.len() + extra);
    let mut copied = 0;
    for (at, item) in at.into_iter().zip(splice.items.iter().flatten()) {
        out.push_str(&body[copied..at.start]);
        out.push_str(&splice.json[item.clone()]);
        copied = at.end;
    }
    out.push_str(&body[copied..]);
    Ok(out)
}

fn unexpected(what: &str) -> BoxError {
    Box::new(Unfilled(what.to_owned()))
}

/// What the SDK writes for a put's empty item.
const EMPTY_ITEM: &[u8] = br#""Item":{}"#;

/// Where the `count` empty items are, found as text: the empty object of `EMPTY_ITEM`
/// in the SDK's compact JSON, when there are exactly `count` (`None`: otherwise).
///
/// Only a put's empty item can be found so: the quote after `Item` is not escaped, so
/// it closes a string, which a colon makes a member's name; and no other member named
/// `Item` is empty (a put whose request holds its item has attributes, and every
/// attribute value in a key or an item names its type).
fn placeholders(body: &str, count: usize) -> Option<Vec<Range<usize>>> {
    let found: Vec<Range<usize>> = memchr::memmem::find_iter(body.as_bytes(), EMPTY_ITEM)
        .map(|at| at + EMPTY_ITEM.len() - 2..at + EMPTY_ITEM.len())
        .collect();
    (found.len() == count).then_some(found)
}

/// Where the empty items are, found by walking the JSON: for a body the SDK wrote
/// otherwise than `placeholders` expects (spaces, say).
fn walk(body: &str, splice: &Splice) -> Result<Vec<Range<usize>>, BoxError> {
    let within = |outer: &Range<usize>, name: &str| -> Result<Range<usize>, BoxError> {
        let inner = member(&body[outer.clone()], name)?.ok_or_else(|| unexpected(&format!("no {name}")))?;
        Ok(outer.start + inner.start..outer.start + inner.end)
    };
    let tables = within(&(0..body.len()), "RequestItems")?;
    let writes = elements(body, within(&tables, &splice.table)?)?;
    if writes.len() != splice.items.len() {
        return Err(unexpected(&format!("{} writes, {} expected", writes.len(), splice.items.len())));
    }
    let mut at = Vec::new();
    for (write, item) in writes.iter().zip(&splice.items) {
        if item.is_none() {
            continue;
        }
        let item = within(&within(write, "PutRequest")?, "Item")?;
        if &body[item.clone()] != "{}" {
            return Err(unexpected("a put's item is not empty"));
        }
        at.push(item);
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(body: &str) -> Request {
        let mut request = Request::new(SdkBody::from(body.to_owned()));
        request.headers_mut().insert("content-length", body.len().to_string());
        request
    }

    fn splice(json: &str, items: Vec<Option<Range<usize>>>) -> Splice {
        Splice { table: Arc::from("t"), json: Arc::new(json.to_owned()), items }
    }

    #[test]
    fn items_go_where_the_puts_hold_them_empty_however_the_body_is_spaced() {
        let json = r#"{"a":{"S":"x"}}{"b":{"N":"1"}}"#;
        let s = splice(json, vec![Some(0..15), None, None, Some(15..30)]);
        let compact = r#"{"RequestItems":{"t":[{"PutRequest":{"Item":{}}},{"DeleteRequest":{"Key":{"Item":{"S":"k"}}}},{"PutRequest":{"Item":{"c":{"S":"{}"}}}},{"PutRequest":{"Item":{}}}]},"ReturnConsumedCapacity":"TOTAL"}"#;
        let expected = r#"{"RequestItems":{"t":[{"PutRequest":{"Item":{"a":{"S":"x"}}}},{"DeleteRequest":{"Key":{"Item":{"S":"k"}}}},{"PutRequest":{"Item":{"c":{"S":"{}"}}}},{"PutRequest":{"Item":{"b":{"N":"1"}}}}]},"ReturnConsumedCapacity":"TOTAL"}"#;
        assert_eq!(fill(&request(compact), &s).unwrap(), expected);
        // Spaced: found by walking the JSON, to the same effect.
        let spaced = compact.replace(":{", ": {").replace(",", ", ");
        let filled = fill(&request(&spaced), &s).unwrap();
        assert_eq!(filled.replace(' ', ""), expected);
    }

    #[test]
    fn a_body_of_another_shape_is_an_error_not_a_guess() {
        let s = splice(r#"{"a":{"S":"x"}}"#, vec![Some(0..15)]);
        for body in [
            r#"{"RequestItems":{"other":[{"PutRequest":{"Item": {}}}]}}"#,
            r#"{"RequestItems":{"t":[{"PutRequest":{"Item": {}}},{"PutRequest":{"Item": {}}}]}}"#,
            r#"{"RequestItems":{"t":[{"PutRequest":{"Item": {"a":{"S":"y"}}}}]}}"#,
            r#"{"RequestItems":{"t":[{"DeleteRequest":{"Key": {}}}]}}"#,
            "not json",
        ] {
            assert!(fill(&request(body), &s).is_err(), "{body}");
        }
    }

    #[tokio::test]
    async fn the_length_sent_is_the_filled_bodys() {
        let s = splice(r#"{"a":{"S":"x"}}"#, vec![Some(0..15)]);
        let mut r = request(r#"{"RequestItems":{"t":[{"PutRequest":{"Item":{}}}]}}"#);
        SPLICE.scope(s.clone(), async { apply(&mut r, Some("BatchWriteItem")).unwrap() }).await;
        let body = r.body().bytes().unwrap();
        assert_eq!(body, br#"{"RequestItems":{"t":[{"PutRequest":{"Item":{"a":{"S":"x"}}}}]}}"#);
        assert_eq!(r.headers().get("content-length"), Some(body.len().to_string().as_str()));
        // Outside a splice's scope, or another operation, a request is left alone.
        let mut other = request("{}");
        apply(&mut other, Some("BatchWriteItem")).unwrap();
        assert_eq!(other.body().bytes().unwrap(), b"{}");
        let put = r#"{"RequestItems":{"t":[{"PutRequest":{"Item":{}}}]}}"#;
        let mut other = request(put);
        SPLICE.scope(s, async { apply(&mut other, Some("PutItem")).unwrap() }).await;
        assert_eq!(other.body().bytes().unwrap(), put.as_bytes());
        // A body of another shape is an error of its own, not a transient one.
        let mut bad = request("{}");
        let s = splice("{}", vec![Some(0..2)]);
        let err = SPLICE.scope(s, async { apply(&mut bad, Some("BatchWriteItem")).unwrap_err() }).await;
        assert!(err.is::<Unfilled>(), "{err}");
    }
}
