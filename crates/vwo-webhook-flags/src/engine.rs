//! The decision engine: VWO's settings compiled into a model, and `getFlag` decided on it for
//! one context, exactly as the SDK decides. Pure: no I/O, no clock, no runtime, no metrics,
//! no logs. The service side ([`crate::Flags`], `events/`, `telemetry`) holds the model,
//! stores, reports and counts; it reaches the engine through [`decide`] and the few names
//! below, and a test keeps the engine from importing it (`tests/engine_walls.rs`).
//!
//! Inside: `model/` compiles the settings; `decide/` runs `getFlag` (its rule order, traffic,
//! whitelisting, and the mutually exclusive groups in `decide/groups`); `segment/` and
//! `operand` evaluate the segment DSL; `bucket`, `variable`, `context`, `uuid` and `js` (the
//! JavaScript semantics the SDK's answers lean on) are what those share.

mod bucket;
mod context;
mod decide;
mod fast_hash;
mod flag;
pub(crate) mod js;
mod model;
mod operand;
mod segment;
mod stored;
mod uuid;
mod variable;

pub use context::{Context, ContextError};
pub use flag::{Flag, Placement, Reason, RuleDecision};
pub use segment::{SegmentError, evaluate_segment};
pub use stored::StoredDecision;
pub use uuid::user_uuid;
pub use variable::Variable;

pub(crate) use context::map_weight;
pub(crate) use decide::{Decision, Lists, Miss, Records, StorageView, decide};
pub(crate) use model::{Model, ReportedId};
pub(crate) use segment::USER_ID_KEY;
pub(crate) use uuid::{account_namespace, user_uuid_in};
