//! Configures a [`Client`]: the credentials, then what differs from VWO's SDK defaults.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use vwo_webhook::{Keyring, Receiver};
use vwo_webhook_settings::{SdkKey, VwoSettings};

use super::hooks::{DecisionInfo, Hook};
use super::{Backend, Client, ClientError};
use crate::flags::{Flags, Gateway};
use crate::storage::{AsyncStorage, Storage};
use crate::{Batching, Reporter, ReportingConfig};

/// How long [`ClientBuilder::build`] waits for the first settings by default.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(10);

/// The variables [`ClientBuilder::from_env`] reads (the examples' own).
pub mod env {
    /// The VWO account id (required).
    pub const ACCOUNT_ID: &str = "VWO_ACCOUNT_ID";
    /// The environment's SDK key (required).
    pub const SDK_KEY: &str = "VWO_SDK_KEY";
    /// The webhook's secret, or several comma-separated during a rotation (optional: without
    /// it the client only polls).
    pub const WEBHOOK_SECRET: &str = "VWO_WEBHOOK_SECRET";
    /// A gateway or proxy serving VWO's settings API, and taking its events (optional).
    pub const SETTINGS_BASE_URL: &str = "VWO_SETTINGS_BASE_URL";
    /// A file for the on-disk copy of the settings (optional).
    pub const SETTINGS_CACHE: &str = "VWO_SETTINGS_CACHE";
    /// `off` (or `false`, `0`, `no`) sends no events to VWO (optional).
    pub const REPORT_EVENTS: &str = "VWO_REPORT_EVENTS";
}

/// Whether and how events reach VWO.
#[derive(Debug, Clone)]
enum Events {
    /// VWO's SDK defaults (batches of 100 or every 3 s), to the settings host.
    Default(Option<Batching>),
    /// As configured by the caller.
    Configured(Box<ReportingConfig>),
    Off,
}

/// Configures a [`Client`]; see [`Client::builder`].
#[must_use = "a builder does nothing until `build` is called"]
pub struct ClientBuilder {
    pub(super) account_id: String,
    pub(super) sdk_key: SdkKey,
    secrets: Option<Keyring>,
    poll_interval: Option<Option<Duration>>,
    cache: Option<PathBuf>,
    base_url: Option<String>,
    events: Events,
    storage: Option<Arc<dyn Storage>>,
    async_storage: Option<Arc<dyn AsyncStorage>>,
    gateway: Option<Arc<dyn Gateway>>,
    http_client: Option<reqwest::Client>,
    hook: Option<Hook>,
    ready_timeout: Duration,
    #[cfg(feature = "redis")]
    fleet: Option<String>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("account_id", &self.account_id)
            .field("sdk_key", &self.sdk_key)
            .field("webhook", &self.secrets.is_some())
            .field("poll_interval", &self.poll_interval)
            .field("cache", &self.cache)
            .field("base_url", &self.base_url)
            .field("ready_timeout", &self.ready_timeout)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    pub(super) fn new(account_id: String, sdk_key: SdkKey) -> Self {
        Self {
            account_id,
            sdk_key,
            secrets: None,
            poll_interval: None,
            cache: None,
            base_url: None,
            events: Events::Default(None),
            storage: None,
            async_storage: None,
            gateway: None,
            http_client: None,
            hook: None,
            ready_timeout: DEFAULT_READY_TIMEOUT,
            #[cfg(feature = "redis")]
            fleet: None,
        }
    }

    /// A builder from the process environment: [`env::ACCOUNT_ID`] and [`env::SDK_KEY`]
    /// (required), [`env::WEBHOOK_SECRET`], [`env::SETTINGS_BASE_URL`],
    /// [`env::SETTINGS_CACHE`] and [`env::REPORT_EVENTS`] (optional), the variables the
    /// examples read. Options set on the builder afterwards override them.
    pub fn from_env() -> Result<Self, ClientError> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// [`ClientBuilder::from_env`] reading the variables through `lookup`: a configuration
    /// map of the service's own, or a test's.
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ClientError> {
        let given = |name: &'static str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let account_id = given(env::ACCOUNT_ID).ok_or(ClientError::MissingEnv(env::ACCOUNT_ID))?;
        let sdk_key = given(env::SDK_KEY).ok_or(ClientError::MissingEnv(env::SDK_KEY))?;
        let mut builder = Self::new(account_id, SdkKey::new(sdk_key));
        if let Some(secrets) = given(env::WEBHOOK_SECRET) {
            let keyring = Keyring::from_comma_separated(&secrets).map_err(|error| ClientError::BadEnv {
                name: env::WEBHOOK_SECRET,
                why: error.to_string(),
            })?;
            builder = builder.webhook_secrets(keyring);
        }
        if let Some(url) = given(env::SETTINGS_BASE_URL) {
            builder = builder.base_url(url);
        }
        if let Some(path) = given(env::SETTINGS_CACHE) {
            builder = builder.cache_file(path);
        }
        if given(env::REPORT_EVENTS)
            .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "off" | "false" | "0" | "no"))
        {
            builder = builder.events_off();
        }
        Ok(builder)
    }

    /// Accepts VWO's webhook with these secrets: [`Client::receiver`] then gives the
    /// [`Receiver`] to mount with any adapter, and each delivery refreshes the settings.
    pub fn webhook_secrets(mut self, keyring: Keyring) -> Self {
        self.secrets = Some(keyring);
        self
    }

    /// Polls every `interval` as a safety net (`None`: never). By default the settings'
    /// own `pollInterval`, else 10 minutes, as the SDK does.
    pub fn poll_interval(mut self, interval: Option<Duration>) -> Self {
        self.poll_interval = Some(interval);
        self
    }

    /// Keeps a copy of the settings in `path`: a restart while VWO is unreachable starts on
    /// it.
    pub fn cache_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.cache = Some(path.into());
        self
    }

    /// Fetches settings from, and sends events to, `base_url` instead of VWO (a gateway, a
    /// proxy), as the SDK's `gatewayService` does.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into());
        self
    }

    /// Keeps decisions sticky in `storage` (the SDK's storage connector).
    pub fn storage(mut self, storage: Arc<dyn Storage>) -> Self {
        self.storage = Some(storage);
        self.async_storage = None;
        self
    }

    /// Keeps decisions sticky in a storage that does I/O: decide with
    /// [`Client::get_flag_async`].
    pub fn async_storage(mut self, storage: Arc<dyn AsyncStorage>) -> Self {
        self.async_storage = Some(storage);
        self.storage = None;
        self
    }

    /// Answers `inlist(..)` segments through VWO's gateway.
    pub fn gateway(mut self, gateway: Arc<dyn Gateway>) -> Self {
        self.gateway = Some(gateway);
        self
    }

    /// Batches events as `batching` says instead of the SDK's default.
    pub fn batching(mut self, batching: Batching) -> Self {
        self.events = Events::Default(Some(batching));
        self
    }

    /// Reports as `config` says (host, batching, bounds, retries), replacing the defaults.
    pub fn reporting(mut self, config: ReportingConfig) -> Self {
        self.events = Events::Configured(Box::new(config));
        self
    }

    /// Sends no events to VWO: decisions only.
    pub fn events_off(mut self) -> Self {
        self.events = Events::Off;
        self
    }

    /// Sends every request (settings and events) with `client`, an HTTP client of the
    /// caller's own: a proxy with credentials, a private CA, a TLS client certificate.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// Calls `hook` after every `get_flag` with what the SDK's `integrations` callback
    /// receives. A hook that panics is logged and counted; the decision stands.
    pub fn on_decision(mut self, hook: impl Fn(&DecisionInfo) + Send + Sync + 'static) -> Self {
        self.hook = Some(Arc::new(hook));
        self
    }

    /// Shares settings with every replica through Redis at `url` (`redis://`, `rediss://`,
    /// `redis+sentinel://..`, `redis+cluster://..`): a webhook that reaches one replica makes
    /// one fetch for the whole fleet, and every replica's client serves the change within
    /// milliseconds (see `vwo-webhook-redis`). Redis away, each replica fetches on its own.
    #[cfg(feature = "redis")]
    pub fn redis_fleet(mut self, url: impl Into<String>) -> Self {
        self.fleet = Some(url.into());
        self
    }

    /// How long [`ClientBuilder::build`] waits for the first settings (10 s by default).
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = timeout;
        self
    }

    /// Builds the client and returns once it holds settings: fetched, or read from the cache
    /// file when the host cannot be reached. Fails at once when the host refuses the
    /// credentials ([`ClientError::Refused`]), and after the ready timeout when nothing came
    /// ([`ClientError::Timeout`], with the last cause). Needs a tokio runtime.
    pub async fn build(self) -> Result<Client, ClientError> {
        let timeout = self.ready_timeout;
        let client = self.assemble()?;
        client.first_settings(timeout).await?;
        Ok(client)
    }

    /// Builds the client without waiting: the first fetch runs in the background (retried
    /// as a webhook's refresh is), and until it lands every flag answers off
    /// ([`Reason::NoSettings`](crate::Reason::NoSettings)). For a service that must start
    /// anyway; [`Client::wait_until_ready`] waits later. Needs a tokio runtime.
    pub fn build_in_background(self) -> Result<Client, ClientError> {
        let client = self.assemble()?;
        client.start_in_background();
        Ok(client)
    }

    /// Every part, nothing started.
    fn assemble(self) -> Result<Client, ClientError> {
        if self.account_id.trim().is_empty() {
            return Err(ClientError::NoAccountId);
        }
        let mut settings =
            VwoSettings::builder(self.account_id.clone(), self.sdk_key.clone()).poll_interval(None);
        if let Some(url) = &self.base_url {
            settings = settings.base_url(url.clone());
        }
        if let Some(path) = &self.cache {
            settings = settings.cache_file(path.clone());
        }
        if let Some(client) = &self.http_client {
            settings = settings.http_client(client.clone());
        }
        let settings = settings.build()?;
        let reporter = match self.events {
            Events::Off => Reporter::disabled(),
            Events::Configured(config) => Reporter::start(*config)?,
            Events::Default(batching) => {
                let mut config = ReportingConfig::new(self.account_id.clone(), self.sdk_key.clone());
                if let Some(url) = &self.base_url {
                    config = config.base_url(url.clone());
                }
                if let Some(batching) = batching {
                    config = config.batching(batching);
                }
                if let Some(client) = &self.http_client {
                    config = config.http_client(client.clone());
                }
                Reporter::start(config)?
            }
        };
        #[cfg(feature = "redis")]
        let backend = match &self.fleet {
            Some(url) => {
                Backend::fleet(vwo_webhook_redis::RedisFleet::builder(url.clone(), settings.clone()).build()?)
            }
            None => Backend::new(settings.clone()),
        };
        #[cfg(not(feature = "redis"))]
        let backend = Backend::new(settings.clone());
        let receiver = match self.secrets {
            Some(keyring) => Some(Receiver::builder(backend.clone()).keyring(keyring).build()?),
            None => None,
        };
        let mut flags = Flags::builder().reporter(reporter.clone());
        if let Some(storage) = self.storage {
            flags = flags.storage(storage);
        }
        if let Some(storage) = self.async_storage {
            flags = flags.async_storage(storage);
        }
        if let Some(gateway) = self.gateway {
            flags = flags.gateway(gateway);
        }
        let flags = flags.follow(settings.store());
        Ok(Client::assemble(
            flags,
            settings,
            backend,
            receiver,
            reporter,
            self.hook,
            self.poll_interval,
        ))
    }
}
