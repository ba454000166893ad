//! What the workspace's tests, examples and benchmarks share, so that none of it is in a
//! published crate: settings origins on loopback, throwaway Redis servers, log capture, and
//! waiting with a bound. Not published.
#![forbid(unsafe_code)]

pub mod logs;
pub mod origin;
pub mod redis;
pub mod wait;

pub use logs::{Capture, logs_of};
pub use origin::{ChangingOrigin, Origin, Reply, spawn_fixed_origin};
pub use redis::{MISSING, RedisCluster, RedisSentinels, RedisServer, TlsFiles};
