//! A VWO webhook receiver on rocket, next to the application's own routes.
//!
//! ```text
//! VWO_WEBHOOK_SECRET=s3cret cargo run --example rocket
//! ```
//!
//! The address comes from `VWO_WEBHOOK_ADDR` like every example; everything else rocket reads
//! as usual (`Rocket.toml`, `ROCKET_*`), including the body limit `limits.vwo-webhook`.

use rocket::fairing::AdHoc;
use rocket::{Config, get, routes};
use vwo_webhook_examples::Example;

#[get("/")]
fn index() -> &'static str {
    "an application with a VWO webhook at /vwo-webhook\n"
}

#[rocket::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (example, receiver) = Example::init()?;
    let path = receiver.path().to_owned();
    let figment = Config::figment()
        .merge(("address", example.addr.ip()))
        .merge(("port", example.addr.port()))
        .merge(("log_level", "critical"));
    let _ = rocket::custom(figment)
        .mount("/", routes![index])
        .attach(vwo_webhook_rocket::fairing(receiver))
        .attach(AdHoc::on_liftoff("announce", move |rocket| {
            Box::pin(async move {
                let config = rocket.config();
                example.announce("rocket", (config.address, config.port).into(), &path);
            })
        }))
        .launch()
        .await?;
    Ok(())
}
