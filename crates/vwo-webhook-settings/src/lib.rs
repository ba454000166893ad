//! The settings backend for vwo-webhook: a VWO webhook says only "settings changed"; this
//! crate fetches the new settings file, validates it, holds it for the service and keeps a
//! copy on disk.
//!
//! ```no_run
//! use vwo_webhook::{Keyring, Receiver};
//! use vwo_webhook_settings::{SdkKey, VwoSettings};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let settings = VwoSettings::builder("123456", SdkKey::new(std::env::var("VWO_SDK_KEY")?))
//!     .cache_file("/var/lib/my-service/vwo-settings.json")
//!     .build()?;
//! let store = settings.store(); // read it anywhere: store.current()
//! let receiver = Receiver::builder(settings.clone())
//!     .keyring(Keyring::from_comma_separated(&std::env::var("VWO_WEBHOOK_SECRET")?)?)
//!     .build()?;
//! let _poll = settings.start(receiver.coordinator()); // first fetch + safety-net poll
//! // ... mount `receiver` with an adapter crate and serve.
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod backend;
mod origin;
mod persist;
pub mod replication;
mod snapshot;
mod store;
pub mod telemetry;
mod validate;

pub use backend::{
    Checked, DEFAULT_POLL_INTERVAL, DEFAULT_REFUSED_VERDICT_WINDOW, POLL_JITTER, SettingsBuilder,
    SettingsError, VwoSettings,
};
pub use origin::{
    DEFAULT_BASE_URL, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_SIZE, DEFAULT_TIMEOUT, FetchError,
    MAX_ETAG_LENGTH, SdkKey,
};
pub use persist::{CacheError, load as load_cache};
pub use snapshot::{DocumentError, Snapshot, Source};
pub use store::{LastError, Replication, SettingsStore, Status};
/// The metric names, also at the crate root as before.
pub use validate::{Check, ValidationError, validate};

/// The README's examples, compiled as doctests so the registry page cannot drift from the code.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
