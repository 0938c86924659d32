//! The pace of a data migration in write units per second (what DynamoDB charges
//! and throttles), not items: a 4 KB item costs four times a 1 KB one. Every write
//! reports what it consumed (`ReturnConsumedCapacity`); writes wait while the budget
//! is spent, so the migration leaves the rest of the table's capacity to the
//! application.

use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// A token bucket in write units, shared by every task of one migration run.
pub(crate) struct Budget {
    rate: Option<f64>,
    state: Mutex<(f64, Instant)>,
}

impl Budget {
    /// `rate` write units a second; `None`: no limit.
    pub(crate) fn new(rate: Option<f64>) -> Budget {
        // At most a second's worth saved up, so a pause does not turn into a burst.
        Budget { rate, state: Mutex::new((rate.unwrap_or(0.0), Instant::now())) }
    }

    /// Waits until the budget is not overdrawn.
    pub(crate) async fn wait(&self) {
        let Some(rate) = self.rate else { return };
        loop {
            let deficit = {
                let Ok(mut state) = self.state.lock() else { return };
                let now = Instant::now();
                state.0 = (state.0 + now.duration_since(state.1).as_secs_f64() * rate).min(rate);
                state.1 = now;
                -state.0
            };
            if deficit <= 0.0 {
                return;
            }
            tokio::time::sleep(Duration::from_secs_f64(deficit / rate)).await;
        }
    }

    /// Charges what a write consumed.
    pub(crate) fn spend(&self, units: f64) {
        if self.rate.is_some() {
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
        let budget = Budget::new(Some(100.0));
        let start = tokio::time::Instant::now();
        for _ in 0..300 {
            budget.wait().await;
            budget.spend(2.0);
        }
        // 600 units at 100 a second, the first 100 saved up: about 5 s.
        let took = start.elapsed().as_secs_f64();
        assert!((4.5..=5.5).contains(&took), "{took}");
    }
}
