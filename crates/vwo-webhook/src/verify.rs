//! Deciding whether a delivery really comes from VWO.
//!
//! Verification sees headers through [`HeaderLookup`] rather than a concrete `HeaderMap`, so
//! frameworks on http 0.2 (actix-web, rocket) and on http 1 (hyper, axum) plug in alike.

use std::borrow::Cow;
use std::fmt;

use crate::secret::Keyring;

/// The header VWO puts its shared key in.
pub const VWO_AUTH_HEADER: &str = "x-vwo-auth";

/// Read access to a request's headers.
pub trait HeaderLookup {
    /// The first value of the header `name` (passed in lowercase). Implementations must
    /// match header names case-insensitively, as HTTP requires.
    fn header(&self, name: &str) -> Option<&[u8]>;

    /// Whether the header `name` was sent more than once. A credential sent twice is
    /// ambiguous (which one did a proxy add?), so verifiers refuse it. The default, for a
    /// lookup that cannot tell, is `false`: then the first value is checked.
    fn is_repeated(&self, name: &str) -> bool {
        let _ = name;
        false
    }
}

impl HeaderLookup for [(&str, &[u8])] {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| *value)
    }

    fn is_repeated(&self, name: &str) -> bool {
        self.iter()
            .filter(|(key, _)| key.eq_ignore_ascii_case(name))
            .nth(1)
            .is_some()
    }
}

impl<const N: usize> HeaderLookup for [(&str, &[u8]); N] {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.as_slice().header(name)
    }

    fn is_repeated(&self, name: &str) -> bool {
        self.as_slice().is_repeated(name)
    }
}

/// A header name as verifiers keep it: borrowed for the built-in names, owned for one read
/// from configuration.
pub type HeaderName = Cow<'static, str>;

/// Why a delivery was refused. Names what was wrong, never a presented or expected value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The credential header is absent.
    #[error("header `{0}` is missing")]
    MissingHeader(HeaderName),
    /// The credential header is present but empty.
    #[error("header `{0}` is empty")]
    EmptyHeader(HeaderName),
    /// The credential header is well formed but matches no configured secret.
    #[error("header `{0}` does not match any configured secret")]
    Mismatch(HeaderName),
    /// The credential header cannot be parsed.
    #[error("header `{header}` is malformed: {reason}")]
    Malformed {
        /// The header's name.
        header: HeaderName,
        /// What is wrong with it, without its value.
        reason: Cow<'static, str>,
    },
    /// Authentic, but a delivery with this id was already answered: acknowledged with 200 and
    /// not refreshed again.
    #[error("delivery `{id}` was already processed")]
    Replayed {
        /// The delivery's id (authenticated, so it is the sender's, not an attacker's),
        /// shortened to [`VerifyError::MAX_ID_CHARS`] characters.
        id: String,
    },
    /// Refused for a reason of the verifier's own (a custom scheme, a policy). The reason is
    /// logged and never sent to the client; it must not contain a secret.
    #[error("{0}")]
    Refused(Cow<'static, str>),
}

impl VerifyError {
    /// The most characters of a delivery id that [`VerifyError::Replayed`] keeps.
    pub const MAX_ID_CHARS: usize = 64;

    /// A refusal for a reason of a custom verifier's own.
    pub fn refused(reason: impl Into<Cow<'static, str>>) -> Self {
        Self::Refused(reason.into())
    }

    /// A malformed credential header `header`, for `reason` (which must not quote its value).
    pub fn malformed(header: impl Into<HeaderName>, reason: impl Into<Cow<'static, str>>) -> Self {
        Self::Malformed {
            header: header.into(),
            reason: reason.into(),
        }
    }

    /// A replay of delivery `id` (lossily decoded and shortened for logs).
    pub fn replayed(id: &[u8]) -> Self {
        let id = String::from_utf8_lossy(id)
            .chars()
            .take(Self::MAX_ID_CHARS)
            .collect();
        Self::Replayed { id }
    }
}

/// A check every delivery must pass before its body is trusted.
///
/// Implement it for signature schemes of your own. A verifier must fail closed: when it cannot
/// tell, it refuses.
pub trait Verifier: Send + Sync + 'static {
    /// Whether [`Verifier::verify`] reads the body. Verifiers that do not are run before the
    /// body is read, so an unauthenticated client cannot make the server read its body.
    fn reads_body(&self) -> bool {
        false
    }

    /// Accepts or refuses a delivery. `body` is empty when [`Verifier::reads_body`] is false.
    fn verify(&self, headers: &dyn HeaderLookup, body: &[u8]) -> Result<(), VerifyError>;

    /// For verifiers with replay protection: the id of a delivery that [`Verifier::verify`]
    /// accepted. The receiver hands it to [`Verifier::remember`] once the delivery is answered
    /// with a 2xx, so a failed delivery's redelivery still refreshes.
    fn replay_id(&self, _headers: &dyn HeaderLookup) -> Option<Vec<u8>> {
        None
    }

    /// Records `id` as delivered; a later delivery with it fails with
    /// [`VerifyError::Replayed`].
    fn remember(&self, _id: &[u8]) {}
}

/// VWO's shared key: the secret arrives verbatim in `x-vwo-auth`.
///
/// The comparison is constant-time and hides the secret's length; every secret of the keyring
/// is accepted, so keys rotate without downtime.
#[derive(Clone)]
pub struct SharedKey {
    keyring: Keyring,
    header: HeaderName,
}

impl SharedKey {
    /// Checks `x-vwo-auth` against `keyring`.
    pub fn new(keyring: Keyring) -> Self {
        Self {
            keyring,
            header: Cow::Borrowed(VWO_AUTH_HEADER),
        }
    }

    /// Reads the key from another header instead of `x-vwo-auth` (a name from configuration
    /// is fine; it is matched case-insensitively).
    pub fn header(mut self, header: impl Into<HeaderName>) -> Self {
        self.header = lowercase(header.into());
        self
    }

    /// The keyring this verifier checks against; keep a clone to rotate keys.
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }
}

/// The value of credential header `name`: absent, empty and repeated are all refusals.
pub(crate) fn credential<'h>(
    headers: &'h dyn HeaderLookup,
    name: &HeaderName,
) -> Result<&'h [u8], VerifyError> {
    if headers.is_repeated(name) {
        return Err(VerifyError::Malformed {
            header: name.clone(),
            reason: Cow::Borrowed("sent more than once"),
        });
    }
    match headers.header(name) {
        None => Err(VerifyError::MissingHeader(name.clone())),
        Some([]) => Err(VerifyError::EmptyHeader(name.clone())),
        Some(value) => Ok(value),
    }
}

/// `name` in lowercase, as [`HeaderLookup::header`] expects it; borrowed names stay borrowed
/// when they already are.
pub(crate) fn lowercase(name: HeaderName) -> HeaderName {
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(name.to_ascii_lowercase())
    } else {
        name
    }
}

impl Verifier for SharedKey {
    fn verify(&self, headers: &dyn HeaderLookup, _body: &[u8]) -> Result<(), VerifyError> {
        let presented = credential(headers, &self.header)?;
        if self.keyring.matches(presented) {
            Ok(())
        } else {
            Err(VerifyError::Mismatch(self.header.clone()))
        }
    }
}

impl fmt::Debug for SharedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedKey")
            .field("header", &self.header)
            .field("keyring", &self.keyring)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verifier() -> SharedKey {
        SharedKey::new(Keyring::from_comma_separated("s3cret,n3xt").expect("secrets"))
    }

    #[test]
    fn a_credential_sent_twice_is_refused_whichever_comes_first() {
        let v = verifier();
        for pair in [
            [("x-vwo-auth", &b"s3cret"[..]), ("X-Vwo-Auth", &b"wrong"[..])],
            [("x-vwo-auth", &b"wrong"[..]), ("x-vwo-auth", &b"s3cret"[..])],
            [("x-vwo-auth", &b"s3cret"[..]), ("x-vwo-auth", &b"s3cret"[..])],
        ] {
            let error = v.verify(&pair, b"").expect_err("ambiguous");
            assert_eq!(
                error.to_string(),
                "header `x-vwo-auth` is malformed: sent more than once"
            );
        }
    }

    #[test]
    fn accepts_any_secret_of_the_keyring_under_any_header_case() {
        let v = verifier();
        assert_eq!(v.verify(&[("x-vwo-auth", &b"s3cret"[..])], b""), Ok(()));
        assert_eq!(v.verify(&[("X-VWO-Auth", &b"n3xt"[..])], b""), Ok(()));
    }

    #[test]
    fn fails_closed() {
        let v = verifier();
        let none: [(&str, &[u8]); 0] = [];
        assert_eq!(
            v.verify(&none, b""),
            Err(VerifyError::MissingHeader("x-vwo-auth".into()))
        );
        assert_eq!(
            v.verify(&[("x-vwo-auth", &b""[..])], b""),
            Err(VerifyError::EmptyHeader("x-vwo-auth".into()))
        );
        for wrong in ["s3cre", "s3crett", "nope"] {
            let error = v
                .verify(&[("x-vwo-auth", wrong.as_bytes())], b"")
                .expect_err(wrong);
            assert_eq!(error, VerifyError::Mismatch("x-vwo-auth".into()));
            assert!(!error.to_string().contains(wrong));
        }
    }

    #[test]
    fn custom_header_name() {
        // A name read from configuration, in any case.
        let configured = String::from("X-Hook-Key");
        let v = verifier().header(configured);
        assert!(v.verify(&[("x-vwo-auth", &b"s3cret"[..])], b"").is_err());
        assert_eq!(v.verify(&[("X-Hook-Key", &b"s3cret"[..])], b""), Ok(()));
        assert_eq!(
            v.verify(&[("x-hook-key", &b"nope"[..])], b""),
            Err(VerifyError::Mismatch("x-hook-key".into()))
        );
    }
}

#[cfg(test)]
mod error_tests {
    use super::*;

    #[test]
    fn a_custom_verifier_can_say_why_and_replays_name_the_delivery() {
        assert_eq!(
            VerifyError::refused("sender not on the allow list").to_string(),
            "sender not on the allow list"
        );
        let reason = format!("{} attempts from this address", 3);
        assert_eq!(
            VerifyError::refused(reason).to_string(),
            "3 attempts from this address"
        );
        assert_eq!(
            VerifyError::replayed(b"msg_2KWPBgLlAfxdpx2AI54pPJ85f4W").to_string(),
            "delivery `msg_2KWPBgLlAfxdpx2AI54pPJ85f4W` was already processed"
        );
        let long = VerifyError::replayed(&[b'a'; 500]).to_string();
        assert!(long.len() < 100, "{long}");
        assert_eq!(
            VerifyError::malformed(String::from("x-sig"), "not hex").to_string(),
            "header `x-sig` is malformed: not hex"
        );
    }
}
