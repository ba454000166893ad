//! Events on their way to VWO: an SDK's request is answered at once and forwarded as it came
//! (path, query, body and the visitor headers), so VWO receives what it would have received
//! from the SDK. The queue is bounded in bytes: a flood never grows memory past it, and what
//! does not fit is refused with 503 (the SDKs retry) and counted. While VWO does not take a
//! request it is retried with backoff, up to the configured age, then dropped and counted.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName};
use serde::Serialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::time::Instant;

/// Counter of event requests, by outcome: `forwarded`, `refused` (VWO answered 4xx),
/// `expired` (retried past the age limit), `queue_full` (refused to the SDK).
pub const EVENT_REQUESTS: &str = "vwo_relay_event_requests_total";
/// Gauge of the bytes of events waiting for VWO.
pub const EVENT_QUEUE_BYTES: &str = "vwo_relay_event_queue_bytes";

/// The request headers forwarded with an event: what VWO reads of the visitor and the key.
const FORWARDED_HEADERS: [&str; 5] = [
    "content-type",
    "authorization",
    "user-agent",
    "x-device-user-agent",
    "vwo-x-forwarded-for",
];

/// What each queued request costs beyond its body, so that many tiny requests are bounded too.
const OVERHEAD: usize = 512;

/// At most this many requests are in flight to VWO at once.
const IN_FLIGHT: usize = 16;

/// The longest wait between two attempts of one request.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// An event request to forward.
#[derive(Debug)]
pub(crate) struct EventRequest {
    /// The path and query as the SDK sent them.
    pub(crate) path_and_query: String,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl EventRequest {
    /// Keeps the headers VWO reads.
    pub(crate) fn new(path_and_query: String, all_headers: &axum::http::HeaderMap, body: Bytes) -> Self {
        let mut headers = HeaderMap::new();
        for name in FORWARDED_HEADERS {
            for value in all_headers.get_all(name) {
                if let Ok(value) = reqwest::header::HeaderValue::from_bytes(value.as_bytes()) {
                    headers.append(HeaderName::from_static(name), value);
                }
            }
        }
        Self {
            path_and_query,
            headers,
            body,
        }
    }

    fn cost(&self) -> usize {
        self.body.len() + self.path_and_query.len() + OVERHEAD
    }
}

/// The queue was full: the request was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the relay's event queue is full; retry later")]
pub(crate) struct QueueFull;

/// What the status tells of the events.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EventStatus {
    /// Bytes waiting (bodies, paths and a fixed overhead each).
    pub queued_bytes: usize,
    /// The bound.
    pub capacity_bytes: usize,
    /// Requests VWO took.
    pub forwarded: u64,
    /// Requests VWO refused (4xx): not retried.
    pub refused_by_vwo: u64,
    /// Requests dropped after retrying past the age limit.
    pub expired: u64,
    /// Requests refused to an SDK because the queue was full.
    pub queue_full: u64,
}

#[derive(Debug, Default)]
struct Counts {
    forwarded: AtomicU64,
    refused: AtomicU64,
    expired: AtomicU64,
    queue_full: AtomicU64,
}

/// The queue and its senders.
#[derive(Debug, Clone)]
pub(crate) struct Forwarder {
    queue: mpsc::UnboundedSender<(EventRequest, OwnedSemaphorePermit)>,
    budget: Arc<Semaphore>,
    capacity: usize,
    counts: Arc<Counts>,
}

impl Forwarder {
    /// Starts forwarding to `base_url` on the current runtime.
    pub(crate) fn start(
        base_url: String,
        capacity: usize,
        max_age: Duration,
        client: reqwest::Client,
    ) -> Self {
        let (queue, requests) = mpsc::unbounded_channel();
        let counts = Arc::new(Counts::default());
        let forwarder = Self {
            queue,
            budget: Arc::new(Semaphore::new(capacity)),
            capacity,
            counts: Arc::clone(&counts),
        };
        let sending = Sending {
            base_url: Arc::from(base_url),
            client,
            max_age,
            counts,
        };
        tokio::spawn(sending.run(requests));
        forwarder
    }

    /// Queues `request`, or says the queue is full.
    pub(crate) fn push(&self, request: EventRequest) -> Result<(), QueueFull> {
        let cost = u32::try_from(request.cost()).map_err(|_| QueueFull)?;
        let Ok(permit) = Arc::clone(&self.budget).try_acquire_many_owned(cost) else {
            self.counts.queue_full.fetch_add(1, Ordering::Relaxed);
            metrics::counter!(EVENT_REQUESTS, "outcome" => "queue_full").increment(1);
            return Err(QueueFull);
        };
        self.queue.send((request, permit)).map_err(|_| QueueFull)?;
        metrics::gauge!(EVENT_QUEUE_BYTES).set(self.queued_bytes() as f64);
        Ok(())
    }

    fn queued_bytes(&self) -> usize {
        self.capacity - self.budget.available_permits()
    }

    /// Waits until every queued request is settled, or `timeout` passes; whether it emptied.
    pub(crate) async fn flush(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.queued_bytes() > 0 {
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }

    pub(crate) fn status(&self) -> EventStatus {
        EventStatus {
            queued_bytes: self.queued_bytes(),
            capacity_bytes: self.capacity,
            forwarded: self.counts.forwarded.load(Ordering::Relaxed),
            refused_by_vwo: self.counts.refused.load(Ordering::Relaxed),
            expired: self.counts.expired.load(Ordering::Relaxed),
            queue_full: self.counts.queue_full.load(Ordering::Relaxed),
        }
    }
}

struct Sending {
    base_url: Arc<str>,
    client: reqwest::Client,
    max_age: Duration,
    counts: Arc<Counts>,
}

impl Sending {
    async fn run(self, mut requests: mpsc::UnboundedReceiver<(EventRequest, OwnedSemaphorePermit)>) {
        let this = Arc::new(self);
        let in_flight = Arc::new(Semaphore::new(IN_FLIGHT));
        while let Some((request, permit)) = requests.recv().await {
            let Ok(slot) = Arc::clone(&in_flight).acquire_owned().await else {
                return;
            };
            let this = Arc::clone(&this);
            tokio::spawn(async move {
                this.deliver(request).await;
                drop((permit, slot));
            });
        }
    }

    /// Sends until VWO takes it, refuses it, or it is too old.
    async fn deliver(&self, request: EventRequest) {
        let started = Instant::now();
        let url = format!("{}{}", self.base_url, request.path_and_query);
        let mut backoff = Duration::from_secs(1);
        loop {
            let sent = self
                .client
                .post(&url)
                .headers(request.headers.clone())
                .timeout(Duration::from_secs(30))
                .body(request.body.clone())
                .send()
                .await;
            let retry = match &sent {
                Ok(response) if response.status().is_success() => {
                    self.count(&self.counts.forwarded, "forwarded");
                    return;
                }
                Ok(response) => {
                    let status = response.status().as_u16();
                    if !matches!(status, 408 | 429 | 500..) {
                        self.count(&self.counts.refused, "refused");
                        tracing::warn!(status, "VWO refused an event request; not retried");
                        return;
                    }
                    tracing::debug!(status, "VWO did not take an event request; retrying");
                    true
                }
                Err(error) => {
                    tracing::debug!(
                        error = crate::fanout::failure_kind(error),
                        "an event request did not reach VWO; retrying"
                    );
                    true
                }
            };
            if retry && started.elapsed() + backoff > self.max_age {
                self.count(&self.counts.expired, "expired");
                tracing::warn!("an event request was dropped after retrying for the configured age");
                return;
            }
            tokio::time::sleep(backoff.mul_f64(0.5 + fastrand::f64() / 2.0)).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    fn count(&self, counter: &AtomicU64, outcome: &'static str) {
        counter.fetch_add(1, Ordering::Relaxed);
        metrics::counter!(EVENT_REQUESTS, "outcome" => outcome).increment(1);
    }
}
