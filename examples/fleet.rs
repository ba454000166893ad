//! Replicas of one service kept fresh by one webhook through Redis: what
//! `cargo run --example replicas` runs, and what the end-to-end test and the replica
//! benchmark drive over HTTP.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use vwo_webhook::{Keyring, Probes, Receiver};
use vwo_webhook_flags::Flags;
use vwo_webhook_redis::{FleetHandle, RedisFleet};
use vwo_webhook_settings::{SdkKey, SettingsStore, VwoSettings};
use vwo_webhook_testkit::RedisServer;

/// Where the replicas' Redis is.
#[derive(Debug)]
pub enum RedisSource {
    /// `REDIS_URL`.
    Url(String),
    /// A throwaway `redis-server` from `PATH`, stopped with this value.
    Local(RedisServer),
}

/// No Redis to use.
#[derive(thiserror::Error)]
pub enum RedisSourceError {
    /// Neither `REDIS_URL` nor a `redis-server` on `PATH`.
    #[error(
        "set REDIS_URL to a Redis server, or install redis-server (e.g. `apt-get install redis-server`) \
         and the example starts one"
    )]
    Missing,
    /// `redis-server` is there but did not start.
    #[error("could not start redis-server: {0}")]
    Start(#[from] std::io::Error),
}

/// The message, not the variant: what `main` prints when it returns this error.
impl std::fmt::Debug for RedisSourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl RedisSource {
    /// `REDIS_URL` when set, else a local `redis-server` started now.
    pub fn from_env() -> Result<Self, RedisSourceError> {
        if let Some(url) = std::env::var("REDIS_URL")
            .ok()
            .filter(|url| !url.trim().is_empty())
        {
            return Ok(Self::Url(url));
        }
        RedisServer::start()?
            .map(Self::Local)
            .ok_or(RedisSourceError::Missing)
    }

    /// The URL to connect to (it may hold a password: do not print it).
    pub fn url(&self) -> String {
        match self {
            Self::Url(url) => url.clone(),
            Self::Local(server) => server.url(),
        }
    }
}

/// One running replica: an axum server with the webhook on its public address, and one with
/// the probes, `/settings/status`, `/metrics` and `/flags/{feature}` on its admin address,
/// following its fleet.
#[derive(Debug)]
pub struct Replica {
    /// Where the webhook listens.
    pub addr: SocketAddr,
    /// Where the internal endpoints listen.
    pub admin_addr: SocketAddr,
    /// Its settings.
    pub store: Arc<SettingsStore>,
    /// Its receiver (for its path).
    pub receiver: Receiver,
    /// Its flag decisions, on its settings.
    pub flags: Arc<Flags>,
    _fleet: FleetHandle,
    _servers: [tokio::task::JoinHandle<()>; 2],
}

/// Starts a replica, its webhook on `listener` and its internal endpoints on `admin`, whose
/// settings come from `settings` through the fleet on `redis_url`. Needs a tokio runtime.
pub fn start_replica(
    listener: tokio::net::TcpListener,
    admin: tokio::net::TcpListener,
    redis_url: &str,
    settings: VwoSettings,
    keyring: Keyring,
) -> Result<Replica, Box<dyn std::error::Error>> {
    let (addr, admin_addr) = (listener.local_addr()?, admin.local_addr()?);
    let store = settings.store();
    let fleet = RedisFleet::builder(redis_url, settings).build()?;
    let receiver = Receiver::builder(fleet.clone()).keyring(keyring).build()?;
    let handle = fleet.start(receiver.coordinator());
    let metrics = crate::Metrics::install(Arc::clone(&store))?;
    let flags = Flags::builder().follow(Arc::clone(&store));
    let public = vwo_webhook_axum::router(receiver.clone());
    let internal = Router::new()
        .route(crate::METRICS_PATH, get(move || async move { metrics.render() }))
        .merge(vwo_webhook_axum::probes(Probes::shared(store.clone())))
        .merge(crate::flags::router(Arc::clone(&flags)));
    let serve = |listener: tokio::net::TcpListener, app: Router| {
        tokio::spawn(async move {
            if let Err(error) = vwo_webhook_axum::serve(listener, app).await {
                tracing::error!(%error, "replica server stopped");
            }
        })
    };
    Ok(Replica {
        addr,
        admin_addr,
        store,
        receiver,
        flags,
        _fleet: handle,
        _servers: [serve(listener, public), serve(admin, internal)],
    })
}

/// A settings backend for the offline demo, fetching from `origin`.
pub fn demo_settings(origin: SocketAddr) -> Result<VwoSettings, vwo_webhook_settings::SettingsError> {
    VwoSettings::builder(crate::demo_account_id(), SdkKey::new("offline-demo"))
        .base_url(format!("http://{origin}"))
        .build()
}
