//! The smallest settings with an A/B rule: one feature, `checkout`, whose testing rule `ab`
//! (campaign 7, `checkout_ab`) splits all traffic between variations 1 and 2.

use serde_json::{Value, json};

/// One feature with one A/B rule of two variations (50/50, all traffic), whose forced
/// variations are given by `forced` (each variation's whitelisting segments) and whose
/// rule segments are `segments`.
pub(crate) fn ab_settings(forced: [Value; 2], segments: Value) -> Value {
    let variation = |id: u64, forced: &Value| {
        json!({
            "id": id, "name": format!("v{id}"), "weight": 50, "segments": forced,
            "variables": [{"id": 1, "type": "string", "key": "color", "value": format!("color-{id}")}],
        })
    };
    json!({
        "version": 1, "accountId": 123456, "sdkKey": "key",
        "features": [{
            "id": 1, "key": "checkout", "name": "checkout", "status": "ON", "type": "FEATURE_FLAG",
            "metrics": [], "rules": [{"type": "FLAG_TESTING", "ruleKey": "ab", "campaignId": 7}],
        }],
        "campaigns": [{
            "id": 7, "key": "checkout_ab", "name": "checkout ab", "type": "FLAG_TESTING",
            "status": "RUNNING", "percentTraffic": 100, "isForcedVariationEnabled": true,
            "segments": segments,
            "variations": [variation(1, &forced[0]), variation(2, &forced[1])],
        }],
    })
}
