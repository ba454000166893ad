//! Adapter overhead: each framework's webhook endpoint against a bare handler on the same
//! framework that reads the same body and answers a small JSON 200, driven side by side in
//! one run by a load generator on hyper's client (no external tool).
//!
//! Servers get one worker thread; the load generator runs on the other core with
//! `CONNECTIONS` kept-alive connections. Three kinds of request: accepted (the documented
//! notice with the right key; a no-op refresh, the default ack policy, no minimum spacing),
//! refused with a wrong key (401), refused with a malformed body (400). Each pair is measured
//! `ROUNDS` times, alternating, for `WINDOW` each.
//!
//! `cargo bench -p vwo-webhook-tests --bench adapters` (or `cargo xtask bench adapters`).
#![allow(clippy::print_stdout)]

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use vwo_webhook::{Keyring, Receiver, RefreshError, RetryPolicy, Trigger};
use vwo_webhook_conformance::Server;
use vwo_webhook_conformance::fixtures::{DOCUMENTED, SECRET};

use common::percentile;

const CONNECTIONS: usize = 32;
const ROUNDS: usize = 4;
const PATH: &str = "/vwo-webhook";
const BARE_ANSWER: &str = r#"{"status":"success","message":"ok"}"#;

fn window() -> Duration {
    // `cargo bench` passes `--bench`; anything else (a test run) gets a quick pass.
    if std::env::args().any(|a| a == "--bench") {
        Duration::from_millis(1500)
    } else {
        Duration::from_millis(200)
    }
}

fn receiver() -> Receiver {
    Receiver::builder(|_: Trigger| async { Ok::<(), RefreshError>(()) })
        .retry_policy(RetryPolicy::default().with_min_spacing(Duration::ZERO))
        .keyring(Keyring::from_comma_separated(SECRET).expect("key"))
        .build()
        .expect("receiver")
}

/// A server with one worker thread, on tokio.
fn tokio_server<F, Fut>(serve: F) -> Server
where
    F: FnOnce(tokio::net::TcpListener) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + 'static,
{
    Server::spawn_thread(move |ready| {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("non-blocking");
        let addr = listener.local_addr().expect("addr");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        ready.report(addr, move || {
            let _ = stop_tx.send(());
        });
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            tokio::select! {
                () = serve(listener) => {}
                _ = stop_rx => {}
            }
        });
    })
}

async fn bare_hyper(
    request: http::Request<hyper::body::Incoming>,
) -> Result<http::Response<Full<Bytes>>, Infallible> {
    let _ = request.into_body().collect().await;
    let mut response = http::Response::new(Full::new(Bytes::from_static(BARE_ANSWER.as_bytes())));
    response
        .headers_mut()
        .insert("content-type", http::HeaderValue::from_static("application/json"));
    Ok(response)
}

fn hyper_server<S>(service: S) -> Server
where
    S: tower::Service<http::Request<hyper::body::Incoming>, Error = Infallible> + Clone + Send + 'static,
    S::Response: Into<http::Response<http_body_util::Either<Full<Bytes>, Full<Bytes>>>>,
    S::Future: Send + 'static,
{
    tokio_server(move |listener| async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let service = service.clone();
            let service = hyper::service::service_fn(move |request| {
                let mut service = service.clone();
                async move { tower::Service::call(&mut service, request).await.map(Into::into) }
            });
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}

/// The webhook and the bare handler, per framework.
fn servers(framework: &str) -> (Server, Server) {
    match framework {
        "tower/hyper" => {
            let webhook = tower::ServiceBuilder::new()
                .layer(vwo_webhook_tower::WebhookLayer::new(receiver()))
                .service(tower::service_fn(bare_hyper));
            let bare = tower::ServiceBuilder::new()
                .map_response(|r: http::Response<Full<Bytes>>| r.map(http_body_util::Either::Right))
                .service(tower::service_fn(bare_hyper));
            (hyper_server(webhook), hyper_server(bare))
        }
        "axum" => {
            let webhook = axum::Router::new().merge(vwo_webhook_axum::router(receiver()));
            let bare = axum::Router::new().route(
                PATH,
                axum::routing::post(|_body: Bytes| async {
                    ([("content-type", "application/json")], BARE_ANSWER)
                }),
            );
            (
                tokio_server(move |l| async move {
                    let _ = axum::serve(l, webhook).await;
                }),
                tokio_server(move |l| async move {
                    let _ = axum::serve(l, bare).await;
                }),
            )
        }
        "actix-web" => (
            actix(|config| {
                config.service(vwo_webhook_actix::service(receiver()));
            }),
            actix(|config| {
                config.route(
                    PATH,
                    actix_web::web::post().to(|_body: actix_web::web::Bytes| async {
                        actix_web::HttpResponse::Ok()
                            .content_type("application/json")
                            .body(BARE_ANSWER)
                    }),
                );
            }),
        ),
        "rocket" => (
            rocket_server(|rocket| rocket.attach(vwo_webhook_rocket::fairing(receiver()))),
            rocket_server(|rocket| rocket.mount("/", rocket::routes![bare_rocket])),
        ),
        other => panic!("unknown framework {other}"),
    }
}

fn actix(mount: fn(&mut actix_web::web::ServiceConfig)) -> Server {
    Server::spawn_thread(move |ready| {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        actix_web::rt::System::new().block_on(async move {
            let server = actix_web::HttpServer::new(move || actix_web::App::new().configure(mount))
                .workers(1)
                .disable_signals()
                .shutdown_timeout(0)
                .listen(listener)
                .expect("listen")
                .run();
            let handle = server.handle();
            ready.report(addr, move || drop(handle.stop(false)));
            let _ = server.await;
        });
    })
}

#[rocket::post("/vwo-webhook", data = "<body>")]
async fn bare_rocket(body: Vec<u8>) -> (rocket::http::ContentType, &'static str) {
    let _ = body;
    (rocket::http::ContentType::JSON, BARE_ANSWER)
}

fn rocket_server<F>(build: F) -> Server
where
    F: FnOnce(rocket::Rocket<rocket::Build>) -> rocket::Rocket<rocket::Build> + Send + 'static,
{
    Server::spawn_thread(move |ready| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let config = rocket::Config {
                address: std::net::Ipv4Addr::LOCALHOST.into(),
                port: 0,
                workers: 1,
                log_level: rocket::config::LogLevel::Off,
                cli_colors: false,
                ..rocket::Config::release_default()
            };
            let ignited = build(rocket::custom(config))
                .attach(rocket::fairing::AdHoc::on_liftoff("port", move |rocket| {
                    Box::pin(async move {
                        let addr = SocketAddr::new(rocket.config().address, rocket.config().port);
                        let shutdown = rocket.shutdown();
                        ready.report(addr, move || shutdown.notify());
                    })
                }))
                .ignite()
                .await
                .expect("ignite");
            let _ = ignited.launch().await;
        });
    })
}

/// One request kind: (name, key, body, expected status from the webhook).
const KINDS: [(&str, &str, &str, u16); 3] = [
    ("accepted", SECRET, DOCUMENTED, 200),
    ("refused: wrong key", "not-the-secret", DOCUMENTED, 401),
    ("refused: malformed body", SECRET, "{\"timestamp\": ", 400),
];

/// Drives `addr` with `CONNECTIONS` kept-alive connections for `window`: (requests per
/// second, sorted latencies).
async fn drive(
    addr: SocketAddr,
    key: &'static str,
    body: &'static str,
    expected: u16,
    window: Duration,
) -> (f64, Vec<Duration>) {
    let deadline = Instant::now() + window;
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        tasks.push(tokio::task::spawn_local(async move {
            let stream = tokio::net::TcpStream::connect(addr)
                .await
                .unwrap_or_else(|e| panic!("connect {addr}: {e}"));
            let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .expect("handshake");
            tokio::task::spawn_local(connection);
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let request = http::Request::post(PATH)
                    .header("host", "127.0.0.1")
                    .header("content-type", "application/json")
                    .header("x-vwo-auth", key)
                    .body(Full::new(Bytes::from_static(body.as_bytes())))
                    .expect("request");
                let sent = Instant::now();
                let Ok(response) = sender.send_request(request).await else {
                    break;
                };
                let status = response.status().as_u16();
                let _ = response.into_body().collect().await;
                latencies.push(sent.elapsed());
                assert!(
                    status == expected || status == 200,
                    "got {status}, expected {expected}"
                );
                if sender.ready().await.is_err() {
                    break;
                }
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("connection task"));
    }
    latencies.sort();
    (latencies.len() as f64 / window.as_secs_f64(), latencies)
}

/// A percentile in microseconds, as the table prints it.
fn micros(sorted: &[Duration], p: f64) -> f64 {
    percentile(sorted, p).as_secs_f64() * 1e6
}

fn main() {
    let window = window();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    println!(
        "| framework | request | bare req/s | webhook req/s | ratio | bare p50/p99 µs | webhook p50/p99 µs |"
    );
    println!("|---|---|---|---|---|---|---|");
    // `BENCH_ONLY=axum` or `BENCH_ONLY=accepted` narrows the run (for a profile).
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    for framework in ["tower/hyper", "axum", "actix-web", "rocket"] {
        if !only.is_empty() && !framework.contains(&only) && !KINDS.iter().any(|k| k.0.contains(&only)) {
            continue;
        }
        let (webhook, bare) = servers(framework);
        for (kind, key, body, expected) in KINDS {
            if !only.is_empty() && !framework.contains(&only) && !kind.contains(&only) {
                continue;
            }
            let (mut bare_rate, mut hook_rate) = (0.0, 0.0);
            let (mut bare_lat, mut hook_lat) = (Vec::new(), Vec::new());
            for _ in 0..ROUNDS {
                let local = tokio::task::LocalSet::new();
                let (rate, lat) = local.block_on(&runtime, drive(bare.addr(), key, body, 200, window));
                bare_rate += rate / ROUNDS as f64;
                bare_lat.extend(lat);
                let local = tokio::task::LocalSet::new();
                let (rate, lat) =
                    local.block_on(&runtime, drive(webhook.addr(), key, body, expected, window));
                hook_rate += rate / ROUNDS as f64;
                hook_lat.extend(lat);
            }
            bare_lat.sort();
            hook_lat.sort();
            println!(
                "| {framework} | {kind} | {bare_rate:.0} | {hook_rate:.0} | {:.2} | {:.0}/{:.0} | {:.0}/{:.0} |",
                hook_rate / bare_rate,
                micros(&bare_lat, 0.5),
                micros(&bare_lat, 0.99),
                micros(&hook_lat, 0.5),
                micros(&hook_lat, 0.99),
            );
        }
    }
}
