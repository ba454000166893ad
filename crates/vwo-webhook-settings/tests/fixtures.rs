//! Every settings file in `testdata/` (from VWO's shared SDK test data) gets the verdict its
//! README lists, as the official Node SDK's validator gives it.

use std::time::SystemTime;

use bytes::Bytes;
use vwo_webhook_settings::{Check, DocumentError, Snapshot, Source};

/// Parses a fixture on the SDK's init and polling path (the README's verdicts).
fn parse(name: &str) -> Result<Snapshot, DocumentError> {
    parse_as(name, Check::Fetch)
}

fn parse_as(name: &str, check: Check) -> Result<Snapshot, DocumentError> {
    let path = format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    Snapshot::parse(Bytes::from(raw), check, Source::Origin, None, SystemTime::now())
}

/// The verdict table of `testdata/README.md`: (file, valid).
fn verdicts() -> Vec<(String, bool)> {
    let readme = include_str!("../testdata/README.md");
    readme
        .lines()
        .filter_map(|line| {
            let mut cells = line.split('|').map(str::trim).filter(|c| !c.is_empty());
            let file = cells.next()?.strip_suffix(".json").map(|f| format!("{f}.json"))?;
            let verdict = cells.next()?;
            Some((file, verdict.starts_with("valid")))
        })
        .collect()
}

#[test]
fn every_fixture_gets_its_listed_verdict() {
    let verdicts = verdicts();
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata"))
        .expect("testdata")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "json"))
        })
        .count();
    assert_eq!(verdicts.len(), files, "every fixture has a verdict");
    for (file, valid) in verdicts {
        match (parse(&file), valid) {
            (Ok(_), true) | (Err(DocumentError::Invalid(_)), false) => {}
            (result, _) => panic!("{file}: expected valid = {valid}, got {result:?}"),
        }
    }
}

#[test]
fn valid_fixtures_expose_version_account_and_normalized_collections() {
    let snapshot = parse("SettingsWithNoFeatureAndCampign.json").expect("valid");
    assert_eq!(snapshot.document()["features"], serde_json::json!([]));
    assert_eq!(snapshot.document()["campaigns"], serde_json::json!([]));
    // A webhook-triggered `updateSettings()` does not normalize: `{}` is not an array there.
    let Err(DocumentError::Invalid(error)) = parse_as("SettingsWithNoFeatureAndCampign.json", Check::Update)
    else {
        panic!("{{}} collections are refused on the webhook path");
    };
    assert_eq!(
        error.to_string(),
        "invalid VWO settings: `$.features` must be an array"
    );
    let snapshot = parse("RolloutAndTestingSettings.json").expect("valid");
    assert!(!snapshot.version().is_empty());
    assert!(!snapshot.account_id().is_empty());
    assert_eq!(
        snapshot.raw().len(),
        include_bytes!("../testdata/RolloutAndTestingSettings.json").len()
    );
}

#[test]
fn the_wrong_types_fixture_names_the_first_offending_field() {
    let Err(DocumentError::Invalid(error)) = parse("SettingsWithWrongTypeForValues.json") else {
        panic!("the wrong-types fixture must be invalid");
    };
    // Root keys are checked in schema order: `sdkKey` (a number here) comes first.
    assert_eq!(error.path, "$.sdkKey");
    assert_eq!(error.problem, "must be a string");
}
