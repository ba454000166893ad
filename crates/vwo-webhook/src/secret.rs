//! Shared secrets and the keyring that lets them rotate without a restart.
//!
//! A secret is compared through its SHA-256 digest: every comparison then runs over 32 bytes
//! whatever the secret's length, so timing reveals neither the secret nor how long it is.

use std::fmt;
use std::sync::Arc;

use arc_swap::ArcSwap;
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};
use zeroize::Zeroize;

/// A shared secret. Its bytes never show in `Debug` or `Display` and are wiped on drop.
#[derive(Clone)]
pub struct Secret {
    bytes: Box<[u8]>,
    /// SHA-256 of `bytes`, as words for a cheaper constant-time comparison.
    digest: [u64; 4],
}

/// Why a secret or a keyring could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// An empty secret would accept an empty header.
    #[error("a secret must not be empty")]
    Empty,
    /// A keyring with no secret would reject every delivery.
    #[error("a keyring needs at least one secret")]
    EmptyKeyring,
}

impl Secret {
    /// Wraps secret bytes; the input is moved, not copied.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, SecretError> {
        let bytes = bytes.into().into_boxed_slice();
        if bytes.is_empty() {
            return Err(SecretError::Empty);
        }
        let digest = digest_words(&bytes);
        Ok(Self { bytes, digest })
    }

    /// The secret's bytes, for verifiers that key a MAC with them.
    pub fn expose(&self) -> &[u8] {
        &self.bytes
    }

    /// Constant-time check of `presented` against this secret, independent of both lengths.
    pub fn matches(&self, presented: &[u8]) -> bool {
        let presented = PresentedKey::new(presented);
        presented.matches(self).into()
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.bytes.zeroize();
        self.digest.zeroize();
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

fn digest_words(bytes: &[u8]) -> [u64; 4] {
    let mut digest: [u8; 32] = Sha256::digest(bytes).into();
    let mut words = [0u64; 4];
    for (word, chunk) in words.iter_mut().zip(digest.chunks_exact(8)) {
        let mut le = [0u8; 8];
        le.copy_from_slice(chunk);
        *word = u64::from_le_bytes(le);
        le.zeroize();
    }
    digest.zeroize();
    words
}

/// The digest of a key a client presented, computed once and compared with every secret.
pub(crate) struct PresentedKey([u64; 4]);

impl PresentedKey {
    pub(crate) fn new(presented: &[u8]) -> Self {
        Self(digest_words(presented))
    }

    pub(crate) fn matches(&self, secret: &Secret) -> Choice {
        // Word-wise: four constant-time comparisons instead of thirty-two.
        self.0
            .iter()
            .zip(&secret.digest)
            .fold(Choice::from(1), |equal, (a, b)| equal & a.ct_eq(b))
    }
}

impl Drop for PresentedKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// The secrets currently accepted. Cheap to clone; every clone sees the same, live set.
///
/// Keep a clone and call [`Keyring::replace`] from any thread to rotate keys: add the new key
/// next to the old one, switch VWO over, then replace the set with the new key alone.
#[derive(Clone)]
pub struct Keyring {
    secrets: Arc<ArcSwap<Vec<Secret>>>,
}

impl Keyring {
    /// A keyring accepting each of `secrets`.
    pub fn new(secrets: impl IntoIterator<Item = Secret>) -> Result<Self, SecretError> {
        let secrets = non_empty(secrets)?;
        Ok(Self {
            secrets: Arc::new(ArcSwap::from_pointee(secrets)),
        })
    }

    /// Builds a keyring from comma-separated secrets, as in an environment variable.
    /// Blank entries are skipped; at least one secret is required.
    pub fn from_comma_separated(list: &str) -> Result<Self, SecretError> {
        Self::new(
            list.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .filter_map(|s| Secret::new(s).ok()),
        )
    }

    /// Atomically replaces the accepted secrets; deliveries already being checked finish with
    /// the old set, the next ones use the new one.
    pub fn replace(&self, secrets: impl IntoIterator<Item = Secret>) -> Result<(), SecretError> {
        self.secrets.store(Arc::new(non_empty(secrets)?));
        tracing::info!(secrets = self.len(), "vwo-webhook keyring replaced");
        Ok(())
    }

    /// How many secrets are accepted.
    pub fn len(&self) -> usize {
        self.secrets.load().len()
    }

    /// Always false: a keyring holds at least one secret.
    pub fn is_empty(&self) -> bool {
        self.secrets.load().is_empty()
    }

    /// Whether `presented` equals any accepted secret. Every secret is compared, with no early
    /// exit, so timing does not say which one matched.
    pub fn matches(&self, presented: &[u8]) -> bool {
        let presented = PresentedKey::new(presented);
        let secrets = self.secrets.load();
        let mut found = Choice::from(0);
        for secret in secrets.iter() {
            found |= presented.matches(secret);
        }
        found.into()
    }

    /// Runs `f` over the current secrets (for verifiers that key a MAC with each of them).
    pub fn with_secrets<T>(&self, f: impl FnOnce(&[Secret]) -> T) -> T {
        f(&self.secrets.load())
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring").field("secrets", &self.len()).finish()
    }
}

fn non_empty(secrets: impl IntoIterator<Item = Secret>) -> Result<Vec<Secret>, SecretError> {
    let secrets: Vec<Secret> = secrets.into_iter().collect();
    if secrets.is_empty() {
        return Err(SecretError::EmptyKeyring);
    }
    Ok(secrets)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> Secret {
        Secret::new(s).expect("non-empty")
    }

    #[test]
    fn debug_and_display_are_redacted() {
        let s = secret("hunter2-very-secret");
        assert_eq!(format!("{s:?}"), "Secret([redacted])");
        assert_eq!(format!("{s}"), "[redacted]");
        let ring = Keyring::new([s]).expect("one secret");
        assert!(!format!("{ring:?}").contains("hunter2"));
    }

    #[test]
    fn empty_secret_and_empty_keyring_are_refused() {
        assert_eq!(Secret::new("").err(), Some(SecretError::Empty));
        assert_eq!(Keyring::new([]).err(), Some(SecretError::EmptyKeyring));
        assert_eq!(
            Keyring::from_comma_separated(" , ,").err(),
            Some(SecretError::EmptyKeyring)
        );
    }

    #[test]
    fn matches_exactly_and_nothing_else() {
        let s = secret("s3cret");
        assert!(s.matches(b"s3cret"));
        for wrong in ["", "s3cre", "s3crett", "S3cret", "s3cret "] {
            assert!(!s.matches(wrong.as_bytes()), "{wrong:?}");
        }
    }

    #[test]
    fn keyring_rotates_from_another_thread() {
        let ring = Keyring::from_comma_separated("old, new").expect("two secrets");
        assert_eq!(ring.len(), 2);
        assert!(ring.matches(b"old") && ring.matches(b"new"));
        let handle = ring.clone();
        std::thread::spawn(move || handle.replace([secret("new")]))
            .join()
            .expect("thread")
            .expect("one secret");
        assert!(!ring.matches(b"old"));
        assert!(ring.matches(b"new"));
        assert_eq!(ring.replace([]), Err(SecretError::EmptyKeyring));
        assert!(ring.matches(b"new"), "a refused replacement keeps the old set");
    }
}
