//! What a valid settings file is, as the official Node SDK decides it: its superstruct schema
//! (`lib/models/schemas/SettingsSchemaValidation.ts`: 1.35.0's, with the `holdouts` of 1.40),
//! rule for rule, so a document the SDK would refuse never replaces good settings and one it
//! takes is never refused here. `tests/differential.rs` checks the two agree against the SDK
//! 1.35.0 itself (the newest on npm) on documents without holdouts.
//!
//! superstruct's words, as they read on JSON values:
//! - `type({..})` ([`Kind::Shape`]): any object (an array counts: it has none of the fields);
//!   listed fields are checked, others ignored.
//! - `object()` ([`Kind::AnyObject`]): any object or array, not `null`.
//! - `object({..})` ([`Kind::Strict`]): the same, but a key not listed is refused (an array's
//!   indices are such keys, so only `[]` passes).
//! - `optional(..)`: the key may be absent; `null` is not absent.

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

/// Which of the SDK's two paths a document arrives by: they differ in one normalization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Check {
    /// A webhook-triggered `updateSettings()`: the fetched document is validated as it is.
    Update,
    /// `init()` and the SDK's polling (`normalizeSettings` first): a `features` or `campaigns`
    /// that is absent, `null`, `false`, a number, `""`, `{}` or `[]` becomes `[]` (JavaScript's
    /// `!x || Object.keys(x).length === 0`).
    Fetch,
}

impl Check {
    /// How the SDK validates what a refresh for `trigger` fetched: a webhook's as
    /// `updateSettings()` does, anything else as `init()` and its polling do.
    pub fn for_trigger(trigger: &vwo_webhook::Trigger) -> Self {
        match trigger {
            vwo_webhook::Trigger::Webhook(_) => Check::Update,
            _ => Check::Fetch,
        }
    }

    /// Its name, as stored beside a shared document so that every replica validates it the
    /// same way: `update` or `fetch`.
    pub fn name(self) -> &'static str {
        match self {
            Check::Update => "update",
            Check::Fetch => "fetch",
        }
    }

    /// The check a [`Check::name`] names; any other name is [`Check::Fetch`], the path that
    /// normalizes.
    pub fn from_name(name: &str) -> Self {
        if name == "update" {
            Check::Update
        } else {
            Check::Fetch
        }
    }
}

/// What a value must be: one superstruct struct.
#[derive(Clone, Copy)]
enum Kind {
    /// `number()`
    Number,
    /// `string()`
    Text,
    /// `boolean()`
    Bool,
    /// `union([number(), string()])`
    NumberOrText,
    /// `object()`
    AnyObject,
    /// `union([number(), string(), boolean(), object()])`: a variable's value.
    VariableValue,
    /// `type({..})`
    Shape(&'static Schema),
    /// `object({..})`
    Strict(&'static Schema),
    /// `array(type({..}))`
    ArrayOf(&'static Schema),
    /// `array(number())`
    Numbers,
    /// `union([array(holdoutSchema), refine(object(), 'EmptyObject', ..)])`: VWO's backend
    /// sends `{}` when an account has no holdouts.
    Holdouts,
}

/// One field: its key, whether it is required (not `optional(..)`), and its struct.
type Schema = [(&'static str, bool, Kind)];

/// `campaignMetricSchema`
const METRIC: &Schema = &[
    ("id", true, Kind::NumberOrText),
    ("type", true, Kind::Text),
    ("identifier", true, Kind::Text),
    ("mca", false, Kind::NumberOrText),
    ("hasProps", false, Kind::Bool),
    ("revenueProp", false, Kind::Text),
];

/// `variableObjectSchema`
const VARIABLE: &Schema = &[
    ("id", true, Kind::NumberOrText),
    ("type", true, Kind::Text),
    ("key", true, Kind::Text),
    ("value", true, Kind::VariableValue),
];

/// `campaignVariationSchema`
const VARIATION: &Schema = &[
    ("id", true, Kind::NumberOrText),
    ("name", true, Kind::Text),
    ("weight", true, Kind::NumberOrText),
    ("segments", false, Kind::AnyObject),
    ("variables", false, Kind::ArrayOf(VARIABLE)),
    ("startRangeVariation", false, Kind::Number),
    ("endRangeVariation", false, Kind::Number),
    ("salt", false, Kind::Text),
];

/// `campaignObjectSchema`
const CAMPAIGN: &Schema = &[
    ("id", true, Kind::NumberOrText),
    ("type", true, Kind::Text),
    ("key", true, Kind::Text),
    ("percentTraffic", false, Kind::Number),
    ("status", true, Kind::Text),
    ("variations", true, Kind::ArrayOf(VARIATION)),
    ("segments", true, Kind::AnyObject),
    ("isForcedVariationEnabled", false, Kind::Bool),
    ("isAlwaysCheckSegment", false, Kind::Bool),
    ("name", true, Kind::Text),
    ("salt", false, Kind::Text),
];

/// `ruleSchema`
const RULE: &Schema = &[
    ("type", true, Kind::Text),
    ("ruleKey", true, Kind::Text),
    ("campaignId", true, Kind::Number),
    ("variationId", false, Kind::Number),
];

/// `featureSchema`
const FEATURE: &Schema = &[
    ("id", true, Kind::NumberOrText),
    ("key", true, Kind::Text),
    ("status", true, Kind::Text),
    ("name", true, Kind::Text),
    ("type", true, Kind::Text),
    ("metrics", true, Kind::ArrayOf(METRIC)),
    ("impactCampaign", false, Kind::AnyObject),
    ("rules", false, Kind::ArrayOf(RULE)),
    ("variables", false, Kind::ArrayOf(VARIABLE)),
];

/// `holdoutSchema` (Node 1.40)
const HOLDOUT: &Schema = &[
    ("metrics", true, Kind::ArrayOf(METRIC)),
    ("segments", true, Kind::AnyObject),
    ("featureIds", true, Kind::Numbers),
    ("isGlobal", true, Kind::Bool),
    ("name", true, Kind::Text),
    ("id", true, Kind::NumberOrText),
    ("percentTraffic", true, Kind::Number),
];

/// `settingsSchema.sdkMetaInfo`
const SDK_META_INFO: &Schema = &[("wasInitializedEarlier", false, Kind::Bool)];

/// `settingsSchema`
const SETTINGS: &Schema = &[
    ("sdkKey", false, Kind::Text),
    ("version", true, Kind::NumberOrText),
    ("accountId", true, Kind::NumberOrText),
    ("usageStatsAccountId", false, Kind::Number),
    ("features", false, Kind::ArrayOf(FEATURE)),
    ("holdouts", false, Kind::Holdouts),
    ("campaigns", true, Kind::ArrayOf(CAMPAIGN)),
    ("groups", false, Kind::AnyObject),
    ("campaignGroups", false, Kind::AnyObject),
    ("collectionPrefix", false, Kind::Text),
    ("sdkMetaInfo", false, Kind::Strict(SDK_META_INFO)),
    ("pollInterval", false, Kind::Number),
];

/// Checks `document` the way the SDK does on the path `check` names, normalizing it first
/// where that path does.
pub fn validate(document: &mut Value, check: Check) -> Result<(), ValidationError> {
    if check == Check::Fetch
        && let Some(root) = document.as_object_mut()
    {
        for key in ["features", "campaigns"] {
            if root.get(key).is_none_or(empty_to_javascript) {
                root.insert(key.to_owned(), Value::Array(Vec::new()));
            }
        }
    }
    check_value(document, Kind::Shape(SETTINGS), "$")?;
    check_linked_campaigns(document)
}

/// Beyond the schema: once a document passes it, `updateSettings()` indexes it
/// (`setSettingsAndAddCampaignsToRules`), and `addIsGatewayServiceRequiredFlag` reads the first
/// variation of every `FLAG_ROLLOUT` or `FLAG_PERSONALIZE` campaign a feature's rule links to
/// (`rule.getVariations()[0].getSegments()`). A linked campaign of those types without
/// variations makes the SDK fail the update ("VWO client instance couldn't be updated") half
/// way: refused here, so the last good settings stay.
fn check_linked_campaigns(document: &Value) -> Result<(), ValidationError> {
    let campaigns = document["campaigns"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    // The SDK links by `new Map(campaigns.map(c => [c.id, c]))`: numeric ids only can match a
    // rule's numeric `campaignId`, and the last campaign with an id wins. Indexed once, so a
    // document is checked in time linear in its size (a search per rule made 10,000 rules
    // against 10,000 campaigns take 40 s).
    let key = |id: f64| {
        if id == 0.0 {
            0.0_f64.to_bits()
        } else {
            id.to_bits()
        }
    }; // SameValueZero
    let by_id: std::collections::HashMap<u64, &Value> = campaigns
        .iter()
        .filter_map(|campaign| campaign["id"].as_f64().map(|id| (key(id), campaign)))
        .collect();
    let linked = |id: f64| by_id.get(&key(id)).copied();
    let features = document["features"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (f, feature) in features.iter().enumerate() {
        let rules = feature["rules"].as_array().map(Vec::as_slice).unwrap_or_default();
        for (r, rule) in rules.iter().enumerate() {
            let Some(campaign) = rule["campaignId"].as_f64().and_then(linked) else {
                continue;
            };
            let kind = campaign["type"].as_str().unwrap_or_default();
            let empty = campaign["variations"].as_array().is_none_or(Vec::is_empty);
            if matches!(kind, "FLAG_ROLLOUT" | "FLAG_PERSONALIZE") && empty {
                return Err(error(
                    &format!("$.features[{f}].rules[{r}]"),
                    &format!("links to a {kind} campaign without variations, which the SDK cannot index"),
                ));
            }
        }
    }
    Ok(())
}

/// JavaScript's `!x || Object.keys(x).length === 0` for a JSON value.
fn empty_to_javascript(value: &Value) -> bool {
    match value {
        Value::String(text) => text.is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(fields) => fields.is_empty(),
        Value::Null | Value::Bool(_) | Value::Number(_) => true,
    }
}

fn check_value(value: &Value, kind: Kind, path: &str) -> Result<(), ValidationError> {
    let ok = match kind {
        Kind::Number => value.is_number(),
        Kind::Text => value.is_string(),
        Kind::Bool => value.is_boolean(),
        Kind::NumberOrText => value.is_number() || value.is_string(),
        Kind::AnyObject => value.is_object() || value.is_array(),
        Kind::VariableValue => !value.is_null(),
        Kind::Shape(schema) => return check_fields(value, schema, false, path),
        Kind::Strict(schema) => return check_fields(value, schema, true, path),
        Kind::ArrayOf(items) => {
            let Value::Array(values) = value else {
                return Err(error(path, "must be an array"));
            };
            for (index, item) in values.iter().enumerate() {
                check_fields(item, items, false, &format!("{path}[{index}]"))?;
            }
            return Ok(());
        }
        Kind::Numbers => {
            let Value::Array(values) = value else {
                return Err(error(path, "must be an array"));
            };
            if let Some(index) = values.iter().position(|item| !item.is_number()) {
                return Err(error(&format!("{path}[{index}]"), "must be a number"));
            }
            return Ok(());
        }
        Kind::Holdouts => match value {
            Value::Array(_) => return check_value(value, Kind::ArrayOf(HOLDOUT), path),
            Value::Object(fields) => fields.is_empty(),
            _ => false,
        },
    };
    if ok {
        Ok(())
    } else {
        Err(error(path, describe(kind)))
    }
}

/// `type({..})` (`strict` false) or `object({..})` (`strict` true) on `value`.
fn check_fields(value: &Value, schema: &Schema, strict: bool, path: &str) -> Result<(), ValidationError> {
    static NO_FIELDS: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    let fields = match value {
        Value::Object(fields) => fields,
        // An array is an object to superstruct, with its indices for keys and none of ours.
        Value::Array(items) => {
            if strict && !items.is_empty() {
                return Err(error(&format!("{path}[0]"), "is not an allowed key"));
            }
            NO_FIELDS.get_or_init(Map::new)
        }
        _ => return Err(error(path, "must be an object")),
    };
    for &(key, required, kind) in schema {
        let field = format!("{path}.{key}");
        match fields.get(key) {
            None if required => return Err(error(&field, "is missing")),
            None => {}
            Some(value) => check_value(value, kind, &field)?,
        }
    }
    if strict
        && let Some(unknown) = fields
            .keys()
            .find(|key| !schema.iter().any(|(known, ..)| known == key))
    {
        return Err(error(&format!("{path}.{unknown}"), "is not an allowed key"));
    }
    Ok(())
}

fn describe(kind: Kind) -> &'static str {
    match kind {
        Kind::Number => "must be a number",
        Kind::Text => "must be a string",
        Kind::Bool => "must be a boolean",
        Kind::NumberOrText => "must be a number or a string",
        Kind::AnyObject => "must be an object",
        Kind::VariableValue => "must be a number, a string, a boolean or an object",
        Kind::Shape(_) | Kind::Strict(_) => "must be an object",
        Kind::ArrayOf(_) | Kind::Numbers => "must be an array",
        Kind::Holdouts => "must be an array of holdouts, or {}",
    }
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

    #[test]
    fn a_webhook_validates_as_update_and_anything_else_as_fetch_by_name_too() {
        let notice = vwo_webhook::SettingsChanged::from_slice(
            br#"{"timestamp":1606482285,"event":"settings_changed"}"#,
        )
        .expect("notice");
        assert_eq!(
            Check::for_trigger(&vwo_webhook::Trigger::Webhook(notice)),
            Check::Update
        );
        assert_eq!(Check::for_trigger(&vwo_webhook::Trigger::SafetyNet), Check::Fetch);
        assert_eq!(Check::for_trigger(&vwo_webhook::Trigger::Manual), Check::Fetch);
        for check in [Check::Update, Check::Fetch] {
            assert_eq!(Check::from_name(check.name()), check);
        }
        assert_eq!(Check::from_name("anything else"), Check::Fetch);
    }

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
                "variations": [{"id": 1, "name": "Rollout", "weight": 100, "segments": {},
                                "variables": [{"id": 1, "type": "string", "key": "k", "value": "v"}]}]
            }]
        })
    }

    #[test]
    fn a_minimal_document_is_valid_and_extra_keys_are_allowed() {
        let mut document = minimal();
        document["somethingNew"] = json!({"x": 1});
        document["campaigns"][0]["extra"] = json!(null);
        assert_eq!(validate(&mut document, Check::Update), Ok(()));
    }

    #[test]
    fn holdouts_are_an_array_of_holdouts_or_an_empty_object_and_anything_else_refuses_the_file() {
        let holdout = json!({
            "id": 31, "name": "h", "segments": {}, "percentTraffic": 10, "isGlobal": false,
            "featureIds": [1], "metrics": [{"id": 5, "type": "CUSTOM_GOAL", "identifier": "m"}],
        });
        for holdouts in [json!({}), json!([]), json!([holdout.clone()])] {
            let mut document = minimal();
            document["holdouts"] = holdouts.clone();
            assert_eq!(validate(&mut document, Check::Update), Ok(()), "{holdouts}");
        }
        let mut unnamed = holdout.clone();
        unnamed.as_object_mut().expect("object").remove("name");
        for (holdouts, path) in [
            (json!({"31": holdout.clone()}), "$.holdouts"),
            (json!(null), "$.holdouts"),
            (json!([unnamed]), "$.holdouts[0].name"),
        ] {
            let mut document = minimal();
            document["holdouts"] = holdouts;
            let refused = validate(&mut document, Check::Update).expect_err("refused");
            assert_eq!(refused.path, path);
        }
        let mut text_feature_id = holdout;
        text_feature_id["featureIds"] = json!([1, "2"]);
        let mut document = minimal();
        document["holdouts"] = json!([text_feature_id]);
        let refused = validate(&mut document, Check::Update).expect_err("refused");
        assert_eq!(refused.path, "$.holdouts[0].featureIds[1]");
    }

    #[test]
    fn only_the_fetch_path_normalizes_empty_collections() {
        for empty in [
            json!({}),
            json!([]),
            Value::Null,
            json!(false),
            json!(0),
            json!(""),
            json!(true),
        ] {
            let mut document = json!({"version": 1, "accountId": 1, "features": empty, "campaigns": empty});
            assert_eq!(validate(&mut document, Check::Fetch), Ok(()), "{empty}");
            assert_eq!(
                (&document["features"], &document["campaigns"]),
                (&json!([]), &json!([]))
            );
        }
        // A missing `campaigns` is normalized too, on that path only.
        let mut document = json!({"version": 1, "accountId": 1});
        assert_eq!(validate(&mut document.clone(), Check::Fetch), Ok(()));
        assert_eq!(
            validate(&mut document, Check::Update).map_err(|e| e.path),
            Err("$.campaigns".to_owned())
        );
        // `updateSettings()` validates what it fetched as is: `{}` is not an array.
        let mut document = json!({"version": 1, "accountId": 1, "features": [], "campaigns": {}});
        assert_eq!(
            validate(&mut document, Check::Update).map_err(|e| e.to_string()),
            Err("invalid VWO settings: `$.campaigns` must be an array".to_owned())
        );
        // A non-empty string or object is kept, and refused, on both paths.
        for kept in [json!("x"), json!({"a": 1})] {
            let mut document = json!({"version": 1, "accountId": 1, "features": kept, "campaigns": []});
            assert!(validate(&mut document, Check::Fetch).is_err(), "{kept}");
        }
    }

    #[test]
    fn features_are_optional_and_arrays_count_as_objects() {
        let mut document = minimal();
        document.as_object_mut().expect("object").remove("features");
        assert_eq!(validate(&mut document, Check::Update), Ok(()));
        // superstruct's object() takes an array: an empty map serialized as `[]`.
        for pointer in [
            "/campaigns/0/segments",
            "/campaigns/0/variations/0/segments",
            "/campaigns/0/variations/0/variables/0/value",
            "/groups",
            "/campaignGroups",
        ] {
            let mut document = minimal();
            document["groups"] = json!({});
            document["campaignGroups"] = json!({});
            *document.pointer_mut(pointer).expect(pointer) = json!([]);
            assert_eq!(validate(&mut document, Check::Update), Ok(()), "{pointer}");
        }
    }

    #[test]
    fn sdk_meta_info_is_strict_and_usage_stats_a_number() {
        let accepted = [json!({}), json!({"wasInitializedEarlier": true}), json!([])];
        for meta in accepted {
            let mut document = minimal();
            document["sdkMetaInfo"] = meta.clone();
            assert_eq!(validate(&mut document, Check::Update), Ok(()), "{meta}");
        }
        let refused = [
            (json!({"other": 1}), "$.sdkMetaInfo.other"),
            (
                json!({"wasInitializedEarlier": "yes"}),
                "$.sdkMetaInfo.wasInitializedEarlier",
            ),
            (json!([1]), "$.sdkMetaInfo[0]"),
            (Value::Null, "$.sdkMetaInfo"),
        ];
        for (meta, path) in refused {
            let mut document = minimal();
            document["sdkMetaInfo"] = meta;
            assert_eq!(
                validate(&mut document, Check::Update).map_err(|e| e.path),
                Err(path.to_owned())
            );
        }
        let mut document = minimal();
        document["usageStatsAccountId"] = json!("42");
        assert_eq!(
            validate(&mut document, Check::Update).map_err(|e| e.path),
            Err("$.usageStatsAccountId".to_owned())
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
                Value::Null,
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
                Value::Null,
                "value` must be a number, a string, a boolean or an object",
            ),
        ];
        for (pointer, bad, expected) in cases {
            let mut document = minimal();
            *document.pointer_mut(pointer).expect(pointer) = bad;
            let message = validate(&mut document, Check::Update)
                .expect_err(pointer)
                .to_string();
            assert!(message.contains(expected), "{pointer}: {message}");
        }
    }

    #[test]
    fn missing_required_keys_are_named() {
        for (pointer, key) in [
            ("", "campaigns"),
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
            let error = validate(&mut document, Check::Update).expect_err(key);
            assert_eq!(error.problem, "is missing", "{key}");
            assert!(error.path.ends_with(&format!(".{key}")), "{}", error.path);
        }
    }

    #[test]
    fn a_rule_linked_to_a_rollout_without_variations_is_refused() {
        let mut document = minimal();
        document["campaigns"][0]["variations"] = json!([]);
        assert_eq!(
            validate(&mut document, Check::Update).map_err(|e| e.to_string()),
            Err(
                "invalid VWO settings: `$.features[0].rules[0]` links to a FLAG_ROLLOUT campaign \
                 without variations, which the SDK cannot index"
                    .to_owned()
            )
        );
        // Not linked (a string id never matches the numeric `campaignId`), or not a rollout:
        // the SDK indexes it without trouble.
        let mut unlinked = document.clone();
        unlinked["campaigns"][0]["id"] = json!("7");
        assert_eq!(validate(&mut unlinked, Check::Update), Ok(()));
        let mut testing = document.clone();
        testing["campaigns"][0]["type"] = json!("FLAG_TESTING");
        assert_eq!(validate(&mut testing, Check::Update), Ok(()));
    }

    #[test]
    fn a_non_object_document_is_refused() {
        for mut document in [json!("settings"), Value::Null, json!(7)] {
            assert_eq!(
                validate(&mut document, Check::Update).map_err(|e| e.path),
                Err("$".to_owned())
            );
        }
        // An array is an object to superstruct, with none of the required fields.
        assert_eq!(
            validate(&mut json!([]), Check::Update).map_err(|e| e.path),
            Err("$.version".to_owned())
        );
    }
}
