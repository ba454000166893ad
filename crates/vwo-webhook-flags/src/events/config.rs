//! Where events go and how: one builder, with the SDK's defaults.

use std::fmt;
use std::time::Duration;

use vwo_webhook_settings::SdkKey;

/// VWO's events host, as the SDK uses it.
pub const DEFAULT_EVENTS_URL: &str = "https://dev.visualwebsiteoptimizer.com";

/// How events are grouped into requests: the SDK's `batchEventData`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batching {
    /// Send a batch once this many events wait (`eventsPerRequest`; the SDK's default 100,
    /// at most 5,000).
    pub events_per_request: usize,
    /// Send what waits at least this often (`requestTimeInterval`; the SDK's default 3 s
    /// since Node 1.42, which batches unless told not to).
    pub interval: Duration,
}

impl Default for Batching {
    fn default() -> Self {
        Self {
            events_per_request: 100,
            interval: Duration::from_secs(3),
        }
    }
}

/// The largest batch the SDK sends.
pub(crate) const MAX_EVENTS_PER_REQUEST: usize = 5_000;

/// Why a reporting configuration was refused. Never shows the SDK key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The events URL is not an `http(s)://host[:port]` URL.
    #[error("the events URL must be http(s)://host[:port] (got {0:?})")]
    BadUrl(String),
    /// The account id is empty.
    #[error("the account id is empty")]
    NoAccountId,
    /// Not called within a tokio runtime, where the reporting task runs.
    #[error("reporting needs a tokio runtime to run its task on")]
    NoRuntime,
    /// The HTTP client could not be built (no TLS roots, say).
    #[error("the HTTP client for events could not be built")]
    Client,
}

/// The default [`ReportingConfig::capacity_bytes`]: 32 MiB.
pub const DEFAULT_CAPACITY_BYTES: usize = 32 * 1024 * 1024;

/// Where and how to report: the account and SDK key, VWO's host (or a gateway or proxy),
/// batching, the queue's bound, timeouts and retries.
#[derive(Clone)]
pub struct ReportingConfig {
    pub(crate) account_id: String,
    pub(crate) sdk_key: SdkKey,
    pub(crate) base_url: String,
    pub(crate) batching: Option<Batching>,
    pub(crate) capacity: usize,
    pub(crate) capacity_bytes: usize,
    pub(crate) timeout: Duration,
    pub(crate) first_retry: Duration,
    pub(crate) max_retry: Duration,
    pub(crate) concurrency: usize,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) client: Option<reqwest::Client>,
}

impl fmt::Debug for ReportingConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReportingConfig")
            .field("account_id", &self.account_id)
            .field("sdk_key", &self.sdk_key)
            .field("base_url", &self.base_url)
            .field("batching", &self.batching)
            .field("capacity", &self.capacity)
            .field("capacity_bytes", &self.capacity_bytes)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl ReportingConfig {
    /// Reports `account_id`'s events with `sdk_key` to VWO, in batches of 100 or every 3 s
    /// (the SDK's defaults since Node 1.42), holding at most 10,000 events.
    pub fn new(account_id: impl Into<String>, sdk_key: SdkKey) -> Self {
        Self {
            account_id: account_id.into(),
            sdk_key,
            base_url: DEFAULT_EVENTS_URL.to_owned(),
            batching: Some(Batching::default()),
            capacity: 10_000,
            capacity_bytes: DEFAULT_CAPACITY_BYTES,
            timeout: Duration::from_secs(10),
            first_retry: Duration::from_secs(2),
            max_retry: Duration::from_secs(60),
            concurrency: 8,
            shutdown_timeout: Duration::from_secs(5),
            client: None,
        }
    }

    /// Sends with `client`, an HTTP client of the caller's own: a proxy (with credentials), a
    /// private CA, a TLS client certificate, middleware. The [`timeout`](Self::timeout) still
    /// applies to each request; the rest (connect timeout, redirects) is the client's.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Sends to `base_url` (`https://host[:port]`, or `http://` for a local gateway or
    /// proxy) instead of VWO's host.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into().trim_end_matches('/').to_owned();
        self
    }

    /// Batches as `batching` says (capped at the SDK's 5,000 events a request).
    pub fn batching(mut self, batching: Batching) -> Self {
        self.batching = Some(Batching {
            events_per_request: batching.events_per_request.clamp(1, MAX_EVENTS_PER_REQUEST),
            interval: batching.interval.max(Duration::from_millis(1)),
        });
        self
    }

    /// Sends without batching, as the SDK does with `isBatchingDisabled`: a decision's
    /// impressions together in one `/server-side/batch-events-v2` request, every other event
    /// on its own to `/events/t` (at most [`ReportingConfig::concurrency`] requests at a
    /// time).
    pub fn unbatched(mut self) -> Self {
        self.batching = None;
        self
    }

    /// Holds at most `capacity` events waiting to be sent; past it the oldest are dropped
    /// (and counted).
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    /// Holds events of about `bytes` at most waiting to be sent (default 32 MiB): a count
    /// alone does not bound memory when users' ids or variables are large. Past it the oldest
    /// are dropped (and counted as overflow).
    pub fn capacity_bytes(mut self, bytes: usize) -> Self {
        self.capacity_bytes = bytes.max(1);
        self
    }

    /// How long one request may take.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Retries after `first`, doubling up to `max`, each delay jittered.
    pub fn retry_delays(mut self, first: Duration, max: Duration) -> Self {
        self.first_retry = first;
        self.max_retry = max.max(first);
        self
    }

    /// How many single events may be in flight at once when unbatched.
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// How long a shutdown may spend sending what is still queued.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// The host name in the base URL (what the SDK writes into an event's `url` field).
    pub(crate) fn hostname(&self) -> Result<String, ConfigError> {
        let bad = || ConfigError::BadUrl(self.base_url.clone());
        let rest = self
            .base_url
            .strip_prefix("https://")
            .or_else(|| self.base_url.strip_prefix("http://"))
            .ok_or_else(bad)?;
        let authority = rest.split('/').next().unwrap_or("");
        let host = match authority.strip_prefix('[') {
            Some(v6) => v6.split(']').next().map(|h| format!("[{h}]")),
            None => authority.split(':').next().map(str::to_owned),
        };
        host.filter(|h| !h.is_empty()).ok_or_else(bad)
    }

    /// Whether the events go to VWO's own host (where a collection prefix applies).
    pub(crate) fn is_vwo_host(&self) -> bool {
        self.base_url == DEFAULT_EVENTS_URL
    }

    /// The URL of `path` with `query`: under the settings' collection prefix on VWO's own
    /// host, as the SDK's `getUpdatedBaseUrl` does, and without it on a gateway or proxy.
    pub(crate) fn events_url(&self, prefix: Option<&str>, path: &str, query: &str) -> String {
        match prefix {
            Some(prefix) if self.is_vwo_host() => format!("{}/{prefix}{path}?{query}", self.base_url),
            _ => format!("{}{path}?{query}", self.base_url),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_name_is_read_from_the_url() {
        let config = ReportingConfig::new("1", SdkKey::new("k"));
        assert_eq!(config.hostname().as_deref(), Ok("dev.visualwebsiteoptimizer.com"));
        assert!(config.is_vwo_host());
        let local = config.clone().base_url("http://127.0.0.1:8080/");
        assert_eq!(local.hostname().as_deref(), Ok("127.0.0.1"));
        assert!(!local.is_vwo_host());
        assert!(matches!(
            config.base_url("ftp://x").hostname(),
            Err(ConfigError::BadUrl(_))
        ));
    }

    #[test]
    fn the_collection_prefix_applies_on_vwo_s_host_only() {
        let vwo = ReportingConfig::new("1", SdkKey::new("k"));
        assert_eq!(
            vwo.events_url(Some("eu01"), "/events/t", "en=x"),
            "https://dev.visualwebsiteoptimizer.com/eu01/events/t?en=x"
        );
        assert_eq!(
            vwo.events_url(None, "/events/t", "en=x"),
            "https://dev.visualwebsiteoptimizer.com/events/t?en=x"
        );
        let gateway = vwo.base_url("http://127.0.0.1:9000");
        assert_eq!(
            gateway.events_url(Some("eu01"), "/server-side/batch-events-v2", "a=1"),
            "http://127.0.0.1:9000/server-side/batch-events-v2?a=1"
        );
    }

    #[test]
    fn debug_never_shows_the_sdk_key() {
        let config = ReportingConfig::new("1", SdkKey::new("very-secret-key"));
        assert!(!format!("{config:?}").contains("very-secret-key"));
    }
}
