//! The fleet's metrics, through the `metrics` facade (no secret in any label).

/// 1 while this replica's subscription to the fleet's notices is up, else 0 (gauge).
pub const CONNECTED: &str = "vwo_webhook_redis_connected";
/// The fleet revision this replica serves (gauge).
pub const REVISION: &str = "vwo_webhook_redis_revision";
/// Refreshes by `path`: `led` (this replica fetched for the fleet), `joined` (another
/// replica's fetch answered it), `recent` (a poll the fleet's last check made needless),
/// `alone` (Redis unavailable: fetched directly).
pub const REFRESHES: &str = "vwo_webhook_redis_refreshes_total";
/// Failed Redis operations by `op`: `ticket`, `read`, `lock`, `record`, `load`, `unlock`.
pub const ERRORS: &str = "vwo_webhook_redis_errors_total";
/// Documents read from Redis that validation refused (the last good one stays).
pub const REFUSED: &str = "vwo_webhook_redis_refused_documents_total";
/// Documents read from Redis in a new epoch that were older than the one served (a failover
/// promoted a replica that had not received the newest): kept the served one and fetched
/// again for the fleet.
pub const KEPT_NEWER: &str = "vwo_webhook_redis_kept_newer_total";

pub(crate) fn connected(connected: bool) {
    metrics::gauge!(CONNECTED).set(if connected { 1.0 } else { 0.0 });
}

#[allow(clippy::cast_precision_loss)]
pub(crate) fn revision(revision: u64) {
    metrics::gauge!(REVISION).set(revision as f64);
}

pub(crate) fn refreshed(path: &'static str) {
    metrics::counter!(REFRESHES, "path" => path).increment(1);
}

pub(crate) fn redis_error(op: &'static str) {
    metrics::counter!(ERRORS, "op" => op).increment(1);
}

pub(crate) fn refused() {
    metrics::counter!(REFUSED).increment(1);
}

pub(crate) fn kept_newer() {
    metrics::counter!(KEPT_NEWER).increment(1);
}
