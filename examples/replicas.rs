//! Three replicas of one service, kept on the same settings by one webhook through Redis.
//!
//! ```text
//! cargo run --example replicas               # starts a local redis-server from PATH
//! REDIS_URL=redis://127.0.0.1:6379 cargo run --example replicas
//! ```
//!
//! The replicas listen on 127.0.0.1:4000, 4001 and 4002 (`VWO_WEBHOOK_ADDR` moves the
//! first). Without VWO credentials an offline demo origin serves settings whose `version`
//! goes up with every fetch, so a webhook to any replica shows on all three
//! `/settings/status` pages: the new version and revision, `source` `origin` on the replica
//! that fetched and `redis` on the others, and the Redis connection state.
#![allow(clippy::print_stdout)]

use std::net::SocketAddr;
use std::time::Duration;

use vwo_webhook_examples::fleet::{RedisSource, Replica, demo_settings, start_replica};
use vwo_webhook_examples::{
    DEMO_SETTINGS, Example, STATUS_PATH, SettingsSource, init_tracing, shutdown_signal,
};
use vwo_webhook_testkit::ChangingOrigin;

const REPLICAS: u16 = 3;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_tracing();
    let example = Example::from_env()?;
    let redis = RedisSource::from_env()?;
    if let RedisSource::Local(server) = &redis {
        tracing::info!(port = server.port(), "no REDIS_URL: started a local redis-server");
    }
    let origin = match example.settings {
        SettingsSource::OfflineDemo => Some(ChangingOrigin::spawn(DEMO_SETTINGS, Duration::ZERO)?),
        SettingsSource::Vwo { .. } => None,
    };
    let mut replicas: Vec<Replica> = Vec::new();
    for i in 0..REPLICAS {
        let addr = SocketAddr::new(example.addr.ip(), example.addr.port() + i);
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let admin_addr = SocketAddr::new(example.admin_addr.ip(), example.admin_addr.port() + i);
        let admin = tokio::net::TcpListener::bind(admin_addr).await?;
        let settings = match &origin {
            Some(origin) => demo_settings(origin.addr())?,
            None => example.settings_backend()?,
        };
        replicas.push(start_replica(
            listener,
            admin,
            &redis.url(),
            settings,
            example.keyring.clone(),
        )?);
    }
    let first = &replicas[0];
    example.announce("replicas", first.addr, first.admin_addr, first.receiver.path());
    println!("Every replica's settings, after a webhook to any one of them:");
    for replica in &replicas {
        println!("  curl -s http://{}{STATUS_PATH}", replica.admin_addr);
    }
    shutdown_signal().await;
    Ok(())
}
