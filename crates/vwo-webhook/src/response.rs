//! Every answer the receiver gives, built in one place so all adapters send the same bytes.

use serde::Serialize;

use crate::coordinator::{RunOutcome, Settled};

/// An HTTP answer in framework-neutral form: adapters copy status, headers and body verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    status: u16,
    headers: &'static [(&'static str, &'static str)],
    body: String,
}

#[derive(Serialize)]
struct Body<'a> {
    status: &'a str,
    message: &'a str,
}

const JSON: (&str, &str) = ("content-type", "application/json");

impl Response {
    fn new(
        status: u16,
        headers: &'static [(&'static str, &'static str)],
        status_word: &str,
        message: &str,
    ) -> Self {
        let body = serde_json::to_string(&Body {
            status: status_word,
            message,
        })
        .unwrap_or_default();
        Self {
            status,
            headers,
            body,
        }
    }

    fn error(status: u16, message: &str) -> Self {
        Self::new(status, &[JSON], "error", message)
    }

    fn refreshed() -> Self {
        Self::new(200, &[JSON], "success", "settings refreshed")
    }

    pub(crate) fn already_processed() -> Self {
        Self::new(200, &[JSON], "success", "delivery already processed")
    }

    /// The answer under the immediate ack policy, with the outcome to log.
    pub(crate) fn scheduled() -> (Self, &'static str) {
        (
            Self::new(202, &[JSON], "accepted", "settings refresh scheduled"),
            "scheduled",
        )
    }

    /// The answer for a delivery whose covering refresh settled as `settled`, with the outcome
    /// to log: the refresh rows of the status table.
    pub(crate) fn settled(settled: Settled) -> (Self, &'static str) {
        match settled {
            Settled::Done { outcome, .. } => match outcome {
                RunOutcome::Refreshed => (Self::refreshed(), "refreshed"),
                RunOutcome::Transient => (
                    Self::retry_later("settings refresh failed transiently; redeliver"),
                    "transient_failure",
                ),
                RunOutcome::Permanent => (Self::failed("settings refresh failed"), "permanent_failure"),
                RunOutcome::Panicked => (Self::failed("settings refresh failed unexpectedly"), "panicked"),
            },
            Settled::TimedOut { retrying: true } => (
                Self::retry_later("settings refresh failed transiently and is being retried; redeliver"),
                "transient_failure",
            ),
            Settled::TimedOut { retrying: false } => (
                Self::retry_later("settings refresh still running; redeliver"),
                "timed_out",
            ),
        }
    }

    pub(crate) fn method_not_allowed() -> Self {
        Self::new(
            405,
            &[JSON, ("allow", "POST")],
            "error",
            "method not allowed: VWO webhooks are delivered with POST",
        )
    }

    pub(crate) fn unauthorized() -> Self {
        Self::error(401, "missing or invalid webhook credentials")
    }

    pub(crate) fn payload_too_large(limit: usize) -> Self {
        Self::error(413, &format!("payload too large: the limit is {limit} bytes"))
    }

    /// 408, closing the connection: the body did not arrive within `timeout`.
    pub(crate) fn body_timeout(timeout: std::time::Duration) -> Self {
        Self::new(
            408,
            &[JSON, ("connection", "close")],
            "error",
            &format!(
                "request timeout: the body did not arrive within {} ms",
                timeout.as_millis()
            ),
        )
    }

    pub(crate) fn bad_request(message: &str) -> Self {
        Self::error(400, message)
    }

    fn retry_later(message: &str) -> Self {
        Self::new(503, &[JSON, ("retry-after", "1")], "error", message)
    }

    /// A probe's answer (`{status, message}`).
    pub(crate) fn probe(status: u16, word: &str, message: &str) -> Self {
        Self::new(status, &[JSON], word, message)
    }

    /// A JSON document of the application's (the probes' status).
    pub(crate) fn json(status: u16, body: String) -> Self {
        Self {
            status,
            headers: &[JSON],
            body,
        }
    }

    pub(crate) fn probe_method_not_allowed() -> Self {
        Self::new(
            405,
            &[JSON, ("allow", "GET, HEAD")],
            "error",
            "method not allowed: probes answer GET and HEAD",
        )
    }

    /// The answer when an adapter's extractor finds no [`Receiver`](crate::Receiver) in the
    /// application (a wiring mistake): 500, so VWO redelivers once the application is fixed.
    pub fn not_configured() -> Self {
        Self::error(500, "no vwo-webhook receiver is configured for this route")
    }

    fn failed(message: &str) -> Self {
        Self::error(500, message)
    }

    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The headers to send, names in lowercase; always includes `content-type`.
    pub fn headers(&self) -> &'static [(&'static str, &'static str)] {
        self.headers
    }

    /// The JSON body: `{"status": "success"|"accepted"|"error", "message": "..."}`.
    pub fn body(&self) -> &str {
        &self.body
    }

    /// The JSON body, owned.
    pub fn into_body(self) -> String {
        self.body
    }

    /// Whether the status is 2xx (VWO will not redeliver).
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}
