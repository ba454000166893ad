//! The keys and bodies the suite sends, shared by the catalog and the black-box checks.

/// The secret every case configures, unless it tests rotation.
pub const SECRET: &str = "conformance-s3cret-7f2a";

/// VWO's documented notice, byte for byte.
pub const DOCUMENTED: &str = include_str!("../testdata/documented.json");

/// The part of a body sent before the client stalls, in cases that declare a longer one.
/// Rocket reads up to 14 bytes of every body before routing, as real clients send them with
/// the head; the receiver must answer without waiting for the rest.
pub const SENT_PREFIX: &str = r#"{"timestamp": 1606482285, "event": "settings_changed""#;

/// A notice with fields and values VWO may add later.
pub const UNKNOWN_FIELDS_AND_VALUES: &str = r#"{"timestamp":1763800000,"event":"settings_moved","action":"flag_renamed",
                       "triggered_by":"api","region":"eu","nested":{"a":[1,2,3]}}"#;

/// The HMAC signing key of the signature cases.
pub const SIGNING_KEY: &str = "conformance-signing-key-31c9";

/// The Standard Webhooks secret of the signature cases.
pub const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
