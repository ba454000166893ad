//! The cases that need no control over the refresh backend (auth, method, body, shape), run
//! against a receiver seen only from outside: one of ours in the suite, or any running VWO
//! webhook endpoint, in any language, through `cargo xtask conformance --url URL --secret S`.
//!
//! Each check panics with a message naming what broke. The catalog's cases of the same name
//! run these checks against an adapter, then assert what only a test backend can tell.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

use vwo_webhook::{DEFAULT_BODY_LIMIT, DEFAULT_PATH};

use crate::client::{Request, Response, send_on_one_connection};
use crate::expect::{expect_json_shape, expect_message_contains, expect_no_key, expect_status};
use crate::fixtures::{DOCUMENTED, SECRET, SENT_PREFIX, UNKNOWN_FIELDS_AND_VALUES};
use crate::harness::Server;

mod run;

pub use run::{CheckResult, run_checks};

/// A receiver seen from outside: where it listens and the key it accepts.
#[derive(Debug, Clone)]
pub struct Target {
    addr: SocketAddr,
    host: String,
    path: String,
    secret: String,
    body_limit: usize,
}

impl Target {
    /// The receiver at `addr` (sent as `Host: host`), mounted at `path`, accepting `secret`
    /// and refusing bodies over `body_limit` bytes.
    pub fn new(addr: SocketAddr, host: &str, path: &str, secret: &str, body_limit: usize) -> Self {
        Self {
            addr,
            host: host.to_owned(),
            path: path.to_owned(),
            secret: secret.to_owned(),
            body_limit,
        }
    }

    /// A receiver served by a harness with the suite's defaults: the default path and limit,
    /// secured with [`SECRET`].
    pub fn local(server: &Server) -> Self {
        Self::new(
            server.addr(),
            "127.0.0.1",
            DEFAULT_PATH,
            SECRET,
            DEFAULT_BODY_LIMIT,
        )
    }

    /// A request to the receiver's path.
    pub fn request(&self, method: &str) -> Request {
        Request::new(method, &self.path).host(&self.host)
    }

    /// A `POST` of `body` with `key` (if any) in `x-vwo-auth` and a JSON content type.
    pub fn delivery(&self, key: Option<&str>, body: &str) -> Request {
        delivery_to(&self.path, key, body).host(&self.host)
    }

    /// A delivery with the right key.
    pub fn signed(&self, body: &str) -> Request {
        self.delivery(Some(&self.secret), body)
    }

    /// Sends `request`, failing the check if no complete answer comes back.
    pub async fn send(&self, request: &Request) -> Response {
        send_to(self.addr, request).await
    }

    /// Sends `request` and checks the status.
    pub async fn expect(&self, request: &Request, status: u16, what: &str) -> Response {
        let response = self.send(request).await;
        expect_status(&response, status, what);
        response
    }

    /// Sends `request` and checks it was accepted (200, or 202 under an immediate ack policy).
    pub async fn expect_accepted(&self, request: &Request, what: &str) -> Response {
        let response = self.send(request).await;
        assert!(
            matches!(response.status, 200 | 202),
            "{what}: expected 200 or 202, got {} with body {:?}",
            response.status,
            response.text()
        );
        response
    }
}

/// The first `n` bytes of `s`, or all of it.
fn head(s: &str, n: usize) -> &str {
    s.get(..n).unwrap_or(s)
}

/// A `POST` of `body` to `path` with `key` (if any) in `x-vwo-auth` and a JSON content type:
/// the delivery every check and case sends, whether it sees the receiver from outside or not.
pub(crate) fn delivery_to(path: &str, key: Option<&str>, body: &str) -> Request {
    let request = Request::post(path, body).header("content-type", "application/json");
    match key {
        Some(key) => request.header("x-vwo-auth", key),
        None => request,
    }
}

/// Sends `request` to `addr`, failing the check if no complete answer comes back.
pub(crate) async fn send_to(addr: SocketAddr, request: &Request) -> Response {
    match request.send(addr).await {
        Ok(response) => response,
        Err(error) => panic!("{request:?}: {error}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Auth

/// The documented payload with the right key is accepted.
pub async fn accepts_seed_payload(target: Target) {
    target
        .expect_accepted(&target.signed(DOCUMENTED), "documented payload, right key")
        .await;
}

/// `X-VWO-Auth`, `X-VWO-AUTH`: header names are case-insensitive.
pub async fn header_name_case_insensitive(target: Target) {
    for name in ["X-VWO-Auth", "X-VWO-AUTH", "x-Vwo-aUtH"] {
        let request = target
            .request("POST")
            .body(DOCUMENTED)
            .header(name, &target.secret);
        target.expect_accepted(&request, name).await;
    }
}

/// A wrong key: 401.
pub async fn rejects_wrong_secret(target: Target) {
    let request = target.delivery(Some("not-the-secret"), DOCUMENTED);
    target.expect(&request, 401, "wrong key").await;
}

/// No `x-vwo-auth` header at all: 401 (fail closed).
pub async fn rejects_missing_secret_header(target: Target) {
    target
        .expect(&target.delivery(None, DOCUMENTED), 401, "no header")
        .await;
}

/// An empty `x-vwo-auth` header: 401.
pub async fn rejects_empty_secret_header(target: Target) {
    let request = target.delivery(Some(""), DOCUMENTED);
    target.expect(&request, 401, "empty header").await;
}

/// A prefix of the key, or the key with extra bytes: 401.
pub async fn rejects_secret_prefix_and_extension(target: Target) {
    let secret = target.secret.as_str();
    let near_misses = [
        head(secret, secret.len().saturating_sub(1)).to_owned(),
        head(secret, 1).to_owned(),
        format!("{secret}x"),
        format!("{secret}{secret}"),
    ];
    for key in near_misses.iter().filter(|key| *key != secret) {
        let request = target.delivery(Some(key), DOCUMENTED);
        target.expect(&request, 401, "a near miss of the key").await;
    }
}

/// A wrong key with a garbage body is 401, not 400: authentication comes first.
pub async fn auth_checked_before_body_parse(target: Target) {
    for key in [Some("wrong"), None] {
        let request = target.delivery(key, "{ this is not json");
        target
            .expect(&request, 401, "garbage body without valid credentials")
            .await;
    }
}

/// No response (body or headers) echoes the configured or the presented key.
pub async fn error_bodies_never_echo_secrets(target: Target) {
    let secret = target.secret.as_str();
    let near_miss = format!("{}Z", head(secret, secret.len().saturating_sub(1)));
    let in_a_field = format!(r#"{{"timestamp":"{secret}","event":1}}"#);
    let requests = [
        target.delivery(Some(&near_miss), DOCUMENTED),
        target.delivery(Some("attacker-guess-123"), "not json"),
        target.signed("{\"timestamp\": \"x\""),
        target.signed(&in_a_field),
        target.request("GET").header("x-vwo-auth", secret),
    ];
    let keys = [secret, near_miss.as_str(), "attacker-guess-123"];
    for request in &requests {
        let response = target.send(request).await;
        assert!(!response.is_success(), "{request:?} should fail");
        expect_no_key(&response, &keys, &format!("{request:?}"));
    }
}

// ---------------------------------------------------------------------------------------------
// Method

/// GET, PUT, DELETE, PATCH: 405 with `Allow: POST`, before authentication.
pub async fn rejects_non_post_with_allow(target: Target) {
    for method in ["GET", "PUT", "DELETE", "PATCH"] {
        let with_key = target.request(method).header("x-vwo-auth", &target.secret);
        for request in [with_key, target.request(method)] {
            let response = target.expect(&request, 405, method).await;
            assert_eq!(response.header("allow"), Some("POST"), "{method}: Allow header");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Body

/// A declared `Content-Length` over the limit: 413 while the body is still on its way.
pub async fn rejects_oversized_declared_length(target: Target) {
    let request = target
        .signed(SENT_PREFIX)
        .declared_length(target.body_limit as u64 + 1);
    let response = target
        .expect(&request, 413, "declared length over the limit, body not sent")
        .await;
    expect_message_contains(&response, &target.body_limit.to_string());
}

/// A chunked body that grows past the limit: 413 as soon as it crosses it. The body is never
/// terminated, so a receiver that buffers to the end instead of stopping never answers. A
/// chunked body under the limit is accepted.
pub async fn rejects_oversized_chunked_body(target: Target) {
    let body = vec![b' '; target.body_limit + 1];
    let request = target.signed("").chunked_unterminated(body, 4096);
    target.expect(&request, 413, "chunked body over the limit").await;
    let padded = format!("{DOCUMENTED}{}", " ".repeat(10_000.min(target.body_limit / 2)));
    let request = target.signed("").chunked(padded, 1000);
    target
        .expect_accepted(&request, "chunked body under the limit")
        .await;
}

/// Broken JSON: 400 saying so.
pub async fn rejects_malformed_json(target: Target) {
    let request = target.signed(r#"{"timestamp": 1606482285,"#);
    let response = target.expect(&request, 400, "truncated JSON").await;
    expect_message_contains(&response, "not valid JSON");
}

/// An empty body: 400 saying so.
pub async fn rejects_empty_body(target: Target) {
    let response = target.expect(&target.signed(""), 400, "empty body").await;
    expect_message_contains(&response, "empty");
}

/// JSON that is not an object (array, string, null, number): 400.
pub async fn rejects_non_object_json(target: Target) {
    for body in [
        r#"[1606482285, "settings_changed"]"#,
        r#""settings_changed""#,
        "null",
        "42",
    ] {
        let response = target.expect(&target.signed(body), 400, body).await;
        expect_message_contains(&response, "JSON object");
    }
}

/// Wrong field types: 400 naming the field.
pub async fn rejects_wrong_field_types(target: Target) {
    let cases = [
        (
            r#"{"timestamp":"1606482285","event":"settings_changed"}"#,
            "`timestamp`",
        ),
        (
            r#"{"timestamp":1606482285.5,"event":"settings_changed"}"#,
            "`timestamp`",
        ),
        (r#"{"timestamp":1606482285,"event":42}"#, "`event`"),
        (r#"{"timestamp":1606482285}"#, "`event`"),
        (
            r#"{"timestamp":1606482285,"event":"settings_changed","action":{}}"#,
            "`action`",
        ),
    ];
    for (body, field) in cases {
        let response = target.expect(&target.signed(body), 400, body).await;
        expect_message_contains(&response, field);
    }
}

/// Unknown fields are ignored and unknown `event`/`action` values kept: accepted.
pub async fn accepts_unknown_fields_and_values(target: Target) {
    let request = target.signed(UNKNOWN_FIELDS_AND_VALUES);
    target.expect_accepted(&request, "unknown values").await;
}

/// No `Content-Type`, or a wrong one: still accepted (VWO's is not guaranteed).
pub async fn content_type_not_required(target: Target) {
    let bare = target
        .request("POST")
        .body(DOCUMENTED)
        .header("x-vwo-auth", &target.secret);
    target.expect_accepted(&bare, "no content-type").await;
    let text = bare.clone().header("content-type", "text/plain");
    target.expect_accepted(&text, "text/plain").await;
    let form = bare.header("content-type", "application/x-www-form-urlencoded");
    target.expect_accepted(&form, "form content-type").await;
}

// ---------------------------------------------------------------------------------------------
// Edge

/// A declared length far over the limit (50,000,000) and no body byte at all: 413 within 2 s,
/// without waiting for (or asking for) the body.
pub async fn rejects_huge_declared_length_without_reading(target: Target) {
    let request = target.signed("").declared_length(50_000_000);
    let response = tokio::time::timeout(std::time::Duration::from_secs(2), request.send(target.addr))
        .await
        .unwrap_or_else(|_| panic!("no answer within 2 s to a declared 50,000,000-byte body with none sent"))
        .unwrap_or_else(|e| panic!("{request:?}: {e}"));
    expect_status(&response, 413, "declared 50,000,000 bytes, none sent");
}

/// `Expect: 100-continue` with a declared length over the limit: 413 at once, and no
/// `100 Continue` asking for a body that would be refused.
pub async fn expect_continue_oversized_is_413(target: Target) {
    let request = target
        .signed(SENT_PREFIX)
        .declared_length(target.body_limit as u64 + 1);
    let answer = request
        .send_expecting_continue(target.addr)
        .await
        .unwrap_or_else(|e| panic!("{request:?}: {e}"));
    assert!(!answer.continued, "100 Continue sent for a body over the limit");
    expect_status(&answer.response, 413, "oversized delivery expecting 100-continue");
}

/// `Expect: 100-continue` with a body under the limit: `100 Continue`, then the usual answer.
pub async fn expect_continue_accepted(target: Target) {
    let request = target.signed(DOCUMENTED);
    let answer = request
        .send_expecting_continue(target.addr)
        .await
        .unwrap_or_else(|e| panic!("{request:?}: {e}"));
    assert!(answer.continued, "no 100 Continue for a delivery under the limit");
    assert!(
        matches!(answer.response.status, 200 | 202),
        "expected 200 or 202 after 100 Continue, got {} with body {:?}",
        answer.response.status,
        answer.response.text()
    );
}

/// A refused delivery (401, 400 and 405, each with a small body) leaves its connection open:
/// the next delivery on it is answered.
pub async fn keep_alive_after_refusal(target: Target) {
    let refusals = [
        (401, target.delivery(Some("not-the-secret"), DOCUMENTED)),
        (400, target.signed(r#"{"timestamp": "soon"}"#)),
        (
            405,
            target
                .request("GET")
                .header("x-vwo-auth", &target.secret)
                .body(DOCUMENTED),
        ),
    ];
    for (status, refused) in refusals {
        let answers = send_on_one_connection(target.addr, &[refused, target.signed(DOCUMENTED)])
            .await
            .unwrap_or_else(|e| panic!("after a {status}: {e}"));
        expect_status(&answers[0], status, "the refusal");
        assert!(
            matches!(answers[1].status, 200 | 202),
            "after a {status} on the same connection: expected 200 or 202, got {}",
            answers[1].status
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Shape

/// Every answer a client can cause without a backend failure is JSON `{status, message}`.
pub async fn every_response_is_json(target: Target) {
    let oversized = target
        .signed(SENT_PREFIX)
        .declared_length(target.body_limit as u64 + 1);
    let requests = [
        ("accepted", target.signed(DOCUMENTED)),
        ("400 bad JSON", target.signed("{")),
        ("400 bad field", target.signed(r#"{"timestamp":true}"#)),
        ("401 wrong key", target.delivery(Some("wrong"), DOCUMENTED)),
        ("401 no key", target.delivery(None, DOCUMENTED)),
        (
            "405 GET",
            target.request("GET").header("x-vwo-auth", &target.secret),
        ),
        ("413 declared", oversized),
    ];
    for (what, request) in &requests {
        let response = target.send(request).await;
        expect_json_shape(&response, what);
    }
}

/// One black-box check, as the runner calls it.
pub type Check = fn(Target) -> Pin<Box<dyn Future<Output = ()>>>;

#[doc(hidden)]
#[macro_export]
macro_rules! __checks {
    (; blackbox { $($name:ident,)* } backend { $($other:ident,)* }) => {
        /// Every black-box check with its case name, in catalog order.
        pub const CHECKS: &[(&str, Check)] = &[$((stringify!($name), |target| Box::pin($name(target)))),*];
    };
}

crate::for_each_case!(__checks!());
