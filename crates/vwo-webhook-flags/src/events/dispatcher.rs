//! The background task: takes what is due from the queue (a full batch, a flush, the
//! interval's tick), sends it, and retries what failed for a reason that may pass, until it
//! is sent, refused, or the shutdown's time is up. Only this task does I/O.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures_util::future::join_all;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::events::config::ReportingConfig;
use crate::events::metric_names::{
    EVENTS_DROPPED, EVENTS_QUEUED, EVENTS_REQUEST_SECONDS, EVENTS_RETRIED, EVENTS_SENT, EVENTS_WAITING,
};
use crate::events::payload::{self, Identity, Pending};
use crate::events::queue::{Counts, Pushed, Queue, same_decision};
use crate::events::retry;

/// What the decisions and the task share.
pub(crate) struct Shared {
    queue: Mutex<Queue>,
    /// Wakes the task: a batch is full, a flush or a shutdown was asked for.
    pub(crate) wake: Notify,
    /// Wakes flush waiters: something was settled.
    pub(crate) settled: Notify,
    /// Wake the task once this many wait (1 when unbatched).
    wake_at: usize,
    /// When a shutdown stops retrying.
    deadline: Mutex<Option<Instant>>,
    shutdown_timeout: Duration,
    /// What [`Shared::publish`] last reported.
    published: Mutex<Counts>,
}

impl Shared {
    pub(crate) fn new(config: &ReportingConfig) -> Self {
        Self {
            queue: Mutex::new(Queue::new(config.capacity, config.capacity_bytes)),
            wake: Notify::new(),
            settled: Notify::new(),
            wake_at: config.batching.map_or(1, |b| b.events_per_request),
            deadline: Mutex::new(None),
            shutdown_timeout: config.shutdown_timeout,
            published: Mutex::new(Counts::default()),
        }
    }

    pub(crate) fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `events` (O(1) each, under one lock; never waits for I/O).
    pub(crate) fn push(&self, events: impl IntoIterator<Item = Pending>) {
        let mut queue = self.queue();
        let mut wake = false;
        for event in events {
            let weight = event.own_weight() + event.context.weight();
            wake |= queue.push(event, weight) == Pushed::Queued(self.wake_at);
        }
        drop(queue);
        if wake {
            self.wake.notify_one();
        }
    }

    /// Refuses new events; the task sends the rest for the shutdown's time at most.
    pub(crate) fn close(&self) {
        self.queue().close();
        self.deadline
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert_with(|| Instant::now() + self.shutdown_timeout);
        self.wake.notify_one();
    }

    fn deadline(&self) -> Option<Instant> {
        *self.deadline.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds what happened since the last call to the metrics.
    fn publish(&self) {
        let (now, waiting) = {
            let queue = self.queue();
            (queue.counts, queue.len())
        };
        let mut published = self.published.lock().unwrap_or_else(PoisonError::into_inner);
        let delta = |f: fn(&Counts) -> u64| f(&now).saturating_sub(f(&published));
        metrics::counter!(EVENTS_QUEUED).increment(delta(|c| c.queued));
        metrics::counter!(EVENTS_SENT).increment(delta(|c| c.sent));
        metrics::counter!(EVENTS_RETRIED).increment(delta(|c| c.retried));
        for (reason, count) in [
            ("overflow", delta(|c| c.overflow)),
            ("rejected", delta(|c| c.rejected)),
            ("shutdown", delta(|c| c.shutdown)),
        ] {
            metrics::counter!(EVENTS_DROPPED, "reason" => reason).increment(count);
        }
        *published = now;
        drop(published);
        metrics::gauge!(EVENTS_WAITING).set(waiting as f64);
    }

    fn record(&self, sent: Sent, count: usize) {
        let count = count as u64;
        let mut queue = self.queue();
        let counts = &mut queue.counts;
        match sent {
            Sent::Accepted => counts.sent += count,
            Sent::Refused(status) => {
                counts.rejected += count;
                drop(queue);
                tracing::warn!(
                    status,
                    events = count,
                    "the events host refused events; they are dropped"
                );
            }
            Sent::Failed(reason) => {
                counts.retried += count;
                drop(queue);
                tracing::debug!(reason, events = count, "sending events failed; retrying");
            }
        }
    }
}

/// How one request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    Accepted,
    Refused(u16),
    Failed(&'static str),
}

/// Sends requests to the events host.
pub(crate) struct Sender {
    client: reqwest::Client,
    config: ReportingConfig,
    identity: Identity,
}

impl Sender {
    pub(crate) fn new(config: ReportingConfig, identity: Identity) -> Result<Self, reqwest::Error> {
        let client = match &config.client {
            Some(client) => client.clone(),
            None => reqwest::Client::builder()
                .timeout(config.timeout)
                .connect_timeout(config.timeout)
                .user_agent(concat!("vwo-webhook/", env!("CARGO_PKG_VERSION")))
                .build()?,
        };
        Ok(Self {
            client,
            config,
            identity,
        })
    }

    fn url(&self, event: &Pending, path: &str, query: &str) -> String {
        self.config.events_url(event.prefix.as_deref(), path, query)
    }

    async fn post(&self, request: reqwest::RequestBuilder, body: Vec<u8>) -> Sent {
        let started = std::time::Instant::now();
        let sent = match request
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
        {
            Ok(response) if response.status().is_success() => Sent::Accepted,
            Ok(response) if retry::retryable_status(response.status().as_u16()) => Sent::Failed("status"),
            Ok(response) => Sent::Refused(response.status().as_u16()),
            Err(error) if error.is_timeout() => Sent::Failed("timeout"),
            // A request that cannot be built (a URL that does not parse) never will be.
            Err(error) if error.is_builder() => Sent::Refused(0),
            Err(_) => Sent::Failed("connect"),
        };
        let outcome = match sent {
            Sent::Accepted => "sent",
            Sent::Refused(_) => "rejected",
            Sent::Failed(_) => "failed",
        };
        metrics::histogram!(EVENTS_REQUEST_SECONDS, "outcome" => outcome)
            .record(started.elapsed().as_secs_f64());
        sent
    }

    /// One request to `/server-side/batch-events-v2` with every event.
    async fn batch(&self, events: &[Pending]) -> Sent {
        let Some(first) = events.first() else {
            return Sent::Accepted;
        };
        let url = self.url(
            first,
            "/server-side/batch-events-v2",
            &payload::batch_query(&self.identity),
        );
        let request = self.client.post(url).timeout(self.config.timeout).header(
            reqwest::header::AUTHORIZATION,
            self.identity.sdk_key.expose_secret(),
        );
        self.post(request, payload::batch_body(events, &self.identity))
            .await
    }

    /// One request to `/events/t`.
    async fn single(&self, event: &Pending) -> Sent {
        let url = self.url(event, "/events/t", &event.query(&self.identity, fastrand::f64()));
        let mut request = self.client.post(url).timeout(self.config.timeout);
        for (name, value) in event.headers() {
            // A value a header cannot hold (a line break) is left out rather than failing
            // the event; the body carries it too.
            if let Ok(value) = reqwest::header::HeaderValue::from_bytes(value.as_bytes()) {
                request = request.header(name, value);
            }
        }
        let mut body = Vec::with_capacity(512);
        event.write_body(&self.identity, &mut payload::Uuids::default(), &mut body);
        self.post(request, body).await
    }

    /// Sends `events`: what is left is to be retried. Batching, in one request; without, a
    /// decision's impressions (or its usage event) in one batch request, as the SDK sends
    /// them, and every other event on its own to `/events/t`, all at once.
    async fn send(&self, shared: &Shared, events: Vec<Pending>) -> Vec<Pending> {
        if self.config.batching.is_some() {
            let sent = self.batch(&events).await;
            shared.record(sent, events.len());
            return if matches!(sent, Sent::Failed(_)) {
                events
            } else {
                Vec::new()
            };
        }
        let requests: Vec<&[Pending]> = events.chunk_by(same_decision).collect();
        let results = join_all(requests.iter().map(|request| async move {
            match request {
                [event] if !event.what.is_decisions() => self.single(event).await,
                _ => self.batch(request).await,
            }
        }))
        .await;
        let mut left = Vec::new();
        for (request, sent) in requests.into_iter().zip(results) {
            shared.record(sent, request.len());
            if matches!(sent, Sent::Failed(_)) {
                left.extend(request.iter().cloned());
            }
        }
        left
    }
}

/// The task: runs until the queue is closed and drained (or the shutdown's time is up).
pub(crate) async fn run(shared: Arc<Shared>, sender: Sender) {
    let interval = sender.config.batching.map(|b| b.interval);
    let take = sender
        .config
        .batching
        .map_or(sender.config.concurrency, |b| b.events_per_request);
    let mut tick = interval.map(|i| Instant::now() + i);
    loop {
        let batch = loop {
            let woken = shared.wake.notified();
            {
                let mut queue = shared.queue();
                if let (Some(at), Some(interval)) = (tick, interval)
                    && Instant::now() >= at
                {
                    queue.flush();
                    tick = Some(Instant::now() + interval);
                }
                if queue.flush_due() || queue.len() >= shared.wake_at {
                    break queue.take(take);
                }
                if queue.is_closed() {
                    drop(queue);
                    shared.publish();
                    shared.settled.notify_waiters();
                    return;
                }
            }
            shared.publish();
            // The counters are published at least every second.
            let wait = tick.map_or(Duration::from_secs(1), |at| {
                at.saturating_duration_since(Instant::now())
                    .min(Duration::from_secs(1))
            });
            let _ = tokio::time::timeout(wait, woken).await;
        };
        deliver(&shared, &sender, batch).await;
        shared.queue().settle();
        shared.settled.notify_waiters();
    }
}

/// Sends `events` until none is left to retry, or a shutdown's time runs out.
async fn deliver(shared: &Shared, sender: &Sender, mut events: Vec<Pending>) {
    let mut attempt = 0;
    while !events.is_empty() {
        events = sender.send(shared, events).await;
        if events.is_empty() {
            return;
        }
        let delay = retry::delay(
            attempt,
            sender.config.first_retry,
            sender.config.max_retry,
            fastrand::f64(),
        );
        attempt = attempt.saturating_add(1);
        let mut until = Instant::now() + delay;
        if let Some(deadline) = shared.deadline() {
            if Instant::now() + delay >= deadline {
                give_up(shared, events.len());
                return;
            }
            until = until.min(deadline);
        }
        // A shutdown during the wait shortens it to its deadline.
        loop {
            let woken = shared.wake.notified();
            if let Some(deadline) = shared.deadline()
                && deadline < until
            {
                give_up(shared, events.len());
                return;
            }
            if tokio::time::timeout_at(until, woken).await.is_err() {
                break;
            }
        }
    }
}

/// A shutdown's time ran out with `in_hand` events unsent: they and the rest are dropped.
fn give_up(shared: &Shared, in_hand: usize) {
    let waiting = shared.queue().clear();
    let dropped = (in_hand + waiting) as u64;
    tracing::warn!(
        events = dropped,
        "reporting shut down with events unsent; they are dropped"
    );
    shared.queue().counts.shutdown += dropped;
    shared.publish();
}
