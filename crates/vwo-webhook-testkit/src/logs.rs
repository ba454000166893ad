//! Everything a test's code logs through `tracing`, as text: how a test shows that a secret
//! never reaches the logs. The published conformance suite needs the same capture for its
//! leak case, so it is written there once and named here with the rest of the kit.

pub use vwo_webhook_conformance::logs::{Capture, logs_of};
