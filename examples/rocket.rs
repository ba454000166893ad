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
    let started = Example::start()?;
    let (probes, metrics, flags) = (started.probes(), started.metrics()?, Arc::clone(&started.flags));
    let path = started.receiver.path().to_owned();
    let figment = |addr: std::net::SocketAddr| {
        Config::figment()
            .merge(("address", addr.ip()))
            .merge(("port", addr.port()))
            .merge(("log_level", "critical"))
    };
    let (public_figment, admin_figment) =
        (figment(started.example.addr), figment(started.example.admin_addr));
    let admin_addr = started.example.admin_addr;
    let announce = Arc::new(started);
    let announcer = Arc::clone(&announce);
    let public = rocket::custom(public_figment)
        .mount("/", routes![index])
        .attach(vwo_webhook_rocket::fairing(announce.receiver.clone()))
        .attach(AdHoc::on_liftoff("announce", move |rocket| {
            Box::pin(async move {
                let config = rocket.config();
                announcer
                    .example
                    .announce("rocket", (config.address, config.port).into(), admin_addr, &path);
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
    announce.finish().await;
    Ok(())
}
