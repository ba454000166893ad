//! A relay for VWO's SDKs in every language. VWO gives an environment one webhook URL and its
//! SDKs cannot be pushed to, so every service but one decides on settings up to 10 minutes old
//! and fetches the whole file on its own. Point each SDK's `gatewayService` option at the
//! relay: it holds the settings, kept fresh by VWO's webhook (one fetch per burst), serves
//! them to every SDK, forwards their events to VWO, and after each change tells each
//! service's own webhook handler, which pulls the new file from the relay at once.
//!
//! ```no_run
//! use vwo_webhook_relay::{Relay, RelayConfig};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let config = RelayConfig::from_file("relay.toml".as_ref())?;
//! let relay = Relay::start(config.clone())?;
//! let public = tokio::net::TcpListener::bind(config.addr).await?;
//! let admin = tokio::net::TcpListener::bind(config.admin_addr).await?;
//! tokio::try_join!(
//!     vwo_webhook_axum::serve(public, relay.public_router()).into_future(),
//!     vwo_webhook_axum::serve(admin, relay.admin_router()).into_future(),
//! )?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

pub mod config;
mod environment;
mod error;
mod events;
mod fanout;
mod gateway;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use serde::Serialize;
use vwo_webhook::{Probe, Probes};
use vwo_webhook_tower::WebhookService;

pub use config::{ConfigError, EnvironmentConfig, RedisUrl, RelayConfig, TargetConfig};
pub use environment::EnvironmentStatus;
pub use error::RelayError;
pub use events::{EVENT_QUEUE_BYTES, EVENT_REQUESTS, EventStatus};
pub use fanout::{NOTICES, NoticeSchedule, TargetStatus};
pub use gateway::{REFUSED, SETTINGS_SERVED};

use environment::Environment;
use events::Forwarder;
use gateway::Gateway;

/// Where the status document is served on the admin address.
pub const STATUS_PATH: &str = "/status";

/// A running relay: its environments, its event queue and its targets' tasks. Serve
/// [`Relay::public_router`] where SDKs and VWO reach it and [`Relay::admin_router`] inside.
#[derive(Debug, Clone)]
pub struct Relay {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    environments: Vec<Arc<Environment>>,
    forwarder: Forwarder,
    gateway: Gateway,
}

/// How a relay is built beyond its configuration.
#[derive(Debug)]
pub struct RelayBuilder {
    config: RelayConfig,
    client: Option<reqwest::Client>,
    schedule: NoticeSchedule,
}

impl RelayBuilder {
    /// The HTTP client for every outgoing request (settings, events, notices, upstream).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// When targets are asked again (VWO's own schedule by default: every 1-2 s for an hour).
    pub fn notice_schedule(mut self, schedule: NoticeSchedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// Starts every environment's first fetch, poll and targets, and the event queue. Needs a
    /// tokio runtime.
    pub fn start(self) -> Result<Relay, RelayError> {
        let config = self.config;
        let client = match self.client {
            Some(client) => client,
            None => reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(5))
                .build()
                .map_err(RelayError::Client)?,
        };
        let environments = config
            .environments
            .iter()
            .map(|environment| {
                Environment::start(
                    environment,
                    config.default_webhook_path,
                    config.redis_url.as_ref().map(|url| url.0.as_str()),
                    &client,
                    self.schedule,
                )
                .map(Arc::new)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let forwarder = Forwarder::start(
            config.events_base_url.clone(),
            config.event_queue_bytes,
            config.event_max_age,
            client.clone(),
        );
        let gateway = Gateway::new(
            environments.clone(),
            forwarder.clone(),
            config.upstream_gateway.clone(),
            client,
            config.event_body_limit,
        );
        Ok(Relay {
            inner: Arc::new(Inner {
                environments,
                forwarder,
                gateway,
            }),
        })
    }
}

impl Relay {
    /// A relay for `config`, with VWO's retry schedule and a default HTTP client.
    pub fn builder(config: RelayConfig) -> RelayBuilder {
        RelayBuilder {
            config,
            client: None,
            schedule: NoticeSchedule::default(),
        }
    }

    /// [`Relay::builder`] started at once.
    pub fn start(config: RelayConfig) -> Result<Self, RelayError> {
        Self::builder(config).start()
    }

    /// What SDKs and VWO call: each environment's webhook and the gateway routes.
    pub fn public_router(&self) -> Router {
        let mut router = self.inner.gateway.router();
        for environment in &self.inner.environments {
            for path in &environment.paths {
                router = router.route_service(path, WebhookService::new(environment.receiver.clone()));
            }
        }
        router
    }

    /// The internal endpoints: `/ready` (200 once every environment holds settings), `/live`
    /// and `/status` (environments, targets, events; never a key).
    pub fn admin_router(&self) -> Router {
        let probes = Probes::shared(Arc::new(self.clone())).status_path(STATUS_PATH);
        vwo_webhook_axum::probes(probes)
    }

    /// Whether every environment holds settings.
    pub fn is_ready(&self) -> bool {
        self.inner.environments.iter().all(|e| e.ready())
    }

    /// Waits until [`Relay::is_ready`], up to `timeout`; whether it is.
    pub async fn wait_until_ready(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while !self.is_ready() {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }

    /// The status document.
    pub fn status(&self) -> RelayStatus {
        RelayStatus {
            ready: self.is_ready(),
            environments: self.inner.environments.iter().map(|e| e.status()).collect(),
            events: self.inner.forwarder.status(),
        }
    }

    /// Waits up to `timeout` for the queued events to reach VWO (before a shutdown); whether
    /// they all did.
    pub async fn flush(&self, timeout: Duration) -> bool {
        self.inner.forwarder.flush(timeout).await
    }
}

/// The relay's status, as `/status` serves it.
#[derive(Debug, Serialize)]
pub struct RelayStatus {
    /// Whether every environment holds settings.
    pub ready: bool,
    /// Each environment.
    pub environments: Vec<EnvironmentStatus>,
    /// The event queue.
    pub events: EventStatus,
}

impl Probe for Relay {
    fn ready(&self) -> bool {
        self.is_ready()
    }

    fn status_json(&self) -> String {
        serde_json::to_string(&self.status()).unwrap_or_else(|_| "{}".to_owned())
    }
}
