//! Flags for a service's own unit tests, without hand-written VWO settings: each flag on or
//! off, rolled out to a share of users or to those a custom variable names, A/B tested, with
//! its variables, written as a settings file VWO's SDKs accept.

use serde_json::{Map, Value, json};

use crate::flags::Flags;

/// Flags for unit tests: a valid VWO settings file built from a few lines.
///
/// ```
/// use vwo_webhook_flags::{Context, TestData, TestFlag, TestVariation};
///
/// let data = TestData::new()
///     .flag("new_checkout", TestFlag::on().variable("button_color", "green"))
///     .flag("dark_mode", TestFlag::off())
///     .flag("beta", TestFlag::on().when("plan", "pro"))
///     .flag("pricing", TestFlag::on().variable("price", 10).ab_test([
///         TestVariation::new("control", 50.0),
///         TestVariation::new("higher", 50.0).variable("price", 12),
///     ]));
/// let flags = data.flags();
/// let user = Context::new("user-1")?;
/// assert!(flags.get_flag("new_checkout", &user).is_enabled());
/// assert_eq!(flags.get_flag("new_checkout", &user).string_variable("button_color", "blue"), "green");
/// assert!(!flags.get_flag("dark_mode", &user).is_enabled());
/// assert!(!flags.get_flag("beta", &user).is_enabled());
/// assert!(flags.get_flag("beta", &user.clone().with_custom_variable("plan", "pro")).is_enabled());
///
/// // Flip a flag while the test runs.
/// data.flag("dark_mode", TestFlag::on()).update(&flags);
/// assert!(flags.get_flag("dark_mode", &user).is_enabled());
/// # Ok::<(), vwo_webhook_flags::ContextError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct TestData {
    flags: Vec<(String, TestFlag)>,
}

/// One flag of [`TestData`]: off, or on for the users its rollout takes (every user by
/// default), with its variables, and optionally A/B tested among those users.
#[derive(Debug, Clone)]
pub struct TestFlag {
    on: bool,
    variables: Vec<(String, Value)>,
    percent: u8,
    when: Vec<(String, String)>,
    variations: Vec<TestVariation>,
}

/// A variation of a [`TestFlag`]'s A/B test: its name, its share of the tested users, and the
/// variables it changes.
#[derive(Debug, Clone)]
pub struct TestVariation {
    name: String,
    weight: f64,
    variables: Vec<(String, Value)>,
}

impl TestVariation {
    /// A variation named `name` taking `weight` (a percentage) of the tested users.
    pub fn new(name: impl Into<String>, weight: f64) -> Self {
        Self {
            name: name.into(),
            weight,
            variables: Vec::new(),
        }
    }

    /// Sets the flag's variable `key` to `value` in this variation (the others keep the flag's
    /// value).
    pub fn variable(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.variables.push((key.into(), value.into()));
        self
    }
}

impl TestFlag {
    /// On for every user.
    pub fn on() -> Self {
        Self {
            on: true,
            variables: Vec::new(),
            percent: 100,
            when: Vec::new(),
            variations: Vec::new(),
        }
    }

    /// Off for every user (the feature has no rule).
    pub fn off() -> Self {
        Self {
            on: false,
            ..Self::on()
        }
    }

    /// Gives the flag the variable `key` (its VWO type follows the value: a boolean, an
    /// integer, a double, a string, or JSON for an array or object). Only an on flag's
    /// variables reach a decision, as in VWO.
    pub fn variable(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.variables.push((key.into(), value.into()));
        self
    }

    /// Rolls the flag out to `percent` of users (at most 100), bucketed by user id as VWO
    /// buckets them.
    pub fn rollout_percent(mut self, percent: u8) -> Self {
        self.percent = percent.min(100);
        self
    }

    /// Rolls the flag out only to users whose custom variable `name` is `value` (several
    /// calls: all of them).
    pub fn when(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.when.push((name.into(), value.into()));
        self
    }

    /// A/B tests `variations` among the users the rollout takes, by their weights.
    pub fn ab_test(mut self, variations: impl IntoIterator<Item = TestVariation>) -> Self {
        self.variations = variations.into_iter().collect();
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
    /// campaign whose one variation holds the variables, then its A/B test, if any.
    pub fn document(&self) -> Value {
        let mut features = Vec::new();
        let mut campaigns = Vec::new();
        for (index, (key, flag)) in self.flags.iter().enumerate() {
            let id = index + 1;
            let mut rules = Vec::new();
            if flag.on {
                let rollout_id = id * 10 + 1;
                let rule_key = "testDataRollout";
                // A rollout's share and audience are its one variation's, as VWO writes them.
                let variation = json!({
                    "id": 1, "name": "Rollout", "weight": flag.percent, "segments": segments(&flag.when),
                    "variables": variables(&flag.variables, &[]),
                });
                campaigns.push(campaign(
                    rollout_id,
                    key,
                    rule_key,
                    "FLAG_ROLLOUT",
                    vec![variation],
                ));
                rules.push(json!({"campaignId": rollout_id, "variationId": 1, "ruleKey": rule_key, "type": "FLAG_ROLLOUT"}));
                if !flag.variations.is_empty() {
                    let test_id = id * 10 + 2;
                    let rule_key = "testDataTest";
                    let variations: Vec<Value> = flag
                        .variations
                        .iter()
                        .enumerate()
                        .map(|(i, variation)| {
                            json!({
                                "id": i + 1, "name": variation.name, "weight": variation.weight, "segments": {},
                                "variables": variables(&flag.variables, &variation.variables),
                            })
                        })
                        .collect();
                    campaigns.push(campaign(test_id, key, rule_key, "FLAG_TESTING", variations));
                    rules.push(json!({"campaignId": test_id, "ruleKey": rule_key, "type": "FLAG_TESTING"}));
                }
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

    /// Makes `flags` decide on this data from now on: a test flips a flag while it runs.
    pub fn update(&self, flags: &Flags) {
        flags.install_document(&self.document());
    }
}

/// A running campaign of `kind` for the flag `key`'s rule `rule_key`, open to all traffic.
fn campaign(id: usize, key: &str, rule_key: &str, kind: &str, variations: Vec<Value>) -> Value {
    json!({
        "id": id,
        "key": format!("{key}_{rule_key}"),
        "name": format!("{key}_{rule_key}"),
        "type": kind,
        "status": "RUNNING",
        "percentTraffic": 100,
        "isForcedVariationEnabled": false,
        "segments": {},
        "variations": variations,
    })
}

/// The rollout's segments: every custom variable named equal to its value.
fn segments(when: &[(String, String)]) -> Value {
    if when.is_empty() {
        return json!({});
    }
    let all: Vec<Value> = when
        .iter()
        .map(|(name, value)| json!({"or": [{"custom_variable": {name.as_str(): value}}]}))
        .collect();
    json!({"and": all})
}

/// A variation's variables: the flag's, with `changed` values in place of its own.
fn variables(flag: &[(String, Value)], changed: &[(String, Value)]) -> Vec<Value> {
    flag.iter()
        .enumerate()
        .map(|(i, (name, value))| {
            let value = changed
                .iter()
                .rev()
                .find(|(k, _)| k == name)
                .map_or(value, |(_, v)| v);
            json!({"id": i + 1, "key": name, "type": kind(value), "value": value})
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Context;

    fn sample() -> TestData {
        TestData::new()
            .flag("on", TestFlag::on().variable("n", 1).variable("s", "x"))
            .flag("off", TestFlag::off().variable("n", 2))
            .flag("half", TestFlag::on().rollout_percent(50))
            .flag("pro", TestFlag::on().when("plan", "pro").when("seats", "10"))
            .flag(
                "ab",
                TestFlag::on().variable("color", "blue").ab_test([
                    TestVariation::new("control", 25.0),
                    TestVariation::new("green", 75.0).variable("color", "green"),
                ]),
            )
    }

    #[test]
    fn every_document_passes_the_settings_validator() {
        let mut document = sample().document();
        vwo_webhook_settings::validate(&mut document, vwo_webhook_settings::Check::Fetch)
            .expect("valid settings");
        assert!(Flags::from_valid_document(&sample().document()).is_ok());
        let mut typo = sample().document();
        typo["features"][0]["rules"] = json!("testDataRollout");
        let error = Flags::from_valid_document(&typo).expect_err("rules must be a list");
        assert!(error.to_string().contains("rules"), "{error}");
    }

    #[test]
    fn a_rollout_percent_takes_about_that_share_and_an_ab_test_splits_by_weight() {
        let flags = sample().flags();
        let users: Vec<Context> = (0..2_000)
            .map(|n| Context::new(format!("user-{n}")).expect("context"))
            .collect();
        let half = users
            .iter()
            .filter(|u| flags.get_flag("half", u).is_enabled())
            .count();
        assert!((850..1_150).contains(&half), "{half} of 2,000");
        let green = users
            .iter()
            .filter(|u| flags.get_flag("ab", u).string_variable("color", "") == "green")
            .count();
        assert!((1_400..1_600).contains(&green), "{green} of 2,000");
    }

    #[test]
    fn a_custom_variable_condition_needs_every_value() {
        let flags = sample().flags();
        let user = Context::new("u").expect("context");
        let both = user
            .clone()
            .with_custom_variable("plan", "pro")
            .with_custom_variable("seats", "10");
        assert!(flags.get_flag("pro", &both).is_enabled());
        assert!(
            !flags
                .get_flag("pro", &user.with_custom_variable("plan", "pro"))
                .is_enabled()
        );
    }
}
