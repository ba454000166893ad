#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod bucket;
mod context;
mod decide;
mod events;
mod fast_hash;
mod flag;
mod flags;
mod impressions;
mod js;
mod meg;
mod model;
#[cfg(feature = "openfeature")]
mod openfeature;
mod operand;
mod report;
mod segment;
mod storage;
pub mod telemetry;
mod uuid;
mod variable;

pub use context::{Context, ContextError};
pub use decide::Source;
pub use events::{
    Batching, ConfigError, DEFAULT_CAPACITY_BYTES, DEFAULT_EVENTS_URL, Reporter, ReportingConfig,
    ReportingStats, SDK_NAME, SDK_VERSION,
};
pub use flag::{Flag, Reason, RuleDecision};
pub use flags::{Flags, Gateway, NoGateway};
#[cfg(feature = "openfeature")]
pub use openfeature::{PROVIDER_NAME, VwoProvider};
pub use report::EventError;
pub use segment::{SegmentError, evaluate_segment};
pub use storage::{AsyncStorage, BoxFuture, MemoryStorage, NoStorage, Storage, StoredDecision};
pub use uuid::user_uuid;
pub use variable::Variable;
