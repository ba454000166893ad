//! The current settings for the whole service: lock-free reads, change notifications, and
//! what a health check needs to know.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::{ArcSwapOption, Guard};
use serde::Serialize;
use tokio::sync::watch;

use crate::snapshot::{Snapshot, Source};
use crate::telemetry::{AGE, CONFIRMED_AT, FETCHED_AT, INFO, SINCE_CONFIRMED};

/// Holds the current [`Snapshot`]. Readers never wait: a read is one atomic load, and a
/// refresh replaces the whole snapshot at once. The last good snapshot stays on every failure.
#[derive(Debug)]
pub struct SettingsStore {
    current: ArcSwapOption<Snapshot>,
    changes: watch::Sender<Option<Arc<Snapshot>>>,
    checks: Mutex<Checks>,
    replication: Mutex<Option<Replication>>,
}

/// How this replica is linked to the rest of its fleet, for `/settings/status`: set by a
/// replication crate (`vwo-webhook-redis`), absent for a single process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Replication {
    /// The shared store: `redis`.
    pub backend: &'static str,
    /// `connected`, or `disconnected` while changes cannot reach this replica (it catches up
    /// on reconnect).
    pub connection: &'static str,
}

impl Replication {
    /// A link to `backend`, `connected` or not.
    pub fn new(backend: &'static str, connected: bool) -> Self {
        Self {
            backend,
            connection: if connected { "connected" } else { "disconnected" },
        }
    }
}

/// What the latest checks against the origin said.
#[derive(Debug, Default)]
struct Checks {
    /// When the origin last confirmed the current snapshot (a new document or a 304).
    confirmed_at: Option<SystemTime>,
    last_error: Option<LastError>,
}

/// The latest failed refresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LastError {
    /// What went wrong (never contains the SDK key).
    pub message: String,
    /// When, in Unix seconds.
    pub at_unix: u64,
}

/// What `GET /settings/status` shows: the current snapshot's facts and the last error.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Status {
    /// `ok`, or `empty` before any settings were loaded.
    pub state: &'static str,
    /// The document's `version`.
    pub version: Option<String>,
    /// The document's `accountId`.
    pub account_id: Option<String>,
    /// Where the current snapshot came from.
    pub source: Option<Source>,
    /// When it was fetched, in Unix seconds.
    pub fetched_at_unix: Option<u64>,
    /// How long ago, in seconds. Grows while the origin answers "not modified": see
    /// `since_confirmed_seconds` for whether the settings are still current.
    pub age_seconds: Option<f64>,
    /// When the origin last confirmed the settings are current (a new document, or a 304 for
    /// the one held), in Unix seconds; `None` until a check succeeds (for example right after
    /// starting from the on-disk copy).
    pub confirmed_at_unix: Option<u64>,
    /// How long ago that was, in seconds: what to alert on.
    pub since_confirmed_seconds: Option<f64>,
    /// The origin's `ETag`.
    pub etag: Option<String>,
    /// The document's fleet-wide revision, when replicas share it through a store.
    pub revision: Option<u64>,
    /// The link to the fleet's shared store, when there is one.
    pub replication: Option<Replication>,
    /// The latest failed refresh, if it came after the current snapshot.
    pub last_error: Option<LastError>,
}

impl Default for SettingsStore {
    fn default() -> Self {
        Self::new()
    }
}

impl SettingsStore {
    /// An empty store.
    pub fn new() -> Self {
        Self {
            current: ArcSwapOption::empty(),
            changes: watch::Sender::new(None),
            checks: Mutex::new(Checks::default()),
            replication: Mutex::new(None),
        }
    }

    /// The current snapshot (an `Arc` clone: keep it as long as you like).
    pub fn current(&self) -> Option<Arc<Snapshot>> {
        self.current.load_full()
    }

    /// The current snapshot without touching its reference count, for hot paths that read and
    /// let go at once.
    pub fn load(&self) -> Guard<Option<Arc<Snapshot>>> {
        self.current.load()
    }

    /// Tells of each new snapshot, so a service can rebuild what depends on the settings.
    pub fn subscribe(&self) -> watch::Receiver<Option<Arc<Snapshot>>> {
        self.changes.subscribe()
    }

    /// How old the current snapshot is; `None` before any.
    pub fn age(&self) -> Option<Duration> {
        self.current.load().as_ref().map(|snapshot| snapshot.age())
    }

    /// The latest failed refresh since the settings were last confirmed.
    pub fn last_error(&self) -> Option<LastError> {
        self.checks().last_error.clone()
    }

    /// When the origin last confirmed the current settings (see [`StoreWrite::confirm`](crate::replication::StoreWrite::confirm)).
    pub fn confirmed_at(&self) -> Option<SystemTime> {
        self.checks().confirmed_at
    }

    /// Sets the age gauges (`vwo_webhook_settings_age_seconds`,
    /// `vwo_webhook_settings_since_confirmed_seconds`) to now's values: call it when a scrape
    /// comes in, just before rendering the metrics. The timestamp gauges need no such call.
    pub fn record_age_metrics(&self) {
        if let Some(age) = self.age() {
            metrics::gauge!(AGE).set(age.as_secs_f64());
        }
        if let Some(confirmed) = self.confirmed_at() {
            metrics::gauge!(SINCE_CONFIRMED).set(confirmed.elapsed().unwrap_or_default().as_secs_f64());
        }
    }

    fn checks(&self) -> std::sync::MutexGuard<'_, Checks> {
        // Nothing panics while holding it; recover rather than spread a poisoning.
        self.checks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A snapshot of the facts, for a health check or `GET /settings/status`.
    pub fn status(&self) -> Status {
        let current = self.current();
        let snapshot = current.as_deref();
        let (confirmed_at, last_error) = {
            let checks = self.checks();
            (checks.confirmed_at, checks.last_error.clone())
        };
        Status {
            state: if snapshot.is_some() { "ok" } else { "empty" },
            version: snapshot.map(|s| s.version().to_owned()),
            account_id: snapshot.map(|s| s.account_id().to_owned()),
            source: snapshot.map(Snapshot::source),
            fetched_at_unix: snapshot.map(|s| unix_seconds(s.fetched_at())),
            age_seconds: snapshot.map(|s| millis(s.age())),
            confirmed_at_unix: confirmed_at.map(unix_seconds),
            since_confirmed_seconds: confirmed_at.map(|at| millis(at.elapsed().unwrap_or_default())),
            etag: snapshot.and_then(|s| s.etag().map(str::to_owned)),
            revision: snapshot.and_then(Snapshot::revision),
            replication: self
                .replication
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone(),
            last_error,
        }
    }
}

fn unix_seconds_f64(at: SystemTime) -> f64 {
    at.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

impl vwo_webhook::Probe for SettingsStore {
    /// Ready once settings are loaded, from the origin or the on-disk copy.
    fn ready(&self) -> bool {
        self.current.load().is_some()
    }

    /// [`SettingsStore::status`] as JSON.
    fn status_json(&self) -> String {
        serde_json::to_string(&self.status()).unwrap_or_else(|_| r#"{"state":"unavailable"}"#.to_owned())
    }
}

/// Seconds, rounded to the millisecond.
fn millis(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1000.0).round() / 1000.0
}

fn unix_seconds(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

impl crate::replication::StoreWrite for SettingsStore {
    fn publish(&self, snapshot: Snapshot) {
        let snapshot = Arc::new(snapshot);
        let previous = self.current.swap(Some(Arc::clone(&snapshot)));
        if snapshot.source() == Source::Origin {
            let mut checks = self.checks();
            checks.confirmed_at = Some(snapshot.fetched_at());
            checks.last_error = None;
            metrics::gauge!(CONFIRMED_AT).set(unix_seconds_f64(snapshot.fetched_at()));
        }
        metrics::gauge!(FETCHED_AT).set(unix_seconds_f64(snapshot.fetched_at()));
        if let Some(previous) = previous {
            metrics::gauge!(INFO, "version" => previous.version().to_owned(), "account_id" => previous.account_id().to_owned()).set(0.0);
        }
        metrics::gauge!(INFO, "version" => snapshot.version().to_owned(), "account_id" => snapshot.account_id().to_owned()).set(1.0);
        self.changes.send_replace(Some(snapshot));
    }

    fn confirm(&self) {
        self.confirm_at(SystemTime::now());
    }

    fn confirm_at(&self, at: SystemTime) {
        let mut checks = self.checks();
        if checks.confirmed_at.is_some_and(|confirmed| confirmed >= at) {
            return;
        }
        checks.confirmed_at = Some(at);
        checks.last_error = None;
        metrics::gauge!(CONFIRMED_AT).set(unix_seconds_f64(at));
    }

    fn set_replication(&self, replication: Option<Replication>) {
        *self
            .replication
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = replication;
    }

    fn record_error(&self, message: String) {
        let at_unix = unix_seconds(SystemTime::now());
        self.checks().last_error = Some(LastError { message, at_unix });
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use crate::replication::StoreWrite;

    use bytes::Bytes;

    use super::*;

    const DOCUMENT: &str = include_str!("../testdata/OnlyRolloutSettings.json");

    #[test]
    fn status_reports_the_snapshot_its_age_and_the_last_error() {
        let store = SettingsStore::new();
        let empty = store.status();
        assert_eq!(
            (empty.state, empty.version, empty.age_seconds),
            ("empty", None, None)
        );
        assert_eq!(store.age(), None);

        store.record_error("origin down".to_owned());
        let ten_seconds_ago = SystemTime::now() - Duration::from_secs(10);
        let snapshot = Snapshot::parse(
            Bytes::from_static(DOCUMENT.as_bytes()),
            crate::Check::Fetch,
            Source::Origin,
            Some("\"v7\"".to_owned()),
            ten_seconds_ago,
        )
        .expect("valid");
        store.publish(snapshot);
        let age = store.age().expect("a snapshot");
        assert!(
            age >= Duration::from_secs(10) && age < Duration::from_secs(60),
            "{age:?}"
        );
        let status = store.status();
        assert_eq!(status.state, "ok");
        assert_eq!(status.etag.as_deref(), Some("\"v7\""));
        assert_eq!(status.source, Some(Source::Origin));
        assert!(status.age_seconds.is_some_and(|s| s >= 10.0), "{status:?}");
        assert_eq!(status.last_error, None, "a new snapshot clears the last error");

        store.record_error("origin down again".to_owned());
        assert_eq!(
            store.status().last_error.map(|e| e.message).as_deref(),
            Some("origin down again")
        );
        assert_eq!(store.status().version, status.version, "the snapshot stays");
    }

    #[test]
    fn a_confirmation_from_the_fleet_only_moves_forward() {
        let store = SettingsStore::new();
        let now = SystemTime::now();
        store.confirm_at(now);
        store.record_error("origin down".to_owned());
        store.confirm_at(now - Duration::from_secs(60));
        assert_eq!(store.confirmed_at(), Some(now), "an older check changes nothing");
        assert!(store.last_error().is_some(), "nor clears a later error");
        store.confirm_at(now + Duration::from_secs(1));
        assert_eq!(store.confirmed_at(), Some(now + Duration::from_secs(1)));
        assert_eq!(store.last_error(), None, "a newer check clears it");
    }

    #[test]
    fn a_confirmation_is_a_successful_check_without_a_swap() {
        let store = SettingsStore::new();
        let mut changes = store.subscribe();
        let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
        let cached = Snapshot::parse(
            Bytes::from_static(DOCUMENT.as_bytes()),
            crate::Check::Fetch,
            Source::Cache,
            None,
            an_hour_ago,
        )
        .expect("valid");
        store.publish(cached);
        changes.mark_unchanged();
        let status = store.status();
        assert_eq!(
            (status.confirmed_at_unix, status.since_confirmed_seconds),
            (None, None),
            "the on-disk copy is not a confirmation"
        );

        store.record_error("origin down".to_owned());
        store.confirm();
        let status = store.status();
        assert_eq!(status.last_error, None, "a 304 clears the last error");
        assert!(
            status.since_confirmed_seconds.is_some_and(|s| s < 60.0),
            "{status:?}"
        );
        assert!(
            status.age_seconds.is_some_and(|s| s >= 3600.0),
            "the snapshot is as old as before: {status:?}"
        );
        assert!(
            status.confirmed_at_unix > status.fetched_at_unix,
            "confirmed later than fetched: {status:?}"
        );
        assert!(!changes.has_changed().expect("open"), "no announcement for a 304");
    }
}
