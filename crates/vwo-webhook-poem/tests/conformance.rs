//! The whole conformance suite, twice: through `mount()` and through the `Webhook` extractor
//! in a handler of the application's own.

use poem::listener::TcpAcceptor;
use poem::{EndpointExt, IntoEndpoint, Route, get, handler};
use vwo_webhook::Receiver;
use vwo_webhook_conformance::{HEALTH_BODY, HEALTH_PATH, Harness, Server};
use vwo_webhook_poem::{Webhook, WebhookResponse};

/// The idle timeout the harness serves with (short, so the suite's idle case is quick).
const HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// Serves `app` with the adapter's head timeout and poem's idle timeout (as
/// docs/adapters/poem.md says).
fn serve<E>(app: E) -> Server
where
    E: IntoEndpoint,
    E::Endpoint: 'static,
{
    let app = app.into_endpoint().boxed();
    Server::spawn_tokio(move |listener| async move {
        let acceptor = TcpAcceptor::from_tokio(listener).expect("acceptor");
        let acceptor = vwo_webhook_poem::head_timeout(acceptor, HEADER_TIMEOUT);
        let _ = poem::Server::new_with_acceptor(acceptor)
            .idle_timeout(HEADER_TIMEOUT)
            .run(app)
            .await;
    })
}

#[handler]
fn health() -> &'static str {
    HEALTH_BODY
}

struct Poem;

impl Harness for Poem {
    const HEADER_TIMEOUT: Option<std::time::Duration> = Some(HEADER_TIMEOUT);

    fn serve(receiver: Receiver) -> Server {
        serve(vwo_webhook_poem::mount(
            Route::new().at(HEALTH_PATH, get(health)),
            receiver,
        ))
    }
}

#[handler]
async fn hook(webhook: Webhook) -> WebhookResponse {
    webhook.respond().await
}

struct PoemExtractor;

impl Harness for PoemExtractor {
    const HEADER_TIMEOUT: Option<std::time::Duration> = Some(HEADER_TIMEOUT);

    fn serve(receiver: Receiver) -> Server {
        let path = receiver.path().to_owned();
        serve(
            Route::new()
                .at(HEALTH_PATH, get(health))
                .at(path, hook)
                .data(receiver),
        )
    }
}

vwo_webhook_conformance::conformance_suite!(poem_route => Poem);

vwo_webhook_conformance::conformance_suite!(poem_extractor => PoemExtractor);

#[test]
fn probes_answer_beside_the_application() {
    let (switch, probes) = vwo_webhook_conformance::probes::switched();
    let server = serve(vwo_webhook_poem::mount_probes(
        Route::new().at(HEALTH_PATH, get(health)),
        probes,
    ));
    vwo_webhook_conformance::probes::check_probes(server.addr(), &switch);
}
