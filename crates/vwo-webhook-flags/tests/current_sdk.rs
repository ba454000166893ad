//! What VWO's SDKs decide differently since Node 1.35, one behaviour a test: the bucketing
//! seed, several matching forced variations, and the user id's new name in segments. The
//! differential tests show the same against the SDKs themselves; these say which behaviour
//! broke when one fails.

use serde_json::{Value, json};
use vwo_webhook_flags::{Context, Flags};

/// One feature with one A/B rule of two variations (50/50, all traffic), whose forced
/// variations are given by `forced` (each variation's whitelisting segments) and whose
/// rule segments are `segments`.
fn ab_settings(forced: [Value; 2], segments: Value) -> Value {
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

fn variation_of(flags: &Flags, context: &Context) -> Option<String> {
    let flag = flags.get_flag("checkout", context);
    flag.experiment().map(|rule| rule.variation_id.to_string())
}

#[test]
fn users_given_one_bucketing_seed_share_their_variation() {
    let flags = Flags::from_document(&ab_settings([json!({}), json!({})], json!({})));
    let users = (0..200).map(|i| format!("user-{i}"));
    let unseeded: std::collections::BTreeSet<_> = users
        .clone()
        .map(|id| variation_of(&flags, &Context::new(id).expect("id")))
        .collect();
    assert_eq!(
        unseeded.len(),
        2,
        "without a seed, users spread over both variations"
    );
    let seeded: std::collections::BTreeSet<_> = users
        .map(|id| {
            variation_of(
                &flags,
                &Context::new(id).expect("id").with_bucketing_seed("household-9"),
            )
        })
        .collect();
    assert_eq!(seeded.len(), 1, "one seed, one variation: {seeded:?}");
}

#[test]
fn a_blank_or_non_text_bucketing_seed_is_ignored_as_the_sdk_ignores_it() {
    for seed in [
        json!(""),
        json!("   "),
        json!(42),
        json!({"a": 1}),
        json!([1]),
        json!(null),
        json!(false),
    ] {
        let context = Context::from_sdk_json(&json!({"id": "u-1", "bucketingSeed": seed})).expect("context");
        assert_eq!(context.bucketing_id(), "u-1", "seed {seed}");
    }
    let context = Context::from_sdk_json(&json!({"id": "u-1", "bucketingSeed": " s "})).expect("context");
    assert_eq!(context.bucketing_id(), " s ", "a seed is used as given");
    let context = Context::from_sdk_json(&json!({"id": "u-1", "bucketingSeed": true})).expect("context");
    assert_eq!(context.bucketing_id(), "true", "Node keeps `true`, as its text");
    assert_eq!(
        Context::new("u-1")
            .expect("id")
            .with_bucketing_seed(" ")
            .bucketing_id(),
        "u-1"
    );
}

#[test]
fn several_matching_forced_variations_bucket_the_user_among_them() {
    // Both variations force users whose variation targeting variable `beta` is "yes".
    let forced = json!({"custom_variable": {"beta": "yes"}});
    // No user passes the rule's own segments: only forced variations can place one.
    let nobody = json!({"custom_variable": {"never": "set"}});
    let flags = Flags::from_document(&ab_settings([forced.clone(), forced], nobody));
    let mut variations = std::collections::BTreeSet::new();
    for i in 0..100 {
        let mut targeting = serde_json::Map::new();
        targeting.insert("beta".to_owned(), json!("yes"));
        let context = Context::new(format!("user-{i}"))
            .expect("id")
            .with_variation_targeting_variables(targeting);
        let flag = flags.get_flag("checkout", &context);
        assert!(
            flag.is_enabled(),
            "user-{i} is forced into a variation, not refused"
        );
        variations.insert(variation_of(&flags, &context));
    }
    assert_eq!(
        variations.len(),
        2,
        "the matching variations share the users by weight"
    );
}

#[test]
fn segments_read_the_user_id_the_sdk_sets_as_wingify_user_id() {
    let on_new_name = json!({"custom_variable": {"_wingifyUserId": "u-1"}});
    let flags = Flags::from_document(&ab_settings([json!({}), json!({})], on_new_name));
    assert!(
        flags
            .get_flag("checkout", &Context::new("u-1").expect("id"))
            .is_enabled()
    );
    assert!(
        !flags
            .get_flag("checkout", &Context::new("u-2").expect("id"))
            .is_enabled()
    );

    // `_vwoUserId` is no longer set by the SDK: only the caller's own variable is read.
    let on_old_name = json!({"custom_variable": {"_vwoUserId": "u-1"}});
    let flags = Flags::from_document(&ab_settings([json!({}), json!({})], on_old_name));
    assert!(
        !flags
            .get_flag("checkout", &Context::new("u-1").expect("id"))
            .is_enabled()
    );
    let given = Context::new("u-2")
        .expect("id")
        .with_custom_variable("_vwoUserId", "u-1");
    assert!(flags.get_flag("checkout", &given).is_enabled());

    // The `user` operator reads the id the SDK sets.
    let user_list = json!({"user": "u-3, u-4"});
    let flags = Flags::from_document(&ab_settings([json!({}), json!({})], user_list));
    assert!(
        flags
            .get_flag("checkout", &Context::new("u-4").expect("id"))
            .is_enabled()
    );
    assert!(
        !flags
            .get_flag("checkout", &Context::new("u-5").expect("id"))
            .is_enabled()
    );
}
