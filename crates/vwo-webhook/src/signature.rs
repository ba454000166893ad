//! HMAC-SHA256 over the raw body, as GitHub (hex, `sha256=` prefix) and Shopify (base64) send
//! it: the signing schemes teams already run in front of webhook endpoints.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::secret::Keyring;
use crate::verify::{HeaderLookup, HeaderName, Verifier, VerifyError, credential, lowercase};

type HmacSha256Mac = Hmac<Sha256>;

/// How the signature header encodes the 32-byte MAC.
///
/// Verification is lenient where senders differ (hex in either case, with or without the
/// `sha256=` prefix); [`HmacSha256::sign`] writes the exact form named here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Encoding {
    /// Lowercase hex; verification also takes uppercase and a `sha256=` prefix.
    Hex,
    /// `sha256=` then lowercase hex, as GitHub sends it; verification also takes bare hex.
    PrefixedHex,
    /// Standard base64 with padding, as Shopify sends it.
    Base64,
}

/// Checks an HMAC-SHA256 of the raw body bytes against a signature header.
///
/// Every secret of the keyring is tried (rotation without downtime), each comparison in
/// constant time. A malformed header is refused with 401, never a panic.
#[derive(Clone)]
pub struct HmacSha256 {
    keyring: Keyring,
    header: HeaderName,
    encoding: Encoding,
}

impl std::fmt::Debug for HmacSha256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HmacSha256")
            .field("header", &self.header)
            .field("encoding", &self.encoding)
            .field("secrets", &self.keyring.len())
            .finish()
    }
}

impl HmacSha256 {
    /// Signatures in `header` (any case; a name from configuration is fine), encoded as
    /// `encoding`, keyed by `keyring`.
    pub fn new(keyring: Keyring, header: impl Into<HeaderName>, encoding: Encoding) -> Self {
        Self {
            keyring,
            header: lowercase(header.into()),
            encoding,
        }
    }

    /// GitHub's scheme: `X-Hub-Signature-256: sha256=<hex>`.
    pub fn github(keyring: Keyring) -> Self {
        Self::new(keyring, "x-hub-signature-256", Encoding::PrefixedHex)
    }

    /// Shopify's scheme: `X-Shopify-Hmac-Sha256: <base64>`.
    pub fn shopify(keyring: Keyring) -> Self {
        Self::new(keyring, "x-shopify-hmac-sha256", Encoding::Base64)
    }

    /// The header the signature travels in (lowercase).
    pub fn header_name(&self) -> &str {
        &self.header
    }

    /// The header value that signs `body`, keyed by the keyring's first secret and written in
    /// this verifier's encoding: what a sender puts in [`HmacSha256::header_name`].
    pub fn sign(&self, body: &[u8]) -> String {
        // A keyring is never empty (its constructors refuse that).
        let mac = self
            .keyring
            .with_secrets(|secrets| hmac_sha256(secrets[0].expose(), &[body]));
        match self.encoding {
            Encoding::Hex => hex::encode(mac),
            Encoding::PrefixedHex => format!("sha256={}", hex::encode(mac)),
            Encoding::Base64 => BASE64.encode(mac),
        }
    }

    fn decode(&self, value: &[u8]) -> Result<[u8; 32], VerifyError> {
        let malformed = |reason: &'static str| VerifyError::malformed(self.header.clone(), reason);
        let value = std::str::from_utf8(value)
            .map_err(|_| malformed("not ASCII"))?
            .trim();
        let decoded = match self.encoding {
            Encoding::Hex | Encoding::PrefixedHex => {
                let digits = value.strip_prefix("sha256=").unwrap_or(value);
                hex::decode(digits).map_err(|_| malformed("not hex"))?
            }
            Encoding::Base64 => BASE64.decode(value).map_err(|_| malformed("not base64"))?,
        };
        decoded
            .try_into()
            .map_err(|_| malformed("not a 32-byte HMAC-SHA256"))
    }
}

/// The HMAC-SHA256 of `message` (the concatenation of its parts) under `key`.
pub(crate) fn hmac_sha256(key: &[u8], message: &[&[u8]]) -> [u8; 32] {
    let mut mac = HmacSha256Mac::new_from_slice(key).expect("HMAC takes keys of any length");
    for part in message {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Whether the HMAC-SHA256 of `message` under `key` is `signature`, in constant time.
pub(crate) fn hmac_matches(key: &[u8], message: &[&[u8]], signature: &[u8]) -> bool {
    let Ok(mut mac) = HmacSha256Mac::new_from_slice(key) else {
        return false;
    };
    for part in message {
        mac.update(part);
    }
    mac.verify_slice(signature).is_ok()
}

impl Verifier for HmacSha256 {
    fn reads_body(&self) -> bool {
        true
    }

    fn verify(&self, headers: &dyn HeaderLookup, body: &[u8]) -> Result<(), VerifyError> {
        let signature = self.decode(credential(headers, &self.header)?)?;
        // Every secret is tried, with no early exit, so timing does not tell which matched.
        let matched = self.keyring.with_secrets(|secrets| {
            secrets.iter().fold(false, |any, secret| {
                any | hmac_matches(secret.expose(), &[body], &signature)
            })
        });
        if matched {
            Ok(())
        } else {
            Err(VerifyError::Mismatch(self.header.clone()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GITHUB: &str = include_str!("../testdata/hmac-sha256-github.json");

    fn fixture() -> (String, String, String) {
        let fixture: serde_json::Value = serde_json::from_str(GITHUB).expect("fixture JSON");
        let field = |name: &str| fixture[name].as_str().expect(name).to_owned();
        (field("secret"), field("body"), field("signature"))
    }

    fn keyring(secrets: &str) -> Keyring {
        Keyring::from_comma_separated(secrets).expect("keyring")
    }

    #[test]
    fn passes_githubs_documented_vector() {
        let (secret, body, signature) = fixture();
        let verifier = HmacSha256::github(keyring(&format!("old-secret,{secret}")));
        let headers = [("x-hub-signature-256", signature.as_bytes())];
        assert_eq!(verifier.verify(&headers, body.as_bytes()), Ok(()));
        // Without the prefix, and in uppercase hex, it is the same MAC.
        let bare = signature.trim_start_matches("sha256=").to_uppercase();
        assert_eq!(
            verifier.verify(&[("x-hub-signature-256", bare.as_bytes())], body.as_bytes()),
            Ok(())
        );
        // One changed body byte, or a retired key, and it fails.
        assert_eq!(
            verifier.verify(&headers, b"Hello, World?"),
            Err(VerifyError::Mismatch("x-hub-signature-256".into()))
        );
        let retired = HmacSha256::github(keyring("old-secret"));
        assert_eq!(
            retired.verify(&headers, body.as_bytes()),
            Err(VerifyError::Mismatch("x-hub-signature-256".into()))
        );
    }

    #[test]
    fn sign_writes_githubs_documented_signature_in_every_encoding() {
        let (secret, body, signature) = fixture();
        // The first secret signs; the others only verify.
        let github = HmacSha256::github(keyring(&format!("{secret},old-secret")));
        assert_eq!(github.sign(body.as_bytes()), signature);
        assert_eq!(github.header_name(), "x-hub-signature-256");
        let bare = signature.trim_start_matches("sha256=");
        let hex = HmacSha256::new(keyring(&secret), String::from("X-Signature"), Encoding::Hex);
        assert_eq!(hex.sign(body.as_bytes()), bare);
        assert_eq!(hex.header_name(), "x-signature");
        let shopify = HmacSha256::shopify(keyring(&secret));
        let raw = hex::decode(bare).expect("hex");
        assert_eq!(shopify.sign(body.as_bytes()), BASE64.encode(raw));
        for verifier in [github, hex, shopify] {
            let value = verifier.sign(b"{}");
            let headers = [(verifier.header_name(), value.as_bytes())];
            assert_eq!(verifier.verify(&headers, b"{}"), Ok(()));
        }
    }

    #[test]
    fn base64_signatures_verify_like_shopifys() {
        let (secret, body, signature) = fixture();
        let raw = hex::decode(signature.trim_start_matches("sha256=")).expect("hex");
        let encoded = BASE64.encode(raw);
        let verifier = HmacSha256::shopify(keyring(&secret));
        assert_eq!(
            verifier.verify(&[("x-shopify-hmac-sha256", encoded.as_bytes())], body.as_bytes()),
            Ok(())
        );
    }

    #[test]
    fn malformed_headers_are_401_reasons_not_panics() {
        let verifier = HmacSha256::github(keyring("k"));
        let cases: [(&[u8], &str); 5] = [
            (b"sha256=zz", "not hex"),
            (b"sha256=abc", "not hex"),
            (b"sha256=abcd", "not a 32-byte HMAC-SHA256"),
            (b"\xff\xfe", "not ASCII"),
            (b"sha1=0123456789abcdef0123456789abcdef01234567", "not hex"),
        ];
        for (value, reason) in cases {
            assert_eq!(
                verifier.verify(&[("x-hub-signature-256", value)], b"{}"),
                Err(VerifyError::malformed("x-hub-signature-256", reason))
            );
        }
        assert_eq!(
            verifier.verify(&[("x-hub-signature-256", b"".as_slice())], b"{}"),
            Err(VerifyError::EmptyHeader("x-hub-signature-256".into()))
        );
        let none: [(&str, &[u8]); 0] = [];
        assert_eq!(
            verifier.verify(&none, b"{}"),
            Err(VerifyError::MissingHeader("x-hub-signature-256".into()))
        );
    }

    #[test]
    fn debug_shows_no_secret() {
        let verifier = HmacSha256::github(keyring("super-secret-value"));
        let debug = format!("{verifier:?}");
        assert!(!debug.contains("super-secret-value"), "{debug}");
    }
}
