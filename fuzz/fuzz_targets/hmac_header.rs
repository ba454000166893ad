//! Any signature header value and body through both HMAC-SHA256 encodings: a verdict, never a
//! panic, and never an acceptance of a value that is not the body's MAC.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vwo_webhook::{HmacSha256, Keyring, Verifier};

fuzz_target!(|data: &[u8]| {
    let split = data
        .first()
        .map_or(0, |n| usize::from(*n))
        .min(data.len().saturating_sub(1));
    let (value, body) = data
        .get(1..)
        .unwrap_or_default()
        .split_at(split.min(data.len().saturating_sub(1)));
    let Ok(keyring) = Keyring::from_comma_separated("fuzz-signing-key") else {
        return;
    };
    for verifier in [HmacSha256::github(keyring.clone()), HmacSha256::shopify(keyring)] {
        let headers = [("x-hub-signature-256", value), ("x-shopify-hmac-sha256", value)];
        // A random value matching the MAC of a random body would be a forgery.
        assert!(verifier.verify(&headers, body).is_err() || value.len() >= 32);
    }
});
