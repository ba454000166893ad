//! What `cargo run --example replicas` promises, over real HTTP: three replicas on one Redis,
//! a webhook to any one, and all three serve the new version on `/settings/status`.

use std::time::Duration;

use serde_json::Value;
use vwo_webhook::Keyring;
use vwo_webhook_examples::fleet::{Replica, demo_settings, start_replica};
use vwo_webhook_examples::{DEMO_SETTINGS, DOCUMENTED_PAYLOAD, STATUS_PATH};
use vwo_webhook_testkit::{ChangingOrigin, RedisServer};

async fn get_status(replica: &Replica) -> Value {
    let response = vwo_webhook_conformance::client::Request::new("GET", STATUS_PATH)
        .send(replica.admin_addr)
        .await
        .expect("status");
    assert_eq!(response.status, 200);
    serde_json::from_slice(&response.body).expect("status JSON")
}

/// Three replicas on `redis`, fetching from `origin`, started one at a time (so the first
/// fetches and the others start from Redis), each holding settings.
async fn three_replicas(origin: &ChangingOrigin, redis: &RedisServer) -> Vec<Replica> {
    let keyring = Keyring::from_comma_separated("s3cret").expect("key");
    let mut replicas = Vec::new();
    for _ in 0..3 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let settings = demo_settings(origin.addr()).expect("settings");
        let replica =
            start_replica(listener, admin, &redis.url(), settings, keyring.clone()).expect("replica");
        let mut changes = replica.store.subscribe();
        tokio::time::timeout(Duration::from_secs(10), changes.wait_for(Option::is_some))
            .await
            .expect("settings within 10 s")
            .expect("store open");
        replicas.push(replica);
    }
    replicas
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_to_any_replica_shows_on_every_status_page() {
    let Some(redis) = RedisServer::for_test() else {
        return;
    };
    let origin = ChangingOrigin::spawn(DEMO_SETTINGS, Duration::ZERO).expect("origin");
    let replicas = three_replicas(&origin, &redis).await;
    assert_eq!(
        origin.fetches(),
        1,
        "the second and third replicas started from Redis"
    );

    let response = vwo_webhook_conformance::client::Request::post("/vwo-webhook", DOCUMENTED_PAYLOAD)
        .header("x-vwo-auth", "s3cret")
        .header("content-type", "application/json")
        .send(replicas[1].addr)
        .await
        .expect("delivery");
    assert_eq!(response.status, 200);
    for replica in &replicas {
        let mut changes = replica.store.subscribe();
        tokio::time::timeout(
            Duration::from_secs(10),
            changes.wait_for(|s| s.as_ref().is_some_and(|s| s.version() == "2")),
        )
        .await
        .expect("version 2 within 10 s")
        .expect("store open");
    }
    let mut sources = Vec::new();
    for replica in &replicas {
        let status = get_status(replica).await;
        assert_eq!(
            (&status["version"], &status["revision"]),
            (&Value::from("2"), &Value::from(2)),
            "{status}"
        );
        assert_eq!(status["replication"]["connection"], "connected", "{status}");
        sources.push(status["source"].as_str().unwrap_or_default().to_owned());
    }
    assert_eq!(
        sources,
        ["redis", "origin", "redis"],
        "only the receiving replica fetched"
    );
    assert_eq!(origin.fetches(), 2);
}

async fn get_flag(replica: &Replica) -> Value {
    let response =
        vwo_webhook_conformance::client::Request::new("GET", "/flags/feature1?user=user-1&price=200")
            .send(replica.admin_addr)
            .await
            .expect("flag");
    assert_eq!(response.status, 200);
    serde_json::from_slice(&response.body).expect("flag JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flag_changed_at_the_origin_changes_every_replicas_next_decision() {
    let Some(redis) = RedisServer::for_test() else {
        return;
    };
    let origin = ChangingOrigin::spawn(DEMO_SETTINGS, Duration::ZERO).expect("origin");
    let replicas = three_replicas(&origin, &redis).await;
    for replica in &replicas {
        assert_eq!(get_flag(replica).await["enabled"], true);
    }
    let mut off: Value = serde_json::from_str(DEMO_SETTINGS).expect("JSON");
    for campaign in off["campaigns"].as_array_mut().expect("campaigns") {
        if campaign["type"] == "FLAG_ROLLOUT" {
            for variation in campaign["variations"].as_array_mut().expect("variations") {
                variation["weight"] = Value::from(0);
            }
        }
    }
    origin.set_document(&off.to_string()).expect("document");
    let response = vwo_webhook_conformance::client::Request::post("/vwo-webhook", DOCUMENTED_PAYLOAD)
        .header("x-vwo-auth", "s3cret")
        .send(replicas[0].addr)
        .await
        .expect("delivery");
    assert_eq!(response.status, 200);
    assert_eq!(
        get_flag(&replicas[0]).await["enabled"],
        false,
        "the receiving replica, at once"
    );
    for replica in &replicas[1..] {
        // The others hear of it through Redis; their next decision after that is the new one.
        let mut changes = replica.store.subscribe();
        tokio::time::timeout(
            Duration::from_secs(10),
            changes.wait_for(|s| s.as_ref().is_some_and(|s| s.version() == "2")),
        )
        .await
        .expect("the change within 10 s")
        .expect("store open");
        assert_eq!(get_flag(replica).await["enabled"], false);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_internal_endpoints_are_on_the_admin_address_only() {
    let Some(redis) = RedisServer::for_test() else {
        return;
    };
    let origin = ChangingOrigin::spawn(DEMO_SETTINGS, Duration::ZERO).expect("origin");
    let replicas = three_replicas(&origin, &redis).await;
    let replica = &replicas[0];
    for path in [
        STATUS_PATH,
        "/ready",
        "/live",
        "/metrics",
        "/flags/feature1?user=u",
    ] {
        let public = vwo_webhook_conformance::client::Request::new("GET", path)
            .send(replica.addr)
            .await
            .expect("public answer");
        assert_eq!(public.status, 404, "{path} is not served where VWO reaches");
        let admin = vwo_webhook_conformance::client::Request::new("GET", path)
            .send(replica.admin_addr)
            .await
            .expect("admin answer");
        assert_eq!(admin.status, 200, "{path} is served on the admin address");
    }
    let delivery = vwo_webhook_conformance::client::Request::post("/vwo-webhook", DOCUMENTED_PAYLOAD)
        .header("x-vwo-auth", "s3cret")
        .send(replica.admin_addr)
        .await
        .expect("answer");
    assert_eq!(delivery.status, 404, "the webhook is on the public address");
}
