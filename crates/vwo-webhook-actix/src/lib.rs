//! VWO webhooks in actix-web: mount a receiver with one `App::service` call, or take a
//! verified delivery in a handler of your own.
//!
//! ```no_run
//! use actix_web::{App, HttpServer, web};
//! use vwo_webhook_actix::{Keyring, Receiver, RefreshError, Trigger};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let receiver = Receiver::builder(|_: Trigger| async { Ok::<(), RefreshError>(()) })
//!     .keyring(Keyring::from_comma_separated("s3cret")?)
//!     .build()?;
//! HttpServer::new(move || {
//!     App::new()
//!         .route("/", web::get().to(|| async { "hello" }))
//!         .service(vwo_webhook_actix::service(receiver.clone())) // POST /vwo-webhook
//! })
//! .bind("127.0.0.1:4000")?
//! .run()
//! .await?;
//! # Ok(()) }
//! ```
//!
//! The body is read straight from the payload stream with the receiver's own limit (default
//! 64 KiB), whatever the app's `PayloadConfig` says: a declared `Content-Length` over it is
//! refused before reading, a chunked body as soon as it crosses it (413 in both cases). Nothing
//! here asks actix's `!Send` payload to be `Send`.
#![forbid(unsafe_code)]

/// The core crate, re-exported: this adapter is the only dependency a service needs, and the
/// two versions cannot drift apart.
pub use vwo_webhook;
pub use vwo_webhook::prelude::*;

use std::cell::Cell;
use std::time::Duration;

use actix_web::dev::{AppService, HttpServiceFactory, Payload};
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::web;
use actix_web::{FromRequest, HttpRequest, HttpResponse, Responder, ResponseError};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use vwo_webhook::adapter::BodyBuffer;
use vwo_webhook::{BodyError, HeaderLookup};

/// Mounts `receiver` at its path (default `/vwo-webhook`, relative to an enclosing `scope`),
/// answering every method (non-POST gets the core's 405). Give it to `App::service`.
pub fn service(receiver: Receiver) -> WebhookService {
    WebhookService { receiver }
}

/// The receiver as an actix `HttpServiceFactory`; see [`service`].
#[derive(Debug, Clone)]
pub struct WebhookService {
    receiver: Receiver,
}

impl HttpServiceFactory for WebhookService {
    fn register(self, config: &mut AppService) {
        let receiver = self.receiver;
        let path = receiver.path().to_owned();
        let handler = move |request: HttpRequest, payload: web::Payload| {
            let receiver = receiver.clone();
            async move {
                let slot = PayloadSlot::new(payload.into_inner());
                let response = receiver
                    .handle(
                        request.method().as_str(),
                        &ActixHeaders(request.headers()),
                        |limit| slot.read(limit),
                    )
                    .await;
                slot.release(&request, &receiver).await;
                WebhookResponse(response)
            }
        };
        web::resource(path)
            .route(web::route().to(handler))
            .register(config);
    }
}

/// Mounts the probes (ready, live, status; see [`Probes`]) at their paths, for every method
/// (non-GET gets the core's 405). Give it to `App::service` beside [`service`].
pub fn probes(probes: Probes) -> ProbesService {
    ProbesService { probes }
}

/// The probes as an actix `HttpServiceFactory`; see [`probes`].
#[derive(Debug, Clone)]
pub struct ProbesService {
    probes: Probes,
}

impl HttpServiceFactory for ProbesService {
    fn register(self, config: &mut AppService) {
        for path in self.probes.paths() {
            let (probes, owned) = (self.probes.clone(), path.to_owned());
            let handler = move |request: HttpRequest| {
                let answer = probes.answer(request.method().as_str(), &owned);
                async move {
                    match answer {
                        Some(answer) => WebhookResponse(answer).to_http(),
                        None => HttpResponse::NotFound().finish(),
                    }
                }
            };
            web::resource(path)
                .route(web::route().to(handler))
                .register(config);
        }
    }
}

/// actix's `HeaderMap` seen through the core's [`HeaderLookup`].
#[derive(Debug, Clone, Copy)]
struct ActixHeaders<'a>(&'a HeaderMap);

impl HeaderLookup for ActixHeaders<'_> {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.0.get(name).map(|value| value.as_bytes())
    }

    fn is_repeated(&self, name: &str) -> bool {
        self.0.get_all(name).nth(1).is_some()
    }
}

/// The request's payload, read by the core if its checks get that far.
///
/// actix-http decides whether to keep a connection when it sends the response: a body left
/// unread keeps it open while actix drains the rest (chunked) or closes it (`Content-Length`),
/// and a body that never ends would hold it open without limit. So after the answer is
/// decided, a small body already on its way is read out (the connection then serves the next
/// request: a forged flood costs no reconnects), and one that is not finished within
/// [`DRAIN_WINDOW`] is kept alive past the response, which makes actix close the connection
/// after it, as the other adapters do.
struct PayloadSlot(Cell<Option<Payload>>);

/// How long a refusal waits for the rest of a small body before closing the connection instead.
const DRAIN_WINDOW: Duration = Duration::from_millis(100);

impl PayloadSlot {
    fn new(payload: Payload) -> Self {
        Self(Cell::new(Some(payload)))
    }

    async fn read(&self, limit: usize) -> Result<Vec<u8>, BodyError> {
        let mut lent = Lent {
            slot: self,
            payload: self.0.take(),
        };
        let Some(payload) = lent.payload.as_mut() else {
            return Err(BodyError::Unreadable("the body was already read".to_owned()));
        };
        let body = read_body(payload, limit).await;
        if body.is_ok() {
            lent.payload = None; // read to its end
        }
        body
    }

    /// Reads out a small unread body, or holds an unfinished one past the response.
    async fn release(&self, request: &HttpRequest, receiver: &Receiver) {
        let Some(mut payload) = self.0.take() else {
            return;
        };
        if !vwo_webhook::adapter::declares_oversized_body(receiver, &ActixHeaders(request.headers())) {
            let limit = receiver.body_limit();
            let mut drained = std::pin::pin!(drain(&mut payload, limit));
            // A small body usually came in the same read as its head: once actix has decoded
            // the rest of that read (one yield), it is all here, and no timer is needed.
            let mut ended = now(drained.as_mut()).await;
            if ended.is_none() {
                tokio::task::yield_now().await;
                ended = now(drained.as_mut()).await;
            }
            let ended = match ended {
                Some(ended) => ended,
                None => {
                    let window = DRAIN_WINDOW.min(receiver.body_timeout());
                    tokio::time::timeout(window, drained).await.unwrap_or(false)
                }
            };
            if ended {
                return;
            }
        }
        // Alive when actix sends the response, so it closes the connection after it; the
        // connection's end then ends the payload, and this task.
        let patience = receiver.body_timeout();
        actix_web::rt::spawn(async move {
            let _ = tokio::time::timeout(patience, drain(&mut payload, usize::MAX)).await;
        });
    }
}

/// The payload lent to one read: given back to its slot if the read is dropped unfinished (the
/// core's body timeout), so that [`PayloadSlot::release`] still holds it.
struct Lent<'a> {
    slot: &'a PayloadSlot,
    payload: Option<Payload>,
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        if let Some(payload) = self.payload.take() {
            self.slot.0.set(Some(payload));
        }
    }
}

/// Polls `future` once: its output if it is ready.
async fn now<F: Future>(mut future: std::pin::Pin<&mut F>) -> Option<F::Output> {
    std::future::poll_fn(|cx| match future.as_mut().poll(cx) {
        std::task::Poll::Ready(output) => std::task::Poll::Ready(Some(output)),
        std::task::Poll::Pending => std::task::Poll::Ready(None),
    })
    .await
}

/// Reads and discards the payload; whether it ended within `limit` bytes.
async fn drain(payload: &mut Payload, limit: usize) -> bool {
    let mut seen = 0usize;
    while let Some(chunk) = payload.next().await {
        let Ok(chunk) = chunk else {
            return false;
        };
        seen = seen.saturating_add(chunk.len());
        if seen > limit {
            return false;
        }
    }
    true
}

/// Reads the payload stream into memory, refusing it as soon as it exceeds `limit` bytes.
async fn read_body(payload: &mut Payload, limit: usize) -> Result<Vec<u8>, BodyError> {
    let mut body = BodyBuffer::new(limit);
    while let Some(chunk) = payload.next().await {
        body.push(&chunk.map_err(|error| BodyError::Unreadable(error.to_string()))?)?;
    }
    Ok(body.into_bytes())
}

vwo_webhook::delivery_extractor! {
    /// An authenticated, parsed delivery, for handlers of your own.
    ///
    /// Extracting it checks method, credentials, body limit and payload, rejecting with
    /// [`WebhookRejection`]: the same answers as [`service`]. It finds the [`Receiver`] in the app data, registered either as is
    /// or as `web::Data<Receiver>`. Finish with [`Webhook::respond`], which runs the coordinated
    /// refresh:
    ///
    /// ```no_run
    /// use actix_web::{App, web};
    /// use vwo_webhook_actix::{Webhook, WebhookResponse};
    /// # fn app(receiver: vwo_webhook::Receiver) {
    /// async fn hook(webhook: Webhook) -> WebhookResponse {
    ///     tracing::info!(action = ?webhook.payload().action, "settings changed in VWO");
    ///     webhook.respond().await
    /// }
    /// App::new().app_data(receiver).route("/hooks/vwo", web::post().to(hook));
    /// # }
    /// ```
    pub struct Webhook => WebhookResponse;
}

impl FromRequest for Webhook {
    type Error = WebhookRejection;
    type Future = LocalBoxFuture<'static, Result<Self, WebhookRejection>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let request = request.clone();
        let payload = payload.take();
        Box::pin(async move {
            let receiver = request
                .app_data::<Receiver>()
                .or_else(|| request.app_data::<web::Data<Receiver>>().map(|data| &***data))
                .ok_or_else(|| {
                    tracing::error!("the vwo-webhook extractor found no Receiver in the app data");
                    WebhookRejection(vwo_webhook::adapter::not_configured())
                })?;
            let slot = PayloadSlot::new(payload);
            let accepted = receiver
                .accept(
                    request.method().as_str(),
                    &ActixHeaders(request.headers()),
                    |limit| slot.read(limit),
                )
                .await;
            slot.release(&request, receiver).await;
            accepted.map(Webhook).map_err(WebhookRejection)
        })
    }
}

vwo_webhook::delivery_rejection! {
    /// Why the extractor refused a delivery: the core's answer (401, 405, 413, 400, ...),
    /// answered as is (`ResponseError`).
    pub struct WebhookRejection;
}

impl ResponseError for WebhookRejection {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        WebhookResponse(self.0.clone()).to_http()
    }
}

/// The core's answer as an actix response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookResponse(pub Response);

impl WebhookResponse {
    fn to_http(&self) -> HttpResponse {
        let status = StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = HttpResponse::build(status);
        for &(name, value) in self.0.headers() {
            // actix owns the connection header: closing is asked for its own way.
            if name == "connection" && value == "close" {
                response.force_close();
            } else {
                // The core's headers are static and valid: no parsing per response.
                response.insert_header((HeaderName::from_static(name), HeaderValue::from_static(value)));
            }
        }
        match vwo_webhook::adapter::static_body(&self.0) {
            Some(body) => response.body(body),
            None => response.body(self.0.body().to_owned()),
        }
    }
}

impl Responder for WebhookResponse {
    type Body = actix_web::body::BoxBody;

    fn respond_to(self, _request: &HttpRequest) -> HttpResponse {
        self.to_http()
    }
}

/// The README's examples, compiled as doctests so the registry page cannot drift from the code.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
