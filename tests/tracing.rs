//! Every operation runs in a `tracing` span naming table, entity and operation, and
//! reports consumed capacity when the table asks for it.

mod common;

use common::Account;

/// Collects what the `tracing` subscriber writes.
#[derive(Clone, Default)]
struct Log(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

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

#[tokio::test]
async fn operations_trace_their_span_and_consumed_capacity() {
    let log = Log::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(log.clone())
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .finish();
    // Global, not thread-local: tracing caches per callsite whether anyone listens.
    tracing::subscriber::set_global_default(subscriber).unwrap();
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
