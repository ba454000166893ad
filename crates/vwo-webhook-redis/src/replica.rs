//! What one replica serves: the stored document it adopted (or refused), how it swaps one in,
//! and its link to the fleet. The follower and the lead both act through it.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::watch;
use vwo_webhook::RefreshError;
use vwo_webhook_settings::replication::StoreWrite;
use vwo_webhook_settings::{Check, Replication, Snapshot, Source, VwoSettings};

use crate::error::describe;
use crate::shared::{Head, Notice, Shared, Stored};
use crate::telemetry;

pub(crate) struct Inner {
    pub(crate) settings: VwoSettings,
    pub(crate) shared: Shared,
    pub(crate) deployment: std::sync::Arc<crate::deployment::Deployment>,
    pub(crate) lock_ttl: Duration,
    pub(crate) catch_up: Duration,
    pub(crate) timeout: Duration,
    pub(crate) spacing: Duration,
    /// Which stored document this replica serves, and which it refused.
    pub(crate) local: Mutex<Local>,
    /// This replica fetched from VWO while Redis was away: the fleet has not seen it yet.
    pub(crate) pending: AtomicBool,
    /// Started without a document in Redis: the first refresh takes whatever is there.
    pub(crate) starting: AtomicBool,
    /// Whether the follower's subscription is up, for whoever wants to wait on it.
    pub(crate) connected: watch::Sender<bool>,
    /// Bumped on every notice, so a waiting refresh wakes as soon as the fleet has a result.
    pub(crate) notices: watch::Sender<u64>,
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the client: its connection info holds the password.
        f.debug_struct("Inner")
            .field("keys", self.shared.keys())
            .finish_non_exhaustive()
    }
}

/// The stored document this replica serves, by epoch and revision.
#[derive(Debug, Default)]
pub(crate) struct Local {
    pub(crate) serving: Option<(String, u64)>,
    pub(crate) refused: Option<(String, u64)>,
}

/// Why a refresh that went through the fleet failed, as the waiting replicas report it.
#[derive(Debug, thiserror::Error)]
#[error("the fleet's fetch failed: {0}")]
pub(crate) struct FleetFailure(pub(crate) String);

impl Inner {
    /// already), and takes its check time as a confirmation.
    pub(crate) async fn adopt_head(&self, head: &Head) -> Result<(), RefreshError> {
        if head.revision == 0 {
            return Ok(());
        }
        let serving = self.local().serving.clone();
        if serving.as_ref().map(|(e, r)| (e.as_str(), *r))
            == Some((head.epoch.as_deref().unwrap_or(""), head.revision))
        {
            self.settings
                .store()
                .confirm_at(std::time::UNIX_EPOCH + Duration::from_millis(head.checked_ms));
            return Ok(());
        }
        match self.shared.document().await {
            Ok(Some(stored)) => self.adopt(stored).map(|_| ()),
            Ok(None) => Ok(()),
            Err(error) => {
                telemetry::redis_error("load");
                Err(RefreshError::transient(FleetFailure(format!(
                    "could not load the fleet's document: {}",
                    describe(&error)
                ))))
            }
        }
    }

    /// Validates a stored document and serves it, unless it is the one served or an older
    /// revision. `Ok(true)` when it was swapped in.
    pub(crate) fn adopt(&self, stored: Stored) -> Result<bool, RefreshError> {
        let mut local = self.local();
        let key = (stored.epoch.clone(), stored.revision);
        if let Some((epoch, revision)) = &local.serving
            && *epoch == stored.epoch
            && *revision >= stored.revision
        {
            let same = *revision == stored.revision;
            drop(local);
            if same {
                self.settings.store().confirm_at(stored.checked_at);
            }
            return Ok(false);
        }
        // Redis replicates asynchronously: a failover can promote a replica that had not yet
        // received the newest document, and its state starts a new epoch holding an older
        // one. Serving it would take this replica back; it keeps the newer document and
        // shares it (a fresh fetch through the fleet, see `pending`).
        if let Some((epoch, _)) = &local.serving
            && *epoch != stored.epoch
            && self
                .settings
                .store()
                .current()
                .is_some_and(|served| served.fetched_at() > stored.fetched_at)
        {
            drop(local);
            self.pending.store(true, Ordering::Relaxed);
            telemetry::kept_newer();
            tracing::warn!(
                revision = stored.revision,
                "the fleet's document in Redis is older than the one served (a failover lost the newest writes); keeping it and fetching again for the fleet"
            );
            return Ok(false);
        }
        if local.refused.as_ref() == Some(&key) {
            return Err(RefreshError::permanent(FleetFailure(format!(
                "the fleet's document (revision {}) was refused",
                stored.revision
            ))));
        }
        let check = Check::from_name(&stored.check);
        let fetched_at = stored.fetched_at;
        match Snapshot::parse(stored.raw, check, Source::Redis, stored.etag, fetched_at) {
            Ok(snapshot) => {
                telemetry::revision(stored.revision);
                // Confirmed first, so whoever sees the new version sees its check too.
                self.settings.store().confirm_at(stored.checked_at);
                // Installed before `serving` says so, under the lock: a delivery that finds
                // this revision served is never answered while the old one still is.
                self.settings.install(snapshot.with_revision(stored.revision));
                local.serving = Some(key);
                Ok(true)
            }
            Err(error) => {
                local.refused = Some(key);
                drop(local);
                telemetry::refused();
                tracing::warn!(revision = stored.revision, %error, "refused the fleet's settings document; keeping the last good one");
                let message = format!(
                    "the fleet's document (revision {}) was refused: {error}",
                    stored.revision
                );
                self.settings.store().record_error(message.clone());
                Err(RefreshError::permanent(FleetFailure(message)))
            }
        }
    }

    /// Serves a document this replica fetched and stored as `revision`.
    pub(crate) fn serve(&self, snapshot: Snapshot, epoch: &str, revision: u64) {
        let mut local = self.local();
        telemetry::revision(revision);
        self.settings.install(snapshot);
        local.serving = Some((epoch.to_owned(), revision));
    }

    pub(crate) fn local(&self) -> std::sync::MutexGuard<'_, Local> {
        self.local.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether this replica already serves the revision a notice announces (or a later one).
    pub(crate) fn serves(&self, notice: &Notice) -> bool {
        self.local()
            .serving
            .as_ref()
            .is_some_and(|(epoch, revision)| *epoch == notice.epoch && *revision >= notice.revision)
    }

    /// Whether this replica serves a document it fetched alone, not yet shared.
    pub(crate) fn has_pending(&self) -> bool {
        self.pending.load(Ordering::Relaxed)
    }

    pub(crate) fn set_connected(&self, connected: bool) {
        let changed = self.connected.send_if_modified(|current| {
            let changed = *current != connected;
            *current = connected;
            changed
        });
        if changed {
            telemetry::connected(connected);
            self.settings
                .store()
                .set_replication(Some(Replication::new("redis", connected)));
        }
    }
}
