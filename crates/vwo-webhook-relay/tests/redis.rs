//! Several relays on one Redis: one fetch from VWO per webhook for all of them, the targets
//! told once, and every relay serving the change before any target is told (a target's pull
//! reaching another relay than the one VWO called gets the new file).
//!
//! Starts its own `redis-server` (skipped without one, unless `VWO_WEBHOOK_REQUIRE_REDIS=1`).

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use support::{ACCOUNT, FakeService, FakeVwo, deliver_webhook, eventually, free_port, settings};
use vwo_webhook_relay::{Relay, RelayConfig};
use vwo_webhook_testkit::{RedisSentinels, RedisServer};

const SDK_KEY: &str = "sdk-key-production";
const HOOK: &str = "hook-secret";

/// `CLIENT KILL TYPE pubsub`: every follower's subscription dropped.
async fn kill_subscriptions(port: u16) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("redis");
    stream
        .write_all(b"CLIENT KILL TYPE pubsub\r\n")
        .await
        .expect("write");
    let mut answer = [0u8; 64];
    let read = stream.read(&mut answer).await.expect("read");
    assert!(
        answer[..read].starts_with(b":"),
        "{:?}",
        String::from_utf8_lossy(&answer[..read])
    );
}

async fn relay(vwo: &FakeVwo, redis: &str, target: SocketAddr) -> (Relay, SocketAddr) {
    let target =
        format!("[[environment.target]]\nurl = \"http://{target}/vwo-webhook\"\nkey = \"target-key\"\n");
    let config = RelayConfig::from_toml(&support::relay_toml(
        vwo,
        &format!("redis_url = \"{redis}\""),
        &[
            support::environment_toml(vwo, "production", SDK_KEY, HOOK, &target),
            support::environment_toml(vwo, "staging", "sdk-key-staging", HOOK, ""),
        ],
    ))
    .expect("valid configuration");
    assert!(
        !format!("{config:?}").contains("redis://"),
        "the Redis URL is not shown"
    );
    support::serve_relay(config).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relays_on_redis_fetch_once_tell_targets_once_and_serve_the_change_before_telling() {
    let Some(redis) = RedisServer::for_test() else {
        return;
    };
    let vwo = FakeVwo::start().await;
    vwo.publish(SDK_KEY, settings(1, 10));
    vwo.publish("sdk-key-staging", settings(5, 50));
    let target = free_port();
    let (first, first_addr) = relay(&vwo, &redis.url(), target).await;
    let (second, second_addr) = relay(&vwo, &redis.url(), target).await;
    // The target's handler pulls from the relay VWO did not call.
    let pull = format!("http://{second_addr}/server-side/v2-pull?i={SDK_KEY}&a={ACCOUNT}");
    let (service, _) = FakeService::start_on(target, Some(pull)).await;
    let settings_fetches = |vwo: &FakeVwo, key: &str| {
        vwo.fetches()
            .iter()
            .filter(|seen| seen.query.as_deref().is_some_and(|q| q.contains(key)))
            .count()
    };
    assert_eq!(
        settings_fetches(&vwo, SDK_KEY),
        1,
        "the second relay started from Redis"
    );

    vwo.publish(SDK_KEY, settings(2, 11));
    // The relays lose their subscriptions just before the change, so the second learns of it
    // only when it reconnects (100 ms or more later): the target's pull, a few milliseconds
    // after the notice, finds it behind unless it looks at Redis first.
    kill_subscriptions(redis.port()).await;
    let delivered = deliver_webhook(first_addr, "production", HOOK).await;
    assert!(delivered.is_success());
    eventually("the target told", || !service.notices().is_empty()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let notices = service.notices();
    assert_eq!(notices.len(), 1, "told once, by the relay VWO called");
    assert_eq!(
        notices[0].1,
        Some(2),
        "the other relay served the change when the target pulled"
    );
    assert_eq!(settings_fetches(&vwo, SDK_KEY), 2, "one fetch for both relays");
    eventually("the second relay follows", || {
        second.status().environments[0].settings.version.as_deref() == Some("2")
    })
    .await;
    assert_eq!(
        first.status().environments[0].settings.version.as_deref(),
        Some("2")
    );
    // The staging environment of the same account shares nothing with production.
    for relay in [&first, &second] {
        assert_eq!(
            relay.status().environments[1].settings.version.as_deref(),
            Some("5")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relays_on_sentinel_ride_a_failover_and_the_next_webhook_reaches_the_target_through_both() {
    let Some(sentinels) = RedisSentinels::for_test() else {
        return;
    };
    let vwo = FakeVwo::start().await;
    vwo.publish(SDK_KEY, settings(1, 10));
    vwo.publish("sdk-key-staging", settings(5, 50));
    let target = free_port();
    let (first, first_addr) = relay(&vwo, &sentinels.url(), target).await;
    let (second, second_addr) = relay(&vwo, &sentinels.url(), target).await;
    let pull = format!("http://{second_addr}/server-side/v2-pull?i={SDK_KEY}&a={ACCOUNT}");
    let (service, _) = FakeService::start_on(target, Some(pull)).await;

    let old_master = sentinels.master_port().expect("master");
    sentinels.failover().expect("SENTINEL FAILOVER");
    let new_master = tokio::task::spawn_blocking(move || {
        let port = sentinels.wait_for_new_master(old_master, Duration::from_secs(20));
        (sentinels, port)
    });
    let (_sentinels, port) = new_master.await.expect("waited");
    assert_ne!(port.expect("a new master"), old_master);

    // VWO redelivers until it gets a 2xx.
    vwo.publish(SDK_KEY, settings(2, 11));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !deliver_webhook(first_addr, "production", HOOK).await.is_success() {
        assert!(
            std::time::Instant::now() < deadline,
            "the change was never acknowledged"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    eventually("the target told", || {
        service.notices().iter().any(|(_, version)| *version == Some(2))
    })
    .await;
    eventually("both relays on the change", || {
        [&first, &second]
            .iter()
            .all(|relay| relay.status().environments[0].settings.version.as_deref() == Some("2"))
    })
    .await;
}
