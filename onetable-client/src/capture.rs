//! Response bodies read by the library itself. The table's reader client carries an
//! interceptor that, for a request sent through `Table::send_read` (a read, or an
//! update or delete returning its item), once a successful response's body has
//! arrived, keeps the body and hands the SDK the same body with the items' member
//! emptied (`"Items":[]`, `"Item":{}`, `"Attributes":{}`): the SDK still reads
//! everything else (the `LastEvaluatedKey`, counts,
//! consumed capacity, unprocessed keys) and runs its retries, signing, error
//! mapping and metrics as for any request, while the items are decoded once, from the
//! kept bytes, straight into the entity (see `onetable_core::wire`).
//!
//! An error response (any status but 200) is left alone: the SDK reads it as always.
//! An interceptor of the application's own that looks at the output of such a request
//! (after deserialization) finds its items emptied, and one that changes them (say,
//! decrypts them) changes what the library no longer reads: so a client carrying
//! interceptors of the application's own reads through the SDK's types unless
//! `TableBuilder::direct_reads(true)` says otherwise.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextMut, BeforeTransmitInterceptorContextMut,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use bytes::Bytes;
use http_body::{Body, Frame};
use std::ops::Range;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};

/// A response's body as it arrived (checked to be UTF-8 once, so that strings in it
/// are not checked one by one) and where its items' member value is in it.
#[derive(Debug, Clone)]
pub(crate) struct Captured {
    pub body: String,
    pub value: Range<usize>,
}

impl Captured {
    /// The member's value.
    pub fn value(&self) -> &str {
        &self.body[self.value.clone()]
    }
}

/// Where one request's body is kept: the request's interceptor fills it, the code
/// that sent the request takes it. Each attempt of a retried request empties it
/// first, so a body kept is that of the response the SDK returned.
#[derive(Debug, Clone)]
pub(crate) struct Capture {
    member: Member,
    slot: Arc<Mutex<Option<Captured>>>,
}

/// Where a response's items are.
#[derive(Debug, Clone)]
pub(crate) enum Member {
    /// A top-level member: `Items` (a query's, a scan's), `Item` (a get's).
    Top(&'static str),
    /// A `BatchGetItem`'s items of one table: `Responses.<table>`.
    Responses(String),
}

impl Capture {
    /// Keeps the value of `member` of the body.
    pub fn new(member: Member) -> Capture {
        Capture { member, slot: Arc::default() }
    }

    /// The body kept, if the response had the member.
    pub fn take(&self) -> Option<Captured> {
        self.slot.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// Keeps `body` when it has the member, and returns what the SDK reads instead.
    fn keep(&self, body: Vec<u8>) -> Bytes {
        let body = match String::from_utf8(body) {
            Ok(text) => text,
            // Not JSON the library reads: the SDK reads it (and reports it) as it is.
            Err(e) => return Bytes::from(e.into_bytes()),
        };
        let Some((span, empty)) = self.find(&body) else {
            return Bytes::from(body.into_bytes());
        };
        let rest = [&body[..span.start], empty.as_str(), &body[span.end..]].concat();
        *self.slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(Captured { body, value: span });
        Bytes::from(rest.into_bytes())
    }

    /// The span of the member's value, and what the SDK reads in its place.
    fn find(&self, body: &str) -> Option<(Range<usize>, String)> {
        use onetable_core::wire::{elements, member};
        match &self.member {
            Member::Top(name) => {
                let span = member(body, name).ok()??;
                let empty = if body.as_bytes()[span.start] == b'[' { "[]" } else { "{}" };
                Some((span, empty.to_owned()))
            }
            Member::Responses(table) => {
                let responses = member(body, "Responses").ok()??;
                let inner = member(&body[responses.clone()], table).ok()??;
                let span = responses.start + inner.start..responses.start + inner.end;
                // As many empty items as there are: the SDK counts them for metrics.
                let count = elements(body, span.clone()).ok()?.len();
                let empty = format!("[{}]", vec!["{}"; count].join(","));
                Some((span, empty))
            }
        }
    }
}

tokio::task_local! {
    /// The capture of the read being sent from this task, if any: requests sent
    /// outside [`Table::send_read`](crate::Table) have none and are left alone.
    pub(crate) static CAPTURE: Capture;
}

/// The interceptor on every table's reader client (one, however many tables share
/// it): a request's capture (and a batch write's splice, `crate::splice`) comes from
/// the task that sends it, so the per-request cost is a task-local lookup, not a
/// per-operation runtime plugin.
#[derive(Debug)]
struct Interceptor;

const NAME: &str = "onetable::Capture";

/// A table's reader client: `client` with the interceptor when the table reads or
/// writes items itself (`wanted`), else `client` as it is (as it is, too, when it has
/// the interceptor already).
pub(crate) fn reader(client: &aws_sdk_dynamodb::Client, wanted: bool) -> aws_sdk_dynamodb::Client {
    if !wanted || client.config().interceptors().any(|i| i.name() == NAME) {
        return client.clone();
    }
    aws_sdk_dynamodb::Client::from_conf(client.config().to_builder().interceptor(Interceptor).build())
}

// Only the hooks it overrides are called: without the hint the SDK calls every hook of
// every interceptor, each after a look-up in the request's configuration (≈ 6,000
// instructions, 1.5% of a get).
#[aws_smithy_runtime_api::client::interceptors::dyn_dispatch_hint]
impl Intercept for Interceptor {
    fn name(&self) -> &'static str {
        NAME
    }

    // A batch write's items, put into the body the SDK built (see `crate::splice`):
    // once, before the first attempt is signed; retries resend the same body.
    fn modify_before_retry_loop(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg.load::<Metadata>().map(Metadata::name);
        crate::splice::apply(context.request_mut(), operation)
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Ok(capture) = CAPTURE.try_with(Capture::clone) else {
            return Ok(());
        };
        // Whatever an earlier attempt of a retried request kept is not this response.
        capture.slot.lock().unwrap_or_else(|e| e.into_inner()).take();
        let response = context.response_mut();
        if response.status().as_u16() != 200 {
            return Ok(());
        }
        let body = std::mem::replace(response.body_mut(), SdkBody::taken());
        *response.body_mut() = match body.bytes() {
            // Already in memory (a replayed or test response).
            Some(bytes) => SdkBody::from(capture.keep(bytes.to_vec())),
            None => SdkBody::from_body_1_x(Collect { inner: body, buffer: Vec::new(), capture, done: false }),
        };
        Ok(())
    }
}

/// A streamed body read to its end, then handed on as one chunk, the items' member
/// emptied (the SDK reads a non-streaming response whole before decoding it anyway).
struct Collect {
    inner: SdkBody,
    buffer: Vec<u8>,
    capture: Capture,
    done: bool,
}

impl Body for Collect {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        loop {
            match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        this.buffer.extend_from_slice(&data);
                    }
                }
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => {
                    this.done = true;
                    let body = std::mem::take(&mut this.buffer);
                    return Poll::Ready(Some(Ok(Frame::data(this.capture.keep(body)))));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }
}
