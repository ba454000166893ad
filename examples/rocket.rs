//! A VWO webhook receiver on rocket, next to the application's own routes; the probes, metrics
//! and flags on a second rocket, on the internal admin address.
//!
//! ```text
//! VWO_WEBHOOK_SECRET=s3cret cargo run --example rocket
//! ```
//!
//! The addresses come from `VWO_WEBHOOK_ADDR` and `VWO_WEBHOOK_ADMIN_ADDR` like every example;
//! everything else rocket reads as usual (`Rocket.toml`, `ROCKET_*`), including the body limit
//! `limits.vwo-webhook`.

use std::sync::Arc;

use rocket::fairing::AdHoc;
use rocket::http::{ContentType, Status, uri::Origin};
use rocket::{Config, State, get, routes};
use vwo_webhook_examples::{Example, Metrics};
use vwo_webhook_flags::Flags;

#[get("/")]
fn index() -> &'static str {
    "an application with a VWO webhook at /vwo-webhook\n"
}

#[get("/metrics")]
fn metrics(metrics: &State<Metrics>) -> String {
    metrics.render()
}

/// `GET /flags/<feature>?user=ID&...`
#[get("/flags/<feature>")]
fn flag(flags: &State<Arc<Flags>>, feature: &str, uri: &Origin<'_>) -> (Status, (ContentType, String)) {
    let query = uri.query().map(|q| q.as_str());
    let (status, body) = vwo_webhook_examples::flags::answer(flags, feature, query);
    (Status::new(status), (ContentType::JSON, body))
}

#[rocket::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    vwo_webhook_examples::init_tracing();
    // The examples' environment; without credentials, an offline demo origin.
    let example = Example::from_env()?;
    // The client: settings fetched (waited for here), kept fresh by the webhook and a poll,
    // decisions reported to VWO.
    let builder = example.client_builder()?;
    let client = builder.build().await?;
    let receiver = client.receiver().ok_or("no webhook secret")?.clone();
    let probes = vwo_webhook::Probes::shared(client.settings_store());
    let (metrics, flags) = (
        Metrics::install(client.settings_store())?,
        Arc::clone(client.flags()),
    );
    let path = receiver.path().to_owned();
    let figment = |addr: std::net::SocketAddr| {
        Config::figment()
            .merge(("address", addr.ip()))
            .merge(("port", addr.port()))
            .merge(("log_level", "critical"))
    };
    let (public_figment, admin_figment) = (figment(example.addr), figment(example.admin_addr));
    let admin_addr = example.admin_addr;
    let public = rocket::custom(public_figment)
        .mount("/", routes![index])
        .attach(vwo_webhook_rocket::fairing(receiver))
        .attach(AdHoc::on_liftoff("announce", move |rocket| {
            Box::pin(async move {
                let config = rocket.config();
                example.announce("rocket", (config.address, config.port).into(), admin_addr, &path);
            })
        }));
    let admin = rocket::custom(admin_figment)
        .mount("/", routes![metrics, flag])
        .mount("/", vwo_webhook_rocket::probe_routes(probes))
        .manage(metrics)
        .manage(flags);
    let (public, admin) = tokio::join!(public.launch(), admin.launch());
    public?;
    admin?;
    client.close().await; // sends the events still queued
    Ok(())
}
