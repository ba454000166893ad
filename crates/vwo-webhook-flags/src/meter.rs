//! What each decision and each compiled settings file records, and under which names (listed
//! with the reporter's in [`crate::telemetry`]).

use metrics::{Key, Label, Level, Metadata};

use crate::engine::Model;
use crate::engine::{Flag, Reason};

/// Decisions made, by `reason` (`matched`, `stored`, `no_rule_passed`, `unknown_feature`,
/// `no_settings`, `invalid_settings`, `storage_needs_async`, `in_holdout`).
pub const DECISIONS: &str = "vwo_webhook_flags_decisions_total";

/// Problems found in the current settings file, by `kind`: `segment_error` (a segment the
/// SDK fails on, which decides "disabled"), `bad_regex` (a `regex(..)` that does not compile,
/// which never matches), `unbounded_regex` (a `regex(..)` JavaScript runs that has no
/// bounded-cost form here, which never matches either) and `unknown_key` (top-level settings
/// keys this crate does not follow, logged by name once per file).
pub const SETTINGS_PROBLEMS: &str = "vwo_webhook_flags_settings_problems";

/// `regex(..)` tests that ran out of their step budget (a back-reference or lookaround pattern
/// against a value that would make it backtrack without end), each answered "no match".
pub const REGEX_OVER_BUDGET: &str = "vwo_webhook_flags_regex_over_budget_total";

/// Features in the current settings file.
pub const FEATURES: &str = "vwo_webhook_flags_features";

/// One key per reason, built once: a key made at the call is hashed (and its labels
/// allocated) on every decision.
static DECISION_LABELS: [[Label; 1]; 8] = [
    [Label::from_static_parts("reason", "matched")],
    [Label::from_static_parts("reason", "stored")],
    [Label::from_static_parts("reason", "no_rule_passed")],
    [Label::from_static_parts("reason", "unknown_feature")],
    [Label::from_static_parts("reason", "no_settings")],
    [Label::from_static_parts("reason", "invalid_settings")],
    [Label::from_static_parts("reason", "storage_needs_async")],
    [Label::from_static_parts("reason", "in_holdout")],
];

static DECISION_KEYS: [Key; 8] = [
    Key::from_static_parts(DECISIONS, &DECISION_LABELS[0]),
    Key::from_static_parts(DECISIONS, &DECISION_LABELS[1]),
    Key::from_static_parts(DECISIONS, &DECISION_LABELS[2]),
    Key::from_static_parts(DECISIONS, &DECISION_LABELS[3]),
    Key::from_static_parts(DECISIONS, &DECISION_LABELS[4]),
    Key::from_static_parts(DECISIONS, &DECISION_LABELS[5]),
    Key::from_static_parts(DECISIONS, &DECISION_LABELS[6]),
    Key::from_static_parts(DECISIONS, &DECISION_LABELS[7]),
];

static DECISION_METADATA: Metadata<'static> =
    Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

/// Counts a decision under its reason.
pub(crate) fn record_decision(flag: &Flag) {
    let key = &DECISION_KEYS[match flag.reason() {
        Reason::Matched => 0,
        Reason::Stored => 1,
        Reason::NoRulePassed => 2,
        Reason::UnknownFeature => 3,
        Reason::NoSettings => 4,
        Reason::InvalidSettings => 5,
        Reason::StorageNeedsAsync => 6,
        Reason::InHoldout => 7,
    }];
    metrics::with_recorder(|recorder| recorder.register_counter(key, &DECISION_METADATA)).increment(1);
    let over_budget = crate::engine::js::regex::over_budget_total();
    if over_budget > 0 {
        metrics::counter!(REGEX_OVER_BUDGET).absolute(over_budget);
    }
}

/// Logs the settings' problems once, when they are compiled, and sets the gauges.
pub(crate) fn record_compiled(model: &Model) {
    let problems = &model.problems;
    if problems.throwing_segments > 0 {
        tracing::warn!(
            segments = problems.throwing_segments,
            "the settings hold segments the VWO SDK fails on; the flags they guard decide disabled"
        );
    }
    if problems.bad_regexes > 0 {
        tracing::warn!(
            regexes = problems.bad_regexes,
            "the settings hold regex() segments that do not compile; they never match"
        );
    }
    metrics::gauge!(SETTINGS_PROBLEMS, "kind" => "segment_error").set(problems.throwing_segments as f64);
    if problems.unbounded_regexes > 0 {
        tracing::warn!(
            regexes = problems.unbounded_regexes,
            "the settings hold regex() segments that cannot run at a bounded cost here; they never match"
        );
    }
    if !problems.unknown_keys.is_empty() {
        tracing::warn!(
            keys = ?problems.unknown_keys,
            "the settings hold keys this crate does not follow (a VWO feature newer than it?); \
             decisions ignore them"
        );
    }
    metrics::gauge!(SETTINGS_PROBLEMS, "kind" => "unknown_key").set(problems.unknown_keys.len() as f64);
    metrics::gauge!(SETTINGS_PROBLEMS, "kind" => "bad_regex").set(problems.bad_regexes as f64);
    metrics::gauge!(SETTINGS_PROBLEMS, "kind" => "unbounded_regex").set(problems.unbounded_regexes as f64);
    metrics::gauge!(FEATURES).set(model.feature_count() as f64);
}

#[cfg(test)]
mod tests {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    use super::*;

    #[test]
    fn each_decision_is_counted_under_its_reason() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let flags = [
            (Flag::without_settings(), "no_settings"),
            (Flag::for_reason(Reason::NoRulePassed), "no_rule_passed"),
            (Flag::for_reason(Reason::Matched), "matched"),
            (Flag::for_reason(Reason::Stored), "stored"),
            (Flag::for_reason(Reason::UnknownFeature), "unknown_feature"),
            (Flag::invalid_settings(), "invalid_settings"),
            (Flag::storage_needs_async(), "storage_needs_async"),
            (Flag::for_reason(Reason::InHoldout), "in_holdout"),
        ];
        metrics::with_local_recorder(&recorder, || {
            for (i, (flag, _)) in flags.iter().enumerate() {
                // The i-th reason counted i + 1 times.
                for _ in 0..=i {
                    record_decision(flag);
                }
            }
        });
        let mut counted: Vec<(String, u64)> = snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            // Other tests of this process may have exhausted a regex budget.
            .filter(|(key, _, _, _)| key.key().name() != REGEX_OVER_BUDGET)
            .map(|(key, _, _, value)| {
                assert_eq!(key.key().name(), DECISIONS);
                let labels: Vec<String> = key
                    .key()
                    .labels()
                    .map(|l| format!("{}={}", l.key(), l.value()))
                    .collect();
                let DebugValue::Counter(n) = value else {
                    panic!("a counter")
                };
                (labels.join(","), n)
            })
            .collect();
        counted.sort();
        let mut expected: Vec<(String, u64)> = flags
            .iter()
            .enumerate()
            .map(|(i, (_, label))| (format!("reason={label}"), i as u64 + 1))
            .collect();
        expected.sort();
        assert_eq!(counted, expected);
    }

    #[test]
    fn an_exhausted_regex_budget_is_counted_with_the_next_decision() {
        let regex =
            crate::engine::js::regex::JsRegex::new("^(a*)*\\1b$", crate::engine::js::regex::Flags::None)
                .expect("JavaScript accepts it");
        assert!(!regex.test(&"a".repeat(10_000)));
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        metrics::with_local_recorder(&recorder, || record_decision(&Flag::without_settings()));
        let counted = snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .find(|(key, _, _, _)| key.key().name() == REGEX_OVER_BUDGET)
            .map(|(_, _, _, value)| value);
        assert!(
            matches!(counted, Some(DebugValue::Counter(n)) if n >= 1),
            "{counted:?}"
        );
    }

    #[test]
    fn settings_keys_this_crate_does_not_follow_are_counted() {
        let document = serde_json::json!({
            "version": 1, "accountId": 1, "sdkKey": "k", "campaigns": [], "features": [],
            "holdouts": {}, "pollInterval": 60_000, "devMode": true, "isMAU": false, "aNewVwoFeature": {"x": 1},
        });
        let model = Model::compile(&document);
        let mut unknown = model.problems.unknown_keys.clone();
        unknown.sort();
        assert_eq!(unknown, ["aNewVwoFeature"]);
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        metrics::with_local_recorder(&recorder, || record_compiled(&model));
        let gauge = snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .find(|(key, ..)| {
                key.key().name() == SETTINGS_PROBLEMS
                    && key.key().labels().any(|l| l.value() == "unknown_key")
            })
            .map(|(.., value)| value);
        assert_eq!(gauge, Some(DebugValue::Gauge(1.0.into())));
    }
}
