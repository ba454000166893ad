//! What a burst of concurrent deliveries costs: fetches from the origin, and how long each
//! delivery waits for its answer, for a fast (2 ms) and a slow (150 ms) origin, with and
//! without a minimum spacing between refreshes (`RetryPolicy::with_min_spacing`).
//!
//! Real HTTP: an axum server on loopback, N clients connecting at once, each delivery
//! answered only after a refresh that started after it arrived. The origin is a backend that
//! takes the given time and counts its runs.
//!
//! `cargo bench -p vwo-webhook-tests --bench bursts` (or `cargo xtask bench bursts`); the
//! table is recorded in docs/benchmarks.md.
#![allow(clippy::print_stdout)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use vwo_webhook::{Keyring, Receiver, RefreshError, RetryPolicy, Trigger};
use vwo_webhook_conformance::Server;
use vwo_webhook_conformance::client::Request;
use vwo_webhook_conformance::fixtures::{DOCUMENTED, SECRET};

use common::percentile;

const ROUNDS: usize = 5;

fn serve(origin: Duration, spacing: Duration) -> (Server, Arc<AtomicUsize>) {
    let fetches = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&fetches);
    let receiver = Receiver::builder(move |_: Trigger| {
        counter.fetch_add(1, Ordering::SeqCst);
        async move {
            tokio::time::sleep(origin).await;
            Ok::<(), RefreshError>(())
        }
    })
    .retry_policy(RetryPolicy::default().with_min_spacing(spacing))
    .keyring(Keyring::from_comma_separated(SECRET).expect("key"))
    .build()
    .expect("receiver");
    let server = Server::spawn_tokio(move |listener| async move {
        let _ = axum::serve(listener, vwo_webhook_axum::router::<()>(receiver)).await;
    });
    (server, fetches)
}

/// One burst of `n` deliveries sent evenly over `spread` (zero: all at once): (fetches, each
/// delivery's answer time).
fn burst(
    runtime: &tokio::runtime::Runtime,
    origin: Duration,
    spacing: Duration,
    n: usize,
    spread: Duration,
) -> (usize, Vec<Duration>) {
    let (server, fetches) = serve(origin, spacing);
    let addr = server.addr();
    let latencies = runtime.block_on(async move {
        let request = Request::post("/vwo-webhook", DOCUMENTED).header("x-vwo-auth", SECRET);
        let start = tokio::time::Instant::now();
        let tasks: Vec<_> = (0..n)
            .map(|i| {
                let request = request.clone();
                let at = start + spread.mul_f64(i as f64 / n as f64);
                tokio::spawn(async move {
                    tokio::time::sleep_until(at).await;
                    let sent = Instant::now();
                    let response = request.send(addr).await.expect("answer");
                    assert_eq!(response.status, 200, "{:?}", response.text());
                    sent.elapsed()
                })
            })
            .collect();
        let mut latencies = Vec::with_capacity(n);
        for task in tasks {
            latencies.push(task.await.expect("client"));
        }
        latencies
    });
    (fetches.load(Ordering::SeqCst), latencies)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: run quickly then.
    let quick = !std::env::args().any(|a| a == "--bench");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("client runtime");
    println!(
        "| origin | deliveries | sent | min spacing | fetches (mean of {ROUNDS}, min-max) | answer p50 | answer p99 |"
    );
    println!("|---|---|---|---|---|---|---|");
    let rounds = if quick { 1 } else { ROUNDS };
    let spreads = [
        ("at once", Duration::ZERO),
        ("over 100 ms", Duration::from_millis(100)),
    ];
    for origin in [Duration::from_millis(2), Duration::from_millis(150)] {
        for n in [10, 50, 200] {
            for (sent, spread) in spreads {
                for spacing in [
                    Duration::ZERO,
                    Duration::from_millis(20),
                    Duration::from_millis(100),
                ] {
                    let mut fetches = Vec::new();
                    let mut latencies = Vec::new();
                    for _ in 0..rounds {
                        let (f, l) = burst(&runtime, origin, spacing, n, spread);
                        fetches.push(f);
                        latencies.extend(l);
                    }
                    latencies.sort();
                    let mean = fetches.iter().sum::<usize>() as f64 / fetches.len() as f64;
                    let min = fetches.iter().min().copied().unwrap_or(0);
                    let max = fetches.iter().max().copied().unwrap_or(0);
                    println!(
                        "| {} ms | {n} | {sent} | {} ms | {mean:.1} ({min}-{max}) | {:.1} ms | {:.1} ms |",
                        origin.as_millis(),
                        spacing.as_millis(),
                        percentile(&latencies, 0.5).as_secs_f64() * 1000.0,
                        percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
                    );
                }
            }
        }
    }
}
