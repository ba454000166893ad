//! When a delivery is answered: after its refresh, or at once.

use std::time::Duration;

/// How long a delivery waits for its refresh before answering 503 (5 s).
pub const DEFAULT_ACK_TIMEOUT: Duration = Duration::from_secs(5);

/// When to answer VWO.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AckPolicy {
    /// Answer 200 once a refresh that started after the delivery succeeded; 503 if it has
    /// not within `timeout`, so VWO redelivers (and the redelivery coalesces). The default.
    AfterRefresh {
        /// How long to wait (default 5 s).
        timeout: Duration,
    },
    /// Answer 202 at once and refresh in the background. VWO will not redeliver, so a failed
    /// refresh is only retried by the coordinator and the safety net: prefer the default.
    Immediate,
}

impl Default for AckPolicy {
    fn default() -> Self {
        Self::AfterRefresh {
            timeout: DEFAULT_ACK_TIMEOUT,
        }
    }
}
