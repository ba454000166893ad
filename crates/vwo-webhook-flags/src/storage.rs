//! Sticky decisions: the SDK's storage connector (`get(featureKey, userId)` /
//! `set(data)`). A user who got a variation keeps it while the campaign runs, even when the
//! traffic or the segments change; mutually exclusive groups remember their winner the same way
//! (under `_vwo_meta_meg_<groupId>`).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

pub use crate::engine::StoredDecision;

/// A storage connector that answers at once (memory, a local cache): decisions stay
/// synchronous. Keys are the feature key (or `_vwo_meta_meg_<groupId>`) and the user id.
pub trait Storage: Send + Sync {
    /// The decision stored for `key` and `user_id`.
    fn get(&self, key: &str, user_id: &str) -> Option<StoredDecision>;
    /// Stores a decision.
    fn set(&self, key: &str, user_id: &str, decision: StoredDecision);
}

/// A boxed future, for [`AsyncStorage`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A storage connector that does I/O (Redis, a database): use
/// [`Flags::get_flag_async`](crate::Flags::get_flag_async).
pub trait AsyncStorage: Send + Sync {
    /// The decision stored for `key` and `user_id`.
    fn get<'a>(&'a self, key: &'a str, user_id: &'a str) -> BoxFuture<'a, Option<StoredDecision>>;
    /// Stores a decision.
    fn set<'a>(&'a self, key: &'a str, user_id: &'a str, decision: StoredDecision) -> BoxFuture<'a, ()>;
}

/// No storage: every decision is made afresh (the SDK without a connector).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoStorage;

impl Storage for NoStorage {
    fn get(&self, _: &str, _: &str) -> Option<StoredDecision> {
        None
    }

    fn set(&self, _: &str, _: &str, _: StoredDecision) {}
}

/// Decisions kept in this process's memory, as the SDK's memory connector keeps them.
#[derive(Debug, Default)]
pub struct MemoryStorage {
    entries: Mutex<HashMap<(String, String), StoredDecision>>,
}

impl MemoryStorage {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many (key, user) pairs are stored.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), StoredDecision>> {
        // A panic while holding the lock cannot leave the map half-written.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Storage for MemoryStorage {
    fn get(&self, key: &str, user_id: &str) -> Option<StoredDecision> {
        self.lock().get(&(key.to_owned(), user_id.to_owned())).cloned()
    }

    fn set(&self, key: &str, user_id: &str, decision: StoredDecision) {
        self.lock().insert((key.to_owned(), user_id.to_owned()), decision);
    }
}

impl<S: Storage + ?Sized> Storage for std::sync::Arc<S> {
    fn get(&self, key: &str, user_id: &str) -> Option<StoredDecision> {
        (**self).get(key, user_id)
    }

    fn set(&self, key: &str, user_id: &str, decision: StoredDecision) {
        (**self).set(key, user_id, decision);
    }
}
