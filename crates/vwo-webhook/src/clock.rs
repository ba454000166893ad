//! Time arithmetic that cannot panic: a duration may come from outside (an origin's
//! `Retry-After`, a configured timeout of `Duration::MAX`), and `Instant + Duration` panics on
//! overflow.

use std::time::Duration;

/// About a century: "never" for a process, and far from any overflow.
const FAR_FUTURE: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

/// An instant of std's or tokio's clock.
pub(crate) trait Moment: Copy {
    fn checked_add(self, by: Duration) -> Option<Self>;
}

impl Moment for std::time::Instant {
    fn checked_add(self, by: Duration) -> Option<Self> {
        std::time::Instant::checked_add(&self, by)
    }
}

impl Moment for tokio::time::Instant {
    fn checked_add(self, by: Duration) -> Option<Self> {
        tokio::time::Instant::checked_add(&self, by)
    }
}

/// `at + by`, or a moment about a century away where that would overflow.
pub(crate) fn later<T: Moment>(at: T, by: Duration) -> T {
    at.checked_add(by)
        .or_else(|| at.checked_add(FAR_FUTURE))
        .unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    #[test]
    fn an_absurd_duration_ends_far_away_instead_of_panicking() {
        let now = Instant::now();
        assert_eq!(later(now, Duration::from_secs(3)), now + Duration::from_secs(3));
        assert!(later(now, Duration::MAX) >= now + FAR_FUTURE);
        assert!(later(now, Duration::from_secs(u64::MAX)) > now);
    }
}
