//! The relay's figures (`cargo xtask bench relay`, recorded in docs/benchmarks.md):
//!
//! 1. settings served per second to concurrent pollers, a 1 MB file, against a bare hyper
//!    server sending the same bytes (each server on one thread, the pollers on another);
//! 2. webhook -> the next decision changed in 10 SDK processes (5 Node 1.35, 5 Python 1.65, each
//!    a target whose handler calls `updateSettings()`), p50/p99 over 20 changes: the time from
//!    the webhook's POST until each process's handler answered (its next `getFlag` decides on
//!    the new file; checked after each change). Includes the relay's fetch from a local origin;
//!    skipped without node or python;
//! 3. events forwarded per second to a local collector.
//!
//! Without `--bench` (a test run) each part runs briefly.
#![allow(clippy::print_stdout, missing_docs)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use support::service::{Sdk, Service, installed};
use support::{ACCOUNT, FakeVwo, deliver_webhook, free_port, settings};
use vwo_webhook_relay::RelayConfig;

const SDK_KEY: &str = "bench-sdk-key";
const HOOK: &str = "bench-hook";
const POLLERS: usize = 16;

fn full_run() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// A valid settings file of at least `bytes`: the test settings' feature and campaign, copied
/// under new ids.
fn settings_of_size(bytes: usize) -> String {
    let mut document: Value = serde_json::from_str(&settings(1, 10)).expect("json");
    let (feature, campaign) = (document["features"][0].clone(), document["campaigns"][0].clone());
    let mut id = 1;
    while document.to_string().len() < bytes {
        id += 1;
        let mut f = feature.clone();
        f["id"] = id.into();
        f["key"] = format!("feature{id}").into();
        f["rules"][0]["campaignId"] = id.into();
        f["rules"][0]["ruleKey"] = format!("rolloutRule{id}").into();
        let mut c = campaign.clone();
        c["id"] = id.into();
        c["key"] = format!("feature{id}_rolloutRule{id}").into();
        c["name"] = c["key"].clone();
        document["features"].as_array_mut().expect("features").push(f);
        document["campaigns"].as_array_mut().expect("campaigns").push(c);
    }
    document.to_string()
}

/// Runs `serve` on a thread of its own with a one-thread runtime; its address.
fn on_own_thread<F, Fut>(serve: F) -> SocketAddr
where
    F: FnOnce(tokio::net::TcpListener) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
            tx.send(listener.local_addr().expect("addr")).expect("send");
            serve(listener).await;
        });
    });
    rx.recv().expect("address")
}

/// One kept-alive HTTP/1 connection to `addr`.
async fn connect<B>(addr: SocketAddr) -> hyper::client::conn::http1::SendRequest<B>
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(connection);
    sender
}

/// `POLLERS` kept-alive connections asking `path` for `window`: requests answered per second.
async fn poll_rate(addr: SocketAddr, path: &str, window: Duration) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + window;
    let mut tasks = Vec::new();
    for _ in 0..POLLERS {
        let (done, path) = (Arc::clone(&done), path.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut sender = connect::<Empty<Bytes>>(addr).await;
            while Instant::now() < deadline {
                let request = http::Request::get(path.as_str())
                    .header("host", "relay")
                    .body(Empty::<Bytes>::new())
                    .expect("request");
                let response = sender.send_request(request).await.expect("answer");
                assert_eq!(response.status(), 200);
                let body = response.into_body().collect().await.expect("body").to_bytes();
                assert!(body.len() > 1000);
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for task in tasks {
        task.await.expect("poller");
    }
    done.load(Ordering::Relaxed) as f64 / window.as_secs_f64()
}

async fn settings_throughput() {
    let document = settings_of_size(1_000_000);
    let vwo = FakeVwo::start().await;
    vwo.publish(SDK_KEY, document.clone());
    let config = relay_config(&vwo, "");
    let relay = support::ready_relay(config).await;
    let router = relay.public_router();
    let relay_addr = on_own_thread(move |listener| async move {
        let _ = vwo_webhook_axum::serve(listener, router).await;
    });
    let bytes = Bytes::from(document);
    let bare_addr = on_own_thread(move |listener| async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let bytes = bytes.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |_request| {
                    let bytes = bytes.clone();
                    async move {
                        Ok::<_, Infallible>(
                            http::Response::builder()
                                .header("content-type", "application/json")
                                .body(Full::new(bytes))
                                .expect("response"),
                        )
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    let path =
        format!("/server-side/v2-settings?i={SDK_KEY}&a={ACCOUNT}&r=0.5&sn=vwo-fme-node-sdk&api-version=1");
    let window = if full_run() {
        Duration::from_secs(3)
    } else {
        Duration::from_millis(300)
    };
    let rounds = if full_run() { 3 } else { 1 };
    let (mut bare, mut served) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        bare.push(poll_rate(bare_addr, &path, window).await);
        served.push(poll_rate(relay_addr, &path, window).await);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (bare, served) = (median(&mut bare), median(&mut served));
    println!(
        "settings served, 1.0 MB file, {POLLERS} pollers: relay {served:.0}/s, bare hyper {bare:.0}/s, ratio {:.2} (target >= 0.90)",
        served / bare
    );
}

fn relay_config(vwo: &FakeVwo, targets: &str) -> RelayConfig {
    RelayConfig::from_toml(&support::relay_toml(
        vwo,
        "event_queue_bytes = 268435456",
        &[support::environment_toml(
            vwo,
            "production",
            SDK_KEY,
            HOOK,
            targets,
        )],
    ))
    .expect("valid configuration")
}

async fn webhook_to_decision() {
    let (Some(node), Some(python)) = (installed(Sdk::Node), installed(Sdk::Python)) else {
        println!("webhook -> decision in 10 SDK processes: skipped (node or python3 missing)");
        return;
    };
    let vwo = FakeVwo::start().await;
    vwo.publish(SDK_KEY, settings(1, 0));
    let ports: Vec<SocketAddr> = (0..10).map(|_| free_port()).collect();
    let targets: String = ports
        .iter()
        .enumerate()
        .map(|(i, addr)| {
            format!("[[environment.target]]\nname = \"sdk{i}\"\nurl = \"http://{addr}/vwo-webhook\"\nkey = \"{HOOK}\"\n")
        })
        .collect();
    let (relay, public) = support::serve_relay(relay_config(&vwo, &targets)).await;
    let gateway = format!("http://{public}");
    let mut services = Vec::new();
    for (i, addr) in ports.iter().enumerate() {
        let (sdk, installed) = if i % 2 == 0 {
            (Sdk::Node, &node)
        } else {
            (Sdk::Python, &python)
        };
        services.push(Service::start(sdk, installed, &gateway, SDK_KEY, addr.port(), HOOK).await);
    }
    let changes = if full_run() { 20 } else { 2 };
    let mut latencies = Vec::new();
    for change in 1..=changes {
        vwo.publish(SDK_KEY, settings(change + 1, change as i64));
        let before: Vec<u64> = relay.status().environments[0]
            .targets
            .iter()
            .map(|t| t.delivered)
            .collect();
        let started = Instant::now();
        let answer = deliver_webhook(public, "production", HOOK).await;
        assert!(answer.is_success());
        let mut seen = vec![None; services.len()];
        while seen.iter().any(Option::is_none) {
            let status = relay.status();
            for (i, target) in status.environments[0].targets.iter().enumerate() {
                if seen[i].is_none() && target.delivered > before[i] {
                    seen[i] = Some(started.elapsed());
                }
            }
            assert!(started.elapsed() < Duration::from_secs(30), "targets not told");
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        latencies.extend(seen.into_iter().flatten());
        for service in &mut services {
            let flag = service.get_flag("u").await;
            assert_eq!(
                flag["int"].as_i64(),
                Some(change as i64),
                "the next decision changed"
            );
        }
    }
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    println!(
        "webhook -> next decision changed, 10 SDK processes (5 Node, 5 Python), {changes} changes: p50 {:.1?}, p99 {:.1?}, max {:.1?} (target p99 < 50 ms beyond the origin fetch)",
        at(0.5),
        at(0.99),
        at(1.0)
    );
}

async fn events_rate() {
    let received = Arc::new(AtomicU64::new(0));
    let counting = Arc::clone(&received);
    let collector = support::serve(axum::Router::new().route(
        "/events/t",
        axum::routing::post(move || {
            let counting = Arc::clone(&counting);
            async move {
                counting.fetch_add(1, Ordering::Relaxed);
                "{}"
            }
        }),
    ))
    .await;
    let vwo = FakeVwo::start().await;
    vwo.publish(SDK_KEY, settings(1, 10));
    let mut config = relay_config(&vwo, "");
    config.events_base_url = format!("http://{collector}");
    let relay = support::ready_relay(config).await;
    let router = relay.public_router();
    let relay_addr = on_own_thread(move |listener| async move {
        let _ = vwo_webhook_axum::serve(listener, router).await;
    });
    let total: u64 = if full_run() { 20_000 } else { 1_000 };
    let per_sender = total / POLLERS as u64;
    let body = Bytes::from_static(br#"{"d":{"msgId":"m","visId":"v","event":{"name":"vwo_variationShown","props":{"id":1,"variation":1}}}}"#);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..POLLERS {
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            let mut sender = connect::<Full<Bytes>>(relay_addr).await;
            for _ in 0..per_sender {
                let request = http::Request::post(format!(
                    "/events/t?en=vwo_variationShown&a={ACCOUNT}&env={SDK_KEY}&random=0.5"
                ))
                .header("host", "relay")
                .header("content-type", "application/json")
                .body(Full::new(body.clone()))
                .expect("request");
                let response = sender.send_request(request).await.expect("answer");
                assert_eq!(response.status(), 200);
                let _ = response.into_body().collect().await;
            }
        }));
    }
    for task in tasks {
        task.await.expect("sender");
    }
    let accepted = started.elapsed();
    let expected = per_sender * POLLERS as u64;
    while received.load(Ordering::Relaxed) < expected {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "events not forwarded"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let forwarded = started.elapsed();
    println!(
        "events: {expected} requests accepted in {accepted:.2?} ({:.0}/s), all forwarded to the collector in {forwarded:.2?} ({:.0}/s)",
        expected as f64 / accepted.as_secs_f64(),
        expected as f64 / forwarded.as_secs_f64()
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        settings_throughput().await;
        webhook_to_decision().await;
        events_rate().await;
    });
}
