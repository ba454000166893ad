//! The metrics the core records, read back through the `metrics` facade's debugging
//! recorder (installed for this test binary alone).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use vwo_webhook::{Keyring, Receiver, RefreshError, RetryPolicy, Trigger, telemetry};

const NOTICE: &[u8] = br#"{"timestamp":1606482285,"event":"settings_changed"}"#;

/// Counter values by name and sorted labels; histogram sample counts likewise.
fn read(snapshotter: &Snapshotter) -> HashMap<String, f64> {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let mut labels: Vec<String> = key
                .key()
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            labels.sort();
            let name = format!("{}{{{}}}", key.key().name(), labels.join(","));
            let value = match value {
                DebugValue::Counter(n) => n as f64,
                DebugValue::Gauge(g) => g.into_inner(),
                DebugValue::Histogram(samples) => samples.len() as f64,
            };
            (name, value)
        })
        .collect()
}

#[test]
fn deliveries_and_refreshes_are_counted_with_their_outcome() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().expect("the only recorder of this process");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");

    // The first call fails transiently and is retried at once; the rest succeed.
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let receiver = Receiver::builder(move |_: Trigger| {
        let call = counter.fetch_add(1, Ordering::SeqCst);
        async move {
            if call == 0 {
                Err(RefreshError::transient("origin answered 503"))
            } else {
                Ok(())
            }
        }
    })
    .retry_policy(
        RetryPolicy::default()
            .with_initial_delay(Duration::from_millis(1))
            .with_min_spacing(Duration::ZERO),
    )
    .keyring(Keyring::from_comma_separated("s3cret").expect("key"))
    .build()
    .expect("receiver");
    runtime.block_on(async {
        let good: [(&str, &[u8]); 1] = [("x-vwo-auth", b"s3cret")];
        let wrong: [(&str, &[u8]); 1] = [("x-vwo-auth", b"guess")];
        assert_eq!(
            receiver.handle_buffered("POST", &good, NOTICE).await.status(),
            200
        );
        assert_eq!(
            receiver.handle_buffered("POST", &wrong, NOTICE).await.status(),
            401
        );
        assert_eq!(receiver.handle_buffered("GET", &good, NOTICE).await.status(), 405);
        assert_eq!(receiver.handle_buffered("POST", &good, b"[]").await.status(), 400);
    });
    let metrics = read(&snapshotter);
    let expect = |name: &str, value: f64| {
        assert_eq!(metrics.get(name), Some(&value), "{name} in {metrics:#?}");
    };
    let deliveries = telemetry::DELIVERIES;
    expect(&format!("{deliveries}{{outcome=accepted,status=200}}"), 1.0);
    expect(
        &format!("{deliveries}{{check=authentication,outcome=refused,status=401}}"),
        1.0,
    );
    expect(
        &format!("{deliveries}{{check=method,outcome=refused,status=405}}"),
        1.0,
    );
    expect(
        &format!("{deliveries}{{check=payload,outcome=refused,status=400}}"),
        1.0,
    );
    expect(
        &format!("{}{{outcome=refused}}", telemetry::DELIVERY_DURATION),
        3.0,
    );
    let runs = telemetry::REFRESH_RUNS;
    expect(
        &format!("{runs}{{result=transient_failure,trigger=webhook}}"),
        1.0,
    );
    expect(&format!("{runs}{{result=refreshed,trigger=webhook}}"), 1.0);
    expect(&format!("{}{{}}", telemetry::REFRESH_RETRIES), 1.0);
    expect(
        &format!("{}{{result=refreshed}}", telemetry::REFRESH_DURATION),
        1.0,
    );
    // Two calls, one delivery: the first call answered it, the retry nobody new.
    expect(&format!("{}{{}}", telemetry::COALESCED_DELIVERIES), 2.0);
    let text = format!("{metrics:?}");
    assert!(!text.contains("s3cret") && !text.contains("guess"), "{text}");
}
