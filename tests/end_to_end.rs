//! The examples' environment contract, served through the axum adapter over real HTTP: what a
//! person gets from `VWO_WEBHOOK_SECRET=s3cret cargo run --example axum`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use vwo_webhook::Probes;
use vwo_webhook_conformance::Server;
use vwo_webhook_conformance::blackbox::{CHECKS, Target};
use vwo_webhook_conformance::client::{Request, Response};
use vwo_webhook_examples::{ConfigError, DOCUMENTED_PAYLOAD, Example, METRICS_PATH, Metrics, STATUS_PATH};
use vwo_webhook_flags::Flags;
use vwo_webhook_settings::SettingsStore;
use vwo_webhook_testkit::ChangingOrigin;

fn example(vars: &[(&str, &str)]) -> Result<Example, ConfigError> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Example::from_lookup(|name| vars.get(name).cloned())
}

/// Serves the example's receiver, its probes and its metrics through axum, as the axum example
/// does, with the settings backend the environment asks for.
fn serve(example: &Example) -> Server {
    serve_with_store(example).0
}

/// [`serve`], and the store the server keeps fresh.
fn serve_with_store(example: &Example) -> (Server, Arc<SettingsStore>) {
    let example = example.clone();
    let (store_tx, store_rx) = std::sync::mpsc::channel();
    let server = Server::spawn_tokio(move |listener| async move {
        let (settings, reporter) = example.backends().expect("settings backend and reporter");
        let store = settings.store();
        let _ = store_tx.send(Arc::clone(&store));
        let receiver = example.receiver(settings).expect("receiver");
        let metrics = Metrics::install(Arc::clone(&store)).expect("metrics");
        let flags = Flags::builder().reporter(reporter).follow(Arc::clone(&store));
        let app: Router = Router::new()
            .route(METRICS_PATH, get(move || async move { metrics.render() }))
            .merge(vwo_webhook_axum::router(receiver))
            .merge(vwo_webhook_axum::probes(Probes::shared(store)))
            .merge(vwo_webhook_examples::flags::router(flags));
        let _ = axum::serve(listener, app).await;
    });
    let store = store_rx.recv().expect("the server's settings store");
    (server, store)
}

fn send(server: &Server, request: Request) -> Response {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(request.send(server.addr()))
        .expect("response")
}

fn deliver(server: &Server, key: Option<&str>) -> u16 {
    let mut request = Request::post("/vwo-webhook", DOCUMENTED_PAYLOAD);
    if let Some(key) = key {
        request = request.header("x-vwo-auth", key);
    }
    send(server, request).status
}

#[test]
fn configured_secret_is_the_only_key_accepted() {
    let example = example(&[("VWO_WEBHOOK_SECRET", "s3cret")]).expect("config");
    assert_eq!(example.addr.to_string(), "127.0.0.1:4000");
    let server = serve(&example);
    assert_eq!(deliver(&server, Some("s3cret")), 200);
    assert_eq!(deliver(&server, Some("wrong")), 401);
    assert_eq!(deliver(&server, None), 401);
    assert_eq!(send(&server, Request::new("GET", "/vwo-webhook")).status, 405);
    let huge = Request::post("/vwo-webhook", vec![b'x'; 1 << 20]).header("x-vwo-auth", "s3cret");
    assert_eq!(send(&server, huge).status, 413);
}

#[test]
fn comma_separated_secrets_are_all_accepted() {
    let example = example(&[
        ("VWO_WEBHOOK_SECRET", "old, new"),
        ("VWO_WEBHOOK_ADDR", "127.0.0.1:0"),
    ])
    .expect("config");
    let server = serve(&example);
    assert_eq!(deliver(&server, Some("old")), 200);
    assert_eq!(deliver(&server, Some("new")), 200);
    assert_eq!(deliver(&server, Some("old, new")), 401);
}

#[test]
fn without_a_secret_a_random_one_is_generated_and_enforced() {
    let first = example(&[]).expect("config");
    let second = example(&[]).expect("config");
    assert_eq!(first.keyring.len(), 1);
    let server = serve(&first);
    assert_eq!(
        deliver(&server, None),
        401,
        "a generated secret still fails closed"
    );
    assert_eq!(deliver(&server, Some("")), 401);
    // Two runs never share a generated secret.
    second.keyring.with_secrets(|secrets| {
        let other = std::str::from_utf8(secrets[0].expose()).expect("hex");
        assert_eq!(other.len(), 48);
        assert_eq!(deliver(&server, Some(other)), 401);
    });
    first.keyring.with_secrets(|secrets| {
        let own = std::str::from_utf8(secrets[0].expose()).expect("hex").to_owned();
        assert_eq!(deliver(&server, Some(&own)), 200);
    });
}

#[test]
fn bad_environment_is_a_clear_error() {
    let addr = example(&[("VWO_WEBHOOK_ADDR", "localhost")]).expect_err("not host:port");
    assert!(addr.to_string().contains("VWO_WEBHOOK_ADDR"));
    let admin = example(&[("VWO_WEBHOOK_ADMIN_ADDR", "4001")]).expect_err("not host:port");
    assert!(admin.to_string().contains("VWO_WEBHOOK_ADMIN_ADDR"));
    let loopback = example(&[]).expect("defaults");
    assert!(
        loopback.admin_addr.ip().is_loopback(),
        "internal endpoints stay off the network by default"
    );
    let secret = example(&[("VWO_WEBHOOK_SECRET", " , ")]).expect_err("no secret");
    assert!(secret.to_string().contains("VWO_WEBHOOK_SECRET"));
    for half in [("VWO_ACCOUNT_ID", "123456"), ("VWO_SDK_KEY", "key")] {
        let error = example(&[half]).expect_err("half the credentials");
        assert!(
            error.to_string().contains("both VWO_ACCOUNT_ID and VWO_SDK_KEY"),
            "{error}"
        );
    }
}

fn status(server: &Server) -> serde_json::Value {
    let response = send(server, Request::new("GET", STATUS_PATH));
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some("application/json"));
    response.json().expect("status JSON")
}

#[test]
fn without_credentials_each_webhook_refreshes_the_bundled_settings() {
    let example = example(&[
        ("VWO_WEBHOOK_SECRET", "s3cret"),
        ("VWO_WEBHOOK_ADDR", "127.0.0.1:0"),
    ])
    .expect("config");
    let (server, store) = serve_with_store(&example);
    assert_eq!(
        status(&server)["state"],
        "empty",
        "no fetch before the first webhook here"
    );
    assert_eq!(
        send(&server, Request::new("GET", "/ready")).status,
        503,
        "not ready without settings"
    );
    assert_eq!(send(&server, Request::new("GET", "/live")).status, 200);
    assert_eq!(deliver(&server, Some("s3cret")), 200);
    assert_eq!(
        send(&server, Request::new("GET", "/ready")).status,
        200,
        "ready once loaded"
    );
    let first = status(&server);
    assert_eq!(first["state"], "ok");
    assert_eq!(first["source"], "origin");
    let document: serde_json::Value =
        serde_json::from_str(vwo_webhook_examples::DEMO_SETTINGS).expect("demo JSON");
    assert_eq!(
        first["account_id"].as_str(),
        Some(document["accountId"].to_string().trim_matches('"'))
    );
    assert_eq!(
        first["version"].as_str(),
        Some(document["version"].to_string().trim_matches('"'))
    );
    assert!(
        !first.to_string().contains("offline-demo"),
        "the SDK key shows: {first}"
    );
    // Another webhook, another real fetch: a new snapshot replaces the first.
    let before = store.current().expect("the first snapshot");
    let mut changes = store.subscribe();
    changes.mark_unchanged();
    assert_eq!(deliver(&server, Some("s3cret")), 200);
    assert!(changes.has_changed().expect("store alive"), "no new snapshot");
    let after = store.current().expect("a snapshot");
    assert!(!Arc::ptr_eq(&before, &after), "the same snapshot after a refetch");
    assert!(after.fetched_at() >= before.fetched_at());
}

#[test]
fn vwo_credentials_point_the_backend_at_the_configured_origin() {
    // A base URL where nothing listens: the delivery asks VWO to redeliver, and the status
    // says why without showing the SDK key.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    let example = example(&[
        ("VWO_WEBHOOK_SECRET", "s3cret"),
        ("VWO_WEBHOOK_ADDR", "127.0.0.1:0"),
        ("VWO_ACCOUNT_ID", "654321"),
        ("VWO_SDK_KEY", "very-secret-sdk-key"),
        ("VWO_SETTINGS_BASE_URL", &base),
    ])
    .expect("config");
    let server = serve(&example);
    assert_eq!(deliver(&server, Some("s3cret")), 503);
    let status = status(&server);
    assert_eq!(status["state"], "empty");
    let error = status["last_error"]["message"]
        .as_str()
        .expect("an error")
        .to_owned();
    assert!(error.contains("could not reach"), "{error}");
    assert!(!status.to_string().contains("very-secret-sdk-key"), "{status}");
}

#[test]
fn the_black_box_checks_pass_with_the_examples_short_secret() {
    // What `cargo xtask conformance --url .. --secret s3cret` runs against a running example.
    let example = example(&[
        ("VWO_WEBHOOK_SECRET", "s3cret"),
        ("VWO_WEBHOOK_ADDR", "127.0.0.1:0"),
    ])
    .expect("config");
    let server = serve(&example);
    let target = Target::new(
        server.addr(),
        "localhost",
        "/vwo-webhook",
        "s3cret",
        vwo_webhook::DEFAULT_BODY_LIMIT,
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for (name, check) in CHECKS {
        tracing::info!(name, "black-box check");
        runtime.block_on(check(target.clone()));
    }
}

/// The value of the Prometheus sample `name{labels}` (labels as rendered, in order), or 0.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

#[test]
fn metrics_count_deliveries_refreshes_and_origin_errors() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    let offline = serve(
        &example(&[
            ("VWO_WEBHOOK_SECRET", "s3cret"),
            ("VWO_WEBHOOK_ADDR", "127.0.0.1:0"),
        ])
        .expect("config"),
    );
    let failing = serve(
        &example(&[
            ("VWO_WEBHOOK_SECRET", "s3cret"),
            ("VWO_WEBHOOK_ADDR", "127.0.0.1:0"),
            ("VWO_ACCOUNT_ID", "654321"),
            ("VWO_SDK_KEY", "very-secret-sdk-key"),
            ("VWO_SETTINGS_BASE_URL", &base),
        ])
        .expect("config"),
    );
    let scrape = || {
        let response = send(&offline, Request::new("GET", METRICS_PATH));
        assert_eq!(response.status, 200);
        response.text()
    };
    let accepted = r#"vwo_webhook_deliveries_total{outcome="accepted",status="200"}"#;
    let refused = r#"vwo_webhook_deliveries_total{outcome="refused",status="401",check="authentication"}"#;
    let failed = r#"vwo_webhook_refresh_runs_total{trigger="webhook",result="transient_failure"}"#;
    let unreachable = r#"vwo_webhook_settings_fetch_errors_total{kind="connect"}"#;
    let before = scrape();
    assert_eq!(deliver(&offline, Some("s3cret")), 200);
    assert_eq!(deliver(&offline, Some("a-guess")), 401);
    assert_eq!(
        deliver(&failing, Some("s3cret")),
        503,
        "the origin cannot be reached"
    );
    let after = scrape();
    for series in [accepted, refused, failed, unreachable] {
        assert!(
            sample(&after, series) > sample(&before, series),
            "{series} did not move:\n{after}"
        );
    }
    assert!(
        sample(&after, "vwo_webhook_settings_fetched_timestamp_seconds") > 1.7e9,
        "{after}"
    );
    assert!(after.contains("vwo_webhook_settings_age_seconds"), "{after}");
    for secret in ["s3cret", "a-guess", "very-secret-sdk-key"] {
        assert!(!after.contains(secret), "{secret} in the metrics");
    }
}

/// The demo settings with every rollout at 0% traffic: feature1 is off for everyone.
pub fn rollouts_off(document: &str) -> String {
    let mut settings: serde_json::Value = serde_json::from_str(document).expect("JSON");
    for campaign in settings["campaigns"].as_array_mut().expect("campaigns") {
        if campaign["type"] == "FLAG_ROLLOUT" {
            for variation in campaign["variations"].as_array_mut().expect("variations") {
                variation["weight"] = serde_json::json!(0);
            }
        }
    }
    settings.to_string()
}

fn flag(server: &Server, query: &str) -> serde_json::Value {
    let response = send(server, Request::new("GET", &format!("/flags/feature1?{query}")));
    assert_eq!(
        response.status,
        200,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    serde_json::from_slice(&response.body).expect("JSON")
}

#[test]
fn a_flag_changed_at_the_origin_changes_the_next_decision_once_the_webhook_is_answered() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let origin = {
        let _inside = runtime.enter();
        ChangingOrigin::spawn(vwo_webhook_examples::DEMO_SETTINGS, std::time::Duration::ZERO).expect("origin")
    };
    let demo: serde_json::Value = serde_json::from_str(vwo_webhook_examples::DEMO_SETTINGS).expect("JSON");
    let base_url = format!("http://{}", origin.addr());
    let account = demo["accountId"].to_string();
    let example = example(&[
        ("VWO_WEBHOOK_SECRET", "s3cret"),
        ("VWO_ACCOUNT_ID", account.trim_matches('"')),
        ("VWO_SDK_KEY", "sdk-key"),
        ("VWO_SETTINGS_BASE_URL", &base_url),
    ])
    .expect("config");
    let server = serve(&example);
    let response = send(&server, Request::new("GET", "/flags/feature1?user=user-1"));
    assert_eq!(response.status, 503, "no decisions before the first settings");
    // The first delivery brings the first settings.
    assert_eq!(deliver(&server, Some("s3cret")), 200);
    let before = flag(&server, "user=user-1&price=200");
    assert_eq!(before["enabled"], true, "{before}");
    assert_eq!(before["rollout"]["key"], "feature1_rolloutRule1", "{before}");

    origin
        .set_document(&rollouts_off(vwo_webhook_examples::DEMO_SETTINGS))
        .expect("document");
    assert_eq!(deliver(&server, Some("s3cret")), 200);
    let after = flag(&server, "user=user-1&price=200");
    assert_eq!(
        after["enabled"], false,
        "the first decision after the 200: {after}"
    );
    assert_eq!(after["variables"], serde_json::json!({}), "{after}");
}

#[test]
fn a_decision_s_impression_reaches_the_settings_host_within_seconds() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let origin = {
        let _inside = runtime.enter();
        ChangingOrigin::spawn(vwo_webhook_examples::DEMO_SETTINGS, std::time::Duration::ZERO).expect("origin")
    };
    let demo: serde_json::Value = serde_json::from_str(vwo_webhook_examples::DEMO_SETTINGS).expect("JSON");
    let account = demo["accountId"].to_string();
    let account = account.trim_matches('"');
    let base_url = format!("http://{}", origin.addr());
    let example = example(&[
        ("VWO_WEBHOOK_SECRET", "s3cret"),
        ("VWO_ACCOUNT_ID", account),
        ("VWO_SDK_KEY", "sdk-key"),
        ("VWO_SETTINGS_BASE_URL", &base_url),
    ])
    .expect("config");
    let server = serve(&example);
    assert_eq!(deliver(&server, Some("s3cret")), 200);
    let decision = flag(&server, "user=user-1&price=200");
    assert_eq!(decision["enabled"], true, "{decision}");
    // An impression for each rule that put the user in a variation.
    let expected: Vec<serde_json::Value> = [&decision["rollout"], &decision["experiment"]]
        .into_iter()
        .filter(|rule| !rule.is_null())
        .map(|rule| rule["campaign_id"].clone())
        .collect();
    assert!(!expected.is_empty(), "{decision}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let shown = loop {
        let shown: Vec<serde_json::Value> = origin
            .events()
            .into_iter()
            .filter(|e| e["d"]["event"]["name"] == "vwo_variationShown")
            .collect();
        if shown.len() >= expected.len() || std::time::Instant::now() > deadline {
            break shown;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let ids: Vec<serde_json::Value> = shown
        .iter()
        .map(|e| e["d"]["event"]["props"]["id"].clone())
        .collect();
    assert_eq!(ids, expected, "sent within the examples' second: {shown:?}");
    for event in &shown {
        assert_eq!(
            event["d"]["visId"],
            vwo_webhook_flags::user_uuid("user-1", account)
        );
        assert_eq!(event["d"]["event"]["props"]["vwo_envKey"], "sdk-key");
    }
    assert_eq!(origin.fetches(), 1, "events are not fetches");
}

#[test]
fn reporting_is_on_unless_turned_off() {
    let off = example(&[("VWO_WEBHOOK_SECRET", "s3cret"), ("VWO_REPORT_EVENTS", "off")]).expect("config");
    let origin = vwo_webhook_examples::Origin {
        account_id: "1".into(),
        sdk_key: vwo_webhook_settings::SdkKey::new("k"),
        base_url: None,
    };
    assert!(off.reporting(&origin).is_none());
    let on = example(&[("VWO_WEBHOOK_SECRET", "s3cret")]).expect("config");
    assert!(on.reporting(&origin).is_some(), "on by default");
}
