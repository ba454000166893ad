//! Runs the backend: one refresh at a time, deliveries coalesced, none acknowledged with stale
//! settings.
//!
//! Every attempt gets a generation number when it starts. A delivery records, on arrival, the
//! generation the next attempt will have, and is satisfied only by an attempt at least that
//! new: joining an attempt that started before the delivery arrived could acknowledge settings
//! fetched before the change VWO is telling us about. While one refresh runs, every newcomer
//! shares a single pending one, so N concurrent deliveries cost at most two backend runs.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::watch;

use crate::refresh::{DynRefresh, Refresh, Trigger};

mod driver;
mod retry;
mod safety_net;
mod state;
#[cfg(test)]
mod tests;
mod ticket;

use driver::Driver;
pub use retry::{DEFAULT_MIN_SPACING, RetryPolicy};
pub use safety_net::SafetyNet;
use state::{Claim, Machine};
use ticket::Run;
pub use ticket::{RunOutcome, Settled, Ticket};

#[derive(Debug, Clone, Copy)]
struct Published {
    generation: u64,
    outcome: Option<RunOutcome>,
    /// False for a transient failure that will be retried.
    last: bool,
}

struct Shared {
    backend: Arc<dyn DynRefresh>,
    retry: RetryPolicy,
    state: Machine,
    published: watch::Sender<Published>,
}

/// Runs one backend with at most one refresh in flight and at most one pending.
///
/// Cheap to clone; clones share the backend and state. Must be used inside a tokio runtime:
/// refreshes run as tokio tasks.
#[derive(Clone)]
pub struct Coordinator {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Coordinator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (started, (running, pending)) = self
            .shared
            .state
            .apply(|state| (state.generation(), state.activity()));
        f.debug_struct("Coordinator")
            .field("started", &started)
            .field("running", &running)
            .field("pending", &pending)
            .finish_non_exhaustive()
    }
}

impl Coordinator {
    /// A coordinator running `backend`, retrying transient failures per `retry`.
    pub fn new(backend: impl Refresh, retry: RetryPolicy) -> Self {
        Self::with_backend(Arc::new(backend), retry)
    }

    pub(crate) fn with_backend(backend: Arc<dyn DynRefresh>, retry: RetryPolicy) -> Self {
        let (published, _) = watch::channel(Published {
            generation: 0,
            outcome: None,
            last: true,
        });
        Self {
            shared: Arc::new(Shared {
                backend,
                retry,
                state: Machine::default(),
                published,
            }),
        }
    }

    /// Asks for a refresh that starts after this call: starts one now if none is running,
    /// otherwise makes sure one is pending. Returns at once.
    pub fn schedule(&self, trigger: Trigger) -> Ticket {
        let mut ticket = self.schedule_inline(trigger);
        if let Some(run) = ticket
            .run
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            tokio::spawn(run);
        }
        ticket
    }

    /// [`Coordinator::schedule`] for a caller that waits on the ticket at once: a refresh
    /// this claim starts runs on the waiter's own task (no task hand-off, no wake-up hop
    /// before the answer) until the ticket is answered, then moves to a task of its own.
    /// A ticket held without being waited on holds that refresh back, so only the
    /// receiver's delivery path uses it.
    pub(crate) fn schedule_inline(&self, trigger: Trigger) -> Ticket {
        // Subscribe first, so no outcome published after the claim can be missed.
        let published = self.shared.published.subscribe();
        let claim = self.shared.state.apply(|state| state.claim(trigger));
        let required = claim.required();
        let run = match claim {
            Claim::Start { generation, trigger } => {
                let shared = Arc::clone(&self.shared);
                let run: Run =
                    Box::pin(async move { Driver { shared, done: false }.run(generation, trigger).await });
                Some(run)
            }
            Claim::Pending { .. } => None,
        };
        Ticket {
            required,
            published,
            run: Mutex::new(run),
        }
    }

    /// Asks for a refresh that starts after this call and does not wait for it: for a first
    /// fetch at start-up, or a change your application learnt of some other way.
    pub fn trigger(&self, trigger: Trigger) {
        drop(self.schedule(trigger));
    }

    /// Refreshes now (or right after the refresh in flight) and waits for the outcome.
    pub async fn refresh(&self, trigger: Trigger) -> RunOutcome {
        match self.schedule(trigger).wait(None).await {
            Settled::Done { outcome, .. } => outcome,
            // Without a timeout a wait only ends with an outcome; keep the type total anyway.
            Settled::TimedOut { .. } => RunOutcome::Transient,
        }
    }

    /// The generation of the latest attempt started (0 before the first).
    pub fn generation(&self) -> u64 {
        self.shared.state.apply(|state| state.generation())
    }

    /// How many webhook deliveries arrived since the latest attempt started: they wait for
    /// the next one. What a test (or a dashboard) can watch instead of timing a burst.
    pub fn queued(&self) -> u64 {
        self.shared.state.apply(|state| state.queued())
    }

    /// Starts a safety-net refresh every `period`, each pause varied by up to `jitter`
    /// (a fraction, e.g. `0.1` for ±10%) so replicas do not refresh in lockstep. It stops
    /// when the returned handle is dropped. Needs a tokio runtime.
    pub fn spawn_safety_net(&self, period: Duration, jitter: f64) -> SafetyNet {
        let this = self.clone();
        let jitter = jitter.clamp(0.0, 1.0);
        let task = tokio::spawn(async move {
            loop {
                let factor = 1.0 + jitter * (fastrand::f64() * 2.0 - 1.0);
                tokio::time::sleep(period.mul_f64(factor)).await;
                tracing::debug!("vwo-webhook safety-net refresh");
                this.trigger(Trigger::SafetyNet);
            }
        });
        SafetyNet { task }
    }
}

impl Shared {
    fn publish(&self, generation: u64, outcome: RunOutcome, last: bool) {
        self.published.send_replace(Published {
            generation,
            outcome: Some(outcome),
            last,
        });
    }
}
