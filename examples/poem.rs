//! A VWO webhook receiver on poem, next to the application's own routes; the probes, metrics
//! and flags on a second server, on the internal admin address.
//!
//! ```text
//! VWO_WEBHOOK_SECRET=s3cret cargo run --example poem
//! ```

use std::sync::Arc;

use poem::http::StatusCode;
use poem::listener::TcpAcceptor;
use poem::web::{Data, Path};
use poem::{EndpointExt, Request, Response, Route, get, handler};
use vwo_webhook::Probes;
use vwo_webhook_examples::{Example, METRICS_PATH, Metrics, shutdown_signal};
use vwo_webhook_flags::Flags;

#[handler]
fn index() -> &'static str {
    "an application with a VWO webhook at /vwo-webhook\n"
}

#[handler]
fn metrics(metrics: Data<&Arc<Metrics>>) -> String {
    metrics.render()
}

/// `GET /flags/:feature?user=ID&...`
#[handler]
fn flag(flags: Data<&Arc<Flags>>, Path(feature): Path<String>, request: &Request) -> Response {
    let (status, body) = vwo_webhook_examples::flags::answer(&flags, &feature, request.uri().query());
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .content_type("application/json")
        .body(body)
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
    let path = receiver.path().to_owned();
    let app = vwo_webhook_poem::mount(Route::new().at("/", get(index)), receiver);
    let admin = vwo_webhook_poem::mount_probes(
        Route::new()
            .at(METRICS_PATH, get(metrics))
            .at("/flags/:feature", get(flag)),
        Probes::shared(client.settings_store()),
    )
    .data(Arc::new(Metrics::install(client.settings_store())?))
    .data(Arc::clone(client.flags()));
    let listener = tokio::net::TcpListener::bind(example.addr).await?;
    let admin_listener = tokio::net::TcpListener::bind(example.admin_addr).await?;
    example.announce(
        "poem",
        listener.local_addr()?,
        admin_listener.local_addr()?,
        &path,
    );
    // poem keeps an idle connection forever, and a trickling one too, unless told otherwise:
    // each request head within 10 s, and no connection idle for longer.
    let timeout = vwo_webhook_poem::DEFAULT_HEAD_TIMEOUT;
    let guarded = |listener| -> std::io::Result<_> {
        Ok(vwo_webhook_poem::head_timeout(
            TcpAcceptor::from_tokio(listener)?,
            timeout,
        ))
    };
    tokio::try_join!(
        poem::Server::new_with_acceptor(guarded(listener)?)
            .idle_timeout(timeout)
            .run_with_graceful_shutdown(app, shutdown_signal(), None),
        poem::Server::new_with_acceptor(guarded(admin_listener)?)
            .idle_timeout(timeout)
            .run_with_graceful_shutdown(admin, shutdown_signal(), None),
    )?;
    client.close().await; // sends the events still queued
    Ok(())
}
