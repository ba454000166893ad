//! The `Refresh` backend: one fetch per coordinated run, validated, persisted, then published.

use crate::replication::StoreWrite;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use vwo_webhook::{Coordinator, Refresh, RefreshError, SafetyNet, SettingsChanged, Trigger};

use crate::origin::{
    DEFAULT_BASE_URL, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_SIZE, DEFAULT_TIMEOUT, Endpoint, FetchError,
    Fetched, Origin, SdkKey,
};
use crate::persist;
use crate::snapshot::{DocumentError, Snapshot, Source};
use crate::store::SettingsStore;
use crate::validate::Check;

/// The SDKs' default polling interval.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(600);
/// How much each pause between polls varies (±10%), so replicas do not poll in lockstep.
pub const POLL_JITTER: f64 = 0.1;
/// How long a refused document without an `ETag` is taken to still be the one the origin
/// serves, by default (see [`SettingsBuilder::refused_verdict_window`]).
pub const DEFAULT_REFUSED_VERDICT_WINDOW: Duration = Duration::from_secs(30);

/// Why the backend could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// The base URL is not an absolute `http(s)` URL.
    #[error("the settings base URL {0:?} is not an absolute http(s) URL")]
    BaseUrl(String),
    /// The HTTP client could not be set up.
    #[error(transparent)]
    Client(#[from] FetchError),
}

/// Keeps a [`SettingsStore`] fresh from VWO (or any origin serving VWO's settings API).
///
/// Give it to `Receiver::builder`; every coordinated refresh then fetches the settings file
/// (`v2-pull` for a webhook, `v2-settings` otherwise), validates it, writes the on-disk copy
/// and publishes it. A failure keeps the last good snapshot and tells the coordinator whether
/// to retry.
#[derive(Debug, Clone)]
pub struct VwoSettings {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    origin: Origin,
    store: Arc<SettingsStore>,
    cache: Option<PathBuf>,
    poll_interval: Option<Duration>,
    refused_window: Duration,
    /// The latest document the origin served and validation refused, while nothing newer came.
    refused: Mutex<Option<Refused>>,
}

/// A refused document, remembered so that redeliveries do not fetch it again and again.
#[derive(Debug, Clone)]
struct Refused {
    etag: Option<String>,
    check: Check,
    at: Instant,
    error: DocumentError,
    /// The notice whose fetch found it: only its redeliveries are answered from the verdict.
    notice: Option<SettingsChanged>,
}

/// Configures [`VwoSettings`].
#[derive(Debug)]
pub struct SettingsBuilder {
    account_id: String,
    sdk_key: SdkKey,
    base_url: String,
    connect_timeout: Duration,
    timeout: Duration,
    max_size: usize,
    cache: Option<PathBuf>,
    poll_interval: Option<Duration>,
    refused_window: Duration,
    client: Option<reqwest::Client>,
}

impl SettingsBuilder {
    /// Fetches with `client`, an HTTP client of the caller's own: a proxy (with credentials),
    /// a private CA, a TLS client certificate, middleware. The [`timeout`](Self::timeout)
    /// still applies to each fetch; the connect timeout and redirect policy are the client's,
    /// but a document reached through a redirect is refused (fetch-error kind `redirect`).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Fetches from `base_url` instead of VWO (a gateway, a proxy, a local origin).
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// How long connecting may take (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long a whole fetch may take (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The largest document accepted (default 16 MiB).
    pub fn max_size(mut self, bytes: usize) -> Self {
        self.max_size = bytes;
        self
    }

    /// Keeps an on-disk copy at `path`: loaded by `build`, rewritten after each new document.
    pub fn cache_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.cache = Some(path.into());
        self
    }

    /// The safety-net poll interval (default 10 minutes); `None` turns polling off.
    pub fn poll_interval(mut self, interval: Option<Duration>) -> Self {
        self.poll_interval = interval.filter(|d| !d.is_zero());
        self
    }

    /// While the origin serves a document validation refused, redeliveries of the notice whose
    /// fetch found it fail with the same verdict (500 to VWO) without fetching it again:
    /// revalidated with `If-None-Match` when it came with an `ETag` (a 304 means it is still
    /// the one), otherwise for this long after the refusal (default 30 s; zero fetches every
    /// time). A newer notice, or a different one, announces a change and always asks the
    /// origin; a fixed document is picked up by the first refresh that sees it.
    pub fn refused_verdict_window(mut self, window: Duration) -> Self {
        self.refused_window = window;
        self
    }

    /// Builds the backend and loads the on-disk copy, if any. A corrupt or unreadable copy is
    /// logged and ignored: the first fetch replaces it.
    pub fn build(self) -> Result<VwoSettings, SettingsError> {
        let scheme_ok = self.base_url.starts_with("http://") || self.base_url.starts_with("https://");
        if !scheme_ok || reqwest::Url::parse(&self.base_url).is_err() {
            return Err(SettingsError::BaseUrl(self.base_url));
        }
        let mut origin = Origin::new(
            &self.base_url,
            &self.account_id,
            self.sdk_key,
            self.connect_timeout,
            self.timeout,
            self.max_size,
        )?;
        if let Some(client) = self.client {
            origin = origin.with_client(client);
        }
        let store = Arc::new(SettingsStore::new());
        if let Some(path) = &self.cache {
            match persist::load(path) {
                Ok(Some(snapshot)) => {
                    tracing::info!(path = %path.display(), version = snapshot.version(), "loaded the settings cache");
                    store.publish(snapshot);
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(%error, "ignoring the settings cache");
                    store.record_error(error.to_string());
                }
            }
        }
        Ok(VwoSettings {
            inner: Arc::new(Inner {
                origin,
                store,
                cache: self.cache,
                poll_interval: self.poll_interval,
                refused_window: self.refused_window,
                refused: Mutex::new(None),
            }),
        })
    }
}

impl VwoSettings {
    /// Starts configuring a backend for `account_id`'s settings, fetched with `sdk_key`.
    pub fn builder(account_id: impl Into<String>, sdk_key: SdkKey) -> SettingsBuilder {
        SettingsBuilder {
            account_id: account_id.into(),
            sdk_key,
            base_url: DEFAULT_BASE_URL.to_owned(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
            max_size: DEFAULT_MAX_SIZE,
            cache: None,
            poll_interval: Some(DEFAULT_POLL_INTERVAL),
            refused_window: DEFAULT_REFUSED_VERDICT_WINDOW,
            client: None,
        }
    }

    /// The store this backend keeps fresh; clone the `Arc` into your service.
    pub fn store(&self) -> Arc<SettingsStore> {
        Arc::clone(&self.inner.store)
    }

    /// Schedules a first fetch and starts the safety-net poll (unless turned off) on the
    /// receiver's coordinator. Keep the returned handle: dropping it stops the poll. Needs a
    /// tokio runtime.
    #[must_use = "dropping the SafetyNet stops the poll: keep it as long as the service runs"]
    pub fn start(&self, coordinator: &Coordinator) -> Option<SafetyNet> {
        coordinator.trigger(Trigger::Manual);
        self.inner
            .poll_interval
            .map(|interval| coordinator.spawn_safety_net(interval, POLL_JITTER))
    }

    /// Fetches and validates the settings for `trigger` without publishing them: the step a
    /// fleet runs before sharing the result (see `vwo-webhook-redis`). `etag` names the
    /// document the caller holds, for a conditional fetch. A document validation refuses
    /// is remembered, so redeliveries do not fetch it again and again (see
    /// [`SettingsBuilder::refused_verdict_window`]).
    pub async fn check(&self, trigger: &Trigger, etag: Option<&str>) -> Result<Checked, RefreshError> {
        let inner = &*self.inner;
        // The SDK validates what `updateSettings()` fetched as is, and normalizes what `init()`
        // and its polling fetched: the same here, by endpoint.
        let check = Check::for_trigger(trigger);
        let endpoint = match check {
            Check::Update => Endpoint::Pull,
            _ => Endpoint::Settings,
        };
        let refused = self.refused().filter(|refused| refused.check == check);
        // A redelivery of the notice whose fetch was refused moments ago gets the same verdict
        // without a fetch; a newer notice (or a different one) announces a change the origin
        // may have fixed, so it asks. Polls are not announcements: the window holds for them.
        let redelivered = match trigger {
            Trigger::Webhook(notice) => refused
                .as_ref()
                .is_some_and(|r| r.notice.as_ref() == Some(notice)),
            _ => true,
        };
        if let Some(refused) = &refused
            && refused.etag.is_none()
            && redelivered
            && refused.at.elapsed() < inner.refused_window
        {
            tracing::debug!("the origin's document was refused moments ago; not fetching it again");
            return Err(self.still_refused(refused));
        }
        // Revalidate the refused document while it stands, else the one held.
        let etag = match &refused {
            Some(refused) => refused.etag.as_deref(),
            None => etag,
        };
        let fetched = inner.origin.fetch(endpoint, etag).await.map_err(|error| {
            metrics::counter!(crate::telemetry::FETCH_ERRORS, "kind" => error.kind()).increment(1);
            inner.store.record_error(error.to_string());
            error.into_refresh_error()
        })?;
        let (raw, etag) = match fetched {
            Fetched::NotModified => {
                if let Some(refused) = &refused {
                    tracing::debug!("the origin still serves the refused document (304)");
                    return Err(self.still_refused(refused));
                }
                tracing::debug!("settings unchanged (304)");
                return Ok(Checked::Unchanged);
            }
            Fetched::Document { raw, etag } => (raw, etag),
        };
        match Snapshot::parse(raw, check, Source::Origin, etag.clone(), SystemTime::now()) {
            Ok(snapshot) => {
                *self.refused_slot() = None;
                Ok(Checked::New(snapshot))
            }
            Err(error) => {
                let kind = match error {
                    DocumentError::Json(_) => "invalid_json",
                    _ => "invalid_document",
                };
                metrics::counter!(crate::telemetry::FETCH_ERRORS, "kind" => kind).increment(1);
                inner.store.record_error(error.to_string());
                let notice = match trigger {
                    Trigger::Webhook(notice) => Some(notice.clone()),
                    _ => None,
                };
                *self.refused_slot() = Some(Refused {
                    etag,
                    check,
                    at: Instant::now(),
                    error: error.clone(),
                    notice,
                });
                Err(RefreshError::permanent(error))
            }
        }
    }

    /// Makes `snapshot` the current settings: rewrites the on-disk copy (if configured) and
    /// publishes it to the store.
    pub fn install(&self, snapshot: Snapshot) {
        if let Some(path) = &self.inner.cache
            && let Err(error) = persist::write_atomic(path, snapshot.raw())
        {
            // The new settings are good; only the copy for the next start is stale.
            tracing::warn!(%error, "could not update the settings cache");
        }
        tracing::info!(
            version = snapshot.version(),
            revision = snapshot.revision(),
            source = ?snapshot.source(),
            bytes = snapshot.raw().len(),
            "new VWO settings"
        );
        self.inner.store.publish(snapshot);
    }

    /// The VWO account whose settings these are.
    pub fn account_id(&self) -> &str {
        self.inner.origin.account_id()
    }

    /// The safety-net poll's interval, `None` when polling is off.
    pub fn poll_interval(&self) -> Option<Duration> {
        self.inner.poll_interval
    }

    fn refused_slot(&self) -> std::sync::MutexGuard<'_, Option<Refused>> {
        self.inner.refused.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn refused(&self) -> Option<Refused> {
        self.refused_slot().clone()
    }

    /// The verdict on a document refused before, for a refresh that found it still served.
    fn still_refused(&self, refused: &Refused) -> RefreshError {
        self.inner.store.record_error(refused.error.to_string());
        RefreshError::permanent(refused.error.clone())
    }
}

/// What one check against the origin found, before anything is published.
#[derive(Debug)]
#[non_exhaustive]
// Lives for one check, moved straight into the store: boxing the snapshot would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum Checked {
    /// The origin still serves the document with the `ETag` given (a 304).
    Unchanged,
    /// A new document, validated.
    New(Snapshot),
}

impl Refresh for VwoSettings {
    async fn refresh(&self, trigger: Trigger) -> Result<(), RefreshError> {
        let current = self.inner.store.current();
        match self
            .check(&trigger, current.as_ref().and_then(|s| s.etag()))
            .await?
        {
            Checked::Unchanged => self.inner.store.confirm(),
            Checked::New(snapshot) => self.install(snapshot),
        }
        Ok(())
    }
}
