//! What `get_flag` answers: on or off, the variation's variables, and which rules decided.

use std::sync::Arc;

use serde_json::Value;

use crate::engine::variable::Variable;

/// A rule that decided the flag: its campaign and the variation the user got.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleDecision {
    /// The campaign's id (a number in VWO's settings).
    pub campaign_id: Value,
    /// The campaign's key (`<feature>_<rule>`), shared with the compiled settings.
    pub key: Arc<str>,
    /// The variation's id.
    pub variation_id: Value,
    /// How the rule put the user in it: bucketed now, whitelisted, or kept from storage.
    pub placement: Placement,
}

/// How a rule put the user in its variation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Placement {
    /// Traffic and bucketing, in this decision.
    Bucketed,
    /// Whitelisting: the user's variation targeting variables matched a variation's segments.
    Whitelisted,
    /// A decision kept in storage from an earlier one.
    Stored,
}

/// Why the flag is what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// A rollout or an experiment put the user in a variation.
    Matched,
    /// A stored decision answered, before any rule was evaluated: an experiment's variation,
    /// or a holdout's (then [`Flag::holdouts`] names it and the flag is off).
    Stored,
    /// No rule's segments and traffic took the user.
    NoRulePassed,
    /// The settings have no feature with that key.
    UnknownFeature,
    /// No settings have been loaded yet.
    NoSettings,
    /// The SDK would have failed on these settings (a rule without variations, a group the
    /// settings do not define, a malformed segment): it answers disabled, and so do we.
    InvalidSettings,
    /// Storage that does I/O ([`crate::AsyncStorage`]) is configured, and only
    /// [`crate::Flags::get_flag_async`] can read it: the synchronous call decided nothing.
    StorageNeedsAsync,
    /// A holdout holds the user out of the feature ([`Flag::holdouts`] names it): VWO
    /// compares these users, who see the feature off, with the others.
    InHoldout,
}

/// The answer for one feature and one user.
#[derive(Debug, Clone)]
pub struct Flag {
    pub(super) enabled: bool,
    /// The variation's variables (shared with the compiled settings); empty when off.
    pub(super) variables: Option<Arc<[Variable]>>,
    /// Shared with the compiled settings (a rule decided by storage has its own).
    pub(super) rollout: Option<Arc<RuleDecision>>,
    pub(super) experiment: Option<Arc<RuleDecision>>,
    pub(super) reason: Reason,
    /// The holdouts that hold the user out (`None` unless a holdout does).
    pub(super) holdouts: Option<Box<[Value]>>,
    /// Whether this decision evaluated a holdout of the feature (held out or not).
    pub(super) holdout_evaluated: bool,
}

impl Flag {
    pub(crate) fn without_settings() -> Self {
        Self::off(Reason::NoSettings)
    }

    /// Off: the synchronous call cannot read the storage configured.
    pub(crate) fn storage_needs_async() -> Self {
        Self::off(Reason::StorageNeedsAsync)
    }

    /// Off, as the SDK answers where it throws.
    pub(crate) fn invalid_settings() -> Self {
        Self::off(Reason::InvalidSettings)
    }

    /// A flag that only carries `reason`, for the service side's tests.
    #[cfg(test)]
    pub(crate) fn for_reason(reason: Reason) -> Self {
        Self::off(reason)
    }

    fn off(reason: Reason) -> Self {
        Self {
            enabled: false,
            variables: None,
            rollout: None,
            experiment: None,
            reason,
            holdouts: None,
            holdout_evaluated: false,
        }
    }

    /// Whether the flag is on for the user.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// Why.
    pub fn reason(&self) -> Reason {
        self.reason
    }

    /// The rollout rule that passed, if any.
    pub fn rollout(&self) -> Option<&RuleDecision> {
        self.rollout.as_deref()
    }

    /// The experiment (testing or personalize rule) that bucketed the user, if any.
    pub fn experiment(&self) -> Option<&RuleDecision> {
        self.experiment.as_deref()
    }

    /// Whether this decision evaluated a holdout that applies to the feature, holding the
    /// user out or not (the SDK's `isHoldoutPresent`); holdouts added after a stored decision
    /// are only reported, not evaluated.
    pub fn holdout_evaluated(&self) -> bool {
        self.holdout_evaluated
    }

    /// The ids of the holdouts that hold the user out of the feature (the flag is then off,
    /// for [`Reason::InHoldout`], or [`Reason::Stored`] when storage said so); empty otherwise.
    pub fn holdouts(&self) -> &[Value] {
        self.holdouts.as_deref().unwrap_or_default()
    }

    /// The variation's variables, in the settings' order (empty when the flag is off).
    pub fn variables(&self) -> &[Variable] {
        self.variables.as_deref().unwrap_or(&[])
    }

    /// A variable's value, whatever its type (the SDK's `getVariable(key)`).
    pub fn variable(&self, key: &str) -> Option<&Value> {
        self.variables()
            .iter()
            .find(|v| v.key() == Some(key))
            .map(Variable::value)
    }

    /// A boolean variable, or `default` when it is absent or not a boolean.
    pub fn bool_variable(&self, key: &str, default: bool) -> bool {
        self.variable(key).and_then(Value::as_bool).unwrap_or(default)
    }

    /// An integer variable, or `default` when it is absent or not an integer.
    pub fn int_variable(&self, key: &str, default: i64) -> i64 {
        self.variable(key).and_then(Value::as_i64).unwrap_or(default)
    }

    /// A number variable, or `default` when it is absent or not a number.
    pub fn float_variable(&self, key: &str, default: f64) -> f64 {
        self.variable(key).and_then(Value::as_f64).unwrap_or(default)
    }

    /// A string variable, or `default` when it is absent or not a string.
    pub fn string_variable(&self, key: &str, default: &str) -> String {
        self.variable(key)
            .and_then(Value::as_str)
            .unwrap_or(default)
            .to_owned()
    }

    /// A JSON variable (any value), or `default` when it is absent.
    pub fn json_variable(&self, key: &str, default: Value) -> Value {
        self.variable(key).cloned().unwrap_or(default)
    }

    /// The answer as one JSON object, the shape `vwo-webhook flag --cases` prints and the
    /// examples' `GET /flags/{feature}` serves: `{"feature_key", "enabled", "variables":
    /// {key: value}, "rollout": {"campaign_id", "key", "variation_id"} | null, "experiment": ..
    /// | null}`, and `"holdouts": [ids]` when holdouts hold the user out.
    pub fn to_json(&self, feature_key: &str) -> Value {
        let rule = |r: Option<&RuleDecision>| {
            r.map_or(
                Value::Null,
                |r| serde_json::json!({"campaign_id": r.campaign_id, "key": &*r.key, "variation_id": r.variation_id}),
            )
        };
        let mut json = serde_json::json!({
            "feature_key": feature_key,
            "enabled": self.enabled,
            "variables": Value::Object(self.variables_json()),
            "rollout": rule(self.rollout()),
            "experiment": rule(self.experiment()),
        });
        if !self.holdouts().is_empty() {
            json["holdouts"] = Value::Array(self.holdouts().to_vec());
        }
        json
    }

    /// The variables as one JSON object, `key: value`.
    pub fn variables_json(&self) -> serde_json::Map<String, Value> {
        self.variables()
            .iter()
            .map(|v| (v.key_text(), v.value().clone()))
            .collect()
    }
}
