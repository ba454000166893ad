//! VWO's MEG advanced settings (the e2e fixture) and the users the benchmarks decide on it:
//! one draw shared by the wall-clock benchmark and the instruction-count guard, so both
//! measure the same decisions.

use fastrand::Rng;
use serde_json::{Value, json};

/// The fixture's settings (read relative to this file, whichever crate includes it).
pub(crate) fn settings() -> Value {
    serde_json::from_str(include_str!(
        "../../testdata/vwo-e2e/settings/MegAdvanceAlgoCampaignSettings.json"
    ))
    .expect("the MEG fixture is JSON")
}

/// `settings` with two holdouts that apply to every feature (10% of users each; the second
/// reads a custom variable): the current SDK evaluates both before any rule.
pub(crate) fn with_two_holdouts(settings: &Value) -> Value {
    let mut settings = settings.clone();
    settings["holdouts"] = json!([
        {"id": 31, "name": "h1", "segments": {}, "percentTraffic": 10, "isGlobal": true,
         "featureIds": [], "metrics": []},
        {"id": 32, "name": "h2", "segments": {"or": [{"custom_variable": {"price": "wildcard(*)"}}]},
         "percentTraffic": 10, "isGlobal": true, "featureIds": [], "metrics": []},
    ]);
    settings
}

/// `count` (feature key, SDK context) pairs: a random feature of `settings`, and a user with
/// the variables the MEG segments read.
pub(crate) fn cases(rng: &mut Rng, settings: &Value, count: usize) -> Vec<(String, Value)> {
    let keys = feature_keys(settings);
    (0..count)
        .map(|i| {
            let feature = keys[rng.usize(0..keys.len())].clone();
            let price = [100, 200, 50][rng.usize(0..3)];
            let name = ["personalise", "other"][rng.usize(0..2)];
            let context = json!({"id": format!("user-{i}"), "customVariables": {"price": price, "name": name, "firstname": "testingRule2"}});
            (feature, context)
        })
        .collect()
}

/// The keys of a settings file's features, in order.
pub(crate) fn feature_keys(settings: &Value) -> Vec<String> {
    settings["features"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["key"].as_str().map(str::to_owned))
        .collect()
}
