//! The handle's promises: decisions follow the store, sticky decisions survive a change of
//! traffic, and the async storage path decides and stores exactly what the sync one does.

use std::sync::Arc;
use std::time::SystemTime;

use serde_json::{Value, json};
use vwo_webhook_flags::{
    AsyncStorage, BoxFuture, Context, Flag, Flags, MemoryStorage, Placement, Reason, RuleDecision, Storage,
    StoredDecision, TestData, TestFlag,
};
use vwo_webhook_settings::replication::StoreWrite;
use vwo_webhook_settings::{Check, SettingsStore, Snapshot, Source};

#[path = "support/ab.rs"]
mod ab;
use ab::ab_settings;

fn fixture(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/vwo-e2e/settings")
        .join(name);
    serde_json::from_slice(&std::fs::read(path).expect("fixture")).expect("JSON")
}

fn snapshot(document: &Value) -> Snapshot {
    Snapshot::parse(
        document.to_string().into(),
        Check::Update,
        Source::Origin,
        None,
        SystemTime::now(),
    )
    .expect("valid settings")
}

/// The fixture with every testing rule's traffic set to `traffic`.
fn with_testing_traffic(mut document: Value, traffic: u32) -> Value {
    for campaign in document["campaigns"].as_array_mut().expect("campaigns") {
        if campaign["type"] == "FLAG_TESTING" {
            campaign["percentTraffic"] = json!(traffic);
        }
    }
    document
}

#[test]
fn a_decision_after_the_store_changes_sees_the_change_even_without_a_runtime() {
    let store = Arc::new(SettingsStore::new());
    let flags = Flags::builder().follow(Arc::clone(&store));
    let context = Context::new("user_id").expect("id");
    assert_eq!(flags.get_flag("feature1", &context).reason(), Reason::NoSettings);
    let settings = fixture("NoRolloutAndOnlyTestingSettings.json");
    store.publish(snapshot(&with_testing_traffic(settings.clone(), 100)));
    assert!(flags.get_flag("feature1", &context).is_enabled());
    store.publish(snapshot(&with_testing_traffic(settings, 0)));
    let flag = flags.get_flag("feature1", &context);
    assert!(
        !flag.is_enabled(),
        "no task ran: the decision compiled the new settings itself"
    );
    assert_eq!(flag.reason(), Reason::NoRulePassed);
}

#[test]
fn a_stored_decision_outlives_a_change_of_traffic() {
    let storage = Arc::new(MemoryStorage::new());
    let settings = fixture("NoRolloutAndOnlyTestingSettings.json");
    let context = Context::new("sticky-user").expect("id");
    let first = Flags::builder()
        .storage(storage.clone())
        .document(&with_testing_traffic(settings.clone(), 100))
        .build();
    let flag = first.get_flag("feature1", &context);
    assert!(flag.is_enabled());
    let variation = flag.experiment().expect("an experiment").variation_id.clone();
    assert_eq!(storage.len(), 1);

    let closed = with_testing_traffic(settings, 0);
    assert!(
        !Flags::from_document(&closed)
            .get_flag("feature1", &context)
            .is_enabled(),
        "no traffic left"
    );
    let sticky = Flags::builder()
        .storage(storage.clone())
        .document(&closed)
        .build()
        .get_flag("feature1", &context);
    assert!(sticky.is_enabled(), "the stored variation is kept");
    assert_eq!(
        sticky.experiment().map(|e| e.variation_id.clone()),
        Some(variation)
    );
}

/// `MemoryStorage` behind an await, as a database would be.
struct Slow(MemoryStorage);

impl AsyncStorage for Slow {
    fn get<'a>(&'a self, key: &'a str, user_id: &'a str) -> BoxFuture<'a, Option<StoredDecision>> {
        Box::pin(async move {
            tokio::task::yield_now().await;
            self.0.get(key, user_id)
        })
    }

    fn set<'a>(&'a self, key: &'a str, user_id: &'a str, decision: StoredDecision) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            tokio::task::yield_now().await;
            self.0.set(key, user_id, decision);
        })
    }
}

#[tokio::test]
async fn the_async_path_decides_and_stores_what_the_sync_path_does() {
    for fixture_name in [
        "MegRandomAlgoCampaignSettings.json",
        "MegAdvanceAlgoCampaignSettings.json",
    ] {
        let settings = fixture(fixture_name);
        let sync_storage = Arc::new(MemoryStorage::new());
        let sync = Flags::builder()
            .storage(sync_storage.clone())
            .document(&settings)
            .build();
        let slow = Arc::new(Slow(MemoryStorage::new()));
        let asynchronous = Flags::builder()
            .async_storage(slow.clone())
            .document(&settings)
            .build();
        let features = ["feature1", "feature2", "feature3", "feature4"];
        for user in 0..200 {
            let context = Context::new(format!("user-{user}"))
                .expect("id")
                .with_custom_variable("price", 100)
                .with_custom_variable("name", "personalise");
            // Twice each: the second decision reads what the first stored.
            for _ in 0..2 {
                for feature in features {
                    let expected = sync.get_flag(feature, &context);
                    let got = asynchronous.get_flag_async(feature, &context).await;
                    assert_eq!(
                        got.is_enabled(),
                        expected.is_enabled(),
                        "{fixture_name} {feature} user-{user}"
                    );
                    assert_eq!(
                        got.experiment(),
                        expected.experiment(),
                        "{fixture_name} {feature} user-{user}"
                    );
                    assert_eq!(
                        got.rollout(),
                        expected.rollout(),
                        "{fixture_name} {feature} user-{user}"
                    );
                }
            }
        }
        assert_eq!(
            slow.0.len(),
            sync_storage.len(),
            "{fixture_name}: the same keys stored"
        );
        assert!(
            !sync_storage.is_empty(),
            "{fixture_name}: decisions and group winners were stored"
        );
    }
}

#[tokio::test]
async fn storage_is_configured_once_for_both_paths() {
    let settings = fixture("MegRandomAlgoCampaignSettings.json");
    let context = Context::new("user-7")
        .expect("id")
        .with_custom_variable("price", 100)
        .with_custom_variable("name", "personalise");

    // A storage that answers at once is read and written by the async path too.
    let memory = Arc::new(MemoryStorage::new());
    let flags = Flags::builder()
        .storage(memory.clone())
        .document(&settings)
        .build();
    let flag = flags.get_flag_async("feature1", &context).await;
    assert!(flag.is_enabled());
    assert!(!memory.is_empty(), "get_flag_async wrote the storage configured");

    // A storage that does I/O: the sync call says it cannot read it, rather than deciding
    // without it.
    let slow = Arc::new(Slow(MemoryStorage::new()));
    let flags = Flags::builder()
        .async_storage(slow.clone())
        .document(&settings)
        .build();
    let sync = flags.get_flag("feature1", &context);
    assert!(!sync.is_enabled());
    assert_eq!(sync.reason(), Reason::StorageNeedsAsync);
    assert_eq!(
        flags.explain("feature1", &context).flag.reason(),
        Reason::StorageNeedsAsync
    );
    assert!(slow.0.is_empty());
    let asynchronous = flags.get_flag_async("feature1", &context).await;
    assert!(asynchronous.is_enabled());
    assert!(!slow.0.is_empty(), "get_flag_async wrote the async storage");
}

#[test]
fn a_flag_says_how_its_rule_placed_the_user_and_flags_share_each_placements_record() {
    // Variation 2 forces users whose variation targeting variable `beta` is "yes".
    let settings = ab_settings(
        [json!({}), json!({"custom_variable": {"beta": "yes"}})],
        json!({}),
    );
    let storage = Arc::new(MemoryStorage::new());
    let flags = Flags::builder()
        .storage(storage.clone())
        .document(&settings)
        .build();
    let experiment = |flag: &Flag| flag.experiment().cloned().expect("the rule placed the user");
    let expected = |variation: u64, placement| RuleDecision {
        campaign_id: json!(7),
        key: Arc::from("checkout_ab"),
        variation_id: json!(variation),
        placement,
    };

    // Bucketed: two users who fall in variation 2 are told the same, from one shared record.
    let bucketed: Vec<Flag> = (0..100)
        .map(|i| flags.get_flag("checkout", &Context::new(format!("user-{i}")).expect("id")))
        .filter(|flag| {
            flag.experiment()
                .is_some_and(|rule| rule.variation_id == json!(2))
        })
        .take(2)
        .collect();
    assert_eq!(bucketed.len(), 2, "half the users fall in variation 2");
    assert_eq!(experiment(&bucketed[0]), expected(2, Placement::Bucketed));
    assert!(std::ptr::eq(
        bucketed[0].experiment().expect("placed"),
        bucketed[1].experiment().expect("placed")
    ));

    // Whitelisted into the same variation: its own record, never the bucketed one.
    let mut targeting = serde_json::Map::new();
    targeting.insert("beta".to_owned(), json!("yes"));
    let forced = Context::new("forced-user")
        .expect("id")
        .with_variation_targeting_variables(targeting);
    assert_eq!(
        experiment(&flags.get_flag("checkout", &forced)),
        expected(2, Placement::Whitelisted)
    );
    assert_eq!(
        experiment(&bucketed[0]).placement,
        Placement::Bucketed,
        "a flag already given is not changed by a later placement"
    );

    // Kept from storage: the stored ids, placed by storage.
    let again = Context::new("returning-user").expect("id");
    let first = experiment(&flags.get_flag("checkout", &again));
    let stored = experiment(&flags.get_flag("checkout", &again));
    assert_eq!(first.placement, Placement::Bucketed);
    assert_eq!(
        stored,
        RuleDecision {
            placement: Placement::Stored,
            ..first
        }
    );
}

#[test]
fn explain_names_the_rules_tried() {
    let flags = Flags::from_document(&fixture("RolloutAndTestingSettingsWithPreSegment.json"));
    let explained = flags.explain("feature1", &Context::new("user_id").expect("id"));
    let (flag, path) = (explained.flag, explained.steps);
    assert!(!flag.is_enabled());
    assert!(
        path.iter().any(|step| step.contains("segments failed")),
        "{path:?}"
    );
    let path = flags
        .explain("missing", &Context::new("user_id").expect("id"))
        .steps;
    assert_eq!(path, ["no feature `missing` in the settings"]);
}

/// A backtracking pattern in the settings and a long value from the caller: before, each such
/// decision took time exponential in the value's length (13.7 s for 24 characters), so this
/// test would not end.
#[test]
fn a_catastrophic_regex_segment_decides_at_once_whatever_the_value() {
    let mut settings = fixture("OnlyRolloutSettings.json");
    settings["campaigns"][0]["variations"][0]["segments"] =
        json!({"or": [{"custom_variable": {"name": "regex((a+)+b)"}}]});
    let store = Arc::new(SettingsStore::new());
    store.publish(snapshot(&settings));
    let flags = Flags::builder().follow(store);
    let decide = |value: String| {
        let context = Context::new("user_id")
            .expect("id")
            .with_custom_variable("name", value);
        flags.get_flag("feature1", &context).is_enabled()
    };
    for _ in 0..10 {
        assert!(!decide("a".repeat(100_000)));
    }
    assert!(decide(format!("{}b", "a".repeat(100_000))));
}

/// TestData writes a settings file VWO's validation accepts, and the flags decide as written:
/// every variable type, an off flag, a replaced flag.
#[test]
fn test_data_decides_as_written() {
    let data = TestData::new()
        .flag(
            "checkout",
            TestFlag::on()
                .variable("color", "green")
                .variable("seats", 3)
                .variable("ratio", 0.5)
                .variable("beta", true)
                .variable("limits", json!({"max": 10})),
        )
        .flag("dark_mode", TestFlag::on())
        .flag("dark_mode", TestFlag::off());
    let mut document = data.document();
    vwo_webhook_settings::validate(&mut document, vwo_webhook_settings::Check::Update)
        .expect("VWO's rules accept it");
    let flags = data.flags();
    let user = Context::new("anyone").expect("id");
    let checkout = flags.get_flag("checkout", &user);
    assert!(checkout.is_enabled());
    assert_eq!(checkout.reason(), Reason::Matched);
    assert_eq!(checkout.string_variable("color", ""), "green");
    assert_eq!(checkout.int_variable("seats", 0), 3);
    assert!((checkout.float_variable("ratio", 0.0) - 0.5).abs() < f64::EPSILON);
    assert!(checkout.bool_variable("beta", false));
    assert_eq!(checkout.json_variable("limits", Value::Null), json!({"max": 10}));
    let kinds: Vec<_> = checkout
        .variables()
        .iter()
        .map(|v| v.kind().map(str::to_owned))
        .collect();
    assert_eq!(
        kinds,
        ["string", "integer", "double", "boolean", "json"].map(|k| Some(k.to_owned()))
    );
    let dark = flags.get_flag("dark_mode", &user);
    assert!(!dark.is_enabled());
    assert_eq!(dark.reason(), Reason::NoRulePassed);
    assert_eq!(flags.get_flag("unknown", &user).reason(), Reason::UnknownFeature);
}
