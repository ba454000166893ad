//! What the fleet tests share: a settings origin on loopback and a replica of the service.
#![allow(dead_code)] // each test file uses its own part

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use vwo_webhook::{Keyring, Receiver, RetryPolicy};
use vwo_webhook_redis::{FleetBuilder, FleetHandle, RedisFleet};
use vwo_webhook_settings::{SdkKey, Source, VwoSettings};

pub(crate) const SDK_KEY: &str = "sdk-key-0123456789abcdef";
pub(crate) const ACCOUNT: &str = "123456";
pub(crate) const SECRET: &str = "s3cret";
pub(crate) const GOOD: &str =
    include_str!("../../../vwo-webhook-settings/testdata/RolloutAndTestingSettings.json");
pub(crate) const INVALID: &str =
    include_str!("../../../vwo-webhook-settings/testdata/SettingsWithWrongTypeForValues.json");
pub(crate) const NOTICE: &[u8] = br#"{"timestamp":1606482285,"event":"settings_changed"}"#;
pub(crate) const PREFIX: &str = "vwo-webhook:{123456}";

/// The fixture with its `version` set, so each change is visible.
pub(crate) fn document(version: u64) -> String {
    let mut value: Value = serde_json::from_str(GOOD).expect("fixture");
    value["version"] = json!(version);
    value.to_string()
}

#[derive(Default)]
pub(crate) struct OriginState {
    pub(crate) version: u64,
    pub(crate) delay: Duration,
    pub(crate) fail: Option<u16>,
    pub(crate) fetches: usize,
}

/// A settings origin on loopback serving `document(version)` with ETag `"v<version>"`
/// (304 for a matching `If-None-Match`), after `delay`; it counts requests.
#[derive(Clone)]
pub(crate) struct Origin {
    pub(crate) addr: SocketAddr,
    pub(crate) state: Arc<Mutex<OriginState>>,
    pub(crate) requested: Arc<tokio::sync::Notify>,
}

impl Origin {
    pub(crate) async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let origin = Self {
            addr: listener.local_addr().expect("addr"),
            state: Arc::new(Mutex::new(OriginState {
                version: 1,
                ..OriginState::default()
            })),
            requested: Arc::default(),
        };
        let serving = origin.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serving.clone().serve(stream));
            }
        });
        origin
    }

    pub(crate) fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub(crate) fn publish(&self, version: u64) {
        self.state.lock().expect("origin").version = version;
    }

    pub(crate) fn slow(&self, delay: Duration) {
        self.state.lock().expect("origin").delay = delay;
    }

    pub(crate) fn fail(&self, status: Option<u16>) {
        self.state.lock().expect("origin").fail = status;
    }

    pub(crate) fn fetches(&self) -> usize {
        self.state.lock().expect("origin").fetches
    }

    pub(crate) async fn wait_fetches(&self, n: usize) {
        let wait = async {
            loop {
                let requested = self.requested.notified();
                if self.fetches() >= n {
                    return;
                }
                requested.await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), wait)
            .await
            .unwrap_or_else(|_| panic!("waited 10 s for {n} fetches, saw {}", self.fetches()));
    }

    pub(crate) async fn serve(self, mut stream: TcpStream) {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            match stream.read(&mut byte).await {
                Ok(1) => head.push(byte[0]),
                _ => return,
            }
        }
        let head = String::from_utf8_lossy(&head).to_lowercase();
        let if_none_match = head
            .lines()
            .find_map(|l| l.strip_prefix("if-none-match: ").map(str::to_owned));
        let (version, delay, fail) = {
            let mut state = self.state.lock().expect("origin");
            state.fetches += 1;
            (state.version, state.delay, state.fail)
        };
        self.requested.notify_waiters();
        tokio::time::sleep(delay).await;
        let etag = format!("\"v{version}\"");
        let response = if let Some(status) = fail {
            format!("HTTP/1.1 {status} Failing\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        } else if if_none_match.as_deref() == Some(etag.as_str()) {
            format!("HTTP/1.1 304 Not Modified\r\netag: {etag}\r\nconnection: close\r\n\r\n")
        } else {
            let body = document(version);
            format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\netag: {etag}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            )
        };
        let _ = stream.write_all(response.as_bytes()).await;
        let _ = stream.shutdown().await;
    }
}

/// One replica of the service: its settings, its fleet link, its receiver.
pub(crate) struct Replica {
    pub(crate) settings: VwoSettings,
    pub(crate) fleet: RedisFleet,
    pub(crate) receiver: Receiver,
    pub(crate) handle: FleetHandle,
}

impl Replica {
    pub(crate) fn start(redis_url: &str, origin: &Origin) -> Self {
        Self::start_with(redis_url, origin, |builder| builder)
    }

    pub(crate) fn start_with(
        redis_url: &str,
        origin: &Origin,
        configure: impl FnOnce(FleetBuilder) -> FleetBuilder,
    ) -> Self {
        let settings = VwoSettings::builder(ACCOUNT, SdkKey::new(SDK_KEY))
            .base_url(origin.base_url())
            .poll_interval(None)
            .build()
            .expect("settings");
        let fleet = configure(RedisFleet::builder(redis_url, settings.clone()))
            .build()
            .expect("fleet");
        let receiver = Receiver::builder(fleet.clone())
            // No local pause between runs: these tests are about the fleet's gathering.
            .retry_policy(
                RetryPolicy::none()
                    .with_initial_delay(Duration::ZERO)
                    .with_min_spacing(Duration::ZERO),
            )
            .keyring(Keyring::from_comma_separated(SECRET).expect("key"))
            .build()
            .expect("receiver");
        let handle = fleet.start(receiver.coordinator());
        Self {
            settings,
            fleet,
            receiver,
            handle,
        }
    }

    /// What VWO gets for a delivery to this replica.
    pub(crate) async fn deliver(&self) -> u16 {
        let headers: [(&str, &[u8]); 1] = [("x-vwo-auth", SECRET.as_bytes())];
        self.receiver
            .handle_buffered("POST", &headers, NOTICE)
            .await
            .status()
    }

    pub(crate) fn version(&self) -> Option<String> {
        self.settings.store().current().map(|s| s.version().to_owned())
    }

    pub(crate) fn source(&self) -> Option<Source> {
        self.settings.store().current().map(|s| s.source())
    }

    /// Waits (10 s at most) until this replica serves `version`.
    pub(crate) async fn wait_version(&self, version: u64) {
        let mut changes = self.settings.store().subscribe();
        let want = version.to_string();
        let wait = changes.wait_for(|current| current.as_ref().is_some_and(|s| s.version() == want));
        tokio::time::timeout(Duration::from_secs(10), wait)
            .await
            .unwrap_or_else(|_| panic!("waited 10 s for version {version}, serving {:?}", self.version()))
            .expect("store open");
    }

    /// Waits (10 s at most) until `check` holds, looking every 10 ms: for states that have no
    /// notification of their own (the connection flag, the last error).
    pub(crate) async fn wait_until(&self, what: &str, check: impl Fn(&Self) -> bool) {
        let wait = async {
            while !check(self) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), wait)
            .await
            .unwrap_or_else(|_| panic!("waited 10 s for {what}"));
    }
}

/// Three replicas at version 1, from one fetch.
pub(crate) async fn fleet_of_three(url: &str, origin: &Origin) -> [Replica; 3] {
    let a = Replica::start(url, origin);
    a.wait_version(1).await;
    let b = Replica::start(url, origin);
    let c = Replica::start(url, origin);
    b.wait_version(1).await;
    c.wait_version(1).await;
    for replica in [&a, &b, &c] {
        replica
            .wait_until("the replica to subscribe", |r| r.handle.connected())
            .await;
    }
    [a, b, c]
}
