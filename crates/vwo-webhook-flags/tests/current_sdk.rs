//! What VWO's SDKs decide differently since Node 1.35, one behaviour a test: the bucketing
//! seed, several matching forced variations, the user id's new name in segments, holdouts,
//! and what storage keeps. The
//! differential tests show the same against the SDKs themselves; these say which behaviour
//! broke when one fails.

use std::sync::Arc;

use serde_json::{Value, json};
use vwo_webhook_flags::{Context, Flags, MemoryStorage, Reason, Storage, StoredDecision};

#[path = "support/ab.rs"]
mod ab;
use ab::ab_settings;

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

/// Whether the checkout flag is on for the user `id` (no other context).
fn enabled_for(flags: &Flags, id: &str) -> bool {
    flags
        .get_flag("checkout", &Context::new(id).expect("id"))
        .is_enabled()
}

#[test]
fn segments_read_the_user_id_the_sdk_sets_as_wingify_user_id() {
    let on_new_name = json!({"custom_variable": {"_wingifyUserId": "u-1"}});
    let flags = Flags::from_document(&ab_settings([json!({}), json!({})], on_new_name));
    assert!(enabled_for(&flags, "u-1"));
    assert!(!enabled_for(&flags, "u-2"));

    // `_vwoUserId` is no longer set by the SDK: only the caller's own variable is read.
    let on_old_name = json!({"custom_variable": {"_vwoUserId": "u-1"}});
    let flags = Flags::from_document(&ab_settings([json!({}), json!({})], on_old_name));
    assert!(!enabled_for(&flags, "u-1"));
    let given = Context::new("u-2")
        .expect("id")
        .with_custom_variable("_vwoUserId", "u-1");
    assert!(flags.get_flag("checkout", &given).is_enabled());

    // The `user` operator reads the id the SDK sets.
    let user_list = json!({"user": "u-3, u-4"});
    let flags = Flags::from_document(&ab_settings([json!({}), json!({})], user_list));
    assert!(enabled_for(&flags, "u-4"));
    assert!(!enabled_for(&flags, "u-5"));
}

/// `settings` with one holdout: id 31, for feature 1 (or global), `traffic` percent, and
/// `segments`.
fn with_holdout(mut settings: Value, traffic: u32, global: bool, segments: Value) -> Value {
    let holdout = json!({
        "id": 31, "name": "spring holdout", "segments": segments, "percentTraffic": traffic,
        "isGlobal": global, "featureIds": if global { json!([]) } else { json!([1]) },
        "metrics": [{"id": 9, "type": "CUSTOM_GOAL", "identifier": "held_out_purchase"}],
    });
    settings["holdouts"] = json!([holdout]);
    settings
}

fn open_rule() -> Value {
    ab_settings([json!({}), json!({})], json!({}))
}

#[test]
fn a_user_a_holdout_takes_sees_the_feature_off_and_is_told_which_holdout() {
    for global in [false, true] {
        let flags = Flags::from_document(&with_holdout(open_rule(), 100, global, json!({})));
        let context = Context::new("u-1")
            .expect("id")
            .with_custom_variable("plan", "pro");
        let flag = flags.get_flag("checkout", &context);
        assert!(!flag.is_enabled());
        assert_eq!(flag.reason(), Reason::InHoldout);
        assert_eq!(flag.holdouts(), [json!(31)]);
        assert!(flag.holdout_evaluated());
        assert!(flag.variables().is_empty() && flag.experiment().is_none());
        let steps = flags.explain("checkout", &context).steps;
        assert!(
            steps
                .iter()
                .any(|s| s.contains("holdout 31 (spring holdout): the user is held out")),
            "{steps:?}"
        );
    }
}

#[test]
fn a_holdout_that_does_not_take_the_user_is_still_evaluated() {
    let flags = Flags::from_document(&with_holdout(open_rule(), 0, true, json!({})));
    let flag = flags.get_flag("checkout", &Context::new("u-1").expect("id"));
    assert!(flag.is_enabled() && flag.holdouts().is_empty());
    assert!(flag.holdout_evaluated(), "evaluated, not taken");
    let without = Flags::from_document(&open_rule()).get_flag("checkout", &Context::new("u-1").expect("id"));
    assert!(!without.holdout_evaluated(), "no holdout in the settings");
}

#[test]
fn a_holdout_takes_its_traffic_share_by_user_id_and_only_users_its_segments_match() {
    let flags = Flags::from_document(&with_holdout(open_rule(), 20, false, json!({})));
    let held: usize = (0..1000)
        .map(|i| {
            Context::new(format!("user-{i}"))
                .expect("id")
                .with_custom_variable("x", 1)
        })
        .filter(|c| flags.get_flag("checkout", c).reason() == Reason::InHoldout)
        .count();
    assert!((150..250).contains(&held), "about 20% of users held out: {held}");
    // The seed does not move a user in or out of a holdout.
    let seeded: usize = (0..1000)
        .map(|i| {
            Context::new(format!("user-{i}"))
                .expect("id")
                .with_custom_variable("x", 1)
                .with_bucketing_seed("one-household")
        })
        .filter(|c| flags.get_flag("checkout", c).reason() == Reason::InHoldout)
        .count();
    assert_eq!(seeded, held);

    let only_beta = json!({"custom_variable": {"plan": "beta"}});
    let flags = Flags::from_document(&with_holdout(open_rule(), 100, false, only_beta));
    let beta = Context::new("u-1")
        .expect("id")
        .with_custom_variable("plan", "beta");
    let pro = Context::new("u-1")
        .expect("id")
        .with_custom_variable("plan", "pro");
    assert_eq!(flags.get_flag("checkout", &beta).reason(), Reason::InHoldout);
    assert!(flags.get_flag("checkout", &pro).is_enabled());
    // Node reads no custom variables as `undefined` there, and fails: disabled, as it answers.
    let none = Context::new("u-1").expect("id");
    assert_eq!(
        flags.get_flag("checkout", &none).reason(),
        Reason::InvalidSettings
    );
}

#[test]
fn a_held_out_user_stays_held_out_from_storage_and_stored_decisions_name_their_feature() {
    let storage = Arc::new(MemoryStorage::new());
    let held = with_holdout(open_rule(), 100, false, json!({}));
    let flags = Flags::builder().storage(storage.clone()).document(&held).build();
    let context = Context::new("u-1")
        .expect("id")
        .with_custom_variable("plan", "pro");
    assert_eq!(flags.get_flag("checkout", &context).reason(), Reason::InHoldout);
    let stored = storage.get("checkout", "u-1").expect("stored");
    assert_eq!(stored.is_in_holdout_id, Some(json!([31])));
    // The holdout's traffic drops to 0: the stored decision still holds the user out.
    flags.install_document(&with_holdout(open_rule(), 0, false, json!({})));
    let flag = flags.get_flag("checkout", &context);
    assert_eq!(
        (flag.reason(), flag.holdouts()),
        (Reason::Stored, &[json!(31)][..])
    );
    // The holdout is gone from the settings: the user is decided anew, and the enabled
    // decision is stored with the feature's id (what the current SDK requires to use it).
    flags.install_document(&open_rule());
    assert!(flags.get_flag("checkout", &context).is_enabled());
    let stored = storage.get("checkout", "u-1").expect("stored");
    assert_eq!(stored.feature_id, Some(json!(1)));
    assert_eq!(stored.experiment_key, Some(json!("checkout_ab")));
}

#[test]
fn a_stored_decision_without_the_features_id_is_not_used() {
    let storage = Arc::new(MemoryStorage::new());
    // What an earlier version of this crate stored: no feature id, and a variation id the
    // settings' traffic would not give this user.
    let mut settings = open_rule();
    settings["campaigns"][0]["percentTraffic"] = json!(0);
    let old = StoredDecision {
        experiment_id: Some(json!(7)),
        experiment_key: Some(json!("checkout_ab")),
        experiment_variation_id: Some(json!(2)),
        ..StoredDecision::default()
    };
    storage.set("checkout", "u-1", old.clone());
    let flags = Flags::builder()
        .storage(storage.clone())
        .document(&settings)
        .build();
    let context = Context::new("u-1").expect("id");
    assert_eq!(
        flags.get_flag("checkout", &context).reason(),
        Reason::NoRulePassed
    );
    // The disabled decision is stored too (Node 1.40).
    let stored = storage.get("checkout", "u-1").expect("stored");
    assert_eq!(stored.experiment_key, None);
    assert_eq!(stored.not_in_holdout_id, Some(json!([])));

    storage.set(
        "checkout",
        "u-1",
        StoredDecision {
            feature_id: Some(json!(1)),
            ..old
        },
    );
    let flag = flags.get_flag("checkout", &context);
    assert_eq!(flag.reason(), Reason::Stored);
    assert!(flag.is_enabled());
}

#[test]
fn track_event_accepts_a_holdouts_metrics() {
    let flags = Flags::from_document(&with_holdout(open_rule(), 10, true, json!({})));
    let context = Context::new("u-1").expect("id");
    let track = |name: &str| flags.track_event(name, &context, serde_json::Map::new());
    assert!(track("held_out_purchase").is_ok());
    assert!(track("no_such_metric").is_err());
}

#[test]
fn campaign_variation_segments_read_the_users_web_testing_campaigns() {
    let flags_for = |operand: Value| {
        Flags::from_document(&ab_settings(
            [json!({}), json!({})],
            json!({"or": [{"campaignVariation": operand}]}),
        ))
    };
    // In campaign 101 with variation 2, and in 102 with variation 3 (given as a number).
    let as_object = Context::from_sdk_json(&json!({
        "id": "u-1", "platformVariables": {"webTestingCampaigns": {"101": "2", "102": 3}},
    }))
    .expect("context");
    let as_text = Context::from_sdk_json(&json!({
        "id": "u-1", "platformVariables": {"webTestingCampaigns": "{\"101\": \"2\", \"102\": 3}"},
    }))
    .expect("context");
    let mut campaigns = serde_json::Map::new();
    campaigns.insert("101".to_owned(), json!("2"));
    campaigns.insert("102".to_owned(), json!(3));
    let built = Context::new("u-1")
        .expect("id")
        .with_web_testing_campaigns(campaigns);
    for (operand, expected) in [
        (json!("101"), true),
        (json!(101), true),
        (json!(" 101_2 "), true),
        (json!("102_3"), true),
        (json!("101_3"), false),
        (json!("101_!3"), true),
        (json!("101_!2"), false),
        (json!("104_!2"), false),
        (json!("!101"), false),
        (json!("!104"), true),
        (json!("104"), false),
        (json!("abc"), false),
        (json!(""), false),
    ] {
        let flags = flags_for(operand.clone());
        for context in [&as_object, &as_text, &built] {
            assert_eq!(
                flags.get_flag("checkout", context).is_enabled(),
                expected,
                "{operand}"
            );
        }
    }
    // Without web testing campaigns, a tree holding `campaignVariation` anywhere is false,
    // even where its own logic would pass (`not`).
    let flags = Flags::from_document(&ab_settings(
        [json!({}), json!({})],
        json!({"not": {"campaignVariation": "101"}}),
    ));
    assert!(
        !flags
            .get_flag("checkout", &Context::new("u-1").expect("id"))
            .is_enabled()
    );
    let elsewhere = Context::new("u-1")
        .expect("id")
        .with_web_testing_campaigns(serde_json::Map::new());
    assert!(flags.get_flag("checkout", &elsewhere).is_enabled());
}
