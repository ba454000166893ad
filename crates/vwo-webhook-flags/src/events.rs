//! Impressions and events for VWO's reports: what the SDK sends (`vwo_variationShown` for
//! each decision it reports, `trackEvent`, `setAttribute`), in the same shape, queued by the
//! decision without waiting and sent in batches by a background task.

mod config;
mod dispatcher;
pub(crate) mod impressions;
pub(crate) mod metric_names;
pub(crate) mod payload;
mod queue;
mod reporter;
mod retry;

pub use config::{Batching, ConfigError, DEFAULT_CAPACITY_BYTES, DEFAULT_EVENTS_URL, ReportingConfig};
pub use payload::{SDK_NAME, SDK_VERSION};
pub use reporter::{Reporter, ReportingStats};
