//! Why a client could not be built, made ready or refreshed.

use std::time::Duration;

/// Why a [`Client`](crate::Client) could not be built, made ready or refreshed. Names the
/// setting or the cause, never a key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The account id is empty.
    #[error("the account id is empty")]
    NoAccountId,
    /// A variable [`ClientBuilder::from_env`](crate::ClientBuilder::from_env) needs is unset.
    #[error("{0} is not set")]
    MissingEnv(&'static str),
    /// A variable holds something unusable.
    #[error("{name} is not usable: {why}")]
    BadEnv {
        /// The variable.
        name: &'static str,
        /// What is wrong with it (never its value: it may be a secret).
        why: String,
    },
    /// The settings backend could not be set up (the base URL, the HTTP client).
    #[error("the settings backend could not be set up: {0}")]
    Settings(#[from] vwo_webhook_settings::SettingsError),
    /// The webhook receiver could not be set up.
    #[error("the webhook receiver could not be set up: {0}")]
    Receiver(#[from] vwo_webhook::BuildError),
    /// Event reporting could not be set up.
    #[error("event reporting could not be set up: {0}")]
    Reporting(#[from] crate::ConfigError),
    /// The Redis fleet could not be set up (its URL; never repeated, it may hold a password).
    #[cfg(feature = "redis")]
    #[error("the Redis fleet could not be set up: {0}")]
    Fleet(#[from] vwo_webhook_redis::FleetError),
    /// The settings host refused the request for good (a 401 for a wrong SDK key, a 404 for
    /// a wrong account, a document that is not VWO's settings): retrying will not help.
    #[error("the settings host refused the settings: {0}")]
    Refused(String),
    /// No settings arrived in time, and no on-disk copy holds any: `last` says why the last
    /// attempt failed (unreachable, timed out, 5xx...).
    #[error("no settings within {waited:?}: {last}")]
    Timeout {
        /// How long the client waited.
        waited: Duration,
        /// Why the last fetch failed, or that it was still under way.
        last: String,
    },
    /// A refresh asked for with [`Client::update_settings`](crate::Client::update_settings)
    /// failed; the settings held before stay in force.
    #[error("the settings refresh failed: {0}")]
    Refresh(String),
    /// The client was closed.
    #[error("the client is closed")]
    Closed,
}
