//! The SDK's `integrations` callback: what each decision passes to it, and a call that a
//! panicking hook cannot break.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::engine::{Flag, RuleDecision};

/// What the SDK's `integrations` callback receives after a decision: for forwarding decisions
/// to a warehouse or an analytics tool. See [`ClientBuilder::on_decision`](crate::ClientBuilder::on_decision).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DecisionInfo {
    /// The feature asked for (`featureKey`).
    pub feature_key: String,
    /// Its id in the settings (`featureId`), when the settings define it.
    pub feature_id: Option<Value>,
    /// The user (`userId`).
    pub user_id: String,
    /// Whether the flag is on.
    pub enabled: bool,
    /// The rollout rule that passed (`rolloutId`, `rolloutKey`, `rolloutVariationId`).
    pub rollout: Option<RuleDecision>,
    /// The experiment that bucketed the user (`experimentId`, `experimentKey`,
    /// `experimentVariationId`).
    pub experiment: Option<RuleDecision>,
    /// The holdouts that hold the user out (`holdoutIDs`; `isPartOfHoldout` when not empty).
    pub holdout_ids: Vec<Value>,
    /// Whether a holdout of the feature was evaluated, holding the user out or not
    /// (`isHoldoutPresent`).
    pub holdout_present: bool,
}

impl DecisionInfo {
    pub(crate) fn new(feature_key: &str, feature_id: Option<Value>, user_id: &str, flag: &Flag) -> Self {
        Self {
            feature_key: feature_key.to_owned(),
            feature_id,
            user_id: user_id.to_owned(),
            enabled: flag.is_enabled(),
            rollout: flag.rollout().cloned(),
            experiment: flag.experiment().cloned(),
            holdout_ids: flag.holdouts().to_vec(),
            holdout_present: flag.holdout_evaluated(),
        }
    }

    /// The object the SDK passes to its callback, in its names (`featureKey`, `featureId`,
    /// `userId`, `api`, `isPartOfHoldout`, `isHoldoutPresent`, `isUserPartOfCampaign`,
    /// `holdoutIDs`, the rule keys and variation ids).
    pub fn to_sdk_json(&self) -> Value {
        let mut object = Map::new();
        object.insert("featureKey".into(), json!(self.feature_key));
        if let Some(id) = &self.feature_id {
            object.insert("featureId".into(), id.clone());
        }
        object.insert("userId".into(), json!(self.user_id));
        object.insert("api".into(), json!("getFlag"));
        object.insert("isPartOfHoldout".into(), json!(!self.holdout_ids.is_empty()));
        object.insert("isHoldoutPresent".into(), json!(self.holdout_present));
        object.insert(
            "isUserPartOfCampaign".into(),
            json!(self.rollout.is_some() || self.experiment.is_some()),
        );
        object.insert("holdoutIDs".into(), Value::Array(self.holdout_ids.clone()));
        for (prefix, rule) in [("rollout", &self.rollout), ("experiment", &self.experiment)] {
            if let Some(rule) = rule {
                object.insert(format!("{prefix}Id"), rule.campaign_id.clone());
                object.insert(format!("{prefix}Key"), json!(&*rule.key));
                object.insert(format!("{prefix}VariationId"), rule.variation_id.clone());
            }
        }
        Value::Object(object)
    }
}

/// A hook called after every decision.
pub(crate) type Hook = Arc<dyn Fn(&DecisionInfo) + Send + Sync>;

/// Calls `hook`; a panic in it is caught and logged, so the decision it follows stands.
pub(crate) fn call(hook: &Hook, info: &DecisionInfo) {
    if catch_unwind(AssertUnwindSafe(|| hook(info))).is_err() {
        metrics::counter!(HOOK_PANICS).increment(1);
        tracing::error!(feature = %info.feature_key, "the decision hook panicked; the decision stands");
    }
}

/// Counts the decision hooks that panicked.
pub(crate) const HOOK_PANICS: &str = "vwo_webhook_flags_hook_panics_total";
