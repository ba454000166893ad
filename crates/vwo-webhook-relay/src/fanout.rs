//! Telling the services: after each change the relay posts VWO's notice to every target with
//! the target's own `x-vwo-auth` key, and retries the way VWO does (every 1-2 s, for up to an
//! hour). Each target has its own task, so a slow or dead one never delays the others; a newer
//! notice replaces one still being retried (the target needs the latest, once).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde::Serialize;
use tokio::sync::watch;
use vwo_webhook::{Action, Event, Secret, SettingsChanged, VWO_AUTH_HEADER};

use crate::config::TargetConfig;

/// Counter of notices, by environment, target and outcome (`delivered`, `failed`: one
/// attempt, `given_up`).
pub const NOTICES: &str = "vwo_relay_notices_total";

/// When a target is asked again. VWO's own schedule by default.
#[derive(Debug, Clone, Copy)]
pub struct NoticeSchedule {
    /// The shortest wait between attempts.
    pub min_wait: Duration,
    /// The longest wait between attempts (each wait is drawn between the two).
    pub max_wait: Duration,
    /// How long a notice is retried before the target is given up on (until the next one).
    pub give_up_after: Duration,
    /// How long one attempt may take.
    pub attempt_timeout: Duration,
}

impl Default for NoticeSchedule {
    fn default() -> Self {
        Self {
            min_wait: Duration::from_secs(1),
            max_wait: Duration::from_secs(2),
            give_up_after: Duration::from_secs(60 * 60),
            attempt_timeout: Duration::from_secs(10),
        }
    }
}

impl NoticeSchedule {
    fn wait(&self) -> Duration {
        let spread = self.max_wait.saturating_sub(self.min_wait);
        self.min_wait + spread.mul_f64(fastrand::f64())
    }
}

/// What the status tells of a target.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TargetStatus {
    /// Its name.
    pub name: String,
    /// Notices it answered 2xx.
    pub delivered: u64,
    /// Attempts that failed.
    pub failed_attempts: u64,
    /// Notices given up on after the schedule's limit.
    pub given_up: u64,
    /// Whether a notice is still being retried.
    pub pending: bool,
    /// The last attempt's outcome (`200`, `503`, `connection refused`...).
    pub last_outcome: Option<String>,
    /// When it last took a notice (Unix seconds).
    pub last_delivered_unix: Option<u64>,
}

/// The targets of one environment.
#[derive(Debug)]
pub(crate) struct FanOut {
    notices: watch::Sender<Option<Bytes>>,
    statuses: Vec<Arc<Mutex<TargetStatus>>>,
}

impl FanOut {
    /// Starts one task per target on the current runtime. They stop when the `FanOut` is
    /// dropped.
    pub(crate) fn start(
        environment: &str,
        targets: &[TargetConfig],
        client: &reqwest::Client,
        schedule: NoticeSchedule,
    ) -> Self {
        let (notices, _) = watch::channel(None);
        let statuses = targets
            .iter()
            .map(|target| {
                let status = Arc::new(Mutex::new(TargetStatus {
                    name: target.name.clone(),
                    ..TargetStatus::default()
                }));
                let task = Target {
                    environment: environment.to_owned(),
                    name: target.name.clone(),
                    url: target.url.clone(),
                    key: target.key.clone(),
                    client: client.clone(),
                    schedule,
                    status: Arc::clone(&status),
                };
                tokio::spawn(task.run(notices.subscribe()));
                status
            })
            .collect();
        Self { notices, statuses }
    }

    /// Tells every target of `notice` (VWO's, or one the relay made for a change it found).
    pub(crate) fn notify(&self, notice: &SettingsChanged) {
        self.notices.send_replace(Some(Bytes::from(notice_json(notice))));
    }

    /// Each target's status.
    pub(crate) fn statuses(&self) -> Vec<TargetStatus> {
        self.statuses.iter().map(|status| lock(status).clone()).collect()
    }
}

fn lock(status: &Mutex<TargetStatus>) -> std::sync::MutexGuard<'_, TargetStatus> {
    status.lock().unwrap_or_else(PoisonError::into_inner)
}

/// VWO's notice as VWO sends it.
pub(crate) fn notice_json(notice: &SettingsChanged) -> Vec<u8> {
    let mut body = serde_json::Map::new();
    body.insert("timestamp".into(), notice.timestamp.into());
    body.insert("event".into(), notice.event.as_str().into());
    if let Some(action) = &notice.action {
        body.insert("action".into(), action.as_str().into());
    }
    if let Some(by) = &notice.triggered_by {
        body.insert("triggered_by".into(), by.as_str().into());
    }
    serde_json::Value::Object(body).to_string().into_bytes()
}

/// The notice for a change the relay found itself (its poll): what VWO would have sent.
pub(crate) fn found_change() -> SettingsChanged {
    SettingsChanged {
        timestamp: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or_default(),
        event: Event::SettingsChanged,
        action: Some(Action::CampaignSettingsChanged),
        triggered_by: Some("vwo-webhook-relay".to_owned()),
    }
}

struct Target {
    environment: String,
    name: String,
    url: reqwest::Url,
    key: Secret,
    client: reqwest::Client,
    schedule: NoticeSchedule,
    status: Arc<Mutex<TargetStatus>>,
}

impl Target {
    async fn run(self, mut notices: watch::Receiver<Option<Bytes>>) {
        while notices.changed().await.is_ok() {
            let Some(mut notice) = notices.borrow_and_update().clone() else {
                continue;
            };
            let mut deadline = tokio::time::Instant::now() + self.schedule.give_up_after;
            lock(&self.status).pending = true;
            loop {
                if self.attempt(&notice).await {
                    break;
                }
                if tokio::time::Instant::now() >= deadline {
                    lock(&self.status).given_up += 1;
                    self.count("given_up");
                    tracing::warn!(environment = %self.environment, target = %self.name, "gave up telling a target of a settings change");
                    break;
                }
                tokio::select! {
                    () = tokio::time::sleep(self.schedule.wait()) => {}
                    changed = notices.changed() => {
                        if changed.is_err() {
                            return;
                        }
                        if let Some(newer) = notices.borrow_and_update().clone() {
                            notice = newer;
                            deadline = tokio::time::Instant::now() + self.schedule.give_up_after;
                        }
                    }
                }
            }
            lock(&self.status).pending = false;
        }
    }

    /// One post; whether the target took it.
    async fn attempt(&self, notice: &Bytes) -> bool {
        let sent = self
            .client
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(
                VWO_AUTH_HEADER,
                String::from_utf8_lossy(self.key.expose()).into_owned(),
            )
            .timeout(self.schedule.attempt_timeout)
            .body(notice.clone())
            .send()
            .await;
        let (took, outcome) = match sent {
            Ok(response) => (
                response.status().is_success(),
                response.status().as_u16().to_string(),
            ),
            // Without the URL: its query may hold a token.
            Err(error) => (false, failure_kind(&error).to_owned()),
        };
        let mut status = lock(&self.status);
        status.last_outcome = Some(outcome.clone());
        if took {
            status.delivered += 1;
            status.last_delivered_unix = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .ok()
                .map(|d| d.as_secs());
            drop(status);
            self.count("delivered");
            tracing::debug!(environment = %self.environment, target = %self.name, "a target took the notice");
        } else {
            status.failed_attempts += 1;
            drop(status);
            self.count("failed");
            tracing::debug!(environment = %self.environment, target = %self.name, %outcome, "a target did not take the notice; retrying");
        }
        took
    }

    fn count(&self, outcome: &'static str) {
        metrics::counter!(NOTICES, "environment" => self.environment.clone(), "target" => self.name.clone(), "outcome" => outcome)
            .increment(1);
    }
}

/// What went wrong with a request, in words that name no URL.
pub(crate) fn failure_kind(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else {
        "request failed"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_is_sent_as_vwo_sends_it() {
        let body = br#"{"timestamp":1606482285,"event":"settings_changed","action":"campaign_settings_changed","triggered_by":"vwo"}"#;
        let notice = SettingsChanged::from_slice(body).expect("valid");
        let sent: serde_json::Value = serde_json::from_slice(&notice_json(&notice)).expect("json");
        let original: serde_json::Value = serde_json::from_slice(body).expect("json");
        assert_eq!(sent, original);
        assert_eq!(found_change().triggered_by.as_deref(), Some("vwo-webhook-relay"));
    }

    #[test]
    fn waits_are_within_the_schedule() {
        let schedule = NoticeSchedule::default();
        for _ in 0..100 {
            let wait = schedule.wait();
            assert!(wait >= schedule.min_wait && wait <= schedule.max_wait, "{wait:?}");
        }
    }
}
