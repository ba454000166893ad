//! Every answer the receiver gives, built in one place so all adapters send the same bytes.

use serde::Serialize;

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

    pub(crate) fn refreshed() -> Self {
        Self::new(200, &[JSON], "success", "settings refreshed")
    }

    pub(crate) fn already_processed() -> Self {
        Self::new(200, &[JSON], "success", "delivery already processed")
    }

    pub(crate) fn accepted() -> Self {
        Self::new(202, &[JSON], "accepted", "settings refresh scheduled")
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

    pub(crate) fn bad_request(message: &str) -> Self {
        Self::error(400, message)
    }

    pub(crate) fn retry_later(message: &str) -> Self {
        Self::new(503, &[JSON, ("retry-after", "1")], "error", message)
    }

    /// The answer when an adapter's extractor finds no [`Receiver`](crate::Receiver) in the
    /// application (a wiring mistake): 500, so VWO redelivers once the application is fixed.
    pub fn not_configured() -> Self {
        Self::error(500, "no vwo-webhook receiver is configured for this route")
    }

    pub(crate) fn failed(message: &str) -> Self {
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
