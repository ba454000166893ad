//! What a receiver is configured with, and the checks that keep a configuration from being
//! built insecure or unusable.

use std::sync::Arc;
use std::time::Duration;

use crate::ack::AckPolicy;
use crate::coordinator::{Coordinator, RetryPolicy};
use crate::receiver::{Inner, Receiver};
use crate::refresh::{DynRefresh, Refresh};
use crate::secret::Keyring;
use crate::verify::{SharedKey, Verifier};

/// The path adapters mount the receiver at unless told otherwise.
pub const DEFAULT_PATH: &str = "/vwo-webhook";
/// The largest body read (64 KiB); VWO's notices are about 120 bytes.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;
/// How long a body may take to arrive before the delivery gets 408 (10 s); VWO's notice is
/// about 120 bytes.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a receiver could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// No secret or verifier was configured and the insecure opt-in was not called.
    #[error(
        "no webhook secret configured: add one with ReceiverBuilder::keyring, or call \
         ReceiverBuilder::allow_unauthenticated_deliveries_insecure to accept anyone's deliveries"
    )]
    NoAuthentication,
    /// The mount path does not start with `/`.
    #[error("the mount path must start with '/'")]
    InvalidPath,
    /// A body limit of zero would refuse every delivery.
    #[error("the body limit must be at least 1 byte")]
    ZeroBodyLimit,
    /// A body timeout of zero would refuse every delivery.
    #[error("the body timeout must be longer than zero")]
    ZeroBodyTimeout,
}

/// Configures a [`Receiver`]; start with [`Receiver::builder`].
pub struct ReceiverBuilder {
    backend: Arc<dyn DynRefresh>,
    retry: RetryPolicy,
    verifiers: Vec<Arc<dyn Verifier>>,
    insecure: bool,
    path: String,
    body_limit: usize,
    body_timeout: Duration,
    ack: AckPolicy,
}

impl std::fmt::Debug for ReceiverBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceiverBuilder")
            .field("verifiers", &self.verifiers.len())
            .field("path", &self.path)
            .field("body_limit", &self.body_limit)
            .field("body_timeout", &self.body_timeout)
            .field("ack", &self.ack)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl ReceiverBuilder {
    pub(crate) fn new(backend: impl Refresh) -> Self {
        Self {
            backend: Arc::new(backend),
            retry: RetryPolicy::default(),
            verifiers: Vec::new(),
            insecure: false,
            path: DEFAULT_PATH.to_owned(),
            body_limit: DEFAULT_BODY_LIMIT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            ack: AckPolicy::default(),
        }
    }

    /// Accepts deliveries whose `x-vwo-auth` header holds any secret of `keyring`.
    /// Keep a clone of the keyring to rotate secrets at runtime.
    pub fn keyring(self, keyring: Keyring) -> Self {
        self.verifier(SharedKey::new(keyring))
    }

    /// Adds a check every delivery must pass (all configured checks must pass).
    pub fn verifier(mut self, verifier: impl Verifier) -> Self {
        self.verifiers.push(Arc::new(verifier));
        self
    }

    /// Accepts deliveries from anyone when no verifier is configured. Anyone who can reach
    /// the endpoint can then trigger refreshes; a warning is logged when the receiver is
    /// built. Meant for local experiments only.
    pub fn allow_unauthenticated_deliveries_insecure(mut self) -> Self {
        self.insecure = true;
        self
    }

    /// Mounts at `path` instead of `/vwo-webhook`.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// Refuses bodies over `limit` bytes with 413 (default 64 KiB).
    pub fn body_limit(mut self, limit: usize) -> Self {
        self.body_limit = limit;
        self
    }

    /// Answers 408 (and closes the connection) when a body has not fully arrived this long
    /// after the header checks passed (default 10 s): a client that sends a head and then
    /// trickles or stalls cannot hold a connection open.
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = timeout;
        self
    }

    /// When to answer VWO (default: after the refresh, within 5 s).
    pub fn ack_policy(mut self, ack: AckPolicy) -> Self {
        self.ack = ack;
        self
    }

    /// How transient backend failures are retried inside one refresh (default:
    /// [`RetryPolicy::default`]).
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Builds the receiver. Fails closed: without a verifier it is an error unless
    /// [`ReceiverBuilder::allow_unauthenticated_deliveries_insecure`] was called.
    pub fn build(self) -> Result<Receiver, BuildError> {
        if !self.path.starts_with('/') {
            return Err(BuildError::InvalidPath);
        }
        if self.body_limit == 0 {
            return Err(BuildError::ZeroBodyLimit);
        }
        if self.body_timeout.is_zero() {
            return Err(BuildError::ZeroBodyTimeout);
        }
        if self.verifiers.is_empty() {
            if !self.insecure {
                return Err(BuildError::NoAuthentication);
            }
            tracing::warn!(
                path = %self.path,
                "vwo-webhook receiver built WITHOUT authentication: anyone who can reach it can trigger refreshes"
            );
        }
        let (body_verifiers, head_verifiers) = self.verifiers.into_iter().partition(|v| v.reads_body());
        Ok(Receiver::from_parts(
            Inner {
                path: self.path,
                head_verifiers,
                body_verifiers,
                body_timeout: self.body_timeout,
                ack: self.ack,
                coordinator: Coordinator::with_backend(self.backend, self.retry),
            },
            self.body_limit,
        ))
    }
}

impl Receiver {
    /// Starts configuring a receiver whose refreshes run `backend`.
    pub fn builder(backend: impl Refresh) -> ReceiverBuilder {
        ReceiverBuilder::new(backend)
    }

    /// The same receiver (sharing its coordinator) with another body limit, for adapters
    /// whose framework configures limits itself (rocket's `limits.vwo-webhook`).
    pub(crate) fn with_body_limit(mut self, limit: usize) -> Result<Self, BuildError> {
        if limit == 0 {
            return Err(BuildError::ZeroBodyLimit);
        }
        self.body_limit = limit;
        Ok(self)
    }
}
