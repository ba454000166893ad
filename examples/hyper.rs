//! A VWO webhook receiver on bare hyper: `WebhookLayer` in front of the application's service
//! on the public address; `ServeProbesLayer` in front of the metrics and flags on the admin one.
//!
//! ```text
//! VWO_WEBHOOK_SECRET=s3cret cargo run --example hyper
//! ```

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tower::ServiceBuilder;
use vwo_webhook_examples::{Example, METRICS_PATH, Metrics, shutdown_signal};
use vwo_webhook_flags::Flags;
use vwo_webhook_tower::{Probes, ServeProbesLayer, WebhookLayer};

/// The internal endpoints besides the probes: metrics and flag decisions.
async fn admin(
    request: Request<Incoming>,
    metrics: Arc<Metrics>,
    flags: Arc<Flags>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if request.uri().path() == METRICS_PATH {
        return Ok(Response::new(Full::new(Bytes::from(metrics.render()))));
    }
    if let Some(feature) = request.uri().path().strip_prefix("/flags/") {
        let (status, body) = vwo_webhook_examples::flags::answer(&flags, feature, request.uri().query());
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        return Ok(response);
    }
    Ok(not_found())
}

/// The application itself: everything on the public address that is not the webhook.
async fn app(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(not_found())
}

fn not_found() -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(b"not found\n")));
    *response.status_mut() = StatusCode::NOT_FOUND;
    response
}

/// Serves `service` on `listener`, a task per connection, until `shutdown`.
async fn serve<S, B>(listener: tokio::net::TcpListener, service: S) -> std::io::Result<()>
where
    S: tower::Service<Request<Incoming>, Response = Response<B>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => accepted?,
            () = &mut shutdown => return Ok(()),
        };
        let service = TowerToHyperService::new(service.clone());
        tokio::spawn(async move {
            // hyper closes nothing on its own: each request head within 10 s, idle or trickling.
            if let Err(error) = http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(std::time::Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    vwo_webhook_examples::init_tracing();
    // The examples' environment; without credentials, an offline demo origin.
    let example = Example::from_env()?;
    // The client: settings fetched (waited for here), kept fresh by the webhook and a poll,
    // decisions reported to VWO.
    let client = example.client_builder()?.build().await?;
    let receiver = client.receiver().ok_or("no webhook secret")?.clone();
    let metrics = Arc::new(Metrics::install(client.settings_store())?);
    let flags = Arc::clone(client.flags());
    let path = receiver.path().to_owned();
    let public = ServiceBuilder::new()
        .layer(WebhookLayer::new(receiver))
        .service(tower::service_fn(app));
    let internal = ServiceBuilder::new()
        .layer(ServeProbesLayer::new(Probes::shared(client.settings_store())))
        .service(tower::service_fn(move |request| {
            admin(request, Arc::clone(&metrics), Arc::clone(&flags))
        }));
    let listener = tokio::net::TcpListener::bind(example.addr).await?;
    let admin_listener = tokio::net::TcpListener::bind(example.admin_addr).await?;
    example.announce(
        "hyper",
        listener.local_addr()?,
        admin_listener.local_addr()?,
        &path,
    );
    tokio::try_join!(serve(listener, public), serve(admin_listener, internal))?;
    client.close().await; // sends the events still queued
    Ok(())
}
