//! VWO webhooks in axum: mount a receiver on a `Router` with one call, or take a verified
//! delivery in a handler of your own.
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use vwo_webhook_axum::{Keyring, Receiver, RefreshError, Trigger};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let receiver = Receiver::builder(|_: Trigger| async { Ok::<(), RefreshError>(()) })
//!     .keyring(Keyring::from_comma_separated("s3cret")?)
//!     .build()?;
//! let app = Router::new()
//!     .route("/", get(|| async { "hello" }))
//!     .merge(vwo_webhook_axum::router(receiver)); // POST /vwo-webhook
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:4000").await?;
//! vwo_webhook_axum::serve(listener, app).await?; // closes idle and trickling connections
//! # Ok(()) }
//! ```
//!
//! The body limit is the receiver's own (default 64 KiB), applied whatever the router's
//! `DefaultBodyLimit` says, and answered with the same JSON 413 as every adapter.
#![forbid(unsafe_code)]

/// The core crate, re-exported: this adapter is the only dependency a service needs, and the
/// two versions cannot drift apart.
pub use vwo_webhook;
pub use vwo_webhook::prelude::*;

mod serve;

pub use serve::{DEFAULT_HEADER_TIMEOUT, Serve, serve};

use axum::Router;
use axum::extract::{FromRef, FromRequest, Request};
use axum::response::IntoResponse;
use vwo_webhook_tower::{HttpHeaders, WebhookService, into_http_response, read_body};

/// A router answering VWO webhooks at the receiver's path (default `/vwo-webhook`), for any
/// method (non-POST gets the core's 405). Merge it into your application's router.
pub fn router<S>(receiver: Receiver) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let path = receiver.path().to_owned();
    Router::new().route_service(&path, WebhookService::new(receiver))
}

/// A router answering the probes (ready, live, status; see [`Probes`]) at their paths, for
/// every method (non-GET gets the core's 405). Merge it beside [`router`]:
/// `Router::new().merge(router(receiver)).merge(probes(Probes::shared(store)))`.
pub fn probes<S>(probes: Probes) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let mut router = Router::new();
    for path in probes.paths() {
        let (probes, path_owned) = (probes.clone(), path.to_owned());
        router = router.route(
            path,
            axum::routing::any(move |method: axum::http::Method| async move {
                match probes.answer(method.as_str(), &path_owned) {
                    Some(answer) => WebhookResponse(answer).into_response(),
                    None => axum::http::StatusCode::NOT_FOUND.into_response(),
                }
            }),
        );
    }
    router
}

vwo_webhook::delivery_extractor! {
    /// An authenticated, parsed delivery, for handlers of your own.
    ///
    /// Extracting it checks method, credentials, body limit and payload, rejecting with
    /// [`WebhookRejection`]: the same answers as [`router`]. Needs a [`Receiver`] reachable from the router state (`FromRef`).
    /// Finish with [`Webhook::respond`], which runs the coordinated refresh:
    ///
    /// ```no_run
    /// use axum::{Router, routing::post};
    /// use vwo_webhook_axum::{Webhook, WebhookResponse};
    /// # fn app(receiver: vwo_webhook::Receiver) -> Router {
    /// async fn hook(webhook: Webhook) -> WebhookResponse {
    ///     tracing::info!(action = ?webhook.payload().action, "settings changed in VWO");
    ///     webhook.respond().await
    /// }
    /// Router::new().route("/hooks/vwo", post(hook)).with_state(receiver)
    /// # }
    /// ```
    pub struct Webhook => WebhookResponse;
}

impl<S> FromRequest<S> for Webhook
where
    S: Send + Sync,
    Receiver: FromRef<S>,
{
    type Rejection = WebhookRejection;

    async fn from_request(request: Request, state: &S) -> Result<Self, WebhookRejection> {
        let receiver = Receiver::from_ref(state);
        let (parts, body) = request.into_parts();
        receiver
            .accept(parts.method.as_str(), &HttpHeaders(&parts.headers), |limit| {
                read_body(body, limit)
            })
            .await
            .map(Webhook)
            .map_err(WebhookRejection)
    }
}

vwo_webhook::delivery_rejection! {
    /// Why the extractor refused a delivery: the core's answer (401, 405, 413, 400, ...), sent as
    /// is when returned from a handler.
    pub struct WebhookRejection;
}

impl IntoResponse for WebhookRejection {
    fn into_response(self) -> axum::response::Response {
        WebhookResponse(self.0).into_response()
    }
}

/// The core's answer, as an axum response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookResponse(pub Response);

impl IntoResponse for WebhookResponse {
    fn into_response(self) -> axum::response::Response {
        into_http_response(self.0).into_response()
    }
}

/// The README's examples, compiled as doctests so the registry page cannot drift from the code.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
