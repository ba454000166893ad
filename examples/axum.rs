//! A VWO webhook receiver on axum, next to the application's own routes.
//!
//! ```text
//! VWO_WEBHOOK_SECRET=s3cret cargo run --example axum
//! ```

use axum::Router;
use axum::routing::get;
use vwo_webhook_examples::{Example, shutdown_signal};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (example, receiver) = Example::init()?;
    let path = receiver.path().to_owned();
    let app = Router::new()
        .route(
            "/",
            get(|| async { "an application with a VWO webhook at /vwo-webhook\n" }),
        )
        .merge(vwo_webhook_axum::router(receiver));
    let listener = tokio::net::TcpListener::bind(example.addr).await?;
    example.announce("axum", listener.local_addr()?, &path);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}
