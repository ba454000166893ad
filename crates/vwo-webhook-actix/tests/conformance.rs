//! The whole conformance suite, twice: through `service()` and through the `Webhook` extractor
//! in a handler of the application's own.

use actix_web::web::{self, ServiceConfig};
use actix_web::{App, HttpServer};
use vwo_webhook::Receiver;
use vwo_webhook_actix::{Webhook, WebhookResponse};
use vwo_webhook_conformance::{HEALTH_BODY, HEALTH_PATH, Harness, Server};

/// The header timeout the harness serves with (short, so the suite's idle case is quick).
const HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// Serves an app with `GET /health` and whatever `mount` adds, on its own actix system, with
/// actix's head and keep-alive timeouts set (as docs/adapters/actix.md says).
fn serve<M>(receiver: Receiver, mount: M) -> Server
where
    M: Fn(&mut ServiceConfig, &Receiver) + Clone + Send + 'static,
{
    Server::spawn_thread(move |ready| {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(move || {
                let (mount, receiver) = (mount.clone(), receiver.clone());
                App::new()
                    .route(HEALTH_PATH, web::get().to(|| async { HEALTH_BODY }))
                    .configure(move |config| mount(config, &receiver))
            })
            .workers(2)
            .client_request_timeout(HEADER_TIMEOUT)
            .keep_alive(HEADER_TIMEOUT)
            .disable_signals()
            .shutdown_timeout(0)
            .listen(listener)
            .expect("listen")
            .run();
            let handle = server.handle();
            // `stop` sends the command at once; the returned future only waits for completion.
            ready.report(addr, move || drop(handle.stop(false)));
            let _ = server.await;
        });
    })
}

struct Actix;

impl Harness for Actix {
    const HEADER_TIMEOUT: Option<std::time::Duration> = Some(HEADER_TIMEOUT);

    fn serve(receiver: Receiver) -> Server {
        serve(receiver, |config, receiver| {
            config.service(vwo_webhook_actix::service(receiver.clone()));
        })
    }
}

struct ActixExtractor;

async fn hook(webhook: Webhook) -> WebhookResponse {
    webhook.respond().await
}

impl Harness for ActixExtractor {
    const HEADER_TIMEOUT: Option<std::time::Duration> = Some(HEADER_TIMEOUT);

    fn serve(receiver: Receiver) -> Server {
        serve(receiver, |config, receiver| {
            config
                .app_data(receiver.clone())
                .route(receiver.path(), web::route().to(hook));
        })
    }
}

vwo_webhook_conformance::conformance_suite!(actix_service => Actix, limits {
    expect_continue_oversized_is_413: "actix-web's HttpServer answers 100 Continue before routing (actix-http's default ExpectHandler); the 413 follows it",
    malformed_chunk_size_is_refused: "actix-http closes the connection on a chunk size it cannot parse without writing the answer (no status reaches the client); no refresh starts and the server keeps serving",
});

vwo_webhook_conformance::conformance_suite!(actix_extractor => ActixExtractor, limits {
    expect_continue_oversized_is_413: "actix-web's HttpServer answers 100 Continue before routing (actix-http's default ExpectHandler); the 413 follows it",
    malformed_chunk_size_is_refused: "actix-http closes the connection on a chunk size it cannot parse without writing the answer (no status reaches the client); no refresh starts and the server keeps serving",
});

#[test]
fn probes_answer_beside_the_application() {
    let (switch, probes) = vwo_webhook_conformance::probes::switched();
    let receiver = vwo_webhook_conformance::cases::secured_receiver(
        &vwo_webhook_conformance::TestBackend::counting(),
        |b| b,
    );
    let server = serve(receiver, move |config, _| {
        config.service(vwo_webhook_actix::probes(probes.clone()));
    });
    vwo_webhook_conformance::probes::check_probes(server.addr(), &switch);
}
