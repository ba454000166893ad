//! The receiver: every decision about a delivery, none of the HTTP plumbing.
//!
//! Adapters hand over the method, a header lookup and a way to read the body with a limit;
//! they get back a [`Response`] to copy out. Checks run in a fixed order (method, header
//! authentication, declared length, body, body authentication, payload, refresh) so every
//! framework answers the same request the same way. The refresh itself runs on the
//! [`Coordinator`]'s tokio tasks.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use tracing::Instrument;

use crate::ack::AckPolicy;
use crate::coordinator::Coordinator;
use crate::delivery::{Delivery, Remembered, record};
use crate::outcome::{Outcome, Refusal};
use crate::payload::SettingsChanged;
use crate::response::Response;
use crate::telemetry;
use crate::verify::{HeaderLookup, Verifier, VerifyError};

/// Why an adapter could not read a body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BodyError {
    /// The body is longer than the limit; stop reading at the limit.
    #[error("the body exceeds the limit")]
    TooLarge,
    /// The connection failed or the framing is broken.
    #[error("the body could not be read: {0}")]
    Unreadable(String),
}

/// A body read chunk by chunk under the receiver's limit: what an adapter reading its
/// framework's body stream does, so that a chunked body is refused as soon as it crosses the
/// limit, not after it has been read whole.
///
/// ```
/// use vwo_webhook::BodyError;
/// use vwo_webhook::adapter::BodyBuffer;
///
/// let mut body = BodyBuffer::new(4);
/// body.push(b"{}")?;
/// assert_eq!(body.push(b"{}{}"), Err(BodyError::TooLarge));
/// # Ok::<(), BodyError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct BodyBuffer {
    body: Vec<u8>,
    limit: usize,
}

impl BodyBuffer {
    /// An empty body that may grow to `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Self {
            body: Vec::new(),
            limit,
        }
    }

    /// Appends `chunk`, or refuses it with [`BodyError::TooLarge`] if the body would pass the
    /// limit (stop reading then).
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), BodyError> {
        if self.body.len() + chunk.len() > self.limit {
            return Err(BodyError::TooLarge);
        }
        self.body.extend_from_slice(chunk);
        Ok(())
    }

    /// The body read.
    pub fn into_bytes(self) -> Vec<u8> {
        self.body
    }
}

/// Receives VWO webhooks: authenticates, parses and coordinates refreshes.
///
/// Cheap to clone; clones share everything. Build one with [`Receiver::builder`] and give it
/// to an adapter crate.
#[derive(Clone)]
pub struct Receiver {
    pub(crate) inner: Arc<Inner>,
    // Outside `inner` so a framework's own limit setting can replace it (see `with_body_limit`).
    pub(crate) body_limit: usize,
}

pub(crate) struct Inner {
    pub(crate) path: String,
    pub(crate) head_verifiers: Vec<Arc<dyn Verifier>>,
    pub(crate) body_verifiers: Vec<Arc<dyn Verifier>>,
    pub(crate) body_timeout: std::time::Duration,
    pub(crate) ack: AckPolicy,
    pub(crate) coordinator: Coordinator,
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

impl Receiver {
    pub(crate) fn from_parts(inner: Inner, body_limit: usize) -> Self {
        Self {
            inner: Arc::new(inner),
            body_limit,
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

    /// How long a body may take to arrive.
    pub fn body_timeout(&self) -> std::time::Duration {
        self.inner.body_timeout
    }

    /// Whether the request's `Content-Length` declares more than the body limit: such a
    /// request is answered 413 without reading its body, and an adapter that drains unread
    /// bodies to keep the connection should leave this one alone.
    pub(crate) fn declares_oversized_body<H: HeaderLookup + ?Sized>(&self, headers: &H) -> bool {
        let declared = headers
            .header("content-length")
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        declared.is_some_and(|len| len > self.body_limit as u64)
    }

    /// The coordinator, to refresh by hand or start the safety net.
    pub fn coordinator(&self) -> &Coordinator {
        &self.inner.coordinator
    }

    pub(crate) async fn check<H, F, Fut, B>(
        &self,
        method: &str,
        headers: &H,
        read_body: F,
    ) -> Result<(SettingsChanged, Vec<Remembered>), Refusal>
    where
        H: HeaderLookup + ?Sized,
        F: FnOnce(usize) -> Fut,
        Fut: Future<Output = Result<B, BodyError>>,
        B: AsRef<[u8]>,
    {
        let inner = &*self.inner;
        // Methods are case-sensitive (RFC 9110): `post` is not POST.
        if method != "POST" {
            return Err(Refusal::new(
                Response::method_not_allowed(),
                "method",
                format!("method {method:.16}"),
            ));
        }
        let headers = Headers(headers);
        for verifier in &inner.head_verifiers {
            verifier.verify(&headers, &[]).map_err(refused)?;
        }
        if self.declares_oversized_body(&headers) {
            return Err(self.too_large("declared content-length over the limit"));
        }
        let read = tokio::time::timeout(inner.body_timeout, read_body(self.body_limit));
        let Ok(body) = read.await else {
            return Err(Refusal::new(
                Response::body_timeout(inner.body_timeout),
                "body_timeout",
                "the body did not arrive in time",
            ));
        };
        let body = match body {
            Ok(body) => body,
            Err(BodyError::TooLarge) => return Err(self.too_large("body over the limit")),
            Err(BodyError::Unreadable(reason)) => {
                return Err(Refusal::new(
                    Response::bad_request("the request body could not be read"),
                    "body",
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
            Refusal::new(Response::bad_request(&message), "payload", message)
        })?;
        // Ids to hand back to the verifiers that read them, once the delivery is answered 2xx.
        let remembered = inner
            .head_verifiers
            .iter()
            .chain(&inner.body_verifiers)
            .filter_map(|verifier| {
                let id = verifier.replay_id(&headers)?;
                Some(Remembered::new(Arc::clone(verifier), id))
            })
            .collect();
        Ok((payload, remembered))
    }

    fn too_large(&self, reason: &'static str) -> Refusal {
        Refusal::new(Response::payload_too_large(self.body_limit), "body_limit", reason)
    }
}

impl Receiver {
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
            Ok(checked) => Ok(Delivery::new(
                (self.inner.coordinator.clone(), self.inner.ack),
                checked,
                arrived,
                span,
            )),
            Err(Refusal {
                response,
                check,
                reason,
            }) => {
                let _entered = span.enter();
                if response.is_success() {
                    record(&span, &response, Outcome::Replayed, arrived);
                    telemetry::delivery(Outcome::Replayed, response.status(), None, arrived.elapsed());
                    tracing::info!(reason = ?reason, "vwo webhook delivery already processed");
                } else {
                    record(&span, &response, Outcome::Refused, arrived);
                    telemetry::delivery(
                        Outcome::Refused,
                        response.status(),
                        Some(check),
                        arrived.elapsed(),
                    );
                    if response.status() == 401 {
                        tracing::warn!(reason = ?reason, "vwo webhook delivery rejected");
                    } else {
                        tracing::info!(reason = ?reason, "vwo webhook delivery rejected");
                    }
                }
                Err(response)
            }
        }
    }
}

/// A refused check's answer: a replay is acknowledged, anything else is 401.
fn refused(error: VerifyError) -> Refusal {
    match error {
        VerifyError::Replayed { .. } => Refusal::new(Response::already_processed(), "replay", error),
        _ => Refusal::new(Response::unauthorized(), "authentication", error),
    }
}

/// Adapts `&H` (possibly unsized) to `&dyn HeaderLookup` for verifiers.
struct Headers<'a, H: ?Sized>(&'a H);

impl<H: HeaderLookup + ?Sized> HeaderLookup for Headers<'_, H> {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.0.header(name)
    }

    fn is_repeated(&self, name: &str) -> bool {
        self.0.is_repeated(name)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use std::time::Duration;

    use crate::builder::{BuildError, DEFAULT_BODY_LIMIT};
    use crate::coordinator::{RetryPolicy, RunOutcome};
    use crate::refresh::{Refresh, RefreshError, Trigger};
    use crate::secret::{Keyring, Secret};

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
        let (_, backend) = counting();
        let no_time = Receiver::builder(backend)
            .allow_unauthenticated_deliveries_insecure()
            .body_timeout(Duration::ZERO)
            .build();
        assert_eq!(no_time.err(), Some(BuildError::ZeroBodyTimeout));
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
        let signature = verifier.sign("msg_1", now, DOCUMENTED);
        let timestamp = now.to_string();
        let receiver = Receiver::builder(backend)
            .retry_policy(RetryPolicy::none().with_initial_delay(Duration::ZERO))
            .verifier(verifier)
            .build()
            .expect("receiver");
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
        assert!(r.declares_oversized_body(&declared[..]));
        let at_limit: [(&str, &[u8]); 1] = [("content-length", b" 65536 ")];
        let unparsable: [(&str, &[u8]); 1] = [("content-length", b"lots")];
        assert!(
            !r.declares_oversized_body(&at_limit[..]),
            "the limit itself is allowed"
        );
        assert!(
            !r.declares_oversized_body(&unparsable[..]),
            "left to the read to bound"
        );
        assert!(!r.declares_oversized_body(&good[..]), "no declared length");
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

    /// Runs `f` with every event on this thread logged as text, and returns the text.
    fn logs_of(f: impl FnOnce()) -> String {
        vwo_webhook_testkit::logs_of(f).1
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
            // The span says what the deliveries metric counts.
            "outcome=\"refused\"",
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
