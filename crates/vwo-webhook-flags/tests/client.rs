//! The client's lifecycle against a real local settings host that is up, down, or refuses the
//! SDK key; with and without a cache file; its webhook, its hooks, and closing it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use vwo_webhook::Keyring;
use vwo_webhook_flags::{Client, ClientError, Context, Reason};
use vwo_webhook_settings::SdkKey;
use vwo_webhook_testkit::{Origin, Reply};

const ACCOUNT: &str = "12345";
const SDK_KEY: &str = "client-test-sdk-key";
/// VWO's e2e settings: `feature1` is rolled out to everyone.
const SETTINGS: &str = include_str!("../testdata/vwo-e2e/settings/RolloutAndTestingSettings.json");

fn builder(base_url: &str) -> vwo_webhook_flags::ClientBuilder {
    Client::builder(ACCOUNT, SdkKey::new(SDK_KEY))
        .base_url(base_url)
        .events_off()
        .ready_timeout(Duration::from_secs(2))
}

fn user() -> Context {
    Context::new("user-1").expect("context")
}

/// A loopback address nothing listens on.
fn nowhere() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}")
}

#[tokio::test]
async fn build_returns_once_the_first_settings_are_fetched() {
    let origin = Origin::start(SETTINGS, "\"v1\"").await.expect("origin");
    let client = builder(&origin.base_url()).build().await.expect("a client");
    assert!(client.is_ready());
    let flag = client.get_flag("feature1", &user());
    assert!(flag.is_enabled(), "{flag:?}");
    let all = client.all_flags(&user());
    assert_eq!(all.keys().collect::<Vec<_>>(), ["feature1"]);
    assert!(all["feature1"].is_enabled());
    client.close().await;
}

#[tokio::test]
async fn with_the_host_down_a_cache_file_starts_the_client() {
    let dir = std::env::temp_dir().join(format!("vwo-client-cache-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let cache = dir.join("settings.json");
    let origin = Origin::start(SETTINGS, "\"v1\"").await.expect("origin");
    let first = builder(&origin.base_url())
        .cache_file(&cache)
        .build()
        .await
        .expect("a client");
    first.close().await;
    assert!(cache.exists(), "the first client wrote its cache");

    let started = Instant::now();
    let client = builder(&nowhere())
        .cache_file(&cache)
        .build()
        .await
        .expect("a client on its cache");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "no wait for the timeout"
    );
    assert!(client.get_flag("feature1", &user()).is_enabled());
    client.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn with_the_host_down_and_no_cache_build_fails_after_its_timeout_naming_the_cause() {
    let started = Instant::now();
    let error = builder(&nowhere()).build().await.expect_err("no settings");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(1_500) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    let ClientError::Timeout { last, .. } = &error else {
        panic!("a timeout, not {error:?}");
    };
    assert!(last.contains("could not reach"), "{last}");
    assert!(!error.to_string().contains(SDK_KEY), "{error}");
}

#[tokio::test]
async fn a_refused_sdk_key_fails_at_once() {
    let origin = Origin::start(SETTINGS, "\"v1\"").await.expect("origin");
    origin.fail(Some(401));
    let started = Instant::now();
    let error = builder(&origin.base_url()).build().await.expect_err("refused");
    assert!(started.elapsed() < Duration::from_secs(1), "no retries on a 401");
    let ClientError::Refused(cause) = &error else {
        panic!("a refusal, not {error:?}");
    };
    assert!(cause.contains("401"), "{cause}");
    assert!(!format!("{error} {error:?}").contains(SDK_KEY));
}

#[tokio::test]
async fn a_client_built_in_the_background_answers_off_until_its_settings_land() {
    let origin = Origin::start(SETTINGS, "\"v1\"").await.expect("origin");
    origin.then(Reply::After(
        Duration::from_millis(300),
        Box::new(Reply::Json(SETTINGS, Some("\"v1\""))),
    ));
    let client = builder(&origin.base_url())
        .build_in_background()
        .expect("a client");
    assert_eq!(client.get_flag("feature1", &user()).reason(), Reason::NoSettings);
    client
        .wait_until_ready(Duration::from_secs(5))
        .await
        .expect("ready");
    assert!(client.get_flag("feature1", &user()).is_enabled());
    client.close().await;
}

#[tokio::test]
async fn a_webhook_delivery_refreshes_the_client_and_update_settings_does_too() {
    let origin = Origin::start(SETTINGS, "\"v1\"").await.expect("origin");
    let client = builder(&origin.base_url())
        .webhook_secrets(Keyring::from_comma_separated("hook-secret").expect("keyring"))
        .poll_interval(None)
        .build()
        .await
        .expect("a client");
    let receiver = client.receiver().expect("a receiver, with secrets");
    let before = origin.requests();
    let headers: [(&str, &[u8]); 1] = [("x-vwo-auth", b"hook-secret")];
    let answer = receiver
        .handle_buffered("POST", &headers, br#"{"timestamp":1606482285,"event":"settings_changed","action":"campaign_settings_changed","triggered_by":"vwo"}"#)
        .await;
    assert_eq!(answer.status(), 200, "{}", answer.body());
    assert_eq!(origin.requests(), before + 1, "the delivery fetched");
    client.update_settings().await.expect("a refresh");
    assert_eq!(origin.requests(), before + 2);

    client.close().await;
    client.close().await; // idempotent
    assert!(matches!(client.update_settings().await, Err(ClientError::Closed)));
    let after = receiver
        .handle_buffered("POST", &headers, br#"{"timestamp":1606482285,"event":"settings_changed","action":"campaign_settings_changed","triggered_by":"vwo"}"#)
        .await;
    assert_eq!(
        after.status(),
        500,
        "a closed client refreshes nothing: {}",
        after.body()
    );
    assert_eq!(origin.requests(), before + 2, "no fetch after close");
    assert!(
        client.get_flag("feature1", &user()).is_enabled(),
        "decisions still answer"
    );
}

#[tokio::test]
async fn the_client_polls_at_the_settings_own_poll_interval_by_default() {
    let mut settings: serde_json::Value = serde_json::from_str(SETTINGS).expect("JSON");
    settings["pollInterval"] = serde_json::json!(200);
    let origin = Origin::start(&settings.to_string(), "\"v1\"")
        .await
        .expect("origin");
    let client = builder(&origin.base_url()).build().await.expect("a client");
    let first = origin.requests();
    vwo_webhook_testkit::wait::until(
        "two polls at the settings' 200 ms (the default is 10 minutes)",
        Duration::from_secs(10),
        || origin.requests() >= first + 2,
    )
    .await;
    client.close().await;
}

#[tokio::test]
async fn the_decision_hook_sees_every_decision_and_a_panicking_one_breaks_none() {
    let origin = Origin::start(SETTINGS, "\"v1\"").await.expect("origin");
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let calls = Arc::new(AtomicUsize::new(0));
    let (seen_in_hook, calls_in_hook) = (Arc::clone(&seen), Arc::clone(&calls));
    let client = builder(&origin.base_url())
        .on_decision(move |info| {
            seen_in_hook.lock().expect("lock").push(info.to_sdk_json());
            if calls_in_hook.fetch_add(1, Ordering::SeqCst) == 0 {
                panic!("a hook's bug");
            }
        })
        .build()
        .await
        .expect("a client");
    assert!(
        client.get_flag("feature1", &user()).is_enabled(),
        "the first hook panics"
    );
    assert!(client.get_flag("feature1", &user()).is_enabled());
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    let seen = seen.lock().expect("lock").clone();
    assert_eq!(seen[1]["featureKey"], "feature1");
    assert_eq!(seen[1]["featureId"], 1);
    assert_eq!(seen[1]["userId"], "user-1");
    assert_eq!(seen[1]["rolloutKey"], "feature1_rolloutRule1");
    assert_eq!(seen[1]["isPartOfHoldout"], false);
    assert_eq!(seen[1]["isHoldoutPresent"], false);
    assert_eq!(seen[1]["isUserPartOfCampaign"], true);
    client.close().await;
}

#[test]
fn from_env_needs_the_account_and_the_key_and_names_what_is_missing() {
    let error = vwo_webhook_flags::ClientBuilder::from_env_with(|name| {
        (name == vwo_webhook_flags::env::ACCOUNT_ID).then(|| ACCOUNT.to_owned())
    })
    .expect_err("no key");
    assert!(matches!(error, ClientError::MissingEnv("VWO_SDK_KEY")), "{error}");
    let error = vwo_webhook_flags::ClientBuilder::from_env_with(|name| match name {
        "VWO_ACCOUNT_ID" => Some(ACCOUNT.to_owned()),
        "VWO_SDK_KEY" => Some(SDK_KEY.to_owned()),
        "VWO_WEBHOOK_SECRET" => Some(" , ".to_owned()),
        _ => None,
    })
    .expect_err("no usable secret");
    assert!(
        matches!(
            error,
            ClientError::BadEnv {
                name: "VWO_WEBHOOK_SECRET",
                ..
            }
        ),
        "{error}"
    );
    assert!(!format!("{error:?}").contains(SDK_KEY));
}
