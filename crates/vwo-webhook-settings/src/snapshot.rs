//! One validated settings document with where and when it came from, shared read-only.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;

use crate::validate::{Check, ValidationError, validate};

/// Where a snapshot's document came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Source {
    /// Fetched from the settings origin (VWO, a gateway, a local origin).
    Origin,
    /// Loaded from the on-disk copy at start.
    Cache,
    /// Loaded from a shared store another replica filled (see `vwo-webhook-redis`).
    Redis,
}

/// Why bytes could not become a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DocumentError {
    /// Not JSON at all.
    #[error("the settings document is not valid JSON: {0}")]
    Json(String),
    /// JSON, but not what the SDKs accept.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
}

/// A validated settings document. Never torn: readers get a whole snapshot or the previous one.
#[derive(Debug, Clone)]
pub struct Snapshot {
    document: Value,
    raw: Bytes,
    version: String,
    account_id: String,
    fetched_at: SystemTime,
    etag: Option<String>,
    source: Source,
    revision: Option<u64>,
}

impl Snapshot {
    /// Parses and validates `raw` as the SDK does on the path `check` names, recording its
    /// provenance.
    pub fn parse(
        raw: Bytes,
        check: Check,
        source: Source,
        etag: Option<String>,
        fetched_at: SystemTime,
    ) -> Result<Self, DocumentError> {
        let mut document: Value =
            serde_json::from_slice(&raw).map_err(|error| DocumentError::Json(error.to_string()))?;
        validate(&mut document, check)?;
        let version = scalar_text(&document["version"]);
        let account_id = scalar_text(&document["accountId"]);
        Ok(Self {
            document,
            raw,
            version,
            account_id,
            fetched_at,
            etag,
            source,
            revision: None,
        })
    }

    /// Tags the snapshot with the revision a fleet store gave its document.
    pub fn with_revision(mut self, revision: u64) -> Self {
        self.revision = Some(revision);
        self
    }

    /// The document, validated (and, for [`Check::Fetch`], normalized as the SDK does).
    pub fn document(&self) -> &Value {
        &self.document
    }

    /// The bytes as the origin sent them (what an SDK's settings file would hold).
    pub fn raw(&self) -> &Bytes {
        &self.raw
    }

    /// The document's `version`, as text.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The document's `accountId`, as text.
    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    /// When it was fetched (for a cached copy: when the copy was written).
    pub fn fetched_at(&self) -> SystemTime {
        self.fetched_at
    }

    /// How long ago it was fetched.
    pub fn age(&self) -> Duration {
        self.fetched_at.elapsed().unwrap_or_default()
    }

    /// The origin's `ETag`, if it sent one.
    pub fn etag(&self) -> Option<&str> {
        self.etag.as_deref()
    }

    /// Where it came from.
    pub fn source(&self) -> Source {
        self.source
    }

    /// The fleet-wide revision of its document, when a fleet store (Redis) holds it.
    pub fn revision(&self) -> Option<u64> {
        self.revision
    }
}

/// `1` and `"1"` both read as `1`.
fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}
