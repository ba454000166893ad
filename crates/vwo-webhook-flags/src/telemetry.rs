//! Metric names, and what each decision and each compiled settings file records.

use crate::flag::{Flag, Reason};
use crate::model::Model;

/// Decisions made, by `reason` (`matched`, `stored`, `no_rule_passed`, `unknown_feature`,
/// `no_settings`, `invalid_settings`).
pub const DECISIONS: &str = "vwo_webhook_flags_decisions_total";

/// Problems found in the current settings file, by `kind`: `segment_error` (a segment the
/// SDK fails on, which decides "disabled") and `bad_regex` (a `regex(..)` that does not compile,
/// which never matches).
pub const SETTINGS_PROBLEMS: &str = "vwo_webhook_flags_settings_problems";

/// Features in the current settings file.
pub const FEATURES: &str = "vwo_webhook_flags_features";

pub(crate) fn reason_label(reason: Reason) -> &'static str {
    match reason {
        Reason::Matched => "matched",
        Reason::Stored => "stored",
        Reason::NoRulePassed => "no_rule_passed",
        Reason::UnknownFeature => "unknown_feature",
        Reason::NoSettings => "no_settings",
        Reason::InvalidSettings => "invalid_settings",
    }
}

pub(crate) fn record_decision(flag: &Flag) {
    metrics::counter!(DECISIONS, "reason" => reason_label(flag.reason())).increment(1);
}

/// Logs the settings' problems once, when they are compiled, and sets the gauges.
pub(crate) fn record_compiled(model: &Model) {
    let report = &model.report;
    if report.crashes > 0 {
        tracing::warn!(
            segments = report.crashes,
            "the settings hold segments the VWO SDK fails on; the flags they guard decide disabled"
        );
    }
    if report.bad_regexes > 0 {
        tracing::warn!(
            regexes = report.bad_regexes,
            "the settings hold regex() segments that do not compile; they never match"
        );
    }
    metrics::gauge!(SETTINGS_PROBLEMS, "kind" => "segment_error").set(report.crashes as f64);
    metrics::gauge!(SETTINGS_PROBLEMS, "kind" => "bad_regex").set(report.bad_regexes as f64);
    metrics::gauge!(FEATURES).set(model.feature_count() as f64);
}

/// Events accepted into the reporting queue.
pub const EVENTS_QUEUED: &str = "vwo_webhook_flags_events_queued_total";

/// Events VWO (or the configured host) accepted.
pub const EVENTS_SENT: &str = "vwo_webhook_flags_events_sent_total";

/// Events sent again after a connection error, a timeout, a 5xx, a 408 or a 429.
pub const EVENTS_RETRIED: &str = "vwo_webhook_flags_events_retried_total";

/// Events given up, by `reason`: `overflow` (the queue was full: the oldest went), `rejected`
/// (the host answered 4xx), `shutdown` (still unsent when the shutdown's time ran out).
pub const EVENTS_DROPPED: &str = "vwo_webhook_flags_events_dropped_total";

/// How long each request took, by `outcome` (`sent`, `rejected`, `failed`), in seconds.
pub const EVENTS_REQUEST_SECONDS: &str = "vwo_webhook_flags_events_request_seconds";

/// Events waiting in the queue.
pub const EVENTS_WAITING: &str = "vwo_webhook_flags_events_waiting";
