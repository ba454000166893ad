//! The core's hot paths: the shared-key check, a whole delivery decision, and coalescing.
//!
//! `cargo bench -p vwo-webhook`; figures are recorded in docs/benchmarks.md.
#![allow(missing_docs, clippy::print_stderr)]

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use vwo_webhook::{
    AckPolicy, Coordinator, HmacSha256, Keyring, Receiver, RefreshError, RetryPolicy, Settled, SharedKey,
    StandardWebhooks, Trigger, Verifier,
};

const DOCUMENTED: &[u8] = include_bytes!("../testdata/documented.json");
const SECRET: &str = "0f3b5c7e9a1d2f4b6c8e0a2c4e6f8b1d";

/// Polls a future that must complete without waiting.
fn ready<F: Future>(future: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(future).poll(&mut cx) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("expected an immediate answer"),
    }
}

fn shared_key(c: &mut Criterion) {
    let verifier = SharedKey::new(Keyring::from_comma_separated(SECRET).expect("secret"));
    let right: [(&str, &[u8]); 2] = [
        ("content-type", b"application/json"),
        ("x-vwo-auth", SECRET.as_bytes()),
    ];
    let wrong: [(&str, &[u8]); 2] = [
        ("content-type", b"application/json"),
        ("x-vwo-auth", b"0f3b5c7e9a1d2f4b"),
    ];
    let mut group = c.benchmark_group("shared_key");
    group.bench_function("right_key", |b| {
        b.iter(|| verifier.verify(black_box(&right), b""))
    });
    group.bench_function("wrong_key", |b| {
        b.iter(|| verifier.verify(black_box(&wrong), b""))
    });
    let rotating =
        SharedKey::new(Keyring::from_comma_separated(&format!("{SECRET},another-key")).expect("secrets"));
    group.bench_function("right_key_of_two", |b| {
        b.iter(|| rotating.verify(black_box(&right), b""))
    });
    group.finish();
}

/// The signature verifiers over the documented payload, with the right signature.
fn signatures(c: &mut Criterion) {
    let mut group = c.benchmark_group("signature");

    let hmac_verifier = HmacSha256::github(Keyring::from_comma_separated(SECRET).expect("secret"));
    let github = hmac_verifier.sign(DOCUMENTED);
    let headers: [(&str, &[u8]); 2] = [
        ("content-type", b"application/json"),
        ("x-hub-signature-256", github.as_bytes()),
    ];
    assert!(hmac_verifier.verify(&headers, DOCUMENTED).is_ok());
    group.bench_function("hmac_sha256_hex", |b| {
        b.iter(|| hmac_verifier.verify(black_box(&headers), black_box(DOCUMENTED)))
    });

    let whsec = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let now = 1_700_000_000_i64;
    let standard = StandardWebhooks::new([whsec]).expect("secret").clock(move || now);
    let signature = standard.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", now, DOCUMENTED);
    let timestamp = now.to_string();
    let headers: [(&str, &[u8]); 3] = [
        ("webhook-id", b"msg_p5jXN8AQM9LWM0D4loKWxJek"),
        ("webhook-timestamp", timestamp.as_bytes()),
        ("webhook-signature", signature.as_bytes()),
    ];
    assert!(standard.verify(&headers, DOCUMENTED).is_ok());
    group.bench_function("standard_webhooks", |b| {
        b.iter(|| standard.verify(black_box(&headers), black_box(DOCUMENTED)))
    });
    group.finish();
}

/// verify + parse + decision, for a delivery that joins an already pending refresh and is
/// acknowledged at once (202): the whole synchronous path of the core, no waiting.
fn delivery_decision(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let _guard = runtime.enter();
    // A backend that never finishes keeps one refresh in flight, so every delivery measured
    // coalesces into the pending one.
    let receiver = Receiver::builder(|_: Trigger| std::future::pending::<Result<(), RefreshError>>())
        .keyring(Keyring::from_comma_separated(SECRET).expect("secret"))
        .ack_policy(AckPolicy::Immediate)
        .build()
        .expect("receiver");
    let headers: [(&str, &[u8]); 3] = [
        ("content-type", b"application/json"),
        ("content-length", b"123"),
        ("x-vwo-auth", SECRET.as_bytes()),
    ];
    assert_eq!(
        ready(receiver.handle_buffered("POST", &headers, DOCUMENTED)).status(),
        202
    );
    c.bench_function("receiver/verify_parse_decide", |b| {
        b.iter(|| ready(receiver.handle_buffered("POST", black_box(&headers), black_box(DOCUMENTED))))
    });
    let wrong: [(&str, &[u8]); 1] = [("x-vwo-auth", b"nope")];
    c.bench_function("receiver/reject_wrong_key", |b| {
        b.iter(|| ready(receiver.handle_buffered("POST", black_box(&wrong), black_box(DOCUMENTED))))
    });
}

/// 1,000 waiters arrive during one slow (20 ms) refresh: how many backend runs, and how much
/// longer than the two unavoidable runs (40 ms) the last waiter waits.
fn coalescing(c: &mut Criterion) {
    const WAITERS: usize = 1000;
    const RUN: Duration = Duration::from_millis(20);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&runs);
    let coordinator = Coordinator::new(
        move |_: Trigger| {
            counter.fetch_add(1, Ordering::SeqCst);
            async {
                tokio::time::sleep(RUN).await;
                Ok::<(), RefreshError>(())
            }
        },
        RetryPolicy::default(),
    );
    let worst_added_ns = AtomicU64::new(0);
    let max_runs = AtomicUsize::new(0);
    let mut group = c.benchmark_group("coordinator");
    group.sample_size(10);
    group.bench_function("1000_waiters_one_slow_run", |b| {
        b.to_async(&runtime).iter(|| async {
            let before = runs.load(Ordering::SeqCst);
            let started = Instant::now();
            let first = coordinator.schedule(Trigger::Manual);
            tokio::task::yield_now().await;
            let waiters: Vec<_> = (0..WAITERS)
                .map(|_| {
                    let ticket = coordinator.schedule(Trigger::Manual);
                    tokio::spawn(ticket.wait(None))
                })
                .collect();
            assert!(matches!(first.wait(None).await, Settled::Done { .. }));
            for waiter in waiters {
                assert!(matches!(waiter.await.expect("waiter"), Settled::Done { .. }));
            }
            let elapsed = started.elapsed();
            let added = elapsed.saturating_sub(RUN * 2).as_nanos() as u64;
            worst_added_ns.fetch_max(added, Ordering::SeqCst);
            max_runs.fetch_max(runs.load(Ordering::SeqCst) - before, Ordering::SeqCst);
        })
    });
    group.finish();
    let worst_added = Duration::from_nanos(worst_added_ns.load(Ordering::SeqCst));
    let max_runs = max_runs.load(Ordering::SeqCst);
    eprintln!(
        "coordinator: {WAITERS} waiters -> at most {max_runs} backend runs; worst added latency {worst_added:?}"
    );
}

criterion_group!(benches, shared_key, signatures, delivery_decision, coalescing);
criterion_main!(benches);
