//! Clients of several replicas sharing a Redis fleet (`ClientBuilder::redis_fleet`): the
//! webhook reaches one, which fetches once for all, and every client serves the change.

use std::time::Duration;

use vwo_webhook_conformance::fixtures::DOCUMENTED;
use vwo_webhook_flags::{Client, Context, Keyring, SdkKey};
use vwo_webhook_testkit::{Origin, RedisServer};

const SETTINGS: &str =
    include_str!("../crates/vwo-webhook-flags/testdata/vwo-e2e/settings/RolloutAndTestingSettings.json");
const SECRET: &str = "fleet-secret";

/// The same settings with `feature1` off for everyone (no rules).
fn feature_off() -> String {
    let mut settings: serde_json::Value = serde_json::from_str(SETTINGS).expect("JSON");
    settings["features"][0]["rules"] = serde_json::json!([]);
    settings.to_string()
}

fn on_for(client: &Client) -> bool {
    client
        .get_flag("feature1", &Context::new("user-1").expect("context"))
        .is_enabled()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_webhook_makes_every_replicas_client_fresh_with_one_fetch() {
    let Some(redis) = RedisServer::for_test() else {
        return;
    };
    let origin = Origin::start(SETTINGS, "\"v1\"").await.expect("origin");
    let replica = |secrets: bool| {
        let mut builder = Client::builder("12345", SdkKey::new("fleet-sdk-key"))
            .base_url(origin.base_url())
            .redis_fleet(redis.url())
            .poll_interval(None)
            .events_off();
        if secrets {
            builder = builder.webhook_secrets(Keyring::from_comma_separated(SECRET).expect("keyring"));
        }
        builder.build()
    };
    let receiving = replica(true).await.expect("the receiving replica");
    let other = replica(false).await.expect("another replica");
    assert!(on_for(&receiving) && on_for(&other));

    origin.publish(&feature_off(), "\"v2\"");
    let before = origin.requests();
    let headers: [(&str, &[u8]); 1] = [("x-vwo-auth", SECRET.as_bytes())];
    let answer = receiving
        .receiver()
        .expect("a receiver")
        .handle_buffered("POST", &headers, DOCUMENTED.as_bytes())
        .await;
    assert_eq!(answer.status(), 200, "{}", answer.body());
    assert!(
        !on_for(&receiving),
        "the receiving replica serves the change at once"
    );
    vwo_webhook_testkit::wait::until(
        "the other replica serves the change",
        Duration::from_secs(10),
        || !on_for(&other),
    )
    .await;
    assert_eq!(origin.requests() - before, 1, "one fetch for the fleet");
    receiving.close().await;
    other.close().await;
}
