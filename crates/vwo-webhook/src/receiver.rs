//! The sans-IO engine: every decision about a delivery, none of the HTTP plumbing.
//!
//! Adapters hand over the method, a header lookup and a way to read the body with a limit;
//! they get back a [`Response`] to copy out. Checks run in a fixed order (method, header
//! authentication, declared length, body, body authentication, payload, refresh) so every
//! framework answers the same request the same way.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::Instrument;

use crate::coordinator::{Coordinator, RetryPolicy, RunOutcome, Settled};
use crate::payload::SettingsChanged;
use crate::refresh::{Refresh, Trigger};
use crate::response::Response;
use crate::secret::Keyring;
use crate::verify::{HeaderLookup, SharedKey, Verifier, VerifyError};

/// The path adapters mount the receiver at unless told otherwise.
pub const DEFAULT_PATH: &str = "/vwo-webhook";
/// The largest body read (64 KiB); VWO's notices are about 120 bytes.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;
/// How long a delivery waits for its refresh before answering 503 (5 s).
pub const DEFAULT_ACK_TIMEOUT: Duration = Duration::from_secs(5);

/// When to answer VWO.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckPolicy {
    /// Answer 200 once a refresh that started after the delivery succeeded; 503 if it has
    /// not within `timeout`, so VWO redelivers (and the redelivery coalesces). The default.
    AfterRefresh {
        /// How long to wait (default 5 s).
        timeout: Duration,
    },
    /// Answer 202 at once and refresh in the background. VWO will not redeliver, so a failed
    /// refresh is only retried by the coordinator and the safety net: prefer the default.
    Immediate,
}

impl Default for AckPolicy {
    fn default() -> Self {
        Self::AfterRefresh {
            timeout: DEFAULT_ACK_TIMEOUT,
        }
    }
}

/// Why an adapter could not read a body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// The body is longer than the limit; stop reading at the limit.
    #[error("the body exceeds the limit")]
    TooLarge,
    /// The connection failed or the framing is broken.
    #[error("the body could not be read: {0}")]
    Unreadable(String),
}

/// Why a receiver could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// No secret or verifier was configured and the insecure opt-in was not called.
    #[error(
        "no webhook secret configured: add one with ReceiverBuilder::keyring, or call \
         ReceiverBuilder::allow_unauthenticated_deliveries_insecure to accept anyone's deliveries"
    )]
    NoAuthentication,
    /// The mount path does not start with `/`.
    #[error("the mount path must start with '/'")]
    InvalidPath,
    /// A body limit of zero would refuse every delivery.
    #[error("the body limit must be at least 1 byte")]
    ZeroBodyLimit,
}

/// Receives VWO webhooks: authenticates, parses and coordinates refreshes.
///
/// Cheap to clone; clones share everything. Build one with [`Receiver::builder`] and give it
/// to an adapter crate.
#[derive(Clone)]
pub struct Receiver {
    inner: Arc<Inner>,
    // Outside `inner` so a framework's own limit setting can replace it (see `with_body_limit`).
    body_limit: usize,
}

struct Inner {
    path: String,
    head_verifiers: Vec<Box<dyn Verifier>>,
    body_verifiers: Vec<Box<dyn Verifier>>,
    ack: AckPolicy,
    coordinator: Coordinator,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("path", &self.inner.path)
            .field(
                "verifiers",
                &(self.inner.head_verifiers.len() + self.inner.body_verifiers.len()),
            )
            .field("body_limit", &self.body_limit)
            .field("ack", &self.inner.ack)
            .finish_non_exhaustive()
    }
}

/// Configures a [`Receiver`].
pub struct ReceiverBuilder {
    coordinator: Coordinator,
    verifiers: Vec<Box<dyn Verifier>>,
    insecure: bool,
    path: String,
    body_limit: usize,
    ack: AckPolicy,
}

impl Receiver {
    /// Starts configuring a receiver whose refreshes run `backend`.
    pub fn builder(backend: impl Refresh) -> ReceiverBuilder {
        Self::builder_with_retry(backend, RetryPolicy::default())
    }

    /// Like [`Receiver::builder`], with a retry policy for transient backend failures.
    pub fn builder_with_retry(backend: impl Refresh, retry: RetryPolicy) -> ReceiverBuilder {
        ReceiverBuilder {
            coordinator: Coordinator::new(backend, retry),
            verifiers: Vec::new(),
            insecure: false,
            path: DEFAULT_PATH.to_owned(),
            body_limit: DEFAULT_BODY_LIMIT,
            ack: AckPolicy::default(),
        }
    }

    /// Where adapters mount the receiver.
    pub fn path(&self) -> &str {
        &self.inner.path
    }

    /// The largest body accepted, in bytes.
    pub fn body_limit(&self) -> usize {
        self.body_limit
    }

    /// The same receiver (sharing its coordinator) with another body limit, for adapters
    /// whose framework configures limits itself (rocket's `limits.vwo-webhook`).
    pub fn with_body_limit(mut self, limit: usize) -> Result<Self, BuildError> {
        if limit == 0 {
            return Err(BuildError::ZeroBodyLimit);
        }
        self.body_limit = limit;
        Ok(self)
    }

    /// The coordinator, to refresh by hand or start the safety net.
    pub fn coordinator(&self) -> &Coordinator {
        &self.inner.coordinator
    }

    /// Handles one delivery from start to answer. `read_body` is called (at most once, after
    /// the header checks pass) with the body limit and must stop reading past it.
    pub async fn handle<H, F, Fut, B>(&self, method: &str, headers: &H, read_body: F) -> Response
    where
        H: HeaderLookup + ?Sized,
        F: FnOnce(usize) -> Fut,
        Fut: Future<Output = Result<B, BodyError>>,
        B: AsRef<[u8]>,
    {
        match self.accept(method, headers, read_body).await {
            Ok(delivery) => delivery.respond().await,
            Err(rejection) => rejection,
        }
    }

    /// [`Receiver::handle`] for a body already in memory.
    pub async fn handle_buffered<H>(&self, method: &str, headers: &H, body: &[u8]) -> Response
    where
        H: HeaderLookup + ?Sized,
    {
        self.handle(method, headers, |limit| async move {
            if body.len() > limit {
                Err(BodyError::TooLarge)
            } else {
                Ok(body)
            }
        })
        .await
    }

    /// Runs every check up to the refresh: the first half of [`Receiver::handle`], for
    /// extractors that hand a verified [`Delivery`] to the application's own handler.
    pub async fn accept<H, F, Fut, B>(
        &self,
        method: &str,
        headers: &H,
        read_body: F,
    ) -> Result<Delivery, Response>
    where
        H: HeaderLookup + ?Sized,
        F: FnOnce(usize) -> Fut,
        Fut: Future<Output = Result<B, BodyError>>,
        B: AsRef<[u8]>,
    {
        let arrived = Instant::now();
        let span = tracing::info_span!(
            "vwo_webhook.delivery",
            status = tracing::field::Empty,
            outcome = tracing::field::Empty,
            generation = tracing::field::Empty,
            latency_us = tracing::field::Empty,
        );
        let checked = self
            .check(method, headers, read_body)
            .instrument(span.clone())
            .await;
        match checked {
            Ok((payload, replay_ids)) => Ok(Delivery {
                receiver: self.clone(),
                payload,
                replay_ids,
                arrived,
                span,
            }),
            Err((response, reason)) if response.is_success() => {
                let _entered = span.enter();
                record(&span, &response, "replayed", arrived);
                tracing::info!(reason, "vwo webhook delivery already processed");
                Err(response)
            }
            Err((response, reason)) => {
                let _entered = span.enter();
                record(&span, &response, "rejected", arrived);
                if response.status() == 401 {
                    tracing::warn!(reason, "vwo webhook delivery rejected");
                } else {
                    tracing::info!(reason, "vwo webhook delivery rejected");
                }
                Err(response)
            }
        }
    }

    async fn check<H, F, Fut, B>(
        &self,
        method: &str,
        headers: &H,
        read_body: F,
    ) -> Result<(SettingsChanged, Vec<ReplayId>), (Response, String)>
    where
        H: HeaderLookup + ?Sized,
        F: FnOnce(usize) -> Fut,
        Fut: Future<Output = Result<B, BodyError>>,
        B: AsRef<[u8]>,
    {
        let inner = &*self.inner;
        // Methods are case-sensitive (RFC 9110): `post` is not POST.
        if method != "POST" {
            return Err((Response::method_not_allowed(), format!("method {method:.16}")));
        }
        let headers = Headers(headers);
        for verifier in &inner.head_verifiers {
            verifier.verify(&headers, &[]).map_err(refused)?;
        }
        let declared = headers
            .header("content-length")
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|len| len > self.body_limit as u64) {
            return Err(self.too_large("declared content-length over the limit"));
        }
        let body = match read_body(self.body_limit).await {
            Ok(body) => body,
            Err(BodyError::TooLarge) => return Err(self.too_large("body over the limit")),
            Err(BodyError::Unreadable(reason)) => {
                return Err((
                    Response::bad_request("the request body could not be read"),
                    reason,
                ));
            }
        };
        let body = body.as_ref();
        if body.len() > self.body_limit {
            return Err(self.too_large("adapter returned a body over the limit"));
        }
        for verifier in &inner.body_verifiers {
            verifier.verify(&headers, body).map_err(refused)?;
        }
        let payload = SettingsChanged::from_slice(body).map_err(|error| {
            let message = format!("invalid webhook payload: {error}");
            (Response::bad_request(&message), message)
        })?;
        let mut replay_ids = Vec::new();
        for (reads_body, verifiers) in [(false, &inner.head_verifiers), (true, &inner.body_verifiers)] {
            for (index, verifier) in verifiers.iter().enumerate() {
                if let Some(id) = verifier.replay_id(&headers) {
                    replay_ids.push(ReplayId {
                        reads_body,
                        index,
                        id,
                    });
                }
            }
        }
        Ok((payload, replay_ids))
    }

    fn too_large(&self, reason: &str) -> (Response, String) {
        (Response::payload_too_large(self.body_limit), reason.to_owned())
    }
}

/// A refused check's answer: a replay is acknowledged, anything else is 401.
fn refused(error: VerifyError) -> (Response, String) {
    match error {
        VerifyError::Replayed(_) => (Response::already_processed(), error.to_string()),
        _ => (Response::unauthorized(), error.to_string()),
    }
}

/// A delivery id to hand back to the verifier that read it once the delivery is answered 2xx.
#[derive(Debug)]
struct ReplayId {
    reads_body: bool,
    index: usize,
    id: Vec<u8>,
}

/// Adapts `&H` (possibly unsized) to `&dyn HeaderLookup` for verifiers.
struct Headers<'a, H: ?Sized>(&'a H);

impl<H: HeaderLookup + ?Sized> HeaderLookup for Headers<'_, H> {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.0.header(name)
    }
}

/// An authenticated, parsed delivery whose refresh has not been asked for yet.
#[derive(Debug)]
#[must_use = "call respond() to refresh and get the answer for VWO"]
pub struct Delivery {
    receiver: Receiver,
    payload: SettingsChanged,
    replay_ids: Vec<ReplayId>,
    arrived: Instant,
    span: tracing::Span,
}

impl Delivery {
    /// The notice VWO sent.
    pub fn payload(&self) -> &SettingsChanged {
        &self.payload
    }

    /// Asks for a refresh that starts after now and answers per the ack policy.
    pub async fn respond(self) -> Response {
        let span = self.span.clone();
        self.respond_inner().instrument(span).await
    }

    async fn respond_inner(self) -> Response {
        let inner = &*self.receiver.inner;
        let action = self.payload.action.as_ref().map(|a| a.as_str().to_owned());
        let ticket = inner.coordinator.schedule(Trigger::Webhook(self.payload));
        let generation = ticket.required_generation();
        let (response, outcome) = match inner.ack {
            AckPolicy::Immediate => {
                drop(ticket);
                (Response::accepted(), "scheduled")
            }
            AckPolicy::AfterRefresh { timeout } => match ticket.wait(Some(timeout)).await {
                Settled::Done { outcome, .. } => match outcome {
                    RunOutcome::Refreshed => (Response::refreshed(), "refreshed"),
                    RunOutcome::Transient => (
                        Response::retry_later("settings refresh failed transiently; redeliver"),
                        "transient_failure",
                    ),
                    RunOutcome::Permanent => {
                        (Response::failed("settings refresh failed"), "permanent_failure")
                    }
                    RunOutcome::Panicked => (
                        Response::failed("settings refresh failed unexpectedly"),
                        "panicked",
                    ),
                },
                Settled::TimedOut { retrying: true } => (
                    Response::retry_later(
                        "settings refresh failed transiently and is being retried; redeliver",
                    ),
                    "transient_failure",
                ),
                Settled::TimedOut { retrying: false } => (
                    Response::retry_later("settings refresh still running; redeliver"),
                    "timed_out",
                ),
            },
        };
        if response.is_success() {
            for ReplayId {
                reads_body,
                index,
                id,
            } in &self.replay_ids
            {
                let verifiers = if *reads_body {
                    &inner.body_verifiers
                } else {
                    &inner.head_verifiers
                };
                if let Some(verifier) = verifiers.get(*index) {
                    verifier.remember(id);
                }
            }
        }
        self.span.record("generation", generation);
        record(&self.span, &response, outcome, self.arrived);
        tracing::info!(
            action = action.as_deref().unwrap_or(""),
            "vwo webhook delivery answered"
        );
        response
    }
}

fn record(span: &tracing::Span, response: &Response, outcome: &str, arrived: Instant) {
    span.record("status", response.status());
    span.record("outcome", outcome);
    span.record("latency_us", arrived.elapsed().as_micros() as u64);
}

impl ReceiverBuilder {
    /// Accepts deliveries whose `x-vwo-auth` header holds any secret of `keyring`.
    /// Keep a clone of the keyring to rotate secrets at runtime.
    pub fn keyring(self, keyring: Keyring) -> Self {
        self.verifier(SharedKey::new(keyring))
    }

    /// Adds a check every delivery must pass (all configured checks must pass).
    pub fn verifier(mut self, verifier: impl Verifier) -> Self {
        self.verifiers.push(Box::new(verifier));
        self
    }

    /// Accepts deliveries from anyone when no verifier is configured. Anyone who can reach
    /// the endpoint can then trigger refreshes; a warning is logged when the receiver is
    /// built. Meant for local experiments only.
    pub fn allow_unauthenticated_deliveries_insecure(mut self) -> Self {
        self.insecure = true;
        self
    }

    /// Mounts at `path` instead of `/vwo-webhook`.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// Refuses bodies over `limit` bytes with 413 (default 64 KiB).
    pub fn body_limit(mut self, limit: usize) -> Self {
        self.body_limit = limit;
        self
    }

    /// When to answer VWO (default: after the refresh, within 5 s).
    pub fn ack_policy(mut self, ack: AckPolicy) -> Self {
        self.ack = ack;
        self
    }

    /// Builds the receiver. Fails closed: without a verifier it is an error unless
    /// [`ReceiverBuilder::allow_unauthenticated_deliveries_insecure`] was called.
    pub fn build(self) -> Result<Receiver, BuildError> {
        if !self.path.starts_with('/') {
            return Err(BuildError::InvalidPath);
        }
        if self.body_limit == 0 {
            return Err(BuildError::ZeroBodyLimit);
        }
        if self.verifiers.is_empty() {
            if !self.insecure {
                return Err(BuildError::NoAuthentication);
            }
            tracing::warn!(
                path = %self.path,
                "vwo-webhook receiver built WITHOUT authentication: anyone who can reach it can trigger refreshes"
            );
        }
        let (body_verifiers, head_verifiers) = self.verifiers.into_iter().partition(|v| v.reads_body());
        Ok(Receiver {
            inner: Arc::new(Inner {
                path: self.path,
                head_verifiers,
                body_verifiers,
                ack: self.ack,
                coordinator: self.coordinator,
            }),
            body_limit: self.body_limit,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::refresh::RefreshError;
    use crate::secret::Secret;

    const DOCUMENTED: &[u8] = include_bytes!("../testdata/documented.json");

    fn counting() -> (Arc<AtomicUsize>, impl Refresh) {
        let runs = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&runs);
        (runs, move |_t: Trigger| {
            counter.fetch_add(1, Ordering::SeqCst);
            async { Ok::<(), RefreshError>(()) }
        })
    }

    fn receiver() -> (Arc<AtomicUsize>, Receiver) {
        let (runs, backend) = counting();
        let keyring = Keyring::new([Secret::new("s3cret").expect("secret")]).expect("keyring");
        (
            runs,
            Receiver::builder(backend)
                .keyring(keyring)
                .build()
                .expect("build"),
        )
    }

    #[test]
    fn building_without_a_secret_fails_closed() {
        let (_, backend) = counting();
        assert_eq!(
            Receiver::builder(backend).build().err(),
            Some(BuildError::NoAuthentication)
        );
        let (_, backend) = counting();
        let open = Receiver::builder(backend)
            .allow_unauthenticated_deliveries_insecure()
            .build();
        assert!(open.is_ok());
        let (_, backend) = counting();
        let bad_path = Receiver::builder(backend)
            .allow_unauthenticated_deliveries_insecure()
            .path("x")
            .build();
        assert_eq!(bad_path.err(), Some(BuildError::InvalidPath));
    }

    /// A Standard Webhooks delivery of the documented notice, signed with `key` at `now`.
    fn signed_delivery(key: &[u8], id: &str, now: i64) -> (String, String) {
        use base64::Engine;
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("key");
        mac.update(format!("{id}.{now}.").as_bytes());
        mac.update(DOCUMENTED);
        let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        (now.to_string(), format!("v1,{signature}"))
    }

    #[tokio::test]
    async fn a_replayed_delivery_is_acknowledged_without_a_refresh_but_a_failed_one_is_retried() {
        let runs = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&runs);
        // The first refresh fails transiently, the rest succeed.
        let backend = move |_t: Trigger| {
            let run = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                if run == 0 {
                    Err(RefreshError::transient(std::io::Error::other("origin down")))
                } else {
                    Ok(())
                }
            }
        };
        let now = 1_700_000_000;
        let verifier = crate::StandardWebhooks::new(["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])
            .expect("secret")
            .clock(move || now);
        let receiver = Receiver::builder_with_retry(backend, RetryPolicy::none())
            .verifier(verifier)
            .build()
            .expect("receiver");
        let key = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        )
        .expect("key");
        let (timestamp, signature) = signed_delivery(&key, "msg_1", now);
        let headers: [(&str, &[u8]); 3] = [
            ("webhook-id", b"msg_1"),
            ("webhook-timestamp", timestamp.as_bytes()),
            ("webhook-signature", signature.as_bytes()),
        ];
        let first = receiver.handle_buffered("POST", &headers, DOCUMENTED).await;
        assert_eq!(first.status(), 503, "the refresh failed: VWO must redeliver");
        let redelivered = receiver.handle_buffered("POST", &headers, DOCUMENTED).await;
        assert_eq!(redelivered.status(), 200);
        assert!(
            redelivered.body().contains("settings refreshed"),
            "{}",
            redelivered.body()
        );
        assert_eq!(
            runs.load(Ordering::SeqCst),
            2,
            "the redelivery of a failed delivery refreshes"
        );
        let replayed = receiver.handle_buffered("POST", &headers, DOCUMENTED).await;
        assert_eq!(replayed.status(), 200);
        assert!(
            replayed.body().contains("already processed"),
            "{}",
            replayed.body()
        );
        assert_eq!(runs.load(Ordering::SeqCst), 2, "a replay does not refresh");
        // The same id with a forged signature is refused, not acknowledged.
        let forged: [(&str, &[u8]); 3] = [headers[0], headers[1], ("webhook-signature", b"v1,AAAA")];
        assert_eq!(
            receiver
                .handle_buffered("POST", &forged, DOCUMENTED)
                .await
                .status(),
            401
        );
    }

    #[tokio::test]
    async fn with_body_limit_changes_only_the_limit() {
        let (runs, r) = receiver();
        assert_eq!(
            r.clone().with_body_limit(0).err(),
            Some(BuildError::ZeroBodyLimit)
        );
        let small = r.clone().with_body_limit(8).expect("limit");
        assert_eq!((small.body_limit(), r.body_limit()), (8, DEFAULT_BODY_LIMIT));
        let good: [(&str, &[u8]); 1] = [("x-vwo-auth", b"s3cret")];
        let refused = small.handle_buffered("POST", &good, DOCUMENTED).await;
        assert_eq!(refused.status(), 413);
        assert!(refused.body().contains("8 bytes"), "{}", refused.body());
        // Same coordinator, same keys: the original still accepts and refreshes.
        assert_eq!(r.handle_buffered("POST", &good, DOCUMENTED).await.status(), 200);
        assert_eq!(small.handle_buffered("POST", &good, b"{}").await.status(), 400);
        assert!(std::ptr::eq(small.coordinator(), r.coordinator()));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn checks_run_in_order_method_auth_length_body() {
        let (runs, r) = receiver();
        let good: [(&str, &[u8]); 1] = [("x-vwo-auth", b"s3cret")];
        let wrong: [(&str, &[u8]); 1] = [("x-vwo-auth", b"nope")];
        // Method first: even without credentials.
        assert_eq!(r.handle_buffered("GET", &wrong, b"garbage").await.status(), 405);
        // Auth before the body is even read.
        let read = r
            .handle("POST", &wrong, |_| async {
                panic!("body read before authentication") as Result<&[u8], _>
            })
            .await;
        assert_eq!(read.status(), 401);
        // Declared length before reading.
        let declared: [(&str, &[u8]); 2] = [("x-vwo-auth", b"s3cret"), ("Content-Length", b"65537")];
        let too_long = r
            .handle("POST", &declared, |_| async {
                panic!("body read past a declared overflow") as Result<&[u8], _>
            })
            .await;
        assert_eq!(too_long.status(), 413);
        assert_eq!(r.handle_buffered("POST", &good, b"{").await.status(), 400);
        assert_eq!(runs.load(Ordering::SeqCst), 0);
        let ok = r.handle_buffered("POST", &good, DOCUMENTED).await;
        assert_eq!(
            (ok.status(), ok.body()),
            (200, r#"{"status":"success","message":"settings refreshed"}"#)
        );
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn bad_payload_message_names_the_field() {
        let (_, r) = receiver();
        let good: [(&str, &[u8]); 1] = [("x-vwo-auth", b"s3cret")];
        let response = r
            .handle_buffered("POST", &good, br#"{"timestamp":"soon","event":"x"}"#)
            .await;
        assert_eq!(response.status(), 400);
        assert!(response.body().contains("`timestamp`"), "{}", response.body());
    }

    #[tokio::test]
    async fn immediate_policy_answers_202_and_still_refreshes() {
        let (runs, backend) = counting();
        let r = Receiver::builder(backend)
            .allow_unauthenticated_deliveries_insecure()
            .ack_policy(AckPolicy::Immediate)
            .build()
            .expect("build");
        let none: [(&str, &[u8]); 0] = [];
        assert_eq!(r.handle_buffered("POST", &none, DOCUMENTED).await.status(), 202);
        assert_eq!(
            r.coordinator().refresh(Trigger::Manual).await,
            RunOutcome::Refreshed
        );
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    /// Collects everything a `fmt` subscriber writes.
    #[derive(Clone, Default)]
    struct Capture(Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("capture").extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
        type Writer = Capture;

        fn make_writer(&'a self) -> Capture {
            self.clone()
        }
    }

    /// Runs `f` with every event on this thread logged as text, and returns the text.
    fn logs_of(f: impl FnOnce()) -> String {
        let capture = Capture::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(capture.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::TRACE)
            .finish();
        tracing::subscriber::with_default(subscriber, f);
        let bytes = capture.0.lock().expect("capture").clone();
        String::from_utf8(bytes).expect("utf-8")
    }

    #[test]
    fn every_delivery_is_traced_with_its_outcome_and_never_a_secret() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let (_, r) = receiver();
        let logs = logs_of(|| {
            runtime.block_on(async {
                let good: [(&str, &[u8]); 1] = [("x-vwo-auth", b"s3cret")];
                let guess: [(&str, &[u8]); 1] = [("x-vwo-auth", b"s3cret-guess")];
                assert_eq!(r.handle_buffered("POST", &good, DOCUMENTED).await.status(), 200);
                assert_eq!(r.handle_buffered("POST", &guess, DOCUMENTED).await.status(), 401);
                assert_eq!(r.handle_buffered("POST", &good, b"[]").await.status(), 400);
            })
        });
        for expected in [
            "vwo_webhook.delivery{",
            "status=200",
            "outcome=\"refreshed\"",
            "generation=1",
            "latency_us=",
            "vwo_webhook.refresh{generation=1",
            "status=401",
            "header `x-vwo-auth` does not match any configured secret",
            "status=400",
        ] {
            assert!(logs.contains(expected), "{expected:?} missing from:\n{logs}");
        }
        assert!(!logs.contains("s3cret"), "a key leaked into the logs:\n{logs}");
    }

    #[test]
    fn the_insecure_opt_in_warns_when_the_receiver_is_built() {
        let logs = logs_of(|| {
            let (_, backend) = counting();
            let receiver = Receiver::builder(backend)
                .allow_unauthenticated_deliveries_insecure()
                .build();
            assert!(receiver.is_ok());
        });
        assert!(
            logs.contains("WARN") && logs.contains("WITHOUT authentication"),
            "{logs}"
        );
    }
}
