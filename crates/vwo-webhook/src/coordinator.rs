//! Runs the backend: one refresh at a time, deliveries coalesced, none acknowledged with stale
//! settings.
//!
//! Every attempt gets a generation number when it starts. A delivery records, on arrival, the
//! generation the next attempt will have, and is satisfied only by an attempt at least that
//! new: joining an attempt that started before the delivery arrived could acknowledge settings
//! fetched before the change VWO is telling us about. While one refresh runs, every newcomer
//! shares a single pending one, so N concurrent deliveries cost at most two backend runs.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;
use tracing::Instrument;

use crate::refresh::{DynRefresh, FailureKind, Refresh, Trigger};
use crate::telemetry;

/// The default [`RetryPolicy::with_min_spacing`]: 20 ms.
pub const DEFAULT_MIN_SPACING: Duration = Duration::from_millis(20);

/// How often the backend is asked: transient failures retried with exponential backoff and
/// jitter, up to a cap, on a schedule that holds whatever triggers arrive, and a minimum
/// spacing between attempts.
///
/// After the `n`th transient failure in a row, no attempt starts before a pause drawn uniformly
/// between half and all of `initial_delay × 2^(n-1)` (capped at `max_delay`; a backend's
/// `retry_after` lengthens it). Deliveries, polls and manual refreshes arriving during the pause
/// join the waiting attempt instead of starting one, so however fast VWO redelivers, the origin
/// is asked on this schedule. Half of each pause is fixed so that the schedule has a bound, not
/// only an average: with the defaults, at most 7 attempts in the first minute of an outage
/// (about 0, 2, 6, 14, 30 and 62 s at the latest; the SDKs ask at 0, 2, 6 and 14 s, then wait
/// for their 10-minute poll). A success or a permanent failure ends the streak.
///
/// ```
/// use std::time::Duration;
/// use vwo_webhook::RetryPolicy;
///
/// let policy = RetryPolicy::default()
///     .with_initial_delay(Duration::from_millis(250))
///     .with_deadline(Duration::from_secs(30));
/// assert_eq!(policy.max_delay(), Duration::from_secs(120));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    initial_delay: Duration,
    max_delay: Duration,
    deadline: Duration,
    min_spacing: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            initial_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(120),
            deadline: Duration::from_secs(60),
            min_spacing: DEFAULT_MIN_SPACING,
        }
    }
}

impl RetryPolicy {
    /// Never retry within a refresh: the first transient failure ends it. The pause after it
    /// still holds for the next refresh (see the type's documentation); make `initial_delay`
    /// zero as well for none at all.
    pub fn none() -> Self {
        Self::default().with_deadline(Duration::ZERO)
    }

    /// The first exponential delay (default 2 s).
    pub fn with_initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }

    /// The largest exponential delay (default 2 minutes).
    pub fn with_max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// No retry within one refresh starts later than this after it began (default 60 s). After
    /// it the refresh ends as a transient failure; VWO's redeliveries, or the safety net, start
    /// a new one, which still waits out the current pause.
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// The least time between the starts of two attempts, whatever their trigger (default
    /// 20 ms; zero turns it off). Deliveries arriving in between wait for the next attempt, so
    /// deliveries spread over a time `T` cost at most about `2 + T / max(one fetch, spacing)`
    /// attempts, for up to `spacing` more answer time during a burst; a delivery that arrives
    /// alone waits for nothing. [The benchmarks](https://github.com/vwo-webhook/vwo-webhook/blob/main/docs/benchmarks.md) have the measurement behind the default.
    pub fn with_min_spacing(mut self, spacing: Duration) -> Self {
        self.min_spacing = spacing;
        self
    }

    /// The least time between the starts of two attempts.
    pub fn min_spacing(&self) -> Duration {
        self.min_spacing
    }

    /// The first exponential delay.
    pub fn initial_delay(&self) -> Duration {
        self.initial_delay
    }

    /// The largest exponential delay.
    pub fn max_delay(&self) -> Duration {
        self.max_delay
    }

    /// The exponential delay after `failures` transient failures in a row (at least 1).
    fn exponential(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(32);
        self.initial_delay
            .saturating_mul(1 << doublings)
            .min(self.max_delay)
    }

    /// How long after a refresh began a retry may still start.
    pub fn deadline(&self) -> Duration {
        self.deadline
    }
}

/// How a refresh ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RunOutcome {
    /// The backend succeeded.
    Refreshed,
    /// The backend failed transiently and the retry deadline passed (or, when not final, a
    /// retry is coming).
    Transient,
    /// The backend failed permanently.
    Permanent,
    /// The backend panicked (or its task was cancelled).
    Panicked,
}

/// What a delivery learnt by waiting for its covering refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Settled {
    /// A refresh that started after the delivery arrived ended; `generation` is its attempt.
    Done {
        /// The covering attempt's generation.
        generation: u64,
        /// How it ended.
        outcome: RunOutcome,
    },
    /// No covering refresh ended before the timeout.
    TimedOut {
        /// Whether a covering attempt already failed transiently and is being retried.
        retrying: bool,
    },
}

#[derive(Debug, Clone, Copy)]
struct Published {
    generation: u64,
    outcome: Option<RunOutcome>,
    /// False for a transient failure that will be retried.
    last: bool,
}

struct State {
    /// The generation of the latest attempt started.
    started: u64,
    running: bool,
    /// The trigger for the one pending refresh, if any.
    pending: Option<Trigger>,
    /// Transient failures in a row, and when the next attempt may start.
    failures: u32,
    not_before: Option<Instant>,
    /// When the latest attempt started, for the minimum spacing.
    last_attempt: Option<Instant>,
    /// Webhook deliveries that asked for a refresh since the latest attempt started.
    waiting: u64,
}

struct Shared {
    backend: Arc<dyn DynRefresh>,
    retry: RetryPolicy,
    state: Mutex<State>,
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
        let state = self.shared.lock();
        f.debug_struct("Coordinator")
            .field("started", &state.started)
            .field("running", &state.running)
            .field("pending", &state.pending.is_some())
            .finish_non_exhaustive()
    }
}

/// A delivery's claim on a refresh that starts no earlier than the claim.
#[must_use = "a ticket does nothing unless waited on"]
pub struct Ticket {
    required: u64,
    published: watch::Receiver<Published>,
    /// The run this claim started, when it is driven by the waiter itself (see
    /// [`Coordinator::schedule_inline`]); handed to a task when the wait ends or is dropped.
    run: Mutex<Option<Run>>,
}

/// A driver's run, boxed so it can move from the waiter to a task mid-way.
type Run = Pin<Box<dyn Future<Output = ()> + Send>>;

impl std::fmt::Debug for Ticket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ticket")
            .field("required", &self.required)
            .finish_non_exhaustive()
    }
}

impl Drop for Ticket {
    /// A run still going continues on its own task: other deliveries may wait on it.
    fn drop(&mut self) {
        let run = self.run.get_mut().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(run) = run {
            // Without a runtime the run is dropped, and the driver's own drop frees the
            // coordinator and wakes its waiters.
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(run);
            }
        }
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
                state: Mutex::new(State {
                    started: 0,
                    running: false,
                    pending: None,
                    failures: 0,
                    not_before: None,
                    last_attempt: None,
                    waiting: 0,
                }),
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
        let mut state = self.shared.lock();
        if matches!(trigger, Trigger::Webhook(_)) {
            state.waiting += 1;
        }
        let (required, run) = if state.running {
            state.pending = Some(trigger);
            (state.started + 1, None)
        } else {
            state.started += 1;
            state.running = true;
            let generation = state.started;
            let shared = Arc::clone(&self.shared);
            let run: Run =
                Box::pin(async move { Driver { shared, done: false }.run(generation, trigger).await });
            (generation, Some(run))
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
        self.shared.lock().started
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

/// The periodic safety-net refresh; dropping it stops the timer.
#[derive(Debug)]
pub struct SafetyNet {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SafetyNet {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Ticket {
    /// The generation an attempt must have to satisfy this ticket.
    pub fn required_generation(&self) -> u64 {
        self.required
    }

    /// Waits until a covering refresh ends, or `timeout` passes. A transient failure that
    /// will be retried does not end the wait: the retry also covers this ticket.
    pub async fn wait(mut self, timeout: Option<Duration>) -> Settled {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut retrying = false;
        loop {
            {
                let now = *self.published.borrow_and_update();
                if now.generation >= self.required {
                    match now.outcome {
                        Some(RunOutcome::Transient) if !now.last => retrying = true,
                        Some(outcome) => {
                            return Settled::Done {
                                generation: now.generation,
                                outcome,
                            };
                        }
                        None => {}
                    }
                }
            }
            let Ticket { published, run, .. } = &mut self;
            let run = run.get_mut().unwrap_or_else(PoisonError::into_inner);
            // Drive this claim's own run while waiting, if it has one.
            let step = async {
                match run.as_mut() {
                    Some(driving) => {
                        tokio::select! {
                            biased;
                            () = driving.as_mut() => Ok(true),
                            changed = published.changed() => changed.map(|()| false),
                        }
                    }
                    None => published.changed().await.map(|()| false),
                }
            };
            let result = match deadline {
                Some(deadline) => match tokio::time::timeout_at(deadline, step).await {
                    Ok(result) => result,
                    Err(_) => return Settled::TimedOut { retrying },
                },
                None => step.await,
            };
            if matches!(result, Ok(true)) {
                // The run ended (it published on the way): look again.
                *run = None;
                continue;
            }
            if result.is_err() {
                // The coordinator is gone; nothing will ever cover this ticket.
                return Settled::Done {
                    generation: self.required,
                    outcome: RunOutcome::Panicked,
                };
            }
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The lock is never held across a panic-prone call, but recover rather than spread one.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn publish(&self, generation: u64, outcome: RunOutcome, last: bool) {
        self.published.send_replace(Published {
            generation,
            outcome: Some(outcome),
            last,
        });
    }
}

/// The task that runs refreshes until none is pending.
struct Driver {
    shared: Arc<Shared>,
    done: bool,
}

impl Driver {
    async fn run(mut self, mut generation: u64, mut trigger: Trigger) {
        loop {
            let span = tracing::info_span!(
                "vwo_webhook.refresh",
                generation,
                trigger = trigger_name(&trigger)
            );
            self.one_refresh(generation, trigger).instrument(span).await;
            let mut state = self.shared.lock();
            match state.pending.take() {
                Some(next) => {
                    state.started += 1;
                    generation = state.started;
                    trigger = next;
                }
                None => {
                    state.running = false;
                    self.done = true;
                    return;
                }
            }
        }
    }

    /// One refresh: attempts until success, a permanent failure or the retry deadline, each
    /// no earlier than the failure streak allows.
    async fn one_refresh(&self, mut generation: u64, mut trigger: Trigger) {
        let retry = self.shared.retry;
        let deadline = Instant::now() + retry.deadline;
        let mut attempts = 0u32;
        loop {
            let earliest = {
                let state = self.shared.lock();
                let spaced = state.last_attempt.map(|at| at + retry.min_spacing);
                state.not_before.max(spaced)
            };
            if let Some(at) = earliest.filter(|at| *at > Instant::now()) {
                tokio::time::sleep_until(at).await;
                // The attempt starts now: it also covers whoever arrived during the wait.
                (generation, trigger) = self.next_attempt(trigger);
            }
            let started = Instant::now();
            let covered = {
                let mut state = self.shared.lock();
                state.last_attempt = Some(started);
                std::mem::take(&mut state.waiting)
            };
            let retrying = attempts > 0;
            attempts += 1;
            let name = trigger_name(&trigger);
            // Panics are caught in place: a panicking backend ends this attempt, not the driver.
            let attempt = Arc::clone(&self.shared.backend).refresh_boxed(trigger.clone());
            let result = futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(attempt)).await;
            let elapsed = started.elapsed();
            let elapsed_ms = elapsed.as_millis() as u64;
            let counted = match &result {
                Ok(Ok(())) => "refreshed",
                Ok(Err(error)) if error.is_transient() => "transient_failure",
                Ok(Err(_)) => "permanent_failure",
                Err(_) => "panicked",
            };
            telemetry::refresh(name, counted, elapsed, retrying, covered);
            let retry_after = match result {
                Ok(Ok(())) => {
                    tracing::info!(generation, elapsed_ms, "settings refreshed");
                    self.end_streak();
                    self.shared.publish(generation, RunOutcome::Refreshed, true);
                    return;
                }
                Ok(Err(error)) => match error.kind() {
                    FailureKind::Transient { retry_after } => {
                        tracing::warn!(generation, elapsed_ms, %error, "settings refresh failed transiently");
                        retry_after
                    }
                    _ => {
                        tracing::error!(generation, elapsed_ms, %error, "settings refresh failed permanently");
                        self.end_streak();
                        self.shared.publish(generation, RunOutcome::Permanent, true);
                        return;
                    }
                },
                Err(payload) => {
                    let reason = panic_message(payload.as_ref());
                    tracing::error!(
                        generation,
                        elapsed_ms,
                        reason,
                        "settings backend panicked; contained"
                    );
                    self.end_streak();
                    self.shared.publish(generation, RunOutcome::Panicked, true);
                    return;
                }
            };
            let resume = {
                let mut state = self.shared.lock();
                state.failures = state.failures.saturating_add(1);
                let pause =
                    equal_jitter(retry.exponential(state.failures)).max(retry_after.unwrap_or_default());
                let resume = Instant::now() + pause;
                state.not_before = Some(resume);
                resume
            };
            if resume >= deadline {
                tracing::warn!(
                    generation,
                    "retry deadline passed; giving up until the next delivery"
                );
                self.shared.publish(generation, RunOutcome::Transient, true);
                return;
            }
            self.shared.publish(generation, RunOutcome::Transient, false);
        }
    }

    /// Starts a fresh attempt: a new generation, which also covers whoever is pending.
    fn next_attempt(&self, trigger: Trigger) -> (u64, Trigger) {
        let mut state = self.shared.lock();
        state.started += 1;
        let trigger = state.pending.take().unwrap_or(trigger);
        (state.started, trigger)
    }

    fn end_streak(&self) {
        let mut state = self.shared.lock();
        state.failures = 0;
        state.not_before = None;
    }
}

impl Drop for Driver {
    /// If the runtime drops the driver mid-refresh, free the coordinator and wake the waiters
    /// instead of leaving them hanging.
    fn drop(&mut self) {
        if !self.done {
            let mut state = self.shared.lock();
            state.running = false;
            let generation = state.started;
            drop(state);
            self.shared.publish(generation, RunOutcome::Panicked, true);
        }
    }
}

/// Between half and all of `delay`, uniformly: jittered, with a floor.
fn equal_jitter(delay: Duration) -> Duration {
    let nanos = u64::try_from(delay.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(nanos / 2 + fastrand::u64(0..=nanos - nanos / 2))
}

fn trigger_name(trigger: &Trigger) -> &'static str {
    match trigger {
        Trigger::Webhook(_) => "webhook",
        Trigger::SafetyNet => "safety_net",
        Trigger::Broadcast => "broadcast",
        Trigger::Manual => "manual",
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::refresh::RefreshError;

    /// A backend that counts runs, takes `delay`, and answers from `script` (then succeeds).
    fn backend(
        delay: Duration,
        script: Vec<fn() -> Result<(), RefreshError>>,
    ) -> (Arc<AtomicUsize>, impl Refresh) {
        let runs = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&runs);
        let script = Arc::new(script);
        let backend = move |_trigger: Trigger| {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let script = Arc::clone(&script);
            async move {
                tokio::time::sleep(delay).await;
                match script.get(n) {
                    Some(step) => step(),
                    None => Ok(()),
                }
            }
        };
        (runs, backend)
    }

    #[tokio::test(start_paused = true)]
    async fn an_inline_run_moves_to_a_task_when_its_waiter_goes_away() {
        let finished = Arc::new(AtomicUsize::new(0));
        let done = Arc::clone(&finished);
        let (runs, slow) = backend(Duration::from_millis(100), vec![]);
        let slow = Arc::new(slow);
        let backend = move |trigger: Trigger| {
            let (slow, done) = (Arc::clone(&slow), Arc::clone(&done));
            async move {
                let result = slow.refresh(trigger).await;
                done.fetch_add(1, Ordering::SeqCst);
                result
            }
        };
        let coordinator = Coordinator::new(backend, RetryPolicy::none());
        let first = coordinator.schedule_inline(Trigger::Manual);
        // The waiter drives its run, then goes away mid-refresh (a client that hung up).
        let abandoned = tokio::time::timeout(Duration::from_millis(10), first.wait(None)).await;
        assert!(abandoned.is_err(), "still refreshing after 10 ms");
        assert_eq!(
            runs.load(Ordering::SeqCst),
            1,
            "the run started on the waiter's task"
        );
        // Deliveries meanwhile are answered: the run went on, and so does the pending one.
        let during = coordinator.schedule_inline(Trigger::Manual);
        assert!(matches!(
            during.wait(None).await,
            Settled::Done {
                generation: 2,
                outcome: RunOutcome::Refreshed
            }
        ));
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        assert_eq!(
            finished.load(Ordering::SeqCst),
            2,
            "the abandoned run was finished, not cancelled"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_inline_waiter_is_answered_by_its_own_run_and_leaves_the_pending_one_running() {
        let (runs, backend) = backend(Duration::from_millis(100), vec![]);
        let coordinator = Coordinator::new(backend, RetryPolicy::none().with_min_spacing(Duration::ZERO));
        let first = coordinator.schedule_inline(Trigger::Manual);
        let second = coordinator.schedule(Trigger::Manual);
        // The first waiter returns with its own generation while the second still runs.
        assert!(matches!(
            first.wait(None).await,
            Settled::Done { generation: 1, .. }
        ));
        assert!(matches!(
            second.wait(None).await,
            Settled::Done { generation: 2, .. }
        ));
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    fn fast_retry() -> RetryPolicy {
        RetryPolicy::default()
            .with_initial_delay(Duration::from_millis(1))
            .with_max_delay(Duration::from_millis(4))
            .with_deadline(Duration::from_secs(5))
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_requests_during_a_run_cost_one_more_run() {
        let (runs, backend) = backend(Duration::from_millis(50), vec![]);
        let coordinator = Coordinator::new(backend, fast_retry());
        let first = coordinator.schedule(Trigger::Manual);
        tokio::task::yield_now().await;
        let waiters: Vec<_> = (0..1000).map(|_| coordinator.schedule(Trigger::Manual)).collect();
        assert_eq!(first.required_generation(), 1);
        assert!(waiters.iter().all(|t| t.required_generation() == 2));
        for ticket in waiters {
            assert_eq!(
                ticket.wait(None).await,
                Settled::Done {
                    generation: 2,
                    outcome: RunOutcome::Refreshed
                }
            );
        }
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_ticket_is_never_satisfied_by_a_run_that_started_before_it() {
        let (runs, backend) = backend(Duration::from_millis(30), vec![]);
        let coordinator = Coordinator::new(backend, fast_retry());
        let early = coordinator.schedule(Trigger::Manual);
        tokio::time::sleep(Duration::from_millis(10)).await;
        let late = coordinator.schedule(Trigger::Manual);
        assert!(matches!(
            early.wait(None).await,
            Settled::Done { generation: 1, .. }
        ));
        // Generation 1 was published before `late` looked: only generation 2 may answer it.
        assert_eq!(late.required_generation(), 2);
        assert!(matches!(
            late.wait(None).await,
            Settled::Done { generation: 2, .. }
        ));
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failures_are_retried_until_success() {
        let (runs, backend) = backend(
            Duration::ZERO,
            vec![|| Err(RefreshError::transient("origin 503")), || {
                Err(RefreshError::transient("origin 503"))
            }],
        );
        let coordinator = Coordinator::new(backend, fast_retry());
        assert_eq!(coordinator.refresh(Trigger::Manual).await, RunOutcome::Refreshed);
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        assert_eq!(coordinator.generation(), 3, "each attempt is a generation");
    }

    #[tokio::test(start_paused = true)]
    async fn retries_stop_at_the_deadline() {
        let (runs, backend) = backend(
            Duration::ZERO,
            vec![|| Err(RefreshError::transient("down")); 1000],
        );
        let policy = fast_retry().with_deadline(Duration::from_millis(30));
        let coordinator = Coordinator::new(backend, policy);
        assert_eq!(coordinator.refresh(Trigger::Manual).await, RunOutcome::Transient);
        let attempts = runs.load(Ordering::SeqCst);
        assert!(attempts > 1 && attempts < 1000, "{attempts} attempts");
    }

    #[tokio::test(start_paused = true)]
    async fn no_retry_policy_makes_one_attempt() {
        let (runs, backend) = backend(Duration::ZERO, vec![|| Err(RefreshError::transient("down")); 10]);
        let coordinator = Coordinator::new(backend, RetryPolicy::none());
        assert_eq!(coordinator.refresh(Trigger::Manual).await, RunOutcome::Transient);
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_hint_is_honoured() {
        let (runs, backend) = backend(
            Duration::ZERO,
            vec![|| Err(RefreshError::transient_after(Duration::from_millis(80), "429"))],
        );
        let coordinator = Coordinator::new(backend, fast_retry());
        let started = Instant::now();
        assert_eq!(coordinator.refresh(Trigger::Manual).await, RunOutcome::Refreshed);
        assert!(started.elapsed() >= Duration::from_millis(80));
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn permanent_failures_are_not_retried() {
        let (runs, backend) = backend(
            Duration::ZERO,
            vec![|| Err(RefreshError::permanent("401 from origin"))],
        );
        let coordinator = Coordinator::new(backend, fast_retry());
        assert_eq!(coordinator.refresh(Trigger::Manual).await, RunOutcome::Permanent);
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_panic_is_contained_and_the_next_refresh_runs() {
        let (runs, backend) = backend(Duration::ZERO, vec![|| panic!("backend bug")]);
        let coordinator = Coordinator::new(backend, fast_retry());
        assert_eq!(coordinator.refresh(Trigger::Manual).await, RunOutcome::Panicked);
        assert_eq!(coordinator.refresh(Trigger::Manual).await, RunOutcome::Refreshed);
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn wait_times_out_while_the_run_goes_on() {
        let (runs, backend) = backend(Duration::from_millis(60), vec![]);
        let coordinator = Coordinator::new(backend, fast_retry());
        let ticket = coordinator.schedule(Trigger::Manual);
        assert_eq!(
            ticket.wait(Some(Duration::from_millis(5))).await,
            Settled::TimedOut { retrying: false }
        );
        assert_eq!(coordinator.refresh(Trigger::Manual).await, RunOutcome::Refreshed);
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    /// A backend that always fails transiently and records when each attempt started.
    fn failing() -> (Arc<Mutex<Vec<Instant>>>, impl Refresh) {
        let attempts = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&attempts);
        let backend = move |_trigger: Trigger| {
            record.lock().expect("attempts").push(Instant::now());
            async { Err(RefreshError::transient("origin answered 500")) }
        };
        (attempts, backend)
    }

    #[tokio::test(start_paused = true)]
    async fn a_failing_origin_is_asked_on_a_bounded_schedule_however_often_vwo_redelivers() {
        let (attempts, backend) = failing();
        let coordinator = Coordinator::new(backend, RetryPolicy::default());
        let start = Instant::now();
        // VWO: a delivery every second for a minute, each waiting up to 5 s for its answer.
        let mut deliveries = Vec::new();
        for _ in 0..60 {
            let ticket = coordinator.schedule(Trigger::Manual);
            deliveries.push(tokio::spawn(ticket.wait(Some(Duration::from_secs(5)))));
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        for delivery in deliveries {
            let settled = delivery.await.expect("delivery task");
            assert!(
                !matches!(
                    settled,
                    Settled::Done {
                        outcome: RunOutcome::Refreshed,
                        ..
                    }
                ),
                "{settled:?}"
            );
        }
        let attempts: Vec<Duration> = attempts
            .lock()
            .expect("attempts")
            .iter()
            .map(|at| *at - start)
            .filter(|at| *at < Duration::from_secs(60))
            .collect();
        assert!(
            (5..=7).contains(&attempts.len()),
            "{} attempts in the first minute: {attempts:?}",
            attempts.len()
        );
        // The n-th pause is at least half of 2 s × 2^(n-1).
        for (n, pair) in attempts.windows(2).enumerate() {
            let floor = Duration::from_secs(1 << n);
            assert!(pair[1] - pair[0] >= floor, "pause {n} too short: {attempts:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_delivery_during_the_pause_joins_the_waiting_attempt() {
        let (attempts, backend) = failing();
        let policy = RetryPolicy::default().with_deadline(Duration::ZERO);
        let coordinator = Coordinator::new(backend, policy);
        assert_eq!(coordinator.refresh(Trigger::Manual).await, RunOutcome::Transient);
        // The next attempt may not start before 1 s has passed; three deliveries now share it.
        let waiting: Vec<Ticket> = (0..3).map(|_| coordinator.schedule(Trigger::Manual)).collect();
        let before = Instant::now();
        let mut settled = Vec::new();
        for ticket in waiting {
            settled.push(ticket.wait(None).await);
        }
        assert!(
            settled.iter().all(|s| *s == settled[0]),
            "one attempt for all: {settled:?}"
        );
        assert!(
            before.elapsed() >= Duration::from_secs(1),
            "{:?}",
            before.elapsed()
        );
        assert_eq!(attempts.lock().expect("attempts").len(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn success_ends_the_streak() {
        let (runs, backend) = backend(
            Duration::ZERO,
            vec![
                || Err(RefreshError::transient("down")),
                || Err(RefreshError::transient("down")),
                || Ok(()),
                || Err(RefreshError::transient("down")),
            ],
        );
        let policy = RetryPolicy::default().with_deadline(Duration::from_secs(600));
        let coordinator = Coordinator::new(backend, policy);
        assert_eq!(coordinator.refresh(Trigger::Manual).await, RunOutcome::Refreshed);
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        // A new failure starts the schedule over: the retry comes within 2 s, not 4 to 8.
        let started = Instant::now();
        assert_eq!(coordinator.refresh(Trigger::Manual).await, RunOutcome::Refreshed);
        assert!(
            started.elapsed() <= Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(runs.load(Ordering::SeqCst), 5);
    }

    #[tokio::test(start_paused = true)]
    async fn min_spacing_holds_attempts_apart_and_gathers_who_arrives_meanwhile() {
        let (runs, backend) = backend(Duration::from_millis(2), vec![]);
        let policy = RetryPolicy::default().with_min_spacing(Duration::from_millis(100));
        let coordinator = Coordinator::new(backend, policy);
        let started = Instant::now();
        // A delivery every 5 ms for 300 ms: without spacing, about one run per 2 ms fetch.
        let mut tickets = Vec::new();
        for _ in 0..60 {
            tickets.push(coordinator.schedule(Trigger::Manual));
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        for ticket in tickets {
            assert!(matches!(
                ticket.wait(None).await,
                Settled::Done {
                    outcome: RunOutcome::Refreshed,
                    ..
                }
            ));
        }
        let runs = runs.load(Ordering::SeqCst);
        assert!((3..=5).contains(&runs), "{runs} runs for 300 ms of deliveries");
        assert!(
            started.elapsed() < Duration::from_millis(450),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn safety_net_refreshes_periodically_until_dropped() {
        let (runs, backend) = backend(Duration::ZERO, vec![]);
        let coordinator = Coordinator::new(backend, fast_retry());
        let net = coordinator.spawn_safety_net(Duration::from_secs(600), 0.1);
        tokio::time::sleep(Duration::from_secs(600 * 3 + 100)).await;
        let seen = runs.load(Ordering::SeqCst);
        assert!((2..=4).contains(&seen), "{seen} runs in ~3 periods");
        drop(net);
        tokio::time::sleep(Duration::from_secs(600 * 3)).await;
        assert_eq!(runs.load(Ordering::SeqCst), seen);
    }
}
