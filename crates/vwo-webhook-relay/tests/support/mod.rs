//! A fake VWO (settings origin and event collector) and fake services for the relay's tests,
//! each on its own loopback port.

#![allow(dead_code, unreachable_pub)]

#[path = "../../../../tests/oracle/node.rs"]
pub mod node;
#[path = "../../../../tests/oracle/python.rs"]
pub mod python;
pub mod service;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::Value;

/// VWO's MASKED test settings (vwo-webhook-settings' test data): account 123456, `feature1`
/// with a 100% rollout whose variable `int` is 10.
pub const SETTINGS: &str = include_str!("../../../vwo-webhook-settings/testdata/OnlyRolloutSettings.json");
pub const ACCOUNT: &str = "123456";

/// The settings with `version` and the `int` variable set: each test's way to tell files
/// apart.
pub fn settings(version: u64, int: i64) -> String {
    let mut document: Value = serde_json::from_str(SETTINGS).expect("the test settings");
    document["version"] = version.into();
    document["campaigns"][0]["variations"][0]["variables"][0]["value"] = int.into();
    document.to_string()
}

/// A request as a fake server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

async fn seen(request: Request) -> Seen {
    let (parts, body) = request.into_parts();
    Seen {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| (n.to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect(),
        body: axum::body::to_bytes(body, usize::MAX).await.expect("body"),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// VWO as the relay and the SDKs see it: settings by SDK key, events collected.
#[derive(Clone, Default)]
pub struct FakeVwo {
    state: Arc<Mutex<VwoState>>,
    pub addr: Option<SocketAddr>,
}

#[derive(Default)]
struct VwoState {
    documents: HashMap<String, String>,
    fetches: Vec<Seen>,
    events: Vec<Seen>,
    failing_events: usize,
    failing_status: u16,
}

impl FakeVwo {
    pub async fn start() -> Self {
        let mut vwo = Self::default();
        let app = Router::new()
            .route("/server-side/v2-settings", get(vwo_settings))
            .route("/server-side/v2-pull", get(vwo_settings))
            .route("/events/t", post(vwo_events))
            .route("/{prefix}/events/t", post(vwo_events))
            .route("/server-side/batch-events-v2", post(vwo_events))
            .route("/{prefix}/server-side/batch-events-v2", post(vwo_events))
            .with_state(vwo.clone());
        vwo.addr = Some(serve(app).await);
        vwo
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr.expect("started"))
    }

    /// Serves `document` to `sdk_key`.
    pub fn publish(&self, sdk_key: &str, document: String) {
        lock(&self.state).documents.insert(sdk_key.to_owned(), document);
    }

    /// Answers the next `n` event requests 503.
    pub fn fail_events(&self, n: usize) {
        self.fail_events_with(n, 503);
    }

    /// Answers the next `n` event requests with `status`.
    pub fn fail_events_with(&self, n: usize, status: u16) {
        let mut state = lock(&self.state);
        state.failing_events = n;
        state.failing_status = status;
    }

    pub fn fetches(&self) -> Vec<Seen> {
        lock(&self.state).fetches.clone()
    }

    /// The event requests it took (not those it answered 503).
    pub fn events(&self) -> Vec<Seen> {
        lock(&self.state).events.clone()
    }
}

async fn vwo_settings(State(vwo): State<FakeVwo>, request: Request) -> axum::response::Response {
    let seen = seen(request).await;
    let key = seen.query.as_deref().and_then(|query| {
        form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "i")
            .map(|(_, v)| v.into_owned())
    });
    let mut state = lock(&vwo.state);
    state.fetches.push(seen);
    match key.and_then(|key| state.documents.get(&key).cloned()) {
        Some(document) => ([("content-type", "application/json")], document).into_response(),
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}

async fn vwo_events(State(vwo): State<FakeVwo>, request: Request) -> axum::response::Response {
    let seen = seen(request).await;
    let mut state = lock(&vwo.state);
    if state.failing_events > 0 {
        state.failing_events -= 1;
        return StatusCode::from_u16(state.failing_status)
            .unwrap_or(StatusCode::SERVICE_UNAVAILABLE)
            .into_response();
    }
    state.events.push(seen);
    ([("content-type", "application/json")], "{}").into_response()
}

/// A notice a service took, and the settings `version` its pull got.
pub type Notice = (Seen, Option<u64>);

/// A service's webhook handler: records each notice and, like VWO's docs show, pulls the
/// settings from the relay at once (recording the `version` it got).
#[derive(Clone, Default)]
pub struct FakeService {
    notices: Arc<Mutex<Vec<Notice>>>,
    pull_from: Arc<Mutex<Option<String>>>,
}

impl FakeService {
    /// Serves on `addr` (an ephemeral port with `127.0.0.1:0`).
    pub async fn start_on(addr: SocketAddr, pull_from: Option<String>) -> (Self, SocketAddr) {
        let service = Self {
            pull_from: Arc::new(Mutex::new(pull_from)),
            ..Self::default()
        };
        let app = Router::new()
            .route("/vwo-webhook", post(service_notice))
            .with_state(service.clone());
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        (service, addr)
    }

    pub fn notices(&self) -> Vec<Notice> {
        lock(&self.notices).clone()
    }
}

async fn service_notice(State(service): State<FakeService>, request: Request) -> StatusCode {
    let seen = seen(request).await;
    let pull = lock(&service.pull_from).clone();
    let version = match pull {
        Some(url) => {
            let document: Value = reqwest::get(url)
                .await
                .expect("the relay answers")
                .json()
                .await
                .expect("settings");
            document["version"].as_u64()
        }
        None => None,
    };
    lock(&service.notices).push((seen, version));
    StatusCode::OK
}

/// Starts a relay for `config` and waits (10 s at most) until it holds every environment's
/// settings.
pub async fn ready_relay(config: vwo_webhook_relay::RelayConfig) -> vwo_webhook_relay::Relay {
    let relay = vwo_webhook_relay::Relay::start(config).expect("relay");
    assert!(
        relay.wait_until_ready(Duration::from_secs(10)).await,
        "the relay holds no settings after 10 s"
    );
    relay
}

/// [`ready_relay`], its public routes served on a loopback port.
pub async fn serve_relay(config: vwo_webhook_relay::RelayConfig) -> (vwo_webhook_relay::Relay, SocketAddr) {
    let relay = ready_relay(config).await;
    let public = serve(relay.public_router()).await;
    (relay, public)
}

/// Serves `app` on an ephemeral loopback port.
pub async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// A relay configuration over the fake VWO, as TOML: its events go to `vwo`, `top` adds
/// top-level settings, then the environments (each from [`environment_toml`]).
pub fn relay_toml(vwo: &FakeVwo, top: &str, environments: &[String]) -> String {
    format!(
        "events_base_url = \"{}\"\n{top}\n{}",
        vwo.url(),
        environments.concat()
    )
}

/// An `[[environment]]` of account [`ACCOUNT`] whose settings come from `vwo`; `more` goes
/// inside it (options, `[[environment.target]]` tables).
pub fn environment_toml(
    vwo: &FakeVwo,
    name: &str,
    sdk_key: &str,
    webhook_secret: &str,
    more: &str,
) -> String {
    let base = vwo.url();
    format!(
        r#"
[[environment]]
name = "{name}"
account_id = "{ACCOUNT}"
sdk_key = "{sdk_key}"
webhook_secrets = ["{webhook_secret}"]
settings_base_url = "{base}"
{more}
"#
    )
}

/// A port nothing listens on (bound, then released).
pub fn free_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr")
}

/// Waits for `check`, failing with `what` after 10 s.
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// VWO's documented notice.
pub const NOTICE: &str = r#"{"timestamp":1606482285,"event":"settings_changed","action":"campaign_settings_changed","triggered_by":"vwo"}"#;

/// Delivers VWO's notice to `environment`'s webhook on the relay at `relay`, as VWO does.
pub async fn deliver_webhook(relay: SocketAddr, environment: &str, secret: &str) -> reqwest::StatusCode {
    reqwest::Client::new()
        .post(format!("http://{relay}/vwo-webhook/{environment}"))
        .header("x-vwo-auth", secret)
        .header("content-type", "application/json")
        .body(NOTICE)
        .send()
        .await
        .expect("the relay answers")
        .status()
}
