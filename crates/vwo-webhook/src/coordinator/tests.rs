use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::time::Instant;

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
    // A hint within the policy's largest delay is waited out in full.
    let coordinator = Coordinator::new(backend, fast_retry().with_max_delay(Duration::from_millis(100)));
    let started = Instant::now();
    assert_eq!(coordinator.refresh(Trigger::Manual).await, RunOutcome::Refreshed);
    assert!(started.elapsed() >= Duration::from_millis(80));
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}

/// An origin's `Retry-After: 18446744073709551615` once overflowed the clock (a panic in the
/// driver: no answer to any later delivery), and `99999999` paused the schedule for years.
#[tokio::test(start_paused = true)]
async fn an_absurd_retry_after_is_capped_at_the_largest_delay() {
    let (runs, backend) = backend(
        Duration::ZERO,
        vec![
            || {
                Err(RefreshError::transient_after(
                    Duration::from_secs(u64::MAX),
                    "503",
                ))
            },
            || Err(RefreshError::transient_after(Duration::MAX, "503")),
            || {
                Err(RefreshError::transient_after(
                    Duration::from_secs(99_999_999),
                    "429",
                ))
            },
        ],
    );
    let policy = fast_retry();
    let coordinator = Coordinator::new(backend, policy);
    let started = Instant::now();
    assert_eq!(coordinator.refresh(Trigger::Manual).await, RunOutcome::Refreshed);
    assert_eq!(runs.load(Ordering::SeqCst), 4);
    assert!(
        started.elapsed() <= policy.max_delay().max(policy.min_spacing()) * 3 + Duration::from_millis(1),
        "{:?}",
        started.elapsed()
    );
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
