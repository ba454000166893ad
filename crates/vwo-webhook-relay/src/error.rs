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
    /// The HTTP client could not be built.
    #[error("the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
}
