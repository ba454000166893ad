//! What storage keeps of a decision, in the SDK's field names: the engine reads it to keep a
//! user's variation and writes it after a decision; the connectors that hold it are the
//! service side's ([`crate::Storage`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What is stored for one feature (or group) and one user, in the SDK's field names.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredDecision {
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
}
