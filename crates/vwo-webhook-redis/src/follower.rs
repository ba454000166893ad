//! Every replica's follower: loads what the fleet stored when a notice says so, and reads
//! the stored state on every (re)connect and on a jittered interval, because pub/sub drops
//! what is published while a subscriber is away.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use tokio::task::JoinHandle;
use vwo_webhook::{Coordinator, Trigger};

use crate::error::describe;
use crate::replica::Inner;
use crate::shared::Notice;
use crate::telemetry;

const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The running follower; dropping it stops the task.
#[derive(Debug)]
pub(crate) struct Follower {
    task: JoinHandle<()>,
    inner: Arc<Inner>,
}

impl Follower {
    pub(crate) fn connection(&self) -> tokio::sync::watch::Receiver<bool> {
        self.inner.connected.subscribe()
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub(crate) fn spawn(inner: Arc<Inner>, coordinator: Coordinator) -> Follower {
    let task = tokio::spawn(run(Arc::clone(&inner), coordinator));
    Follower { task, inner }
}

async fn run(inner: Arc<Inner>, coordinator: Coordinator) {
    start(&inner, &coordinator).await;
    let mut backoff = MIN_BACKOFF;
    loop {
        match subscribe(&inner).await {
            Ok(messages) => {
                inner.set_connected(true);
                backoff = MIN_BACKOFF;
                tracing::debug!("following the fleet's notices");
                follow(&inner, &coordinator, messages).await;
                inner.set_connected(false);
                tracing::warn!("lost the Redis subscription; this replica catches up when it is back");
            }
            Err(error) => {
                inner.set_connected(false);
                tracing::debug!(error = %describe(&error), "cannot reach Redis for the fleet's notices");
            }
        }
        tokio::time::sleep(jittered(backoff)).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// A new replica's settings: the fleet's document when there is one (no VWO call), else the
/// on-disk copy already loaded and a fetch through the fleet.
async fn start(inner: &Inner, coordinator: &Coordinator) {
    let from_fleet = match tokio::time::timeout(inner.timeout * 2, inner.shared.document()).await {
        Ok(Ok(Some(stored))) => inner.adopt(stored).is_ok(),
        Ok(Ok(None)) => false,
        Ok(Err(error)) => {
            tracing::warn!(error = %describe(&error), "Redis is unavailable at start; fetching from the origin");
            false
        }
        Err(_) => false,
    };
    if from_fleet {
        tracing::info!("started from the fleet's settings in Redis");
    } else {
        inner.starting.store(true, Ordering::Relaxed);
        coordinator.trigger(Trigger::Manual);
    }
}

async fn subscribe(inner: &Inner) -> redis::RedisResult<impl Stream<Item = redis::Msg> + use<>> {
    let connect = async {
        let mut pubsub = inner.deployment.subscribe().await?;
        pubsub.subscribe(&inner.shared.keys().channel).await?;
        Ok(pubsub.into_on_message())
    };
    match tokio::time::timeout(inner.timeout * 2, connect).await {
        Ok(result) => result,
        Err(_) => Err(redis::RedisError::from((
            redis::ErrorKind::Io,
            "timed out subscribing",
        ))),
    }
}

/// Follows one subscription until it drops.
async fn follow(inner: &Inner, coordinator: &Coordinator, messages: impl Stream<Item = redis::Msg>) {
    let mut messages = std::pin::pin!(messages);
    let master = inner.deployment.master_generation();
    if !catch_up(inner, coordinator).await {
        return;
    }
    loop {
        let next_poll = jittered(inner.catch_up);
        tokio::select! {
            message = messages.next() => {
                let Some(message) = message else { return };
                inner.notices.send_modify(|n| *n = n.wrapping_add(1));
                let notice = message.get_payload::<String>().ok().and_then(|p| Notice::parse(&p));
                // A replica with a fetch of its own to share tries again on every notice
                // (its coordinator gathers them), not only at the next periodic read.
                if let Some(notice) = notice
                    && (inner.has_pending() || !inner.serves(&notice))
                    && !catch_up(inner, coordinator).await
                {
                    return;
                }
            }
            () = tokio::time::sleep(next_poll) => {
                if !catch_up(inner, coordinator).await {
                    return;
                }
            }
            // A forced failover leaves this subscription on a master that no longer gets
            // the fleet's notices: subscribe again, on the new one.
            () = inner.deployment.master_moved(master) => return,
        }
    }
}

/// Reads the fleet's state and serves its document if it is not the one served. A replica
/// that fetched alone while Redis was away shares its fetch first (through a fresh fleet
/// fetch) instead. `false` when Redis could not be read.
async fn catch_up(inner: &Inner, coordinator: &Coordinator) -> bool {
    if inner.has_pending() {
        tracing::info!("Redis is back: sharing the settings this replica fetched alone");
        coordinator.trigger(Trigger::Manual);
        return true;
    }
    match inner.shared.head().await {
        Ok(head) => {
            // A refused document is already reported; the last good one stays.
            let _ = inner.adopt_head(&head).await;
            // Redis holds an older document than this replica serves (a failover lost the
            // newest writes): share the newer one now rather than at the next notice.
            if inner.has_pending() {
                coordinator.trigger(Trigger::Manual);
            }
            true
        }
        Err(error) => {
            telemetry::redis_error("read");
            tracing::debug!(error = %describe(&error), "could not read the fleet's state");
            false
        }
    }
}

/// `base` ±10%, so replicas do not read in lockstep.
fn jittered(base: Duration) -> Duration {
    base.mul_f64(0.9 + fastrand::f64() * 0.2)
}
