//! A VWO webhook receiver on actix-web, next to the application's own routes; the probes,
//! metrics and flags on a second server, on the internal admin address.
//!
//! ```text
//! VWO_WEBHOOK_SECRET=s3cret cargo run --example actix
//! ```

use std::sync::Arc;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, http::StatusCode, web};
use vwo_webhook::Probes;
use vwo_webhook_examples::{Example, METRICS_PATH, Metrics};
use vwo_webhook_flags::Flags;

/// `GET /flags/{feature}?user=ID&...`
async fn flag(
    flags: web::Data<Arc<Flags>>,
    feature: web::Path<String>,
    request: HttpRequest,
) -> HttpResponse {
    let (status, body) = vwo_webhook_examples::flags::answer(&flags, &feature, Some(request.query_string()));
    HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .content_type("application/json")
        .body(body)
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    vwo_webhook_examples::init_tracing();
    // The examples' environment; without credentials, an offline demo origin.
    let example = Example::from_env()?;
    // The client: settings fetched (waited for here), kept fresh by the webhook and a poll,
    // decisions reported to VWO.
    let client = example.client_builder()?.build().await?;
    let receiver = client.receiver().ok_or("no webhook secret")?.clone();
    let path = receiver.path().to_owned();
    let probes = Probes::shared(client.settings_store());
    let metrics = Metrics::install(client.settings_store())?;
    let flags = web::Data::new(Arc::clone(client.flags()));
    let public = HttpServer::new(move || {
        App::new()
            .route(
                "/",
                web::get().to(|| async { "an application with a VWO webhook at /vwo-webhook\n" }),
            )
            .service(vwo_webhook_actix::service(receiver.clone()))
    })
    .bind(example.addr)?;
    let admin = HttpServer::new(move || {
        let metrics = metrics.clone();
        App::new()
            .route(
                METRICS_PATH,
                web::get().to(move || {
                    let body = metrics.render();
                    async move {
                        HttpResponse::Ok()
                            .content_type("text/plain; version=0.0.4")
                            .body(body)
                    }
                }),
            )
            .service(vwo_webhook_actix::probes(probes.clone()))
            .app_data(flags.clone())
            .route("/flags/{feature}", web::get().to(flag))
    })
    .workers(1)
    .bind(example.admin_addr)?;
    if let (Some(addr), Some(admin_addr)) = (public.addrs().first(), admin.addrs().first()) {
        example.announce("actix-web", *addr, *admin_addr, &path);
    }
    // actix-web stops gracefully on Ctrl-C by itself, both servers.
    tokio::try_join!(public.run(), admin.run())?;
    client.close().await; // sends the events still queued
    Ok(())
}
