//! The relay running: settings to the right key only, the webhook's change reaching every
//! target after the relay serves it, a target down for a while getting the notice when it
//! returns, events reaching VWO as the SDK sent them, and hostile clients bounded.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use support::{ACCOUNT, FakeService, FakeVwo, eventually, free_port, settings};
use vwo_webhook_relay::{NoticeSchedule, Relay, RelayConfig};

const PRODUCTION_KEY: &str = "sdk-key-production";
const STAGING_KEY: &str = "sdk-key-staging";
const HOOK_SECRET: &str = "hook-secret";

struct Running {
    relay: Relay,
    public: SocketAddr,
    admin: SocketAddr,
}

impl Running {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.public)
    }

    fn settings_url(&self, key: &str) -> String {
        self.url(&format!(
            "/server-side/v2-pull?i={key}&r=0.5&a={ACCOUNT}&platform=server&sn=vwo-fme-node-sdk&sv=1.35.0&api-version=1&s=prod"
        ))
    }

    async fn deliver_webhook(&self, environment: &str) -> reqwest::StatusCode {
        support::deliver_webhook(self.public, environment, HOOK_SECRET).await
    }
}

/// A relay over `vwo` with a production and a staging environment; `targets` are TOML
/// `[[environment.target]]` tables for production.
async fn start(vwo: &FakeVwo, targets: &str, extra: &str) -> Running {
    let schedule = NoticeSchedule {
        min_wait: Duration::from_millis(20),
        max_wait: Duration::from_millis(40),
        ..NoticeSchedule::default()
    };
    start_with(vwo, targets, extra, schedule).await
}

/// [`start`] with the targets asked again on `schedule`.
async fn start_with(vwo: &FakeVwo, targets: &str, extra: &str, schedule: NoticeSchedule) -> Running {
    let text = support::relay_toml(
        vwo,
        extra,
        &[
            support::environment_toml(vwo, "production", PRODUCTION_KEY, HOOK_SECRET, targets),
            support::environment_toml(vwo, "staging", STAGING_KEY, HOOK_SECRET, ""),
        ],
    );
    let config = RelayConfig::from_toml(&text).expect("valid configuration");
    let relay = Relay::builder(config)
        .notice_schedule(schedule)
        .start()
        .expect("relay");
    let public = support::serve(relay.public_router()).await;
    let admin = support::serve(relay.admin_router()).await;
    Running { relay, public, admin }
}

async fn get_json(url: &str) -> (u16, Value) {
    let response = reqwest::get(url).await.expect("answer");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_sdk_key_gets_its_own_environment_and_an_unknown_key_gets_401() {
    let vwo = FakeVwo::start().await;
    vwo.publish(PRODUCTION_KEY, settings(1, 10));
    vwo.publish(STAGING_KEY, settings(2, 20));
    let running = start(&vwo, "", "").await;
    let (status, _) = get_json(&running.url("/ready")).await;
    assert_eq!(status, 404, "the readiness probe is on the admin address only");
    assert!(running.relay.wait_until_ready(Duration::from_secs(10)).await);
    let ready = reqwest::get(format!("http://{}/ready", running.admin))
        .await
        .expect("ready");
    assert_eq!(ready.status(), 200);

    let (status, production) = get_json(&running.settings_url(PRODUCTION_KEY)).await;
    assert_eq!((status, production["version"].as_u64()), (200, Some(1)));
    let (status, staging) = get_json(&running.settings_url(STAGING_KEY)).await;
    assert_eq!((status, staging["version"].as_u64()), (200, Some(2)));
    // The collection prefix some SDKs put first, and the init endpoint.
    let (status, prefixed) = get_json(&running.url(&format!(
        "/eu01/server-side/v2-settings?i={STAGING_KEY}&a={ACCOUNT}"
    )))
    .await;
    assert_eq!((status, prefixed["version"].as_u64()), (200, Some(2)));

    let fetches_before = vwo.fetches().len();
    for url in [
        running.url(&format!("/server-side/v2-settings?i=sdk-key-other&a={ACCOUNT}")),
        running.url(&format!("/server-side/v2-settings?i={PRODUCTION_KEY}&a=999999")),
        running.url(&format!("/server-side/v2-settings?a={ACCOUNT}")),
        running.url("/server-side/v2-pull"),
    ] {
        let (status, body) = get_json(&url).await;
        assert_eq!(status, 401, "{url}");
        assert!(
            body["error"]
                .as_str()
                .is_some_and(|e| e.contains("not an environment")),
            "{body}"
        );
        assert!(!body.to_string().contains(PRODUCTION_KEY), "{body}");
    }
    assert_eq!(
        vwo.fetches().len(),
        fetches_before,
        "nothing unknown passes through to VWO"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_refreshes_once_then_every_target_pulls_the_new_file() {
    let vwo = FakeVwo::start().await;
    vwo.publish(PRODUCTION_KEY, settings(1, 10));
    vwo.publish(STAGING_KEY, settings(1, 10));
    // The targets' handlers pull from the relay, so they start once it serves, on ports
    // chosen first.
    let (orders_addr, billing_addr) = (free_port(), free_port());
    let targets = format!(
        r#"
[[environment.target]]
name = "orders"
url = "http://{orders_addr}/vwo-webhook"
key = "orders-key"

[[environment.target]]
url = "http://{billing_addr}/vwo-webhook"
key = "billing-key"
"#
    );
    let running = start(&vwo, &targets, "").await;
    let pull = Some(format!(
        "http://{}/server-side/v2-pull?i={PRODUCTION_KEY}&a={ACCOUNT}",
        running.public
    ));
    let (orders, _) = FakeService::start_on(orders_addr, pull.clone()).await;
    let (billing, _) = FakeService::start_on(billing_addr, pull).await;
    assert!(running.relay.wait_until_ready(Duration::from_secs(10)).await);
    let fetches = vwo.fetches().len();

    vwo.publish(PRODUCTION_KEY, settings(2, 11));
    assert!(running.deliver_webhook("production").await.is_success());
    eventually("both targets told", || {
        orders.notices().len() == 1 && billing.notices().len() == 1
    })
    .await;
    for (service, key) in [(&orders, "orders-key"), (&billing, "billing-key")] {
        let (notice, pulled) = &service.notices()[0];
        assert_eq!(
            notice.header("x-vwo-auth"),
            Some(key),
            "each target gets its own key"
        );
        let body: Value = serde_json::from_slice(&notice.body).expect("json");
        assert_eq!(body["event"], "settings_changed");
        assert_eq!(body["timestamp"], 1_606_482_285, "VWO's notice, as VWO sent it");
        assert_eq!(
            *pulled,
            Some(2),
            "the relay served the new file before telling anyone"
        );
    }
    assert_eq!(
        vwo.fetches().len(),
        fetches + 1,
        "one fetch from VWO for the webhook"
    );
    let recorded = |running: &Running| {
        running.relay.status().environments[0]
            .targets
            .iter()
            .all(|t| t.delivered == 1)
    };
    eventually("the deliveries recorded", || recorded(&running)).await;
    let status: Value = reqwest::get(format!("http://{}/status", running.admin))
        .await
        .expect("status")
        .json()
        .await
        .expect("json");
    let production = &status["environments"][0];
    assert_eq!(production["targets"][0]["name"], "orders");
    assert_eq!(production["targets"][1]["name"], billing_addr.to_string());
    assert_eq!(production["targets"][0]["delivered"], 1);
    let text = status.to_string();
    for secret in [PRODUCTION_KEY, HOOK_SECRET, "orders-key", "billing-key"] {
        assert!(!text.contains(secret), "{secret} in the status");
    }
    // The other environment's targets and settings were not touched.
    let (_, staging) = get_json(&running.settings_url(STAGING_KEY)).await;
    assert_eq!(staging["version"].as_u64(), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_is_down_gets_the_notice_when_it_returns_without_delaying_the_others() {
    let vwo = FakeVwo::start().await;
    vwo.publish(PRODUCTION_KEY, settings(1, 10));
    vwo.publish(STAGING_KEY, settings(1, 10));
    let (down_addr, up_addr) = (free_port(), free_port());
    let targets = format!(
        r#"
[[environment.target]]
name = "down"
url = "http://{down_addr}/vwo-webhook"
key = "down-key"

[[environment.target]]
name = "up"
url = "http://{up_addr}/vwo-webhook"
key = "up-key"
"#
    );
    let running = start(&vwo, &targets, "").await;
    let (up, _) = FakeService::start_on(up_addr, None).await;
    assert!(running.relay.wait_until_ready(Duration::from_secs(10)).await);
    vwo.publish(PRODUCTION_KEY, settings(2, 11));
    assert!(running.deliver_webhook("production").await.is_success());
    eventually("the live target told", || up.notices().len() == 1).await;
    let failed = |running: &Running| running.relay.status().environments[0].targets[0].failed_attempts;
    eventually("several failed attempts on the dead target", || {
        failed(&running) >= 3
    })
    .await;
    assert!(running.relay.status().environments[0].targets[0].pending);

    let (down, _) = FakeService::start_on(down_addr, None).await;
    eventually("the returning target told", || down.notices().len() == 1).await;
    // Its answer reaches the relay just after.
    let settled = |running: &Running| {
        let target = &running.relay.status().environments[0].targets[0];
        target.delivered == 1 && !target.pending
    };
    eventually("the delivery recorded", || settled(&running)).await;
    assert_eq!(down.notices()[0].0.header("x-vwo-auth"), Some("down-key"));
    assert_eq!(up.notices().len(), 1, "the live target was told once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_vwo_as_the_sdk_sent_them_and_survive_an_outage() {
    let vwo = FakeVwo::start().await;
    vwo.publish(PRODUCTION_KEY, settings(1, 10));
    vwo.publish(STAGING_KEY, settings(1, 10));
    let running = start(&vwo, "", "").await;
    vwo.fail_events(2);
    let query = format!(
        "en=vwo_variationShown&a={ACCOUNT}&eTime=1700000000000&random=0.25&p=FS&visitor_ua=UA&visitor_ip=1.2.3.4&sn=vwo-fme-node-sdk&sv=1.35.0&env={PRODUCTION_KEY}"
    );
    let body = r#"{"d":{"msgId":"m","visId":"v","event":{"name":"vwo_variationShown"}}}"#;
    let client = reqwest::Client::new();
    let answer = client
        .post(running.url(&format!("/events/t?{query}")))
        .header("content-type", "application/json")
        .header("x-device-user-agent", "Mozilla/5.0")
        .header("vwo-x-forwarded-for", "1.2.3.4")
        .header("cookie", "session=not-for-vwo")
        .body(body)
        .send()
        .await
        .expect("answer");
    assert_eq!(answer.status(), 200, "accepted at once, while VWO is failing");
    let batch = r#"{"ev":[{"d":{"event":{"name":"vwo_syncVisitorProp"}}}]}"#;
    let answer = client
        .post(running.url(&format!(
            "/eu01/server-side/batch-events-v2?a={ACCOUNT}&env={STAGING_KEY}&sn=vwo-fme-python-sdk&sv=1.65.0"
        )))
        .header("authorization", STAGING_KEY)
        .header("content-type", "application/json")
        .body(batch)
        .send()
        .await
        .expect("answer");
    assert_eq!(answer.status(), 200);
    eventually("both event requests at VWO", || vwo.events().len() == 2).await;
    let events = vwo.events();
    let single = events.iter().find(|e| e.path == "/events/t").expect("the event");
    assert_eq!(single.query.as_deref(), Some(query.as_str()));
    assert_eq!(&single.body[..], body.as_bytes());
    assert_eq!(single.header("x-device-user-agent"), Some("Mozilla/5.0"));
    assert_eq!(single.header("vwo-x-forwarded-for"), Some("1.2.3.4"));
    assert_eq!(single.header("cookie"), None, "only what VWO reads is forwarded");
    let batched = events
        .iter()
        .find(|e| e.path == "/eu01/server-side/batch-events-v2")
        .expect("the batch, with its prefix");
    assert_eq!(batched.header("authorization"), Some(STAGING_KEY));
    assert_eq!(&batched.body[..], batch.as_bytes());
    // VWO's answer to the second request reaches the relay just after VWO recorded it.
    let drained = || {
        let status = running.relay.status().events;
        (status.forwarded, status.queued_bytes) == (2, 0)
    };
    eventually("both requests counted as forwarded, nothing queued", drained).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_event_requests_are_refused_and_bounded() {
    let vwo = FakeVwo::start().await;
    vwo.publish(PRODUCTION_KEY, settings(1, 10));
    vwo.publish(STAGING_KEY, settings(1, 10));
    // VWO takes nothing: every request stays queued.
    vwo.fail_events(usize::MAX);
    let running = start(&vwo, "", "event_body_limit = 1000\nevent_queue_bytes = 4000").await;
    let client = reqwest::Client::new();
    let post = |key: &str, body: String| {
        client
            .post(running.url(&format!("/events/t?a={ACCOUNT}&env={key}")))
            .body(body)
            .send()
    };
    let status = post("sdk-key-other", "{}".into()).await.expect("answer").status();
    assert_eq!(status, 401, "another key's events never reach VWO under ours");
    let status = post(PRODUCTION_KEY, "x".repeat(1001))
        .await
        .expect("answer")
        .status();
    assert_eq!(status, 413);
    let mut statuses = Vec::new();
    for _ in 0..10 {
        statuses.push(
            post(PRODUCTION_KEY, "y".repeat(900))
                .await
                .expect("answer")
                .status()
                .as_u16(),
        );
    }
    // Each costs its body, its path and a fixed overhead: two fit in 4,000 bytes.
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 2, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 503).count(), 8, "{statuses:?}");
    let events = running.relay.status().events;
    assert!(events.queued_bytes <= events.capacity_bytes);
    assert_eq!(events.queue_full, 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_interval_for_sdks_is_written_into_the_served_settings() {
    let vwo = FakeVwo::start().await;
    vwo.publish(PRODUCTION_KEY, settings(1, 10));
    vwo.publish(STAGING_KEY, settings(1, 10));
    let running = start(&vwo, "sdk_poll_interval = \"30s\"", "").await;
    assert!(running.relay.wait_until_ready(Duration::from_secs(10)).await);
    let (_, production) = get_json(&running.settings_url(PRODUCTION_KEY)).await;
    assert_eq!(production["pollInterval"], 30_000);
    assert_eq!(production["version"], 1);
    let (_, staging) = get_json(&running.settings_url(STAGING_KEY)).await;
    assert!(staging.get("pollInterval").is_none(), "only where configured");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_while_vwo_is_down_serves_the_last_good_settings_from_disk() {
    let dir = std::env::temp_dir().join(format!("vwo-relay-cache-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let cache = dir.join("production.json");
    let vwo = FakeVwo::start().await;
    vwo.publish(PRODUCTION_KEY, settings(7, 10));
    vwo.publish(STAGING_KEY, settings(1, 10));
    let cache_line = format!("cache_file = \"{}\"", cache.display());
    let first = start(&vwo, &cache_line, "").await;
    assert!(first.relay.wait_until_ready(Duration::from_secs(10)).await);
    support::eventually("the copy on disk", || cache.exists()).await;
    drop(first);

    // VWO is down: nothing listens where the settings come from.
    let config = RelayConfig::from_toml(&format!(
        r#"
[[environment]]
name = "production"
account_id = "{ACCOUNT}"
sdk_key = "{PRODUCTION_KEY}"
webhook_secrets = ["{HOOK_SECRET}"]
settings_base_url = "http://{}"
{cache_line}
"#,
        free_port()
    ))
    .expect("valid");
    let relay = Relay::start(config).expect("relay");
    assert!(relay.is_ready(), "ready from the copy on disk before any fetch");
    let public = support::serve(relay.public_router()).await;
    let (status, served) = get_json(&format!(
        "http://{public}/server-side/v2-settings?i={PRODUCTION_KEY}&a={ACCOUNT}"
    ))
    .await;
    assert_eq!((status, served["version"].as_u64()), (200, Some(7)));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_settings_file_never_replaces_the_good_one_and_tells_no_target() {
    let vwo = FakeVwo::start().await;
    vwo.publish(PRODUCTION_KEY, settings(1, 10));
    vwo.publish(STAGING_KEY, settings(1, 10));
    let target_addr = free_port();
    let targets =
        format!("[[environment.target]]\nurl = \"http://{target_addr}/vwo-webhook\"\nkey = \"k\"\n");
    let running = start(&vwo, &targets, "").await;
    let (service, _) = FakeService::start_on(target_addr, None).await;
    assert!(running.relay.wait_until_ready(Duration::from_secs(10)).await);
    vwo.publish(
        PRODUCTION_KEY,
        r#"{"accountId": 123456, "features": "not a list"}"#.to_owned(),
    );
    let status = running.deliver_webhook("production").await;
    assert!(!status.is_success(), "VWO is asked to deliver again: {status}");
    let (_, served) = get_json(&running.settings_url(PRODUCTION_KEY)).await;
    assert_eq!(served["version"].as_u64(), Some(1));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        service.notices().is_empty(),
        "no target told of a change that did not happen"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateways_lookups_go_upstream_when_configured_and_say_nothing_known_otherwise() {
    let vwo = FakeVwo::start().await;
    vwo.publish(PRODUCTION_KEY, settings(1, 10));
    vwo.publish(STAGING_KEY, settings(1, 10));
    let plain = start(&vwo, "", "").await;
    let details = format!("/get-user-details?userAgent=UA&ipAddress=1.2.3.4&accountId={ACCOUNT}");
    let attribute = format!("/check-attribute?attribute=a&listId=l&accountId={ACCOUNT}");
    let alias = format!("/user-alias/getAliasUserId?accountId={ACCOUNT}&sdkKey={PRODUCTION_KEY}&userId=u");
    assert_eq!(get_json(&plain.url(&details)).await, (200, serde_json::json!({})));
    assert_eq!(get_json(&plain.url(&attribute)).await, (200, Value::Bool(false)));
    let (status, body) = get_json(&plain.url(&alias)).await;
    assert_eq!(status, 501);
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("upstream_gateway")),
        "{body}"
    );
    let (status, _) = get_json(&plain.url("/get-user-details?accountId=999")).await;
    assert_eq!(status, 401, "an account the relay does not serve");

    // An upstream gateway answering from its own data.
    let upstream = support::serve(axum::Router::new().route(
        "/get-user-details",
        axum::routing::get(|| async {
            (
                [("content-type", "application/json")],
                r#"{"location": {"country": "IN"}}"#,
            )
        }),
    ))
    .await;
    let forwarding = start(&vwo, "", &format!("upstream_gateway = \"http://{upstream}\"")).await;
    let (status, body) = get_json(&forwarding.url(&details)).await;
    assert_eq!((status, &body["location"]["country"]), (200, &Value::from("IN")));
}

/// VWO's notice with `timestamp`, delivered to the production webhook.
async fn deliver_at(running: &Running, timestamp: u64) -> reqwest::StatusCode {
    reqwest::Client::new()
        .post(running.url("/vwo-webhook/production"))
        .header("x-vwo-auth", HOOK_SECRET)
        .body(format!(
            r#"{{"timestamp":{timestamp},"event":"settings_changed"}}"#
        ))
        .send()
        .await
        .expect("the relay answers")
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_the_relays_own_poll_finds_is_announced_to_the_targets() {
    let vwo = FakeVwo::start().await;
    vwo.publish(PRODUCTION_KEY, settings(1, 10));
    vwo.publish(STAGING_KEY, settings(1, 10));
    let target = free_port();
    let targets = format!(
        "poll_interval = \"200ms\"\n[[environment.target]]\nurl = \"http://{target}/vwo-webhook\"\nkey = \"k\"\n"
    );
    let running = start(&vwo, &targets, "").await;
    let (service, _) = FakeService::start_on(target, None).await;
    assert!(running.relay.wait_until_ready(Duration::from_secs(10)).await);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        service.notices().is_empty(),
        "polls that find nothing new tell no one"
    );

    // No webhook: the poll finds the change.
    vwo.publish(PRODUCTION_KEY, settings(2, 11));
    eventually("the target told of the change the poll found", || {
        !service.notices().is_empty()
    })
    .await;
    let body: Value = serde_json::from_slice(&service.notices()[0].0.body).expect("json");
    assert_eq!(body["event"], "settings_changed");
    assert_eq!(body["triggered_by"], "vwo-webhook-relay");
    let (_, served) = get_json(&running.settings_url(PRODUCTION_KEY)).await;
    assert_eq!(served["version"].as_u64(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_notice_replaces_the_one_being_retried() {
    let vwo = FakeVwo::start().await;
    vwo.publish(PRODUCTION_KEY, settings(1, 10));
    vwo.publish(STAGING_KEY, settings(1, 10));
    let target = free_port();
    let targets = format!("[[environment.target]]\nurl = \"http://{target}/vwo-webhook\"\nkey = \"k\"\n");
    let running = start(&vwo, &targets, "").await;
    assert!(running.relay.wait_until_ready(Duration::from_secs(10)).await);
    assert!(deliver_at(&running, 1_000).await.is_success());
    let failed = |running: &Running| running.relay.status().environments[0].targets[0].failed_attempts;
    eventually("the first notice retried", || failed(&running) >= 2).await;
    assert!(deliver_at(&running, 2_000).await.is_success());
    let before = failed(&running);
    eventually("the newer notice retried", || failed(&running) > before + 1).await;

    let (service, _) = FakeService::start_on(target, None).await;
    eventually("the returning target told", || !service.notices().is_empty()).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let notices = service.notices();
    assert_eq!(notices.len(), 1, "told once, of the newest");
    let body: Value = serde_json::from_slice(&notices[0].0.body).expect("json");
    assert_eq!(body["timestamp"], 2_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_is_given_up_on_after_the_schedules_limit() {
    let vwo = FakeVwo::start().await;
    vwo.publish(PRODUCTION_KEY, settings(1, 10));
    vwo.publish(STAGING_KEY, settings(1, 10));
    let target = free_port();
    let targets = format!(
        "[[environment.target]]\nname = \"gone\"\nurl = \"http://{target}/vwo-webhook\"\nkey = \"k\"\n"
    );
    let schedule = NoticeSchedule {
        min_wait: Duration::from_millis(20),
        max_wait: Duration::from_millis(40),
        give_up_after: Duration::from_millis(300),
        ..NoticeSchedule::default()
    };
    let running = start_with(&vwo, &targets, "", schedule).await;
    assert!(running.relay.wait_until_ready(Duration::from_secs(10)).await);
    assert!(deliver_at(&running, 1_000).await.is_success());
    let target_status = |running: &Running| running.relay.status().environments[0].targets[0].clone();
    eventually("given up", || target_status(&running).given_up == 1).await;
    let status = target_status(&running);
    assert!(!status.pending);
    assert!(status.failed_attempts >= 3, "{status:?}");
    assert_eq!(status.delivered, 0);
    let attempts = status.failed_attempts;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        target_status(&running).failed_attempts,
        attempts,
        "no attempt after giving up"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_vwo_refuses_with_a_4xx_is_counted_and_not_retried() {
    let vwo = FakeVwo::start().await;
    vwo.publish(PRODUCTION_KEY, settings(1, 10));
    vwo.publish(STAGING_KEY, settings(1, 10));
    let running = start(&vwo, "", "").await;
    vwo.fail_events_with(1, 400);
    let answer = reqwest::Client::new()
        .post(running.url(&format!("/events/t?a={ACCOUNT}&env={PRODUCTION_KEY}")))
        .body("{}")
        .send()
        .await
        .expect("answer");
    assert_eq!(answer.status(), 200);
    eventually("VWO's refusal counted", || {
        running.relay.status().events.refused_by_vwo == 1
    })
    .await;
    // A retry would reach VWO now: it takes the next one.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(vwo.events().is_empty(), "not sent again");
    let events = running.relay.status().events;
    assert_eq!((events.forwarded, events.queued_bytes), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_sends_its_event_body_too_slowly_gets_408() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let vwo = FakeVwo::start().await;
    vwo.publish(PRODUCTION_KEY, settings(1, 10));
    vwo.publish(STAGING_KEY, settings(1, 10));
    let running = start(&vwo, "", "").await;
    let mut stream = tokio::net::TcpStream::connect(running.public)
        .await
        .expect("connect");
    let head = format!(
        "POST /events/t?a={ACCOUNT}&env={PRODUCTION_KEY} HTTP/1.1\r\nHost: relay\r\nContent-Length: 100\r\n\r\n{{\"d\":"
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    // The rest never comes: the relay gives up after 10 s.
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the relay closed the exchange in time");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(vwo.events().is_empty());
}
