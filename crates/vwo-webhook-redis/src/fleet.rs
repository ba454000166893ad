//! The fleet-wide refresh: one replica fetches from VWO for everyone, the others wait for
//! its result, and a delivery is only ever answered by a fetch that started after it arrived.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::watch;
use vwo_webhook::{Coordinator, Refresh, RefreshError, SafetyNet, Trigger};
use vwo_webhook_settings::replication::StoreWrite;
use vwo_webhook_settings::{Check, Checked, Replication, Snapshot, Source, VwoSettings};

use crate::follower::{self, Follower};
use crate::shared::{
    Head, Keys, Notice, Outcome, Shared, Stored, StoredFailure, Ticket, describe, millis, new_epoch,
};
use crate::telemetry;

/// How long the fetch lock lasts unless released, by default: longer than a fetch may take
/// (the settings backend's default timeout is 10 s), short enough that a replica that died
/// holding it delays the fleet by seconds, not minutes.
pub const DEFAULT_LOCK_TTL: Duration = Duration::from_secs(15);
/// How often each replica reads the shared document even without a notice, by default
/// (±10%): pub/sub drops messages while a subscriber is away.
pub const DEFAULT_CATCH_UP_INTERVAL: Duration = Duration::from_secs(30);
/// How long one Redis command or connection attempt may take before the receiving replica
/// stops counting on Redis and fetches from VWO itself, by default.
pub const DEFAULT_REDIS_TIMEOUT: Duration = Duration::from_millis(500);

/// How long after the fleet's previous fetch the next may start, by default.
pub const DEFAULT_MIN_SPACING: Duration = vwo_webhook::DEFAULT_MIN_SPACING;

/// Why the fleet could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FleetError {
    /// The URL is not a Redis URL. (The URL itself is not repeated: it may hold a password.)
    #[error("the Redis URL is not valid (expected redis://, rediss:// or unix://)")]
    Url,
    /// The TLS root certificate given could not be used.
    #[error("the Redis TLS root certificate could not be used: {0}")]
    Tls(String),
    /// The client could not be created.
    #[error("could not set up the Redis client: {0}")]
    Client(String),
}

/// Why a refresh that went through the fleet failed, as the waiting replicas report it.
#[derive(Debug, thiserror::Error)]
#[error("the fleet's fetch failed: {0}")]
struct FleetFailure(String);

/// A Redis command failed: the receiving replica then acts alone.
#[derive(Debug)]
struct Unavailable(&'static str, redis::RedisError);

/// Configures a [`RedisFleet`].
pub struct FleetBuilder {
    url: String,
    settings: VwoSettings,
    prefix: Option<String>,
    lock_ttl: Duration,
    catch_up: Duration,
    timeout: Duration,
    spacing: Duration,
    root_certificate: Option<Vec<u8>>,
}

impl fmt::Debug for FleetBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FleetBuilder")
            .field("url", &"<redacted>")
            .field("prefix", &self.prefix)
            .field("lock_ttl", &self.lock_ttl)
            .field("catch_up", &self.catch_up)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl FleetBuilder {
    /// The prefix of the fleet's keys (default `vwo-webhook:{<account id>}`; the braces keep
    /// every key in one Redis Cluster slot). Replicas that share settings share a prefix.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// How long the fetch lock lasts unless released (default 15 s). Keep it longer than the
    /// settings backend's fetch timeout.
    pub fn lock_ttl(mut self, ttl: Duration) -> Self {
        self.lock_ttl = ttl.max(Duration::from_millis(1));
        self
    }

    /// How often each replica reads the shared document without a notice (default 30 s,
    /// ±10%).
    pub fn catch_up_interval(mut self, interval: Duration) -> Self {
        self.catch_up = interval.max(Duration::from_millis(10));
        self
    }

    /// How long a Redis command or connection attempt may take (default 500 ms) before the
    /// receiving replica fetches from VWO on its own.
    pub fn redis_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How long after the fleet's previous fetch ended the next one may start (default
    /// 20 ms, as the coordinator's own minimum spacing): in a burst, a replica's next run
    /// starts as the previous fetch ends, on every replica at once; waiting this long lets
    /// one fetch cover them all. A fetch long after the previous one never waits.
    pub fn min_spacing(mut self, spacing: Duration) -> Self {
        self.spacing = spacing;
        self
    }

    /// For `rediss://`: trust this CA (PEM) instead of the system's roots, as for a Redis
    /// whose certificate a private CA signed.
    pub fn tls_root_certificate(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certificate = Some(pem.into());
        self
    }

    /// Builds the fleet. Does not connect yet (a Redis that is down at start is not an
    /// error: the replica runs alone until it is back). Needs a tokio runtime.
    pub fn build(self) -> Result<RedisFleet, FleetError> {
        let info = redis::IntoConnectionInfo::into_connection_info(self.url.as_str())
            .map_err(|_| FleetError::Url)?;
        let client = match self.root_certificate {
            Some(root) => {
                let certificates = redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(root),
                };
                redis::Client::build_with_tls(info, certificates)
                    .map_err(|error| FleetError::Tls(describe(&error)))?
            }
            None => redis::Client::open(info).map_err(|_| FleetError::Url)?,
        };
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_secs(2));
        let connection = ConnectionManager::new_lazy_with_config(client.clone(), config)
            .map_err(|error| FleetError::Client(describe(&error)))?;
        let prefix = self
            .prefix
            .unwrap_or_else(|| format!("vwo-webhook:{{{}}}", self.settings.account_id()));
        let keys = Keys::new(&prefix);
        let (notices, _) = watch::channel(0);
        let store = self.settings.store();
        store.set_replication(Some(Replication::new("redis", false)));
        Ok(RedisFleet {
            inner: Arc::new(Inner {
                settings: self.settings,
                shared: Shared::new(connection, keys),
                client,
                lock_ttl: self.lock_ttl,
                catch_up: self.catch_up,
                timeout: self.timeout,
                spacing: self.spacing,
                local: Mutex::new(Local::default()),
                pending: AtomicBool::new(false),
                starting: AtomicBool::new(false),
                connected: AtomicBool::new(false),
                notices,
            }),
        })
    }
}

/// Keeps every replica of a service on the same VWO settings, through Redis.
///
/// Give it to `Receiver::builder` in place of the [`VwoSettings`] it wraps, on every replica,
/// and call [`RedisFleet::start`]. A webhook reaching any replica then makes one replica
/// fetch from VWO (one fetch per burst, fleet-wide), store the document in Redis and announce
/// it; every replica loads it. See [replicas](https://github.com/vwo-webhook/vwo-webhook/blob/main/docs/replicas.md) for the model and each fault.
#[derive(Clone)]
pub struct RedisFleet {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) settings: VwoSettings,
    pub(crate) shared: Shared,
    pub(crate) client: redis::Client,
    lock_ttl: Duration,
    pub(crate) catch_up: Duration,
    pub(crate) timeout: Duration,
    spacing: Duration,
    /// Which stored document this replica serves, and which it refused.
    local: Mutex<Local>,
    /// This replica fetched from VWO while Redis was away: the fleet has not seen it yet.
    pub(crate) pending: AtomicBool,
    /// Started without a document in Redis: the first refresh takes whatever is there.
    pub(crate) starting: AtomicBool,
    pub(crate) connected: AtomicBool,
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
struct Local {
    serving: Option<(String, u64)>,
    refused: Option<(String, u64)>,
}

impl fmt::Debug for RedisFleet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the client: its connection info holds the password.
        f.debug_struct("RedisFleet")
            .field("keys", self.inner.shared.keys())
            .field("lock_ttl", &self.inner.lock_ttl)
            .field("catch_up", &self.inner.catch_up)
            .field("connected", &self.inner.connected.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// Keeps a replica following its fleet; dropping it stops the follower and the poll.
#[derive(Debug)]
#[must_use = "dropping the handle stops following the fleet"]
pub struct FleetHandle {
    follower: Follower,
    _safety_net: Option<SafetyNet>,
}

impl FleetHandle {
    /// Stops following the fleet now (the same as dropping the handle).
    pub fn stop(self) {
        drop(self);
    }

    /// Whether the follower's subscription to the fleet's notices is up.
    pub fn connected(&self) -> bool {
        self.follower.connected()
    }
}

impl RedisFleet {
    /// Starts configuring a fleet on the Redis at `url` (`redis://`, `rediss://` for TLS,
    /// or `unix://`) around `settings`, the backend that fetches from VWO.
    pub fn builder(url: impl Into<String>, settings: VwoSettings) -> FleetBuilder {
        FleetBuilder {
            url: url.into(),
            settings,
            prefix: None,
            lock_ttl: DEFAULT_LOCK_TTL,
            catch_up: DEFAULT_CATCH_UP_INTERVAL,
            timeout: DEFAULT_REDIS_TIMEOUT,
            spacing: DEFAULT_MIN_SPACING,
            root_certificate: None,
        }
    }

    /// The settings backend this fleet wraps (its store is the one to read settings from).
    pub fn settings(&self) -> &VwoSettings {
        &self.inner.settings
    }

    /// Starts this replica: its settings come from Redis when the fleet has a document (no
    /// VWO call), else from the on-disk copy (already loaded) and then from VWO through the
    /// fleet. Spawns the follower (notices, catch-up on reconnect and every
    /// [`FleetBuilder::catch_up_interval`]) and the safety-net poll. Needs a tokio runtime.
    pub fn start(&self, coordinator: &Coordinator) -> FleetHandle {
        let follower = follower::spawn(Arc::clone(&self.inner), coordinator.clone());
        let safety_net = self
            .inner
            .settings
            .poll_interval()
            .map(|interval| coordinator.spawn_safety_net(interval, 0.1));
        FleetHandle {
            follower,
            _safety_net: safety_net,
        }
    }

    async fn through_fleet(&self, trigger: &Trigger) -> Result<Result<(), RefreshError>, Unavailable> {
        let inner = &*self.inner;
        let shared = &inner.shared;
        let ticket = shared.take_ticket().await.map_err(|e| Unavailable("ticket", e))?;
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
            let head = shared.head().await.map_err(|e| Unavailable("read", e))?;
            if let Some(answer) = inner.answered(&wait, &head) {
                return self.settle(trigger, answer, &head).await;
            }
            let token = new_epoch();
            if shared
                .try_lock(&token, inner.lock_ttl)
                .await
                .map_err(|e| Unavailable("lock", e))?
            {
                // The head read before the lock may predate the fetch that just released it.
                let result = match shared.head().await {
                    Ok(head) => match inner.answered(&wait, &head) {
                        Some(answer) => self.settle(trigger, answer, &head).await,
                        None => Ok(self.lead(trigger, &ticket.epoch, &head).await),
                    },
                    Err(error) => Err(Unavailable("read", error)),
                };
                if let Err(error) = shared.unlock(&token).await {
                    // It expires on its own.
                    telemetry::redis_error("unlock");
                    tracing::debug!(error = %describe(&error), "could not release the fleet's fetch lock");
                }
                return result;
            }
            if Instant::now() >= patience {
                return Ok(Err(RefreshError::transient(FleetFailure(
                    "no replica finished a fetch in time".to_owned(),
                ))));
            }
            // Another replica is fetching: wait for its notice (or look again shortly, in
            // case this replica's subscription is down or the holder died).
            let _ = tokio::time::timeout(Duration::from_millis(100), notices.changed()).await;
        }
    }

    /// Acts on what the fleet's state already answers.
    async fn settle(
        &self,
        trigger: &Trigger,
        answer: Answer,
        head: &Head,
    ) -> Result<Result<(), RefreshError>, Unavailable> {
        match answer {
            Answer::Served(path) => {
                telemetry::refreshed(path);
                Ok(self.inner.adopt_head(head).await)
            }
            Answer::Failed(error) => {
                telemetry::refreshed("joined");
                Ok(Err(error))
            }
            // Redis lost the fleet's state since the ticket was taken: the ticket means
            // nothing now. Take a new one (later, so just as safe).
            Answer::Retake => Box::pin(self.through_fleet(trigger)).await,
        }
    }

    /// Fetches from VWO for the fleet, holding the lock, and records the result.
    async fn lead(&self, trigger: &Trigger, epoch: &str, head: &Head) -> Result<(), RefreshError> {
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
            Err(error) => return inner.alone(trigger, Unavailable("read", error)).await,
        };
        telemetry::refreshed("led");
        let checked = inner.settings.check(trigger, head.etag.as_deref()).await;
        let message;
        let outcome = match &checked {
            Ok(Checked::New(snapshot)) => Outcome::New {
                raw: snapshot.raw(),
                etag: snapshot.etag(),
                check: check_name(trigger),
                fetched_at: snapshot.fetched_at(),
            },
            Ok(_) => Outcome::Unchanged {
                etag: head.etag.as_deref().unwrap_or(""),
            },
            Err(error) => {
                message = failure_message(error);
                Outcome::Failed {
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
        match (checked, recorded) {
            (Err(error), _) => Err(error),
            (Ok(Checked::New(snapshot)), Ok(Some(revision))) => {
                inner.serve(snapshot.with_revision(revision), epoch, revision);
                inner.pending.store(false, Ordering::Relaxed);
                Ok(())
            }
            (Ok(_), Ok(Some(_))) => {
                inner.pending.store(false, Ordering::Relaxed);
                inner.adopt_head(head).await?;
                inner.settings.store().confirm();
                Ok(())
            }
            (Ok(checked), Ok(None)) => {
                // A fetch that started later was recorded first: serve that one.
                tracing::debug!("a later fetch was recorded first; adopting it");
                if let Checked::New(snapshot) = checked
                    && inner.settings.store().current().is_none()
                {
                    inner.settings.install(snapshot);
                }
                match inner.shared.head().await {
                    Ok(head) => inner.adopt_head(&head).await,
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
        }
    }
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
    /// The fetch that covers it failed.
    Failed(RefreshError),
    /// Redis lost the state the ticket belongs to.
    Retake,
}

impl Inner {
    /// Whether the fleet's state already answers the refresh, and how.
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
            return Some(Answer::Served("joined"));
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
    async fn alone(
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

    /// Serves the stored document `head` describes (loading it if this replica does not
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
        if local.refused.as_ref() == Some(&key) {
            return Err(RefreshError::permanent(FleetFailure(format!(
                "the fleet's document (revision {}) was refused",
                stored.revision
            ))));
        }
        let check = if stored.check == "update" {
            Check::Update
        } else {
            Check::Fetch
        };
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
    fn serve(&self, snapshot: Snapshot, epoch: &str, revision: u64) {
        let mut local = self.local();
        telemetry::revision(revision);
        self.settings.install(snapshot);
        local.serving = Some((epoch.to_owned(), revision));
    }

    fn local(&self) -> std::sync::MutexGuard<'_, Local> {
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
        if self.connected.swap(connected, Ordering::Relaxed) != connected {
            telemetry::connected(connected);
            self.settings
                .store()
                .set_replication(Some(Replication::new("redis", connected)));
        }
    }
}

impl Refresh for RedisFleet {
    async fn refresh(&self, trigger: Trigger) -> Result<(), RefreshError> {
        match self.through_fleet(&trigger).await {
            Ok(result) => result,
            Err(unavailable) => self.inner.alone(&trigger, unavailable).await,
        }
    }
}

/// How the stored document was validated, so followers validate it the same way.
fn check_name(trigger: &Trigger) -> &'static str {
    match trigger {
        Trigger::Webhook(_) => "update",
        _ => "fetch",
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
