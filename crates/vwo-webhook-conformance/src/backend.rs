//! Refresh backends with scripted behaviour, observable from the test while a server runs
//! them on another thread.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use vwo_webhook::{Refresh, RefreshError, Trigger};

/// What one run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Succeed.
    Succeed,
    /// Fail transiently.
    Transient,
    /// Fail permanently.
    Permanent,
    /// Panic.
    Panic,
}

/// A backend that counts its runs, takes a configurable time, and follows a script.
///
/// Clones share counters, so the test keeps one and hands another to the receiver.
#[derive(Clone)]
pub struct TestBackend {
    inner: Arc<Inner>,
}

struct Inner {
    /// Run `n` (0-based) does `script[n]`; later runs repeat `then`.
    script: Vec<Step>,
    then: Step,
    /// How long each of the first `slow_runs` runs takes.
    delay: Duration,
    slow_runs: usize,
    started: AtomicUsize,
    finished: AtomicUsize,
    run_started: Notify,
    run_finished: Notify,
    triggers: Mutex<Vec<Trigger>>,
    /// Runs wait here until the gate opens; `true` for an ungated backend.
    open: AtomicBool,
    opened: Notify,
}

impl TestBackend {
    fn build(script: Vec<Step>, then: Step, delay: Duration, slow_runs: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                script,
                then,
                delay,
                slow_runs,
                started: AtomicUsize::new(0),
                finished: AtomicUsize::new(0),
                run_started: Notify::new(),
                run_finished: Notify::new(),
                triggers: Mutex::new(Vec::new()),
                open: AtomicBool::new(true),
                opened: Notify::new(),
            }),
        }
    }

    /// Succeeds at once, every time.
    pub fn counting() -> Self {
        Self::build(vec![], Step::Succeed, Duration::ZERO, 0)
    }

    /// Succeeds; each of the first `slow_runs` runs takes `delay`, later ones are instant.
    pub fn slow(delay: Duration, slow_runs: usize) -> Self {
        Self::build(vec![], Step::Succeed, delay, slow_runs)
    }

    /// Succeeds, but every run waits until [`TestBackend::open`] is called: a refresh that
    /// lasts exactly as long as the test needs, whatever the machine's speed.
    pub fn gated() -> Self {
        let backend = Self::counting();
        backend.inner.open.store(false, Ordering::SeqCst);
        backend
    }

    /// Lets every run waiting at the gate, and every later one, go on.
    pub fn open(&self) {
        self.inner.open.store(true, Ordering::SeqCst);
        self.inner.opened.notify_waiters();
    }

    /// Always fails transiently.
    pub fn transient() -> Self {
        Self::build(vec![], Step::Transient, Duration::ZERO, 0)
    }

    /// Always fails permanently.
    pub fn permanent() -> Self {
        Self::build(vec![], Step::Permanent, Duration::ZERO, 0)
    }

    /// Panics on its first run, succeeds afterwards.
    pub fn panicking_once() -> Self {
        Self::build(vec![Step::Panic], Step::Succeed, Duration::ZERO, 0)
    }

    /// Runs started so far.
    pub fn started(&self) -> usize {
        self.inner.started.load(Ordering::SeqCst)
    }

    /// Runs that returned (successfully or not) so far.
    pub fn finished(&self) -> usize {
        self.inner.finished.load(Ordering::SeqCst)
    }

    /// The triggers of every run so far.
    pub fn triggers(&self) -> Vec<Trigger> {
        self.inner
            .triggers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits until at least `n` runs have started (panics after 10 s).
    pub async fn wait_started(&self, n: usize) {
        wait_for(&self.inner.run_started, || self.started() >= n, "runs to start").await;
    }

    /// Waits until at least `n` runs have returned (panics after 10 s).
    pub async fn wait_finished(&self, n: usize) {
        wait_for(
            &self.inner.run_finished,
            || self.finished() >= n,
            "runs to finish",
        )
        .await;
    }
}

/// Waits for `notify` until `done` holds, failing the test after 10 s instead of hanging.
async fn wait_for(notify: &Notify, done: impl Fn() -> bool, what: &str) {
    let wait = async {
        loop {
            let notified = notify.notified();
            if done() {
                return;
            }
            notified.await;
        }
    };
    if tokio::time::timeout(Duration::from_secs(10), wait).await.is_err() {
        panic!("waited 10 s for {what}");
    }
}

impl Refresh for TestBackend {
    async fn refresh(&self, trigger: Trigger) -> Result<(), RefreshError> {
        let inner = &self.inner;
        inner
            .triggers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(trigger);
        let n = inner.started.fetch_add(1, Ordering::SeqCst);
        inner.run_started.notify_waiters();
        wait_for(
            &inner.opened,
            || inner.open.load(Ordering::SeqCst),
            "the gate to open",
        )
        .await;
        if n < inner.slow_runs {
            tokio::time::sleep(inner.delay).await;
        }
        let step = inner.script.get(n).copied().unwrap_or(inner.then);
        inner.finished.fetch_add(1, Ordering::SeqCst);
        inner.run_finished.notify_waiters();
        match step {
            Step::Succeed => Ok(()),
            Step::Transient => Err(RefreshError::transient("test backend: origin unavailable")),
            Step::Permanent => Err(RefreshError::permanent(
                "test backend: origin refused the SDK key",
            )),
            Step::Panic => panic!("test backend: deliberate panic"),
        }
    }
}
