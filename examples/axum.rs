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
    vwo_webhook_examples::init_tracing();
    // The examples' environment (VWO_ACCOUNT_ID, VWO_SDK_KEY, VWO_WEBHOOK_SECRET, ...); without
    // credentials, an offline demo origin serving a bundled settings file.
    let example = Example::from_env()?;
    // The client: settings fetched (waited for here), kept fresh by the webhook and a poll,
    // decisions reported to VWO.
    let client = example.client_builder()?.build().await?;
    let receiver = client.receiver().ok_or("no webhook secret")?.clone();
    let path = receiver.path().to_owned();
    let app = Router::new()
        .route(
            "/",
            get(|| async { "an application with a VWO webhook at /vwo-webhook\n" }),
        )
        .merge(vwo_webhook_axum::router(receiver));
    let admin = vwo_webhook_examples::admin::router_of(&client)?;
    let listener = tokio::net::TcpListener::bind(example.addr).await?;
    let admin_listener = tokio::net::TcpListener::bind(example.admin_addr).await?;
    example.announce(
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
    client.close().await; // sends the events still queued
    Ok(())
}
