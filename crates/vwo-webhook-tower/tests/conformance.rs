//! The whole conformance suite, served by `WebhookLayer` on bare hyper.

use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tower::ServiceBuilder;
use vwo_webhook::Receiver;
use vwo_webhook_conformance::{HEALTH_BODY, HEALTH_PATH, Harness, Server};
use vwo_webhook_tower::WebhookLayer;

struct Tower;

/// The application's own routes: `GET /health`, and 404 for the rest.
async fn app(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut response = Response::new(Full::new(Bytes::new()));
    if request.uri().path() == HEALTH_PATH {
        *response.body_mut() = Full::new(Bytes::from_static(HEALTH_BODY.as_bytes()));
    } else {
        *response.status_mut() = StatusCode::NOT_FOUND;
    }
    Ok(response)
}

/// The header timeout the harness serves with (short, so the suite's idle case is quick).
const HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// Serves `service` on bare hyper, one connection per task, with hyper's header read timeout
/// (as docs/adapters/tower.md says to set it).
fn serve<S>(service: S) -> Server
where
    S: tower::Service<
            Request<Incoming>,
            Response = Response<http_body_util::Either<Full<Bytes>, Full<Bytes>>>,
            Error = Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    Server::spawn_tokio(move |listener| async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let service = TowerToHyperService::new(service.clone());
            tokio::spawn(async move {
                let _ = http1::Builder::new()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(HEADER_TIMEOUT)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}

impl Harness for Tower {
    const HEADER_TIMEOUT: Option<std::time::Duration> = Some(HEADER_TIMEOUT);

    fn serve(receiver: Receiver) -> Server {
        serve(
            ServiceBuilder::new()
                .layer(WebhookLayer::new(receiver))
                .service(tower::service_fn(app)),
        )
    }
}

#[test]
fn probes_answer_beside_the_application() {
    let (switch, probes) = vwo_webhook_conformance::probes::switched();
    let server = serve(
        ServiceBuilder::new()
            .layer(vwo_webhook_tower::ServeProbesLayer::new(probes))
            .service(tower::service_fn(app)),
    );
    vwo_webhook_conformance::probes::check_probes(server.addr(), &switch);
}

vwo_webhook_conformance::conformance_suite!(tower_layer => Tower);
