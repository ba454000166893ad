//! The whole conformance suite, twice: through `router()` and through the `Webhook` extractor
//! in a handler of the application's own.

use axum::Router;
use axum::routing::{any, get};
use vwo_webhook::Receiver;
use vwo_webhook_axum::{Webhook, WebhookResponse};
use vwo_webhook_conformance::{HEALTH_BODY, HEALTH_PATH, Harness, Server};

/// The header timeout the harness serves with (short, so the suite's idle case is quick).
const HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// Serves `app` as the adapter's guide says: `vwo_webhook_axum::serve`, which closes idle and
/// trickling connections.
fn serve(app: Router) -> Server {
    Server::spawn_tokio(move |listener| async move {
        let _ = vwo_webhook_axum::serve(listener, app)
            .header_timeout(HEADER_TIMEOUT)
            .await;
    })
}

struct Axum;

impl Harness for Axum {
    const HEADER_TIMEOUT: Option<std::time::Duration> = Some(HEADER_TIMEOUT);

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
    const HEADER_TIMEOUT: Option<std::time::Duration> = Some(HEADER_TIMEOUT);

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
