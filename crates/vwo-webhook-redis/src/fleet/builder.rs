//! Configuring a fleet: the Redis URL, its TLS roots, timeouts and spacing.

use std::fmt;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use vwo_webhook_settings::replication::StoreWrite;
use vwo_webhook_settings::{Replication, VwoSettings};

use crate::deployment::{Address, Deployment};
use crate::keys::Keys;
use crate::replica::{Inner, Local};
use crate::shared::Shared;

use super::RedisFleet;
use crate::error::FleetError;

/// Configures a [`RedisFleet`].
pub struct FleetBuilder {
    pub(super) url: String,
    pub(super) settings: VwoSettings,
    pub(super) prefix: Option<String>,
    pub(super) lock_ttl: Duration,
    pub(super) catch_up: Duration,
    pub(super) timeout: Duration,
    pub(super) spacing: Duration,
    pub(super) root_certificate: Option<Vec<u8>>,
}

impl fmt::Debug for FleetBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FleetBuilder")
            .field("url", &"<redacted>")
            .field("prefix", &self.prefix)
            .field("lock_ttl", &self.lock_ttl)
            .field("catch_up", &self.catch_up)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl FleetBuilder {
    /// The prefix of the fleet's keys (default `vwo-webhook:{<account id>}`; the braces keep
    /// every key in one Redis Cluster slot). Replicas that share settings share a prefix.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// How long the fetch lock lasts unless released (default 15 s). Keep it longer than the
    /// settings backend's fetch timeout.
    pub fn lock_ttl(mut self, ttl: Duration) -> Self {
        self.lock_ttl = ttl.max(Duration::from_millis(1));
        self
    }

    /// How often each replica reads the shared document without a notice (default 30 s,
    /// ±10%).
    pub fn catch_up_interval(mut self, interval: Duration) -> Self {
        self.catch_up = interval.max(Duration::from_millis(10));
        self
    }

    /// How long a Redis command or connection attempt may take (default 500 ms) before the
    /// receiving replica fetches from VWO on its own.
    pub fn redis_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How long after the fleet's previous fetch ended the next one may start (default
    /// 20 ms, as the coordinator's own minimum spacing): in a burst, a replica's next run
    /// starts as the previous fetch ends, on every replica at once; waiting this long lets
    /// one fetch cover them all. A fetch long after the previous one never waits.
    pub fn min_spacing(mut self, spacing: Duration) -> Self {
        self.spacing = spacing;
        self
    }

    /// For `rediss://`: trust this CA (PEM) instead of the system's roots, as for a Redis
    /// whose certificate a private CA signed.
    pub fn tls_root_certificate(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certificate = Some(pem.into());
        self
    }

    /// Builds the fleet. Does not connect yet (a Redis that is down at start is not an
    /// error: the replica runs alone until it is back). Needs a tokio runtime.
    pub fn build(self) -> Result<RedisFleet, FleetError> {
        let address = Address::parse(&self.url)?;
        let (deployment, connection) = Deployment::open(address, self.root_certificate, self.timeout)?;
        let prefix = self
            .prefix
            .unwrap_or_else(|| format!("vwo-webhook:{{{}}}", self.settings.account_id()));
        let keys = Keys::new(&prefix);
        let (notices, _) = watch::channel(0);
        let store = self.settings.store();
        store.set_replication(Some(Replication::new("redis", false)));
        Ok(RedisFleet {
            inner: Arc::new(Inner {
                settings: self.settings,
                shared: Shared::new(connection, keys),
                deployment,
                lock_ttl: self.lock_ttl,
                catch_up: self.catch_up,
                timeout: self.timeout,
                spacing: self.spacing,
                local: Mutex::new(Local::default()),
                pending: AtomicBool::new(false),
                starting: AtomicBool::new(false),
                connected: watch::channel(false).0,
                notices,
            }),
        })
    }
}
