//! The names the fleet's state goes by, and the tokens and times written with it.

use std::time::{SystemTime, UNIX_EPOCH};

/// The names of the fleet's keys. They share a hash tag, so they live in one Cluster slot.
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    pub(crate) state: String,
    pub(crate) lock: String,
    pub(crate) channel: String,
}

impl Keys {
    pub(crate) fn new(prefix: &str) -> Self {
        Self {
            state: format!("{prefix}:state"),
            lock: format!("{prefix}:lock"),
            channel: format!("{prefix}:changed"),
        }
    }
}

/// A random token: an epoch for a new hash, or a lock owner's proof.
pub(crate) fn new_epoch() -> String {
    format!("{:016x}", fastrand::u64(..))
}

pub(crate) fn millis(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
