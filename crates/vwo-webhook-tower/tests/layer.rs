//! `WebhookLayer` and `ServeProbesLayer` as tower middleware: readiness, the instance polled ready
//! is the one called, and only the application's own requests reach it.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use tower::limit::ConcurrencyLimitLayer;
use tower::{Layer, Service, ServiceBuilder, ServiceExt};
use vwo_webhook::{Keyring, Receiver, RefreshError, Trigger};
use vwo_webhook_tower::WebhookLayer;

fn receiver() -> Receiver {
    Receiver::builder(|_: Trigger| async { Ok::<(), RefreshError>(()) })
        .keyring(Keyring::from_comma_separated("s3cret").expect("secret"))
        .build()
        .expect("receiver")
}

/// An inner service whose readiness the test controls.
#[derive(Clone)]
struct Gate(Arc<AtomicBool>);

impl Service<Request<Full<Bytes>>> for Gate {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        if self.0.load(Ordering::SeqCst) {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    }

    fn call(&mut self, _request: Request<Full<Bytes>>) -> Self::Future {
        ready(Ok(Response::new(Full::new(Bytes::from_static(b"inner")))))
    }
}

fn request(path: &str) -> Request<Full<Bytes>> {
    Request::post(path)
        .header("x-vwo-auth", "s3cret")
        .body(Full::new(Bytes::from_static(
            br#"{"timestamp":1,"event":"settings_changed"}"#,
        )))
        .expect("request")
}

#[test]
fn readiness_is_the_inner_services() {
    let open = Arc::new(AtomicBool::new(false));
    let mut service = WebhookLayer::new(receiver()).layer(Gate(Arc::clone(&open)));
    let mut cx = Context::from_waker(std::task::Waker::noop());
    assert!(
        service.poll_ready(&mut cx).is_pending(),
        "must not claim readiness the inner lacks"
    );
    open.store(true, Ordering::SeqCst);
    assert!(matches!(service.poll_ready(&mut cx), Poll::Ready(Ok(()))));
}

#[tokio::test]
async fn the_instance_polled_ready_is_the_one_called() {
    // ConcurrencyLimit panics when a clone that was never polled ready is called.
    let service = ServiceBuilder::new()
        .layer(WebhookLayer::new(receiver()))
        .layer(ConcurrencyLimitLayer::new(1))
        .service(Gate(Arc::new(AtomicBool::new(true))));
    for _ in 0..3 {
        let response = service
            .clone()
            .oneshot(request("/elsewhere"))
            .await
            .expect("infallible");
        let body = response.into_body().collect().await.expect("body").to_bytes();
        assert_eq!(&body[..], b"inner");
    }
    let webhook = service
        .oneshot(request("/vwo-webhook"))
        .await
        .expect("infallible");
    assert_eq!(webhook.status(), 200);
}

/// An inner service that records the paths it is called with.
#[derive(Clone, Default)]
struct Recorder(Arc<std::sync::Mutex<Vec<String>>>);

impl Service<Request<Full<Bytes>>> for Recorder {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Full<Bytes>>) -> Self::Future {
        self.0
            .lock()
            .expect("paths")
            .push(request.uri().path().to_owned());
        ready(Ok(Response::new(Full::new(Bytes::from_static(b"inner")))))
    }
}

#[tokio::test]
async fn the_inner_service_sees_exactly_the_requests_that_are_not_the_layers() {
    let recorder = Recorder::default();
    let probes = vwo_webhook::Probes::new(vwo_webhook_conformance::probes::Switch::default());
    let mut service = ServiceBuilder::new()
        .layer(WebhookLayer::new(receiver()))
        .layer(vwo_webhook_tower::ServeProbesLayer::new(probes))
        .service(recorder.clone());
    for path in [
        "/vwo-webhook",
        "/",
        "/ready",
        "/vwo-webhook/extra",
        "/live",
        "/app/route",
        "/settings/status",
    ] {
        let response = service
            .ready()
            .await
            .expect("ready")
            .call(request(path))
            .await
            .expect("infallible");
        let body = response.into_body().collect().await.expect("body").to_bytes();
        assert_eq!(
            body == "inner",
            recorder
                .0
                .lock()
                .expect("paths")
                .last()
                .is_some_and(|p| p == path),
            "{path}"
        );
    }
    assert_eq!(
        *recorder.0.lock().expect("paths"),
        ["/", "/vwo-webhook/extra", "/app/route"],
        "the webhook's and the probes' paths never reach the application"
    );
}
