//! Every decision against VWO's SDKs, run for real.
//!
//! - **The current Python SDK** (vwo-fme-python-sdk 1.65.0, `tests/oracle/flags.py` in the
//!   workspace) decides over 50,000 generated (settings, context) pairs with what VWO added
//!   after Node 1.35, 100 settings files with storage on both sides (each case twice), and
//!   VWO's e2e settings files with generated contexts, with and without storage. Enabled,
//!   every variable, and the rollout and experiment the SDK's integrations callback reports
//!   must all be identical to [`Flags::get_flag`]'s. The generated values are those Python and
//!   Node read alike ([`generate::Dialect::Current`]); `VWO_NODE_SDK_DIR` has a newer Node SDK
//!   decide the same corpus.
//! - **The Node SDK 1.35.0** (`tests/oracle/flags.js`, the newest on npm) decides a corpus in
//!   every value shape JavaScript reads, on what it decides as the current SDK does
//!   ([`generate::Dialect::Node`]), and judges VWO's 334 segmentation cases and 3,000 generated
//!   segments with its bare segment evaluator, unchanged since.
//!
//! Needs node and npm, and python3 with venv (installed by the shared oracle helpers; see
//! `tests/oracle/node.rs` and `tests/oracle/python.rs`). `VWO_FLAGS_SEED=n` replays another
//! corpus.
// The test says on stderr what it compared.
#![allow(clippy::print_stderr)]

#[path = "differential/generate.rs"]
mod generate;

#[path = "../../../tests/oracle/node.rs"]
mod node;

#[path = "../../../tests/oracle/python.rs"]
mod python;

use std::path::Path;

use fastrand::Rng;
use serde_json::{Map, Value, json};
use vwo_webhook_flags::{Context, Flags, MemoryStorage, Placement, Reason, evaluate_segment};
use vwo_webhook_settings::{Check, validate};

const GENERATED_SETTINGS: usize = 500;
const CASES_PER_SETTINGS: usize = 100;
const CASES_PER_FIXTURE: usize = 200;
const GENERATED_SEGMENTS: usize = 3_000;
/// Settings decided with storage on both sides, each case twice (the second reads what the
/// first stored).
const STORED_SETTINGS: usize = 100;
const STORED_CASES: usize = 50;

struct Group {
    name: String,
    settings: Value,
    cases: Vec<(String, Value)>,
    storage: bool,
}

fn feature_keys(settings: &Value) -> Vec<String> {
    let mut keys: Vec<String> = settings["features"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["key"].as_str().map(str::to_owned))
        .collect();
    keys.push("no_such_feature".to_owned());
    keys
}

fn cases(rng: &mut Rng, settings: &Value, count: usize) -> Vec<(String, Value)> {
    let keys = feature_keys(settings);
    (0..count)
        .map(|_| (keys[rng.usize(0..keys.len())].clone(), generate::context(rng)))
        .collect()
}

fn corpus(rng: &mut Rng) -> Vec<Group> {
    let mut groups = Vec::new();
    for index in 0..GENERATED_SETTINGS {
        let settings = generate::settings(rng);
        let mut checked = settings.clone();
        if let Err(error) = validate(&mut checked, Check::Update) {
            panic!("generated settings {index} are not valid ({error}): {settings}");
        }
        let cases = cases(rng, &settings, CASES_PER_SETTINGS);
        groups.push(Group {
            name: format!("generated settings {index}"),
            settings,
            cases,
            storage: false,
        });
    }
    for index in 0..STORED_SETTINGS {
        let settings = generate::settings(rng);
        let cases = cases(rng, &settings, STORED_CASES)
            .into_iter()
            .flat_map(|case| [case.clone(), case])
            .collect();
        groups.push(Group {
            name: format!("stored settings {index}"),
            settings,
            cases,
            storage: true,
        });
    }
    groups.extend(e2e_groups(rng, CASES_PER_FIXTURE, false));
    groups
}

/// VWO's e2e settings files with `count` generated contexts each; with `stored`, each file is
/// also decided with storage, each case twice (the second reads what the first stored).
fn e2e_groups(rng: &mut Rng, count: usize, stored: bool) -> Vec<Group> {
    let mut groups = Vec::new();
    for (name, settings) in generate::e2e_settings() {
        let cases = cases(rng, &settings, count);
        if stored {
            groups.push(Group {
                name: format!("{name} with storage"),
                settings: settings.clone(),
                cases: cases
                    .iter()
                    .flat_map(|case| [case.clone(), case.clone()])
                    .collect(),
                storage: true,
            });
        }
        groups.push(Group {
            name,
            settings,
            cases,
            storage: false,
        });
    }
    groups
}

fn segments(rng: &mut Rng) -> Vec<(Value, Map<String, Value>)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/vwo-e2e/segmentation-cases.json");
    let shared: Value = serde_json::from_slice(&std::fs::read(path).expect("cases")).expect("JSON");
    let mut segments: Vec<(Value, Map<String, Value>)> = shared
        .as_object()
        .into_iter()
        .flat_map(|groups| groups.values())
        .flat_map(|group| group.as_object().into_iter().flat_map(|cases| cases.values()))
        .map(|case| {
            (
                case["dsl"].clone(),
                case["customVariables"].as_object().cloned().unwrap_or_default(),
            )
        })
        .collect();
    for _ in 0..GENERATED_SEGMENTS {
        segments.push((generate::dsl(rng, 4, false), generate::variables(rng)));
    }
    segments
}

/// What the oracle reports for one decision, and the same from our side.
fn ours(flags: &Flags, feature: &str, context: &Value) -> Value {
    let Ok(context) = Context::from_sdk_json(context) else {
        return json!({"enabled": false, "variables": [], "rolloutKey": null, "rolloutVariationId": null,
                      "experimentKey": null, "experimentVariationId": null, "holdouts": null});
    };
    let flag = flags.get_flag(feature, &context);
    // What the SDK's integrations callback reports: nothing for a stored experiment (it
    // returns before the callback), and a stored rollout only when an experiment is bucketed
    // in the same call (it joins the rules that passed there).
    let stored = flag.reason() == Reason::Stored;
    let experiment = flag.experiment().filter(|_| !stored);
    let rollout = flag.rollout().filter(|r| {
        !stored
            && (r.placement != Placement::Stored
                || experiment.is_some_and(|e| e.placement == Placement::Bucketed))
    });
    let variables: Vec<Value> = flag
        .variables()
        .iter()
        .map(vwo_webhook_flags::Variable::to_json)
        .collect();
    json!({
        "enabled": flag.is_enabled(),
        "variables": variables,
        "rolloutKey": rollout.map(|r| json!(&*r.key)),
        "rolloutVariationId": rollout.map(|r| r.variation_id.clone()),
        "experimentKey": experiment.map(|r| json!(&*r.key)),
        "experimentVariationId": experiment.map(|r| r.variation_id.clone()),
        // The callback names the holdouts that hold the user out, unless storage said so.
        "holdouts": (flag.reason() == Reason::InHoldout).then(|| flag.holdouts().to_vec()),
    })
}

/// `VWO_FLAGS_SEED`, or `default`.
fn seed(default: u64) -> u64 {
    std::env::var("VWO_FLAGS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// The oracle's input: each group's settings, storage switch and cases.
fn oracle_groups(groups: &[Group]) -> Value {
    json!(groups.iter().map(|g| json!({
        "settings": g.settings,
        "storage": g.storage,
        "cases": g.cases.iter().map(|(f, c)| json!({"featureKey": f, "context": c})).collect::<Vec<_>>(),
    })).collect::<Vec<_>>())
}

/// What one comparison found: how many decisions and of which kind, and those that differ.
#[derive(Default)]
struct Compared {
    decisions: usize,
    enabled: usize,
    rollouts: usize,
    experiments: usize,
    /// Decisions a holdout held the user out of.
    held_out: usize,
    differences: Vec<String>,
}

/// Decides every case of `groups` here (with `MemoryStorage` where the group has storage) and
/// compares each with the oracle's answer in `flags`.
fn compare(groups: &[Group], flags: &Value) -> Compared {
    let mut compared = Compared::default();
    for (group, answers) in groups.iter().zip(flags.as_array().expect("flags")) {
        let mut builder = Flags::builder();
        if group.storage {
            builder = builder.storage(std::sync::Arc::new(MemoryStorage::new()));
        }
        let flags = builder.document(&group.settings).build();
        let answers = answers.as_array().expect("answers");
        assert_eq!(
            answers.len(),
            group.cases.len(),
            "{}: one answer per case",
            group.name
        );
        for ((feature, context), sdk) in group.cases.iter().zip(answers) {
            compared.decisions += 1;
            compared.enabled += usize::from(sdk["enabled"] == json!(true));
            compared.rollouts += usize::from(!sdk["rolloutKey"].is_null());
            compared.experiments += usize::from(!sdk["experimentKey"].is_null());
            compared.held_out += usize::from(!sdk["holdouts"].is_null());
            let rust = ours(&flags, feature, context);
            if &rust != sdk {
                compared.differences.push(format!(
                    "{} / {feature} / context {context}:\n  sdk  {sdk}\n  rust {rust}",
                    group.name
                ));
            }
        }
    }
    compared
}

/// Writes `input` to `file`, has `oracle` read it, and parses what it printed.
fn ask(file: &Path, input: &Value, oracle: impl FnOnce(&Path) -> Vec<u8>) -> Value {
    std::fs::write(file, serde_json::to_vec(input).expect("JSON")).expect("the oracle's input");
    serde_json::from_slice(&oracle(file)).expect("the oracle's JSON")
}

/// Decides `groups` with the Python SDK (its input written to `file` in the virtualenv's
/// folder) and here, and compares them.
fn decided_by_python(python: &Path, groups: &[Group], file: &str) -> Compared {
    let input = json!({ "groups": oracle_groups(groups) });
    let venv = python.parent().and_then(Path::parent).expect("the virtualenv");
    let output = ask(&venv.join(file), &input, |file| {
        python::run(python, "flags.py", &[file])
    });
    compare(groups, &output["flags"])
}

/// Fails with the first differences, if any.
fn assert_identical(decisions: usize, differences: &[String]) {
    assert!(
        differences.is_empty(),
        "{} of {decisions} decisions differ:\n{}",
        differences.len(),
        first(differences)
    );
}

/// The first differences, for a failure's message.
fn first(differences: &[String]) -> String {
    differences
        .iter()
        .take(10)
        .cloned()
        .collect::<Vec<_>>()
        .join("\n")
}

/// Node 1.35 on the Node dialect's corpus and segments.
#[test]
fn every_decision_and_segment_is_the_node_sdks() {
    let Some(dir) = node::install() else {
        return;
    };
    let seed = seed(20_261_201);
    let mut rng = Rng::with_seed(seed);
    let groups = corpus(&mut rng);
    let segments = segments(&mut rng);
    let input = json!({
        "groups": oracle_groups(&groups),
        "segments": segments.iter().map(|(dsl, vars)| json!({"dsl": dsl, "customVariables": vars})).collect::<Vec<_>>(),
    });
    let output = ask(&dir.join(format!("flags-input-{seed}.json")), &input, |file| {
        node::run(&dir, "flags.js", &[file])
    });
    let Compared {
        decisions,
        enabled,
        rollouts,
        experiments,
        differences,
        ..
    } = compare(&groups, &output["flags"]);
    let mut segment_differences = Vec::new();
    for ((dsl, vars), sdk) in segments
        .iter()
        .zip(output["segments"].as_array().expect("segments"))
    {
        let rust = match evaluate_segment(dsl, vars) {
            Ok(verdict) => json!(verdict),
            Err(_) => json!("throws"),
        };
        if &rust != sdk {
            segment_differences.push(format!(
                "{dsl} with {}: sdk {sdk}, rust {rust}",
                Value::Object(vars.clone())
            ));
        }
    }
    eprintln!(
        "differential (seed {seed}): {decisions} decisions ({enabled} enabled, {rollouts} by a rollout, \
         {experiments} by an experiment), {} differ; {} segments, {} differ",
        differences.len(),
        segments.len(),
        segment_differences.len()
    );
    assert!(decisions >= 50_000, "the corpus holds {decisions} decisions");
    assert!(
        enabled > decisions / 10 && enabled < decisions * 9 / 10 && rollouts > 1000 && experiments > 1000,
        "a corpus the SDK answers nearly always the same way proves little"
    );
    assert!(
        segment_differences.is_empty(),
        "{} segments judged differently:\n{}",
        segment_differences.len(),
        segment_differences
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_identical(decisions, &differences);
}

/// Contexts per e2e settings file for the Python SDK.
const PYTHON_CASES_PER_FIXTURE: usize = 600;

/// The current Python SDK (1.65.0) on VWO's own settings files: every decision identical.
#[test]
fn every_decision_on_vwos_settings_files_is_the_python_sdks() {
    let Some(python) = python::install() else {
        return;
    };
    let seed = seed(20_261_206);
    let mut rng = Rng::with_seed(seed);
    let mut groups = e2e_groups(&mut rng, PYTHON_CASES_PER_FIXTURE, true);
    with_text_ids(&mut groups);
    let Compared {
        decisions,
        enabled,
        experiments,
        differences,
        ..
    } = decided_by_python(&python, &groups, &format!("flags-input-{seed}.json"));
    eprintln!(
        "{} {}: {decisions} decisions on VWO's settings files ({enabled} enabled, {experiments} by an \
         experiment), {} differ",
        python::SDK,
        python::SDK_VERSION,
        differences.len()
    );
    assert!(decisions >= 15_000, "the corpus holds {decisions} decisions");
    assert!(
        enabled > decisions / 10 && experiments > 1000,
        "a corpus the SDK answers nearly always the same way proves little"
    );
    assert_identical(decisions, &differences);
}

/// The Python SDK takes a string id only: a number is given as the text JavaScript (and this
/// crate) makes of it.
fn with_text_ids(groups: &mut [Group]) {
    for group in groups {
        for (_, context) in &mut group.cases {
            if let Ok(parsed) = Context::from_sdk_json(context)
                && !context["id"].is_string()
            {
                context["id"] = json!(parsed.id());
            }
        }
    }
}

/// The current Python SDK (1.65.0) on generated settings and contexts with what VWO added
/// after 1.35 (holdouts, bucketing seeds, overlapping forced variations, web testing
/// segments, the user id's new name), in the values it reads as Node does: every decision
/// identical. With `VWO_NODE_SDK_DIR` naming a folder whose
/// `node_modules` holds a newer Node SDK (built from VWO's repository, which npm lags), the
/// same corpus is decided by it too and must agree: how the places where Python and Node
/// differ were found (docs/flags.md).
#[test]
fn every_decision_is_the_python_sdks() {
    let Some(python) = python::install() else {
        return;
    };
    let seed = seed(20_261_201);
    let mut rng = Rng::with_seed(seed);
    let mut groups = generate::in_dialect(generate::Dialect::Current, || corpus(&mut rng));
    with_text_ids(&mut groups);
    let input = json!({ "groups": oracle_groups(&groups) });
    let venv = python.parent().and_then(Path::parent).expect("the virtualenv");
    let file = venv.join(format!("current-input-{seed}.json"));
    let output = ask(&file, &input, |file| python::run(&python, "flags.py", &[file]));
    let Compared {
        decisions,
        enabled,
        rollouts,
        experiments,
        held_out,
        differences,
    } = compare(&groups, &output["flags"]);
    eprintln!(
        "{} {} (seed {seed}): {decisions} decisions ({enabled} enabled, {rollouts} by a rollout, \
         {experiments} by an experiment, {held_out} held out by a holdout), {} differ",
        python::SDK,
        python::SDK_VERSION,
        differences.len()
    );
    assert!(decisions >= 50_000, "the corpus holds {decisions} decisions");
    assert!(
        enabled > decisions / 10
            && enabled < decisions * 9 / 10
            && rollouts > 1000
            && experiments > 1000
            && held_out > 1000,
        "a corpus the SDK answers nearly always the same way proves little"
    );
    assert_identical(decisions, &differences);
    if let Ok(node_dir) = std::env::var("VWO_NODE_SDK_DIR") {
        let output = serde_json::from_slice::<Value>(&node::run(Path::new(&node_dir), "flags.js", &[&file]))
            .expect("the Node oracle's JSON");
        let node = compare(&groups, &output["flags"]);
        eprintln!(
            "the Node SDK in {node_dir}: {} of {} decisions differ",
            node.differences.len(),
            node.decisions
        );
        assert_identical(node.decisions, &node.differences);
    }
}

/// `TestData`'s documents (flags on and off, partial rollouts, custom variable conditions,
/// A/B tests by weight) decided by the Python SDK: what a service's unit tests decide on is
/// what VWO's SDKs would decide on the same file.
#[test]
fn test_data_decides_as_the_python_sdk() {
    use vwo_webhook_flags::{TestData, TestFlag, TestVariation};
    let Some(python) = python::install() else {
        return;
    };
    let seed = seed(20_261_207);
    let mut rng = Rng::with_seed(seed);
    let mut groups = Vec::new();
    for index in 0..40 {
        let mut data = TestData::new();
        for flag in 0..rng.usize(1..4) {
            let mut test_flag = if rng.u8(0..5) == 0 {
                TestFlag::off()
            } else {
                TestFlag::on()
            };
            test_flag = test_flag
                .variable("color", "blue")
                .variable("size", rng.i32(1..10));
            if rng.bool() {
                test_flag = test_flag.rollout_percent(rng.u8(0..=100));
            }
            if rng.u8(0..3) == 0 {
                test_flag = test_flag.when("plan", ["pro", "free"][rng.usize(0..2)]);
            }
            if rng.bool() {
                let weight = f64::from(rng.u8(0..=100));
                test_flag = test_flag.ab_test([
                    TestVariation::new("control", weight),
                    TestVariation::new("green", 100.0 - weight).variable("color", "green"),
                ]);
            }
            data = data.flag(format!("flag{flag}"), test_flag);
        }
        let settings = data.document();
        let keys = feature_keys(&settings);
        let cases = (0..100)
            .map(|n| {
                let mut context = json!({"id": format!("user-{}", rng.u32(..))});
                if n % 2 == 0 {
                    let plan = ["pro", "free", "team"][rng.usize(0..3)];
                    context["customVariables"] = json!({ "plan": plan });
                }
                (keys[rng.usize(0..keys.len())].clone(), context)
            })
            .collect();
        groups.push(Group {
            name: format!("test-data-{index}"),
            settings,
            cases,
            storage: false,
        });
    }
    let Compared {
        decisions,
        enabled,
        experiments,
        differences,
        ..
    } = decided_by_python(&python, &groups, &format!("test-data-input-{seed}.json"));
    eprintln!(
        "{} {}: {decisions} decisions on TestData's documents ({enabled} enabled, {experiments} by an \
         A/B test), {} differ",
        python::SDK,
        python::SDK_VERSION,
        differences.len()
    );
    assert!(
        enabled > decisions / 4 && experiments > 200,
        "a corpus the SDK answers nearly always the same way proves little"
    );
    assert_identical(decisions, &differences);
}
