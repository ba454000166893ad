//! The task that runs the backend: one attempt at a time, retries on the schedule, panics
//! contained, each attempt in its own span.

use std::sync::Arc;

use tokio::time::Instant;
use tracing::Instrument;

use super::Shared;
use super::state::{AfterRun, State};
use super::ticket::RunOutcome;
use crate::refresh::{FailureKind, Trigger};
use crate::telemetry;

/// The task that runs refreshes until none is pending.
pub(super) struct Driver {
    pub(super) shared: Arc<Shared>,
    pub(super) done: bool,
}

impl Driver {
    pub(super) async fn run(mut self, mut generation: u64, mut trigger: Trigger) {
        loop {
            let span = tracing::info_span!(
                "vwo_webhook.refresh",
                generation,
                trigger = trigger_name(&trigger)
            );
            self.one_refresh(generation, trigger).instrument(span).await;
            match self.shared.state.apply(State::run_ended) {
                AfterRun::Next {
                    generation: next,
                    trigger: pending,
                } => (generation, trigger) = (next, pending),
                AfterRun::Idle => {
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
        let deadline = crate::clock::later(Instant::now(), retry.deadline);
        let mut attempts = 0u32;
        loop {
            let earliest = self
                .shared
                .state
                .apply(|state| state.earliest_start(retry.min_spacing));
            if let Some(at) = earliest.filter(|at| *at > Instant::now()) {
                tokio::time::sleep_until(at).await;
                // The attempt starts now: it also covers whoever arrived during the wait.
                (generation, trigger) = self.shared.state.apply(|state| state.restarted(trigger));
            }
            let started = Instant::now();
            let covered = self.shared.state.apply(|state| state.attempt_started(started));
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
            let resume = self.shared.state.apply(|state| {
                state.attempt_failed(Instant::now(), |failures| retry.pause(failures, retry_after))
            });
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

    fn end_streak(&self) {
        self.shared.state.apply(State::streak_ended);
    }
}

impl Drop for Driver {
    /// If the runtime drops the driver mid-refresh, free the coordinator and wake the waiters
    /// instead of leaving them hanging.
    fn drop(&mut self) {
        if !self.done {
            let generation = self.shared.state.apply(State::abandoned);
            self.shared.publish(generation, RunOutcome::Panicked, true);
        }
    }
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
