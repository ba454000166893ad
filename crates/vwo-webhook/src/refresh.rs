//! The backend that actually refreshes settings, as the coordinator sees it.
//!
//! The error type carries one decision the coordinator needs: is it worth trying again
//! (transient) or not (permanent)? Everything else about the failure is for logs.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::payload::SettingsChanged;

/// What asked for a refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Trigger {
    /// An authenticated webhook delivery (the latest one, when several were coalesced).
    Webhook(SettingsChanged),
    /// The periodic safety-net refresh.
    SafetyNet,
    /// A message from another replica.
    Broadcast,
    /// Application code called [`crate::Coordinator::refresh`] directly.
    Manual,
}

/// A failed refresh: transient (worth retrying) or permanent.
#[derive(Debug, thiserror::Error)]
#[error("{kind} refresh failure: {source}")]
pub struct RefreshError {
    kind: FailureKind,
    #[source]
    source: Box<dyn StdError + Send + Sync>,
}

/// Whether a failure is worth retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureKind {
    /// Retry later, no sooner than `retry_after` when given (e.g. a 503 or 429's `Retry-After`).
    Transient {
        /// The earliest sensible retry, if the origin said.
        retry_after: Option<Duration>,
    },
    /// Retrying will not help (bad credentials, invalid settings document...).
    Permanent,
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Transient { .. } => f.write_str("transient"),
            Self::Permanent => f.write_str("permanent"),
        }
    }
}

impl RefreshError {
    /// A failure worth retrying.
    pub fn transient(source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self {
            kind: FailureKind::Transient { retry_after: None },
            source: source.into(),
        }
    }

    /// A failure worth retrying, but not before `retry_after`.
    pub fn transient_after(
        retry_after: Duration,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        Self {
            kind: FailureKind::Transient {
                retry_after: Some(retry_after),
            },
            source: source.into(),
        }
    }

    /// A failure that retrying will not fix.
    pub fn permanent(source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self {
            kind: FailureKind::Permanent,
            source: source.into(),
        }
    }

    /// Transient or permanent.
    pub fn kind(&self) -> FailureKind {
        self.kind
    }

    /// Whether a retry may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self.kind, FailureKind::Transient { .. })
    }
}

/// A settings backend: re-fetch the settings file, call an SDK's update, tell other replicas...
///
/// Implemented for every `Fn(Trigger) -> impl Future<Output = Result<(), RefreshError>>`, so a
/// closure is enough:
///
/// ```
/// use vwo_webhook::{RefreshError, Trigger};
/// let backend = |trigger: Trigger| async move {
///     tracing::info!(?trigger, "re-fetching settings");
///     Ok::<(), RefreshError>(())
/// };
/// # fn takes(_: impl vwo_webhook::Refresh) {}
/// # takes(backend);
/// ```
///
/// The coordinator runs at most one refresh at a time, so an implementation needs no locking
/// of its own against itself.
pub trait Refresh: Send + Sync + 'static {
    /// Refreshes the settings. `trigger` says why.
    fn refresh(&self, trigger: Trigger) -> impl Future<Output = Result<(), RefreshError>> + Send;
}

impl<F, Fut> Refresh for F
where
    F: Fn(Trigger) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), RefreshError>> + Send + 'static,
{
    fn refresh(&self, trigger: Trigger) -> impl Future<Output = Result<(), RefreshError>> + Send {
        self(trigger)
    }
}

pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Object-safe form of [`Refresh`], so the coordinator and receiver need no type parameter.
pub(crate) trait DynRefresh: Send + Sync + 'static {
    fn refresh_boxed(self: std::sync::Arc<Self>, trigger: Trigger) -> BoxFuture<Result<(), RefreshError>>;
}

impl<R: Refresh> DynRefresh for R {
    fn refresh_boxed(self: std::sync::Arc<Self>, trigger: Trigger) -> BoxFuture<Result<(), RefreshError>> {
        Box::pin(async move { self.refresh(trigger).await })
    }
}
