//! Reading the settings while refreshes swap them, against an `RwLock` baseline, and the time
//! from an accepted webhook to the new snapshot being visible, with a local origin.
//!
//! `cargo bench -p vwo-webhook-settings --features demo-origin`; figures are recorded in docs/benchmarks.md.
#![allow(missing_docs, clippy::print_stderr)]

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use vwo_webhook_settings::replication::StoreWrite;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use vwo_webhook::{Keyring, Receiver, RetryPolicy};
use vwo_webhook_settings::{Check, SdkKey, SettingsStore, Snapshot, Source, VwoSettings};

const DOCUMENT: &str = include_str!("../testdata/RolloutAndTestingSettings.json");
const NOTICE: &[u8] = br#"{"timestamp":1606482285,"event":"settings_changed"}"#;

fn snapshot() -> Snapshot {
    Snapshot::parse(
        Bytes::from_static(DOCUMENT.as_bytes()),
        Check::Update,
        Source::Origin,
        None,
        SystemTime::now(),
    )
    .expect("valid document")
}

/// Runs `swap` in a loop on another thread until the returned guard is dropped; counts swaps.
struct Swapper {
    stop: Arc<AtomicBool>,
    swaps: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl Swapper {
    fn start(swap: impl Fn() + Send + 'static) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let swaps = Arc::new(AtomicU64::new(0));
        let (flag, count) = (Arc::clone(&stop), Arc::clone(&swaps));
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                swap();
                count.fetch_add(1, Ordering::Relaxed);
            }
        });
        Self {
            stop,
            swaps,
            thread: Some(thread),
        }
    }
}

impl Drop for Swapper {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The slowest of `reads` single reads, each timed on its own.
fn worst_read(reads: usize, read: impl Fn() -> usize) -> Duration {
    let mut worst = Duration::ZERO;
    for _ in 0..reads {
        let start = Instant::now();
        black_box(read());
        worst = worst.max(start.elapsed());
    }
    worst
}

fn reads(c: &mut Criterion) {
    let store = Arc::new(SettingsStore::new());
    store.publish(snapshot());
    let prepared = snapshot();
    let writer = Arc::clone(&store);
    let swapper = Swapper::start(move || writer.publish(prepared.clone()));

    let locked: Arc<RwLock<Option<Arc<Snapshot>>>> = Arc::new(RwLock::new(Some(Arc::new(snapshot()))));
    let lock_writer = Arc::clone(&locked);
    let prepared = snapshot();
    let lock_swapper = Swapper::start(move || {
        let next = Arc::new(prepared.clone());
        if let Ok(mut slot) = lock_writer.write() {
            *slot = Some(next);
        }
    });

    let mut group = c.benchmark_group("settings_read_while_swapping");
    group.bench_function("store_load", |b| {
        b.iter(|| store.load().as_ref().map(|s| s.version().len()))
    });
    group.bench_function("store_current_arc", |b| {
        b.iter(|| store.current().map(|s| s.version().len()))
    });
    group.bench_function("rwlock_baseline", |b| {
        b.iter(|| {
            locked
                .read()
                .ok()
                .and_then(|slot| slot.as_ref().map(|s| s.version().len()))
        })
    });
    group.finish();

    let store_worst = worst_read(1_000_000, || {
        store.load().as_ref().map_or(0, |s| s.version().len())
    });
    let lock_worst = worst_read(1_000_000, || {
        locked
            .read()
            .ok()
            .and_then(|slot| slot.as_ref().map(|s| s.version().len()))
            .unwrap_or_default()
    });
    eprintln!(
        "settings read: slowest of 1,000,000 reads while swapping: store {store_worst:?}, RwLock {lock_worst:?} \
         ({} store swaps, {} RwLock swaps during the run)",
        swapper.swaps.load(Ordering::Relaxed),
        lock_swapper.swaps.load(Ordering::Relaxed)
    );
}

fn webhook_to_visible(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (settings, receiver) = runtime.block_on(async {
        let origin = vwo_webhook_testkit::spawn_fixed_origin(DOCUMENT).expect("local origin");
        let settings = VwoSettings::builder("12345", SdkKey::new("bench"))
            .base_url(format!("http://{origin}"))
            .poll_interval(None)
            .build()
            .expect("backend");
        let receiver = Receiver::builder(settings.clone())
            .retry_policy(RetryPolicy::none())
            .keyring(Keyring::from_comma_separated("s3cret").expect("key"))
            .build()
            .expect("receiver");
        (settings, receiver)
    });
    let store = settings.store();
    let headers: [(&str, &[u8]); 1] = [("x-vwo-auth", b"s3cret")];
    let once = || async {
        let before = store.current();
        let start = Instant::now();
        let status = receiver.handle_buffered("POST", &headers, NOTICE).await.status();
        assert_eq!(status, 200);
        let after = store.current().expect("a snapshot");
        assert!(before.is_none_or(|b| !Arc::ptr_eq(&b, &after)), "a new snapshot");
        start.elapsed()
    };
    c.bench_function("webhook_accepted_to_snapshot_visible", |b| {
        b.to_async(&runtime).iter(|| async { once().await })
    });
    let mut samples: Vec<Duration> = runtime.block_on(async {
        let mut samples = Vec::with_capacity(1000);
        for _ in 0..1000 {
            samples.push(once().await);
        }
        samples
    });
    samples.sort_unstable();
    eprintln!(
        "webhook -> new snapshot visible, 1000 deliveries with a local origin: p50 {:?}, p99 {:?}, max {:?}",
        samples[499], samples[989], samples[999]
    );
}

criterion_group!(benches, reads, webhook_to_visible);
criterion_main!(benches);
