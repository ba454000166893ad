//! One webhook, every replica fresh: a fleet-wide VWO settings refresh on Redis.
//!
//! VWO calls one URL; behind a load balancer that reaches one replica. With this crate the
//! replica that receives the webhook makes one fetch from VWO for the whole fleet (others
//! receiving deliveries in the same burst wait for it), stores the document in Redis with a
//! revision, and announces it; every replica loads, validates and serves it. A delivery is
//! acknowledged only by a fetch that started after it arrived, fleet-wide, without trusting
//! clocks (tickets from one Redis counter). When Redis is away the receiving replica fetches
//! on its own and the fleet catches up when it is back. See [replicas](https://github.com/vwo-webhook/vwo-webhook/blob/main/docs/replicas.md).
//!
//! ```no_run
//! use vwo_webhook::{Keyring, Receiver};
//! use vwo_webhook_redis::RedisFleet;
//! use vwo_webhook_settings::{SdkKey, VwoSettings};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let settings = VwoSettings::builder("123456", SdkKey::new(std::env::var("VWO_SDK_KEY")?))
//!     .cache_file("/var/lib/my-service/vwo-settings.json")
//!     .build()?;
//! let store = settings.store(); // read it anywhere: store.current()
//! let fleet = RedisFleet::builder(std::env::var("REDIS_URL")?, settings).build()?;
//! let receiver = Receiver::builder(fleet.clone())
//!     .keyring(Keyring::from_comma_separated(&std::env::var("VWO_WEBHOOK_SECRET")?)?)
//!     .build()?;
//! let _fleet = fleet.start(receiver.coordinator()); // from Redis, else cache + VWO; follow
//! // ... mount `receiver` with an adapter crate and serve.
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod deployment;
mod error;
mod fleet;
mod follower;
mod keys;
mod replica;
mod scripts;
mod shared;
pub mod telemetry;

pub use fleet::{
    DEFAULT_CATCH_UP_INTERVAL, DEFAULT_LOCK_TTL, DEFAULT_MIN_SPACING, DEFAULT_REDIS_TIMEOUT, FleetBuilder,
    FleetError, FleetHandle, RedisFleet,
};

/// The README's examples, compiled as doctests so the registry page cannot drift from the code.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
