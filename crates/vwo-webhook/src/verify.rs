//! Deciding whether a delivery really comes from VWO.
//!
//! Verification sees headers through [`HeaderLookup`] rather than a concrete `HeaderMap`, so
//! frameworks on http 0.2 (actix-web, rocket) and on http 1 (hyper, axum) plug in alike.

use std::fmt;

use crate::secret::Keyring;

/// The header VWO puts its shared key in.
pub const VWO_AUTH_HEADER: &str = "x-vwo-auth";

/// Read access to a request's headers.
pub trait HeaderLookup {
    /// The first value of the header `name` (passed in lowercase). Implementations must
    /// match header names case-insensitively, as HTTP requires.
    fn header(&self, name: &str) -> Option<&[u8]>;
}

impl HeaderLookup for [(&str, &[u8])] {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| *value)
    }
}

impl<const N: usize> HeaderLookup for [(&str, &[u8]); N] {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.as_slice().header(name)
    }
}

/// Why a delivery was refused. Names what was wrong, never a presented or expected value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The credential header is absent.
    #[error("header `{0}` is missing")]
    MissingHeader(&'static str),
    /// The credential header is present but empty.
    #[error("header `{0}` is empty")]
    EmptyHeader(&'static str),
    /// The credential header is well formed but matches no configured secret.
    #[error("header `{0}` does not match any configured secret")]
    Mismatch(&'static str),
    /// The credential header cannot be parsed.
    #[error("header `{header}` is malformed: {reason}")]
    Malformed {
        /// The header's name.
        header: &'static str,
        /// What is wrong with it, without its value.
        reason: &'static str,
    },
    /// Authentic, but a delivery with this id was already answered: acknowledged with 200 and
    /// not refreshed again.
    #[error("delivery `{0}` was already processed")]
    Replayed(&'static str),
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

    /// Records `id` as delivered; a later delivery with it fails with [`VerifyError::Replayed`].
    fn remember(&self, _id: &[u8]) {}
}

/// VWO's shared key: the secret arrives verbatim in `x-vwo-auth`.
///
/// The comparison is constant-time and hides the secret's length; every secret of the keyring
/// is accepted, so keys rotate without downtime.
#[derive(Clone)]
pub struct SharedKey {
    keyring: Keyring,
    header: &'static str,
}

impl SharedKey {
    /// Checks `x-vwo-auth` against `keyring`.
    pub fn new(keyring: Keyring) -> Self {
        Self {
            keyring,
            header: VWO_AUTH_HEADER,
        }
    }

    /// Reads the key from another header (given in lowercase) instead of `x-vwo-auth`.
    pub fn header(mut self, header: &'static str) -> Self {
        self.header = header;
        self
    }

    /// The keyring this verifier checks against; keep a clone to rotate keys.
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }
}

/// The value of credential header `name`: absent and empty are both refusals.
pub(crate) fn credential<'h>(
    headers: &'h dyn HeaderLookup,
    name: &'static str,
) -> Result<&'h [u8], VerifyError> {
    match headers.header(name) {
        None => Err(VerifyError::MissingHeader(name)),
        Some([]) => Err(VerifyError::EmptyHeader(name)),
        Some(value) => Ok(value),
    }
}

impl Verifier for SharedKey {
    fn verify(&self, headers: &dyn HeaderLookup, _body: &[u8]) -> Result<(), VerifyError> {
        let presented = credential(headers, self.header)?;
        if self.keyring.matches(presented) {
            Ok(())
        } else {
            Err(VerifyError::Mismatch(self.header))
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
            Err(VerifyError::MissingHeader("x-vwo-auth"))
        );
        assert_eq!(
            v.verify(&[("x-vwo-auth", &b""[..])], b""),
            Err(VerifyError::EmptyHeader("x-vwo-auth"))
        );
        for wrong in ["s3cre", "s3crett", "nope"] {
            let error = v
                .verify(&[("x-vwo-auth", wrong.as_bytes())], b"")
                .expect_err(wrong);
            assert_eq!(error, VerifyError::Mismatch("x-vwo-auth"));
            assert!(!error.to_string().contains(wrong));
        }
    }

    #[test]
    fn custom_header_name() {
        let v = verifier().header("x-hook-key");
        assert!(v.verify(&[("x-vwo-auth", &b"s3cret"[..])], b"").is_err());
        assert_eq!(v.verify(&[("X-Hook-Key", &b"s3cret"[..])], b""), Ok(()));
    }
}
