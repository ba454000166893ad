//! Every metric the crate records, by name: decisions and settings problems (recorded by the
//! flags handle), and the reporter's events.

pub use crate::events::metric_names::{
    EVENTS_DROPPED, EVENTS_QUEUED, EVENTS_REQUEST_SECONDS, EVENTS_RETRIED, EVENTS_SENT, EVENTS_WAITING,
};
pub use crate::meter::{DECISIONS, FEATURES, REGEX_OVER_BUDGET, SETTINGS_PROBLEMS};
