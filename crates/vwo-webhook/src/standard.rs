//! Standard Webhooks (also Svix's `svix-*` headers): signatures over
//! `{id}.{timestamp}.{raw body}`, a timestamp window against replays of old deliveries, and a
//! cache of delivered ids against replays inside the window.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use zeroize::Zeroizing;

use std::borrow::Cow;

use crate::signature::{hmac_matches, hmac_sha256};
use crate::verify::{HeaderLookup, HeaderName, Verifier, VerifyError, credential};

/// How far in the past a `webhook-timestamp` may be, by default.
pub const DEFAULT_PAST_TOLERANCE: Duration = Duration::from_secs(300);
/// How far in the future a `webhook-timestamp` may be, by default (clock skew only).
pub const DEFAULT_FUTURE_TOLERANCE: Duration = Duration::from_secs(60);
/// How many delivered ids the replay cache holds, by default.
pub const DEFAULT_REPLAY_CAPACITY: usize = 10_000;

/// The header names of one naming scheme: (id, timestamp, signature).
const SCHEMES: [[HeaderName; 3]; 2] = [
    [
        Cow::Borrowed("webhook-id"),
        Cow::Borrowed("webhook-timestamp"),
        Cow::Borrowed("webhook-signature"),
    ],
    [
        Cow::Borrowed("svix-id"),
        Cow::Borrowed("svix-timestamp"),
        Cow::Borrowed("svix-signature"),
    ],
];

/// Why a Standard Webhooks secret was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StandardSecretError {
    /// No secret, or `whsec_` with nothing after it.
    #[error("a Standard Webhooks secret must not be empty")]
    Empty,
    /// The part after `whsec_` is not base64.
    #[error("a Standard Webhooks secret must be base64 after its `whsec_` prefix")]
    NotBase64,
}

/// The current time, in Unix seconds; injectable for tests.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

fn system_clock() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Verifies Standard Webhooks signatures (`webhook-*` or `svix-*` headers).
///
/// Any `v1` signature of the space-separated list may match any configured secret; unknown
/// versions are skipped. The signed content is the raw body bytes, so a body that is not UTF-8
/// still verifies. A delivery whose id was already answered with a 2xx is a replay: the
/// receiver acknowledges it with 200 and does not refresh again.
#[derive(Clone)]
pub struct StandardWebhooks {
    /// Shared by every clone, so [`StandardWebhooks::replace`] rotates them all at once.
    keys: Arc<ArcSwap<Vec<Zeroizing<Vec<u8>>>>>,
    past: Duration,
    future: Duration,
    clock: Clock,
    replays: Arc<ReplayCache>,
}

impl std::fmt::Debug for StandardWebhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StandardWebhooks")
            .field("secrets", &self.keys.load().len())
            .field("past", &self.past)
            .field("future", &self.future)
            .finish_non_exhaustive()
    }
}

impl StandardWebhooks {
    /// Accepts signatures by any of `secrets` (`whsec_<base64>`; the prefix is optional).
    pub fn new<S: AsRef<str>>(secrets: impl IntoIterator<Item = S>) -> Result<Self, StandardSecretError> {
        let keys = decode_keys(secrets)?;
        let window = DEFAULT_PAST_TOLERANCE + DEFAULT_FUTURE_TOLERANCE;
        Ok(Self {
            keys: Arc::new(ArcSwap::from_pointee(keys)),
            past: DEFAULT_PAST_TOLERANCE,
            future: DEFAULT_FUTURE_TOLERANCE,
            clock: Arc::new(system_clock),
            replays: Arc::new(ReplayCache::new(DEFAULT_REPLAY_CAPACITY, window)),
        })
    }

    /// Replaces the accepted secrets at runtime, for this verifier and every clone of it
    /// (the receiver's among them): a rotation without a restart, as `Keyring::replace` does
    /// for shared keys. Deliveries verified from now on use the new list; one already being
    /// verified finishes with the old. Refused, keeping the current secrets, if any secret
    /// is invalid or the list is empty.
    pub fn replace<S: AsRef<str>>(
        &self,
        secrets: impl IntoIterator<Item = S>,
    ) -> Result<(), StandardSecretError> {
        let keys = decode_keys(secrets)?;
        let count = keys.len();
        self.keys.store(Arc::new(keys));
        tracing::info!(secrets = count, "vwo-webhook Standard Webhooks secrets replaced");
        Ok(())
    }

    /// How far in the past (default 300 s) and the future (default 60 s) a timestamp may be.
    /// Ids are remembered for the whole window, since older deliveries are refused anyway.
    pub fn tolerance(mut self, past: Duration, future: Duration) -> Self {
        self.past = past;
        self.future = future;
        self.replays = Arc::new(ReplayCache::new(self.replays.capacity, past + future));
        self
    }

    /// How many delivered ids to remember (default 10,000); the oldest go first when full.
    pub fn replay_capacity(mut self, capacity: usize) -> Self {
        self.replays = Arc::new(ReplayCache::new(capacity.max(1), self.past + self.future));
        self
    }

    /// Reads the time from `clock` (Unix seconds) instead of the system clock.
    pub fn clock(mut self, clock: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The header names the delivery uses (`webhook-*` unless it sends any `svix-*` header
    /// and no `webhook-*` one) and their three values.
    fn headers(headers: &dyn HeaderLookup) -> Result<(&'static [HeaderName; 3], [&[u8]; 3]), VerifyError> {
        let uses = |names: &[HeaderName; 3]| names.iter().any(|name| headers.header(name).is_some());
        let scheme = if !uses(&SCHEMES[0]) && uses(&SCHEMES[1]) {
            &SCHEMES[1]
        } else {
            &SCHEMES[0]
        };
        let mut values: [&[u8]; 3] = [&[]; 3];
        for (value, name) in values.iter_mut().zip(scheme) {
            *value = credential(headers, name)?;
        }
        Ok((scheme, values))
    }

    /// The `webhook-signature` value that signs delivery `id`, sent at `timestamp` (Unix
    /// seconds) with `body`: `v1,<base64>`, keyed by the first configured secret. What a sender
    /// puts in the `webhook-signature` header, beside `webhook-id` and `webhook-timestamp`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let timestamp = timestamp.to_string();
        // `new` and `replace` refuse an empty list of keys.
        let keys = self.keys.load();
        let mac = hmac_sha256(&keys[0], &[id.as_bytes(), b".", timestamp.as_bytes(), b".", body]);
        format!("v1,{}", BASE64.encode(mac))
    }

    fn check_timestamp(&self, name: &HeaderName, timestamp: &[u8]) -> Result<(), VerifyError> {
        let malformed = |reason: &'static str| VerifyError::malformed(name.clone(), reason);
        let seconds: i64 = std::str::from_utf8(timestamp)
            .ok()
            .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|t| t.parse().ok())
            .ok_or(malformed("not a whole number of seconds"))?;
        let now = (self.clock)();
        let past = i64::try_from(self.past.as_secs()).unwrap_or(i64::MAX);
        let future = i64::try_from(self.future.as_secs()).unwrap_or(i64::MAX);
        if seconds < now.saturating_sub(past) {
            return Err(malformed("older than the tolerance"));
        }
        if seconds > now.saturating_add(future) {
            return Err(malformed("further in the future than the tolerance"));
        }
        Ok(())
    }
}

/// Decodes `whsec_<base64>` secrets (the prefix is optional); at least one.
fn decode_keys<S: AsRef<str>>(
    secrets: impl IntoIterator<Item = S>,
) -> Result<Vec<Zeroizing<Vec<u8>>>, StandardSecretError> {
    let keys = secrets
        .into_iter()
        .map(|secret| {
            let secret = secret.as_ref().trim();
            let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
            if encoded.is_empty() {
                return Err(StandardSecretError::Empty);
            }
            let key = BASE64
                .decode(encoded)
                .map_err(|_| StandardSecretError::NotBase64)?;
            if key.is_empty() {
                return Err(StandardSecretError::Empty);
            }
            Ok(Zeroizing::new(key))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if keys.is_empty() {
        return Err(StandardSecretError::Empty);
    }
    Ok(keys)
}

impl Verifier for StandardWebhooks {
    fn reads_body(&self) -> bool {
        true
    }

    fn verify(&self, headers: &dyn HeaderLookup, body: &[u8]) -> Result<(), VerifyError> {
        let (scheme, [id, timestamp, signatures]) = Self::headers(headers)?;
        self.check_timestamp(&scheme[1], timestamp)?;
        let signatures = std::str::from_utf8(signatures)
            .map_err(|_| VerifyError::malformed(scheme[2].clone(), "not ASCII"))?;
        let mut matched = false;
        for entry in signatures.split(' ').filter(|e| !e.is_empty()) {
            let Some(("v1", encoded)) = entry.split_once(',') else {
                continue; // another version, or not a signature: skipped
            };
            let Ok(signature) = BASE64.decode(encoded) else {
                continue;
            };
            for key in self.keys.load().iter() {
                matched |= hmac_matches(key, &[id, b".", timestamp, b".", body], &signature);
            }
        }
        if !matched {
            return Err(VerifyError::Mismatch(scheme[2].clone()));
        }
        if self.replays.contains(id) {
            return Err(VerifyError::replayed(id));
        }
        Ok(())
    }

    fn replay_id(&self, headers: &dyn HeaderLookup) -> Option<Vec<u8>> {
        Self::headers(headers).ok().map(|(_, [id, ..])| id.to_vec())
    }

    fn remember(&self, id: &[u8]) {
        self.replays.insert(id);
    }
}

/// Delivered ids, each forgotten after `ttl`, at most `capacity` of them.
#[derive(Debug)]
struct ReplayCache {
    capacity: usize,
    ttl: Duration,
    entries: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    expiry: HashMap<Vec<u8>, Instant>,
    order: VecDeque<(Vec<u8>, Instant)>,
}

impl ReplayCache {
    fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            capacity,
            ttl,
            entries: Mutex::default(),
        }
    }

    fn contains(&self, id: &[u8]) -> bool {
        let now = Instant::now();
        self.entries
            .lock()
            .is_ok_and(|entries| entries.expiry.get(id).is_some_and(|expires| *expires > now))
    }

    fn insert(&self, id: &[u8]) {
        let now = Instant::now();
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        let entries = &mut *entries;
        // Forget what has expired, then the oldest while full.
        while let Some((oldest, expires)) = entries.order.front() {
            let expired = *expires <= now;
            if !expired && entries.order.len() < self.capacity {
                break;
            }
            if entries.expiry.get(oldest) == Some(expires) {
                entries.expiry.remove(oldest);
            }
            entries.order.pop_front();
        }
        let expires = crate::clock::later(now, self.ttl);
        entries.expiry.insert(id.to_vec(), expires);
        entries.order.push_back((id.to_vec(), expires));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicI64, Ordering};

    use super::*;

    const VECTORS: &str = include_str!("../testdata/standard-webhooks.json");

    struct Vector {
        secret: String,
        id: String,
        timestamp: i64,
        body: String,
        signature: String,
    }

    fn vectors() -> Vec<Vector> {
        let fixture: serde_json::Value = serde_json::from_str(VECTORS).expect("fixture JSON");
        let vectors = fixture["vectors"].as_array().expect("vectors");
        vectors
            .iter()
            .map(|v| Vector {
                secret: v["secret"].as_str().expect("secret").to_owned(),
                id: v["webhook-id"].as_str().expect("id").to_owned(),
                timestamp: v["webhook-timestamp"].as_i64().expect("timestamp"),
                body: v["body"].as_str().expect("body").to_owned(),
                signature: v["webhook-signature"].as_str().expect("signature").to_owned(),
            })
            .collect()
    }

    fn verifier(vector: &Vector) -> StandardWebhooks {
        let now = vector.timestamp;
        StandardWebhooks::new([vector.secret.as_str()])
            .expect("secret")
            .clock(move || now)
    }

    fn headers<'a>(
        vector: &'a Vector,
        timestamp: &'a str,
        signature: &'a str,
    ) -> [(&'static str, &'a [u8]); 3] {
        [
            ("webhook-id", vector.id.as_bytes()),
            ("webhook-timestamp", timestamp.as_bytes()),
            ("webhook-signature", signature.as_bytes()),
        ]
    }

    #[test]
    fn every_vector_verifies_with_either_header_scheme() {
        for vector in vectors() {
            let verifier = verifier(&vector);
            let timestamp = vector.timestamp.to_string();
            let headers = headers(&vector, &timestamp, &vector.signature);
            assert_eq!(
                verifier.verify(&headers, vector.body.as_bytes()),
                Ok(()),
                "{}",
                vector.id
            );
            let svix = [
                ("svix-id", vector.id.as_bytes()),
                ("svix-timestamp", timestamp.as_bytes()),
                ("svix-signature", vector.signature.as_bytes()),
            ];
            assert_eq!(verifier.verify(&svix, vector.body.as_bytes()), Ok(()));
            // A changed body, id or timestamp breaks the signature.
            assert_eq!(
                verifier.verify(&headers, format!("{} ", vector.body).as_bytes()),
                Err(VerifyError::Mismatch("webhook-signature".into()))
            );
            let later = (vector.timestamp + 1).to_string();
            assert_eq!(
                verifier.verify(&headers_with(&vector, &later), vector.body.as_bytes()),
                Err(VerifyError::Mismatch("webhook-signature".into()))
            );
        }
    }

    fn headers_with<'a>(vector: &'a Vector, timestamp: &'a str) -> [(&'static str, &'a [u8]); 3] {
        headers(vector, timestamp, &vector.signature)
    }

    #[test]
    fn sign_writes_every_vectors_signature() {
        for vector in vectors() {
            let verifier = verifier(&vector);
            let body = vector.body.as_bytes();
            assert_eq!(
                verifier.sign(&vector.id, vector.timestamp, body),
                vector.signature,
                "{}",
                vector.id
            );
            // The first secret signs; a second one only verifies.
            let rotating =
                StandardWebhooks::new([vector.secret.as_str(), "whsec_b2xkLW9uZQ=="]).expect("secrets");
            assert_eq!(
                rotating.sign(&vector.id, vector.timestamp, body),
                vector.signature
            );
        }
    }

    #[test]
    fn the_edge_cases_to_reject_are_rejected() {
        let vector = &vectors()[0];
        let verifier = verifier(vector);
        let timestamp = vector.timestamp.to_string();
        let body = vector.body.as_bytes();
        let sig = vector.signature.as_str();
        // missing any of the three headers
        let all = headers(vector, &timestamp, sig);
        for missing in 0..3 {
            let some = [all[(missing + 1) % 3], all[(missing + 2) % 3]];
            assert_eq!(
                verifier.verify(&some, body),
                Err(VerifyError::MissingHeader(all[missing].0.into())),
                "without {}",
                all[missing].0
            );
        }
        // non-integer timestamp
        for bad in ["1614265330.5", "-1614265330", "soon", " 1614265330"] {
            assert!(
                verifier.verify(&headers(vector, bad, sig), body)
                    == Err(VerifyError::malformed(
                        "webhook-timestamp",
                        "not a whole number of seconds"
                    )),
                "{bad}"
            );
        }
        // older than the tolerance, further in the future than the tolerance
        let old = (vector.timestamp - 301).to_string();
        let future = (vector.timestamp + 61).to_string();
        let at_old = verifier.clone().clock({
            let now = vector.timestamp + 301;
            move || now
        });
        assert_eq!(
            at_old.verify(&headers(vector, &timestamp, sig), body),
            Err(VerifyError::malformed(
                "webhook-timestamp",
                "older than the tolerance"
            ))
        );
        assert_eq!(
            verifier.verify(&headers(vector, &old, sig), body),
            Err(VerifyError::malformed(
                "webhook-timestamp",
                "older than the tolerance"
            ))
        );
        assert_eq!(
            verifier.verify(&headers(vector, &future, sig), body),
            Err(VerifyError::malformed(
                "webhook-timestamp",
                "further in the future than the tolerance"
            ))
        );
        // 'v1,' with an empty value; a truncated signature
        let truncated = &sig[..sig.len() - 4];
        for bad in ["v1,", truncated] {
            assert_eq!(
                verifier.verify(&headers(vector, &timestamp, bad), body),
                Err(VerifyError::Mismatch("webhook-signature".into())),
                "{bad}"
            );
        }
        // 'whsec_' with nothing after it; an empty secret
        assert_eq!(
            StandardWebhooks::new(["whsec_"]).err(),
            Some(StandardSecretError::Empty)
        );
        assert_eq!(
            StandardWebhooks::new([""]).err(),
            Some(StandardSecretError::Empty)
        );
        assert_eq!(
            StandardWebhooks::new(Vec::<&str>::new()).err(),
            Some(StandardSecretError::Empty)
        );
        assert_eq!(
            StandardWebhooks::new(["whsec_%%%"]).err(),
            Some(StandardSecretError::NotBase64)
        );
    }

    #[test]
    fn the_edge_cases_to_accept_are_accepted() {
        let vector = &vectors()[0];
        let verifier = verifier(vector);
        let timestamp = vector.timestamp.to_string();
        let body = vector.body.as_bytes();
        // several signatures, the valid one in the middle; unknown versions alongside
        let list = format!(
            "v1,AAAA v1,{} v2,whatever v1a,{}",
            vector.signature.trim_start_matches("v1,"),
            "x"
        );
        assert_eq!(verifier.verify(&headers(vector, &timestamp, &list), body), Ok(()));
        let unknown_first = format!("v0,abc v2,{} {}", "def", vector.signature);
        assert_eq!(
            verifier.verify(&headers(vector, &timestamp, &unknown_first), body),
            Ok(())
        );
        // a body that is not UTF-8, signed over its raw bytes
        let raw: &[u8] = b"\xff\xfe{\"not\": \"utf-8\"}\x80";
        let signature = verifier.sign(&vector.id, vector.timestamp, raw);
        assert_eq!(
            verifier.verify(&headers(vector, &timestamp, &signature), raw),
            Ok(())
        );
    }

    #[test]
    fn a_remembered_id_is_a_replay_until_it_expires() {
        let vector = &vectors()[0];
        let now = Arc::new(AtomicI64::new(vector.timestamp));
        let clock = Arc::clone(&now);
        let verifier = StandardWebhooks::new([vector.secret.as_str()])
            .expect("secret")
            .tolerance(Duration::from_secs(300), Duration::from_secs(5))
            .clock(move || clock.load(Ordering::SeqCst));
        let timestamp = vector.timestamp.to_string();
        let headers = headers(vector, &timestamp, &vector.signature);
        let body = vector.body.as_bytes();
        assert_eq!(verifier.verify(&headers, body), Ok(()));
        // Verified but not yet answered 2xx: a redelivery must still refresh.
        assert_eq!(verifier.verify(&headers, body), Ok(()));
        let id = verifier.replay_id(&headers).expect("an id");
        assert_eq!(id, vector.id.as_bytes());
        verifier.remember(&id);
        assert_eq!(
            verifier.verify(&headers, body),
            Err(VerifyError::replayed(vector.id.as_bytes()))
        );
        // A forged delivery reusing the id is still a mismatch, not a replay.
        assert_eq!(
            verifier.verify(&headers, b"forged"),
            Err(VerifyError::Mismatch("webhook-signature".into()))
        );
    }

    #[test]
    fn the_replay_cache_is_bounded_and_forgets_expired_ids() {
        let cache = ReplayCache::new(3, Duration::from_secs(60));
        for id in [b"a", b"b", b"c", b"d"] {
            cache.insert(id);
        }
        assert!(!cache.contains(b"a"), "the oldest goes first when full");
        assert!(cache.contains(b"b") && cache.contains(b"c") && cache.contains(b"d"));
        let short = ReplayCache::new(10, Duration::ZERO);
        short.insert(b"x");
        assert!(!short.contains(b"x"), "expired at once");
        short.insert(b"y");
        let entries = short.entries.lock().expect("lock");
        assert_eq!(entries.order.len(), 1, "expired entries are dropped on insert");
    }

    #[test]
    fn the_configured_capacity_bounds_the_remembered_ids() {
        let vector = &vectors()[0];
        let verifier = verifier(vector).replay_capacity(1);
        let timestamp = vector.timestamp.to_string();
        let headers = headers(vector, &timestamp, &vector.signature);
        verifier.remember(vector.id.as_bytes());
        assert_eq!(
            verifier.verify(&headers, vector.body.as_bytes()),
            Err(VerifyError::replayed(vector.id.as_bytes()))
        );
        verifier.remember(b"msg_another");
        assert_eq!(
            verifier.verify(&headers, vector.body.as_bytes()),
            Ok(()),
            "evicted by the newer id"
        );
    }

    #[test]
    fn replacing_the_secrets_rotates_every_clone_at_once() {
        let old = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let new = "whsec_bmV3LXNlY3JldC1rZXktZm9yLXJvdGF0aW9u";
        let now = 1_700_000_000;
        let verifier = StandardWebhooks::new([old]).expect("secret").clock(move || now);
        let clone = verifier.clone();
        let signed_by = |secret: &str| {
            StandardWebhooks::new([secret])
                .expect("secret")
                .sign("msg_1", now, b"{}")
        };
        let check = |verifier: &StandardWebhooks, signature: &str| {
            let timestamp = now.to_string();
            let headers: [(&str, &[u8]); 3] = [
                ("webhook-id", b"msg_1"),
                ("webhook-timestamp", timestamp.as_bytes()),
                ("webhook-signature", signature.as_bytes()),
            ];
            verifier.verify(&headers, b"{}")
        };
        assert!(check(&clone, &signed_by(old)).is_ok());
        assert!(check(&clone, &signed_by(new)).is_err());
        verifier.replace([new]).expect("new secret");
        assert!(
            check(&clone, &signed_by(new)).is_ok(),
            "the clone verifies with the new secret"
        );
        assert!(
            check(&clone, &signed_by(old)).is_err(),
            "the old secret is retired at once"
        );
        assert_eq!(
            clone.sign("msg_1", now, b"{}"),
            signed_by(new),
            "and signs with it"
        );
        assert_eq!(
            verifier.replace(Vec::<&str>::new()),
            Err(StandardSecretError::Empty)
        );
        assert_eq!(
            verifier.replace(["whsec_not base64!"]),
            Err(StandardSecretError::NotBase64)
        );
        assert!(
            check(&clone, &signed_by(new)).is_ok(),
            "a refused replacement keeps the secrets"
        );
    }

    #[test]
    fn debug_shows_no_key() {
        let verifier = StandardWebhooks::new(["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]).expect("secret");
        let debug = format!("{verifier:?}");
        assert!(!debug.contains("MfKQ9r8"), "{debug}");
    }
}
