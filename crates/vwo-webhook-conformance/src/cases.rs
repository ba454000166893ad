//! The catalog: one function per case, generic over the adapter's [`Harness`].
//!
//! Each case builds its own receiver and server, speaks HTTP over loopback, and panics with a
//! message naming what broke.

use std::future::Future;
use std::time::Duration;

use vwo_webhook::{
    AckPolicy, Action, DEFAULT_BODY_LIMIT, DEFAULT_PATH, Event, HmacSha256, Keyring, Receiver,
    ReceiverBuilder, RetryPolicy, Secret, StandardWebhooks, Trigger,
};

use crate::backend::TestBackend;
use crate::blackbox::{self, Target, expect_json_shape, expect_status};
use crate::client::{Request, Response};
pub use crate::fixtures::{DOCUMENTED, SECRET};
use crate::fixtures::{SENT_PREFIX, SIGNING_KEY, WHSEC};
use crate::harness::{HEALTH_BODY, HEALTH_PATH, Harness, Server};

fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime")
        .block_on(future)
}

fn keyring(secrets: &[&str]) -> Keyring {
    Keyring::new(secrets.iter().map(|s| Secret::new(*s).expect("non-empty secret"))).expect("keyring")
}

/// A receiver secured with [`SECRET`] running `backend`, configured further by `configure`:
/// the suite's receiver, also for adapters' own mounting tests.
pub fn secured_receiver(
    backend: &TestBackend,
    configure: impl FnOnce(ReceiverBuilder) -> ReceiverBuilder,
) -> Receiver {
    receiver_with(backend, RetryPolicy::default(), configure)
}

fn receiver_with(
    backend: &TestBackend,
    retry: RetryPolicy,
    configure: impl FnOnce(ReceiverBuilder) -> ReceiverBuilder,
) -> Receiver {
    let builder = Receiver::builder(backend.clone())
        .retry_policy(retry)
        .keyring(keyring(&[SECRET]));
    configure(builder).build().expect("receiver")
}

/// Serves a receiver secured with [`SECRET`] and otherwise default, running `backend`.
fn secured<H: Harness>(backend: &TestBackend) -> Server {
    H::serve(secured_receiver(backend, |b| b))
}

/// Runs the black-box `check` against a receiver secured with [`SECRET`] running `backend`.
fn from_outside<H: Harness, Fut: Future<Output = ()>>(
    backend: &TestBackend,
    check: impl FnOnce(Target) -> Fut,
) {
    let server = secured::<H>(backend);
    block_on(check(Target::local(&server)));
}

/// Runs the black-box `check`, whose requests must all be refused, and checks that none of
/// them reached the backend.
fn refused_without_refresh<H: Harness, Fut: Future<Output = ()>>(check: impl FnOnce(Target) -> Fut) {
    let backend = TestBackend::counting();
    from_outside::<H, _>(&backend, check);
    assert_eq!(backend.started(), 0, "no refresh for a refused delivery");
}

/// Delivers `body` with `secret` (if any) and checks the status.
async fn expect_delivery(
    server: &Server,
    secret: Option<&str>,
    body: &str,
    status: u16,
    what: &str,
) -> Response {
    let response = send(server, &delivery(secret, body)).await;
    expect_status(&response, status, what);
    response
}

fn delivery(secret: Option<&str>, body: &str) -> Request {
    let request = Request::post(DEFAULT_PATH, body).header("content-type", "application/json");
    match secret {
        Some(secret) => request.header("x-vwo-auth", secret),
        None => request,
    }
}

async fn send(server: &Server, request: &Request) -> Response {
    match request.send(server.addr()).await {
        Ok(response) => response,
        Err(error) => panic!("{request:?}: {error}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Auth

/// The documented payload with the right key: 200, one refresh, triggered by that payload.
pub fn accepts_seed_payload<H: Harness>() {
    let backend = TestBackend::counting();
    from_outside::<H, _>(&backend, blackbox::accepts_seed_payload);
    assert_eq!(backend.finished(), 1, "exactly one refresh before the answer");
    match backend.triggers().as_slice() {
        [Trigger::Webhook(payload)] => {
            assert_eq!(payload.timestamp, 1_606_482_285);
            assert_eq!(payload.event, Event::SettingsChanged);
            assert_eq!(payload.action, Some(Action::CampaignSettingsChanged));
        }
        other => panic!("backend triggered by {other:?}"),
    }
}

/// `X-VWO-Auth`, `X-VWO-AUTH`: header names are case-insensitive.
pub fn header_name_case_insensitive<H: Harness>() {
    let backend = TestBackend::counting();
    from_outside::<H, _>(&backend, blackbox::header_name_case_insensitive);
    assert_eq!(backend.finished(), 3);
}

/// A wrong key: 401, no refresh.
pub fn rejects_wrong_secret<H: Harness>() {
    refused_without_refresh::<H, _>(blackbox::rejects_wrong_secret);
}

/// No `x-vwo-auth` header at all: 401 (fail closed), no refresh.
pub fn rejects_missing_secret_header<H: Harness>() {
    refused_without_refresh::<H, _>(blackbox::rejects_missing_secret_header);
}

/// An empty `x-vwo-auth` header: 401, no refresh.
pub fn rejects_empty_secret_header<H: Harness>() {
    refused_without_refresh::<H, _>(blackbox::rejects_empty_secret_header);
}

/// A prefix of the key, or the key with extra bytes: 401, no refresh.
pub fn rejects_secret_prefix_and_extension<H: Harness>() {
    refused_without_refresh::<H, _>(blackbox::rejects_secret_prefix_and_extension);
}

/// During a rotation both the old and the new key are accepted.
pub fn accepts_every_secret_in_rotation<H: Harness>() {
    let backend = TestBackend::counting();
    let ring = keyring(&["old-key-1", "new-key-2"]);
    let server = H::serve(
        Receiver::builder(backend.clone())
            .keyring(ring)
            .build()
            .expect("receiver"),
    );
    block_on(async {
        for key in ["old-key-1", "new-key-2"] {
            expect_delivery(&server, Some(key), DOCUMENTED, 200, key).await;
        }
        assert_eq!(backend.finished(), 2);
    });
}

/// Replacing the keyring at runtime retires the old key at once, without a restart.
pub fn retired_secret_rejected_after_rotation<H: Harness>() {
    let backend = TestBackend::counting();
    let ring = keyring(&["old-key-1"]);
    let server = H::serve(
        Receiver::builder(backend.clone())
            .keyring(ring.clone())
            .build()
            .expect("receiver"),
    );
    block_on(async {
        expect_delivery(&server, Some("old-key-1"), DOCUMENTED, 200, "old key before").await;
        ring.replace([Secret::new("new-key-2").expect("secret")])
            .expect("rotation");
        expect_delivery(&server, Some("old-key-1"), DOCUMENTED, 401, "retired key").await;
        expect_delivery(&server, Some("new-key-2"), DOCUMENTED, 200, "new key").await;
        assert_eq!(backend.finished(), 2);
    });
}

/// A wrong key with a garbage body is 401, not 400: authentication comes first.
pub fn auth_checked_before_body_parse<H: Harness>() {
    refused_without_refresh::<H, _>(blackbox::auth_checked_before_body_parse);
}

/// No response (body or headers) echoes the configured or the presented key, including the
/// answer to a failed refresh.
pub fn error_bodies_never_echo_secrets<H: Harness>() {
    let backend = TestBackend::permanent();
    let server = secured::<H>(&backend);
    let target = Target::local(&server);
    block_on(async {
        blackbox::error_bodies_never_echo_secrets(target.clone()).await;
        let failed = target
            .expect(&target.signed(DOCUMENTED), 500, "failed refresh")
            .await;
        blackbox::expect_no_key(&failed, &[SECRET, &SECRET[..8]], "failed refresh");
    });
}

/// The documented notice as a sender may really write it: spaces, tabs and newlines where a
/// serializer would put none, and JSON escapes (`\u005f` is `_`, `\u00e9` is `é`).
const NON_CANONICAL: &str = "{ \"timestamp\" :\t1606482285 ,\r\n  \"event\":\"settings\\u005fchanged\",\n  \"action\" : \"campaign_settings_changed\", \"triggered_by\":\"\\u00e9quipe \\ud83d\\ude80\" }\n";

fn github() -> HmacSha256 {
    HmacSha256::github(keyring(&[SIGNING_KEY]))
}

fn github_signature(body: &[u8]) -> String {
    github().sign(body)
}

/// A body signed over its exact bytes verifies through the adapter: nothing re-encodes,
/// trims or decompresses it on the way. The same JSON re-serialized does not.
pub fn raw_body_reaches_verifier_untouched<H: Harness>() {
    let backend = TestBackend::counting();
    let verifier = github();
    let server = H::serve(
        Receiver::builder(backend.clone())
            .verifier(verifier)
            .build()
            .expect("receiver"),
    );
    block_on(async {
        let signature = github_signature(NON_CANONICAL.as_bytes());
        let signed = Request::post(DEFAULT_PATH, NON_CANONICAL)
            .header("content-type", "application/json")
            .header("x-hub-signature-256", &signature);
        expect_status(&send(&server, &signed).await, 200, "signed raw body");
        match backend.triggers().as_slice() {
            [Trigger::Webhook(payload)] => {
                assert_eq!(payload.event, Event::SettingsChanged);
                assert_eq!(payload.triggered_by.as_deref(), Some("\u{e9}quipe \u{1f680}"));
            }
            other => panic!("backend triggered by {other:?}"),
        }
        // The same document, re-serialized, no longer matches the signature.
        let value: serde_json::Value = serde_json::from_str(NON_CANONICAL).expect("valid JSON");
        let canonical = serde_json::to_string(&value).expect("JSON");
        let resent = Request::post(DEFAULT_PATH, canonical)
            .header("content-type", "application/json")
            .header("x-hub-signature-256", &signature);
        expect_status(&send(&server, &resent).await, 401, "re-serialized body");
        assert_eq!(backend.started(), 1);
    });
}

/// Across every error path (wrong, near-miss and missing keys; missing, wrong and malformed
/// signatures, HMAC and Standard Webhooks; bad bodies; a failed refresh; wrong method;
/// oversize), no configured, submitted or expected key or signature shows in a response or in
/// anything logged through `tracing`.
pub fn secrets_never_logged<H: Harness>() {
    let logs = crate::logs::Capture::global();
    let backend = TestBackend::permanent();
    let server = H::serve(
        Receiver::builder(backend.clone())
            .keyring(keyring(&[SECRET]))
            .verifier(github())
            .build()
            .expect("receiver"),
    );
    let expected = github_signature(DOCUMENTED.as_bytes());
    let submitted = github_signature(b"another body");
    let near_miss = format!("{}Z", &SECRET[..SECRET.len() - 1]);
    let signed = |key: &str, signature: &str, body: &str| {
        delivery(Some(key), body).header("x-hub-signature-256", signature)
    };
    let requests = [
        signed("attacker-guess-123", &expected, DOCUMENTED),
        signed(&near_miss, &expected, DOCUMENTED),
        delivery(None, DOCUMENTED).header("x-hub-signature-256", &expected),
        delivery(Some(SECRET), DOCUMENTED),
        signed(SECRET, &submitted, DOCUMENTED),
        signed(SECRET, "sha256=not-hex-at-all", DOCUMENTED),
        signed(SECRET, &github_signature(b"{"), "{"),
        signed(SECRET, &expected, DOCUMENTED),
        Request::new("GET", DEFAULT_PATH)
            .header("x-vwo-auth", SECRET)
            .header("x-hub-signature-256", &expected),
        signed(SECRET, &expected, SENT_PREFIX).declared_length(DEFAULT_BODY_LIMIT as u64 + 1),
    ];
    let standard = standard_webhooks_requests();
    let mut keys = vec![
        SECRET,
        near_miss.as_str(),
        "attacker-guess-123",
        SIGNING_KEY,
        expected.trim_start_matches("sha256="),
        submitted.trim_start_matches("sha256="),
    ];
    keys.extend(standard.keys.iter().map(String::as_str));
    let standard_server = H::serve(
        Receiver::builder(backend.clone())
            .verifier(StandardWebhooks::new([WHSEC]).expect("secret"))
            .build()
            .expect("receiver"),
    );
    block_on(async {
        for (server, requests) in [
            (&server, &requests[..]),
            (&standard_server, &standard.requests[..]),
        ] {
            for request in requests {
                let response = send(server, request).await;
                assert!(!response.is_success(), "{request:?} should fail");
                blackbox::expect_no_key(&response, &keys, &format!("{request:?}"));
            }
        }
    });
    assert_eq!(
        backend.started(),
        1,
        "only the fully authenticated delivery reached the backend"
    );
    drop((server, standard_server));
    let text = logs.text();
    assert!(
        text.contains("vwo_webhook.delivery") && text.contains("status=401"),
        "the capture saw no delivery: the case would prove nothing"
    );
    for (index, key) in keys.iter().enumerate() {
        assert!(!text.contains(key), "key #{index} shows in the tracing output");
    }
}

/// Failing Standard Webhooks deliveries and the secrets and signatures they involve.
struct StandardRequests {
    requests: Vec<Request>,
    keys: Vec<String>,
}

fn standard_webhooks_requests() -> StandardRequests {
    let key_text = WHSEC.trim_start_matches("whsec_");
    let signer = StandardWebhooks::new([WHSEC]).expect("secret");
    // The signatures without their `v1,`: the part that must never show.
    let sign = |id: &str, timestamp: i64, body: &str| {
        let signature = signer.sign(id, timestamp, body.as_bytes());
        signature.trim_start_matches("v1,").to_owned()
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let (fresh, stale) = (now.to_string(), (now - 3600).to_string());
    let expected = sign("msg_leak", now - 3600, DOCUMENTED);
    let submitted = sign("msg_other", now, "another body");
    let request = |timestamp: &str, signature: &str| {
        Request::post(DEFAULT_PATH, DOCUMENTED)
            .header("webhook-id", "msg_leak")
            .header("webhook-timestamp", timestamp)
            .header("webhook-signature", signature)
    };
    StandardRequests {
        requests: vec![
            request(&stale, &format!("v1,{expected}")),
            request(&fresh, &format!("v1,{submitted}")),
            request(&fresh, "v1,!!not-base64!!"),
            request("soon", &format!("v1,{expected}")),
        ],
        keys: vec![WHSEC.to_owned(), key_text.to_owned(), expected, submitted],
    }
}

// ---------------------------------------------------------------------------------------------
// Method and path

/// GET, PUT, DELETE, PATCH: 405 with `Allow: POST`, before authentication.
pub fn rejects_non_post_with_allow<H: Harness>() {
    refused_without_refresh::<H, _>(blackbox::rejects_non_post_with_allow);
}

/// The application's own routes and 404s are untouched by the mount.
pub fn other_paths_untouched<H: Harness>() {
    let backend = TestBackend::counting();
    let server = secured::<H>(&backend);
    block_on(async {
        let health = send(&server, &Request::new("GET", HEALTH_PATH)).await;
        expect_status(&health, 200, "the app's own route");
        assert_eq!(health.text(), HEALTH_BODY);
        for path in ["/not-here", "/vwo-webhook-other", "/vwo-webhook/extra"] {
            let response = send(&server, &delivery(Some(SECRET), DOCUMENTED).path(path)).await;
            expect_status(&response, 404, path);
        }
        assert_eq!(backend.started(), 0);
    });
}

// ---------------------------------------------------------------------------------------------
// Body

/// A declared `Content-Length` over the limit: 413 while the body is still on its way.
pub fn rejects_oversized_declared_length<H: Harness>() {
    refused_without_refresh::<H, _>(blackbox::rejects_oversized_declared_length);
}

/// A chunked body that grows past the limit: 413 as soon as it crosses it; one under the
/// limit refreshes once.
pub fn rejects_oversized_chunked_body<H: Harness>() {
    let backend = TestBackend::counting();
    from_outside::<H, _>(&backend, blackbox::rejects_oversized_chunked_body);
    assert_eq!(backend.started(), 1);
}

/// Broken JSON: 400 saying so, no refresh.
pub fn rejects_malformed_json<H: Harness>() {
    refused_without_refresh::<H, _>(blackbox::rejects_malformed_json);
}

/// An empty body: 400, no refresh.
pub fn rejects_empty_body<H: Harness>() {
    refused_without_refresh::<H, _>(blackbox::rejects_empty_body);
}

/// JSON that is not an object (array, string, null, number): 400, no refresh.
pub fn rejects_non_object_json<H: Harness>() {
    refused_without_refresh::<H, _>(blackbox::rejects_non_object_json);
}

/// Wrong field types: 400 naming the field, no refresh.
pub fn rejects_wrong_field_types<H: Harness>() {
    refused_without_refresh::<H, _>(blackbox::rejects_wrong_field_types);
}

/// Unknown fields are ignored and unknown `event`/`action` values kept: 200, refreshed.
pub fn accepts_unknown_fields_and_values<H: Harness>() {
    let backend = TestBackend::counting();
    from_outside::<H, _>(&backend, blackbox::accepts_unknown_fields_and_values);
    match backend.triggers().as_slice() {
        [Trigger::Webhook(payload)] => {
            assert_eq!(payload.event, Event::Other("settings_moved".into()));
            assert_eq!(payload.action, Some(Action::Other("flag_renamed".into())));
            assert_eq!(payload.triggered_by.as_deref(), Some("api"));
        }
        other => panic!("backend triggered by {other:?}"),
    }
}

/// No `Content-Type`, or a wrong one: still accepted (VWO's is not guaranteed).
pub fn content_type_not_required<H: Harness>() {
    let backend = TestBackend::counting();
    from_outside::<H, _>(&backend, blackbox::content_type_not_required);
    assert_eq!(backend.finished(), 3);
}

// ---------------------------------------------------------------------------------------------
// Refresh

/// Sequential deliveries: one refresh each, each finished before its 200.
pub fn refresh_runs_once_per_delivery<H: Harness>() {
    let backend = TestBackend::counting();
    let server = secured::<H>(&backend);
    block_on(async {
        for n in 1..=3 {
            expect_delivery(&server, Some(SECRET), DOCUMENTED, 200, "delivery").await;
            assert_eq!(backend.finished(), n, "refreshes after delivery {n}");
        }
    });
}

/// A transient backend failure: 503 with `Retry-After: 1`, so VWO redelivers.
pub fn transient_failure_asks_for_redelivery<H: Harness>() {
    let backend = TestBackend::transient();
    let server = H::serve(receiver_with(&backend, RetryPolicy::none(), |b| b));
    block_on(async {
        let response = expect_delivery(&server, Some(SECRET), DOCUMENTED, 503, "transient failure").await;
        assert_eq!(response.header("retry-after"), Some("1"));
        assert_eq!(backend.started(), 1);
    });
}

/// A permanent backend failure: 500, not retried.
pub fn permanent_failure_is_500<H: Harness>() {
    let backend = TestBackend::permanent();
    let server = secured::<H>(&backend);
    block_on(async {
        let response = expect_delivery(&server, Some(SECRET), DOCUMENTED, 500, "permanent failure").await;
        assert_eq!(response.header("retry-after"), None);
        assert_eq!(backend.started(), 1, "a permanent failure is not retried");
    });
}

/// A panicking backend: 500 for that delivery, and the next delivery is served normally.
pub fn backend_panic_is_contained<H: Harness>() {
    let backend = TestBackend::panicking_once();
    let server = secured::<H>(&backend);
    block_on(async {
        expect_delivery(&server, Some(SECRET), DOCUMENTED, 500, "panicking backend").await;
        expect_delivery(&server, Some(SECRET), DOCUMENTED, 200, "after the panic").await;
        assert_eq!(backend.started(), 2);
    });
}

/// A refresh slower than the ack timeout: 503 now; VWO's redelivery a second later gets 200.
pub fn slow_refresh_answers_503_then_200_on_redelivery<H: Harness>() {
    let backend = TestBackend::slow(Duration::from_millis(400), 1);
    let ack = AckPolicy::AfterRefresh {
        timeout: Duration::from_millis(100),
    };
    let server = H::serve(secured_receiver(&backend, |b| b.ack_policy(ack)));
    block_on(async {
        let first = expect_delivery(
            &server,
            Some(SECRET),
            DOCUMENTED,
            503,
            "refresh still running at the ack timeout",
        )
        .await;
        assert_eq!(first.header("retry-after"), Some("1"));
        // VWO redelivers 1-2 s later: by then the slow refresh has ended.
        backend.wait_finished(1).await;
        expect_delivery(&server, Some(SECRET), DOCUMENTED, 200, "redelivery").await;
        assert_eq!(backend.started(), 2);
    });
}

/// 50 deliveries during one slow refresh cost at most one more refresh, and all get 200.
pub fn concurrent_deliveries_coalesce<H: Harness>() {
    const PARALLEL: usize = 50;
    // Long enough for all 50 connections to land during the first run on a loaded CI machine.
    let backend = TestBackend::slow(Duration::from_millis(1500), 1);
    let server = secured::<H>(&backend);
    block_on(async {
        let addr = server.addr();
        let request = delivery(Some(SECRET), DOCUMENTED);
        let first = {
            let request = request.clone();
            tokio::spawn(async move { request.send(addr).await })
        };
        backend.wait_started(1).await;
        let during: Vec<_> = (0..PARALLEL)
            .map(|_| {
                let request = request.clone();
                tokio::spawn(async move { request.send(addr).await })
            })
            .collect();
        for task in std::iter::once(first).chain(during) {
            let response = task.await.expect("client task").unwrap_or_else(|e| panic!("{e}"));
            expect_status(&response, 200, "coalesced delivery");
        }
        let runs = backend.started();
        assert!(runs <= 2, "{} deliveries cost {runs} refreshes", PARALLEL + 1);
    });
}

/// A delivery arriving during a refresh is answered only after a refresh that started later.
pub fn delivery_during_refresh_waits_for_a_fresh_run<H: Harness>() {
    let backend = TestBackend::slow(Duration::from_millis(300), 2);
    let server = secured::<H>(&backend);
    block_on(async {
        let addr = server.addr();
        let request = delivery(Some(SECRET), DOCUMENTED);
        let first = {
            let request = request.clone();
            tokio::spawn(async move { request.send(addr).await })
        };
        backend.wait_started(1).await;
        let second = send(&server, &request).await;
        expect_status(&second, 200, "delivery during a refresh");
        assert_eq!(
            backend.finished(),
            2,
            "the 200 must wait for a refresh that started after the delivery, not join the one in flight"
        );
        let first = first
            .await
            .expect("client task")
            .unwrap_or_else(|e| panic!("{e}"));
        expect_status(&first, 200, "first delivery");
    });
}

/// The opt-in immediate policy: 202 before the refresh ends, which still runs.
pub fn immediate_ack_policy_answers_202<H: Harness>() {
    let backend = TestBackend::slow(Duration::from_secs(1), 1);
    let server = H::serve(secured_receiver(&backend, |b| b.ack_policy(AckPolicy::Immediate)));
    block_on(async {
        expect_delivery(&server, Some(SECRET), DOCUMENTED, 202, "immediate ack").await;
        assert_eq!(backend.finished(), 0, "202 must not wait for the refresh");
        backend.wait_finished(1).await;
    });
}

// ---------------------------------------------------------------------------------------------
// Edge

/// A declared 50,000,000-byte body with none sent: 413 within 2 s, no refresh.
pub fn rejects_huge_declared_length_without_reading<H: Harness>() {
    refused_without_refresh::<H, _>(blackbox::rejects_huge_declared_length_without_reading);
}

/// `Expect: 100-continue` over the limit: 413 without `100 Continue`, no refresh.
pub fn expect_continue_oversized_is_413<H: Harness>() {
    refused_without_refresh::<H, _>(blackbox::expect_continue_oversized_is_413);
}

/// `Expect: 100-continue` under the limit: `100 Continue`, then 200 after one refresh.
pub fn expect_continue_accepted<H: Harness>() {
    let backend = TestBackend::counting();
    from_outside::<H, _>(&backend, blackbox::expect_continue_accepted);
    assert_eq!(backend.finished(), 1);
}

/// A refusal keeps the connection: the next delivery on it is answered (three refusals, three
/// accepted deliveries, three refreshes).
pub fn keep_alive_after_refusal<H: Harness>() {
    let backend = TestBackend::counting();
    from_outside::<H, _>(&backend, blackbox::keep_alive_after_refusal);
    assert_eq!(backend.finished(), 3);
}

/// A body that stops arriving: 408 once the receiver's body timeout passes, the connection
/// closed, no refresh. A delivery whose body arrives in time is still accepted.
pub fn stalled_body_times_out<H: Harness>() {
    let backend = TestBackend::counting();
    let timeout = Duration::from_millis(300);
    let server = H::serve(secured_receiver(&backend, |b| b.body_timeout(timeout)));
    block_on(async {
        // The head and half of a 100-byte body, then nothing.
        let stalled = delivery(Some(SECRET), SENT_PREFIX).declared_length(100);
        let sent = std::time::Instant::now();
        let response = stalled
            .send_expecting_close(server.addr())
            .await
            .unwrap_or_else(|e| panic!("stalled body: {e}"));
        expect_status(&response, 408, "stalled body");
        expect_json_shape(&response, "408");
        assert!(
            sent.elapsed() >= timeout,
            "answered before the timeout: {:?}",
            sent.elapsed()
        );
        expect_delivery(&server, Some(SECRET), DOCUMENTED, 200, "a timely delivery").await;
        assert_eq!(backend.started(), 1, "only the timely delivery refreshed");
    });
}

/// A body that stops after its first byte is answered 408 once the body timeout passes (a
/// framework that waits for more bytes before routing never lets the receiver see it).
pub fn stalled_after_first_byte_times_out<H: Harness>() {
    let backend = TestBackend::counting();
    let timeout = Duration::from_millis(300);
    let server = H::serve(secured_receiver(&backend, |b| b.body_timeout(timeout)));
    block_on(async {
        let stalled = delivery(Some(SECRET), "{").declared_length(100);
        let sent = std::time::Instant::now();
        let response = tokio::time::timeout(timeout * 10, stalled.send_expecting_close(server.addr()))
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "a body stalled after one byte: no answer within {:?}",
                    timeout * 10
                )
            })
            .unwrap_or_else(|e| panic!("a body stalled after one byte: {e}"));
        expect_status(&response, 408, "a body stalled after one byte");
        assert!(
            sent.elapsed() >= timeout,
            "answered before the timeout: {:?}",
            sent.elapsed()
        );
        assert_eq!(backend.started(), 0, "no refresh for a stalled body");
    });
}

// ---------------------------------------------------------------------------------------------
// Shape

/// One situation of the status table, reproducible through the core and through an adapter.
struct Situation {
    name: &'static str,
    backend: fn() -> TestBackend,
    ack: AckPolicy,
    request: Request,
    /// The same request as the core sees it: method, headers, body.
    method: &'static str,
    headers: Vec<(&'static str, String)>,
    body: &'static str,
}

fn situations() -> Vec<Situation> {
    let key = ("x-vwo-auth", SECRET.to_owned());
    let post = |name, backend: fn() -> TestBackend, ack, secret: Option<&str>, body: &'static str| {
        let headers = secret
            .map(|s| vec![("x-vwo-auth", s.to_owned())])
            .unwrap_or_default();
        Situation {
            name,
            backend,
            ack,
            request: delivery(secret, body),
            method: "POST",
            headers,
            body,
        }
    };
    let wait = AckPolicy::default();
    let too_long = DEFAULT_BODY_LIMIT as u64 + 1;
    vec![
        post(
            "200 refreshed",
            TestBackend::counting,
            wait,
            Some(SECRET),
            DOCUMENTED,
        ),
        post(
            "202 accepted",
            TestBackend::counting,
            AckPolicy::Immediate,
            Some(SECRET),
            DOCUMENTED,
        ),
        post("400 bad JSON", TestBackend::counting, wait, Some(SECRET), "{"),
        post(
            "400 bad field",
            TestBackend::counting,
            wait,
            Some(SECRET),
            r#"{"timestamp":true}"#,
        ),
        post(
            "401 wrong key",
            TestBackend::counting,
            wait,
            Some("wrong"),
            DOCUMENTED,
        ),
        post("401 no key", TestBackend::counting, wait, None, DOCUMENTED),
        Situation {
            name: "405 GET",
            backend: TestBackend::counting,
            ack: wait,
            request: Request::new("GET", DEFAULT_PATH).header("x-vwo-auth", SECRET),
            method: "GET",
            headers: vec![key.clone()],
            body: "",
        },
        Situation {
            name: "413 declared",
            backend: TestBackend::counting,
            ack: wait,
            request: delivery(Some(SECRET), SENT_PREFIX).declared_length(too_long),
            method: "POST",
            headers: vec![key, ("content-length", too_long.to_string())],
            body: "",
        },
        post(
            "500 permanent",
            TestBackend::permanent,
            wait,
            Some(SECRET),
            DOCUMENTED,
        ),
        post(
            "503 transient",
            TestBackend::transient,
            wait,
            Some(SECRET),
            DOCUMENTED,
        ),
    ]
}

fn situation_receiver(situation: &Situation) -> Receiver {
    receiver_with(&(situation.backend)(), RetryPolicy::none(), |b| {
        b.ack_policy(situation.ack)
    })
}

/// Every answer in the status table is `application/json` shaped `{status, message}`.
pub fn every_response_is_json<H: Harness>() {
    for situation in situations() {
        let server = H::serve(situation_receiver(&situation));
        let response = block_on(send(&server, &situation.request));
        let name = situation.name;
        assert!(
            name.starts_with(&response.status.to_string()),
            "{name}: got {} {:?}",
            response.status,
            response.text()
        );
        expect_json_shape(&response, name);
    }
}

/// Status, the table's headers and the body bytes equal the core's own answer (the reference
/// every adapter is held to), for every situation of the table.
pub fn responses_identical_across_adapters<H: Harness>() {
    for situation in situations() {
        let name = situation.name;
        let reference = block_on(async {
            let receiver = situation_receiver(&situation);
            let headers: Vec<(&str, &[u8])> = situation
                .headers
                .iter()
                .map(|(n, v)| (*n, v.as_bytes()))
                .collect();
            receiver
                .handle_buffered(situation.method, headers.as_slice(), situation.body.as_bytes())
                .await
        });
        let server = H::serve(situation_receiver(&situation));
        let response = block_on(send(&server, &situation.request));
        assert_eq!(response.status, reference.status(), "{name}: status");
        for header in ["content-type", "allow", "retry-after"] {
            let expected = reference
                .headers()
                .iter()
                .find(|(n, _)| *n == header)
                .map(|(_, v)| *v);
            assert_eq!(response.header(header), expected, "{name}: header {header}");
        }
        assert_eq!(response.text(), reference.body(), "{name}: body");
    }
}
