//! The handle decisions report through: a push onto the queue, and the task behind it.

use std::sync::{Arc, Mutex, PoisonError};

use tokio::task::JoinHandle;

use crate::events::config::{ConfigError, ReportingConfig};
use crate::events::dispatcher::{self, Sender, Shared};
use crate::events::payload::{Identity, Pending};

/// What a reporter has done so far (the same counts as its metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReportingStats {
    /// Events accepted into the queue.
    pub queued: u64,
    /// Events the host accepted.
    pub sent: u64,
    /// Sends of an event that failed and were tried again.
    pub retried: u64,
    /// Events dropped because the queue was full (the oldest go).
    pub dropped_overflow: u64,
    /// Events the host refused with a 4xx.
    pub dropped_rejected: u64,
    /// Events refused after a shutdown, or unsent when its time ran out.
    pub dropped_shutdown: u64,
    /// Events waiting now.
    pub waiting: usize,
}

/// Sends impressions and events to VWO, in the background, as the SDK does.
///
/// Cheap to clone; every clone feeds the same queue. [`Reporter::disabled`] reports
/// nothing. When the last clone is dropped the task sends what is queued (for the
/// shutdown timeout at most) and stops; [`Reporter::shutdown`] does the same and waits.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use vwo_webhook_flags::{Flags, Reporter, ReportingConfig};
/// use vwo_webhook_settings::SdkKey;
///
/// let reporter = Reporter::start(ReportingConfig::new("123456", SdkKey::new("sdk-key")))?;
/// let flags = Flags::builder().reporter(reporter.clone()).build();
/// // ... decide flags; impressions are queued ...
/// reporter.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct Reporter {
    inner: Option<Arc<Inner>>,
}

struct Inner {
    shared: Arc<Shared>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shared.close();
    }
}

impl std::fmt::Debug for Reporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reporter")
            .field("enabled", &self.is_enabled())
            .field("waiting", &self.waiting())
            .finish()
    }
}

impl Reporter {
    /// Starts reporting as `config` says, on a task of the current tokio runtime.
    pub fn start(config: ReportingConfig) -> Result<Self, ConfigError> {
        if config.account_id.is_empty() {
            return Err(ConfigError::NoAccountId);
        }
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| ConfigError::NoRuntime)?;
        config.hostname()?;
        let identity = Identity {
            account_id: config.account_id.clone(),
            sdk_key: config.sdk_key.clone(),
            namespace: crate::engine::account_namespace(&config.account_id),
        };
        let shared = Arc::new(Shared::new(&config));
        let sender = Sender::new(config, identity).map_err(|_| ConfigError::Client)?;
        let task = runtime.spawn(dispatcher::run(Arc::clone(&shared), sender));
        Ok(Self {
            inner: Some(Arc::new(Inner {
                shared,
                task: Mutex::new(Some(task)),
            })),
        })
    }

    /// Reports nothing: reporting turned off.
    pub fn disabled() -> Self {
        Self { inner: None }
    }

    /// Whether events are reported.
    pub fn is_enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// Events waiting to be sent.
    pub fn waiting(&self) -> usize {
        self.inner.as_ref().map_or(0, |inner| inner.shared.queue().len())
    }

    /// What this reporter has done so far.
    pub fn stats(&self) -> ReportingStats {
        let Some(inner) = &self.inner else {
            return ReportingStats::default();
        };
        let (counts, waiting) = {
            let queue = inner.shared.queue();
            (queue.counts, queue.len())
        };
        ReportingStats {
            queued: counts.queued,
            sent: counts.sent,
            retried: counts.retried,
            dropped_overflow: counts.overflow,
            dropped_rejected: counts.rejected,
            dropped_shutdown: counts.shutdown,
            waiting,
        }
    }

    pub(crate) fn push(&self, events: impl IntoIterator<Item = Pending>) {
        if let Some(inner) = &self.inner {
            inner.shared.push(events);
        }
    }

    /// Sends everything queued so far now, and waits until it is sent, refused by the host,
    /// or dropped. While the host is unreachable that waits for it: bound it with
    /// `tokio::time::timeout` if needed.
    pub async fn flush(&self) {
        let Some(inner) = &self.inner else { return };
        let shared = &inner.shared;
        let target = shared.queue().flush();
        shared.wake.notify_one();
        loop {
            let settled = shared.settled.notified();
            if shared.queue().settled_below() >= target {
                return;
            }
            // Also looked at now and then: a drop of the oldest settles without a wake-up.
            let _ = tokio::time::timeout(std::time::Duration::from_millis(100), settled).await;
        }
    }

    /// Stops taking events, sends what is queued (for the configured shutdown timeout at
    /// most; the rest is dropped and counted), and waits for the task to end.
    pub async fn shutdown(&self) {
        let Some(inner) = &self.inner else { return };
        inner.shared.close();
        let task = inner.task.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vwo_webhook_settings::SdkKey;

    #[test]
    fn starting_needs_a_runtime_and_an_account() {
        let config = || ReportingConfig::new("123456", SdkKey::new("k"));
        assert!(matches!(Reporter::start(config()), Err(ConfigError::NoRuntime)));
        assert!(matches!(
            Reporter::start(ReportingConfig::new("", SdkKey::new("k"))),
            Err(ConfigError::NoAccountId)
        ));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let _inside = runtime.enter();
        assert!(matches!(
            Reporter::start(config().base_url("ftp://x")),
            Err(ConfigError::BadUrl(_))
        ));
        assert!(Reporter::start(config()).is_ok_and(|r| r.is_enabled()));
    }
}
