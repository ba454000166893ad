//! One handle from an account id and an SDK key to fresh, reported decisions, as VWO's own
//! `init({accountId, sdkKey})` gives: the settings fetched and kept fresh (a webhook and a
//! safety-net poll), decisions on them, events reported, hooks called, and a lifecycle to wait
//! on and close. The parts stay usable on their own ([`Flags`], [`Reporter`],
//! `vwo_webhook_settings::VwoSettings`); the client only wires them.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use vwo_webhook_flags::{Client, Context, SdkKey};
//!
//! let client = Client::builder("123456", SdkKey::new("sdk-key")).build().await?;
//! let flag = client.get_flag("new_checkout", &Context::new("user-42")?);
//! if flag.is_enabled() { /* ... */ }
//! client.close().await; // sends what is queued, stops polling
//! # Ok(()) }
//! ```

mod builder;
mod error;
mod hooks;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::{Map, Value};
use vwo_webhook::{
    Coordinator, Receiver, Refresh, RefreshError, RetryPolicy, RunOutcome, SafetyNet, Trigger,
};
use vwo_webhook_settings::{DEFAULT_POLL_INTERVAL, POLL_JITTER, SdkKey, SettingsStore, VwoSettings};

pub use builder::{ClientBuilder, DEFAULT_READY_TIMEOUT, env};
pub use error::ClientError;
pub use hooks::DecisionInfo;

use crate::engine::{Context, Flag};
use crate::flags::{Explanation, Flags};
use crate::{EventError, Reporter};
use hooks::Hook;

/// Decides VWO feature flags on settings it keeps fresh, and reports what VWO's reports
/// need. Cheap to clone: clones share one client. Dropping the last clone stops its polling
/// and sends what is queued in the background; [`Client::close`] does it and waits.
#[derive(Clone)]
#[must_use = "dropping the last clone of a client stops its polling and reporting"]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    flags: Arc<Flags>,
    settings: VwoSettings,
    backend: Backend,
    coordinator: Coordinator,
    receiver: Option<Receiver>,
    reporter: Reporter,
    hook: Option<Hook>,
    /// `Some(interval)` as configured; `None`: the settings' `pollInterval`, else 10 minutes.
    poll_interval: Option<Option<Duration>>,
    poll: Mutex<Option<SafetyNet>>,
    /// Following the fleet's announcements (with a Redis fleet).
    #[cfg(feature = "redis")]
    following: Mutex<Option<vwo_webhook_redis::FleetHandle>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("account_id", &self.inner.settings.account_id())
            .field("ready", &self.is_ready())
            .field("webhook", &self.inner.receiver.is_some())
            .field("reporting", &self.inner.reporter.is_enabled())
            .field("closed", &self.inner.backend.is_closed())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Starts configuring a client for `account_id`'s settings, fetched with `sdk_key`.
    pub fn builder(account_id: impl Into<String>, sdk_key: SdkKey) -> ClientBuilder {
        ClientBuilder::new(account_id.into(), sdk_key)
    }

    fn assemble(
        flags: Arc<Flags>,
        settings: VwoSettings,
        backend: Backend,
        receiver: Option<Receiver>,
        reporter: Reporter,
        hook: Option<Hook>,
        poll_interval: Option<Option<Duration>>,
    ) -> Self {
        let coordinator = match &receiver {
            Some(receiver) => receiver.coordinator().clone(),
            None => Coordinator::new(backend.clone(), RetryPolicy::default()),
        };
        Self {
            inner: Arc::new(Inner {
                flags,
                settings,
                backend,
                coordinator,
                receiver,
                reporter,
                hook,
                poll_interval,
                poll: Mutex::new(None),
                #[cfg(feature = "redis")]
                following: Mutex::new(None),
            }),
        }
    }

    /// The first fetch, retried until `timeout`; then the poll.
    async fn first_settings(&self, timeout: Duration) -> Result<(), ClientError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut pause = Duration::from_millis(250);
        let last = loop {
            let attempt =
                tokio::time::timeout_at(deadline, self.inner.backend.refresh_now(Trigger::Manual)).await;
            let error = match attempt {
                Ok(Ok(())) => {
                    self.start_polling();
                    return Ok(());
                }
                Ok(Err(error)) => error,
                Err(_) => {
                    break "the settings host had not answered when the ready timeout ran out".to_owned();
                }
            };
            if !error.is_transient() {
                return Err(ClientError::Refused(cause(&error)));
            }
            if self.is_ready() {
                tracing::warn!(%error, "the settings host is unreachable; starting on the cached settings");
                self.start_in_background();
                return Ok(());
            }
            let next = tokio::time::Instant::now() + pause;
            if next >= deadline {
                break cause(&error);
            }
            tokio::time::sleep_until(next).await;
            pause = (pause * 2).min(Duration::from_secs(2));
        };
        if self.is_ready() {
            tracing::warn!(cause = %last, "no fresh settings in time; starting on the cached settings");
            self.start_in_background();
            return Ok(());
        }
        Err(ClientError::Timeout {
            waited: timeout,
            last,
        })
    }

    /// A first fetch through the coordinator (retried as a webhook's refresh is), and the poll.
    fn start_in_background(&self) {
        self.inner.coordinator.trigger(Trigger::Manual);
        self.start_polling();
    }

    /// Starts the safety-net poll, unless it runs or is turned off; with a Redis fleet, starts
    /// following its announcements too.
    fn start_polling(&self) {
        #[cfg(feature = "redis")]
        if let Some(fleet) = &self.inner.backend.fleet {
            let mut following = self
                .inner
                .following
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if following.is_none() && !self.inner.backend.is_closed() {
                *following = Some(fleet.start(&self.inner.coordinator));
            }
        }
        let interval = match self.inner.poll_interval {
            Some(configured) => configured,
            None => Some(self.settings_poll_interval().unwrap_or(DEFAULT_POLL_INTERVAL)),
        };
        let Some(interval) = interval.filter(|i| !i.is_zero()) else {
            return;
        };
        let mut poll = self.inner.poll.lock().unwrap_or_else(PoisonError::into_inner);
        if poll.is_none() && !self.inner.backend.is_closed() {
            *poll = Some(self.inner.coordinator.spawn_safety_net(interval, POLL_JITTER));
        }
    }

    /// The settings' own `pollInterval` (milliseconds), as the SDK reads it.
    fn settings_poll_interval(&self) -> Option<Duration> {
        let snapshot = self.inner.settings.store().current()?;
        let millis = snapshot.document().get("pollInterval")?.as_u64()?;
        (millis > 0).then(|| Duration::from_millis(millis))
    }

    /// Whether settings are held (fetched, or read from the cache file).
    pub fn is_ready(&self) -> bool {
        self.inner.flags.is_ready()
    }

    /// Waits for the first settings, `timeout` at most: for a client built with
    /// [`ClientBuilder::build_in_background`].
    pub async fn wait_until_ready(&self, timeout: Duration) -> Result<(), ClientError> {
        match tokio::time::timeout(timeout, self.inner.flags.wait_until_ready()).await {
            Ok(()) => Ok(()),
            Err(_) => Err(ClientError::Timeout {
                waited: timeout,
                last: self
                    .inner
                    .settings
                    .store()
                    .last_error()
                    .map_or_else(|| "no fetch has finished yet".to_owned(), |e| e.message),
            }),
        }
    }

    /// Fetches the settings now and waits for the outcome (the SDK's `updateSettings()`):
    /// for a change learnt of some other way than VWO's webhook. Coalesces with a refresh
    /// under way. On failure the settings held stay in force.
    pub async fn update_settings(&self) -> Result<(), ClientError> {
        if self.inner.backend.is_closed() {
            return Err(ClientError::Closed);
        }
        match self.inner.coordinator.refresh(Trigger::Manual).await {
            RunOutcome::Refreshed => Ok(()),
            _ => Err(ClientError::Refresh(
                self.inner
                    .settings
                    .store()
                    .last_error()
                    .map_or_else(|| "the refresh did not finish".to_owned(), |e| e.message),
            )),
        }
    }

    /// Sends the events queued so far and waits for them to be settled.
    pub async fn flush(&self) {
        self.inner.reporter.flush().await;
    }

    /// Stops polling and refreshing (a webhook delivery after it gets a 500), sends what is
    /// queued (5 s at most) and stops reporting. Decisions still answer, on the settings held.
    /// Calling it again does nothing.
    pub async fn close(&self) {
        if self.inner.backend.close() {
            return;
        }
        drop(
            self.inner
                .poll
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        #[cfg(feature = "redis")]
        if let Some(following) = self
            .inner
            .following
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            following.stop();
        }
        self.inner.reporter.shutdown().await;
    }

    /// The receiver to mount with an adapter, when webhook secrets were configured
    /// ([`ClientBuilder::webhook_secrets`]): each delivery refreshes this client's settings.
    pub fn receiver(&self) -> Option<&Receiver> {
        self.inner.receiver.as_ref()
    }

    /// The decisions themselves, for what takes a [`Flags`] (the OpenFeature provider).
    pub fn flags(&self) -> &Arc<Flags> {
        &self.inner.flags
    }

    /// The settings held, their age and the last error: for a status page or the probes.
    pub fn settings_store(&self) -> Arc<SettingsStore> {
        self.inner.settings.store()
    }

    /// Decides `feature_key` for the user, reports it as the SDK does, and calls the
    /// decision hook ([`Flags::get_flag`]).
    pub fn get_flag(&self, feature_key: &str, context: &Context) -> Flag {
        let flag = self.inner.flags.get_flag(feature_key, context);
        self.after(feature_key, context, &flag);
        flag
    }

    /// [`Client::get_flag`] with a storage that does I/O ([`Flags::get_flag_async`]).
    pub async fn get_flag_async(&self, feature_key: &str, context: &Context) -> Flag {
        let flag = self.inner.flags.get_flag_async(feature_key, context).await;
        self.after(feature_key, context, &flag);
        flag
    }

    /// The decision hook, if any.
    fn after(&self, feature_key: &str, context: &Context, flag: &Flag) {
        if let Some(hook) = &self.inner.hook {
            let info = DecisionInfo::new(
                feature_key,
                self.inner.flags.feature_id(feature_key),
                context.id(),
                flag,
            );
            hooks::call(hook, &info);
        }
    }

    /// Every feature's decision for the user, by key: to bootstrap a front end. Nothing is
    /// reported and no hook is called, since a page may never show most of these flags:
    /// report the ones shown with [`Client::get_flag`]. Sticky decisions are stored as
    /// `get_flag` stores them.
    pub fn all_flags(&self, context: &Context) -> BTreeMap<String, Flag> {
        self.inner.flags.all_flags(context)
    }

    /// [`Flags::explain`]: the decision and the path to it, reporting nothing.
    pub fn explain(&self, feature_key: &str, context: &Context) -> Explanation {
        self.inner.flags.explain(feature_key, context)
    }

    /// [`Flags::track_event`].
    pub fn track_event(
        &self,
        name: &str,
        context: &Context,
        properties: Map<String, Value>,
    ) -> Result<(), EventError> {
        self.inner.flags.track_event(name, context, properties)
    }

    /// [`Flags::set_attributes`].
    pub fn set_attributes(
        &self,
        attributes: Map<String, Value>,
        context: &Context,
    ) -> Result<(), EventError> {
        self.inner.flags.set_attributes(attributes, context)
    }

    /// [`Flags::set_attribute`].
    pub fn set_attribute(
        &self,
        key: impl Into<String>,
        value: impl Into<Value>,
        context: &Context,
    ) -> Result<(), EventError> {
        self.inner.flags.set_attribute(key, value, context)
    }
}

/// What a failed refresh says, for an error.
fn cause(error: &RefreshError) -> String {
    match std::error::Error::source(error) {
        Some(source) => source.to_string(),
        None => error.to_string(),
    }
}

/// The settings backend as the client runs it (the settings host, or a Redis fleet in front
/// of it): refuses to refresh once the client is closed.
#[derive(Clone)]
struct Backend {
    settings: VwoSettings,
    #[cfg(feature = "redis")]
    fleet: Option<vwo_webhook_redis::RedisFleet>,
    closed: Arc<AtomicBool>,
}

impl Backend {
    fn new(settings: VwoSettings) -> Self {
        Self {
            settings,
            #[cfg(feature = "redis")]
            fleet: None,
            closed: Arc::new(AtomicBool::new(false)),
        }
    }

    #[cfg(feature = "redis")]
    fn fleet(fleet: vwo_webhook_redis::RedisFleet) -> Self {
        Self {
            fleet: Some(fleet.clone()),
            ..Self::new(fleet.settings().clone())
        }
    }

    /// One refresh, the fleet's when there is one.
    async fn refresh_now(&self, trigger: Trigger) -> Result<(), RefreshError> {
        #[cfg(feature = "redis")]
        if let Some(fleet) = &self.fleet {
            return fleet.refresh(trigger).await;
        }
        self.settings.refresh(trigger).await
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Closes it; whether it was closed already.
    fn close(&self) -> bool {
        self.closed.swap(true, Ordering::AcqRel)
    }
}

/// A refresh asked of a closed client.
#[derive(Debug, thiserror::Error)]
#[error("the client is closed")]
struct Closed;

impl Refresh for Backend {
    async fn refresh(&self, trigger: Trigger) -> Result<(), RefreshError> {
        if self.is_closed() {
            return Err(RefreshError::permanent(Closed));
        }
        self.refresh_now(trigger).await
    }
}
