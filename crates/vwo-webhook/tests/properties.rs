//! Property tests over generated requests: the receiver never panics, and never answers 2xx to
//! a request that fails authentication, whichever verifier guards it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use vwo_webhook::{HmacSha256, Keyring, Receiver, RefreshError, StandardWebhooks, Trigger};

const SECRET: &str = "s3cret-key-for-properties";
const SIGNING_KEY: &str = "signing-key-for-properties";
const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const NOW: i64 = 1_700_000_000;
const DOCUMENTED: &str = r#"{"timestamp":1606482285,"event":"settings_changed"}"#;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn counting_receiver(
    configure: impl FnOnce(vwo_webhook::ReceiverBuilder) -> vwo_webhook::ReceiverBuilder,
) -> (Receiver, Arc<AtomicUsize>) {
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&runs);
    let builder = Receiver::builder(move |_: Trigger| {
        counter.fetch_add(1, Ordering::SeqCst);
        async { Ok::<(), RefreshError>(()) }
    });
    (configure(builder).build().expect("receiver"), runs)
}

fn method() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        6 => Just("POST"),
        1 => Just("GET"),
        1 => Just("post"),
        1 => Just("PUT"),
        1 => Just("DELETE"),
    ]
}

/// Bodies: the documented notice, near-JSON, or arbitrary bytes.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => Just(DOCUMENTED.as_bytes().to_vec()),
        2 => "\\{[ -~]{0,80}\\}".prop_map(String::into_bytes),
        2 => proptest::collection::vec(any::<u8>(), 0..300),
    ]
}

/// A presented key: the right one, a near miss of it, or anything.
fn presented_key() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        2 => Just(Some(SECRET.as_bytes().to_vec())),
        1 => Just(None),
        1 => (0..SECRET.len()).prop_map(|n| Some(SECRET.as_bytes()[..n].to_vec())),
        1 => any::<u8>().prop_map(|b| Some([SECRET.as_bytes(), &[b]].concat())),
        1 => (0..SECRET.len(), any::<u8>()).prop_map(|(i, b)| {
            let mut key = SECRET.as_bytes().to_vec();
            key[i] = b;
            Some(key)
        }),
        2 => proptest::collection::vec(any::<u8>(), 0..40).prop_map(Some),
    ]
}

#[test]
fn the_shared_key_is_the_only_way_to_a_2xx() {
    let runtime = runtime();
    let (receiver, runs) = runtime.block_on(async {
        counting_receiver(|b| b.keyring(Keyring::from_comma_separated(SECRET).expect("key")))
    });
    let mut runner = TestRunner::new(Config {
        cases: 1024,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&(method(), presented_key(), body()), |(method, key, body)| {
            let before = runs.load(Ordering::SeqCst);
            let mut headers: Vec<(&str, &[u8])> = vec![("content-type", b"application/json")];
            if let Some(key) = &key {
                headers.push(("x-vwo-auth", key));
            }
            let headers: [(&str, &[u8]); 2] =
                [headers[0], headers.get(1).copied().unwrap_or(("x-none", b""))];
            let response = runtime.block_on(receiver.handle_buffered(method, &headers, &body));
            let authentic = key.as_deref() == Some(SECRET.as_bytes());
            if response.is_success() {
                prop_assert!(authentic, "2xx for key {key:?}");
                prop_assert_eq!(method, "POST");
            } else if !authentic && method == "POST" {
                prop_assert_eq!(response.status(), 401);
            }
            if !authentic {
                // An unauthenticated request never reaches the backend. (Each 2xx above waited
                // for its own refresh, so nothing else is running.)
                prop_assert_eq!(runs.load(Ordering::SeqCst), before);
            }
            prop_assert!(
                response.body().starts_with('{'),
                "not a JSON body: {}",
                response.body()
            );
            Ok(())
        })
        .expect("property holds");
}

fn github_signature(body: &[u8]) -> String {
    HmacSha256::github(Keyring::from_comma_separated(SIGNING_KEY).expect("key")).sign(body)
}

#[test]
fn an_hmac_signature_over_other_bytes_never_gets_a_2xx() {
    let runtime = runtime();
    let (receiver, _) = runtime.block_on(async {
        counting_receiver(|b| {
            b.verifier(HmacSha256::github(
                Keyring::from_comma_separated(SIGNING_KEY).expect("key"),
            ))
        })
    });
    // The signature: of this body, of another body, or arbitrary text.
    let signature = prop_oneof![
        2 => Just(None),
        1 => proptest::collection::vec(any::<u8>(), 0..64).prop_map(|other| Some(github_signature(&other))),
        1 => "[ -~]{0,80}".prop_map(Some),
        1 => "sha256=[0-9a-f]{64}".prop_map(Some),
    ];
    let mut runner = TestRunner::new(Config {
        cases: 1024,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&(body(), signature), |(body, signature)| {
            let signature = signature.unwrap_or_else(|| github_signature(&body));
            let headers = [("x-hub-signature-256", signature.as_bytes())];
            let response = runtime.block_on(receiver.handle_buffered("POST", &headers, &body));
            if response.is_success() {
                prop_assert_eq!(&signature, &github_signature(&body));
            }
            Ok(())
        })
        .expect("property holds");
}

#[test]
fn standard_webhooks_never_accepts_a_stale_or_foreign_signature() {
    let runtime = runtime();
    let (receiver, _) = runtime.block_on(async {
        let verifier = StandardWebhooks::new([WHSEC]).expect("secret").clock(|| NOW);
        counting_receiver(|b| b.verifier(verifier))
    });
    let offset = prop_oneof![3 => Just(0i64), 1 => -1000i64..1000];
    let mut runner = TestRunner::new(Config {
        cases: 1024,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(
            &(body(), "msg_[a-z0-9]{1,12}", offset, any::<bool>(), "[ -~]{0,60}"),
            |(body, id, offset, genuine, noise)| {
                let timestamp = (NOW + offset).to_string();
                let signature = if genuine {
                    let signer = StandardWebhooks::new([WHSEC]).expect("secret");
                    format!("{noise} {}", signer.sign(&id, NOW + offset, &body))
                } else {
                    noise.clone()
                };
                let headers = [
                    ("webhook-id", id.as_bytes()),
                    ("webhook-timestamp", timestamp.as_bytes()),
                    ("webhook-signature", signature.as_bytes()),
                ];
                let response = runtime.block_on(receiver.handle_buffered("POST", &headers, &body));
                if response.is_success() {
                    prop_assert!(genuine, "2xx for signature {signature:?}");
                    prop_assert!((-300..=60).contains(&offset), "2xx at offset {offset}");
                } else if !genuine {
                    prop_assert_eq!(response.status(), 401);
                }
                Ok(())
            },
        )
        .expect("property holds");
}
