//! The embedded engine: dynoxide, a DynamoDB engine on SQLite, served from a thread of
//! this process.
//!
//! It answers the same HTTP API as DynamoDB Local on a loopback port of its own, so the
//! SDK client, signing and retries are exactly those a real endpoint sees, and a child
//! process (a worker a test kills) reaches the same data through the endpoint. Nothing
//! is installed and nothing else runs: it starts in milliseconds.

use crate::Error;
use std::net::TcpListener;
use std::thread::JoinHandle;
use std::time::Duration;

/// How long a stopping engine lets requests under way finish before it drops their
/// connections: a client that never finishes sending (its task blocked on the very
/// thread that is stopping the engine) must not hold the stop forever.
const GRACE: Duration = Duration::from_secs(2);

/// The server thread of an embedded engine; dropping it stops the server.
#[derive(Debug)]
pub(crate) struct Server {
    stop: Option<tokio::sync::watch::Sender<bool>>,
    thread: Option<JoinHandle<()>>,
}

/// Starts an in-memory engine on a free loopback port and returns the port and the
/// thread serving it. The listener is bound before this returns, so the first request
/// never races the start.
pub(crate) fn start() -> Result<(u16, Server), Error> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).map_err(Error::io("binding the embedded engine"))?;
    let port = listener.local_addr().map_err(Error::io("binding the embedded engine"))?.port();
    listener.set_nonblocking(true).map_err(Error::io("binding the embedded engine"))?;
    let db = dynoxide::Database::memory().map_err(|e| Error::Io {
        action: "opening the embedded engine".into(),
        source: std::io::Error::other(e),
    })?;
    // Its own runtime: the engine outlives every `#[tokio::test]` runtime that uses it.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("onetable-embedded")
        .enable_io()
        .enable_time()
        .build()
        .map_err(Error::io("starting the embedded engine's runtime"))?;
    let listener = {
        let _entered = runtime.enter();
        tokio::net::TcpListener::from_std(listener).map_err(Error::io("binding the embedded engine"))?
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let thread = std::thread::Builder::new()
        .name("onetable-embedded".into())
        .spawn(move || {
            let signal = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
                // An error: the handle is gone, which stops the engine too.
                let _ = stopped.wait_for(|stop| *stop).await;
            };
            let shutdown = signal(stopped.clone());
            let serve = dynoxide::server::serve_with_shutdown(listener, db, shutdown);
            let forced = async move {
                signal(stopped).await;
                tokio::time::sleep(GRACE).await;
            };
            runtime.block_on(async move {
                tokio::select! {
                    served = serve => if let Err(e) = served {
                        eprintln!("onetable-local: the embedded engine stopped: {e}");
                    },
                    () = forced => {}
                }
            });
            // Connections still open past the grace period are dropped with their tasks.
            runtime.shutdown_timeout(Duration::from_millis(100));
        })
        .map_err(Error::io("starting the embedded engine's thread"))?;
    Ok((port, Server { stop: Some(stop), thread: Some(thread) }))
}

impl Server {
    /// True while the server thread runs.
    pub(crate) fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Stops the server and waits for its thread.
    pub(crate) fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
