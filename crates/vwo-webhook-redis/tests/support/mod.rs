//! What the fleet tests share: the kit's origin serving numbered versions, and a replica of the
//! service.
#![allow(dead_code)] // each test file uses its own part

use std::time::Duration;

use serde_json::{Value, json};
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

/// The kit's scripted origin publishing `document(version)` with ETag `"v<version>"`.
#[derive(Clone)]
pub(crate) struct Origin(vwo_webhook_testkit::Origin);

impl std::ops::Deref for Origin {
    type Target = vwo_webhook_testkit::Origin;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl Origin {
    /// Starts it at version 1.
    pub(crate) async fn start() -> Self {
        let origin = vwo_webhook_testkit::Origin::start(&document(1), "\"v1\"")
            .await
            .expect("origin");
        Self(origin)
    }

    pub(crate) fn publish(&self, version: u64) {
        self.0.publish(&document(version), &format!("\"v{version}\""));
    }

    pub(crate) fn fetches(&self) -> usize {
        self.0.requests()
    }

    pub(crate) async fn wait_fetches(&self, n: usize) {
        self.0.wait_requests(n).await;
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

    /// Waits (10 s at most) until the follower's subscription is up (`true`) or down, as its
    /// handle reports each change.
    pub(crate) async fn wait_connected(&self, up: bool, what: &str) {
        let mut connection = self.handle.connection();
        tokio::time::timeout(Duration::from_secs(10), connection.wait_for(|now| *now == up))
            .await
            .unwrap_or_else(|_| panic!("waited 10 s for {what}"))
            .expect("the follower is running");
    }

    /// Waits (10 s at most) until `check` holds, looking every 10 ms: for states that have no
    /// notification of their own (the last error).
    pub(crate) async fn wait_until(&self, what: &str, check: impl Fn(&Self) -> bool) {
        vwo_webhook_testkit::wait::until(what, Duration::from_secs(10), || check(self)).await;
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
        replica.wait_connected(true, "the replica to subscribe").await;
    }
    [a, b, c]
}
