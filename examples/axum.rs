//! A VWO webhook receiver on axum, next to the application's own routes.
//!
//! ```text
//! VWO_WEBHOOK_SECRET=s3cret cargo run --example axum
//! ```

use axum::Router;
use axum::routing::get;
use vwo_webhook_examples::{Example, METRICS_PATH, shutdown_signal};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let started = Example::start()?;
    let path = started.receiver.path().to_owned();
    let metrics = started.metrics()?;
    let app = Router::new()
        .route(
            "/",
            get(|| async { "an application with a VWO webhook at /vwo-webhook\n" }),
        )
        .route(METRICS_PATH, get(move || async move { metrics.render() }))
        .merge(vwo_webhook_axum::router(started.receiver.clone()))
        .merge(vwo_webhook_axum::probes(started.probes()))
        .merge(vwo_webhook_examples::flags::router(started.flags.clone()));
    let listener = tokio::net::TcpListener::bind(started.example.addr).await?;
    started.example.announce("axum", listener.local_addr()?, &path);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    started.finish().await;
    Ok(())
}
