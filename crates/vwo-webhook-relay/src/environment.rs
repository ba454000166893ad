//! One environment running: its settings backend (fetch, validate, hold, keep on disk), the
//! receiver of its webhook, and its targets. A change is announced to the targets only once
//! the new file is what the relay serves, so a target that pulls on the notice gets it.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;
use subtle::ConstantTimeEq;
use vwo_webhook::{Receiver, Refresh, RefreshError, SafetyNet, Trigger};
use vwo_webhook_redis::{FleetHandle, RedisFleet};
use vwo_webhook_settings::{SdkKey, SettingsStore, Snapshot, Status, VwoSettings};

use crate::config::{EnvironmentConfig, RelayConfig};
use crate::error::RelayError;
use crate::fanout::{FanOut, NoticeSchedule, TargetStatus, found_change};

/// A running environment.
pub(crate) struct Environment {
    pub(crate) name: String,
    pub(crate) account_id: String,
    sdk_key: SdkKey,
    store: Arc<SettingsStore>,
    pub(crate) receiver: Receiver,
    /// Where the receiver answers: `/vwo-webhook/{name}`, and `/vwo-webhook` for the
    /// environment of the variables.
    pub(crate) paths: Vec<String>,
    fanout: Arc<FanOut>,
    sdk_poll_interval: Option<Duration>,
    /// The bytes served for the current snapshot, when they differ from its own.
    served: Mutex<Option<(Arc<Snapshot>, Bytes)>>,
    /// The relays this one shares settings with, through Redis.
    fleet: Option<RedisFleet>,
    _running: Running,
}

/// What keeps the settings fresh: the safety-net poll alone, or the fleet's follower and
/// poll.
#[allow(dead_code)] // held for their drop
enum Running {
    Alone(Option<SafetyNet>),
    Fleet(FleetHandle),
}

/// Where a refresh goes: straight to VWO, or through the fleet (one fetch for every relay).
enum Backend {
    Alone(VwoSettings),
    Fleet(RedisFleet),
}

impl std::fmt::Debug for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Environment")
            .field("name", &self.name)
            .field("account_id", &self.account_id)
            .finish_non_exhaustive()
    }
}

/// What the status tells of an environment.
#[derive(Debug, Serialize)]
pub struct EnvironmentStatus {
    /// Its name.
    pub name: String,
    /// Its account.
    pub account_id: String,
    /// Where VWO's webhook reaches it.
    pub webhook_paths: Vec<String>,
    /// The settings it serves.
    pub settings: Status,
    /// Its targets.
    pub targets: Vec<TargetStatus>,
}

/// The settings backend, announcing each change to the targets once it is held.
struct Announcing {
    backend: Backend,
    store: Arc<SettingsStore>,
    fanout: Arc<FanOut>,
}

impl Refresh for Announcing {
    async fn refresh(&self, trigger: Trigger) -> Result<(), RefreshError> {
        let before = self.store.current();
        match &self.backend {
            Backend::Alone(settings) => Refresh::refresh(settings, trigger.clone()).await?,
            // The relay that received the webhook announces; the others follow the fleet
            // without a refresh of their own, so the targets are told once.
            Backend::Fleet(fleet) => Refresh::refresh(fleet, trigger.clone()).await?,
        }
        match trigger {
            // VWO says something changed: the targets are told even when the file the relay
            // fetched is the one it had (their own copy may be older).
            Trigger::Webhook(notice) => self.fanout.notify(&notice),
            _ => {
                let after = self.store.current();
                if let (Some(before), Some(after)) = (before, after)
                    && before.raw() != after.raw()
                {
                    self.fanout.notify(&found_change());
                }
            }
        }
        Ok(())
    }
}

impl Environment {
    /// Builds the environment and starts its first fetch, poll and targets (needs a tokio
    /// runtime).
    pub(crate) fn start(
        config: &EnvironmentConfig,
        default_path: bool,
        redis_url: Option<&str>,
        client: &reqwest::Client,
        schedule: NoticeSchedule,
    ) -> Result<Self, RelayError> {
        let mut builder = VwoSettings::builder(config.account_id.clone(), config.sdk_key.clone())
            .http_client(client.clone());
        if let Some(url) = &config.settings_base_url {
            builder = builder.base_url(url.clone());
        }
        if let Some(path) = &config.cache_file {
            builder = builder.cache_file(path.clone());
        }
        if let Some(interval) = config.poll_interval {
            builder = builder.poll_interval(Some(interval));
        }
        let settings = builder.build().map_err(|source| RelayError::Settings {
            environment: config.name.clone(),
            source,
        })?;
        let store = settings.store();
        let fanout = Arc::new(FanOut::start(&config.name, &config.targets, client, schedule));
        let fleet = redis_url
            .map(|url| {
                RedisFleet::builder(url, settings.clone())
                    // Environments of one account (production, staging) share nothing.
                    .key_prefix(format!(
                        "vwo-webhook-relay:{{{}-{}}}",
                        config.account_id, config.name
                    ))
                    .build()
                    .map_err(|source| RelayError::Redis {
                        environment: config.name.clone(),
                        source,
                    })
            })
            .transpose()?;
        let backend = Arc::new(Announcing {
            backend: match &fleet {
                Some(fleet) => Backend::Fleet(fleet.clone()),
                None => Backend::Alone(settings.clone()),
            },
            store: Arc::clone(&store),
            fanout: Arc::clone(&fanout),
        });
        let mut paths = vec![RelayConfig::webhook_path(&config.name)];
        if default_path {
            paths.push(vwo_webhook::DEFAULT_PATH.to_owned());
        }
        // One coordinator for both paths: a delivery to either joins the same refresh.
        let receiver = Receiver::builder(SharedRefresh(backend))
            .keyring(config.webhook_secrets.clone())
            .path(paths[0].clone())
            .build()
            .map_err(|source| RelayError::Receiver {
                environment: config.name.clone(),
                source,
            })?;
        let running = match &fleet {
            Some(fleet) => Running::Fleet(fleet.start(receiver.coordinator())),
            None => Running::Alone(settings.start(receiver.coordinator())),
        };
        Ok(Self {
            name: config.name.clone(),
            account_id: config.account_id.clone(),
            sdk_key: config.sdk_key.clone(),
            store,
            receiver,
            paths,
            fanout,
            sdk_poll_interval: config.sdk_poll_interval,
            served: Mutex::new(None),
            fleet,
            _running: running,
        })
    }

    /// Whether `account_id` and `sdk_key` are this environment's (the key compared in
    /// constant time).
    pub(crate) fn owns(&self, account_id: &str, sdk_key: &str) -> bool {
        account_id == self.account_id
            && bool::from(sdk_key.as_bytes().ct_eq(self.sdk_key.expose_secret().as_bytes()))
    }

    /// With several relays, serves the fleet's latest file first if this relay is behind: a
    /// service told of a change by another relay may pull from this one before its notice
    /// from Redis arrives. One Redis read; without Redis (or in time), what it holds.
    pub(crate) async fn catch_up(&self) {
        if let Some(fleet) = &self.fleet {
            fleet.catch_up().await;
        }
    }

    /// Whether it holds settings to serve.
    pub(crate) fn ready(&self) -> bool {
        self.store.current().is_some()
    }

    /// The settings file as served to SDKs: the held file, with the configured
    /// `pollInterval` written in. `None` before any settings are held.
    pub(crate) fn served_settings(&self) -> Option<Bytes> {
        let snapshot = self.store.current()?;
        let Some(interval) = self.sdk_poll_interval else {
            return Some(snapshot.raw().clone());
        };
        let mut served = self.served.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((held, bytes)) = &*served
            && Arc::ptr_eq(held, &snapshot)
        {
            return Some(bytes.clone());
        }
        let mut document = snapshot.document().clone();
        if let Some(object) = document.as_object_mut() {
            let millis = u64::try_from(interval.as_millis()).unwrap_or(u64::MAX);
            object.insert("pollInterval".to_owned(), millis.into());
        }
        let bytes = Bytes::from(document.to_string());
        *served = Some((snapshot, bytes.clone()));
        Some(bytes)
    }

    pub(crate) fn status(&self) -> EnvironmentStatus {
        EnvironmentStatus {
            name: self.name.clone(),
            account_id: self.account_id.clone(),
            webhook_paths: self.paths.clone(),
            settings: self.store.status(),
            targets: self.fanout.statuses(),
        }
    }
}

/// The backend behind an `Arc`, so the receiver and the relay share it.
struct SharedRefresh(Arc<Announcing>);

impl Refresh for SharedRefresh {
    fn refresh(&self, trigger: Trigger) -> impl Future<Output = Result<(), RefreshError>> + Send {
        let backend = Arc::clone(&self.0);
        async move { backend.refresh(trigger).await }
    }
}
