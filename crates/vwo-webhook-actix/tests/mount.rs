//! Mounting details the conformance suite (which uses the default path) does not cover.

use actix_web::http::StatusCode;
use actix_web::web::{self, PayloadConfig};
use actix_web::{App, test};
use vwo_webhook::Receiver;
use vwo_webhook_actix::{Webhook, WebhookResponse};
use vwo_webhook_conformance::TestBackend;
use vwo_webhook_conformance::cases::{SECRET, secured_receiver};

const NOTICE: &str = r#"{"timestamp":1606482285,"event":"settings_changed"}"#;

fn receiver(path: &str) -> Receiver {
    secured_receiver(&TestBackend::counting(), |b| b.path(path))
}

fn delivery(path: &str, body: impl Into<web::Bytes>) -> test::TestRequest {
    test::TestRequest::post()
        .uri(path)
        .insert_header(("x-vwo-auth", SECRET))
        .set_payload(body)
}

async fn hook(webhook: Webhook) -> WebhookResponse {
    webhook.respond().await
}

#[actix_web::test]
async fn mounts_at_the_configured_path_inside_a_scope() {
    let app = test::init_service(
        App::new().service(web::scope("/api").service(vwo_webhook_actix::service(receiver("/hooks/vwo")))),
    )
    .await;
    let at = |path| test::call_service(&app, delivery(path, NOTICE).to_request());
    assert_eq!(at("/api/hooks/vwo").await.status(), StatusCode::OK);
    assert_eq!(at("/hooks/vwo").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(at("/api/vwo-webhook").await.status(), StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn the_receivers_limit_applies_whatever_the_apps_payload_config() {
    // A generous app-wide PayloadConfig does not lift the receiver's 64 KiB limit...
    let app = test::init_service(
        App::new()
            .app_data(PayloadConfig::new(8 << 20))
            .service(vwo_webhook_actix::service(receiver("/vwo-webhook"))),
    )
    .await;
    let big = delivery("/vwo-webhook", vec![b' '; 1 << 20]).to_request();
    assert_eq!(
        test::call_service(&app, big).await.status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );
    // ...and a tiny one does not lower it.
    let app = test::init_service(
        App::new()
            .app_data(PayloadConfig::new(8))
            .service(vwo_webhook_actix::service(receiver("/vwo-webhook"))),
    )
    .await;
    let notice = delivery("/vwo-webhook", NOTICE).to_request();
    assert_eq!(test::call_service(&app, notice).await.status(), StatusCode::OK);
}

#[actix_web::test]
async fn the_extractor_finds_the_receiver_as_web_data() {
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(receiver("/vwo-webhook")))
            .route("/hooks/vwo", web::post().to(hook)),
    )
    .await;
    let ok = test::call_service(&app, delivery("/hooks/vwo", NOTICE).to_request()).await;
    assert_eq!(ok.status(), StatusCode::OK);
    let wrong = test::TestRequest::post()
        .uri("/hooks/vwo")
        .insert_header(("x-vwo-auth", "nope"))
        .set_payload(NOTICE)
        .to_request();
    let wrong = test::call_service(&app, wrong).await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let body = test::read_body(wrong).await;
    assert_eq!(
        std::str::from_utf8(&body).expect("utf-8"),
        r#"{"status":"error","message":"missing or invalid webhook credentials"}"#
    );
}

#[actix_web::test]
async fn the_extractor_without_a_receiver_is_a_clear_500() {
    let app = test::init_service(App::new().route("/hooks/vwo", web::post().to(hook))).await;
    let response = test::call_service(&app, delivery("/hooks/vwo", NOTICE).to_request()).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        response.headers().get("content-type").map(|v| v.as_bytes()),
        Some(&b"application/json"[..])
    );
    let body = test::read_body(response).await;
    let body = std::str::from_utf8(&body).expect("utf-8");
    assert!(body.contains("no vwo-webhook receiver is configured"), "{body}");
}
