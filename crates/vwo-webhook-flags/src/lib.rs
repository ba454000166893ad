#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod client;
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

pub use client::{Client, ClientBuilder, ClientError, DEFAULT_READY_TIMEOUT, DecisionInfo, env};
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
pub use test_data::{TestData, TestFlag, TestVariation};
pub use tracking::EventError;
/// The credentials and the webhook's parts a [`Client`] is built with, so that this crate
/// alone builds one.
pub use vwo_webhook::{Keyring, Receiver};
pub use vwo_webhook_settings::SdkKey;
