//! Backoff between retries of unprocessed batch requests.

use std::time::Duration;

/// How unprocessed batch requests are retried: exponential backoff with full jitter
/// (a random wait up to `base * 2^attempt`, capped), so that many clients throttled
/// together do not retry together.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Backoff {
    pub max_attempts: u32,
    pub base: Duration,
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { max_attempts: 10, base: Duration::from_millis(50), cap: Duration::from_secs(5) }
    }
}

impl Backoff {
    /// The wait before attempt `attempt` (1 for the first retry).
    pub fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self.base.saturating_mul(1u32 << attempt.min(20)).min(self.cap);
        ceiling.mul_f64(fastrand::f64())
    }
}
