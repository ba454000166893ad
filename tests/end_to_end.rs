//! The examples' environment contract, served through the axum adapter over real HTTP: what a
//! person gets from `VWO_WEBHOOK_SECRET=s3cret cargo run --example axum`.

use std::collections::HashMap;

use axum::Router;
use vwo_webhook_conformance::Server;
use vwo_webhook_conformance::blackbox::{CHECKS, Target};
use vwo_webhook_conformance::client::{Request, Response};
use vwo_webhook_examples::{ConfigError, DOCUMENTED_PAYLOAD, Example};

fn example(vars: &[(&str, &str)]) -> Result<Example, ConfigError> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Example::from_lookup(|name| vars.get(name).cloned())
}

fn serve(example: &Example) -> Server {
    let receiver = example.receiver().expect("receiver");
    let app: Router = vwo_webhook_axum::router(receiver);
    Server::spawn_tokio(move |listener| async move {
        let _ = axum::serve(listener, app).await;
    })
}

fn send(server: &Server, request: Request) -> Response {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(request.send(server.addr()))
        .expect("response")
}

fn deliver(server: &Server, key: Option<&str>) -> u16 {
    let mut request = Request::post("/vwo-webhook", DOCUMENTED_PAYLOAD);
    if let Some(key) = key {
        request = request.header("x-vwo-auth", key);
    }
    send(server, request).status
}

#[test]
fn configured_secret_is_the_only_key_accepted() {
    let example = example(&[("VWO_WEBHOOK_SECRET", "s3cret")]).expect("config");
    assert_eq!(example.addr.to_string(), "127.0.0.1:4000");
    let server = serve(&example);
    assert_eq!(deliver(&server, Some("s3cret")), 200);
    assert_eq!(deliver(&server, Some("wrong")), 401);
    assert_eq!(deliver(&server, None), 401);
    assert_eq!(send(&server, Request::new("GET", "/vwo-webhook")).status, 405);
    let huge = Request::post("/vwo-webhook", vec![b'x'; 1 << 20]).header("x-vwo-auth", "s3cret");
    assert_eq!(send(&server, huge).status, 413);
}

#[test]
fn comma_separated_secrets_are_all_accepted() {
    let example = example(&[
        ("VWO_WEBHOOK_SECRET", "old, new"),
        ("VWO_WEBHOOK_ADDR", "127.0.0.1:0"),
    ])
    .expect("config");
    let server = serve(&example);
    assert_eq!(deliver(&server, Some("old")), 200);
    assert_eq!(deliver(&server, Some("new")), 200);
    assert_eq!(deliver(&server, Some("old, new")), 401);
}

#[test]
fn without_a_secret_a_random_one_is_generated_and_enforced() {
    let first = example(&[]).expect("config");
    let second = example(&[]).expect("config");
    assert_eq!(first.keyring.len(), 1);
    let server = serve(&first);
    assert_eq!(
        deliver(&server, None),
        401,
        "a generated secret still fails closed"
    );
    assert_eq!(deliver(&server, Some("")), 401);
    // Two runs never share a generated secret.
    second.keyring.with_secrets(|secrets| {
        let other = std::str::from_utf8(secrets[0].expose()).expect("hex");
        assert_eq!(other.len(), 48);
        assert_eq!(deliver(&server, Some(other)), 401);
    });
    first.keyring.with_secrets(|secrets| {
        let own = std::str::from_utf8(secrets[0].expose()).expect("hex").to_owned();
        assert_eq!(deliver(&server, Some(&own)), 200);
    });
}

#[test]
fn bad_environment_is_a_clear_error() {
    let addr = example(&[("VWO_WEBHOOK_ADDR", "localhost")]).expect_err("not host:port");
    assert!(addr.to_string().contains("VWO_WEBHOOK_ADDR"));
    let secret = example(&[("VWO_WEBHOOK_SECRET", " , ")]).expect_err("no secret");
    assert!(secret.to_string().contains("VWO_WEBHOOK_SECRET"));
}

#[test]
fn the_black_box_checks_pass_with_the_examples_short_secret() {
    // What `cargo xtask conformance --url .. --secret s3cret` runs against a running example.
    let example = example(&[
        ("VWO_WEBHOOK_SECRET", "s3cret"),
        ("VWO_WEBHOOK_ADDR", "127.0.0.1:0"),
    ])
    .expect("config");
    let server = serve(&example);
    let target = Target::new(
        server.addr(),
        "localhost",
        "/vwo-webhook",
        "s3cret",
        vwo_webhook::DEFAULT_BODY_LIMIT,
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for (name, check) in CHECKS {
        tracing::info!(name, "black-box check");
        runtime.block_on(check(target.clone()));
    }
}
