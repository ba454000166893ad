//! Authentication: which keys open the door, and that none ever leaks.

use super::*;

/// The documented payload with the right key: 200, one refresh, triggered by that payload.
pub fn accepts_seed_payload<H: Harness>() {
    let backend = TestBackend::counting();
    from_outside::<H, _>(&backend, blackbox::accepts_seed_payload);
    assert_eq!(backend.finished(), 1, "exactly one refresh before the answer");
    match backend.triggers().as_slice() {
        [Trigger::Webhook(payload)] => {
            assert_eq!(payload.timestamp, 1_606_482_285);
            assert_eq!(payload.event, Event::SettingsChanged);
            assert_eq!(payload.action, Some(Action::CampaignSettingsChanged));
        }
        other => panic!("backend triggered by {other:?}"),
    }
}

/// `X-VWO-Auth`, `X-VWO-AUTH`: header names are case-insensitive.
pub fn header_name_case_insensitive<H: Harness>() {
    let backend = TestBackend::counting();
    from_outside::<H, _>(&backend, blackbox::header_name_case_insensitive);
    assert_eq!(backend.finished(), 3);
}

/// A wrong key: 401, no refresh.
pub fn rejects_wrong_secret<H: Harness>() {
    refused_without_refresh::<H, _>(blackbox::rejects_wrong_secret);
}

/// No `x-vwo-auth` header at all: 401 (fail closed), no refresh.
pub fn rejects_missing_secret_header<H: Harness>() {
    refused_without_refresh::<H, _>(blackbox::rejects_missing_secret_header);
}

/// An empty `x-vwo-auth` header: 401, no refresh.
pub fn rejects_empty_secret_header<H: Harness>() {
    refused_without_refresh::<H, _>(blackbox::rejects_empty_secret_header);
}

/// A prefix of the key, or the key with extra bytes: 401, no refresh.
pub fn rejects_secret_prefix_and_extension<H: Harness>() {
    refused_without_refresh::<H, _>(blackbox::rejects_secret_prefix_and_extension);
}

/// During a rotation both the old and the new key are accepted.
pub fn accepts_every_secret_in_rotation<H: Harness>() {
    let backend = TestBackend::counting();
    let ring = keyring(&["old-key-1", "new-key-2"]);
    let server = H::serve(
        Receiver::builder(backend.clone())
            .keyring(ring)
            .build()
            .expect("receiver"),
    );
    block_on(async {
        for key in ["old-key-1", "new-key-2"] {
            expect_delivery(&server, Some(key), DOCUMENTED, 200, key).await;
        }
        assert_eq!(backend.finished(), 2);
    });
}

/// Replacing the keyring at runtime retires the old key at once, without a restart.
pub fn retired_secret_rejected_after_rotation<H: Harness>() {
    let backend = TestBackend::counting();
    let ring = keyring(&["old-key-1"]);
    let server = H::serve(
        Receiver::builder(backend.clone())
            .keyring(ring.clone())
            .build()
            .expect("receiver"),
    );
    block_on(async {
        expect_delivery(&server, Some("old-key-1"), DOCUMENTED, 200, "old key before").await;
        ring.replace([Secret::new("new-key-2").expect("secret")])
            .expect("rotation");
        expect_delivery(&server, Some("old-key-1"), DOCUMENTED, 401, "retired key").await;
        expect_delivery(&server, Some("new-key-2"), DOCUMENTED, 200, "new key").await;
        assert_eq!(backend.finished(), 2);
    });
}

/// A wrong key with a garbage body is 401, not 400: authentication comes first.
pub fn auth_checked_before_body_parse<H: Harness>() {
    refused_without_refresh::<H, _>(blackbox::auth_checked_before_body_parse);
}

/// No response (body or headers) echoes the configured or the presented key, including the
/// answer to a failed refresh.
pub fn error_bodies_never_echo_secrets<H: Harness>() {
    let backend = TestBackend::permanent();
    let server = secured::<H>(&backend);
    let target = Target::local(&server);
    block_on(async {
        blackbox::error_bodies_never_echo_secrets(target.clone()).await;
        let failed = target
            .expect(&target.signed(DOCUMENTED), 500, "failed refresh")
            .await;
        expect_no_key(&failed, &[SECRET, &SECRET[..8]], "failed refresh");
    });
}

/// The documented notice as a sender may really write it: spaces, tabs and newlines where a
/// serializer would put none, and JSON escapes (`\u005f` is `_`, `\u00e9` is `é`).
const NON_CANONICAL: &str = "{ \"timestamp\" :\t1606482285 ,\r\n  \"event\":\"settings\\u005fchanged\",\n  \"action\" : \"campaign_settings_changed\", \"triggered_by\":\"\\u00e9quipe \\ud83d\\ude80\" }\n";

fn github() -> HmacSha256 {
    HmacSha256::github(keyring(&[SIGNING_KEY]))
}

fn github_signature(body: &[u8]) -> String {
    github().sign(body)
}

/// A body signed over its exact bytes verifies through the adapter: nothing re-encodes,
/// trims or decompresses it on the way. The same JSON re-serialized does not.
pub fn raw_body_reaches_verifier_untouched<H: Harness>() {
    let backend = TestBackend::counting();
    let verifier = github();
    let server = H::serve(
        Receiver::builder(backend.clone())
            .verifier(verifier)
            .build()
            .expect("receiver"),
    );
    block_on(async {
        let signature = github_signature(NON_CANONICAL.as_bytes());
        let signed = Request::post(DEFAULT_PATH, NON_CANONICAL)
            .header("content-type", "application/json")
            .header("x-hub-signature-256", &signature);
        expect_status(&send(&server, &signed).await, 200, "signed raw body");
        match backend.triggers().as_slice() {
            [Trigger::Webhook(payload)] => {
                assert_eq!(payload.event, Event::SettingsChanged);
                assert_eq!(payload.triggered_by.as_deref(), Some("\u{e9}quipe \u{1f680}"));
            }
            other => panic!("backend triggered by {other:?}"),
        }
        // The same document, re-serialized, no longer matches the signature.
        let value: serde_json::Value = serde_json::from_str(NON_CANONICAL).expect("valid JSON");
        let canonical = serde_json::to_string(&value).expect("JSON");
        let resent = Request::post(DEFAULT_PATH, canonical)
            .header("content-type", "application/json")
            .header("x-hub-signature-256", &signature);
        expect_status(&send(&server, &resent).await, 401, "re-serialized body");
        assert_eq!(backend.started(), 1);
    });
}

/// Across every error path (wrong, near-miss and missing keys; missing, wrong and malformed
/// signatures, HMAC and Standard Webhooks; bad bodies; a failed refresh; wrong method;
/// oversize), no configured, submitted or expected key or signature shows in a response or in
/// anything logged through `tracing`.
pub fn secrets_never_logged<H: Harness>() {
    let logs = crate::logs::Capture::global();
    let backend = TestBackend::permanent();
    let server = H::serve(
        Receiver::builder(backend.clone())
            .keyring(keyring(&[SECRET]))
            .verifier(github())
            .build()
            .expect("receiver"),
    );
    let expected = github_signature(DOCUMENTED.as_bytes());
    let submitted = github_signature(b"another body");
    let near_miss = format!("{}Z", &SECRET[..SECRET.len() - 1]);
    let signed = |key: &str, signature: &str, body: &str| {
        delivery(Some(key), body).header("x-hub-signature-256", signature)
    };
    let requests = [
        signed("attacker-guess-123", &expected, DOCUMENTED),
        signed(&near_miss, &expected, DOCUMENTED),
        delivery(None, DOCUMENTED).header("x-hub-signature-256", &expected),
        delivery(Some(SECRET), DOCUMENTED),
        signed(SECRET, &submitted, DOCUMENTED),
        signed(SECRET, "sha256=not-hex-at-all", DOCUMENTED),
        signed(SECRET, &github_signature(b"{"), "{"),
        signed(SECRET, &expected, DOCUMENTED),
        Request::new("GET", DEFAULT_PATH)
            .header("x-vwo-auth", SECRET)
            .header("x-hub-signature-256", &expected),
        signed(SECRET, &expected, SENT_PREFIX).declared_length(DEFAULT_BODY_LIMIT as u64 + 1),
    ];
    let standard = standard_webhooks_requests();
    let mut keys = vec![
        SECRET,
        near_miss.as_str(),
        "attacker-guess-123",
        SIGNING_KEY,
        expected.trim_start_matches("sha256="),
        submitted.trim_start_matches("sha256="),
    ];
    keys.extend(standard.keys.iter().map(String::as_str));
    let standard_server = H::serve(
        Receiver::builder(backend.clone())
            .verifier(StandardWebhooks::new([WHSEC]).expect("secret"))
            .build()
            .expect("receiver"),
    );
    block_on(async {
        for (server, requests) in [
            (&server, &requests[..]),
            (&standard_server, &standard.requests[..]),
        ] {
            for request in requests {
                let response = send(server, request).await;
                assert!(!response.is_success(), "{request:?} should fail");
                expect_no_key(&response, &keys, &format!("{request:?}"));
            }
        }
    });
    assert_eq!(
        backend.started(),
        1,
        "only the fully authenticated delivery reached the backend"
    );
    drop((server, standard_server));
    let text = logs.text();
    assert!(
        text.contains("vwo_webhook.delivery") && text.contains("status=401"),
        "the capture saw no delivery: the case would prove nothing"
    );
    for (index, key) in keys.iter().enumerate() {
        assert!(!text.contains(key), "key #{index} shows in the tracing output");
    }
}

/// Failing Standard Webhooks deliveries and the secrets and signatures they involve.
struct StandardRequests {
    requests: Vec<Request>,
    keys: Vec<String>,
}

fn standard_webhooks_requests() -> StandardRequests {
    let key_text = WHSEC.trim_start_matches("whsec_");
    let signer = StandardWebhooks::new([WHSEC]).expect("secret");
    // The signatures without their `v1,`: the part that must never show.
    let sign = |id: &str, timestamp: i64, body: &str| {
        let signature = signer.sign(id, timestamp, body.as_bytes());
        signature.trim_start_matches("v1,").to_owned()
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let (fresh, stale) = (now.to_string(), (now - 3600).to_string());
    let expected = sign("msg_leak", now - 3600, DOCUMENTED);
    let submitted = sign("msg_other", now, "another body");
    let request = |timestamp: &str, signature: &str| {
        Request::post(DEFAULT_PATH, DOCUMENTED)
            .header("webhook-id", "msg_leak")
            .header("webhook-timestamp", timestamp)
            .header("webhook-signature", signature)
    };
    StandardRequests {
        requests: vec![
            request(&stale, &format!("v1,{expected}")),
            request(&fresh, &format!("v1,{submitted}")),
            request(&fresh, "v1,!!not-base64!!"),
            request("soon", &format!("v1,{expected}")),
        ],
        keys: vec![WHSEC.to_owned(), key_text.to_owned(), expected, submitted],
    }
}
