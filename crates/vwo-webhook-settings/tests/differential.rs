//! The validator against the official Node SDK (vwo-fme-node-sdk 1.35.0), run for real: every
//! fixture and systematic mutations of it (each key at every level deleted, set to `null`, to
//! each wrong type, to `{}` and `[]`, and extra keys), served to the SDK's webhook-triggered
//! `updateSettings()` by the workspace's `tests/oracle/settings.js` and to [`Snapshot::parse`] with
//! [`Check::Update`]. Any disagreement fails the test.
//!
//! Needs node and npm: the SDK is installed with `npm ci` from the workspace's `tests/oracle/package-lock.json`
//! into `target/vwo-node-oracle/`. Without node the test says so and passes, unless
//! `VWO_WEBHOOK_REQUIRE_NODE=1` (as `.ci/run` sets), when it fails.
// The test says on stderr when it is skipped, and how many documents it compared.
#![allow(clippy::print_stderr)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use bytes::Bytes;
use serde_json::{Value, json};
use vwo_webhook_settings::{Check, Snapshot, Source};

/// A document and how it was made, for the failure message.
struct Case {
    what: String,
    raw: String,
}

#[test]
fn the_validator_agrees_with_the_node_sdks_update_settings() {
    let Some(oracle) = Oracle::install() else {
        return;
    };
    let cases = corpus();
    let verdicts = oracle.verdicts(&cases);
    assert_eq!(verdicts.len(), cases.len(), "one verdict per document");
    let mut disagreements = Vec::new();
    let mut accepted = 0;
    for (case, sdk) in cases.iter().zip(&verdicts) {
        let ours = Snapshot::parse(
            Bytes::from(case.raw.clone()),
            Check::Update,
            Source::Origin,
            None,
            SystemTime::now(),
        );
        let sdk_accepts = match sdk.as_str() {
            "accepted" => true,
            "refused" => false,
            // The SDK took the document half way and reported the update as failed.
            "crashed" => false,
            other => panic!("{}: the SDK answered {other:?}", case.what),
        };
        accepted += usize::from(sdk_accepts);
        if ours.is_ok() != sdk_accepts {
            let ours = ours.err().map_or("accepted".to_owned(), |e| e.to_string());
            disagreements.push(format!("{}: the SDK {sdk}, we {ours}", case.what));
        }
    }
    eprintln!(
        "differential: {} documents, {accepted} accepted by the SDK, {} disagreements",
        cases.len(),
        disagreements.len()
    );
    assert!(
        accepted > 0 && accepted < cases.len(),
        "a corpus the SDK wholly accepts or refuses proves little"
    );
    assert!(
        disagreements.is_empty(),
        "{} of {} documents judged differently:\n{}",
        disagreements.len(),
        cases.len(),
        disagreements
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[path = "../../../tests/oracle/node.rs"]
mod node;

/// The SDK installed where `node` can run it.
struct Oracle {
    dir: PathBuf,
}

impl Oracle {
    fn install() -> Option<Self> {
        node::install().map(|dir| Self { dir })
    }

    /// The SDK's verdict on each document.
    fn verdicts(&self, cases: &[Case]) -> Vec<String> {
        let input = self.dir.join("documents.json");
        let raws: Vec<&str> = cases.iter().map(|c| c.raw.as_str()).collect();
        std::fs::write(&input, serde_json::to_vec(&raws).expect("JSON")).expect("documents");
        let output = node::run(&self.dir, "settings.js", &[&input]);
        serde_json::from_slice(&output).expect("the oracle prints a JSON array")
    }
}

/// The fixtures, hand-picked whole documents, and every single mutation of each fixture.
fn corpus() -> Vec<Case> {
    let mut cases = Vec::new();
    let mut seen = BTreeSet::new();
    let mut add = |what: String, value: &Value| {
        let raw = value.to_string();
        if seen.insert(raw.clone()) {
            cases.push(Case { what, raw });
        }
    };
    for (name, value) in [
        ("an empty object", json!({})),
        ("an empty array", json!([])),
        ("null", Value::Null),
        ("a string", json!("settings")),
        ("a number", json!(42)),
        (
            "the bare minimum",
            json!({"version": 1, "accountId": 1, "campaigns": []}),
        ),
    ] {
        add(format!("document: {name}"), &value);
    }
    for (name, fixture) in fixtures() {
        add(format!("{name} as is"), &fixture);
        for (pointer, mutation, mutated) in mutations(&fixture) {
            add(format!("{name} {pointer} {mutation}"), &mutated);
        }
    }
    cases
}

fn fixtures() -> Vec<(String, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut fixtures: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .expect("testdata")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|x| x == "json"))
        .map(|path| {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let value =
                serde_json::from_slice(&std::fs::read(&path).expect("fixture")).expect("fixture JSON");
            (name, value)
        })
        .collect();
    fixtures.sort_by(|a, b| a.0.cmp(&b.0));
    fixtures
}

/// The values every node is replaced with in turn: each JSON type, and the empty collections.
fn replacements() -> Vec<(&'static str, Value)> {
    vec![
        ("= null", Value::Null),
        ("= 0", json!(0)),
        ("= 1.5", json!(1.5)),
        ("= \"x\"", json!("x")),
        ("= \"\"", json!("")),
        ("= true", json!(true)),
        ("= []", json!([])),
        ("= {}", json!({})),
        ("= [{}]", json!([{}])),
        ("= {\"k\":1}", json!({"k": 1})),
    ]
}

/// Every single mutation of `document`: (JSON pointer, what was done, the mutated document).
/// In arrays only the first element is descended into: the schema is the same for all.
fn mutations(document: &Value) -> Vec<(String, &'static str, Value)> {
    let mut pointers = Vec::new();
    collect(document, String::new(), &mut pointers);
    let mut out = Vec::new();
    for pointer in pointers {
        if pointer.is_empty() {
            continue;
        }
        let (parent, key) = pointer.rsplit_once('/').expect("a child pointer");
        let parent_is_object = document.pointer(parent).is_some_and(Value::is_object);
        if parent_is_object {
            let mut deleted = document.clone();
            if let Some(Value::Object(fields)) = deleted.pointer_mut(parent) {
                fields.remove(&unescape(key));
            }
            out.push((pointer.clone(), "deleted", deleted));
        }
        for (what, value) in replacements() {
            let mut replaced = document.clone();
            if let Some(slot) = replaced.pointer_mut(&pointer) {
                *slot = value;
            }
            out.push((pointer.clone(), what, replaced));
        }
        if document.pointer(&pointer).is_some_and(Value::is_object) {
            let mut extended = document.clone();
            if let Some(Value::Object(fields)) = extended.pointer_mut(&pointer) {
                fields.insert("anExtraKey".to_owned(), json!({"nested": [1, "two"]}));
            }
            out.push((pointer.clone(), "+ an extra key", extended));
        }
    }
    let mut extended = document.clone();
    if let Value::Object(fields) = &mut extended {
        fields.insert("anExtraKey".to_owned(), json!(1));
    }
    out.push(("/".to_owned(), "+ an extra key", extended));
    out
}

fn collect(value: &Value, pointer: String, out: &mut Vec<String>) {
    out.push(pointer.clone());
    match value {
        Value::Object(fields) => {
            for (key, child) in fields {
                collect(child, format!("{pointer}/{}", escape(key)), out);
            }
        }
        Value::Array(items) => {
            if let Some(first) = items.first() {
                collect(first, format!("{pointer}/0"), out);
            }
        }
        _ => {}
    }
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn unescape(key: &str) -> String {
    key.replace("~1", "/").replace("~0", "~")
}

#[test]
fn mutations_cover_deletion_every_type_and_extra_keys() {
    let document = json!({"a": {"b": [{"c": 1}, {"c": 2}]}});
    let made: Vec<String> = mutations(&document)
        .iter()
        .map(|(pointer, what, _)| format!("{pointer} {what}"))
        .collect();
    for expected in [
        "/a deleted",
        "/a/b/0/c = null",
        "/a/b = {}",
        "/a/b/0 = []",
        "/a + an extra key",
        "/ + an extra key",
    ] {
        assert!(
            made.iter().any(|m| m == expected),
            "{expected} missing from {made:?}"
        );
    }
    assert!(
        !made.iter().any(|m| m.starts_with("/a/b/1")),
        "only the first element is mutated"
    );
}
