//! How often the backend is asked: the backoff schedule for transient failures and the
//! minimum spacing between attempts.

use std::time::Duration;

/// The default [`RetryPolicy::with_min_spacing`]: 20 ms.
pub const DEFAULT_MIN_SPACING: Duration = Duration::from_millis(20);

/// How often the backend is asked: transient failures retried with exponential backoff and
/// jitter, up to a cap, on a schedule that holds whatever triggers arrive, and a minimum
/// spacing between attempts.
///
/// After the `n`th transient failure in a row, no attempt starts before a pause drawn uniformly
/// between half and all of `initial_delay × 2^(n-1)` (capped at `max_delay`; a backend's
/// `retry_after` lengthens it, up to `max_delay` too: an origin's absurd `Retry-After` cannot
/// stop the schedule). Deliveries, polls and manual refreshes arriving during the pause
/// join the waiting attempt instead of starting one, so however fast VWO redelivers, the origin
/// is asked on this schedule. Half of each pause is fixed so that the schedule has a bound, not
/// only an average: with the defaults, at most 7 attempts in the first minute of an outage
/// (about 0, 2, 6, 14, 30 and 62 s at the latest; the SDKs ask at 0, 2, 6 and 14 s, then wait
/// for their 10-minute poll). A success or a permanent failure ends the streak.
///
/// ```
/// use std::time::Duration;
/// use vwo_webhook::RetryPolicy;
///
/// let policy = RetryPolicy::default()
///     .with_initial_delay(Duration::from_millis(250))
///     .with_deadline(Duration::from_secs(30));
/// assert_eq!(policy.max_delay(), Duration::from_secs(120));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    initial_delay: Duration,
    max_delay: Duration,
    pub(super) deadline: Duration,
    pub(super) min_spacing: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            initial_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(120),
            deadline: Duration::from_secs(60),
            min_spacing: DEFAULT_MIN_SPACING,
        }
    }
}

impl RetryPolicy {
    /// Never retry within a refresh: the first transient failure ends it. The pause after it
    /// still holds for the next refresh (see the type's documentation); make `initial_delay`
    /// zero as well for none at all.
    pub fn none() -> Self {
        Self::default().with_deadline(Duration::ZERO)
    }

    /// The first exponential delay (default 2 s).
    pub fn with_initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }

    /// The largest exponential delay (default 2 minutes).
    pub fn with_max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// No retry within one refresh starts later than this after it began (default 60 s). After
    /// it the refresh ends as a transient failure; VWO's redeliveries, or the safety net, start
    /// a new one, which still waits out the current pause.
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// The least time between the starts of two attempts, whatever their trigger (default
    /// 20 ms; zero turns it off). Deliveries arriving in between wait for the next attempt, so
    /// deliveries spread over a time `T` cost at most about `2 + T / max(one fetch, spacing)`
    /// attempts, for up to `spacing` more answer time during a burst; a delivery that arrives
    /// alone waits for nothing. [The benchmarks](https://github.com/vwo-webhook/vwo-webhook/blob/main/docs/benchmarks.md) have the measurement behind the default.
    pub fn with_min_spacing(mut self, spacing: Duration) -> Self {
        self.min_spacing = spacing;
        self
    }

    /// The least time between the starts of two attempts.
    pub fn min_spacing(&self) -> Duration {
        self.min_spacing
    }

    /// The first exponential delay.
    pub fn initial_delay(&self) -> Duration {
        self.initial_delay
    }

    /// The largest exponential delay.
    pub fn max_delay(&self) -> Duration {
        self.max_delay
    }

    /// The exponential delay after `failures` transient failures in a row (at least 1).
    pub(super) fn exponential(&self, failures: u32) -> Duration {
        // 2^31 is the largest power of two a u32 holds; more would overflow the shift.
        let doublings = failures.saturating_sub(1).min(31);
        self.initial_delay
            .saturating_mul(1 << doublings)
            .min(self.max_delay)
    }

    /// The pause after `failures` transient failures in a row, the last with the backend's
    /// `retry_after` hint: never longer than `max_delay`, whatever the hint.
    pub(super) fn pause(&self, failures: u32, retry_after: Option<Duration>) -> Duration {
        let hint = retry_after.unwrap_or_default().min(self.max_delay);
        equal_jitter(self.exponential(failures)).max(hint)
    }

    /// How long after a refresh began a retry may still start.
    pub fn deadline(&self) -> Duration {
        self.deadline
    }
}

/// Between half and all of `delay`, uniformly: jittered, with a floor.
pub(super) fn equal_jitter(delay: Duration) -> Duration {
    let nanos = u64::try_from(delay.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(nanos / 2 + fastrand::u64(0..=nanos - nanos / 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_doubles_up_to_the_cap_however_long_the_streak() {
        let policy = RetryPolicy::default();
        let delays: Vec<u64> = (1..=8).map(|n| policy.exponential(n).as_secs()).collect();
        assert_eq!(delays, [2, 4, 8, 16, 32, 64, 120, 120]);
        // A streak past 32 failures once shifted out of range: a panic in debug builds, and
        // in release a wrap back to the first delay.
        for failures in [32, 33, 34, 1000, u32::MAX] {
            assert_eq!(
                policy.exponential(failures),
                policy.max_delay(),
                "after {failures}"
            );
        }
    }

    #[test]
    fn equal_jitter_keeps_at_least_half() {
        let delay = Duration::from_millis(100);
        for _ in 0..1000 {
            let pause = equal_jitter(delay);
            assert!(pause >= delay / 2 && pause <= delay, "{pause:?}");
        }
    }
}
