//! What a relay serves: its addresses, its environments (an account and SDK key each, with
//! the webhook secrets VWO signs with and the services to notify), from `relay.toml` or from
//! the variables the examples read.
//!
//! ```toml
//! addr = "0.0.0.0:4000"          # the SDKs, VWO's webhook
//! admin_addr = "127.0.0.1:4001"  # /ready, /live, /status, /metrics
//!
//! [[environment]]
//! name = "production"
//! account_id = "123456"
//! sdk_key = "..."
//! webhook_secrets = ["..."]
//! cache_file = "/var/lib/vwo-relay/production.json"
//!
//! [[environment.target]]
//! url = "http://orders.internal:3000/vwo-webhook"
//! key = "..."
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use vwo_webhook::{Keyring, Secret};
use vwo_webhook_settings::SdkKey;

/// Where events go when no upstream gateway is configured: VWO's own host.
pub const DEFAULT_EVENTS_BASE_URL: &str = vwo_webhook_settings::DEFAULT_BASE_URL;
/// The public address by default (the examples' `VWO_WEBHOOK_ADDR`).
pub const DEFAULT_ADDR: &str = "127.0.0.1:4000";
/// The admin address by default (the examples' `VWO_WEBHOOK_ADMIN_ADDR`).
pub const DEFAULT_ADMIN_ADDR: &str = "127.0.0.1:4001";
/// The most bytes of events held for VWO at once: past it, new events are refused with 503
/// (the SDKs retry them) and counted, so a flood never grows memory.
pub const DEFAULT_EVENT_QUEUE_BYTES: usize = 64 * 1024 * 1024;
/// The largest event request accepted (413 beyond). An SDK's batch of 100 events is about
/// 100 KB.
pub const DEFAULT_EVENT_BODY_LIMIT: usize = 1024 * 1024;
/// How long an event is retried while VWO does not take it, before it is dropped (counted).
pub const DEFAULT_EVENT_MAX_AGE: Duration = Duration::from_secs(60 * 60);
/// The environment `vwo-webhook relay` runs without a file.
pub const DEFAULT_ENVIRONMENT: &str = "default";

/// The variables [`RelayConfig::from_env`] reads.
pub mod env {
    /// The account id.
    pub const ACCOUNT_ID: &str = "VWO_ACCOUNT_ID";
    /// The SDK key.
    pub const SDK_KEY: &str = "VWO_SDK_KEY";
    /// The webhook secret(s), comma-separated.
    pub const WEBHOOK_SECRET: &str = "VWO_WEBHOOK_SECRET";
    /// Where settings are fetched from instead of VWO.
    pub const SETTINGS_BASE_URL: &str = "VWO_SETTINGS_BASE_URL";
    /// The public address.
    pub const ADDR: &str = "VWO_WEBHOOK_ADDR";
    /// The admin address.
    pub const ADMIN_ADDR: &str = "VWO_WEBHOOK_ADMIN_ADDR";
    /// The on-disk copy of the settings.
    pub const SETTINGS_CACHE: &str = "VWO_SETTINGS_CACHE";
    /// Redis, for several relays.
    pub const REDIS_URL: &str = "REDIS_URL";
    /// The services to notify: `URL KEY` pairs, comma-separated.
    pub const RELAY_TARGETS: &str = "VWO_RELAY_TARGETS";
}

/// A relay's whole configuration. `Debug` shows no secret.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Where the SDKs and VWO's webhook reach the relay.
    pub addr: SocketAddr,
    /// Where the probes, status and metrics are served (keep it internal).
    pub admin_addr: SocketAddr,
    /// Where events are forwarded (VWO's host by default).
    pub events_base_url: String,
    /// A VWO gateway that answers `/get-user-details`, `/check-attribute` and the alias
    /// endpoints, when the account uses them.
    pub upstream_gateway: Option<String>,
    /// The most bytes of events held at once.
    pub event_queue_bytes: usize,
    /// The largest event request accepted.
    pub event_body_limit: usize,
    /// How long an event is retried before it is dropped.
    pub event_max_age: Duration,
    /// Redis shared by several relays (one server, Sentinel or Cluster, as
    /// `vwo-webhook-redis` takes it): one fetch per webhook burst for all of them, each
    /// serving the change before any service is told. `Debug` shows whether it is set.
    pub redis_url: Option<RedisUrl>,
    /// The environments, by name.
    pub environments: Vec<EnvironmentConfig>,
    /// Also answer VWO's webhook on `POST /vwo-webhook` (the environment of
    /// [`RelayConfig::from_env`]).
    pub(crate) default_webhook_path: bool,
}

/// A Redis URL: it may hold a password, so `Debug` does not show it.
#[derive(Clone)]
pub struct RedisUrl(pub String);

impl std::fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RedisUrl(***)")
    }
}

/// One VWO environment: an account's SDK key, its webhook, and the services told of changes.
#[derive(Debug, Clone)]
pub struct EnvironmentConfig {
    /// Its name: the webhook is `POST /vwo-webhook/{name}`.
    pub name: String,
    /// The VWO account id.
    pub account_id: String,
    /// The SDK key the settings are fetched with, and the one SDKs must present.
    pub sdk_key: SdkKey,
    /// The secrets VWO's webhook carries in `x-vwo-auth`.
    pub webhook_secrets: Keyring,
    /// Where settings are fetched from (VWO by default).
    pub settings_base_url: Option<String>,
    /// The on-disk copy of the settings: a restart while VWO is down serves it.
    pub cache_file: Option<PathBuf>,
    /// The relay's own safety-net poll (the settings backend's default when `None`).
    pub poll_interval: Option<Duration>,
    /// A `pollInterval` written into the settings served to SDKs, for services that cannot
    /// take a webhook (the SDKs honour it when the service did not set its own).
    pub sdk_poll_interval: Option<Duration>,
    /// The services notified after each change.
    pub targets: Vec<TargetConfig>,
}

/// A service notified after each change, with the key its webhook handler checks. `Debug`
/// shows its name, not its URL (whose query may hold a token) or key.
#[derive(Clone)]
pub struct TargetConfig {
    /// Its name in the status and metrics (the URL's host and port by default: never a path
    /// or query, which may hold a token).
    pub name: String,
    /// The URL VWO's notice is posted to.
    pub url: reqwest::Url,
    /// Sent as `x-vwo-auth`.
    pub key: Secret,
}

impl std::fmt::Debug for TargetConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TargetConfig")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A configuration that cannot run, naming the setting (never its value).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has a setting of the wrong kind.
    #[error("{path}: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message (it quotes the line, which for a secret's line would show it:
        /// only the message and position are kept).
        message: String,
    },
    /// A setting holds something unusable.
    #[error("{setting}: {why}")]
    Invalid {
        /// Which setting (`environment "production": sdk_key`).
        setting: String,
        /// What is wrong.
        why: String,
    },
    /// A variable [`RelayConfig::from_env`] needs is not set.
    #[error("{0} is not set")]
    MissingEnv(&'static str),
}

fn invalid(setting: impl Into<String>, why: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        setting: setting.into(),
        why: why.into(),
    }
}

// What the file says, before checking. No `Debug`: it holds secrets as plain text.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    addr: Option<String>,
    admin_addr: Option<String>,
    events_base_url: Option<String>,
    upstream_gateway: Option<String>,
    event_queue_bytes: Option<usize>,
    event_body_limit: Option<usize>,
    event_max_age: Option<String>,
    redis_url: Option<String>,
    #[serde(default, rename = "environment")]
    environments: Vec<FileEnvironment>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEnvironment {
    name: String,
    account_id: String,
    sdk_key: String,
    webhook_secrets: Vec<String>,
    settings_base_url: Option<String>,
    cache_file: Option<PathBuf>,
    poll_interval: Option<String>,
    sdk_poll_interval: Option<String>,
    #[serde(default, rename = "target")]
    targets: Vec<FileTarget>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTarget {
    name: Option<String>,
    url: String,
    key: String,
}

impl RelayConfig {
    /// Reads and checks `relay.toml`.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml(&text).map_err(|error| match error {
            ConfigError::Syntax { message, .. } => ConfigError::Syntax {
                path: path.to_owned(),
                message,
            },
            other => other,
        })
    }

    /// Checks a configuration given as TOML text.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let file: File = toml::from_str(text).map_err(|error| ConfigError::Syntax {
            path: PathBuf::from("relay.toml"),
            message: syntax_message(text, &error),
        })?;
        let environments = file
            .environments
            .into_iter()
            .map(FileEnvironment::check)
            .collect::<Result<Vec<_>, _>>()?;
        let config = Self {
            addr: address("addr", file.addr.as_deref().unwrap_or(DEFAULT_ADDR))?,
            admin_addr: address(
                "admin_addr",
                file.admin_addr.as_deref().unwrap_or(DEFAULT_ADMIN_ADDR),
            )?,
            events_base_url: base_url(
                "events_base_url",
                file.events_base_url.as_deref().unwrap_or(DEFAULT_EVENTS_BASE_URL),
            )?,
            upstream_gateway: file
                .upstream_gateway
                .as_deref()
                .map(|url| base_url("upstream_gateway", url))
                .transpose()?,
            event_queue_bytes: file.event_queue_bytes.unwrap_or(DEFAULT_EVENT_QUEUE_BYTES),
            event_body_limit: file.event_body_limit.unwrap_or(DEFAULT_EVENT_BODY_LIMIT),
            event_max_age: file
                .event_max_age
                .as_deref()
                .map(|text| duration("event_max_age", text))
                .transpose()?
                .unwrap_or(DEFAULT_EVENT_MAX_AGE),
            redis_url: file.redis_url.map(RedisUrl),
            environments,
            default_webhook_path: false,
        };
        config.check()
    }

    /// One environment named `default` from the examples' variables (`VWO_ACCOUNT_ID`,
    /// `VWO_SDK_KEY`, `VWO_WEBHOOK_SECRET`, `VWO_SETTINGS_BASE_URL`, `VWO_WEBHOOK_ADDR`,
    /// `VWO_WEBHOOK_ADMIN_ADDR`, `VWO_SETTINGS_CACHE`, `REDIS_URL`) and `VWO_RELAY_TARGETS`
    /// (`URL KEY` pairs, comma-separated). Its webhook also answers on `POST /vwo-webhook`;
    /// events go where the settings come from.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// [`RelayConfig::from_env`] over any lookup (a test's map).
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let given = |name: &'static str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let required = |name: &'static str| given(name).ok_or(ConfigError::MissingEnv(name));
        let webhook_secrets = Keyring::from_comma_separated(&required(env::WEBHOOK_SECRET)?)
            .map_err(|error| invalid(env::WEBHOOK_SECRET, error.to_string()))?;
        let targets = given(env::RELAY_TARGETS)
            .map(|list| targets_from_list(&list))
            .transpose()?
            .unwrap_or_default();
        let environment = EnvironmentConfig {
            name: DEFAULT_ENVIRONMENT.to_owned(),
            account_id: required(env::ACCOUNT_ID)?,
            sdk_key: SdkKey::new(required(env::SDK_KEY)?),
            webhook_secrets,
            settings_base_url: given(env::SETTINGS_BASE_URL)
                .map(|url| base_url(env::SETTINGS_BASE_URL, &url))
                .transpose()?,
            cache_file: given(env::SETTINGS_CACHE).map(PathBuf::from),
            poll_interval: None,
            sdk_poll_interval: None,
            targets,
        };
        let config = Self {
            addr: address(
                env::ADDR,
                &given(env::ADDR).unwrap_or_else(|| DEFAULT_ADDR.to_owned()),
            )?,
            admin_addr: address(
                env::ADMIN_ADDR,
                &given(env::ADMIN_ADDR).unwrap_or_else(|| DEFAULT_ADMIN_ADDR.to_owned()),
            )?,
            // A gateway named for the settings takes the events too, as the SDKs' option does.
            events_base_url: environment
                .settings_base_url
                .clone()
                .unwrap_or_else(|| DEFAULT_EVENTS_BASE_URL.to_owned()),
            upstream_gateway: None,
            event_queue_bytes: DEFAULT_EVENT_QUEUE_BYTES,
            event_body_limit: DEFAULT_EVENT_BODY_LIMIT,
            event_max_age: DEFAULT_EVENT_MAX_AGE,
            redis_url: given(env::REDIS_URL).map(RedisUrl),
            environments: vec![environment],
            default_webhook_path: true,
        };
        config.check()
    }

    fn check(self) -> Result<Self, ConfigError> {
        if self.environments.is_empty() {
            return Err(invalid("environment", "at least one [[environment]] is needed"));
        }
        for (i, environment) in self.environments.iter().enumerate() {
            let earlier = &self.environments[..i];
            if earlier.iter().any(|e| e.name == environment.name) {
                return Err(invalid(
                    format!("environment \"{}\"", environment.name),
                    "the name is used twice (each names a webhook path)",
                ));
            }
            if earlier.iter().any(|e| {
                e.account_id == environment.account_id
                    && e.sdk_key.expose_secret() == environment.sdk_key.expose_secret()
            }) {
                return Err(invalid(
                    format!("environment \"{}\"", environment.name),
                    "the same account id and SDK key as an earlier environment",
                ));
            }
        }
        if self.event_queue_bytes < self.event_body_limit {
            return Err(invalid(
                "event_queue_bytes",
                "smaller than event_body_limit: no event request would fit",
            ));
        }
        Ok(self)
    }

    /// The webhook path of `environment`.
    pub fn webhook_path(environment: &str) -> String {
        format!("{}/{environment}", vwo_webhook::DEFAULT_PATH)
    }
}

impl FileEnvironment {
    fn check(self) -> Result<EnvironmentConfig, ConfigError> {
        let name = self.name;
        let setting = |field: &str| format!("environment \"{name}\": {field}");
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(invalid(
                format!("environment \"{name}\": name"),
                "letters, digits, '-' and '_' only (it is a path segment)",
            ));
        }
        if self.account_id.is_empty() || !self.account_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(setting("account_id"), "a VWO account id is a number"));
        }
        if self.sdk_key.trim().is_empty() {
            return Err(invalid(setting("sdk_key"), "empty"));
        }
        let secrets = self
            .webhook_secrets
            .into_iter()
            .map(Secret::new)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| invalid(setting("webhook_secrets"), error.to_string()))?;
        let webhook_secrets =
            Keyring::new(secrets).map_err(|error| invalid(setting("webhook_secrets"), error.to_string()))?;
        let targets = self
            .targets
            .into_iter()
            .map(|target| target_config(target.name, &target.url, target.key, &setting("target")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(EnvironmentConfig {
            account_id: self.account_id,
            sdk_key: SdkKey::new(self.sdk_key),
            webhook_secrets,
            settings_base_url: self
                .settings_base_url
                .map(|url| base_url(&setting("settings_base_url"), &url))
                .transpose()?,
            cache_file: self.cache_file,
            poll_interval: self
                .poll_interval
                .map(|text| duration(&setting("poll_interval"), &text))
                .transpose()?,
            sdk_poll_interval: self
                .sdk_poll_interval
                .map(|text| duration(&setting("sdk_poll_interval"), &text))
                .transpose()?
                .map(|interval| {
                    // The SDKs ignore a pollInterval under a second.
                    if interval < Duration::from_secs(1) {
                        Err(invalid(
                            setting("sdk_poll_interval"),
                            "at least 1s (the SDKs ignore less)",
                        ))
                    } else {
                        Ok(interval)
                    }
                })
                .transpose()?,
            targets,
            name,
        })
    }
}

/// `VWO_RELAY_TARGETS`: `URL KEY` pairs, comma-separated.
fn targets_from_list(list: &str) -> Result<Vec<TargetConfig>, ConfigError> {
    list.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            let mut parts = item.split_whitespace();
            match (parts.next(), parts.next(), parts.next()) {
                (Some(url), Some(key), None) => target_config(None, url, key.to_owned(), env::RELAY_TARGETS),
                _ => Err(invalid(
                    env::RELAY_TARGETS,
                    "each target is a URL, a space and its key; targets are separated by commas",
                )),
            }
        })
        .collect()
}

fn target_config(
    name: Option<String>,
    url: &str,
    key: String,
    setting: &str,
) -> Result<TargetConfig, ConfigError> {
    let url = reqwest::Url::parse(url)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https") && url.host_str().is_some())
        .ok_or_else(|| invalid(format!("{setting}: url"), "not an http(s) URL"))?;
    let key = Secret::new(key).map_err(|error| invalid(format!("{setting}: key"), error.to_string()))?;
    let name = name.unwrap_or_else(|| match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_owned(),
    });
    Ok(TargetConfig { name, url, key })
}

fn address(setting: &str, text: &str) -> Result<SocketAddr, ConfigError> {
    text.parse()
        .map_err(|_| invalid(setting, "not an address like 127.0.0.1:4000"))
}

fn base_url(setting: &str, text: &str) -> Result<String, ConfigError> {
    reqwest::Url::parse(text)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https") && url.host_str().is_some())
        .map(|_| text.trim_end_matches('/').to_owned())
        .ok_or_else(|| invalid(setting, "not an http(s) URL"))
}

fn duration(setting: &str, text: &str) -> Result<Duration, ConfigError> {
    humantime::parse_duration(text)
        .map_err(|error| invalid(setting, format!("not a duration like 30s ({error})")))
}

/// The parser's message without the quoted source line (which may be a secret's).
fn syntax_message(text: &str, error: &toml::de::Error) -> String {
    let message = error.message();
    match error.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}: {message}")
        }
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
addr = "0.0.0.0:4000"

[[environment]]
name = "production"
account_id = "123456"
sdk_key = "sdk-key-production"
webhook_secrets = ["hook-secret-1", "hook-secret-2"]
sdk_poll_interval = "30s"

[[environment.target]]
url = "http://orders.internal:3000/vwo-webhook?token=abc"
key = "orders-key"

[[environment]]
name = "staging"
account_id = "123456"
sdk_key = "sdk-key-staging"
webhook_secrets = ["hook-secret-3"]
"#;

    #[test]
    fn a_file_with_two_environments_is_read() {
        let config = RelayConfig::from_toml(EXAMPLE).expect("valid");
        assert_eq!(config.addr, "0.0.0.0:4000".parse().expect("addr"));
        assert_eq!(config.admin_addr, DEFAULT_ADMIN_ADDR.parse().expect("addr"));
        assert_eq!(config.environments.len(), 2);
        let production = &config.environments[0];
        assert_eq!(production.webhook_secrets.len(), 2);
        assert_eq!(production.sdk_poll_interval, Some(Duration::from_secs(30)));
        assert_eq!(production.targets[0].name, "orders.internal:3000");
        assert_eq!(
            RelayConfig::webhook_path(&production.name),
            "/vwo-webhook/production"
        );
    }

    #[test]
    fn debug_output_shows_no_secret() {
        let config = RelayConfig::from_toml(EXAMPLE).expect("valid");
        let shown = format!("{config:?}");
        for secret in ["sdk-key-production", "hook-secret-1", "orders-key", "token=abc"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }

    #[test]
    fn a_syntax_error_names_the_line_but_never_quotes_it() {
        let error = RelayConfig::from_toml("[[environment]]\nsdk_key = \"top-secret\nname = 1\n")
            .expect_err("broken");
        let message = error.to_string();
        assert!(message.contains("line 2"), "{message}");
        assert!(!message.contains("top-secret"), "{message}");
    }

    #[test]
    fn mistakes_are_named() {
        let cases = [
            (
                EXAMPLE.replace("addr = \"0.0.0.0:4000\"", "adr = 1"),
                "unknown field `adr`",
            ),
            (EXAMPLE.replace("\"123456\"", "\"12x\""), "account_id"),
            (
                EXAMPLE.replace("name = \"staging\"", "name = \"production\""),
                "used twice",
            ),
            (
                EXAMPLE.replace("sdk_poll_interval = \"30s\"", "sdk_poll_interval = \"10ms\""),
                "at least 1s",
            ),
            (
                EXAMPLE.replace("http://orders", "ftp://orders"),
                "not an http(s) URL",
            ),
            (
                EXAMPLE.replace("[\"hook-secret-3\"]", "[\"\"]"),
                "webhook_secrets",
            ),
            (
                String::from("addr = \"0.0.0.0:4000\"\n"),
                "at least one [[environment]]",
            ),
        ];
        for (text, expected) in cases {
            let error = RelayConfig::from_toml(&text).expect_err(expected).to_string();
            assert!(error.contains(expected), "{error} should name {expected}");
        }
    }

    #[test]
    fn the_environment_variables_make_one_default_environment() {
        let vars = [
            ("VWO_ACCOUNT_ID", "123456"),
            ("VWO_SDK_KEY", "sdk"),
            ("VWO_WEBHOOK_SECRET", "a,b"),
            ("VWO_WEBHOOK_ADDR", "0.0.0.0:8080"),
            (
                "VWO_RELAY_TARGETS",
                "http://a.internal:3000/hook key-a, https://b.internal/hook key-b",
            ),
        ];
        let lookup = |name: &str| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        };
        let config = RelayConfig::from_env_with(lookup).expect("valid");
        assert!(config.default_webhook_path);
        assert_eq!(config.addr.port(), 8080);
        assert_eq!(
            config.events_base_url, DEFAULT_EVENTS_BASE_URL,
            "VWO's host by default"
        );
        let environment = &config.environments[0];
        assert_eq!(environment.name, DEFAULT_ENVIRONMENT);
        assert_eq!(environment.webhook_secrets.len(), 2);
        let names: Vec<_> = environment.targets.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["a.internal:3000", "b.internal"]);
        let missing =
            RelayConfig::from_env_with(|name| (name != "VWO_SDK_KEY").then(|| lookup(name)).flatten());
        assert!(matches!(missing, Err(ConfigError::MissingEnv("VWO_SDK_KEY"))));
        let bad = RelayConfig::from_env_with(|name| {
            if name == "VWO_RELAY_TARGETS" {
                Some("http://a.internal/hook".to_owned())
            } else {
                lookup(name)
            }
        });
        assert!(bad.expect_err("no key").to_string().contains("VWO_RELAY_TARGETS"));
        // A gateway named for the settings takes the events too.
        let gateway = RelayConfig::from_env_with(|name| {
            if name == "VWO_SETTINGS_BASE_URL" {
                Some("http://gateway.internal:8000/".to_owned())
            } else {
                lookup(name)
            }
        })
        .expect("valid");
        assert_eq!(gateway.events_base_url, "http://gateway.internal:8000");
        assert_eq!(
            gateway.environments[0].settings_base_url.as_deref(),
            Some("http://gateway.internal:8000")
        );
    }
}
