//! What every example shares, all of it demo-only: the environment contract (with a generated
//! secret and an offline demo origin when nothing is configured), a [`ClientBuilder`] for it
//! ([`Example::client_builder`]), the printing; each example's `main` shows the wiring itself
//! (the client, the receiver mounted, the internal endpoints).
//!
//! - `VWO_WEBHOOK_ADDR`: where the webhook listens (default `127.0.0.1:4000`): the public
//!   address VWO must reach.
//! - `VWO_WEBHOOK_ADMIN_ADDR`: where the internal endpoints listen (default `127.0.0.1:4001`,
//!   loopback): the probes, `/settings/status`, `/metrics` and `/flags/...` tell the account
//!   id, versions, error text and decisions, which are not for the internet.
//! - `VWO_WEBHOOK_SECRET`: the accepted secret; comma-separated for several (key rotation).
//!   Unset, a random secret is generated and printed with a ready-to-run `curl` line.
//! - `VWO_ACCOUNT_ID` and `VWO_SDK_KEY`: fetch the real settings from VWO (or from
//!   `VWO_SETTINGS_BASE_URL`). With neither set, an offline demo origin inside the example
//!   serves a bundled settings file, so every webhook still drives a real fetch.
//! - `VWO_SETTINGS_CACHE`: a file for the on-disk copy of the settings.
//!
//! Every example serves, on the admin address, the probes (`GET /ready`, `/live`,
//! `/settings/status`), Prometheus text at `GET /metrics`
//! ([`Metrics`]), and flag decisions on the live settings at `GET /flags/{feature}?user=ID`
//! ([`flags`]); the public address serves the webhook alone (and the application's routes).
// The examples' whole job is to tell a person what to run next.
#![allow(clippy::print_stdout)]

pub mod admin;
pub mod flags;
pub mod fleet;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use vwo_webhook::{Keyring, Receiver, SecretError};
use vwo_webhook_flags::{Batching, Client, ClientBuilder, Reporter, ReportingConfig};
use vwo_webhook_settings::{SdkKey, SettingsStore, VwoSettings};

/// Where the internal endpoints listen by default: loopback only.
pub const DEFAULT_ADMIN_ADDR: &str = "127.0.0.1:4001";

/// The address examples listen on by default.
pub const DEFAULT_ADDR: &str = "127.0.0.1:4000";

/// Where every example serves the settings' status (the probes' default).
pub const STATUS_PATH: &str = vwo_webhook::STATUS_PATH;
/// Where every example serves its metrics.
pub const METRICS_PATH: &str = "/metrics";

/// VWO's documented notice, as the `curl` line sends it.
pub const DOCUMENTED_PAYLOAD: &str = r#"{"timestamp":1606482285,"event":"settings_changed","action":"campaign_settings_changed","triggered_by":"vwo"}"#;

/// The settings file the offline demo origin serves (from VWO's SDK test data, Apache-2.0:
/// see `crates/vwo-webhook-settings/testdata/LICENSE` and `NOTICE`).
pub const DEMO_SETTINGS: &str =
    include_str!("../crates/vwo-webhook-settings/testdata/RolloutAndTestingSettings.json");

/// An example's configuration, read from the environment.
#[derive(Debug, Clone)]
pub struct Example {
    /// Where the webhook listens (public).
    pub addr: SocketAddr,
    /// Where the probes, status, metrics and flags listen (internal).
    pub admin_addr: SocketAddr,
    /// The accepted secrets.
    pub keyring: Keyring,
    /// Where the settings come from.
    pub settings: SettingsSource,
    /// The on-disk copy of the settings, if any.
    pub cache: Option<PathBuf>,
    /// Whether decisions' impressions and events are reported (`VWO_REPORT_EVENTS`, on
    /// unless `off`).
    pub report_events: bool,
    /// The secret, when it was generated rather than configured (so it can be shown).
    generated: Option<String>,
}

/// Where the examples' settings come from.
#[derive(Debug, Clone)]
pub enum SettingsSource {
    /// A VWO account (or a gateway at `base_url`).
    Vwo {
        /// `VWO_ACCOUNT_ID`.
        account_id: String,
        /// `VWO_SDK_KEY`.
        sdk_key: SdkKey,
        /// `VWO_SETTINGS_BASE_URL`, when set.
        base_url: Option<String>,
    },
    /// No credentials: the offline demo origin serving [`DEMO_SETTINGS`].
    OfflineDemo,
}

/// The account, SDK key and host an example's settings and events use.
#[derive(Debug, Clone)]
pub struct Origin {
    /// The VWO account.
    pub account_id: String,
    /// Its SDK key.
    pub sdk_key: SdkKey,
    /// The host, when not VWO's.
    pub base_url: Option<String>,
}

/// Why the environment is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `VWO_WEBHOOK_ADDR` is not `host:port`.
    #[error("VWO_WEBHOOK_ADDR must be an address like 127.0.0.1:4000")]
    Addr,
    /// `VWO_WEBHOOK_ADMIN_ADDR` is not `host:port`.
    #[error("VWO_WEBHOOK_ADMIN_ADDR must be an address like 127.0.0.1:4001")]
    AdminAddr,
    /// `VWO_WEBHOOK_SECRET` holds no usable secret.
    #[error("VWO_WEBHOOK_SECRET must hold at least one non-empty secret: {0}")]
    Secret(#[from] SecretError),
    /// Only one of the two VWO credentials is set.
    #[error("set both VWO_ACCOUNT_ID and VWO_SDK_KEY to fetch from VWO, or neither for the offline demo")]
    Credentials,
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
        let admin_addr = lookup("VWO_WEBHOOK_ADMIN_ADDR").unwrap_or_else(|| DEFAULT_ADMIN_ADDR.to_owned());
        let admin_addr = admin_addr.trim().parse().map_err(|_| ConfigError::AdminAddr)?;
        let (keyring, generated) = match lookup("VWO_WEBHOOK_SECRET") {
            Some(list) => (Keyring::from_comma_separated(&list)?, None),
            None => {
                let secret = random_secret()?;
                (Keyring::from_comma_separated(&secret)?, Some(secret))
            }
        };
        let non_empty = |name| lookup(name).filter(|v: &String| !v.trim().is_empty());
        let settings = match (non_empty("VWO_ACCOUNT_ID"), non_empty("VWO_SDK_KEY")) {
            (Some(account_id), Some(sdk_key)) => SettingsSource::Vwo {
                account_id: account_id.trim().to_owned(),
                sdk_key: SdkKey::new(sdk_key.trim()),
                base_url: non_empty("VWO_SETTINGS_BASE_URL"),
            },
            (None, None) => SettingsSource::OfflineDemo,
            _ => return Err(ConfigError::Credentials),
        };
        let report_events = !non_empty("VWO_REPORT_EVENTS").is_some_and(|v| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "off" | "false" | "0" | "no"
            )
        });
        Ok(Self {
            addr,
            admin_addr,
            keyring,
            settings,
            cache: non_empty("VWO_SETTINGS_CACHE").map(PathBuf::from),
            report_events,
            generated,
        })
    }

    /// The settings backend for this configuration; for the offline demo, starts the demo
    /// origin on a loopback port first (which needs a tokio runtime).
    pub fn settings_backend(&self) -> Result<VwoSettings, Box<dyn std::error::Error>> {
        let origin = self.origin()?;
        self.settings_at(&origin)
    }

    /// The settings backend and the reporter, both pointed at the settings host: events go
    /// where the settings come from, as the SDK's do with a gateway. Needs a tokio runtime.
    pub fn backends(&self) -> Result<(VwoSettings, Reporter), Box<dyn std::error::Error>> {
        let origin = self.origin()?;
        let settings = self.settings_at(&origin)?;
        let reporter = match self.reporting(&origin) {
            Some(config) => Reporter::start(config)?,
            None => Reporter::disabled(),
        };
        Ok((settings, reporter))
    }

    /// A client for this configuration: the account, key and host (for the offline demo, the
    /// demo origin, started on a loopback port first), the webhook's secrets, the cache file,
    /// and reporting with the examples' batching. Needs a tokio runtime.
    pub fn client_builder(&self) -> Result<ClientBuilder, Box<dyn std::error::Error>> {
        let origin = self.origin()?;
        let mut builder = Client::builder(origin.account_id.clone(), origin.sdk_key.clone())
            .webhook_secrets(self.keyring.clone());
        if let Some(url) = &origin.base_url {
            builder = builder.base_url(url.clone());
        }
        if let Some(cache) = &self.cache {
            builder = builder.cache_file(cache.clone());
        }
        builder = match self.reporting(&origin) {
            Some(config) => builder.reporting(config),
            None => builder.events_off(),
        };
        Ok(builder)
    }

    /// Where the impressions and events of this configuration go, with the examples'
    /// batching (100 events, or every second); `None` with `VWO_REPORT_EVENTS=off`.
    pub fn reporting(&self, origin: &Origin) -> Option<ReportingConfig> {
        if !self.report_events {
            return None;
        }
        let mut config =
            ReportingConfig::new(origin.account_id.clone(), origin.sdk_key.clone()).batching(Batching {
                events_per_request: 100,
                interval: std::time::Duration::from_secs(1),
            });
        if let Some(url) = &origin.base_url {
            config = config.base_url(url.clone());
        }
        Some(config)
    }

    /// The account, key and host the settings (and events) use; for the offline demo, the
    /// demo origin, started on a loopback port.
    pub fn origin(&self) -> Result<Origin, Box<dyn std::error::Error>> {
        Ok(match &self.settings {
            SettingsSource::Vwo {
                account_id,
                sdk_key,
                base_url,
            } => Origin {
                account_id: account_id.clone(),
                sdk_key: sdk_key.clone(),
                base_url: base_url.clone(),
            },
            SettingsSource::OfflineDemo => {
                let origin = vwo_webhook_testkit::spawn_fixed_origin(DEMO_SETTINGS)?;
                tracing::info!(%origin, "no VWO credentials: serving the bundled demo settings from a local origin");
                Origin {
                    account_id: demo_account_id(),
                    sdk_key: SdkKey::new("offline-demo"),
                    base_url: Some(format!("http://{origin}")),
                }
            }
        })
    }

    fn settings_at(&self, origin: &Origin) -> Result<VwoSettings, Box<dyn std::error::Error>> {
        let mut builder = VwoSettings::builder(origin.account_id.clone(), origin.sdk_key.clone());
        if let Some(url) = &origin.base_url {
            builder = builder.base_url(url.clone());
        }
        if let Some(cache) = &self.cache {
            builder = builder.cache_file(cache.clone());
        }
        Ok(builder.build()?)
    }

    /// A receiver at the default path, keeping `settings` fresh.
    pub fn receiver(&self, settings: VwoSettings) -> Result<Receiver, vwo_webhook::BuildError> {
        Receiver::builder(settings).keyring(self.keyring.clone()).build()
    }

    /// Tells the user where the receiver and the internal endpoints listen, and how to deliver
    /// a notice.
    pub fn announce(&self, framework: &str, listening: SocketAddr, admin: SocketAddr, path: &str) {
        let url = format!("http://{listening}{path}");
        println!("vwo-webhook {framework} example: POST {url}");
        let key = match &self.generated {
            Some(secret) => {
                println!("No VWO_WEBHOOK_SECRET set; generated this secret for the session: {secret}");
                secret.clone()
            }
            None => "$VWO_WEBHOOK_SECRET".to_owned(),
        };
        println!(
            "Internal endpoints on {admin} (VWO_WEBHOOK_ADMIN_ADDR; keep it off the internet): GET http://{admin}/ready, /live, {STATUS_PATH} and {METRICS_PATH}"
        );
        println!("A flag for a user: GET http://{admin}/flags/feature1?user=user-1&price=200");
        if self.report_events {
            println!(
                "Its impressions are reported to the settings host every second (VWO_REPORT_EVENTS=off to stop)"
            );
        }
        println!("Deliver the documented notice:");
        println!(
            "  curl -i -X POST {url} -H \"x-vwo-auth: {key}\" -H 'content-type: application/json' -d '{DOCUMENTED_PAYLOAD}'"
        );
    }
}

/// `GET /metrics`: everything recorded through the `metrics` facade (the receiver's
/// deliveries and refreshes, the settings' fetches and ages), as Prometheus text.
#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
    store: Arc<SettingsStore>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// Installs the Prometheus recorder for the process (once; later calls share it).
    pub fn install(store: Arc<SettingsStore>) -> Result<Self, Box<dyn std::error::Error>> {
        static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();
        let handle = HANDLE
            .get_or_init(|| {
                PrometheusBuilder::new()
                    .install_recorder()
                    .map_err(|e| e.to_string())
            })
            .clone()?;
        Ok(Self { handle, store })
    }

    /// The metrics as Prometheus text, with the settings' age gauges as of now.
    pub fn render(&self) -> String {
        self.store.record_age_metrics();
        self.handle.render()
    }
}

/// The demo document's `accountId`.
pub fn demo_account_id() -> String {
    serde_json::from_str::<serde_json::Value>(DEMO_SETTINGS)
        .ok()
        .and_then(|document| match &document["accountId"] {
            serde_json::Value::String(id) => Some(id.clone()),
            serde_json::Value::Number(id) => Some(id.to_string()),
            _ => None,
        })
        .unwrap_or_default()
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

/// The SDK key of the offline demo's environment.
pub const DEMO_SDK_KEY: &str = "offline-demo";

/// What the environment (read through `env`) leaves unset, the offline demo fills in: the
/// demo origin's account, key and address (the origin returned, to keep it serving; it serves
/// [`DEMO_SETTINGS`] and [`feature1_off`] at alternate fetches, so each webhook turns
/// `feature1` on or off), and `secret` for the webhook.
pub fn offline_demo(
    env: &dyn Fn(&str) -> Option<String>,
    secret: &str,
) -> std::io::Result<(
    std::collections::HashMap<&'static str, String>,
    Option<vwo_webhook_testkit::ChangingOrigin>,
)> {
    let mut demo = std::collections::HashMap::new();
    let mut demo_origin = None;
    if env("VWO_ACCOUNT_ID").is_none() && env("VWO_SDK_KEY").is_none() {
        let origin = vwo_webhook_testkit::ChangingOrigin::spawn(DEMO_SETTINGS, std::time::Duration::ZERO)?;
        origin.alternate_with(&feature1_off())?;
        println!(
            "No VWO credentials: the bundled demo settings, served from http://{}; each webhook turns feature1 on or off",
            origin.addr()
        );
        demo.insert("VWO_ACCOUNT_ID", demo_account_id());
        demo.insert("VWO_SDK_KEY", DEMO_SDK_KEY.to_owned());
        demo.insert("VWO_SETTINGS_BASE_URL", format!("http://{}", origin.addr()));
        demo_origin = Some(origin);
    }
    if env("VWO_WEBHOOK_SECRET").is_none() {
        demo.insert("VWO_WEBHOOK_SECRET", secret.to_owned());
    }
    Ok((demo, demo_origin))
}

/// The demo settings with `feature1` rolled out to no one.
pub fn feature1_off() -> String {
    let mut settings: serde_json::Value = serde_json::from_str(DEMO_SETTINGS).unwrap_or_default();
    if let Some(rules) = settings["features"][0].get_mut("rules") {
        *rules = serde_json::json!([]);
    }
    settings.to_string()
}

/// For the examples' tests: `GET uri` on `app`, or with `secret` VWO's documented notice
/// posted to `uri` with it; the status and the body as text.
pub async fn demo_request(app: axum::Router, uri: &str, secret: Option<&str>) -> (u16, String) {
    use tower::ServiceExt as _;
    let mut request = axum::http::Request::builder().uri(uri);
    let body = match secret {
        Some(secret) => {
            request = request.method("POST").header("x-vwo-auth", secret);
            axum::body::Body::from(DOCUMENTED_PAYLOAD)
        }
        None => axum::body::Body::empty(),
    };
    let response = app
        .oneshot(request.body(body).expect("a request"))
        .await
        .expect("an answer");
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("the body");
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// Resolves when the process is asked to stop (Ctrl-C).
pub async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
}
