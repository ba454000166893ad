//! The catalog: one function per case, generic over the adapter's [`Harness`], one file per
//! group of the catalog (`cases/auth.rs`, `method.rs`, `body.rs`, `refresh.rs`, `edge.rs`,
//! `shape.rs`); this file holds what they share.
//!
//! Each case builds its own receiver and server, speaks HTTP over loopback, and panics with a
//! message naming what broke.

use std::future::Future;
use std::time::Duration;

use vwo_webhook::{
    AckPolicy, Action, DEFAULT_BODY_LIMIT, DEFAULT_PATH, Event, HmacSha256, Keyring, Receiver,
    ReceiverBuilder, RetryPolicy, Secret, StandardWebhooks, Trigger,
};

use crate::backend::TestBackend;
use crate::blackbox::{self, Target};
use crate::client::{Request, Response};
use crate::expect::{expect_json_shape, expect_no_key, expect_status};
pub use crate::fixtures::{DOCUMENTED, SECRET};
use crate::fixtures::{SENT_PREFIX, SIGNING_KEY, WHSEC};
use crate::harness::{HEALTH_BODY, HEALTH_PATH, Harness, Server};
use crate::runtime::block_on;

fn keyring(secrets: &[&str]) -> Keyring {
    Keyring::new(secrets.iter().map(|s| Secret::new(*s).expect("non-empty secret"))).expect("keyring")
}

/// A receiver secured with [`SECRET`] running `backend`, configured further by `configure`:
/// the suite's receiver, also for adapters' own mounting tests.
pub fn secured_receiver(
    backend: &TestBackend,
    configure: impl FnOnce(ReceiverBuilder) -> ReceiverBuilder,
) -> Receiver {
    receiver_with(backend, RetryPolicy::default(), configure)
}

fn receiver_with(
    backend: &TestBackend,
    retry: RetryPolicy,
    configure: impl FnOnce(ReceiverBuilder) -> ReceiverBuilder,
) -> Receiver {
    let builder = Receiver::builder(backend.clone())
        .retry_policy(retry)
        .keyring(keyring(&[SECRET]));
    configure(builder).build().expect("receiver")
}

/// Waits until `n` deliveries have reached `coordinator` and wait for its next attempt, looking
/// every 5 ms; panics after 10 s. What a case watches instead of hoping a burst lands in time.
async fn wait_queued(coordinator: &vwo_webhook::Coordinator, n: u64) {
    let wait = async {
        while coordinator.queued() < n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    if tokio::time::timeout(Duration::from_secs(10), wait).await.is_err() {
        panic!(
            "waited 10 s for {n} queued deliveries, saw {}",
            coordinator.queued()
        );
    }
}

/// Serves a receiver secured with [`SECRET`] and otherwise default, running `backend`.
fn secured<H: Harness>(backend: &TestBackend) -> Server {
    H::serve(secured_receiver(backend, |b| b))
}

/// Runs the black-box `check` against a receiver secured with [`SECRET`] running `backend`.
fn from_outside<H: Harness, Fut: Future<Output = ()>>(
    backend: &TestBackend,
    check: impl FnOnce(Target) -> Fut,
) {
    let server = secured::<H>(backend);
    block_on(check(Target::local(&server)));
}

/// Runs the black-box `check`, whose requests must all be refused, and checks that none of
/// them reached the backend.
fn refused_without_refresh<H: Harness, Fut: Future<Output = ()>>(check: impl FnOnce(Target) -> Fut) {
    let backend = TestBackend::counting();
    from_outside::<H, _>(&backend, check);
    assert_eq!(backend.started(), 0, "no refresh for a refused delivery");
}

/// Delivers `body` with `secret` (if any) and checks the status.
async fn expect_delivery(
    server: &Server,
    secret: Option<&str>,
    body: &str,
    status: u16,
    what: &str,
) -> Response {
    let response = send(server, &delivery(secret, body)).await;
    expect_status(&response, status, what);
    response
}

fn delivery(secret: Option<&str>, body: &str) -> Request {
    blackbox::delivery_to(DEFAULT_PATH, secret, body)
}

async fn send(server: &Server, request: &Request) -> Response {
    blackbox::send_to(server.addr(), request).await
}

mod auth;
mod body;
mod edge;
mod hostile;
mod method;
mod refresh;
mod shape;

pub use auth::*;
pub use body::*;
pub use edge::*;
pub use hostile::*;
pub use method::*;
pub use refresh::*;
pub use shape::*;
