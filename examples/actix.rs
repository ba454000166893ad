//! A VWO webhook receiver on actix-web, next to the application's own routes.
//!
//! ```text
//! VWO_WEBHOOK_SECRET=s3cret cargo run --example actix
//! ```

use actix_web::{App, HttpServer, web};
use vwo_webhook_examples::Example;

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (example, receiver) = Example::init()?;
    let path = receiver.path().to_owned();
    let server = HttpServer::new(move || {
        App::new()
            .route(
                "/",
                web::get().to(|| async { "an application with a VWO webhook at /vwo-webhook\n" }),
            )
            .service(vwo_webhook_actix::service(receiver.clone()))
    })
    .bind(example.addr)?;
    for addr in server.addrs() {
        example.announce("actix-web", addr, &path);
    }
    // actix-web stops gracefully on Ctrl-C by itself.
    server.run().await?;
    Ok(())
}
