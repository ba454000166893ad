//! VWO's shared SDK end-to-end cases (`testdata/vwo-e2e`, Apache-2.0), each its own test: the
//! 29 `getFlag` cases (run as the Node SDK's `test/e2e/GetFlag.test.ts` runs them, storage
//! included) and the 334 segmentation cases (`SegmentEvaluator.isSegmentationValid`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::{Value, json};
use vwo_webhook_flags::{Context, Flags, Storage, StoredDecision, evaluate_segment};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/vwo-e2e")
}

fn read(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The constants the cases name their settings by (`index.js`).
fn settings(name: &str) -> Value {
    let file = match name {
        "BASIC_ROLLOUT_SETTINGS" => "OnlyRolloutSettings",
        "BASIC_ROLLOUT_TESTING_RULE_SETTINGS" => "RolloutAndTestingSettings",
        "NO_ROLLOUT_ONLY_TESTING_RULE_SETTINGS" => "NoRolloutAndOnlyTestingSettings",
        "ROLLOUT_TESTING_PRE_SEGMENT_RULE_SETTINGS" => "RolloutAndTestingSettingsWithPreSegment",
        "TESTING_WHITELISTING_SEGMENT_RULE_SETTINGS" => "SettingsWithWhitelisting",
        "MEG_CAMPAIGN_RANDOM_ALGO_SETTINGS" => "MegRandomAlgoCampaignSettings",
        "MEG_CAMPAIGN_ADVANCE_ALGO_SETTINGS" => "MegAdvanceAlgoCampaignSettings",
        "SETTINGS_WITH_SAME_SALT" => "SettingsWithSameSalt",
        "SETTINGS_WITH_DIFFERENT_SALT" => "SettingsWithDifferentSalt",
        other => panic!("unknown settings constant {other}"),
    };
    read(&data().join("settings").join(format!("{file}.json")))
}

/// The e2e suite's `StorageMap`: keeps only the four fields it was written with, so a stored
/// rollout (without its id) is decided again, as in VWO's run.
#[derive(Default)]
struct StorageMap(Mutex<HashMap<String, StoredDecision>>);

impl Storage for StorageMap {
    fn get(&self, key: &str, user_id: &str) -> Option<StoredDecision> {
        self.0
            .lock()
            .expect("lock")
            .get(&format!("{key}_{user_id}"))
            .cloned()
    }

    fn set(&self, key: &str, user_id: &str, decision: StoredDecision) {
        let kept = StoredDecision {
            rollout_key: decision.rollout_key,
            rollout_variation_id: decision.rollout_variation_id,
            experiment_key: decision.experiment_key,
            experiment_variation_id: decision.experiment_variation_id,
            ..StoredDecision::default()
        };
        self.0
            .lock()
            .expect("lock")
            .insert(format!("{key}_{user_id}"), kept);
    }
}

/// Cases whose expectation vwo-fme-node-sdk 1.35.0 itself does not meet: its suite runs them
/// inside `forEach(async ..)`, where a failed `expect` goes unnoticed. `lt(100)` against "abc"
/// compares versions, and "abc" counts as 0, so the SDK answers true. We answer as the SDK
/// does; `tests/differential.rs` runs every segmentation case through the SDK to show it.
const SDK_ANSWERS_OTHERWISE: [&str; 2] = [
    "less_than_operator::is_less_than_operator_string_fail",
    "less_than_equal_to_operator::is_less_than_equal_to_operator_string_fail",
];

fn check(condition: bool, message: impl FnOnce() -> String) -> Result<(), Failed> {
    if condition { Ok(()) } else { Err(message().into()) }
}

fn get_flag_case(case: &Value, storage: Option<Arc<StorageMap>>) -> Result<(), Failed> {
    let mut flags = Flags::builder();
    if let Some(storage) = &storage {
        flags = flags.storage(storage.clone());
    }
    let flags = flags
        .document(&settings(case["settings"].as_str().unwrap_or_default()))
        .build();
    let context = Context::from_sdk_json(&case["context"]).map_err(|e| e.to_string())?;
    let feature = case["featureKey"].as_str().unwrap_or_default();
    let expected = &case["expectation"];
    if let Some(storage) = &storage {
        check(storage.get(feature, context.id()).is_none(), || {
            "storage not empty before the case".into()
        })?;
    }
    let flag = flags.get_flag(feature, &context);
    check(
        flag.is_enabled() == expected["isEnabled"].as_bool().unwrap_or(false),
        || {
            format!(
                "enabled: got {}, expected {}",
                flag.is_enabled(),
                expected["isEnabled"]
            )
        },
    )?;
    let variables: Vec<Value> = flag
        .variables()
        .iter()
        .map(vwo_webhook_flags::Variable::to_json)
        .collect();
    let wanted: Vec<Value> = if expected["isEnabled"] == json!(true) {
        vec![
            json!({"id": 1, "type": "integer", "key": "int", "value": expected["intVariable"]}),
            json!({"id": 2, "type": "double", "key": "float", "value": expected["floatVariable"]}),
            json!({"id": 3, "type": "string", "key": "string", "value": expected["stringVariable"]}),
            json!({"id": 4, "type": "boolean", "key": "boolean", "value": expected["booleanVariable"]}),
            json!({"id": 5, "type": "json", "key": "json", "value": expected["jsonVariable"]}),
        ]
    } else {
        Vec::new()
    };
    check(variables == wanted, || {
        format!("variables: got {variables:?}, expected {wanted:?}")
    })?;
    check(
        flag.int_variable("int", 1) == expected["intVariable"].as_i64().unwrap_or(-1),
        || "int".into(),
    )?;
    check(
        flag.string_variable("string", "VWO") == expected["stringVariable"].as_str().unwrap_or_default(),
        || "string".into(),
    )?;
    check(
        flag.float_variable("float", 1.1) == expected["floatVariable"].as_f64().unwrap_or(f64::NAN),
        || "float".into(),
    )?;
    check(
        flag.bool_variable("boolean", false) == expected["booleanVariable"].as_bool().unwrap_or(true),
        || "boolean".into(),
    )?;
    check(
        flag.json_variable("json", json!({})) == expected["jsonVariable"],
        || "json".into(),
    )?;
    if let Some(storage) = &storage {
        let stored = storage.get(feature, context.id()).unwrap_or_default();
        let wanted = &expected["storageData"];
        let field = |v: &Option<Value>| v.clone().unwrap_or(Value::Null);
        let got = json!({
            "rolloutKey": field(&stored.rollout_key),
            "rolloutVariationId": field(&stored.rollout_variation_id),
            "experimentKey": field(&stored.experiment_key),
            "experimentVariationId": field(&stored.experiment_variation_id),
        });
        for key in [
            "rolloutKey",
            "rolloutVariationId",
            "experimentKey",
            "experimentVariationId",
        ] {
            check(got[key] == wanted[key], || {
                format!("stored {key}: got {}, expected {}", got[key], wanted[key])
            })?;
        }
    }
    Ok(())
}

/// `runSaltTests`: two features' variables are equal for every user when their rules share a
/// salt, and differ for every user when they do not.
fn salt_case(case: &Value) -> Result<(), Failed> {
    let flags = Flags::from_document(&settings(case["settings"].as_str().unwrap_or_default()));
    let same = case["expectation"]["shouldReturnSameVariation"]
        .as_bool()
        .unwrap_or(false);
    for id in case["context"]["id"].as_array().into_iter().flatten() {
        let context = Context::new(id.as_str().unwrap_or_default()).map_err(|e| e.to_string())?;
        let first = flags.get_flag(case["featureKey"].as_str().unwrap_or_default(), &context);
        let second = flags.get_flag(case["featureKey_2"].as_str().unwrap_or_default(), &context);
        check((first.variables() == second.variables()) == same, || {
            format!(
                "user {id}: variables {:?} vs {:?}",
                first.variables(),
                second.variables()
            )
        })?;
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let mut trials = Vec::new();
    let get_flag = read(&data().join("getflag-cases.json"));
    for (group, cases) in get_flag.as_object().into_iter().flatten() {
        // One storage for the whole group, as the SDK's suite shares its StorageMap.
        let storage = (group == "GETFLAG_WITH_STORAGE").then(|| Arc::new(StorageMap::default()));
        for (index, case) in cases.as_array().into_iter().flatten().enumerate() {
            let name = format!("get_flag::{}::{index:02}", group.to_lowercase());
            let case = case.clone();
            let storage = storage.clone();
            let salt = group == "GETFLAG_WITH_SALT";
            trials.push(Trial::test(name, move || {
                if salt {
                    salt_case(&case)
                } else {
                    get_flag_case(&case, storage)
                }
            }));
        }
    }
    let segmentation = read(&data().join("segmentation-cases.json"));
    for (group, cases) in segmentation.as_object().into_iter().flatten() {
        for (name, case) in cases.as_object().into_iter().flatten() {
            let case = case.clone();
            let flipped = SDK_ANSWERS_OTHERWISE.contains(&format!("{group}::{name}").as_str());
            trials.push(Trial::test(format!("segmentation::{group}::{name}"), move || {
                let empty = serde_json::Map::new();
                let vars = case["customVariables"].as_object().unwrap_or(&empty);
                let got = evaluate_segment(&case["dsl"], vars).map_err(|e| e.to_string())?;
                let expected = case["expectation"].as_bool().unwrap_or(!got) != flipped;
                check(got == expected, || {
                    format!("got {got}, expected {expected} for {}", case["dsl"])
                })
            }));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}
