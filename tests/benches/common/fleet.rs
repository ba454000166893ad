//! What the replicas benchmark and the soak share: a replica process started from what its
//! driver put in the environment, and one delivery to it. Included by `#[path]` into each.

use std::net::SocketAddr;

use vwo_webhook::Keyring;
use vwo_webhook_conformance::client::Request;
use vwo_webhook_examples::fleet::{Replica, start_replica};
use vwo_webhook_settings::VwoSettings;

/// The documented notice.
const NOTICE: &str = r#"{"timestamp":1606482285,"event":"settings_changed"}"#;

/// Starts this process's replica: its webhook and its internal endpoints on loopback ports,
/// its fleet on `REDIS_URL`, its settings from `settings(ORIGIN)`. Needs a tokio runtime.
pub(crate) async fn start_from_env(
    settings: impl FnOnce(SocketAddr) -> VwoSettings,
    keyring: Keyring,
) -> Replica {
    let redis = std::env::var("REDIS_URL").expect("REDIS_URL");
    let origin: SocketAddr = std::env::var("ORIGIN").expect("ORIGIN").parse().expect("origin");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    start_replica(listener, admin, &redis, settings(origin), keyring).expect("replica")
}

/// Delivers [`NOTICE`] with `key` to the replica at `addr`: its status, 0 for no answer.
pub(crate) async fn deliver(addr: SocketAddr, key: &str) -> u16 {
    Request::post("/vwo-webhook", NOTICE)
        .header("x-vwo-auth", key)
        .header("content-type", "application/json")
        .send(addr)
        .await
        .map_or(0, |response| response.status)
}
