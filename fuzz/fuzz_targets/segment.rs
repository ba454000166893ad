//! Any segment DSL against any context: the evaluator answers a verdict or "the SDK fails
//! here", and a whole decision on settings holding that segment answers a flag; neither
//! panics nor blocks. The input is JSON `[dsl, customVariables, context]`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use vwo_webhook_flags::{Context, Flags, evaluate_segment};

fuzz_target!(|data: &[u8]| {
    let Ok(Value::Array(parts)) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let dsl = parts.first().cloned().unwrap_or(Value::Null);
    let vars = parts.get(1).and_then(Value::as_object).cloned().unwrap_or_default();
    let _ = evaluate_segment(&dsl, &vars);
    let settings = json!({
        "version": 1, "accountId": 1, "campaigns": [
            {"id": 1, "type": "FLAG_ROLLOUT", "key": "f_r", "name": "r", "status": "RUNNING", "segments": {},
             "variations": [{"id": 1, "name": "v", "weight": 100, "segments": dsl.clone()}]},
            {"id": 2, "type": "FLAG_TESTING", "key": "f_t", "name": "t", "status": "RUNNING", "segments": dsl,
             "percentTraffic": 100, "isForcedVariationEnabled": true,
             "variations": [{"id": 1, "name": "a", "weight": 50, "segments": parts.get(3).cloned().unwrap_or(json!({}))},
                            {"id": 2, "name": "b", "weight": 50}]}],
        "features": [{"id": 1, "key": "f", "name": "f", "status": "ON", "type": "FEATURE_FLAG", "metrics": [],
                      "rules": [{"type": "FLAG_ROLLOUT", "ruleKey": "r", "campaignId": 1},
                                {"type": "FLAG_TESTING", "ruleKey": "t", "campaignId": 2}]}]
    });
    let flags = Flags::from_document(&settings);
    if let Ok(context) = Context::from_sdk_json(parts.get(2).unwrap_or(&json!({"id": "u"}))) {
        let flag = flags.get_flag("f", &context.with_custom_variables(vars));
        let _ = flag.variables().len();
    }
});
