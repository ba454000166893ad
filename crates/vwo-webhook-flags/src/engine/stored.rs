//! What storage keeps of a decision, in the SDK's field names: the engine reads it to keep a
//! user's variation and writes it after a decision; the connectors that hold it are the
//! service side's ([`crate::Storage`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What is stored for one feature (or group) and one user, in the SDK's field names.
///
/// Since Node 1.36 a stored rollout or experiment is used only when `feature_id` names a
/// feature of the current settings; records an earlier version of this crate wrote have none,
/// so their users are decided anew (and stored again) after the upgrade.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredDecision {
    /// The feature's id, written with an enabled decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature_id: Option<Value>,
    /// The rollout rule's campaign id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout_id: Option<Value>,
    /// The rollout rule's campaign key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout_key: Option<Value>,
    /// The rollout's variation id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout_variation_id: Option<Value>,
    /// The experiment's campaign id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment_id: Option<Value>,
    /// The experiment's campaign key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment_key: Option<Value>,
    /// The experiment's variation id (`-1` for a group winner that is a testing rule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment_variation_id: Option<Value>,
    /// The holdouts that hold the user out of this feature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_in_holdout_id: Option<Value>,
    /// The holdouts evaluated for this feature that did not take the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_in_holdout_id: Option<Value>,
    /// `is_in_holdout_id` as records of SDKs before Node 1.40's release named it; read only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holdout_group_id: Option<Value>,
}

impl StoredDecision {
    /// `isInHoldoutId ?? holdoutGroupId`, when it holds a holdout (a non-empty array, or any
    /// other value JavaScript counts as true).
    pub(crate) fn in_holdouts(&self) -> Option<&Value> {
        let listed = match &self.is_in_holdout_id {
            None | Some(Value::Null) => self.holdout_group_id.as_ref(),
            given => given.as_ref(),
        }?;
        match listed {
            Value::Array(ids) if ids.is_empty() => None,
            Value::Array(_) => Some(listed),
            other => crate::engine::js::truthy(other).then_some(listed),
        }
    }

    /// The ids of an `isInHoldoutId` or `notInHoldoutId` list (`?? []`), as given.
    pub(crate) fn ids(list: Option<&Value>) -> &[Value] {
        match list {
            Some(Value::Array(ids)) => ids,
            _ => &[],
        }
    }
}
