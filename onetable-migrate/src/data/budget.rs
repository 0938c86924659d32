//! The pace of a data migration in write units per second (what DynamoDB charges
//! and throttles), not items: a 4 KB item costs four times a 1 KB one. Every write
//! reports what it consumed (`ReturnConsumedCapacity`); writes wait while the budget
//! is spent, so the migration leaves the rest of the table's capacity to the
//! application.
//!
//! The limit is the migration's, over every worker process: each running segment
//! spends an equal share of it, and the number of segments running (in this process
//! and in the others) is read from the segment leases in the table. A worker that
//! joins counts itself at once; the others see it at their next count, a second
//! later at most (until then the whole may be over the limit by the joiner's share).
//! The segments of a worker that died count until their leases run out: meanwhile
//! the others stay under the limit, never over it. Writes are charged when their
//! response comes, so a segment may be overdrawn by the writes it has in flight, and
//! waits that much longer afterwards.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// How often a worker counts the segments running over all workers.
pub(crate) const RECOUNT: Duration = Duration::from_secs(1);

/// The migration's limit and how many segments share it now.
pub(crate) struct Pace {
    rate: Option<f64>,
    running: AtomicU32,
}

impl Pace {
    /// `rate` write units a second over all workers (`None`: no limit), shared by
    /// `running` segments until a count says otherwise.
    pub(crate) fn new(rate: Option<f64>, running: u32) -> Arc<Pace> {
        Arc::new(Pace { rate, running: AtomicU32::new(running.max(1)) })
    }

    /// The segments running over all workers, as last counted.
    pub(crate) fn set_running(&self, running: u32) {
        self.running.store(running.max(1), Ordering::Relaxed);
    }

    /// One segment's share: the limit over the segments running.
    fn share(&self) -> Option<f64> {
        self.rate.map(|rate| rate / f64::from(self.running.load(Ordering::Relaxed)))
    }
}

/// A token bucket in write units, for the writes in flight of the segments one task
/// runs one after the other.
pub(crate) struct Budget {
    pace: Arc<Pace>,
    state: Mutex<(f64, Instant)>,
}

impl Budget {
    /// A bucket spending one share of `pace`, for the segments one task runs one
    /// after the other. It starts empty: a bucket made per segment taken, full, would
    /// add a second's worth to the limit at every take.
    pub(crate) fn new(pace: Arc<Pace>) -> Budget {
        Budget { pace, state: Mutex::new((0.0, Instant::now())) }
    }

    /// Waits until the budget is not overdrawn.
    pub(crate) async fn wait(&self) {
        loop {
            // Read each time: the share changes as workers join and segments end.
            let Some(rate) = self.pace.share() else { return };
            let deficit = {
                let Ok(mut state) = self.state.lock() else { return };
                let now = Instant::now();
                // At most a second's worth saved up, so a pause does not turn into a burst.
                state.0 = (state.0 + now.duration_since(state.1).as_secs_f64() * rate).min(rate);
                state.1 = now;
                -state.0
            };
            if deficit <= 0.0 {
                return;
            }
            // Not past the next count: a share that grew is taken up then.
            tokio::time::sleep(Duration::from_secs_f64(deficit / rate).min(RECOUNT)).await;
        }
    }

    /// Charges what a write consumed.
    pub(crate) fn spend(&self, units: f64) {
        if self.pace.rate.is_some() {
            if let Ok(mut state) = self.state.lock() {
                state.0 -= units;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn spends_at_most_the_rate() {
        let budget = Budget::new(Pace::new(Some(100.0), 1));
        let start = tokio::time::Instant::now();
        for _ in 0..300 {
            budget.wait().await;
            budget.spend(2.0);
        }
        // 600 units at 100 a second, nothing saved up at the start: about 6 s.
        let took = start.elapsed().as_secs_f64();
        assert!((5.9..=6.1).contains(&took), "{took}");
    }

    /// Segments share the limit: however many run, together they spend it, and a
    /// change in their number is taken up by the segments already running.
    #[tokio::test(start_paused = true)]
    async fn running_segments_share_the_limit_as_their_number_changes() {
        let pace = Pace::new(Some(120.0), 2);
        let spent = Arc::new(Mutex::new(0.0));
        let segment = |budget: Budget, until: Instant| {
            let spent = spent.clone();
            async move {
                while Instant::now() < until {
                    budget.wait().await;
                    budget.spend(1.0);
                    *spent.lock().unwrap() += 1.0;
                }
            }
        };
        let start = Instant::now();
        // Two segments for 10 s, then four (two more joined elsewhere) for 10 s.
        let first = start + Duration::from_secs(10);
        let second = first + Duration::from_secs(10);
        let (a, b) = (Budget::new(pace.clone()), Budget::new(pace.clone()));
        let both = tokio::spawn(futures_util::future::join(segment(a, second), segment(b, second)));
        tokio::time::sleep_until(first).await;
        let at_first = *spent.lock().unwrap();
        pace.set_running(4);
        let (c, d) = (Budget::new(pace.clone()), Budget::new(pace.clone()));
        futures_util::future::join(segment(c, second), segment(d, second)).await;
        both.await.unwrap();
        let total = *spent.lock().unwrap();
        // 120 a second in each period (each bucket starts empty; one write each may
        // be charged past the end of a period).
        assert!((1_195.0..=1_205.0).contains(&at_first), "{at_first}");
        let later = total - at_first;
        assert!((1_195.0..=1_205.0).contains(&later), "{later}");
    }
}
