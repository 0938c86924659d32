//! Every operation runs in a `tracing` span naming table, entity and operation, and
//! reports consumed capacity when the table asks for it; every request's span carries
//! OpenTelemetry's attributes for a DynamoDB client call.

mod common;

use common::Account;
use onetable::Entity;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// Collects what the `tracing` subscriber writes.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Log {
    type Writer = Log;
    fn make_writer(&'a self) -> Log {
        self.clone()
    }
}

/// The fields of a span, as text.
type Fields = BTreeMap<String, String>;

impl Visit for FieldsOf<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

struct FieldsOf<'a>(&'a mut Fields);

/// Keeps the fields of every closed `dynamodb` span.
#[derive(Clone, Default)]
struct Requests(Arc<Mutex<Vec<Fields>>>);

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Requests {
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: Context<'_, S>,
    ) {
        if attrs.metadata().name() != "dynamodb" {
            return;
        }
        let mut fields = Fields::new();
        attrs.record(&mut FieldsOf(&mut fields));
        ctx.span(id).unwrap().extensions_mut().insert(fields);
    }

    fn on_record(&self, id: &tracing::span::Id, values: &tracing::span::Record<'_>, ctx: Context<'_, S>) {
        if let Some(fields) = ctx.span(id).unwrap().extensions_mut().get_mut::<Fields>() {
            values.record(&mut FieldsOf(fields));
        }
    }

    fn on_close(&self, id: tracing::span::Id, ctx: Context<'_, S>) {
        if let Some(fields) = ctx.span(&id).unwrap().extensions_mut().remove::<Fields>() {
            self.0.lock().unwrap().push(fields);
        }
    }
}

/// One global subscriber for the tests of this binary (tracing caches per callsite
/// whether anyone listens, so a thread-local one would be missed).
fn listening() -> &'static (Log, Requests) {
    static LISTENING: OnceLock<(Log, Requests)> = OnceLock::new();
    LISTENING.get_or_init(|| {
        let (log, requests) = (Log::default(), Requests::default());
        let subscriber = tracing_subscriber::registry()
            .with(tracing_subscriber::fmt::layer().with_writer(log.clone()).with_ansi(false))
            .with(requests.clone())
            .with(tracing_subscriber::filter::LevelFilter::DEBUG);
        tracing::subscriber::set_global_default(subscriber).unwrap();
        (log, requests)
    })
}

#[tokio::test]
async fn operations_trace_their_span_and_consumed_capacity() {
    let (log, _) = listening();
    let table = common::table(|t| t.entity::<Account>().consumed_capacity(true)).await;
    let accounts = table.model::<Account>();
    accounts.create(Account { id: "a".into(), name: "A".into() }).await.unwrap();
    accounts.get(Account::key("a")).await.unwrap();
    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> =
        text.lines().filter(|l| l.contains("consumed capacity") && l.contains(table.name())).collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].contains("entity=\"Account\"") && lines[0].contains("operation=\"create\""),
        "{}",
        lines[0]
    );
    assert!(lines[1].contains("operation=\"get\"") && lines[1].contains(table.name()), "{}", lines[1]);
    assert!(lines[0].contains("units=1"), "{}", lines[0]);
}

#[derive(Entity, Debug, Clone, PartialEq)]
#[key(pk = "TEAM#${team}", sk = "MEMBER#${id}")]
#[index(name = "gs1", pk = "EMAIL#${email}", sk = "MEMBER")]
struct Member {
    team: String,
    id: String,
    email: String,
}

#[tokio::test]
async fn each_request_span_carries_opentelemetry_dynamodb_attributes() {
    let (_, requests) = listening();
    let table = common::table(|t| t.entity::<Member>().consumed_capacity(true)).await;
    let members = table.model::<Member>();
    let ann = Member { team: "t".into(), id: "ann".into(), email: "ann@example.com".into() };
    members.create(ann.clone()).await.unwrap();
    members.get(Member::key("t", "ann")).await.unwrap();
    members.find(Member::gs1_partition("ann@example.com")).await.unwrap();
    assert!(members.create(ann).await.unwrap_err().is_already_exists());

    let spans: Vec<Fields> = requests
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|f| f.get("aws.dynamodb.table_names").map(String::as_str) == Some(table.name()))
        .cloned()
        .collect();
    let of = |operation: &str| -> Vec<&Fields> {
        spans.iter().filter(|f| f["db.operation.name"] == operation).collect()
    };
    for span in &spans {
        assert_eq!(span["db.system.name"], "aws.dynamodb", "{span:?}");
        assert_eq!((span["rpc.system"].as_str(), span["rpc.service"].as_str()), ("aws-api", "DynamoDB"));
        assert_eq!(span["rpc.method"], span["db.operation.name"]);
        assert_eq!(span["otel.kind"], "client");
        assert_eq!(span["otel.name"], format!("{} {}", span["db.operation.name"], table.name()));
    }

    let [get] = of("GetItem")[..] else { panic!("{spans:?}") };
    assert_eq!((get["onetable.entity"].as_str(), get["onetable.operation"].as_str()), ("Member", "get"));
    assert!(!get.contains_key("aws.dynamodb.count"), "a count is a query's or a scan's: {get:?}");
    let capacity: serde_json::Value = serde_json::from_str(&get["aws.dynamodb.consumed_capacity"]).unwrap();
    assert_eq!(capacity["TableName"], table.name());
    assert!(capacity["CapacityUnits"].as_f64().unwrap() > 0.0, "{capacity}");
    assert!(!get.contains_key("otel.status_code"), "a success sets no status: {get:?}");

    let [query] = of("Query")[..] else { panic!("{spans:?}") };
    assert_eq!(
        (query["aws.dynamodb.index_name"].as_str(), query["aws.dynamodb.count"].as_str()),
        ("gs1", "1")
    );

    let puts = of("PutItem");
    assert_eq!(puts.len(), 2, "{spans:?}");
    assert!(!puts[0].contains_key("error.type"), "{:?}", puts[0]);
    assert_eq!(puts[1]["otel.status_code"], "ERROR");
    assert_eq!(puts[1]["error.type"], "ConditionalCheckFailedException");
}
