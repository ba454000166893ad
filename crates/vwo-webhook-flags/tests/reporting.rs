//! The reporter against a real local collector that is up, down, failing, slow or flapping:
//! nothing is lost while the queue has room, past it the oldest go and are counted, a 4xx is
//! not retried, a shutdown sends what waits (for its timeout at most), and the SDK key never
//! shows in a log.

#[path = "support/collector.rs"]
mod collector;
#[path = "differential/generate.rs"]
#[allow(dead_code)]
mod generate;
#[path = "support/meg.rs"]
#[allow(dead_code)]
mod meg;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use fastrand::Rng;
use serde_json::{Map, Value, json};
use vwo_webhook_flags::{Batching, Context, Flags, MemoryStorage, Reason, Reporter, ReportingConfig};
use vwo_webhook_settings::SdkKey;

use collector::{Collector, Reply};

const SDK_KEY: &str = "reporting-test-sdk-key";

fn settings() -> Value {
    json!({
        "version": 1, "accountId": 123456, "campaigns": [],
        "features": [{"id": 1, "key": "checkout", "rules": [],
                      "metrics": [{"identifier": "purchase", "id": 1, "type": "REVENUE_TRACKING"}]}]
    })
}

/// Flags on the test's settings, reporting through `reporter`.
fn reported(reporter: &Reporter) -> Flags {
    Flags::builder()
        .reporter(reporter.clone())
        .document(&settings())
        .build()
}

/// Fast retries, so a test sees several.
fn config(collector_url: &str) -> ReportingConfig {
    ReportingConfig::new("123456", SdkKey::new(SDK_KEY))
        .base_url(collector_url)
        .retry_delays(Duration::from_millis(20), Duration::from_millis(100))
        .timeout(Duration::from_millis(500))
}

fn batched(events_per_request: usize) -> Batching {
    Batching {
        events_per_request,
        interval: Duration::from_secs(3_600),
    }
}

/// Tracks `purchase` for `count` users, numbered from `from` (the number is in the event).
fn track(flags: &Flags, from: usize, count: usize) {
    for n in from..from + count {
        let context = Context::new(format!("user-{n}")).expect("context");
        let mut properties = Map::new();
        properties.insert("n".to_owned(), json!(n));
        flags
            .track_event("purchase", &context, properties)
            .expect("a metric of the settings");
    }
}

/// The numbers of the events the collector accepted.
fn accepted(collector: &Collector) -> Vec<u64> {
    collector
        .accepted()
        .iter()
        .filter_map(|e| e["d"]["event"]["props"]["n"].as_u64())
        .collect()
}

async fn eventually(what: &str, check: impl Fn() -> bool) {
    vwo_webhook_testkit::wait::until(what, Duration::from_secs(20), check).await;
}

async fn flushed(reporter: &Reporter) {
    tokio::time::timeout(Duration::from_secs(20), reporter.flush())
        .await
        .expect("the flush ends");
}

/// Without a reporter a decision makes no impressions; the flag must not depend on them.
/// Every case of generated settings (holdouts, groups, storage: each case twice, the second
/// reading what the first stored) is decided with reporting on and off, and each flag,
/// holdouts evaluated included, must be the same.
#[tokio::test]
async fn a_decision_answers_the_same_whether_or_not_it_reports() {
    let collector = Collector::start().await;
    let reporter = Reporter::start(config(&collector.url()).batching(batched(10_000))).expect("reporter");
    let mut rng = Rng::with_seed(29);
    let (mut decisions, mut held_out, mut evaluated, mut stored, mut threw) = (0, 0, 0, 0, 0);
    for dialect in [generate::Dialect::Current, generate::Dialect::Node] {
        for _ in 0..60 {
            let (settings, contexts) = generate::in_dialect(dialect, || {
                let settings = generate::settings(&mut rng);
                let contexts: Vec<Value> = (0..40).map(|_| generate::context(&mut rng)).collect();
                (settings, contexts)
            });
            let keys = meg::feature_keys(&settings);
            let on = Flags::builder()
                .reporter(reporter.clone())
                .storage(Arc::new(MemoryStorage::new()))
                .document(&settings)
                .build();
            let off = Flags::builder()
                .storage(Arc::new(MemoryStorage::new()))
                .document(&settings)
                .build();
            for context in &contexts {
                let Ok(context) = Context::from_sdk_json(context) else {
                    continue;
                };
                let feature = keys[rng.usize(0..keys.len())].as_str();
                for _ in 0..2 {
                    let reported = on.get_flag(feature, &context);
                    let silent = off.get_flag(feature, &context);
                    assert_eq!(
                        format!("{reported:?}"),
                        format!("{silent:?}"),
                        "{feature} for {context:?} on {settings}"
                    );
                    decisions += 1;
                    held_out += usize::from(reported.reason() == Reason::InHoldout);
                    evaluated += usize::from(reported.holdout_evaluated());
                    stored += usize::from(reported.reason() == Reason::Stored);
                    threw += usize::from(reported.reason() == Reason::InvalidSettings);
                }
            }
        }
    }
    // A holdout evaluated before the SDK throws (on the next holdout's segments, which read
    // custom variables the context has none of) still counts as evaluated.
    let mut throwing = settings();
    throwing["holdouts"] = json!([
        {"id": 31, "name": "none", "segments": {}, "percentTraffic": 0, "isGlobal": true,
         "featureIds": [], "metrics": []},
        {"id": 32, "name": "beta", "segments": {"or": [{"custom_variable": {"plan": "beta"}}]},
         "percentTraffic": 100, "isGlobal": true, "featureIds": [], "metrics": []},
    ]);
    let context = Context::new("u-1").expect("id");
    for flags in [
        Flags::builder()
            .reporter(reporter.clone())
            .document(&throwing)
            .build(),
        Flags::from_document(&throwing),
    ] {
        let flag = flags.get_flag("checkout", &context);
        assert_eq!(flag.reason(), Reason::InvalidSettings);
        assert!(flag.holdout_evaluated(), "{flag:?}");
    }
    // The corpus reaches the paths where the impressions used to decide the flag.
    assert!(
        held_out > 0 && evaluated > held_out && stored > 0 && threw > 0,
        "{decisions} decisions: {held_out} held out, {evaluated} evaluated a holdout, \
         {stored} from storage, {threw} threw"
    );
    assert!(reporter.stats().queued > 0, "the reporting side reported");
}

/// A caller's HTTP client is the one that sends: one that goes through a proxy reaches the
/// collector behind it, though the events host named is nowhere.
#[tokio::test]
async fn a_callers_client_sends_the_events() {
    let proxy = Collector::start().await;
    let client = reqwest::Client::builder()
        .proxy(reqwest::Proxy::http(proxy.url()).expect("a proxy URL"))
        .build()
        .expect("a client");
    let reporter = Reporter::start(
        config("http://vwo-events.invalid")
            .batching(batched(5))
            .http_client(client),
    )
    .expect("reporter");
    let flags = reported(&reporter);
    track(&flags, 0, 5);
    flushed(&reporter).await;
    assert_eq!(accepted(&proxy), (0..5).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_full_batch_goes_out_by_itself_and_a_flush_sends_the_rest() {
    let collector = Collector::start().await;
    let reporter = Reporter::start(config(&collector.url()).batching(batched(10))).expect("reporter");
    let flags = reported(&reporter);
    track(&flags, 0, 25);
    eventually("two full batches", || collector.requests().len() == 2).await;
    assert_eq!(accepted(&collector), (0..20).collect::<Vec<_>>());
    flushed(&reporter).await;
    let requests = collector.requests();
    assert_eq!(requests.len(), 3);
    assert!(
        requests
            .iter()
            .all(|r| r.path.starts_with("/server-side/batch-events-v2?a=123456&env="))
    );
    assert_eq!(accepted(&collector), (0..25).collect::<Vec<_>>());
    let stats = reporter.stats();
    assert_eq!((stats.queued, stats.sent, stats.waiting), (25, 25, 0));
}

#[tokio::test]
async fn the_interval_sends_what_waits_without_a_flush() {
    let collector = Collector::start().await;
    let batching = Batching {
        events_per_request: 1_000,
        interval: Duration::from_millis(100),
    };
    let reporter = Reporter::start(config(&collector.url()).batching(batching)).expect("reporter");
    let flags = reported(&reporter);
    track(&flags, 0, 3);
    eventually("the tick's batch", || accepted(&collector).len() == 3).await;
}

#[tokio::test]
async fn unbatched_every_event_is_its_own_request() {
    let collector = Collector::start().await;
    let reporter = Reporter::start(config(&collector.url()).unbatched().concurrency(4)).expect("reporter");
    let flags = reported(&reporter);
    track(&flags, 0, 12);
    flushed(&reporter).await;
    let requests = collector.requests();
    assert_eq!(requests.len(), 12);
    assert!(
        requests
            .iter()
            .all(|r| r.path.starts_with("/events/t?en=purchase&a=123456&"))
    );
    let got: BTreeSet<u64> = accepted(&collector).into_iter().collect();
    assert_eq!(got, (0..12).collect());
}

/// VWO's e2e settings file `name`.
fn e2e_settings(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/vwo-e2e/settings")
        .join(name);
    serde_json::from_slice(&std::fs::read(path).expect("fixture")).expect("JSON")
}

#[tokio::test]
async fn unbatched_a_decisions_impressions_go_in_one_batch_request() {
    let collector = Collector::start().await;
    let reporter = Reporter::start(config(&collector.url()).unbatched().concurrency(4)).expect("reporter");
    let flags = Flags::builder()
        .reporter(reporter.clone())
        .document(&e2e_settings("RolloutAndTestingSettings.json"))
        .build();
    for n in 0..3 {
        let context = Context::new(format!("user-{n}")).expect("context");
        let flag = flags.get_flag("feature1", &context);
        assert!(
            flag.rollout().is_some() && flag.experiment().is_some(),
            "{flag:?}"
        );
    }
    flushed(&reporter).await;
    let requests = collector.requests();
    assert_eq!(requests.len(), 3, "one request per decision: {requests:?}");
    for request in &requests {
        assert!(
            request.path.starts_with("/server-side/batch-events-v2?a=123456&"),
            "{}",
            request.path
        );
        let ids: Vec<&Value> = request.body["ev"]
            .as_array()
            .expect("a batch")
            .iter()
            .map(|e| &e["d"]["event"]["props"]["id"])
            .collect();
        assert_eq!(ids, [&json!(1), &json!(2)], "the rollout's and the experiment's");
    }
}

/// The test's settings with `extra` keys at the root.
fn settings_with(extra: Value) -> Value {
    let mut settings = settings();
    for (key, value) in extra.as_object().expect("an object") {
        settings[key] = value.clone();
    }
    settings
}

#[tokio::test]
async fn an_account_that_counts_monthly_users_is_told_of_decisions_that_showed_nothing() {
    let collector = Collector::start().await;
    let reporter = Reporter::start(config(&collector.url()).batching(batched(100))).expect("reporter");
    let counting = Flags::builder()
        .reporter(reporter.clone())
        .document(&settings_with(json!({"isMAU": true})))
        .build();
    let context = Context::new("user-1").expect("context").with_session_id(42);
    assert!(!counting.get_flag("checkout", &context).is_enabled());
    assert!(!counting.get_flag("no-such-flag", &context).is_enabled());
    // Without `isMAU`, a decision that shows nothing sends nothing.
    let _ = reported(&reporter).get_flag("checkout", &context);
    flushed(&reporter).await;
    let events = collector.accepted();
    assert_eq!(events.len(), 2, "{events:?}");
    for event in &events {
        assert_eq!(event["d"]["event"]["name"], "vwo_feTrackUsage");
        assert_eq!(event["d"]["sessionId"], 42);
    }
}

#[tokio::test]
async fn a_stored_decision_reports_a_holdout_added_since_on_its_own_and_counts_as_showing_nothing() {
    let collector = Collector::start().await;
    let reporter = Reporter::start(config(&collector.url()).unbatched()).expect("reporter");
    let mut settings = json!({
        "version": 1, "accountId": 123456, "isMAU": true,
        "features": [{"id": 1, "key": "checkout", "name": "checkout", "status": "ON", "type": "FEATURE_FLAG",
                      "metrics": [], "rules": [{"type": "FLAG_TESTING", "ruleKey": "ab", "campaignId": 7}]}],
        "campaigns": [{"id": 7, "key": "checkout_ab", "name": "ab", "type": "FLAG_TESTING", "status": "RUNNING",
                       "percentTraffic": 100, "segments": {},
                       "variations": [{"id": 1, "name": "v1", "weight": 100, "segments": {}, "variables": []}]}],
    });
    let flags = Flags::builder()
        .reporter(reporter.clone())
        .storage(std::sync::Arc::new(vwo_webhook_flags::MemoryStorage::new()))
        .document(&settings)
        .build();
    let user = Context::new("user-1").expect("context");
    assert!(flags.get_flag("checkout", &user).is_enabled());
    flushed(&reporter).await;
    assert_eq!(collector.requests().len(), 1, "the experiment's impression");
    settings["holdouts"] = json!([{"id": 31, "name": "h", "segments": {}, "percentTraffic": 0,
                                   "isGlobal": true, "featureIds": [], "metrics": []}]);
    flags.install_document(&settings);
    let flag = flags.get_flag("checkout", &user);
    assert_eq!(flag.reason(), Reason::Stored);
    flushed(&reporter).await;
    let requests = collector.requests();
    let names: BTreeSet<String> = requests[1..]
        .iter()
        .map(|r| {
            let events = r.body["ev"].as_array().expect("batch requests");
            assert_eq!(events.len(), 1, "each in a request of its own: {events:?}");
            format!(
                "{} {}",
                events[0]["d"]["event"]["name"].as_str().unwrap_or(""),
                events[0]["d"]["event"]["props"]["id"]
            )
        })
        .collect();
    assert_eq!(
        names,
        BTreeSet::from([
            "vwo_variationShown 31".to_owned(),
            "vwo_feTrackUsage null".to_owned()
        ])
    );
}

#[tokio::test]
async fn dev_mode_traffic_sends_nothing_when_the_settings_say_so() {
    let collector = Collector::start().await;
    let reporter = Reporter::start(config(&collector.url()).batching(batched(100))).expect("reporter");
    let flags = Flags::builder()
        .reporter(reporter.clone())
        .document(&settings_with(json!({"isMAU": true, "devMode": true})))
        .build();
    let developer = Context::new("dev-1").expect("context").with_dev_mode(true);
    let _ = flags.get_flag("checkout", &developer);
    let _ = flags.get_flag("checkout", &Context::new("user-1").expect("context"));
    flushed(&reporter).await;
    let events = collector.accepted();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        events[0]["d"]["visId"],
        json!(vwo_webhook_flags::user_uuid("user-1", "123456"))
    );
}

/// The SDK's one exception to dev mode: the impression of a holdout that holds the user out
/// goes on a path that does not check it, so it is still sent.
#[tokio::test]
async fn dev_mode_still_reports_a_holdout_that_holds_the_user_out() {
    let collector = Collector::start().await;
    let reporter = Reporter::start(config(&collector.url()).batching(batched(100))).expect("reporter");
    let holdout = json!([{"id": 31, "name": "h", "segments": {}, "percentTraffic": 100,
                          "isGlobal": true, "featureIds": [], "metrics": []}]);
    let flags = Flags::builder()
        .reporter(reporter.clone())
        .document(&settings_with(json!({"devMode": true, "holdouts": holdout})))
        .build();
    let developer = Context::new("dev-1").expect("context").with_dev_mode(true);
    assert_eq!(flags.get_flag("checkout", &developer).reason(), Reason::InHoldout);
    flushed(&reporter).await;
    let events = collector.accepted();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["d"]["event"]["props"]["id"], 31);
    assert_eq!(events[0]["d"]["event"]["props"]["variation"], 1);
}

#[tokio::test]
async fn a_host_that_is_down_loses_nothing_while_the_queue_has_room() {
    let collector = Collector::start().await;
    let down = collector.stop().await;
    let url = format!("http://{}", down.addr);
    let reporter = Reporter::start(config(&url).batching(batched(20))).expect("reporter");
    let flags = reported(&reporter);
    track(&flags, 0, 50);
    eventually("retries against the dead host", || reporter.stats().retried >= 40).await;
    let collector = Collector::start_on(down).await;
    flushed(&reporter).await;
    assert_eq!(
        accepted(&collector),
        (0..50).collect::<Vec<_>>(),
        "each once, in order"
    );
    let stats = reporter.stats();
    assert_eq!((stats.sent, stats.dropped_overflow, stats.waiting), (50, 0, 0));
}

#[tokio::test]
async fn server_errors_are_retried_until_they_pass() {
    let collector = Collector::start().await;
    // Flapping: every other request fails.
    collector.reply(|n| {
        if n % 2 == 0 {
            Reply::Status(503)
        } else {
            Reply::Status(200)
        }
    });
    let reporter = Reporter::start(config(&collector.url()).batching(batched(5))).expect("reporter");
    let flags = reported(&reporter);
    track(&flags, 0, 20);
    flushed(&reporter).await;
    assert_eq!(accepted(&collector), (0..20).collect::<Vec<_>>());
    assert!(collector.requests().iter().any(|r| r.status == 503));
    assert_eq!(reporter.stats().retried, 20, "each batch failed once");
}

#[tokio::test]
async fn a_refusal_is_not_retried_and_is_counted() {
    let collector = Collector::start().await;
    collector.reply(|_| Reply::Status(400));
    let reporter = Reporter::start(config(&collector.url()).batching(batched(5))).expect("reporter");
    let flags = reported(&reporter);
    track(&flags, 0, 10);
    flushed(&reporter).await;
    assert_eq!(collector.requests().len(), 2, "one request per batch, none again");
    let stats = reporter.stats();
    assert_eq!((stats.dropped_rejected, stats.retried, stats.sent), (10, 0, 0));
}

#[tokio::test]
async fn a_slow_host_times_out_and_is_retried() {
    let collector = Collector::start().await;
    collector.reply(|n| {
        if n == 0 {
            Reply::Slow(Duration::from_secs(2))
        } else {
            Reply::Status(200)
        }
    });
    let reporter = Reporter::start(config(&collector.url()).batching(batched(5))).expect("reporter");
    let flags = reported(&reporter);
    track(&flags, 0, 5);
    flushed(&reporter).await;
    assert_eq!(reporter.stats().retried, 5, "the timed-out batch was sent again");
    assert_eq!(reporter.stats().sent, 5);
    // The slow answer may still land: the collector then holds the batch twice, as VWO would
    // after any at-least-once delivery. What was sent again is the same batch.
    let got: BTreeSet<u64> = accepted(&collector).into_iter().collect();
    assert_eq!(got, (0..5).collect());
}

#[tokio::test]
async fn past_the_bound_the_oldest_are_dropped_and_counted() {
    let collector = Collector::start().await;
    let down = collector.stop().await;
    let reporter = Reporter::start(
        config(&format!("http://{}", down.addr))
            .batching(batched(10))
            .capacity(100),
    )
    .expect("reporter");
    let flags = reported(&reporter);
    track(&flags, 0, 10);
    // The first batch is in hand, retrying; the queue holds at most 100 more.
    eventually("the first batch in hand", || reporter.stats().retried > 0).await;
    track(&flags, 10, 990);
    let stats = reporter.stats();
    assert_eq!(stats.waiting, 100, "bounded");
    assert_eq!(stats.dropped_overflow, 890, "every drop counted");
    let collector = Collector::start_on(down).await;
    flushed(&reporter).await;
    let mut expected: Vec<u64> = (0..10).collect();
    expected.extend(900..1_000);
    assert_eq!(
        accepted(&collector),
        expected,
        "the batch in hand, then the newest 100"
    );
}

#[tokio::test]
async fn a_shutdown_sends_what_waits_and_refuses_what_comes_after() {
    let collector = Collector::start().await;
    let reporter = Reporter::start(config(&collector.url()).batching(batched(1_000))).expect("reporter");
    let flags = reported(&reporter);
    track(&flags, 0, 7);
    reporter.shutdown().await;
    assert_eq!(accepted(&collector), (0..7).collect::<Vec<_>>());
    track(&flags, 7, 3);
    assert_eq!(reporter.stats().dropped_shutdown, 3);
    assert_eq!(collector.requests().len(), 1);
}

#[tokio::test]
async fn dropping_the_last_clone_still_sends_what_waits() {
    let collector = Collector::start().await;
    let reporter = Reporter::start(config(&collector.url()).batching(batched(1_000))).expect("reporter");
    // The flags hold the last clone.
    let flags = reported(&reporter);
    drop(reporter);
    track(&flags, 0, 4);
    drop(flags);
    eventually("the events sent after the drop", || {
        accepted(&collector).len() == 4
    })
    .await;
    assert_eq!(accepted(&collector), (0..4).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_shutdown_with_the_host_down_gives_up_at_its_timeout() {
    let collector = Collector::start().await;
    let down = collector.stop().await;
    let reporter = Reporter::start(
        config(&format!("http://{}", down.addr))
            .batching(batched(5))
            .shutdown_timeout(Duration::from_millis(300)),
    )
    .expect("reporter");
    let flags = reported(&reporter);
    track(&flags, 0, 12);
    tokio::time::timeout(Duration::from_secs(20), reporter.shutdown())
        .await
        .expect("the shutdown ends");
    let stats = reporter.stats();
    assert_eq!((stats.dropped_shutdown, stats.sent, stats.waiting), (12, 0, 0));
}

#[tokio::test]
async fn decisions_sync_and_async_queue_their_impressions() {
    let collector = Collector::start().await;
    let reporter = Reporter::start(config(&collector.url()).batching(batched(100))).expect("reporter");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/vwo-e2e/settings/OnlyRolloutSettings.json");
    let settings: Value = serde_json::from_slice(&std::fs::read(path).expect("fixture")).expect("JSON");
    let feature = settings["features"][0]["key"]
        .as_str()
        .expect("a feature")
        .to_owned();
    let flags = Flags::builder()
        .reporter(reporter.clone())
        .document(&settings)
        .build();
    let replaying = Flags::builder()
        .reporter(reporter.clone())
        .async_storage(std::sync::Arc::new(NoStore))
        .document(&settings)
        .build();
    let context = Context::new("user-1").expect("context");
    let sync = flags.get_flag(&feature, &context);
    let asynchronous = replaying.get_flag_async(&feature, &context).await;
    assert!(sync.is_enabled() && asynchronous.is_enabled());
    let _ = flags.explain(&feature, &context);
    flushed(&reporter).await;
    let shown = collector.accepted();
    assert_eq!(
        shown.len(),
        2,
        "one impression per decision, none for explain: {shown:?}"
    );
    for event in &shown {
        assert_eq!(event["d"]["event"]["name"], "vwo_variationShown");
        assert_eq!(
            event["d"]["event"]["props"]["id"],
            json!(sync.rollout().expect("a rollout").campaign_id)
        );
    }
}

#[tokio::test]
async fn reporting_off_sends_nothing_and_still_checks_events() {
    let flags = Flags::builder()
        .reporter(Reporter::disabled())
        .document(&settings())
        .build();
    let context = Context::new("u").expect("context");
    assert!(flags.track_event("purchase", &context, Map::new()).is_ok());
    assert!(flags.track_event("nope", &context, Map::new()).is_err());
    assert_eq!(Reporter::disabled().stats().queued, 0);
}

/// An async storage that keeps nothing.
struct NoStore;

impl vwo_webhook_flags::AsyncStorage for NoStore {
    fn get<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
    ) -> vwo_webhook_flags::BoxFuture<'a, Option<vwo_webhook_flags::StoredDecision>> {
        Box::pin(async { None })
    }
    fn set<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
        _: vwo_webhook_flags::StoredDecision,
    ) -> vwo_webhook_flags::BoxFuture<'a, ()> {
        Box::pin(async {})
    }
}

#[test]
fn the_sdk_key_is_in_no_log_error_or_debug_output() {
    let ((), logs) = vwo_webhook_testkit::logs_of(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let collector = Collector::start().await;
            collector.reply(|n| Reply::Status([500, 400, 200][n % 3]));
            let reporter = Reporter::start(config(&collector.url()).batching(batched(3))).expect("reporter");
            let flags = reported(&reporter);
            track(&flags, 0, 9);
            flushed(&reporter).await;
            let stopped = collector.stop().await;
            let down = Reporter::start(
                config(&format!("http://{}", stopped.addr)).shutdown_timeout(Duration::from_millis(100)),
            )
            .expect("reporter");
            let flags = reported(&down);
            track(&flags, 0, 3);
            down.shutdown().await;
            let debug = format!("{reporter:?} {:?}", config("http://x"));
            assert!(!debug.contains(SDK_KEY), "{debug}");
        });
    });
    assert!(logs.contains("refused events"), "the refusal was logged: {logs}");
    assert!(!logs.contains(SDK_KEY), "{logs}");
}
