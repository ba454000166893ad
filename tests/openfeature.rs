//! The flags crate's OpenFeature provider, used through OpenFeature's client API as an
//! application would: every answer is the one `Flags::get_flag` gives for the same user.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use open_feature::{EvaluationContext, EvaluationErrorCode, EvaluationReason, OpenFeature};
use std::time::SystemTime;

use vwo_webhook_flags::{Context, Flags, Storage, StoredDecision, VwoProvider};
use vwo_webhook_settings::replication::StoreWrite;
use vwo_webhook_settings::{Check, SettingsStore, Snapshot, Source};

/// Storage that keeps nothing and counts the decisions of `feature1`: each reads its stored
/// decision once.
#[derive(Default)]
struct Decisions(AtomicUsize);

impl Storage for Decisions {
    fn get(&self, key: &str, _: &str) -> Option<StoredDecision> {
        if key == "feature1" {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
        None
    }

    fn set(&self, _: &str, _: &str, _: StoredDecision) {}
}

fn settings() -> serde_json::Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/vwo-webhook-flags/testdata/vwo-e2e/settings/RolloutAndTestingSettings.json");
    serde_json::from_slice(&std::fs::read(path).expect("fixture")).expect("JSON")
}

/// Sets `provider` as OpenFeature's (waiting for its `initialize`), and a client of it.
async fn provide(provider: VwoProvider) -> open_feature::Client {
    OpenFeature::singleton_mut().await.set_provider(provider).await;
    OpenFeature::singleton().await.create_client()
}

// One test: OpenFeature's API is a process-wide singleton.
#[tokio::test]
async fn the_provider_answers_through_the_openfeature_client() {
    let decisions = Arc::new(Decisions::default());
    let flags = Arc::new(
        Flags::builder()
            .storage(decisions.clone())
            .document(&settings())
            .build(),
    );
    let client = provide(VwoProvider::new(Arc::clone(&flags))).await;
    let user = |key: Option<&str>| {
        let context = EvaluationContext::default()
            .with_targeting_key("user_id")
            .with_custom_field("price", 200);
        match key {
            Some(key) => context.with_custom_field("key", key),
            None => context,
        }
    };
    let expected = flags.get_flag(
        "feature1",
        &Context::new("user_id")
            .expect("id")
            .with_custom_variable("price", 200),
    );
    assert!(expected.is_enabled());
    let decided_before = decisions.0.load(Ordering::SeqCst);

    // Without a variable key, a boolean is whether the flag is on.
    let on = client
        .get_bool_details("feature1", Some(&user(None)), None)
        .await
        .expect("resolved");
    assert!(on.value);
    assert_eq!(on.reason, Some(EvaluationReason::TargetingMatch));
    let variant = expected
        .experiment()
        .map(|e| format!("{}:{}", e.key, e.variation_id));
    assert_eq!(on.variant, variant);

    // With one, each typed getter reads that variable.
    let number = client
        .get_int_value("feature1", Some(&user(Some("int"))), None)
        .await
        .expect("int");
    assert_eq!(number, expected.int_variable("int", -1));
    let float = client
        .get_float_value("feature1", Some(&user(Some("float"))), None)
        .await
        .expect("float");
    assert_eq!(float, expected.float_variable("float", -1.0));
    let text = client
        .get_string_value("feature1", Some(&user(Some("string"))), None)
        .await
        .expect("string");
    assert_eq!(text, expected.string_variable("string", "-"));
    let boolean = client
        .get_bool_value("feature1", Some(&user(Some("boolean"))), None)
        .await
        .expect("bool");
    assert_eq!(boolean, expected.bool_variable("boolean", !boolean));
    let json = client
        .get_struct_details::<open_feature::StructValue>("feature1", Some(&user(Some("json"))), None)
        .await;
    let json = json.expect("json").value;
    assert_eq!(json.fields.get("name").and_then(|v| v.as_str()), Some("VWO"));
    // One decision (and so one impression) for each of the six answers.
    assert_eq!(decisions.0.load(Ordering::SeqCst) - decided_before, 6);

    // The wrong type, an unknown variable or feature, and a missing user are errors, and the
    // client answers the caller's default.
    let wrong = client
        .get_int_details("feature1", Some(&user(Some("string"))), None)
        .await;
    assert_eq!(
        wrong.expect_err("a string is not an integer").code,
        EvaluationErrorCode::FlagNotFound
    );
    let unknown = client
        .get_bool_details("no_such_feature", Some(&user(None)), None)
        .await;
    assert_eq!(
        unknown.expect_err("unknown").code,
        EvaluationErrorCode::FlagNotFound
    );
    let anonymous = client
        .get_bool_details("feature1", Some(&EvaluationContext::default()), None)
        .await;
    assert_eq!(
        anonymous.expect_err("no user").code,
        EvaluationErrorCode::TargetingKeyMissing
    );
    assert!(
        !client
            .get_bool_value("no_such_feature", Some(&user(None)), None)
            .await
            .unwrap_or(false)
    );

    // Before any settings, the provider is not ready.
    let client = provide(VwoProvider::new(Arc::new(Flags::new()))).await;
    let early = client.get_bool_details("feature1", Some(&user(None)), None).await;
    assert_eq!(
        early.expect_err("not ready").code,
        EvaluationErrorCode::ProviderNotReady
    );

    // Following a store: setting the provider waits for the store's first settings.
    let store = Arc::new(SettingsStore::new());
    let flags = Flags::builder().follow(Arc::clone(&store));
    let publisher = Arc::clone(&store);
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let raw = serde_json::to_vec(&settings()).expect("JSON");
        let snapshot = Snapshot::parse(raw.into(), Check::Update, Source::Origin, None, SystemTime::now())
            .expect("valid settings");
        publisher.publish(snapshot);
    });
    let client = provide(VwoProvider::new(Arc::clone(&flags))).await;
    let ready = client.get_bool_details("feature1", Some(&user(None)), None).await;
    assert!(ready.expect("resolved once the settings arrived").value);

    // Without settings within its timeout, the provider is set but not ready.
    let empty = Flags::builder().follow(Arc::new(SettingsStore::new()));
    let client =
        provide(VwoProvider::new(empty).initialization_timeout(std::time::Duration::from_millis(50))).await;
    let late = client.get_bool_details("feature1", Some(&user(None)), None).await;
    assert_eq!(
        late.expect_err("not ready").code,
        EvaluationErrorCode::ProviderNotReady
    );

    // Built from a client: its decisions call the client's hook, once per resolve.
    let origin =
        vwo_webhook_testkit::Origin::start(&serde_json::to_string(&settings()).expect("JSON"), "\"v1\"")
            .await
            .expect("origin");
    let hooked = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hooked);
    let vwo = vwo_webhook_flags::Client::builder("12345", vwo_webhook_flags::SdkKey::new("of-key"))
        .base_url(origin.base_url())
        .events_off()
        .on_decision(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .await
        .expect("a client");
    let client = provide(VwoProvider::from_client(&vwo)).await;
    let color = client
        .get_string_value("feature1", Some(&user(Some("string"))), None)
        .await
        .expect("string");
    assert_eq!(
        color,
        vwo.get_flag("feature1", &Context::new("user_id").expect("id"))
            .string_variable("string", "-")
    );
    assert_eq!(
        hooked.load(Ordering::SeqCst),
        2,
        "one hook call for the resolve, one for the direct call"
    );
    vwo.close().await;
}
