//! The whole conformance suite, twice: through `router()` and through the `Webhook` extractor
//! in a handler of the application's own.

use axum::Router;
use axum::routing::{any, get};
use vwo_webhook::Receiver;
use vwo_webhook_axum::{Webhook, WebhookResponse};
use vwo_webhook_conformance::{HEALTH_BODY, HEALTH_PATH, Harness, Server};

fn serve(app: Router) -> Server {
    Server::spawn_tokio(move |listener| async move {
        let _ = axum::serve(listener, app).await;
    })
}

struct Axum;

impl Harness for Axum {
    fn serve(receiver: Receiver) -> Server {
        serve(
            Router::new()
                .route(HEALTH_PATH, get(|| async { HEALTH_BODY }))
                .merge(vwo_webhook_axum::router(receiver)),
        )
    }
}

struct AxumExtractor;

async fn hook(webhook: Webhook) -> WebhookResponse {
    webhook.respond().await
}

impl Harness for AxumExtractor {
    fn serve(receiver: Receiver) -> Server {
        let path = receiver.path().to_owned();
        serve(
            Router::new()
                .route(HEALTH_PATH, get(|| async { HEALTH_BODY }))
                .route(&path, any(hook))
                .with_state(receiver),
        )
    }
}

vwo_webhook_conformance::conformance_suite!(axum_router => Axum);

vwo_webhook_conformance::conformance_suite!(axum_extractor => AxumExtractor);

#[test]
fn probes_answer_beside_the_application() {
    let (switch, probes) = vwo_webhook_conformance::probes::switched();
    let server = serve(
        Router::new()
            .route(HEALTH_PATH, get(|| async { HEALTH_BODY }))
            .merge(vwo_webhook_axum::probes(probes)),
    );
    vwo_webhook_conformance::probes::check_probes(server.addr(), &switch);
}
