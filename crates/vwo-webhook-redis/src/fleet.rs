//! The fleet-wide refresh: one replica fetches from VWO for everyone, the others wait for
//! its result, and a delivery is only ever answered by a fetch that started after it arrived.
//! The builder is in `builder`, the fetch through the fleet in `lead`, and what one replica
//! serves in [`crate::replica`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use vwo_webhook::{Coordinator, SafetyNet};
use vwo_webhook_settings::VwoSettings;

use crate::follower::{self, Follower};
use crate::replica::Inner;
use crate::telemetry;

mod builder;
mod lead;

pub use crate::error::FleetError;

pub use builder::FleetBuilder;

/// How long the fetch lock lasts unless released, by default: longer than a fetch may take
/// (the settings backend's default timeout is 10 s), short enough that a replica that died
/// holding it delays the fleet by seconds, not minutes.
pub const DEFAULT_LOCK_TTL: Duration = Duration::from_secs(15);
/// How often each replica reads the shared document even without a notice, by default
/// (±10%): pub/sub drops messages while a subscriber is away.
pub const DEFAULT_CATCH_UP_INTERVAL: Duration = Duration::from_secs(30);
/// How long one Redis command or connection attempt may take before the receiving replica
/// stops counting on Redis and fetches from VWO itself, by default.
pub const DEFAULT_REDIS_TIMEOUT: Duration = Duration::from_millis(500);

/// How long after the fleet's previous fetch the next may start, by default.
pub const DEFAULT_MIN_SPACING: Duration = vwo_webhook::DEFAULT_MIN_SPACING;

/// Keeps every replica of a service on the same VWO settings, through Redis.
///
/// Give it to `Receiver::builder` in place of the [`VwoSettings`] it wraps, on every replica,
/// and call [`RedisFleet::start`]. A webhook reaching any replica then makes one replica
/// fetch from VWO (one fetch per burst, fleet-wide), store the document in Redis and announce
/// it; every replica loads it. See [replicas](https://github.com/vwo-webhook/vwo-webhook/blob/main/docs/replicas.md) for the model and each fault.
#[derive(Clone)]
pub struct RedisFleet {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for RedisFleet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the client: its connection info holds the password.
        f.debug_struct("RedisFleet")
            .field("keys", self.inner.shared.keys())
            .field("lock_ttl", &self.inner.lock_ttl)
            .field("catch_up", &self.inner.catch_up)
            .field("connected", &*self.inner.connected.borrow())
            .finish_non_exhaustive()
    }
}

/// Keeps a replica following its fleet; dropping it stops the follower and the poll.
#[derive(Debug)]
#[must_use = "dropping the handle stops following the fleet"]
pub struct FleetHandle {
    follower: Follower,
    _safety_net: Option<SafetyNet>,
}

impl FleetHandle {
    /// Stops following the fleet now (the same as dropping the handle).
    pub fn stop(self) {
        drop(self);
    }

    /// Whether the follower's subscription to the fleet's notices is up.
    pub fn connected(&self) -> bool {
        *self.follower.connection().borrow()
    }

    /// The subscription's state as it changes: `wait_for(|up| *up)` waits until it is up, and
    /// `changed()` for the next change.
    pub fn connection(&self) -> tokio::sync::watch::Receiver<bool> {
        self.follower.connection()
    }
}

impl RedisFleet {
    /// Starts configuring a fleet on the Redis at `url` around `settings`, the backend that
    /// fetches from VWO. `url` is one server (`redis://`, `rediss://` for TLS, `unix://`),
    /// a master that Redis Sentinel names (`redis+sentinel://[:password@]host:port,.../service`,
    /// port 26379 by default), or some nodes of a Redis Cluster
    /// (`redis+cluster://[:password@]host:port,...`).
    pub fn builder(url: impl Into<String>, settings: VwoSettings) -> FleetBuilder {
        FleetBuilder {
            url: url.into(),
            settings,
            prefix: None,
            lock_ttl: DEFAULT_LOCK_TTL,
            catch_up: DEFAULT_CATCH_UP_INTERVAL,
            timeout: DEFAULT_REDIS_TIMEOUT,
            spacing: DEFAULT_MIN_SPACING,
            root_certificate: None,
        }
    }

    /// The settings backend this fleet wraps (its store is the one to read settings from).
    pub fn settings(&self) -> &VwoSettings {
        &self.inner.settings
    }

    /// Serves the fleet's latest document now if this replica is behind, as its follower does
    /// on a notice. For a replica asked for settings just after a change was announced
    /// elsewhere (a relay answering the pull a notice caused): with it, no replica answers
    /// from before the announcement while its own notice is still on the way. `false` when
    /// Redis did not answer within the fleet's Redis timeout (the replica keeps serving what
    /// it has).
    pub async fn catch_up(&self) -> bool {
        match tokio::time::timeout(self.inner.timeout, self.inner.shared.head()).await {
            Ok(Ok(head)) => {
                // A refused document is reported already; the last good one stays.
                let _ = tokio::time::timeout(self.inner.timeout, self.inner.adopt_head(&head)).await;
                true
            }
            Ok(Err(_)) | Err(_) => {
                telemetry::redis_error("read");
                false
            }
        }
    }

    /// Starts this replica: its settings come from Redis when the fleet has a document (no
    /// VWO call), else from the on-disk copy (already loaded) and then from VWO through the
    /// fleet. Spawns the follower (notices, catch-up on reconnect and every
    /// [`FleetBuilder::catch_up_interval`]) and the safety-net poll. Needs a tokio runtime.
    pub fn start(&self, coordinator: &Coordinator) -> FleetHandle {
        let follower = follower::spawn(Arc::clone(&self.inner), coordinator.clone());
        let safety_net = self
            .inner
            .settings
            .poll_interval()
            .map(|interval| coordinator.spawn_safety_net(interval, 0.1));
        FleetHandle {
            follower,
            _safety_net: safety_net,
        }
    }
}
