//! VWO webhooks as a tower `Service`, for hyper and any tower-based stack.
//!
//! - [`WebhookService`] answers every request it gets as a webhook delivery: give it to a
//!   router (axum's `route_service`) or serve it on hyper directly.
//! - [`WebhookLayer`] wraps your service: requests for the receiver's path go to the webhook,
//!   everything else reaches your service untouched.
//!
//! The body is read with a hard limit: a declared `Content-Length` over it is refused before
//! reading, and a chunked body is refused as soon as it crosses it (413 in both cases).
//!
//! ```no_run
//! use hyper::server::conn::http1::Builder;
//! use hyper_util::rt::TokioIo;
//! use hyper_util::service::TowerToHyperService;
//! use vwo_webhook_tower::{Keyring, Receiver, RefreshError, Trigger};
//! use vwo_webhook_tower::WebhookService;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let receiver = Receiver::builder(|_: Trigger| async { Ok::<(), RefreshError>(()) })
//!     .keyring(Keyring::from_comma_separated("s3cret")?)
//!     .build()?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:4000").await?;
//! loop {
//!     let (stream, _) = listener.accept().await?;
//!     let service = TowerToHyperService::new(WebhookService::new(receiver.clone()));
//!     tokio::spawn(async move {
//!         let _ = Builder::new().serve_connection(TokioIo::new(stream), service).await;
//!     });
//! }
//! # }
//! ```
#![forbid(unsafe_code)]

/// The core crate, re-exported: this adapter is the only dependency a service needs, and the
/// two versions cannot drift apart.
pub use vwo_webhook;
pub use vwo_webhook::prelude::*;

use std::convert::Infallible;
use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, Either, Full, LengthLimitError, Limited};
use tower_layer::Layer;
use tower_service::Service;
use vwo_webhook::{BodyError, HeaderLookup};

type BoxError = Box<dyn StdError + Send + Sync>;
type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;
/// A layer's answer: its own (left) or the wrapped service's (right).
type LayeredResponse<ResBody> = http::Response<Either<Full<Bytes>, ResBody>>;

/// An http 1 `HeaderMap` seen through the core's [`HeaderLookup`].
#[derive(Debug, Clone, Copy)]
pub struct HttpHeaders<'a>(pub &'a HeaderMap);

impl HeaderLookup for HttpHeaders<'_> {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.0.get(name).map(HeaderValue::as_bytes)
    }

    fn is_repeated(&self, name: &str) -> bool {
        self.0.get_all(name).iter().nth(1).is_some()
    }
}

/// Reads `body` into memory, refusing it as soon as it exceeds `limit` bytes.
pub async fn read_body<B>(body: B, limit: usize) -> Result<Bytes, BodyError>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<LengthLimitError>() => Err(BodyError::TooLarge),
        Err(error) => Err(BodyError::Unreadable(error.to_string())),
    }
}

/// Turns the core's answer into an http 1 response.
pub fn into_http_response(response: Response) -> http::Response<Full<Bytes>> {
    let body = match vwo_webhook::adapter::static_body(&response) {
        Some(body) => Bytes::from_static(body.as_bytes()),
        None => Bytes::from(response.body().to_owned()),
    };
    let mut http = http::Response::new(Full::new(body));
    *http.status_mut() = StatusCode::from_u16(response.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in response.headers() {
        http.headers_mut().insert(*name, HeaderValue::from_static(value));
    }
    http
}

/// Handles one request as a webhook delivery.
pub async fn handle<B>(receiver: &Receiver, request: Request<B>) -> http::Response<Full<Bytes>>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    let (parts, body) = request.into_parts();
    let response = receiver
        .handle(parts.method.as_str(), &HttpHeaders(&parts.headers), |limit| {
            read_body(body, limit)
        })
        .await;
    into_http_response(response)
}

/// A `Service` that answers every request as a VWO webhook delivery, whatever its path.
#[derive(Debug, Clone)]
pub struct WebhookService {
    receiver: Receiver,
}

impl WebhookService {
    /// Serves `receiver`.
    pub fn new(receiver: Receiver) -> Self {
        Self { receiver }
    }
}

impl<B> Service<Request<B>> for WebhookService
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = http::Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    /// Always ready: backpressure happens in the coordinator, which coalesces deliveries.
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let receiver = self.receiver.clone();
        Box::pin(async move { Ok(handle(&receiver, request).await) })
    }
}

/// Mounts a receiver at its path (default `/vwo-webhook`) in front of another service.
#[derive(Debug, Clone)]
pub struct WebhookLayer {
    receiver: Receiver,
}

impl WebhookLayer {
    /// Routes requests for `receiver.path()` to the receiver.
    pub fn new(receiver: Receiver) -> Self {
        Self { receiver }
    }
}

impl<S> Layer<S> for WebhookLayer {
    type Service = Webhook<S>;

    fn layer(&self, inner: S) -> Webhook<S> {
        Webhook {
            inner,
            receiver: self.receiver.clone(),
        }
    }
}

/// The service [`WebhookLayer`] produces.
#[derive(Debug, Clone)]
pub struct Webhook<S> {
    inner: S,
    receiver: Receiver,
}

impl<S, B, ResBody> Service<Request<B>> for Webhook<S>
where
    S: Service<Request<B>, Response = http::Response<ResBody>>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = LayeredResponse<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        if request.uri().path() == self.receiver.path() {
            // The inner service's readiness stays reserved for the next call.
            let receiver = self.receiver.clone();
            return ResponseFuture::webhook(Box::pin(async move { handle(&receiver, request).await }));
        }
        // The instance that was polled ready is the one called: no clone, no box.
        ResponseFuture::inner(self.inner.call(request))
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`Webhook`] and [`ServeProbes`]: the layer's own answer, or
    /// the wrapped service's future as it is (the application pays nothing for the layer on
    /// its own routes).
    pub struct ResponseFuture<F> {
        #[pin]
        kind: Kind<F>,
    }
}

pin_project_lite::pin_project! {
    #[project = KindProj]
    enum Kind<F> {
        Webhook { future: BoxFuture<http::Response<Full<Bytes>>> },
        Answered { #[pin] response: std::future::Ready<http::Response<Full<Bytes>>> },
        Inner { #[pin] future: F },
    }
}

impl<F> ResponseFuture<F> {
    fn webhook(future: BoxFuture<http::Response<Full<Bytes>>>) -> Self {
        Self {
            kind: Kind::Webhook { future },
        }
    }

    fn answered(response: http::Response<Full<Bytes>>) -> Self {
        Self {
            kind: Kind::Answered {
                response: std::future::ready(response),
            },
        }
    }

    fn inner(future: F) -> Self {
        Self {
            kind: Kind::Inner { future },
        }
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<http::Response<ResBody>, E>>,
{
    type Output = Result<LayeredResponse<ResBody>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Webhook { future } => future
                .as_mut()
                .poll(cx)
                .map(|response| Ok(response.map(Either::Left))),
            KindProj::Answered { response } => {
                response.poll(cx).map(|response| Ok(response.map(Either::Left)))
            }
            KindProj::Inner { future } => future
                .poll(cx)
                .map(|result| result.map(|response| response.map(Either::Right))),
        }
    }
}

/// Answers the probes (ready, live, status; see [`Probes`]) in front of another service:
/// requests for the probes' paths are answered, everything else reaches your service.
///
/// ```
/// # use vwo_webhook::{Probe, Probes};
/// # struct Loaded;
/// # impl Probe for Loaded { fn ready(&self) -> bool { true } fn status_json(&self) -> String { "{}".into() } }
/// use tower::ServiceBuilder;
/// # fn app() -> impl Clone { tower::service_fn(|_: http::Request<http_body_util::Full<bytes::Bytes>>| async {
/// #     Ok::<_, std::convert::Infallible>(http::Response::new(http_body_util::Full::new(bytes::Bytes::new())))
/// # }) }
/// let service = ServiceBuilder::new()
///     .layer(vwo_webhook_tower::ServeProbesLayer::new(Probes::new(Loaded)))
///     .service(app());
/// # let _ = service;
/// ```
#[derive(Debug, Clone)]
pub struct ServeProbesLayer {
    probes: Probes,
}

impl ServeProbesLayer {
    /// Answers `probes` at their paths.
    pub fn new(probes: Probes) -> Self {
        Self { probes }
    }
}

impl<S> Layer<S> for ServeProbesLayer {
    type Service = ServeProbes<S>;

    fn layer(&self, inner: S) -> ServeProbes<S> {
        ServeProbes {
            inner,
            probes: self.probes.clone(),
        }
    }
}

/// The former name of [`ServeProbesLayer`].
#[deprecated(
    since = "0.1.0",
    note = "renamed ServeProbesLayer, as its service is ServeProbes"
)]
pub type ProbesLayer = ServeProbesLayer;

/// The former name of [`ServeProbes`].
#[deprecated(
    since = "0.1.0",
    note = "renamed ServeProbes, the service ServeProbesLayer produces"
)]
pub type ProbesService<S> = ServeProbes<S>;

/// The service [`ServeProbesLayer`] produces.
#[derive(Debug, Clone)]
pub struct ServeProbes<S> {
    inner: S,
    probes: Probes,
}

impl<S, B, ResBody> Service<Request<B>> for ServeProbes<S>
where
    S: Service<Request<B>, Response = http::Response<ResBody>>,
{
    type Response = LayeredResponse<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        match self
            .probes
            .answer(request.method().as_str(), request.uri().path())
        {
            Some(answer) => ResponseFuture::answered(into_http_response(answer)),
            None => ResponseFuture::inner(self.inner.call(request)),
        }
    }
}

/// The README's examples, compiled as doctests so the registry page cannot drift from the code.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
