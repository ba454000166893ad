//! A refresh through the fleet: take a ticket, wait for the fetch that covers it or lead one
//! under the fleet's lock, and record its outcome for the others; alone when Redis is away.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

use vwo_webhook::{Refresh, RefreshError, Trigger};
use vwo_webhook_settings::replication::StoreWrite;
use vwo_webhook_settings::{Check, Checked};

use crate::error::describe;
use crate::keys::{millis, new_epoch};
use crate::replica::{FleetFailure, Inner};
use crate::scripts::{Fetched, Recorded};
use crate::shared::{Head, StoredFailure, Ticket};
use crate::telemetry;

use super::RedisFleet;

/// A Redis command failed: the receiving replica then acts alone.
#[derive(Debug)]
pub(crate) struct Unavailable(pub(crate) &'static str, pub(crate) redis::RedisError);

/// How a refresh through the fleet ended.
#[derive(Debug)]
pub(crate) enum Through {
    /// The fleet answered it: by this replica's fetch, another's, or a failure it shared.
    Answered(Result<(), RefreshError>),
    /// Redis failed on the way: the replica fetches alone.
    Unavailable(Unavailable),
}

/// The value of a Redis command, or the end of the refresh through the fleet.
macro_rules! or_unavailable {
    ($command:expr, $op:literal) => {
        match $command {
            Ok(value) => value,
            Err(error) => return Through::Unavailable(Unavailable($op, error)),
        }
    };
}

impl RedisFleet {
    pub(super) async fn through_fleet(&self, trigger: &Trigger) -> Through {
        let inner = &*self.inner;
        let shared = &inner.shared;
        let ticket = or_unavailable!(shared.take_ticket().await, "ticket");
        let patience = Instant::now() + inner.lock_ttl * 2 + inner.timeout * 4;
        let mut notices = inner.notices.subscribe();
        // A webhook needs a fetch that started after it arrived. Anything else (a start, a
        // poll) is as well served by a fetch under way: one that ends after this began. Not a
        // replica sharing what it fetched alone: that needs a new fetch.
        let joinable = !matches!(trigger, Trigger::Webhook(_)) && !inner.has_pending();
        // A replica that found no document at start takes the first one there is.
        let starting = joinable && inner.starting.swap(false, Ordering::Relaxed);
        let wait = Wait {
            ticket: &ticket,
            joinable,
            starting,
            poll: matches!(trigger, Trigger::SafetyNet),
        };
        loop {
            let head = or_unavailable!(shared.head().await, "read");
            if let Some(answer) = inner.answered(&wait, &head) {
                return self.settle(trigger, answer, &head).await;
            }
            // The epoch first: a lock from another epoch is known stale (see below).
            let token = format!("{}/{}", ticket.epoch, new_epoch());
            if or_unavailable!(shared.try_lock(&token, inner.lock_ttl).await, "lock") {
                // The head read before the lock may predate the fetch that just released it.
                let result = match shared.head().await {
                    Ok(head) => match inner.answered(&wait, &head) {
                        Some(answer) => Some(self.settle(trigger, answer, &head).await),
                        None => match self.lead(trigger, &ticket.epoch, &head).await {
                            Led::Done(result) => Some(Through::Answered(result)),
                            Led::Retake => None,
                        },
                    },
                    Err(error) => Some(Through::Unavailable(Unavailable("read", error))),
                };
                if let Err(error) = shared.unlock(&token).await {
                    // It expires on its own.
                    telemetry::redis_error("unlock");
                    tracing::debug!(error = %describe(&error), "could not release the fleet's fetch lock");
                }
                // The fetch began in an epoch that a failover or a restart ended since: it
                // covers no ticket of the new one, this delivery's included. Take a new one.
                return match result {
                    Some(result) => result,
                    None => Box::pin(self.through_fleet(trigger)).await,
                };
            }
            if Instant::now() >= patience {
                return Through::Answered(Err(RefreshError::transient(FleetFailure(
                    "no replica finished a fetch in time".to_owned(),
                ))));
            }
            // A lock from before a failover (replicated with the rest): its holder's fetch
            // counts for nothing now, so take over at once instead of waiting out its expiry.
            if or_unavailable!(shared.clear_stale_lock(&ticket.epoch).await, "lock") {
                continue;
            }
            // Another replica is fetching: wait for its notice (or look again shortly, in
            // case this replica's subscription is down or the holder died).
            let _ = tokio::time::timeout(Duration::from_millis(100), notices.changed()).await;
        }
    }

    /// Acts on what the fleet's state already answers.
    async fn settle(&self, trigger: &Trigger, answer: Answer, head: &Head) -> Through {
        match answer {
            Answer::Served(path) => {
                telemetry::refreshed(path);
                Through::Answered(self.inner.adopt_head(head).await)
            }
            Answer::Covered => {
                telemetry::refreshed("joined");
                let adopted = self.inner.adopt_head(head).await;
                if adopted.is_ok() {
                    // A fetch that started after this ticket, so after anything this
                    // replica fetched alone: there is nothing left to share.
                    self.inner.pending.store(false, Ordering::Relaxed);
                }
                Through::Answered(adopted)
            }
            Answer::Failed(error) => {
                telemetry::refreshed("joined");
                Through::Answered(Err(error))
            }
            // Redis lost the fleet's state since the ticket was taken: the ticket means
            // nothing now. Take a new one (later, so just as safe).
            Answer::Retake => Box::pin(self.through_fleet(trigger)).await,
        }
    }

    /// Fetches from VWO for the fleet, holding the lock, and records the result.
    async fn lead(&self, trigger: &Trigger, epoch: &str, head: &Head) -> Led {
        let inner = &*self.inner;
        // In a burst every replica's next run starts as the previous fetch ends: give them
        // the spacing to take their tickets, so this fetch covers them all.
        let since = millis(SystemTime::now()).saturating_sub(head.recorded_ms);
        let spacing = u64::try_from(inner.spacing.as_millis()).unwrap_or(u64::MAX);
        if head.recorded_ms > 0 && since < spacing {
            tokio::time::sleep(Duration::from_millis(spacing - since)).await;
        }
        // What a fetch starting now covers: every ticket taken so far, this one included.
        let covered = match inner.shared.counter().await {
            Ok(covered) => covered,
            Err(error) => return Led::Done(inner.alone(trigger, Unavailable("read", error)).await),
        };
        telemetry::refreshed("led");
        let checked = inner.settings.check(trigger, head.etag.as_deref()).await;
        let message;
        let outcome = match &checked {
            Ok(Checked::New(snapshot)) => Fetched::New {
                raw: snapshot.raw(),
                etag: snapshot.etag(),
                // How it was validated, so the followers validate it the same way.
                check: Check::for_trigger(trigger).name(),
                fetched_at: snapshot.fetched_at(),
            },
            Ok(_) => Fetched::Unchanged {
                etag: head.etag.as_deref().unwrap_or(""),
            },
            Err(error) => {
                message = failure_message(error);
                Fetched::Failed {
                    permanent: !error.is_transient(),
                    message: &message,
                    retry_after: match error.kind() {
                        vwo_webhook::FailureKind::Transient { retry_after } => retry_after,
                        _ => None,
                    },
                }
            }
        };
        let recorded = inner.shared.record(epoch, covered, &outcome).await;
        Led::Done(match (checked, recorded) {
            (Err(error), _) => Err(error),
            (Ok(Checked::New(snapshot)), Ok(Recorded::Stored(revision))) => {
                inner.serve(snapshot.with_revision(revision), epoch, revision);
                inner.pending.store(false, Ordering::Relaxed);
                Ok(())
            }
            (Ok(_), Ok(Recorded::Stored(_))) => {
                inner.pending.store(false, Ordering::Relaxed);
                inner
                    .adopt_head(head)
                    .await
                    .map(|()| inner.settings.store().confirm())
            }
            (Ok(_), Ok(Recorded::EarlierEpoch)) => return Led::Retake,
            (Ok(checked), Ok(Recorded::Superseded)) => {
                // A fetch that started later was recorded first: serve that one.
                tracing::debug!("a later fetch was recorded first; adopting it");
                if let Checked::New(snapshot) = checked
                    && inner.settings.store().current().is_none()
                {
                    inner.settings.install(snapshot);
                }
                match inner.shared.head().await {
                    Ok(head) => {
                        let adopted = inner.adopt_head(&head).await;
                        if adopted.is_ok() {
                            // Later than this fetch, so later than one made alone before.
                            inner.pending.store(false, Ordering::Relaxed);
                        }
                        adopted
                    }
                    Err(_) => Ok(()),
                }
            }
            (Ok(checked), Err(error)) => {
                // The fetch succeeded; only sharing it failed. Serve it, answer by it, and
                // share it when Redis is back.
                telemetry::redis_error("record");
                tracing::warn!(error = %describe(&error), "fetched the settings but could not share them through Redis; the fleet catches up when it is back");
                inner.pending.store(true, Ordering::Relaxed);
                match checked {
                    Checked::New(snapshot) => inner.settings.install(snapshot),
                    _ => inner.settings.store().confirm(),
                }
                Ok(())
            }
        })
    }
}

/// How a fetch for the fleet ended.
enum Led {
    /// With this answer for the delivery that led it.
    Done(Result<(), RefreshError>),
    /// Recorded nowhere: the fleet's epoch changed while it ran.
    Retake,
}

/// What a refresh waits for.
struct Wait<'a> {
    ticket: &'a Ticket,
    /// Any fetch that ends after the ticket will do (not a webhook).
    joinable: bool,
    /// Any document will do (a start that found none).
    starting: bool,
    /// A safety-net poll: the fleet's recent check will do.
    poll: bool,
}

/// What the fleet's state says of a waiting refresh.
enum Answer {
    /// The stored document answers it (by the way named, for the metric).
    Served(&'static str),
    /// The stored result is of a fetch that started after the ticket was taken.
    Covered,
    /// The fetch that covers it failed.
    Failed(RefreshError),
    /// Redis lost the state the ticket belongs to.
    Retake,
}

impl Inner {
    fn answered(&self, wait: &Wait<'_>, head: &Head) -> Option<Answer> {
        let ticket = wait.ticket;
        let has_document = head.revision > 0;
        if wait.joinable && has_document && (wait.starting || head.recorded_ticket >= ticket.number) {
            return Some(Answer::Served("joined"));
        }
        if head.epoch.as_deref() != Some(ticket.epoch.as_str()) {
            return Some(Answer::Retake);
        }
        if head.covered >= ticket.number {
            return Some(Answer::Covered);
        }
        if let Some(failure) = head.failure.as_ref().filter(|f| f.ticket >= ticket.number) {
            return Some(Answer::Failed(failure_error(failure)));
        }
        if wait.poll && self.recently_checked(head) {
            return Some(Answer::Served("recent"));
        }
        None
    }

    /// Redis is unavailable: fetch from VWO directly and answer by that, as a single process
    /// would. The fleet learns of it when Redis is back.
    pub(crate) async fn alone(
        &self,
        trigger: &Trigger,
        Unavailable(op, error): Unavailable,
    ) -> Result<(), RefreshError> {
        telemetry::redis_error(op);
        telemetry::refreshed("alone");
        tracing::warn!(op, error = %describe(&error), "Redis is unavailable; fetching from the origin directly");
        let result = self.settings.refresh(trigger.clone()).await;
        if result.is_ok() {
            self.pending.store(true, Ordering::Relaxed);
        }
        result
    }

    fn recently_checked(&self, head: &Head) -> bool {
        let Some(interval) = self.settings.poll_interval() else {
            return false;
        };
        let checked = std::time::UNIX_EPOCH + Duration::from_millis(head.checked_ms);
        head.revision > 0 && checked.elapsed().is_ok_and(|age| age < interval / 2)
    }
}

/// What the waiting replicas report of a failed fetch: its cause, without the "transient
/// refresh failure" prefix the coordinator adds again.
fn failure_message(error: &RefreshError) -> String {
    std::error::Error::source(error).map_or_else(|| error.to_string(), ToString::to_string)
}

fn failure_error(failure: &StoredFailure) -> RefreshError {
    let error = FleetFailure(failure.message.clone());
    match (failure.permanent, failure.retry_after) {
        (true, _) => RefreshError::permanent(error),
        (false, Some(after)) => RefreshError::transient_after(after, error),
        (false, None) => RefreshError::transient(error),
    }
}

impl Refresh for RedisFleet {
    async fn refresh(&self, trigger: Trigger) -> Result<(), RefreshError> {
        match self.through_fleet(&trigger).await {
            Through::Answered(result) => result,
            Through::Unavailable(unavailable) => self.inner.alone(&trigger, unavailable).await,
        }
    }
}
