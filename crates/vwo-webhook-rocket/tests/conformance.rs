//! The whole conformance suite, served through `fairing()`.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use rocket::config::{Config, LogLevel, Shutdown};
use rocket::fairing::AdHoc;
use rocket::get;
use vwo_webhook::Receiver;
use vwo_webhook_conformance::{HEALTH_BODY, Harness, Server};

#[get("/health")]
fn health() -> &'static str {
    HEALTH_BODY
}

/// A quiet rocket on an ephemeral loopback port that stops at once when asked.
fn config() -> Config {
    Config {
        address: Ipv4Addr::LOCALHOST.into(),
        port: 0,
        log_level: LogLevel::Off,
        cli_colors: false,
        shutdown: Shutdown {
            ctrlc: false,
            grace: 0,
            mercy: 0,
            ..Shutdown::default()
        },
        ..Config::debug_default()
    }
}

/// Launches `build(rocket)` (with `GET /health` mounted) on its own thread and runtime.
fn launch<F>(build: F) -> Server
where
    F: FnOnce(rocket::Rocket<rocket::Build>) -> rocket::Rocket<rocket::Build> + Send + 'static,
{
    Server::spawn_thread(move |ready| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        runtime.block_on(async move {
            let ignited = build(rocket::custom(config()).mount("/", rocket::routes![health]))
                .attach(AdHoc::on_liftoff("report the port", move |rocket| {
                    Box::pin(async move {
                        let addr = SocketAddr::new(rocket.config().address, rocket.config().port);
                        let shutdown = rocket.shutdown();
                        ready.report(addr, move || shutdown.notify());
                    })
                }))
                .ignite()
                .await
                .expect("rocket ignites");
            let _ = ignited.launch().await;
        });
        runtime.shutdown_timeout(Duration::from_secs(1));
    })
}

struct Rocket;

impl Harness for Rocket {
    fn serve(receiver: Receiver) -> Server {
        launch(|rocket| rocket.attach(vwo_webhook_rocket::fairing(receiver)))
    }
}

#[test]
fn probes_answer_beside_the_application() {
    let (switch, probes) = vwo_webhook_conformance::probes::switched();
    let server = launch(|rocket| rocket.mount("/", vwo_webhook_rocket::probe_routes(probes)));
    vwo_webhook_conformance::probes::check_probes(server.addr(), &switch);
}

vwo_webhook_conformance::conformance_suite!(rocket_fairing => Rocket, limits {
    rejects_huge_declared_length_without_reading: "rocket 0.5 reads up to 14 body bytes of every request before routing (Rocket::preprocess_request peeks for a _method form field): with none sent, no route runs",
    expect_continue_oversized_is_413: "the same peek makes hyper send 100 Continue before any route runs",
    idle_and_trickling_connections_are_closed: "rocket 0.5 binds its own listener and turns hyper's header read timeout off (Rocket::serve sets header_read_timeout(None)), and its keep_alive only applies between requests: an idle or trickling connection is never closed (mitigation: a reverse proxy's header timeout, see docs/adapters/rocket.md)",
    stalled_after_first_byte_times_out: "the same peek waits for 14 body bytes before any route runs, with no timeout of rocket's own: a body stalled before its 14th byte is never seen by the receiver's body timeout (mitigation: a reverse proxy's body timeout, see docs/adapters/rocket.md)",
});
