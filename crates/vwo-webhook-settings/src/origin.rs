//! Fetching the settings file the way VWO's SDKs do, with the limits a server needs: timeouts,
//! a size cap, a JSON content type, `ETag` revalidation, and an SDK key that never shows.

use std::fmt;
use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, ETAG, IF_NONE_MATCH, RETRY_AFTER};
use vwo_webhook::RefreshError;
use zeroize::Zeroizing;

/// VWO's settings host, as the SDKs use it.
pub const DEFAULT_BASE_URL: &str = "https://dev.visualwebsiteoptimizer.com";
/// The largest settings document accepted by default.
pub const DEFAULT_MAX_SIZE: usize = 16 * 1024 * 1024;
/// How long connecting may take by default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a whole fetch may take by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The SDK key: sent to the origin, never shown (`Debug` prints `SdkKey(***)`), zeroized on drop.
#[derive(Clone)]
pub struct SdkKey(Zeroizing<String>);

impl SdkKey {
    /// Wraps `key`.
    pub fn new(key: impl Into<String>) -> Self {
        Self(Zeroizing::new(key.into()))
    }

    /// The key itself, for what sends it to VWO (the settings fetch, and the events the SDK
    /// reports with it). Nothing else should call this.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SdkKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SdkKey(***)")
    }
}

/// Which of VWO's two settings endpoints to call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Endpoint {
    /// `/server-side/v2-settings`: start-up and periodic fetches.
    Settings,
    /// `/server-side/v2-pull`: fetches triggered by a webhook, as the SDKs' `updateSettings` does.
    Pull,
}

impl Endpoint {
    fn path(self) -> &'static str {
        match self {
            Endpoint::Settings => "/server-side/v2-settings",
            Endpoint::Pull => "/server-side/v2-pull",
        }
    }
}

/// Why a fetch failed. No variant carries the SDK key or the request URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// No connection (refused, DNS, TLS...).
    #[error("could not reach the settings origin: {0}")]
    Connect(String),
    /// Connecting or the whole exchange took too long.
    #[error("the settings origin did not answer in time")]
    Timeout,
    /// A redirect (3xx): not followed, since its target is not the origin this was configured
    /// with, and whatever it serves would be installed as the settings.
    #[error("the settings origin answered {status}, a redirect, which is not followed")]
    Redirect {
        /// The HTTP status.
        status: u16,
    },
    /// A redirect that an HTTP client of the caller's own followed to another URL: what it
    /// served there is not installed, as a redirect is not followed.
    #[error(
        "the HTTP client followed a redirect away from the settings origin; its document is not installed"
    )]
    FollowedRedirect,
    /// An answer other than 200, 304 or a redirect.
    #[error("the settings origin answered {status}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// What its `Retry-After` asked for, in seconds.
        retry_after: Option<u64>,
    },
    /// The document is larger than the limit.
    #[error("the settings document is larger than the {limit}-byte limit")]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The answer is not JSON.
    #[error("the settings origin answered content-type {0:?}, not application/json")]
    ContentType(String),
    /// The body broke off or could not be read.
    #[error("the settings document could not be read: {0}")]
    Body(String),
}

impl FetchError {
    /// A short, fixed name for the kind of failure (a metric label): `connect`, `timeout`,
    /// `redirect`, `status_4xx`, `status_429`, `status_5xx`, `too_large`, `content_type`, `body`.
    pub fn kind(&self) -> &'static str {
        match self {
            FetchError::Connect(_) => "connect",
            FetchError::Timeout => "timeout",
            FetchError::Status { status: 429, .. } => "status_429",
            FetchError::Status { status, .. } if *status >= 500 => "status_5xx",
            FetchError::Redirect { .. } | FetchError::FollowedRedirect => "redirect",
            FetchError::Status { .. } => "status_4xx",
            FetchError::TooLarge { .. } => "too_large",
            FetchError::ContentType(_) => "content_type",
            FetchError::Body(_) => "body",
        }
    }

    /// Connection trouble, timeouts, 429 and 5xx may clear up; the rest will not by retrying.
    pub fn into_refresh_error(self) -> RefreshError {
        match self {
            FetchError::Status {
                status,
                retry_after: Some(seconds),
            } if status == 429 || status >= 500 => {
                RefreshError::transient_after(Duration::from_secs(seconds), self)
            }
            FetchError::Status { status, .. } if status == 429 || status >= 500 => {
                RefreshError::transient(self)
            }
            FetchError::Connect(_) | FetchError::Timeout | FetchError::Body(_) => {
                RefreshError::transient(self)
            }
            FetchError::Status { .. }
            | FetchError::Redirect { .. }
            | FetchError::FollowedRedirect
            | FetchError::TooLarge { .. }
            | FetchError::ContentType(_) => RefreshError::permanent(self),
        }
    }
}

/// What a fetch brought back.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fetched {
    /// A document, with the origin's `ETag` if any.
    Document {
        /// The body as sent.
        raw: Bytes,
        /// The `ETag` header.
        etag: Option<String>,
    },
    /// 304: the document the `ETag` names is still current.
    NotModified,
}

/// Where and how to fetch one account's settings.
#[derive(Debug, Clone)]
pub struct Origin {
    client: reqwest::Client,
    timeout: Duration,
    base_url: String,
    account_id: String,
    sdk_key: SdkKey,
    max_size: usize,
}

impl Origin {
    /// Fetches `account_id`'s settings from `base_url` with the SDK key.
    pub fn new(
        base_url: &str,
        account_id: &str,
        sdk_key: SdkKey,
        connect_timeout: Duration,
        timeout: Duration,
        max_size: usize,
    ) -> Result<Self, FetchError> {
        let client = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .timeout(timeout)
            .user_agent(concat!("vwo-webhook/", env!("CARGO_PKG_VERSION")))
            // A redirect could install another server's document as the settings.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| FetchError::Connect(describe(&error)))?;
        Ok(Self {
            client,
            timeout,
            base_url: base_url.trim_end_matches('/').to_owned(),
            account_id: account_id.to_owned(),
            sdk_key,
            max_size,
        })
    }

    /// Fetches with `client`, an HTTP client of the caller's own (a proxy, a CA, a TLS client
    /// certificate, middleware). The fetch's timeout still applies to each request; its
    /// connect timeout and redirect policy are the client's, but a document reached through a
    /// redirect is refused ([`FetchError::FollowedRedirect`]).
    #[must_use]
    pub fn with_client(mut self, client: reqwest::Client) -> Self {
        self.client = client;
        self
    }

    /// The account whose settings this fetches.
    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    /// `GET {base}{endpoint}?i=..&r=..&a=..&platform=server&api-version=1&sn=..&sv=..&s=prod`,
    /// revalidating with `If-None-Match` when `etag` is given.
    pub async fn fetch(&self, endpoint: Endpoint, etag: Option<&str>) -> Result<Fetched, FetchError> {
        let random = fastrand::f64().to_string();
        let url = format!("{}{}", self.base_url, endpoint.path());
        let mut request = self.client.get(&url).timeout(self.timeout).query(&[
            ("i", self.sdk_key.expose_secret()),
            ("r", random.as_str()),
            ("a", self.account_id.as_str()),
            ("platform", "server"),
            ("api-version", "1"),
            ("sn", "vwo-webhook-rust"),
            ("sv", env!("CARGO_PKG_VERSION")),
            ("s", "prod"),
        ]);
        if let Some(etag) = etag {
            request = request.header(IF_NONE_MATCH, etag);
        }
        let mut response = request.send().await.map_err(classify)?;
        let status = response.status();
        if status == StatusCode::NOT_MODIFIED && etag.is_some() {
            return Ok(Fetched::NotModified);
        }
        if status.is_redirection() {
            return Err(FetchError::Redirect {
                status: status.as_u16(),
            });
        }
        // Only a caller's client follows redirects: the answer must come from the URL asked.
        let asked = reqwest::Url::parse(&url).ok();
        let answered = response.url();
        if asked.is_none_or(|asked| asked.origin() != answered.origin() || asked.path() != answered.path()) {
            return Err(FetchError::FollowedRedirect);
        }
        if status != StatusCode::OK {
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| retry_after_seconds(v, SystemTime::now()));
            return Err(FetchError::Status {
                status: status.as_u16(),
                retry_after,
            });
        }
        let headers = response.headers();
        let content_type = headers
            .get(CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default();
        if !is_json(&content_type) {
            return Err(FetchError::ContentType(content_type));
        }
        let declared = headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|length| length > self.max_size as u64) {
            return Err(FetchError::TooLarge { limit: self.max_size });
        }
        // An ETag is kept (and sent back, and persisted) only at a sane length: a hostile
        // origin's megabyte-long one would otherwise ride along with every request.
        let etag = headers
            .get(ETAG)
            .filter(|v| v.len() <= MAX_ETAG_LENGTH)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut body = BytesMut::new();
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            if body.len() + chunk.len() > self.max_size {
                return Err(FetchError::TooLarge { limit: self.max_size });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched::Document {
            raw: body.freeze(),
            etag,
        })
    }
}

/// The longest ETag kept: far beyond any real one (VWO's are about 40 bytes).
pub const MAX_ETAG_LENGTH: usize = 256;

/// `Retry-After` in either of its forms (RFC 9110, 10.2.3), as seconds from `now`: a number of
/// seconds, or an HTTP date (one already past is 0). The coordinator caps whatever it says at
/// the retry policy's largest delay.
fn retry_after_seconds(value: &str, now: SystemTime) -> Option<u64> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(seconds);
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).map_or(0, |ahead| ahead.as_secs()))
}

/// `application/json`, `application/json; charset=utf-8`, `application/vnd.x+json`.
fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn classify(error: reqwest::Error) -> FetchError {
    // The URL's query holds the SDK key: drop it before anything is formatted.
    let error = error.without_url();
    if error.is_timeout() {
        FetchError::Timeout
    } else if error.is_body() || error.is_decode() {
        FetchError::Body(describe(&error))
    } else {
        FetchError::Connect(describe(&error))
    }
}

/// The error and its causes, on one line.
fn describe(error: &reqwest::Error) -> String {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_read_in_both_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(retry_after_seconds(" 7 ", now), Some(7));
        assert_eq!(retry_after_seconds("18446744073709551615", now), Some(u64::MAX));
        let soon = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(retry_after_seconds(&soon, now), Some(30));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(retry_after_seconds(&past, now), Some(0));
        assert_eq!(retry_after_seconds("Sun, 06 Nov 1994 08:49:37 GMT", now), Some(0));
        for nonsense in ["", "-1", "1.5", "soon", "99999999999999999999999"] {
            assert_eq!(retry_after_seconds(nonsense, now), None, "{nonsense:?}");
        }
    }
}
