//! Accepting any of several checks, for migrations (shared key today, signatures tomorrow).
//! Requiring all of several needs nothing here: every verifier given to the builder must pass.

use crate::verify::{HeaderLookup, Verifier, VerifyError};

/// Accepts a delivery that passes any one of its verifiers.
///
/// ```
/// use vwo_webhook::{AnyOf, HmacSha256, Keyring, SharedKey};
/// # fn demo() -> Result<(), vwo_webhook::SecretError> {
/// let migrating = AnyOf::new()
///     .or(SharedKey::new(Keyring::from_comma_separated("old-shared-key")?))
///     .or(HmacSha256::github(Keyring::from_comma_separated("new-signing-key")?));
/// # let _ = migrating; Ok(()) }
/// ```
///
/// It reads the body if any of its verifiers does. Replay protection does not pass through it:
/// an id is only trusted when the verifier that reads it is required, not one of alternatives.
#[derive(Default)]
pub struct AnyOf {
    verifiers: Vec<Box<dyn Verifier>>,
}

impl std::fmt::Debug for AnyOf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnyOf")
            .field("verifiers", &self.verifiers.len())
            .finish()
    }
}

impl AnyOf {
    /// Accepts nothing until alternatives are added with [`AnyOf::or`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an alternative.
    pub fn or(mut self, verifier: impl Verifier) -> Self {
        self.verifiers.push(Box::new(verifier));
        self
    }
}

impl Verifier for AnyOf {
    fn reads_body(&self) -> bool {
        self.verifiers.iter().any(|v| v.reads_body())
    }

    /// Tries every alternative (no early exit); the first one's error explains a refusal.
    fn verify(&self, headers: &dyn HeaderLookup, body: &[u8]) -> Result<(), VerifyError> {
        let mut first_error = None;
        let mut accepted = false;
        for verifier in &self.verifiers {
            match verifier.verify(headers, body) {
                Ok(()) => accepted = true,
                Err(error) => {
                    first_error.get_or_insert(error);
                }
            }
        }
        match (accepted, first_error) {
            (true, _) => Ok(()),
            (false, Some(error)) => Err(error),
            (false, None) => Err(VerifyError::refused("no verifier configured in AnyOf")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{HmacSha256, Keyring, SharedKey};

    fn any() -> AnyOf {
        let keyring = |k: &str| Keyring::from_comma_separated(k).expect("key");
        AnyOf::new()
            .or(SharedKey::new(keyring("shared")))
            .or(HmacSha256::github(keyring("signing")))
    }

    #[test]
    fn either_credential_is_enough_and_none_is_refused() {
        let verifier = any();
        assert!(verifier.reads_body());
        assert_eq!(
            verifier.verify(&[("x-vwo-auth", b"shared".as_slice())], b"{}"),
            Ok(())
        );
        let signature =
            HmacSha256::github(Keyring::from_comma_separated("signing").expect("key")).sign(b"{}");
        assert_eq!(
            verifier.verify(&[("x-hub-signature-256", signature.as_bytes())], b"{}"),
            Ok(())
        );
        assert_eq!(
            verifier.verify(&[("x-vwo-auth", b"wrong".as_slice())], b"{}"),
            Err(VerifyError::Mismatch("x-vwo-auth".into()))
        );
        let none: [(&str, &[u8]); 0] = [];
        assert_eq!(
            verifier.verify(&none, b"{}"),
            Err(VerifyError::MissingHeader("x-vwo-auth".into()))
        );
    }

    #[test]
    fn an_empty_any_of_refuses_everything() {
        let none: [(&str, &[u8]); 0] = [];
        assert_eq!(
            AnyOf::new().verify(&none, b"{}"),
            Err(VerifyError::refused("no verifier configured in AnyOf"))
        );
    }
}
