//! What every example shares: the environment contract and the refresh backend.
//!
//! - `VWO_WEBHOOK_ADDR`: where to listen (default `127.0.0.1:4000`).
//! - `VWO_WEBHOOK_SECRET`: the accepted secret; comma-separated for several (key rotation).
//!   Unset, a random secret is generated and printed with a ready-to-run `curl` line.
//!
//! Until the settings backend exists, the examples' backend only logs each refresh.
// The examples' whole job is to tell a person what to run next.
#![allow(clippy::print_stdout)]

use std::net::SocketAddr;

use vwo_webhook::{Keyring, Receiver, RefreshError, SecretError, Trigger};

/// The address examples listen on by default.
pub const DEFAULT_ADDR: &str = "127.0.0.1:4000";

/// VWO's documented notice, as the `curl` line sends it.
pub const DOCUMENTED_PAYLOAD: &str = r#"{"timestamp":1606482285,"event":"settings_changed","action":"campaign_settings_changed","triggered_by":"vwo"}"#;

/// An example's configuration, read from the environment.
#[derive(Debug)]
pub struct Example {
    /// Where to listen.
    pub addr: SocketAddr,
    /// The accepted secrets.
    pub keyring: Keyring,
    /// The secret, when it was generated rather than configured (so it can be shown).
    generated: Option<String>,
}

/// Why the environment is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `VWO_WEBHOOK_ADDR` is not `host:port`.
    #[error("VWO_WEBHOOK_ADDR must be an address like 127.0.0.1:4000")]
    Addr,
    /// `VWO_WEBHOOK_SECRET` holds no usable secret.
    #[error("VWO_WEBHOOK_SECRET must hold at least one non-empty secret: {0}")]
    Secret(#[from] SecretError),
    /// The system's random source failed.
    #[error("could not generate a random secret: {0}")]
    Random(String),
}

impl Example {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` (the environment, or a test's map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let addr = lookup("VWO_WEBHOOK_ADDR").unwrap_or_else(|| DEFAULT_ADDR.to_owned());
        let addr = addr.trim().parse().map_err(|_| ConfigError::Addr)?;
        let (keyring, generated) = match lookup("VWO_WEBHOOK_SECRET") {
            Some(list) => (Keyring::from_comma_separated(&list)?, None),
            None => {
                let secret = random_secret()?;
                (Keyring::from_comma_separated(&secret)?, Some(secret))
            }
        };
        Ok(Self {
            addr,
            keyring,
            generated,
        })
    }

    /// Sets up logging, reads the environment and builds the receiver: every example's start.
    pub fn init() -> Result<(Self, Receiver), Box<dyn std::error::Error>> {
        init_tracing();
        let example = Self::from_env()?;
        let receiver = example.receiver()?;
        Ok((example, receiver))
    }

    /// A receiver at the default path whose backend logs each refresh.
    pub fn receiver(&self) -> Result<Receiver, vwo_webhook::BuildError> {
        Receiver::builder(log_refresh)
            .keyring(self.keyring.clone())
            .build()
    }

    /// Tells the user where the receiver listens and how to deliver a notice to it.
    pub fn announce(&self, framework: &str, listening: SocketAddr, path: &str) {
        let url = format!("http://{listening}{path}");
        println!("vwo-webhook {framework} example: POST {url}");
        let key = match &self.generated {
            Some(secret) => {
                println!("No VWO_WEBHOOK_SECRET set; generated this secret for the session: {secret}");
                secret.clone()
            }
            None => "$VWO_WEBHOOK_SECRET".to_owned(),
        };
        println!("Deliver the documented notice:");
        println!(
            "  curl -i -X POST {url} -H \"x-vwo-auth: {key}\" -H 'content-type: application/json' -d '{DOCUMENTED_PAYLOAD}'"
        );
    }
}

/// The examples' backend: logs what would be refreshed.
pub async fn log_refresh(trigger: Trigger) -> Result<(), RefreshError> {
    tracing::info!(
        ?trigger,
        "refresh: a real service would fetch the new VWO settings file now"
    );
    Ok(())
}

/// Logs to stderr at `info` (override with `RUST_LOG`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn random_secret() -> Result<String, ConfigError> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| ConfigError::Random(e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Resolves when the process is asked to stop (Ctrl-C).
pub async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
}
