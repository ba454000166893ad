#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod engine;
mod events;
mod flags;
mod meter;
#[cfg(feature = "openfeature")]
mod openfeature;
mod storage;
pub mod telemetry;
mod test_data;
mod tracking;

pub use engine::{
    Context, ContextError, Flag, Placement, Reason, RuleDecision, SegmentError, Variable, evaluate_segment,
    user_uuid,
};
pub use events::{
    Batching, ConfigError, DEFAULT_CAPACITY_BYTES, DEFAULT_EVENTS_URL, Reporter, ReportingConfig,
    ReportingStats, SDK_NAME, SDK_VERSION,
};
pub use flags::{Explanation, Flags, FlagsBuilder, Gateway, NoGateway};
#[cfg(feature = "openfeature")]
pub use openfeature::{DEFAULT_INITIALIZATION_TIMEOUT, PROVIDER_NAME, VwoProvider};
pub use storage::{AsyncStorage, BoxFuture, MemoryStorage, NoStorage, Storage, StoredDecision};
pub use test_data::{TestData, TestFlag};
pub use tracking::EventError;
