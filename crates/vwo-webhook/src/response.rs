//! Every answer the receiver gives, built in one place so all adapters send the same bytes.

use std::borrow::Cow;

use serde::Serialize;

use crate::coordinator::{RunOutcome, Settled};
use crate::outcome::Outcome;

/// An HTTP answer in framework-neutral form: adapters copy status, headers and body verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    status: u16,
    headers: &'static [(&'static str, &'static str)],
    body: Cow<'static, str>,
}

#[derive(Serialize)]
struct Body<'a> {
    status: &'a str,
    message: &'a str,
}

const JSON: (&str, &str) = ("content-type", "application/json");
/// The headers of a 503: VWO redelivers in a second anyway; say so.
const RETRY: &[(&str, &str)] = &[JSON, ("retry-after", "1")];

/// `{status, message}` as JSON.
fn body(status: &str, message: &str) -> String {
    serde_json::to_string(&Body { status, message }).unwrap_or_default()
}

/// An answer whose words never change: its body is serialized once, at its first use, and
/// shared after (no allocation per delivery on the hot paths).
macro_rules! fixed {
    ($status:expr, $headers:expr, $word:expr, $message:expr) => {{
        static BODY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        Response {
            status: $status,
            headers: $headers,
            body: Cow::Borrowed(BODY.get_or_init(|| body($word, $message)).as_str()),
        }
    }};
}

impl Response {
    fn new(
        status: u16,
        headers: &'static [(&'static str, &'static str)],
        status_word: &str,
        message: &str,
    ) -> Self {
        Self {
            status,
            headers,
            body: Cow::Owned(body(status_word, message)),
        }
    }

    fn error(status: u16, message: &str) -> Self {
        Self::new(status, &[JSON], "error", message)
    }

    fn refreshed() -> Self {
        fixed!(200, &[JSON], "success", "settings refreshed")
    }

    pub(crate) fn already_processed() -> Self {
        fixed!(200, &[JSON], "success", "delivery already processed")
    }

    /// The answer under the immediate ack policy, with the outcome to log.
    pub(crate) fn scheduled() -> (Self, Outcome) {
        (
            fixed!(202, &[JSON], "accepted", "settings refresh scheduled"),
            Outcome::Scheduled,
        )
    }

    /// The answer for a delivery whose covering refresh settled as `settled`, with the outcome
    /// to log: the refresh rows of the status table.
    pub(crate) fn settled(settled: Settled) -> (Self, Outcome) {
        match settled {
            Settled::Done { outcome, .. } => match outcome {
                RunOutcome::Refreshed => (Self::refreshed(), Outcome::Refreshed),
                RunOutcome::Transient => (
                    fixed!(
                        503,
                        RETRY,
                        "error",
                        "settings refresh failed transiently; redeliver"
                    ),
                    Outcome::TransientFailure,
                ),
                RunOutcome::Permanent => (
                    fixed!(500, &[JSON], "error", "settings refresh failed"),
                    Outcome::PermanentFailure,
                ),
                RunOutcome::Panicked => (
                    fixed!(500, &[JSON], "error", "settings refresh failed unexpectedly"),
                    Outcome::Panicked,
                ),
            },
            Settled::TimedOut { retrying: true } => (
                fixed!(
                    503,
                    RETRY,
                    "error",
                    "settings refresh failed transiently and is being retried; redeliver"
                ),
                Outcome::TransientFailure,
            ),
            Settled::TimedOut { retrying: false } => (
                fixed!(503, RETRY, "error", "settings refresh still running; redeliver"),
                Outcome::TimedOut,
            ),
        }
    }

    pub(crate) fn method_not_allowed() -> Self {
        fixed!(
            405,
            &[JSON, ("allow", "POST")],
            "error",
            "method not allowed: VWO webhooks are delivered with POST"
        )
    }

    pub(crate) fn unauthorized() -> Self {
        fixed!(401, &[JSON], "error", "missing or invalid webhook credentials")
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

    /// A probe's answer (`{status, message}`).
    pub(crate) fn probe(status: u16, word: &str, message: &str) -> Self {
        Self::new(status, &[JSON], word, message)
    }

    /// A JSON document of the application's (the probes' status).
    pub(crate) fn json(status: u16, body: String) -> Self {
        Self {
            status,
            headers: &[JSON],
            body: Cow::Owned(body),
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
    pub(crate) fn not_configured() -> Self {
        Self::error(500, "no vwo-webhook receiver is configured for this route")
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

    /// The JSON body when it is one of the fixed answers shared for the life of the process:
    /// adapters can send it without copying.
    pub(crate) fn static_body(&self) -> Option<&'static str> {
        match self.body {
            Cow::Borrowed(body) => Some(body),
            Cow::Owned(_) => None,
        }
    }

    /// The JSON body, owned.
    pub fn into_body(self) -> String {
        self.body.into_owned()
    }

    /// Whether the status is 2xx (VWO will not redeliver).
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_answers_are_the_same_bytes_as_built_ones() {
        let fixed = Response::unauthorized();
        let built = Response::new(401, &[JSON], "error", "missing or invalid webhook credentials");
        assert_eq!(fixed, built);
        assert_eq!(
            Response::method_not_allowed().body(),
            r#"{"status":"error","message":"method not allowed: VWO webhooks are delivered with POST"}"#
        );
        // Twice: the second comes from the shared copy.
        assert_eq!(
            Response::refreshed().into_body(),
            Response::refreshed().into_body()
        );
    }
}
