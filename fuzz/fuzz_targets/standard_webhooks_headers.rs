//! Any three Standard Webhooks header values and body: a verdict, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vwo_webhook::{StandardWebhooks, Verifier};

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(4, |b| *b == b'\n');
    let id = parts.next().unwrap_or_default();
    let timestamp = parts.next().unwrap_or_default();
    let signature = parts.next().unwrap_or_default();
    let body = parts.next().unwrap_or_default();
    let Ok(verifier) = StandardWebhooks::new(["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]) else {
        return;
    };
    let verifier = verifier.clock(|| 1_614_265_330);
    for names in [
        ["webhook-id", "webhook-timestamp", "webhook-signature"],
        ["svix-id", "svix-timestamp", "svix-signature"],
    ] {
        let headers = [(names[0], id), (names[1], timestamp), (names[2], signature)];
        if verifier.verify(&headers, body).is_ok() {
            // Only a real v1 signature can pass; random input never should.
            assert!(signature.starts_with(b"v1,") || signature.windows(4).any(|w| w == b" v1,"));
        }
        let _ = verifier.replay_id(&headers);
    }
});
