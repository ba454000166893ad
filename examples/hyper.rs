//! A VWO webhook receiver on bare hyper: `WebhookLayer` in front of the application's service.
//!
//! ```text
//! VWO_WEBHOOK_SECRET=s3cret cargo run --example hyper
//! ```

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tower::ServiceBuilder;
use vwo_webhook_examples::{Example, STATUS_PATH, shutdown_signal, status_json};
use vwo_webhook_settings::SettingsStore;
use vwo_webhook_tower::WebhookLayer;

/// The application itself: everything that is not the webhook.
async fn app(
    request: Request<Incoming>,
    store: Arc<SettingsStore>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if request.uri().path() == STATUS_PATH {
        let mut response = Response::new(Full::new(Bytes::from(status_json(&store))));
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        return Ok(response);
    }
    let mut response = Response::new(Full::new(Bytes::from_static(b"not found\n")));
    *response.status_mut() = StatusCode::NOT_FOUND;
    Ok(response)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let started = Example::start()?;
    let (example, store) = (&started.example, started.store.clone());
    let path = started.receiver.path().to_owned();
    let service = ServiceBuilder::new()
        .layer(WebhookLayer::new(started.receiver.clone()))
        .service(tower::service_fn(move |request| app(request, store.clone())));
    let listener = tokio::net::TcpListener::bind(example.addr).await?;
    example.announce("hyper", listener.local_addr()?, &path);
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => accepted?,
            () = &mut shutdown => return Ok(()),
        };
        let service = TowerToHyperService::new(service.clone());
        tokio::spawn(async move {
            if let Err(error) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
}
