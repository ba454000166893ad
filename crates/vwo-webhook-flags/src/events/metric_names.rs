//! The names of the reporter's metrics (listed with the others in [`crate::telemetry`]).

/// Events accepted into the reporting queue.
pub const EVENTS_QUEUED: &str = "vwo_webhook_flags_events_queued_total";

/// Events VWO (or the configured host) accepted.
pub const EVENTS_SENT: &str = "vwo_webhook_flags_events_sent_total";

/// Events sent again after a connection error, a timeout, a 5xx, a 408 or a 429.
pub const EVENTS_RETRIED: &str = "vwo_webhook_flags_events_retried_total";

/// Events given up, by `reason`: `overflow` (the queue was full: the oldest went), `rejected`
/// (the host answered 4xx), `shutdown` (still unsent when the shutdown's time ran out).
pub const EVENTS_DROPPED: &str = "vwo_webhook_flags_events_dropped_total";

/// How long each request took, by `outcome` (`sent`, `rejected`, `failed`), in seconds.
pub const EVENTS_REQUEST_SECONDS: &str = "vwo_webhook_flags_events_request_seconds";

/// Events waiting in the queue.
pub const EVENTS_WAITING: &str = "vwo_webhook_flags_events_waiting";
