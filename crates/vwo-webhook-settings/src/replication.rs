//! The store's write side, and the origin client the backend fetches with, for what installs
//! settings other than the backend's own fetch: a replication backend (the Redis fleet), a
//! test, a benchmark. A service that reads settings
//! never needs it, so it stays out of [`SettingsStore`](crate::SettingsStore)'s reading surface: bring the trait in
//! scope (`use vwo_webhook_settings::replication::StoreWrite`) to write.

use std::time::SystemTime;

use crate::{Replication, Snapshot};

pub use crate::origin::{Endpoint, Fetched, Origin};
pub use crate::persist::write_atomic;

/// Writing to a [`SettingsStore`](crate::SettingsStore).
pub trait StoreWrite {
    /// Makes `snapshot` current and tells subscribers. A snapshot from the origin also counts
    /// as a confirmation and clears the last error; one from the on-disk copy does neither.
    fn publish(&self, snapshot: Snapshot);

    /// Records a successful check that found the current settings still current (a 304):
    /// nothing is swapped or announced, the last error is cleared.
    fn confirm(&self);

    /// Records that the origin confirmed the current settings at `at` (for a replica told by
    /// its fleet when another replica checked); an older confirmation changes nothing.
    fn confirm_at(&self, at: SystemTime);

    /// Says how this replica is linked to its fleet (shown by [`SettingsStore::status`](crate::SettingsStore::status)).
    fn set_replication(&self, replication: Option<Replication>);

    /// Records a failed refresh; the current snapshot stays.
    fn record_error(&self, message: String);
}
