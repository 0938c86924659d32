//! Throttling and DynamoDB failing to serve a request now (a 5xx, a timeout) pass:
//! the engine's reads and writes try again with backoff for a long while rather than
//! fail the migration. Only when it lasts is the error returned — and the runner then
//! records nothing (the next `up` resumes from the checkpoints), since a transient
//! fault is no failure of the migration.

use onetable_core::Error;
use std::future::Future;
use std::time::{Duration, Instant};

/// How long transient failures are retried before the run stops, resumable.
const PATIENCE: Duration = Duration::from_secs(600);

/// The longest pause between two tries.
const CAP: Duration = Duration::from_secs(20);

/// Runs `attempt` until it succeeds, fails for good, or has failed transiently for
/// [`PATIENCE`].
pub(crate) async fn retrying<T, F, Fut>(what: &str, mut attempt: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let started = Instant::now();
    let mut tries = 0u32;
    loop {
        match attempt().await {
            Err(e) if e.is_transient() && started.elapsed() < PATIENCE => {
                tries += 1;
                let pause = backoff(tries);
                tracing::warn!(what, tries, error = %e, pause_ms = pause.as_millis() as u64, "transient failure: trying again");
                tokio::time::sleep(pause).await;
            }
            other => return other,
        }
    }
}

/// The pause before try `tries + 1`: exponential from 50 ms, capped, with jitter so
/// that many writers throttled together do not come back together.
pub(crate) fn backoff(tries: u32) -> Duration {
    let ceiling = Duration::from_millis(50).saturating_mul(1u32 << tries.min(12)).min(CAP);
    ceiling.mul_f64(0.5 + fastrand::f64() / 2.0)
}
