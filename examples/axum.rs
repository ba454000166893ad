//! A VWO webhook receiver on axum, next to the application's own routes; the probes, metrics
//! and flags on the internal admin address.
//!
//! ```text
//! VWO_WEBHOOK_SECRET=s3cret cargo run --example axum
//! ```

use axum::Router;
use axum::routing::get;
use vwo_webhook_examples::{Example, shutdown_signal};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let started = Example::start()?;
    let path = started.receiver.path().to_owned();
    let app = Router::new()
        .route(
            "/",
            get(|| async { "an application with a VWO webhook at /vwo-webhook\n" }),
        )
        .merge(vwo_webhook_axum::router(started.receiver.clone()));
    let admin = vwo_webhook_examples::admin::router(&started)?;
    let listener = tokio::net::TcpListener::bind(started.example.addr).await?;
    let admin_listener = tokio::net::TcpListener::bind(started.example.admin_addr).await?;
    started.example.announce(
        "axum",
        listener.local_addr()?,
        admin_listener.local_addr()?,
        &path,
    );
    // `vwo_webhook_axum::serve` closes idle and trickling connections (`axum::serve` keeps them).
    tokio::try_join!(
        vwo_webhook_axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()),
        vwo_webhook_axum::serve(admin_listener, admin).with_graceful_shutdown(shutdown_signal()),
    )?;
    started.finish().await;
    Ok(())
}
