//! The coordinator's state and the transitions that change it: synchronous, free of I/O and
//! of the runtime, so each promise (one run at a time, one pending, no claim covered by an
//! attempt older than itself, the backoff schedule) can be tested on its own. [`Machine`] is
//! the only code that takes the lock, for exactly one transition at a time.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use crate::refresh::Trigger;

/// Everything the coordinator knows between two transitions.
#[derive(Debug, Default)]
pub(super) struct State {
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

/// What a claim asks of the one who made it.
#[derive(Debug)]
pub(super) enum Claim {
    /// Nothing was running: start a run whose first attempt has this generation.
    Start {
        /// The first attempt's generation, which the claim requires.
        generation: u64,
        /// What the run starts for.
        trigger: Trigger,
    },
    /// A run is under way: the pending refresh, which will have this generation, covers it.
    Pending {
        /// The generation the claim requires.
        generation: u64,
    },
}

impl Claim {
    /// The generation an attempt must have to cover this claim.
    pub(super) fn required(&self) -> u64 {
        match self {
            Claim::Start { generation, .. } | Claim::Pending { generation } => *generation,
        }
    }
}

/// What a run does once its refresh has ended.
#[derive(Debug)]
pub(super) enum AfterRun {
    /// Refresh again, for what became pending meanwhile, as this generation.
    Next {
        /// The new attempt's generation.
        generation: u64,
        /// The latest pending trigger.
        trigger: Trigger,
    },
    /// Nothing is pending: the coordinator is idle.
    Idle,
}

impl State {
    /// Asks for a refresh that starts after now: the first claim starts a run, every claim
    /// made while it runs shares the one pending refresh (the latest trigger wins).
    pub(super) fn claim(&mut self, trigger: Trigger) -> Claim {
        if matches!(trigger, Trigger::Webhook(_)) {
            self.waiting += 1;
        }
        if self.running {
            self.pending = Some(trigger);
            Claim::Pending {
                generation: self.started + 1,
            }
        } else {
            self.running = true;
            self.started += 1;
            Claim::Start {
                generation: self.started,
                trigger,
            }
        }
    }

    /// The earliest the next attempt may start: after the failure streak's pause and the
    /// minimum spacing since the previous attempt. `None`: at once.
    pub(super) fn earliest_start(&self, min_spacing: Duration) -> Option<Instant> {
        let spaced = self.last_attempt.map(|at| crate::clock::later(at, min_spacing));
        self.not_before.max(spaced)
    }

    /// An attempt that waited out a pause starts as a new generation, which also covers
    /// whoever claimed meanwhile: the pending refresh is folded into it.
    pub(super) fn restarted(&mut self, trigger: Trigger) -> (u64, Trigger) {
        self.started += 1;
        let trigger = self.pending.take().unwrap_or(trigger);
        (self.started, trigger)
    }

    /// An attempt starts at `now`; returns how many deliveries it covers.
    pub(super) fn attempt_started(&mut self, now: Instant) -> u64 {
        self.last_attempt = Some(now);
        std::mem::take(&mut self.waiting)
    }

    /// An attempt failed transiently at `now`: the streak grows, and no attempt starts before
    /// the returned time. `pause` turns the streak's length into its pause.
    pub(super) fn attempt_failed(&mut self, now: Instant, pause: impl FnOnce(u32) -> Duration) -> Instant {
        self.failures = self.failures.saturating_add(1);
        let resume = crate::clock::later(now, pause(self.failures));
        self.not_before = Some(resume);
        resume
    }

    /// A success or a permanent failure ends the failure streak and its pause.
    pub(super) fn streak_ended(&mut self) {
        self.failures = 0;
        self.not_before = None;
    }

    /// The run's refresh ended: go on with the pending one, or go idle.
    pub(super) fn run_ended(&mut self) -> AfterRun {
        match self.pending.take() {
            Some(trigger) => {
                self.started += 1;
                AfterRun::Next {
                    generation: self.started,
                    trigger,
                }
            }
            None => {
                self.running = false;
                AfterRun::Idle
            }
        }
    }

    /// The run was dropped mid-way (its runtime went away): the coordinator is free again,
    /// and the returned generation is the one to answer its waiters with.
    pub(super) fn abandoned(&mut self) -> u64 {
        self.running = false;
        self.started
    }

    /// The generation of the latest attempt started (0 before the first).
    pub(super) fn generation(&self) -> u64 {
        self.started
    }

    /// Webhook deliveries counted since the latest attempt started: the next one covers them.
    pub(super) fn queued(&self) -> u64 {
        self.waiting
    }

    /// Whether a run is under way, and whether a refresh is pending behind it.
    pub(super) fn activity(&self) -> (bool, bool) {
        (self.running, self.pending.is_some())
    }
}

/// The state behind its lock.
#[derive(Debug, Default)]
pub(super) struct Machine {
    state: Mutex<State>,
}

impl Machine {
    /// Applies one transition under the lock.
    pub(super) fn apply<R>(&self, transition: impl FnOnce(&mut State) -> R) -> R {
        // No transition can panic midway, but recover rather than spread a poisoned lock.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        transition(&mut state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::{Event, SettingsChanged};

    fn webhook() -> Trigger {
        Trigger::Webhook(SettingsChanged {
            timestamp: 1,
            event: Event::SettingsChanged,
            action: None,
            triggered_by: None,
        })
    }

    #[test]
    fn the_first_claim_starts_a_run_and_later_ones_share_one_pending_refresh() {
        let mut state = State::default();
        let first = state.claim(Trigger::Manual);
        assert!(matches!(first, Claim::Start { generation: 1, .. }));
        for _ in 0..3 {
            assert!(matches!(state.claim(webhook()), Claim::Pending { generation: 2 }));
        }
        assert_eq!(state.activity(), (true, true));
        assert!(matches!(
            state.run_ended(),
            AfterRun::Next {
                generation: 2,
                trigger: Trigger::Webhook(_)
            }
        ));
        assert!(matches!(state.run_ended(), AfterRun::Idle));
        assert_eq!(state.activity(), (false, false));
        assert!(matches!(
            state.claim(Trigger::Manual),
            Claim::Start { generation: 3, .. }
        ));
    }

    #[test]
    fn a_claim_requires_an_attempt_that_starts_after_it() {
        let mut state = State::default();
        let _ = state.claim(Trigger::Manual);
        let during = state.claim(webhook());
        // The attempt under way is generation 1: it cannot cover the claim.
        assert_eq!(state.generation(), 1);
        assert_eq!(during.required(), 2);
    }

    #[test]
    fn an_attempt_covers_the_deliveries_counted_since_the_previous_one() {
        let mut state = State::default();
        let _ = state.claim(webhook());
        let _ = state.claim(webhook());
        let _ = state.claim(Trigger::SafetyNet);
        assert_eq!(state.queued(), 2);
        let now = Instant::now();
        assert_eq!(state.attempt_started(now), 2, "two webhook deliveries, one poll");
        assert_eq!(state.queued(), 0);
        assert_eq!(state.attempt_started(now), 0);
    }

    #[test]
    fn a_restart_after_a_pause_folds_the_pending_refresh_into_a_new_generation() {
        let mut state = State::default();
        let _ = state.claim(Trigger::SafetyNet);
        let pending = state.claim(webhook());
        let (generation, trigger) = state.restarted(Trigger::SafetyNet);
        assert_eq!(
            generation,
            pending.required(),
            "the restart covers the pending claim"
        );
        assert!(matches!(trigger, Trigger::Webhook(_)), "with the latest trigger");
        assert!(
            matches!(state.run_ended(), AfterRun::Idle),
            "nothing is left pending"
        );
    }

    #[test]
    fn the_next_attempt_waits_for_the_later_of_the_pause_and_the_spacing() {
        let spacing = Duration::from_millis(20);
        let mut state = State::default();
        assert_eq!(state.earliest_start(spacing), None, "nothing held back at first");
        let start = Instant::now();
        let _ = state.attempt_started(start);
        assert_eq!(state.earliest_start(spacing), Some(start + spacing));
        let resume = state.attempt_failed(start, |failures| Duration::from_secs(u64::from(failures)));
        assert_eq!(resume, start + Duration::from_secs(1));
        assert_eq!(state.earliest_start(spacing), Some(resume));
    }

    #[test]
    fn failures_in_a_row_lengthen_the_pause_until_the_streak_ends() {
        let mut state = State::default();
        let now = Instant::now();
        let mut seen = Vec::new();
        for _ in 0..3 {
            let _ = state.attempt_failed(now, |failures| {
                seen.push(failures);
                Duration::ZERO
            });
        }
        assert_eq!(seen, [1, 2, 3]);
        state.streak_ended();
        assert_eq!(state.earliest_start(Duration::ZERO), None, "the pause is gone");
        let _ = state.attempt_failed(now, |failures| {
            assert_eq!(failures, 1, "a new streak");
            Duration::ZERO
        });
    }

    #[test]
    fn an_abandoned_run_frees_the_coordinator() {
        let mut state = State::default();
        let _ = state.claim(Trigger::Manual);
        assert_eq!(state.abandoned(), 1);
        assert!(!state.activity().0);
        assert!(matches!(
            state.claim(Trigger::Manual),
            Claim::Start { generation: 2, .. }
        ));
    }
}
