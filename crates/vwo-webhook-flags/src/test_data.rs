//! Flags for a service's own unit tests, without hand-written VWO settings: each flag on or
//! off, with its variables, written as a settings file VWO's SDKs accept.

use serde_json::{Map, Value, json};

use crate::flags::Flags;

/// Flags for unit tests: a valid VWO settings file built from a few lines.
///
/// ```
/// use vwo_webhook_flags::{Context, TestData, TestFlag};
///
/// let flags = TestData::new()
///     .flag("new_checkout", TestFlag::on().variable("button_color", "green"))
///     .flag("dark_mode", TestFlag::off())
///     .flags();
/// let user = Context::new("user-1")?;
/// assert!(flags.get_flag("new_checkout", &user).is_enabled());
/// assert_eq!(flags.get_flag("new_checkout", &user).string_variable("button_color", "blue"), "green");
/// assert!(!flags.get_flag("dark_mode", &user).is_enabled());
/// # Ok::<(), vwo_webhook_flags::ContextError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct TestData {
    flags: Vec<(String, TestFlag)>,
}

/// One flag of [`TestData`]: on for every user (a rollout to all) with its variables, or off.
#[derive(Debug, Clone)]
pub struct TestFlag {
    on: bool,
    variables: Vec<(String, Value)>,
}

impl TestFlag {
    /// On for every user.
    pub fn on() -> Self {
        Self {
            on: true,
            variables: Vec::new(),
        }
    }

    /// Off for every user (the feature has no rule).
    pub fn off() -> Self {
        Self {
            on: false,
            variables: Vec::new(),
        }
    }

    /// Gives the flag the variable `key` (its VWO type follows the value: a boolean, an
    /// integer, a double, a string, or JSON for an array or object). Only an on flag's
    /// variables reach a decision, as in VWO.
    pub fn variable(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.variables.push((key.into(), value.into()));
        self
    }
}

impl TestData {
    /// No flags yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the flag `key`.
    pub fn flag(mut self, key: impl Into<String>, flag: TestFlag) -> Self {
        let key = key.into();
        self.flags.retain(|(k, _)| *k != key);
        self.flags.push((key, flag));
        self
    }

    /// The settings file: account 123456, a feature per flag, and for an on flag a rollout
    /// campaign whose one variation holds the variables.
    pub fn document(&self) -> Value {
        let mut features = Vec::new();
        let mut campaigns = Vec::new();
        for (index, (key, flag)) in self.flags.iter().enumerate() {
            let id = index + 1;
            let mut rules = Vec::new();
            if flag.on {
                let rule_key = "testDataRollout";
                let variables: Vec<Value> = flag
                    .variables
                    .iter()
                    .enumerate()
                    .map(|(i, (name, value))| {
                        json!({"id": i + 1, "key": name, "type": kind(value), "value": value})
                    })
                    .collect();
                campaigns.push(json!({
                    "id": id,
                    "key": format!("{key}_{rule_key}"),
                    "name": format!("{key}_{rule_key}"),
                    "type": "FLAG_ROLLOUT",
                    "status": "RUNNING",
                    "isForcedVariationEnabled": false,
                    "segments": {},
                    "variations": [{
                        "id": 1, "name": "Rollout", "weight": 100, "segments": {},
                        "variables": variables,
                    }],
                }));
                rules.push(
                    json!({"campaignId": id, "variationId": 1, "ruleKey": rule_key, "type": "FLAG_ROLLOUT"}),
                );
            }
            features.push(json!({
                "id": id,
                "key": key,
                "name": key,
                "status": "ON",
                "type": "FEATURE_FLAG",
                "impactCampaign": {},
                "metrics": [],
                "rules": rules,
            }));
        }
        let mut document = Map::new();
        document.insert("version".to_owned(), json!(1));
        document.insert("accountId".to_owned(), json!(123_456));
        document.insert("sdkKey".to_owned(), json!("test-data"));
        document.insert("features".to_owned(), Value::Array(features));
        document.insert("campaigns".to_owned(), Value::Array(campaigns));
        Value::Object(document)
    }

    /// Flags deciding on [`TestData::document`].
    pub fn flags(&self) -> Flags {
        Flags::from_document(&self.document())
    }
}

/// A variable's VWO type, from its value.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "double",
        Value::String(_) => "string",
        Value::Null | Value::Array(_) | Value::Object(_) => "json",
    }
}
