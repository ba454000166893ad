//! The backend against a real local HTTP origin that misbehaves on cue. In every case the last
//! good settings survive and the answer to VWO is the one the status table asks for.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use vwo_webhook::{AckPolicy, FailureKind, Keyring, Receiver, Refresh, RetryPolicy, Trigger};
use vwo_webhook_settings::{SdkKey, SettingsStore, Source, VwoSettings};
use vwo_webhook_testkit::origin::Seen;
use vwo_webhook_testkit::{Origin, Reply};

const SDK_KEY: &str = "sdk-key-0123456789abcdef";
const ACCOUNT: &str = "123456";
const GOOD: &str = include_str!("../testdata/RolloutAndTestingSettings.json");
const OTHER: &str = include_str!("../testdata/OnlyRolloutSettings.json");
const INVALID: &str = include_str!("../testdata/SettingsWithWrongTypeForValues.json");
/// `features` and `campaigns` as `{}`: refused by the SDK's `updateSettings()`, normalized to
/// `[]` by its `init()` and polling.
const EMPTY_OBJECTS: &str = include_str!("../testdata/SettingsWithNoFeatureAndCampign.json");
const NOTICE: &[u8] = br#"{"timestamp":1606482285,"event":"settings_changed"}"#;

/// The kit's scripted origin, publishing GOOD as `"v1"`.
async fn start_origin() -> Origin {
    Origin::start(GOOD, "\"v1\"").await.expect("origin")
}

fn settings(
    base_url: &str,
    configure: impl FnOnce(vwo_webhook_settings::SettingsBuilder) -> vwo_webhook_settings::SettingsBuilder,
) -> VwoSettings {
    configure(VwoSettings::builder(ACCOUNT, SdkKey::new(SDK_KEY)).base_url(base_url))
        .build()
        .expect("settings backend")
}

/// No retry within a refresh, and no pause before the next one: each delivery fetches.
fn no_retry() -> RetryPolicy {
    RetryPolicy::none().with_initial_delay(Duration::ZERO)
}

fn receiver(settings: &VwoSettings, retry: RetryPolicy) -> Receiver {
    Receiver::builder(settings.clone())
        .retry_policy(retry)
        .keyring(Keyring::from_comma_separated("s3cret").expect("key"))
        .build()
        .expect("receiver")
}

/// What VWO gets for a delivery.
async fn deliver(receiver: &Receiver) -> u16 {
    let headers: [(&str, &[u8]); 1] = [("x-vwo-auth", b"s3cret")];
    receiver.handle_buffered("POST", &headers, NOTICE).await.status()
}

/// A backend whose store already holds GOOD from the origin, a receiver that does not retry,
/// and the good snapshot.
async fn primed(
    configure: impl FnOnce(vwo_webhook_settings::SettingsBuilder) -> vwo_webhook_settings::SettingsBuilder,
) -> (Origin, VwoSettings, Receiver, Arc<vwo_webhook_settings::Snapshot>) {
    let origin = start_origin().await;
    let settings = settings(&origin.base_url(), configure);
    let receiver = receiver(&settings, no_retry());
    assert_eq!(deliver(&receiver).await, 200, "priming fetch");
    let good = settings.store().current().expect("primed");
    (origin, settings, receiver, good)
}

/// The store still holds `good`, and its last error says `needle` without the SDK key.
fn kept(store: &SettingsStore, good: &Arc<vwo_webhook_settings::Snapshot>, needle: &str) {
    let current = store.current().expect("settings kept");
    assert!(Arc::ptr_eq(&current, good), "the good snapshot was replaced");
    let error = store.last_error().expect("the failure is recorded").message;
    assert!(error.contains(needle), "{error:?} should mention {needle:?}");
    assert!(!error.contains(SDK_KEY), "the SDK key leaked into {error:?}");
}

#[tokio::test]
async fn a_304_is_a_successful_check_that_clears_the_last_error() {
    let (origin, settings, receiver, good) = primed(|b| b).await;
    let store = settings.store();
    let first = store.confirmed_at().expect("the priming fetch confirms");
    assert_eq!(Some(first), Some(good.fetched_at()));
    origin.then(Reply::Status(500, &[]));
    assert_eq!(deliver(&receiver).await, 503);
    kept(&store, &good, "500");
    assert_eq!(store.confirmed_at(), Some(first), "a failure confirms nothing");
    // The origin is back and the settings have not changed: it answers 304.
    assert_eq!(deliver(&receiver).await, 200);
    assert_eq!(
        origin.seen().last().map(|seen| seen.if_none_match.as_deref()),
        Some(Some("\"v1\""))
    );
    assert!(Arc::ptr_eq(&store.current().expect("kept"), &good));
    assert_eq!(store.last_error(), None, "a 304 is a successful check");
    let confirmed = store.confirmed_at().expect("confirmed");
    assert!(confirmed > first, "the 304 moved the confirmation forward");
    let status = store.status();
    assert_eq!(status.fetched_at_unix, Some(unix(good.fetched_at())));
    assert_eq!(status.confirmed_at_unix, Some(unix(confirmed)));
    assert!(
        status.since_confirmed_seconds.is_some_and(|s| s < 60.0),
        "{status:?}"
    );
}

fn unix(at: std::time::SystemTime) -> u64 {
    at.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[tokio::test]
async fn fetches_like_the_sdks_and_revalidates_with_the_etag() {
    let (origin, settings, receiver, good) = primed(|b| b).await;
    assert_eq!(good.source(), Source::Origin);
    assert_eq!(good.etag(), Some("\"v1\""));
    assert_eq!(good.raw().as_ref(), GOOD.as_bytes());
    let mut changes = settings.store().subscribe();
    changes.mark_unchanged();
    // Unchanged at the origin: 304, no swap, no notification, still 200 to VWO.
    assert_eq!(deliver(&receiver).await, 200);
    assert!(Arc::ptr_eq(&settings.store().current().expect("kept"), &good));
    assert!(!changes.has_changed().expect("store alive"));
    // A manual refresh uses v2-settings; webhooks use v2-pull, as the SDKs do.
    settings.refresh(Trigger::Manual).await.expect("manual refresh");
    let seen = origin.seen();
    assert_eq!(seen.len(), 3);
    for Seen { line, .. } in &seen[..2] {
        assert!(line.starts_with("GET /server-side/v2-pull?"), "{line}");
    }
    assert!(
        seen[2].line.starts_with("GET /server-side/v2-settings?"),
        "{}",
        seen[2].line
    );
    let query = &seen[0].line;
    for part in [
        &format!("i={SDK_KEY}"),
        "&r=0.",
        &format!("&a={ACCOUNT}"),
        "&platform=server",
        "&api-version=1",
        "&sn=",
        "&sv=",
        "&s=prod",
    ] {
        assert!(query.contains(part), "{query} should contain {part}");
    }
    assert_eq!(
        seen[0].if_none_match, None,
        "no If-None-Match before an ETag is known"
    );
    assert_eq!(seen[1].if_none_match.as_deref(), Some("\"v1\""));
    // A new document is swapped in and announced.
    origin.publish(OTHER, "\"v2\"");
    assert_eq!(deliver(&receiver).await, 200);
    assert!(changes.has_changed().expect("store alive"));
    let current = changes.borrow_and_update().clone().expect("a snapshot");
    assert_eq!(current.raw().as_ref(), OTHER.as_bytes());
    assert_eq!(settings.store().status().etag.as_deref(), Some("\"v2\""));
}

#[tokio::test]
async fn a_500_keeps_the_settings_and_asks_vwo_to_redeliver() {
    let (origin, settings, receiver, good) = primed(|b| b).await;
    origin.then(Reply::Status(500, &[]));
    assert_eq!(deliver(&receiver).await, 503);
    kept(&settings.store(), &good, "answered 500");
}

#[tokio::test]
async fn a_503_then_200_is_retried_to_success() {
    let origin = start_origin().await;
    let settings = settings(&origin.base_url(), |b| b);
    let retry = RetryPolicy::default()
        .with_initial_delay(Duration::from_millis(10))
        .with_max_delay(Duration::from_millis(50))
        .with_deadline(Duration::from_secs(3));
    let receiver = receiver(&settings, retry);
    origin.then(Reply::Status(503, &[]));
    assert_eq!(deliver(&receiver).await, 200, "the coordinator retried the 503");
    assert_eq!(origin.seen().len(), 2);
    let status = settings.store().status();
    assert_eq!((status.state, status.last_error), ("ok", None));
}

#[tokio::test]
async fn a_slow_origin_times_out_and_keeps_the_settings() {
    let (origin, settings, receiver, good) = primed(|b| b.timeout(Duration::from_millis(200))).await;
    origin.then(Reply::After(
        Duration::from_secs(2),
        Box::new(Reply::Json(OTHER, None)),
    ));
    assert_eq!(deliver(&receiver).await, 503);
    kept(&settings.store(), &good, "did not answer in time");
}

#[tokio::test]
async fn invalid_json_is_refused_as_permanent() {
    let (origin, settings, receiver, good) = primed(|b| b).await;
    origin.then(Reply::Json(r#"{"version": 1, "accountId": "#, None));
    assert_eq!(deliver(&receiver).await, 500);
    kept(&settings.store(), &good, "not valid JSON");
}

#[tokio::test]
async fn a_truncated_body_is_transient_and_keeps_the_settings() {
    let (origin, settings, receiver, good) = primed(|b| b).await;
    origin.then(Reply::Truncated(OTHER));
    assert_eq!(deliver(&receiver).await, 503);
    kept(&settings.store(), &good, "could not be read");
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_declared_or_not() {
    let limit = GOOD.len() + 100;
    let (origin, settings, receiver, good) = primed(|b| b.max_size(limit)).await;
    origin.then(Reply::Json(
        include_str!("../testdata/MegRandomAlgoCampaignSettings.json"),
        None,
    ));
    assert_eq!(deliver(&receiver).await, 500);
    kept(&settings.store(), &good, "larger than");
    origin.then(Reply::Unsized(GOOD, 200));
    assert_eq!(
        deliver(&receiver).await,
        500,
        "no Content-Length: counted while reading"
    );
    kept(&settings.store(), &good, &format!("{limit}-byte limit"));
}

#[tokio::test]
async fn a_wrong_content_type_is_refused() {
    let (origin, settings, receiver, good) = primed(|b| b).await;
    origin.then(Reply::Typed("text/html", "<html>maintenance</html>"));
    assert_eq!(deliver(&receiver).await, 500);
    kept(&settings.store(), &good, "text/html");
}

#[tokio::test]
async fn a_429_honours_retry_after() {
    let (origin, settings, receiver, good) = primed(|b| b).await;
    origin.then(Reply::Status(429, &[("retry-after", "7")]));
    let error = settings.refresh(Trigger::Manual).await.expect_err("429");
    assert_eq!(
        error.kind(),
        FailureKind::Transient {
            retry_after: Some(Duration::from_secs(7))
        }
    );
    origin.then(Reply::Status(429, &[("retry-after", "7")]));
    assert_eq!(deliver(&receiver).await, 503);
    kept(&settings.store(), &good, "answered 429");
}

#[tokio::test]
async fn client_errors_are_permanent() {
    let (origin, settings, receiver, good) = primed(|b| b).await;
    for status in [400, 401, 403, 404] {
        origin.then(Reply::Status(status, &[]));
        assert_eq!(deliver(&receiver).await, 500, "{status}");
        kept(&settings.store(), &good, &format!("answered {status}"));
    }
}

#[tokio::test]
async fn a_refused_connection_is_transient() {
    let closed = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = closed.local_addr().expect("addr");
    drop(closed);
    let settings = settings(&format!("http://{addr}"), |b| b);
    let receiver = receiver(&settings, no_retry());
    assert_eq!(deliver(&receiver).await, 503);
    let status = settings.store().status();
    assert_eq!(status.state, "empty");
    let error = status.last_error.expect("recorded").message;
    assert!(error.contains("could not reach"), "{error}");
    assert!(!error.contains(SDK_KEY), "{error}");
}

#[tokio::test]
async fn a_document_failing_validation_never_replaces_good_settings() {
    let (origin, settings, receiver, good) = primed(|b| b).await;
    origin.then(Reply::Json(
        include_str!("../testdata/SettingsWithWrongTypeForValues.json"),
        None,
    ));
    assert_eq!(deliver(&receiver).await, 500);
    kept(&settings.store(), &good, "`$.sdkKey` must be a string");
}

#[tokio::test]
async fn a_change_published_during_a_refresh_is_picked_up_by_the_next_run() {
    let origin = start_origin().await;
    let settings = settings(&origin.base_url(), |b| b);
    let receiver = receiver(&settings, no_retry());
    // The first fetch is slow and serves the old document.
    origin.then(Reply::After(
        Duration::from_millis(400),
        Box::new(Reply::Json(GOOD, Some("\"v1\""))),
    ));
    let first = tokio::spawn({
        let receiver = receiver.clone();
        async move { deliver(&receiver).await }
    });
    // While it is in flight, VWO publishes a change and sends its webhook.
    origin.wait_requests(1).await;
    origin.publish(OTHER, "\"v2\"");
    assert_eq!(deliver(&receiver).await, 200);
    let current = settings.store().current().expect("settings");
    assert_eq!(
        current.raw().as_ref(),
        OTHER.as_bytes(),
        "the change made during the fetch was lost"
    );
    assert_eq!(first.await.expect("first delivery"), 200);
    assert_eq!(origin.seen().len(), 2, "one run for each, no more");
}

fn scratch_file() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "vwo-webhook-settings-test-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir.join("vwo-settings.json")
}

#[tokio::test]
async fn a_restart_during_an_outage_starts_with_the_last_good_settings() {
    let cache = scratch_file();
    let (_origin, _settings, _receiver, good) = primed(|b| b.cache_file(&cache)).await;
    assert_eq!(
        std::fs::read(&cache).expect("the copy was written"),
        good.raw().as_ref()
    );

    // The service restarts while the origin is down.
    let down = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = down.local_addr().expect("addr");
    drop(down);
    let restarted = settings(&format!("http://{addr}"), |b| b.cache_file(&cache));
    let store = restarted.store();
    let loaded = store.current().expect("settings from the copy");
    assert_eq!(loaded.source(), Source::Cache);
    assert_eq!(loaded.raw(), good.raw());
    let receiver = receiver(&restarted, no_retry());
    assert_eq!(deliver(&receiver).await, 503);
    kept(&store, &loaded, "could not reach");
}

#[tokio::test]
async fn a_corrupt_copy_is_reported_and_replaced_by_the_first_fetch() {
    let cache = scratch_file();
    std::fs::write(&cache, &GOOD.as_bytes()[..100]).expect("corrupt copy");
    let origin = start_origin().await;
    let settings = settings(&origin.base_url(), |b| b.cache_file(&cache));
    let status = settings.store().status();
    assert_eq!(status.state, "empty");
    let error = status.last_error.expect("reported").message;
    assert!(error.contains("holds no valid settings"), "{error}");
    let receiver = receiver(&settings, no_retry());
    assert_eq!(deliver(&receiver).await, 200);
    assert_eq!(std::fs::read(&cache).expect("rewritten"), GOOD.as_bytes());
    assert_eq!(settings.store().last_error(), None);
}

#[tokio::test]
async fn start_fetches_at_once_and_the_safety_net_polls() {
    let origin = start_origin().await;
    let settings = settings(&origin.base_url(), |b| {
        b.poll_interval(Some(Duration::from_millis(40)))
    });
    let receiver = receiver(&settings, no_retry());
    let poll = settings.start(receiver.coordinator());
    assert!(poll.is_some());
    origin.wait_requests(3).await;
    let seen = origin.seen();
    assert!(seen.len() >= 3, "{} fetches", seen.len());
    assert!(
        seen.iter()
            .all(|seen| seen.line.starts_with("GET /server-side/v2-settings?"))
    );
    assert!(settings.store().current().is_some());
    drop(poll);
    // Turned off: only the first fetch.
    let quiet = start_origin().await;
    let settings = self::settings(&quiet.base_url(), |b| b.poll_interval(None));
    let receiver = self::receiver(&settings, no_retry());
    let mut changes = settings.store().subscribe();
    assert!(
        settings.start(receiver.coordinator()).is_none(),
        "no poll task exists to fetch again"
    );
    tokio::time::timeout(Duration::from_secs(10), changes.changed())
        .await
        .expect("the first fetch within 10 s")
        .expect("store alive");
    assert_eq!(quiet.seen().len(), 1);
    assert_eq!(
        receiver.coordinator().generation(),
        1,
        "one refresh, none pending"
    );
}

#[test]
fn a_base_url_that_is_not_http_is_refused() {
    for url in ["ftp://example.com", "example.com", "http://"] {
        let error = VwoSettings::builder(ACCOUNT, SdkKey::new(SDK_KEY))
            .base_url(url)
            .build()
            .expect_err(url);
        assert!(
            error.to_string().contains("not an absolute http(s) URL"),
            "{error}"
        );
    }
    assert_eq!(format!("{:?}", SdkKey::new(SDK_KEY)), "SdkKey(***)");
}

/// Requests that carried no `If-None-Match` matching `etag`: the ones the origin answered with
/// the whole document.
fn full_fetches(origin: &Origin, etag: &str) -> usize {
    origin
        .seen()
        .iter()
        .filter(|seen| seen.if_none_match.as_deref() != Some(etag))
        .count()
}

#[tokio::test]
async fn redeliveries_of_a_refused_document_revalidate_instead_of_refetching_it() {
    let (origin, settings, receiver, good) = primed(|b| b).await;
    let before = origin.seen().len();
    origin.publish(INVALID, "\"broken\"");
    // VWO redelivers every 1-2 s for an hour: 60 of them.
    for n in 0..60 {
        assert_eq!(
            deliver(&receiver).await,
            500,
            "redelivery {n}: VWO must not think it applied"
        );
    }
    kept(&settings.store(), &good, "$.sdkKey");
    let requests = &origin.seen()[before..];
    assert_eq!(requests.len(), 60, "each redelivery asks the origin once");
    let full = requests
        .iter()
        .filter(|seen| seen.if_none_match.as_deref() != Some("\"broken\""))
        .count();
    assert_eq!(
        full, 1,
        "one full fetch; the rest revalidate the refused document (304)"
    );
    // Fixed at the origin: the next delivery picks it up.
    origin.publish(OTHER, "\"v3\"");
    assert_eq!(deliver(&receiver).await, 200);
    let current = settings.store().current().expect("settings");
    assert_eq!(current.raw().as_ref(), OTHER.as_bytes());
    assert_eq!(settings.store().last_error(), None);
}

#[tokio::test]
async fn a_refused_document_without_an_etag_is_not_refetched_within_the_window() {
    let (origin, settings, receiver, good) =
        primed(|b| b.refused_verdict_window(Duration::from_secs(600))).await;
    let before = origin.seen().len();
    origin.then(Reply::Json(INVALID, None));
    for _ in 0..10 {
        assert_eq!(deliver(&receiver).await, 500);
    }
    assert_eq!(origin.seen().len() - before, 1, "one fetch for ten redeliveries");
    kept(&settings.store(), &good, "$.sdkKey");
    // A poll follows the SDK's other path: it is not bound by a webhook's verdict.
    settings
        .refresh(Trigger::Manual)
        .await
        .expect("the poll fetches the published document");
    assert_eq!(origin.seen().len() - before, 2);

    // With the window off, every redelivery fetches.
    let (origin, _settings, receiver, _) = primed(|b| b.refused_verdict_window(Duration::ZERO)).await;
    let before = origin.seen().len();
    for _ in 0..3 {
        origin.then(Reply::Json(INVALID, None));
        assert_eq!(deliver(&receiver).await, 500);
    }
    assert_eq!(full_fetches(&origin, "-") - before, 3);
}

#[tokio::test]
async fn a_newer_notice_asks_the_origin_even_within_the_refused_window() {
    // The window is long, the origin sends no ETag: only the notice can tell a fix apart.
    let (origin, settings, receiver, good) =
        primed(|b| b.refused_verdict_window(Duration::from_secs(600))).await;
    let before = origin.seen().len();
    origin.then(Reply::Json(INVALID, None));
    for _ in 0..5 {
        assert_eq!(
            deliver(&receiver).await,
            500,
            "redeliveries of the refused notice"
        );
    }
    assert_eq!(origin.seen().len() - before, 1, "redeliveries reuse the verdict");
    kept(&settings.store(), &good, "$.sdkKey");

    // The user fixes the campaign in VWO's dashboard: VWO announces the change.
    origin.then(Reply::Json(OTHER, None));
    let newer = br#"{"timestamp":1606482999,"event":"settings_changed"}"#;
    let headers: [(&str, &[u8]); 1] = [("x-vwo-auth", b"s3cret")];
    assert_eq!(
        receiver.handle_buffered("POST", &headers, newer).await.status(),
        200
    );
    assert_eq!(origin.seen().len() - before, 2, "the newer notice fetched");
    let current = settings.store().current().expect("settings");
    assert_eq!(
        current.raw().as_ref(),
        OTHER.as_bytes(),
        "served at once, not after the window"
    );
    assert_eq!(settings.store().last_error(), None);
}

#[tokio::test]
async fn a_different_notice_for_a_still_invalid_document_fetches_once_and_keeps_the_good_settings() {
    let (origin, settings, receiver, good) =
        primed(|b| b.refused_verdict_window(Duration::from_secs(600))).await;
    let before = origin.seen().len();
    let headers: [(&str, &[u8]); 1] = [("x-vwo-auth", b"s3cret")];
    let other = br#"{"timestamp":1606482285,"event":"settings_changed","action":"feature_flag_updated"}"#;
    for _ in 0..2 {
        origin.then(Reply::Json(INVALID, None));
    }
    assert_eq!(deliver(&receiver).await, 500);
    // 40 redeliveries of each of two notices: one fetch per notice, not per delivery.
    for _ in 0..40 {
        assert_eq!(
            receiver.handle_buffered("POST", &headers, other).await.status(),
            500
        );
    }
    assert_eq!(origin.seen().len() - before, 2, "one fetch for each notice");
    kept(&settings.store(), &good, "$.sdkKey");
}

#[tokio::test]
async fn a_failing_origin_is_asked_on_a_bounded_schedule() {
    let origin = start_origin().await;
    for _ in 0..1000 {
        origin.then(Reply::Status(500, &[]));
    }
    let settings = settings(&origin.base_url(), |b| b);
    // The default schedule scaled down 40 times: pauses of at least 25, 50, 100, 200, 200... ms.
    let retry = RetryPolicy::default()
        .with_initial_delay(Duration::from_millis(50))
        .with_max_delay(Duration::from_millis(400))
        .with_deadline(Duration::from_secs(1));
    let receiver = Receiver::builder(settings.clone())
        .retry_policy(retry)
        .ack_policy(AckPolicy::AfterRefresh {
            timeout: Duration::from_millis(100),
        })
        .keyring(Keyring::from_comma_separated("s3cret").expect("key"))
        .build()
        .expect("receiver");
    // 40 deliveries, one every 50 ms, as a VWO 40 times faster would send them.
    let mut answers = Vec::new();
    for _ in 0..40 {
        let receiver = receiver.clone();
        answers.push(tokio::spawn(async move { deliver(&receiver).await }));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for answer in answers {
        assert_eq!(answer.await.expect("delivery"), 503);
    }
    let seen = origin.seen();
    assert!(
        seen.len() >= 2,
        "the failure was retried: {} request(s)",
        seen.len()
    );
    // However fast the deliveries came and however slow the machine, after the n-th failure
    // in a row the origin is not asked again for at least half of 50 ms x 2^(n-1), capped.
    for (n, pair) in seen.windows(2).enumerate() {
        let floor =
            (Duration::from_millis(50) * 2u32.pow(n.min(8) as u32)).min(Duration::from_millis(400)) / 2;
        let gap = pair[1].at - pair[0].at;
        assert!(
            gap >= floor,
            "request {} came {gap:?} after the one before, under the schedule's {floor:?}",
            n + 2
        );
    }
}

#[tokio::test]
async fn a_webhook_validates_like_update_settings_and_a_poll_like_init() {
    let (origin, settings, receiver, good) = primed(|b| b.refused_verdict_window(Duration::ZERO)).await;
    origin.publish(EMPTY_OBJECTS, "\"empty\"");
    // The webhook's refresh (v2-pull) takes the document as is: `{}` is not an array.
    assert_eq!(deliver(&receiver).await, 500);
    kept(&settings.store(), &good, "$.features");
    // The safety-net poll (v2-settings) normalizes it first, as the SDK's polling does.
    settings
        .refresh(Trigger::SafetyNet)
        .await
        .expect("the poll accepts it");
    let current = settings.store().current().expect("settings");
    assert_eq!(current.raw().as_ref(), EMPTY_OBJECTS.as_bytes());
    assert_eq!(current.document()["features"], serde_json::json!([]));
}

/// An origin's absurd `Retry-After` once panicked the coordinator (`18446744073709551615`: no
/// answer to any later delivery) or paused it for years (`99999999`: 503 "still running" until
/// a restart). Now it is capped at the policy's largest delay, and VWO's next redelivery after
/// the origin recovers applies the change.
#[tokio::test]
async fn an_absurd_retry_after_neither_panics_nor_stops_the_schedule() {
    let (origin, settings, _, _) = primed(|b| b).await;
    let retry = RetryPolicy::none()
        .with_initial_delay(Duration::from_millis(10))
        .with_max_delay(Duration::from_millis(200));
    let receiver = receiver(&settings, retry);
    origin.then(Reply::Status(503, &[("retry-after", "18446744073709551615")]));
    assert_eq!(deliver(&receiver).await, 503);
    origin.then(Reply::Status(429, &[("retry-after", "99999999")]));
    assert_eq!(deliver(&receiver).await, 503);
    origin.then(Reply::Status(
        503,
        &[("retry-after", "Fri, 31 Dec 9999 23:59:59 GMT")],
    ));
    assert_eq!(deliver(&receiver).await, 503);
    origin.publish(OTHER, "\"v2\"");
    // VWO redelivers every 1-2 s; a few redeliveries are plenty once the pause is capped.
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let status = deliver(&receiver).await;
        statuses.push(status);
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(statuses.last(), Some(&200), "{statuses:?}");
    let current = settings.store().current().expect("settings");
    assert_eq!(current.etag(), Some("\"v2\""));
}

/// Another origin serving a valid document, and the `Location` header that points at it.
async fn elsewhere() -> (Origin, &'static [(&'static str, &'static str)]) {
    let elsewhere = Origin::start(OTHER, "\"elsewhere\"")
        .await
        .expect("another origin");
    let location = format!("{}/server-side/v2-pull", elsewhere.base_url());
    let location: &'static str = Box::leak(location.into_boxed_str());
    (elsewhere, Box::leak(Box::new([("location", location)])))
}

/// A redirect is not followed: whatever another host (or port) serves would otherwise be
/// installed as the settings, and the status would not say where it came from.
#[tokio::test]
async fn a_redirect_is_refused_and_the_last_good_settings_stay() {
    let (elsewhere, headers) = elsewhere().await;
    let (origin, settings, receiver, good) = primed(|b| b).await;
    for status in [301, 302, 307, 308] {
        origin.then(Reply::Status(status, headers));
        let error = settings.refresh(Trigger::Manual).await.expect_err("a redirect");
        assert_eq!(error.kind(), FailureKind::Permanent, "{status}");
        assert!(error.to_string().contains("redirect"), "{error}");
        origin.then(Reply::Status(status, headers));
        assert_eq!(deliver(&receiver).await, 500, "{status}");
        kept(&settings.store(), &good, "redirect");
    }
    assert_eq!(elsewhere.requests(), 0, "the redirect's target was never asked");
}

/// With an HTTP client of the caller's own, which follows redirects, a redirect is followed by
/// the client but what it reaches is still not installed.
#[tokio::test]
async fn a_redirect_a_callers_client_follows_is_still_refused() {
    let (elsewhere, headers) = elsewhere().await;
    let (origin, settings, receiver, good) = primed(|b| b.http_client(reqwest::Client::new())).await;
    origin.then(Reply::Status(302, headers));
    let error = settings.refresh(Trigger::Manual).await.expect_err("a redirect");
    assert_eq!(error.kind(), FailureKind::Permanent);
    assert!(error.to_string().contains("redirect"), "{error}");
    assert_eq!(elsewhere.requests(), 1, "the caller's client followed it");
    origin.then(Reply::Status(302, headers));
    assert_eq!(deliver(&receiver).await, 500);
    kept(&settings.store(), &good, "redirect");
}

/// A caller's client is the one that fetches: one that goes through a proxy gets the
/// settings from the proxy.
#[tokio::test]
async fn a_callers_client_fetches_the_settings() {
    let proxy = Origin::start(OTHER, "\"through the proxy\"")
        .await
        .expect("a proxy");
    let client = reqwest::Client::builder()
        .proxy(reqwest::Proxy::http(proxy.base_url()).expect("a proxy URL"))
        .build()
        .expect("a client");
    let origin = start_origin().await;
    let settings = settings(&origin.base_url(), |b| b.http_client(client));
    settings
        .refresh(Trigger::Manual)
        .await
        .expect("fetched through the proxy");
    assert_eq!(proxy.requests(), 1);
    assert!(origin.seen().is_empty(), "the origin was not asked directly");
    let current = settings.store().current().expect("installed");
    assert_eq!(current.etag(), Some("\"through the proxy\""));
}

/// An absurdly long ETag is not kept: the document is installed, but the next fetch is a plain
/// one, and no status or persisted file carries the ETag.
#[tokio::test]
async fn an_etag_over_the_limit_is_not_kept() {
    let origin = start_origin().await;
    let huge = format!("\"{}\"", "e".repeat(vwo_webhook_settings::MAX_ETAG_LENGTH * 40));
    origin.publish(OTHER, &huge);
    let settings = settings(&origin.base_url(), |b| b);
    settings
        .refresh(Trigger::Manual)
        .await
        .expect("the document is fine");
    let current = settings.store().current().expect("installed");
    assert_eq!(current.etag(), None);
    assert_eq!(settings.store().status().etag, None);
    settings.refresh(Trigger::Manual).await.expect("fetched again");
    assert!(
        origin.seen().iter().all(|seen| seen.if_none_match.is_none()),
        "the long ETag was sent back"
    );
}

/// A document nested 10,000 levels deep is refused as JSON (the parser's depth limit), not
/// parsed into a stack overflow; the last good settings stay.
#[tokio::test]
async fn json_nested_ten_thousand_levels_deep_is_refused() {
    let deep = format!(
        r#"{{"version": 1, "accountId": 123456, "campaigns": [], "features": [], "x": {}{}}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let deep: &'static str = Box::leak(deep.into_boxed_str());
    let (origin, settings, receiver, good) = primed(|b| b).await;
    origin.then(Reply::Json(deep, None));
    assert_eq!(deliver(&receiver).await, 500);
    kept(&settings.store(), &good, "not valid JSON");
}
