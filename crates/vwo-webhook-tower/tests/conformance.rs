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

impl Harness for Tower {
    fn serve(receiver: Receiver) -> Server {
        Server::spawn_tokio(move |listener| async move {
            let service = ServiceBuilder::new()
                .layer(WebhookLayer::new(receiver))
                .service(tower::service_fn(app));
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let service = TowerToHyperService::new(service.clone());
                tokio::spawn(async move {
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        })
    }
}

vwo_webhook_conformance::conformance_suite!(tower_layer => Tower);
