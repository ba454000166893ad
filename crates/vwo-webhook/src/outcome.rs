//! What a delivery ends in, named once: the label its span records and the one the
//! deliveries metric counts, so the two never disagree.

/// How a delivery was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// A refresh that started after it arrived succeeded (200).
    Refreshed,
    /// A refresh was scheduled and it was answered at once (202, the immediate ack policy).
    Scheduled,
    /// The refresh failed transiently, or is retrying: redeliver (503).
    TransientFailure,
    /// The refresh was still running when the wait ended (503).
    TimedOut,
    /// The refresh failed permanently (500).
    PermanentFailure,
    /// The refresh panicked (500).
    Panicked,
    /// A redelivery of one already acknowledged (200, nothing done).
    Replayed,
    /// A check refused it (401, 400, 405, 408, 413, ...).
    Refused,
}

impl Outcome {
    /// The span's `outcome` field.
    pub(crate) fn span_label(self) -> &'static str {
        match self {
            Outcome::Refreshed => "refreshed",
            Outcome::Scheduled => "scheduled",
            Outcome::TransientFailure => "transient_failure",
            Outcome::TimedOut => "timed_out",
            Outcome::PermanentFailure => "permanent_failure",
            Outcome::Panicked => "panicked",
            Outcome::Replayed => "replayed",
            Outcome::Refused => "refused",
        }
    }

    /// The deliveries metric's `outcome` label: a refresh or a schedule is `accepted`, a
    /// panic counts as a permanent failure (its span says which).
    pub(crate) fn metric_label(self) -> &'static str {
        match self {
            Outcome::Refreshed | Outcome::Scheduled => "accepted",
            Outcome::Panicked => "permanent_failure",
            other => other.span_label(),
        }
    }
}

/// A check that refused a delivery: the answer, the check's name (the metric's `check`
/// label) and the reason to log, which never holds a secret.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub(crate) response: crate::Response,
    pub(crate) check: &'static str,
    pub(crate) reason: Reason,
}

impl Refusal {
    pub(crate) fn new(response: crate::Response, check: &'static str, reason: impl Into<Reason>) -> Self {
        Self {
            response,
            check,
            reason: reason.into(),
        }
    }
}

/// Why a check refused, written out only when a log event is: a forged delivery costs no
/// formatting unless its warning is logged.
pub(crate) enum Reason {
    Static(&'static str),
    Text(String),
    Verify(crate::verify::VerifyError),
}

impl From<&'static str> for Reason {
    fn from(text: &'static str) -> Self {
        Reason::Static(text)
    }
}

impl From<String> for Reason {
    fn from(text: String) -> Self {
        Reason::Text(text)
    }
}

impl From<crate::verify::VerifyError> for Reason {
    fn from(error: crate::verify::VerifyError) -> Self {
        Reason::Verify(error)
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::Static(text) => f.write_str(text),
            Reason::Text(text) => f.write_str(text),
            Reason::Verify(error) => std::fmt::Display::fmt(error, f),
        }
    }
}

/// Quoted, as a text field is logged.
impl std::fmt::Debug for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::Static(text) => std::fmt::Debug::fmt(text, f),
            Reason::Text(text) => std::fmt::Debug::fmt(text, f),
            Reason::Verify(error) => std::fmt::Debug::fmt(&error.to_string(), f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metric_counts_what_the_span_says_apart_from_success_and_panics() {
        let all = [
            Outcome::Refreshed,
            Outcome::Scheduled,
            Outcome::TransientFailure,
            Outcome::TimedOut,
            Outcome::PermanentFailure,
            Outcome::Panicked,
            Outcome::Replayed,
            Outcome::Refused,
        ];
        let metric: Vec<&str> = all.iter().map(|o| o.metric_label()).collect();
        assert_eq!(
            metric,
            [
                "accepted",
                "accepted",
                "transient_failure",
                "timed_out",
                "permanent_failure",
                "permanent_failure",
                "replayed",
                "refused"
            ]
        );
        assert_eq!(Outcome::Refused.span_label(), Outcome::Refused.metric_label());
    }
}
