//! Why a relay could not start.

use vwo_webhook_settings::SettingsError;

/// A relay that cannot start, naming the environment.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RelayError {
    /// The configuration is not usable.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// An environment's settings backend could not be built.
    #[error("environment \"{environment}\": {source}")]
    Settings {
        /// The environment.
        environment: String,
        /// Why.
        source: SettingsError,
    },
    /// An environment's webhook receiver could not be built.
    #[error("environment \"{environment}\": {source}")]
    Receiver {
        /// The environment.
        environment: String,
        /// Why.
        source: vwo_webhook::BuildError,
    },
    /// An environment's Redis fleet could not be set up.
    #[error("environment \"{environment}\": {source}")]
    Redis {
        /// The environment.
        environment: String,
        /// Why (never the URL, which may hold a password).
        source: vwo_webhook_redis::FleetError,
    },
    /// The HTTP client could not be built.
    #[error("the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
}
