//! The official FME SDKs' settings schema, so a document the SDKs would refuse never replaces
//! good settings. Extra keys are allowed everywhere; an empty `{}` for `campaigns` or
//! `features` is normalized to `[]`, as the SDKs do.

use serde_json::{Map, Value};

/// Why a settings document was refused: the JSON path of the first offending value and what
/// it should have been.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid VWO settings: `{path}` {problem}")]
#[non_exhaustive]
pub struct ValidationError {
    /// Where, as a JSON path (`$.campaigns[0].variations[1].weight`).
    pub path: String,
    /// What is wrong (`is missing`, `must be a number or a string`).
    pub problem: String,
}

/// What a value must be.
#[derive(Clone, Copy)]
enum Kind {
    Number,
    Text,
    Bool,
    Object,
    NumberOrText,
    /// The type of a variable's `value`.
    Scalar,
    Array(&'static Schema),
}

impl Kind {
    fn accepts(self, value: &Value) -> bool {
        match self {
            Kind::Number => value.is_number(),
            Kind::Text => value.is_string(),
            Kind::Bool => value.is_boolean(),
            Kind::Object => value.is_object(),
            Kind::NumberOrText => value.is_number() || value.is_string(),
            Kind::Scalar => value.is_number() || value.is_string() || value.is_boolean() || value.is_object(),
            Kind::Array(_) => value.is_array(),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Kind::Number => "must be a number",
            Kind::Text => "must be a string",
            Kind::Bool => "must be a boolean",
            Kind::Object => "must be an object",
            Kind::NumberOrText => "must be a number or a string",
            Kind::Scalar => "must be a number, a string, a boolean or an object",
            Kind::Array(_) => "must be an array",
        }
    }
}

/// The fields an object must (`true`) or may (`false`) have.
type Schema = [(&'static str, bool, Kind)];

const METRIC: &Schema = &[
    ("id", true, Kind::NumberOrText),
    ("type", true, Kind::Text),
    ("identifier", true, Kind::Text),
    ("mca", false, Kind::NumberOrText),
    ("hasProps", false, Kind::Bool),
    ("revenueProp", false, Kind::Text),
];

const VARIABLE: &Schema = &[
    ("id", true, Kind::NumberOrText),
    ("type", true, Kind::Text),
    ("key", true, Kind::Text),
    ("value", true, Kind::Scalar),
];

const VARIATION: &Schema = &[
    ("id", true, Kind::NumberOrText),
    ("name", true, Kind::Text),
    ("weight", true, Kind::NumberOrText),
    ("segments", false, Kind::Object),
    ("variables", false, Kind::Array(VARIABLE)),
    ("startRangeVariation", false, Kind::Number),
    ("endRangeVariation", false, Kind::Number),
    ("salt", false, Kind::Text),
];

const CAMPAIGN: &Schema = &[
    ("id", true, Kind::NumberOrText),
    ("type", true, Kind::Text),
    ("key", true, Kind::Text),
    ("percentTraffic", false, Kind::Number),
    ("status", true, Kind::Text),
    ("variations", true, Kind::Array(VARIATION)),
    ("segments", true, Kind::Object),
    ("isForcedVariationEnabled", false, Kind::Bool),
    ("isAlwaysCheckSegment", false, Kind::Bool),
    ("name", true, Kind::Text),
    ("salt", false, Kind::Text),
];

const RULE: &Schema = &[
    ("type", true, Kind::Text),
    ("ruleKey", true, Kind::Text),
    ("campaignId", true, Kind::Number),
    ("variationId", false, Kind::Number),
];

const FEATURE: &Schema = &[
    ("id", true, Kind::NumberOrText),
    ("key", true, Kind::Text),
    ("status", true, Kind::Text),
    ("name", true, Kind::Text),
    ("type", true, Kind::Text),
    ("metrics", true, Kind::Array(METRIC)),
    ("impactCampaign", false, Kind::Object),
    ("rules", false, Kind::Array(RULE)),
    ("variables", false, Kind::Array(VARIABLE)),
];

const SETTINGS: &Schema = &[
    ("sdkKey", false, Kind::Text),
    ("version", true, Kind::NumberOrText),
    ("accountId", true, Kind::NumberOrText),
    ("features", true, Kind::Array(FEATURE)),
    ("campaigns", true, Kind::Array(CAMPAIGN)),
    ("groups", false, Kind::Object),
    ("campaignGroups", false, Kind::Object),
    ("collectionPrefix", false, Kind::Text),
    ("pollInterval", false, Kind::Number),
];

/// Normalizes `document` (an empty `{}` for `campaigns` or `features` becomes `[]`) and checks
/// it against the SDKs' schema.
pub fn validate(document: &mut Value) -> Result<(), ValidationError> {
    let Some(root) = document.as_object_mut() else {
        return Err(error("$", "must be a JSON object"));
    };
    for key in ["campaigns", "features"] {
        if let Some(value) = root.get_mut(key)
            && value.as_object().is_some_and(Map::is_empty)
        {
            *value = Value::Array(Vec::new());
        }
    }
    check_object(root, SETTINGS, "$")
}

fn check_object(object: &Map<String, Value>, schema: &Schema, path: &str) -> Result<(), ValidationError> {
    for &(key, required, kind) in schema {
        let field = format!("{path}.{key}");
        let Some(value) = object.get(key) else {
            if required {
                return Err(error(&field, "is missing"));
            }
            continue;
        };
        if !kind.accepts(value) {
            return Err(error(&field, kind.describe()));
        }
        if let (Kind::Array(items), Value::Array(values)) = (kind, value) {
            for (index, item) in values.iter().enumerate() {
                let item_path = format!("{field}[{index}]");
                let Some(item) = item.as_object() else {
                    return Err(error(&item_path, "must be an object"));
                };
                check_object(item, items, &item_path)?;
            }
        }
    }
    Ok(())
}

fn error(path: &str, problem: &str) -> ValidationError {
    ValidationError {
        path: path.to_owned(),
        problem: problem.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn minimal() -> Value {
        json!({
            "version": 1,
            "accountId": "123456",
            "sdkKey": "masked",
            "features": [{
                "id": 1, "key": "f", "status": "ON", "name": "F", "type": "FLAG_ROLLOUT",
                "metrics": [{"id": 1, "type": "CUSTOM_GOAL", "identifier": "m"}],
                "rules": [{"type": "FLAG_ROLLOUT", "ruleKey": "r", "campaignId": 7}]
            }],
            "campaigns": [{
                "id": 7, "type": "FLAG_ROLLOUT", "key": "f_rollout", "status": "RUNNING",
                "name": "rollout", "segments": {},
                "variations": [{"id": 1, "name": "Rollout", "weight": 100,
                                "variables": [{"id": 1, "type": "string", "key": "k", "value": "v"}]}]
            }]
        })
    }

    #[test]
    fn a_minimal_document_is_valid_and_extra_keys_are_allowed() {
        let mut document = minimal();
        document["somethingNew"] = json!({"x": 1});
        document["campaigns"][0]["extra"] = json!(null);
        assert_eq!(validate(&mut document), Ok(()));
    }

    #[test]
    fn empty_objects_become_empty_arrays() {
        let mut document = json!({"version": 1, "accountId": 1, "features": {}, "campaigns": {}});
        assert_eq!(validate(&mut document), Ok(()));
        assert_eq!(document["features"], json!([]));
        assert_eq!(document["campaigns"], json!([]));
        // A non-empty object is not a collection.
        let mut document = json!({"version": 1, "accountId": 1, "features": {"a": 1}, "campaigns": []});
        assert_eq!(
            validate(&mut document).map_err(|e| e.to_string()),
            Err("invalid VWO settings: `$.features` must be an array".to_owned())
        );
    }

    #[test]
    fn errors_name_the_path_and_the_expected_type() {
        let cases: [(&str, Value, &str); 8] = [
            (
                "/accountId",
                json!(true),
                "$.accountId` must be a number or a string",
            ),
            ("/version", Value::Null, "$.version` must be a number or a string"),
            ("/sdkKey", json!(5), "$.sdkKey` must be a string"),
            (
                "/campaigns/0/variations/0/weight",
                json!([]),
                "$.campaigns[0].variations[0].weight` must be",
            ),
            (
                "/campaigns/0/segments",
                json!([]),
                "$.campaigns[0].segments` must be an object",
            ),
            (
                "/features/0/rules/0/campaignId",
                json!("7"),
                "$.features[0].rules[0].campaignId` must be a number",
            ),
            (
                "/features/0/metrics/0",
                json!(3),
                "$.features[0].metrics[0]` must be an object",
            ),
            (
                "/campaigns/0/variations/0/variables/0/value",
                json!([1]),
                "value` must be a number, a string, a boolean or an object",
            ),
        ];
        for (pointer, bad, expected) in cases {
            let mut document = minimal();
            *document.pointer_mut(pointer).expect(pointer) = bad;
            let message = validate(&mut document).expect_err(pointer).to_string();
            assert!(message.contains(expected), "{pointer}: {message}");
        }
    }

    #[test]
    fn missing_required_keys_are_named() {
        for (pointer, key) in [
            ("", "campaigns"),
            ("", "features"),
            ("", "accountId"),
            ("/campaigns/0", "variations"),
            ("/campaigns/0", "name"),
            ("/campaigns/0/variations/0", "weight"),
            ("/features/0", "metrics"),
            ("/features/0/rules/0", "ruleKey"),
        ] {
            let mut document = minimal();
            let parent = document
                .pointer_mut(pointer)
                .and_then(Value::as_object_mut)
                .expect(pointer);
            parent.remove(key);
            let error = validate(&mut document).expect_err(key);
            assert_eq!(error.problem, "is missing", "{key}");
            assert!(error.path.ends_with(&format!(".{key}")), "{}", error.path);
        }
    }

    #[test]
    fn a_non_object_document_is_refused() {
        for mut document in [json!([]), json!("settings"), Value::Null] {
            assert_eq!(validate(&mut document).map_err(|e| e.path), Err("$".to_owned()));
        }
    }
}
