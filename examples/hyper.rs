//! A VWO webhook receiver on bare hyper: `WebhookLayer` in front of the application's service.
//!
//! ```text
//! VWO_WEBHOOK_SECRET=s3cret cargo run --example hyper
//! ```

use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tower::ServiceBuilder;
use vwo_webhook_examples::{Example, shutdown_signal};
use vwo_webhook_tower::WebhookLayer;

/// The application itself: everything that is not the webhook.
async fn app(_request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut response = Response::new(Full::new(Bytes::from_static(b"not found\n")));
    *response.status_mut() = StatusCode::NOT_FOUND;
    Ok(response)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (example, receiver) = Example::init()?;
    let path = receiver.path().to_owned();
    let service = ServiceBuilder::new()
        .layer(WebhookLayer::new(receiver))
        .service(tower::service_fn(app));
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
