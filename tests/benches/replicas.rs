//! The fleet on Redis, measured: four replica processes on loopback (this binary again, in
//! replica mode), one `redis-server`, one changing demo origin in the driver.
//!
//! 1. **Burst**: 200 concurrent deliveries spread over the four replicas while the origin
//!    takes `SLOW` per fetch. Counts the origin's fetches fleet-wide (target: at most 2).
//! 2. **Visibility**: `CHANGES` changes one after another, each a webhook to the next replica
//!    in turn; for each, the time from sending the webhook until every replica serves the
//!    new version (each replica reports when its store swapped, on the same clock), p50/p99,
//!    beside the origin's own time for one fetch (target: p99 under 10 ms beyond it).
//!
//! `cargo bench -p vwo-webhook-tests --bench replicas` (or `cargo xtask bench replicas`).
//! Needs `redis-server` on `PATH`.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod common;
#[path = "common/fleet.rs"]
mod fleet;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncBufReadExt, BufReader};
use vwo_webhook::Keyring;
use vwo_webhook_conformance::client::Request;
use vwo_webhook_examples::DEMO_SETTINGS;
use vwo_webhook_examples::fleet::demo_settings;
use vwo_webhook_testkit::{ChangingOrigin, RedisServer};

use common::percentile;

const REPLICAS: usize = 4;
const BURST: usize = 200;
const SLOW: Duration = Duration::from_millis(300);
const SECRET: &str = "bench-secret";
/// Between changes: VWO's changes are human-paced, and each replica's coordinator keeps its
/// own runs 20 ms apart (the default minimum spacing), which this benchmark is not about.
const BETWEEN_CHANGES: Duration = Duration::from_millis(25);

fn main() {
    if std::env::var_os("VWO_BENCH_REPLICA").is_some() {
        replica();
        return;
    }
    // `cargo bench` passes `--bench`; anything else (a test run) gets a quick pass.
    let changes = if std::env::args().any(|a| a == "--bench") {
        1000
    } else {
        40
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(drive(changes));
}

/// Replica mode: serve one replica and report each version it starts serving, with when.
fn replica() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let settings = |origin| demo_settings(origin).expect("settings");
        let keyring = Keyring::from_comma_separated(SECRET).expect("key");
        let replica = fleet::start_from_env(settings, keyring).await;
        println!("ready {}", replica.addr.port());
        // The version served at subscription (it may have come from Redis already), then
        // each swap as it happens.
        let mut changes = replica.store.subscribe();
        loop {
            let at = now_nanos();
            let version = changes
                .borrow_and_update()
                .as_ref()
                .map(|s| s.version().to_owned());
            if let Some(version) = version {
                println!("version {version} {at}");
            }
            if changes.changed().await.is_err() {
                return;
            }
        }
    });
}

fn now_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// When each replica started serving each version: (replica, version) → Unix nanoseconds.
#[derive(Default)]
struct Seen {
    at: Mutex<HashMap<(usize, u64), u128>>,
    changed: tokio::sync::Notify,
}

impl Seen {
    /// Waits (10 s at most) until every replica serves `version` or later; returns the
    /// latest of their swap times for it.
    async fn everywhere(&self, version: u64) -> u128 {
        let wait = async {
            loop {
                let changed = self.changed.notified();
                if let Some(latest) = self.latest(version) {
                    return latest;
                }
                changed.await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), wait)
            .await
            .unwrap_or_else(|_| panic!("version {version} did not reach every replica within 10 s"))
    }

    fn latest(&self, version: u64) -> Option<u128> {
        let at = self.at.lock().expect("seen");
        (0..REPLICAS)
            .map(|replica| {
                at.iter()
                    .filter(|((r, v), _)| *r == replica && *v >= version)
                    .map(|(_, t)| *t)
                    .min()
            })
            .try_fold(0, |latest, t| t.map(|t| latest.max(t)))
    }
}

async fn drive(changes: usize) {
    let Some(redis) = RedisServer::start().expect("redis-server") else {
        eprintln!("{}", vwo_webhook_testkit::MISSING);
        std::process::exit(1);
    };
    let origin = ChangingOrigin::spawn(DEMO_SETTINGS, Duration::ZERO).expect("origin");
    let seen = Arc::new(Seen::default());
    let exe = std::env::current_exe().expect("this binary");
    let mut children = Vec::new();
    let mut addrs = Vec::new();
    for index in 0..REPLICAS {
        let mut child = tokio::process::Command::new(&exe)
            .env("VWO_BENCH_REPLICA", "1")
            .env("REDIS_URL", redis.url())
            .env("ORIGIN", origin.addr().to_string())
            .env("RUST_LOG", "off")
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("replica process");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let ready = lines.next_line().await.expect("read").expect("ready line");
        let port: u16 = ready
            .strip_prefix("ready ")
            .and_then(|p| p.parse().ok())
            .expect("port");
        addrs.push(SocketAddr::from(([127, 0, 0, 1], port)));
        let seen = Arc::clone(&seen);
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let mut parts = line.split(' ').skip(1);
                let version = parts.next().and_then(|v| v.parse().ok());
                let at = parts.next().and_then(|t| t.parse().ok());
                if let (Some(version), Some(at)) = (version, at) {
                    seen.at.lock().expect("seen").insert((index, version), at);
                    seen.changed.notify_waiters();
                }
            }
        });
        children.push(child);
    }
    seen.everywhere(1).await;
    println!(
        "{REPLICAS} replica processes, one redis-server, started with {} fetch(es) from the origin",
        origin.fetches()
    );

    // 1. The burst.
    origin.set_delay(SLOW);
    let before = origin.fetches();
    let started = std::time::Instant::now();
    let mut burst = tokio::task::JoinSet::new();
    for n in 0..BURST {
        let addr = addrs[n % REPLICAS];
        burst.spawn(async move {
            let sent = std::time::Instant::now();
            let response = fleet::deliver(addr, SECRET).await;
            (response, sent.elapsed())
        });
    }
    let mut latencies = Vec::new();
    while let Some(result) = burst.join_next().await {
        let (status, latency) = result.expect("delivery task");
        assert_eq!(status, 200, "every delivery of the burst is acknowledged");
        latencies.push(latency);
    }
    let burst_fetches = origin.fetches() - before;
    let spread = started.elapsed();
    seen.everywhere(origin.fetches()).await;
    latencies.sort();
    println!();
    println!(
        "burst: {BURST} concurrent deliveries over {REPLICAS} replicas, origin {} ms per fetch",
        SLOW.as_millis()
    );
    println!("  fetches from the origin, fleet-wide: {burst_fetches} (target <= 2)");
    println!(
        "  delivery latency p50 {:.1} ms, p99 {:.1} ms; all answered in {:.0} ms",
        millis(percentile(&latencies, 0.50)),
        millis(percentile(&latencies, 0.99)),
        millis(spread)
    );

    // 2. Visibility of each change on every replica.
    origin.set_delay(Duration::ZERO);
    let mut visible = Vec::with_capacity(changes);
    for n in 0..changes {
        tokio::time::sleep(BETWEEN_CHANGES).await;
        let sent = now_nanos();
        assert_eq!(fleet::deliver(addrs[n % REPLICAS], SECRET).await, 200);
        let version = origin.fetches();
        let latest = seen.everywhere(version).await;
        visible.push(Duration::from_nanos(
            u64::try_from(latest.saturating_sub(sent)).unwrap_or(u64::MAX),
        ));
    }
    visible.sort();
    let mut own = Vec::new();
    for _ in 0..200 {
        let sent = std::time::Instant::now();
        let response = Request::new("GET", "/")
            .send(origin.addr())
            .await
            .expect("origin");
        assert_eq!(response.status, 200);
        own.push(sent.elapsed());
    }
    own.sort();
    let (p50, p99, own50) = (
        percentile(&visible, 0.50),
        percentile(&visible, 0.99),
        percentile(&own, 0.50),
    );
    println!();
    println!(
        "visibility: {changes} changes, webhook to the next replica in turn, until all {REPLICAS} serve it"
    );
    println!(
        "  webhook -> every replica: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        millis(p50),
        millis(p99),
        millis(*visible.last().unwrap_or(&Duration::ZERO))
    );
    println!(
        "  the origin's own time for one fetch: p50 {:.2} ms, p99 {:.2} ms",
        millis(own50),
        millis(percentile(&own, 0.99))
    );
    println!(
        "  beyond the origin: p50 {:.2} ms, p99 {:.2} ms (target p99 < 10 ms)",
        millis(p50.saturating_sub(own50)),
        millis(p99.saturating_sub(own50))
    );
    drop(children);
    drop(redis);
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
