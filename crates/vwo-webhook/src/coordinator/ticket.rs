//! A delivery's claim on a refresh, and what waiting on it tells: the covering refresh's
//! outcome, or a timeout.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::Published;

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

/// A delivery's claim on a refresh that starts no earlier than the claim.
#[must_use = "a ticket does nothing unless waited on"]
pub struct Ticket {
    pub(super) required: u64,
    pub(super) published: watch::Receiver<Published>,
    /// The run this claim started, when it is driven by the waiter itself (see
    /// [`Coordinator::schedule_inline`]); handed to a task when the wait ends or is dropped.
    pub(super) run: Mutex<Option<Run>>,
}

/// A driver's run, boxed so it can move from the waiter to a task mid-way.
pub(super) type Run = Pin<Box<dyn Future<Output = ()> + Send>>;

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

impl Ticket {
    /// The generation an attempt must have to satisfy this ticket.
    pub fn required_generation(&self) -> u64 {
        self.required
    }

    /// Waits until a covering refresh ends, or `timeout` passes. A transient failure that
    /// will be retried does not end the wait: the retry also covers this ticket.
    pub async fn wait(mut self, timeout: Option<Duration>) -> Settled {
        let deadline = timeout.map(|t| crate::clock::later(Instant::now(), t));
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
