//! The metrics the core records, through the `metrics` facade: no exporter is forced on a
//! library user; install one (Prometheus, StatsD...) and they appear. Names and labels are
//! documented in [operations](https://github.com/vwo-webhook/vwo-webhook/blob/main/docs/operations.md); no label ever holds a secret or a payload.

use std::time::Duration;

use metrics::{Key, Label, Level, Metadata};

/// Deliveries answered, by `outcome` (`accepted`, `refused`, `replayed`, `transient_failure`,
/// `permanent_failure`, `timed_out`), `status` and, for refusals, the `check` that refused
/// (`method`, `authentication`, `body_limit`, `body_timeout`, `body`, `payload`).
pub const DELIVERIES: &str = "vwo_webhook_deliveries_total";
/// From a delivery's arrival to its answer, by `outcome`.
pub const DELIVERY_DURATION: &str = "vwo_webhook_delivery_duration_seconds";
/// Backend calls, by `trigger` (`webhook`, `safety_net`, `broadcast`, `manual`) and `result`
/// (`refreshed`, `transient_failure`, `permanent_failure`, `panicked`).
pub const REFRESH_RUNS: &str = "vwo_webhook_refresh_runs_total";
/// How long each backend call took, by `result`.
pub const REFRESH_DURATION: &str = "vwo_webhook_refresh_duration_seconds";
/// Backend calls that retried a transient failure.
pub const REFRESH_RETRIES: &str = "vwo_webhook_refresh_retries_total";
/// How many deliveries each backend call answered (one run covers all that arrived before
/// it started).
pub const COALESCED_DELIVERIES: &str = "vwo_webhook_refresh_coalesced_deliveries";

/// The keys of the hottest answers, built once: a key made at the call (what `counter!` does)
/// allocates and hashes its labels on every delivery, a tenth of a forged delivery's cost.
static FORGED_LABELS: [Label; 3] = [
    Label::from_static_parts("outcome", "refused"),
    Label::from_static_parts("status", "401"),
    Label::from_static_parts("check", "authentication"),
];
static FORGED: Key = Key::from_static_parts(DELIVERIES, &FORGED_LABELS);
static REFUSED_LABELS: [Label; 1] = [Label::from_static_parts("outcome", "refused")];
static REFUSED_DURATION: Key = Key::from_static_parts(DELIVERY_DURATION, &REFUSED_LABELS);
static METADATA: Metadata<'static> = Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

/// Records one answered delivery.
pub(crate) fn delivery(
    outcome: crate::outcome::Outcome,
    status: u16,
    check: Option<&'static str>,
    elapsed: Duration,
) {
    if outcome == crate::outcome::Outcome::Refused && status == 401 && check == Some("authentication") {
        metrics::with_recorder(|recorder| {
            recorder.register_counter(&FORGED, &METADATA).increment(1);
            recorder
                .register_histogram(&REFUSED_DURATION, &METADATA)
                .record(elapsed.as_secs_f64());
        });
        return;
    }
    let (outcome, status) = (outcome.metric_label(), status_label(status));
    match check {
        Some(check) => {
            metrics::counter!(DELIVERIES, "outcome" => outcome, "status" => status, "check" => check)
                .increment(1);
        }
        None => metrics::counter!(DELIVERIES, "outcome" => outcome, "status" => status).increment(1),
    }
    metrics::histogram!(DELIVERY_DURATION, "outcome" => outcome).record(elapsed.as_secs_f64());
}

/// Records one backend call.
pub(crate) fn refresh(
    trigger: &'static str,
    result: &'static str,
    elapsed: Duration,
    retry: bool,
    covered: u64,
) {
    metrics::counter!(REFRESH_RUNS, "trigger" => trigger, "result" => result).increment(1);
    metrics::histogram!(REFRESH_DURATION, "result" => result).record(elapsed.as_secs_f64());
    if retry {
        metrics::counter!(REFRESH_RETRIES).increment(1);
    }
    metrics::histogram!(COALESCED_DELIVERIES).record(covered as f64);
}

/// The status as a label from a fixed set (no allocation per delivery).
fn status_label(status: u16) -> &'static str {
    match status {
        200 => "200",
        202 => "202",
        400 => "400",
        401 => "401",
        405 => "405",
        408 => "408",
        413 => "413",
        500 => "500",
        503 => "503",
        _ => "other",
    }
}
