//! Settings origins on loopback: what keeps the whole loop (webhook, fetch, validate, swap)
//! working offline in tests, demos and benchmarks. Like VWO's host (and a gateway), the demo
//! origins also take the events the SDK posts.

mod changing;
mod events;
mod fixed;
mod http;
mod scripted;

pub use changing::ChangingOrigin;
pub use fixed::spawn_fixed_origin;
pub use scripted::{Origin, Reply, Seen};
