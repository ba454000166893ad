//! The refresh: what a delivery triggers and how it is answered.

use super::*;

/// Sequential deliveries: one refresh each, each finished before its 200.
pub fn refresh_runs_once_per_delivery<H: Harness>() {
    let backend = TestBackend::counting();
    let server = secured::<H>(&backend);
    block_on(async {
        for n in 1..=3 {
            expect_delivery(&server, Some(SECRET), DOCUMENTED, 200, "delivery").await;
            assert_eq!(backend.finished(), n, "refreshes after delivery {n}");
        }
    });
}

/// A transient backend failure: 503 with `Retry-After: 1`, so VWO redelivers.
pub fn transient_failure_asks_for_redelivery<H: Harness>() {
    let backend = TestBackend::transient();
    let server = H::serve(receiver_with(&backend, RetryPolicy::none(), |b| b));
    block_on(async {
        let response = expect_delivery(&server, Some(SECRET), DOCUMENTED, 503, "transient failure").await;
        assert_eq!(response.header("retry-after"), Some("1"));
        assert_eq!(backend.started(), 1);
    });
}

/// A permanent backend failure: 500, not retried.
pub fn permanent_failure_is_500<H: Harness>() {
    let backend = TestBackend::permanent();
    let server = secured::<H>(&backend);
    block_on(async {
        let response = expect_delivery(&server, Some(SECRET), DOCUMENTED, 500, "permanent failure").await;
        assert_eq!(response.header("retry-after"), None);
        assert_eq!(backend.started(), 1, "a permanent failure is not retried");
    });
}

/// A panicking backend: 500 for that delivery, and the next delivery is served normally.
pub fn backend_panic_is_contained<H: Harness>() {
    let backend = TestBackend::panicking_once();
    let server = secured::<H>(&backend);
    block_on(async {
        expect_delivery(&server, Some(SECRET), DOCUMENTED, 500, "panicking backend").await;
        expect_delivery(&server, Some(SECRET), DOCUMENTED, 200, "after the panic").await;
        assert_eq!(backend.started(), 2);
    });
}

/// A refresh slower than the ack timeout: 503 now; VWO's redelivery a second later gets 200.
pub fn slow_refresh_answers_503_then_200_on_redelivery<H: Harness>() {
    let backend = TestBackend::gated();
    let ack = AckPolicy::AfterRefresh {
        timeout: Duration::from_millis(100),
    };
    let server = H::serve(secured_receiver(&backend, |b| b.ack_policy(ack)));
    block_on(async {
        let first = expect_delivery(
            &server,
            Some(SECRET),
            DOCUMENTED,
            503,
            "refresh still running at the ack timeout",
        )
        .await;
        assert_eq!(first.header("retry-after"), Some("1"));
        // VWO redelivers 1-2 s later: by then the slow refresh has ended.
        backend.open();
        backend.wait_finished(1).await;
        expect_delivery(&server, Some(SECRET), DOCUMENTED, 200, "redelivery").await;
        assert_eq!(backend.started(), 2);
    });
}

/// A secured receiver on a gated backend, served: its refreshes wait until the case opens the
/// gate, and its coordinator shows who waits behind them.
struct Gated {
    backend: TestBackend,
    coordinator: vwo_webhook::Coordinator,
    server: Server,
    request: Request,
}

impl Gated {
    fn serve<H: Harness>() -> Self {
        let backend = TestBackend::gated();
        let receiver = secured_receiver(&backend, |b| b);
        let coordinator = receiver.coordinator().clone();
        Self {
            backend,
            coordinator,
            server: H::serve(receiver),
            request: delivery(Some(SECRET), DOCUMENTED),
        }
    }

    /// Sends a delivery on a task of its own, so the case can go on meanwhile.
    fn send(&self) -> tokio::task::JoinHandle<Result<Response, String>> {
        let (request, addr) = (self.request.clone(), self.server.addr());
        tokio::spawn(async move { request.send(addr).await })
    }

    /// Sends the first delivery and waits until its refresh runs, held at the gate.
    async fn first_held(&self) -> tokio::task::JoinHandle<Result<Response, String>> {
        let first = self.send();
        self.backend.wait_started(1).await;
        first
    }
}

/// 50 deliveries during one slow refresh cost one more refresh, and all get 200.
pub fn concurrent_deliveries_coalesce<H: Harness>() {
    const PARALLEL: usize = 50;
    // The first refresh lasts until all 50 deliveries wait behind it.
    let gated = Gated::serve::<H>();
    let backend = &gated.backend;
    block_on(async {
        let first = gated.first_held().await;
        let during: Vec<_> = (0..PARALLEL).map(|_| gated.send()).collect();
        wait_queued(&gated.coordinator, PARALLEL as u64).await;
        backend.open();
        for task in std::iter::once(first).chain(during) {
            let response = task.await.expect("client task").unwrap_or_else(|e| panic!("{e}"));
            expect_status(&response, 200, "coalesced delivery");
        }
        let runs = backend.started();
        assert_eq!(runs, 2, "{} deliveries cost {runs} refreshes", PARALLEL + 1);
    });
}

/// A delivery arriving during a refresh is answered only after a refresh that started later.
pub fn delivery_during_refresh_waits_for_a_fresh_run<H: Harness>() {
    let gated = Gated::serve::<H>();
    let backend = &gated.backend;
    block_on(async {
        let first = gated.first_held().await;
        let second = gated.send();
        wait_queued(&gated.coordinator, 1).await;
        backend.open();
        let second = second
            .await
            .expect("client task")
            .unwrap_or_else(|e| panic!("{e}"));
        expect_status(&second, 200, "delivery during a refresh");
        assert_eq!(
            backend.finished(),
            2,
            "the 200 must wait for a refresh that started after the delivery, not join the one in flight"
        );
        let first = first
            .await
            .expect("client task")
            .unwrap_or_else(|e| panic!("{e}"));
        expect_status(&first, 200, "first delivery");
    });
}

/// The opt-in immediate policy: 202 before the refresh ends, which still runs.
pub fn immediate_ack_policy_answers_202<H: Harness>() {
    let backend = TestBackend::gated();
    let server = H::serve(secured_receiver(&backend, |b| b.ack_policy(AckPolicy::Immediate)));
    block_on(async {
        expect_delivery(&server, Some(SECRET), DOCUMENTED, 202, "immediate ack").await;
        assert_eq!(backend.finished(), 0, "202 must not wait for the refresh");
        backend.open();
        backend.wait_finished(1).await;
    });
}
