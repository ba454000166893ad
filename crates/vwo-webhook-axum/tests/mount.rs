//! Mounting details the conformance suite (which uses the default path) does not cover.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use tower::ServiceExt;
use vwo_webhook_conformance::TestBackend;
use vwo_webhook_conformance::cases::{SECRET, secured_receiver};

const NOTICE: &str = r#"{"timestamp":1606482285,"event":"settings_changed"}"#;

fn app(path: &str) -> Router {
    let receiver = secured_receiver(&TestBackend::counting(), |b| b.path(path));
    Router::new()
        .route("/", get(|| async { "home" }))
        .merge(vwo_webhook_axum::router(receiver))
}

async fn post(app: Router, path: &str) -> StatusCode {
    let request = Request::post(path)
        .header("x-vwo-auth", SECRET)
        .body(Body::from(NOTICE))
        .expect("request");
    app.oneshot(request).await.expect("infallible").status()
}

#[tokio::test]
async fn mounts_at_the_configured_path_only() {
    assert_eq!(post(app("/hooks/vwo"), "/hooks/vwo").await, StatusCode::OK);
    assert_eq!(
        post(app("/hooks/vwo"), "/vwo-webhook").await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(post(app("/vwo-webhook"), "/vwo-webhook").await, StatusCode::OK);
}

#[tokio::test]
async fn the_receivers_limit_applies_whatever_the_routers_default_body_limit() {
    // axum's own DefaultBodyLimit (2 MB) would let 1 MiB through; the receiver's 64 KiB does not.
    let big = Request::post("/vwo-webhook")
        .header("x-vwo-auth", SECRET)
        .body(Body::from(vec![b' '; 1 << 20]))
        .expect("request");
    let response = app("/vwo-webhook").oneshot(big).await.expect("infallible");
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}
