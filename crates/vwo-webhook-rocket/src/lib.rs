//! VWO webhooks in rocket: attach one fairing, mount [`routes`] under a base path of your
//! own, or take a verified delivery in a route of your own with a data guard.
//!
//! ```no_run
//! use vwo_webhook_rocket::{Keyring, Receiver, RefreshError, Trigger};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let receiver = Receiver::builder(|_: Trigger| async { Ok::<(), RefreshError>(()) })
//!     .keyring(Keyring::from_comma_separated("s3cret")?)
//!     .build()?;
//! let _ = rocket::build()
//!     .attach(vwo_webhook_rocket::fairing(receiver)) // POST /vwo-webhook
//!     .launch()
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! The body limit is rocket's named limit `vwo-webhook`, so it can be set in `Rocket.toml`
//! (`[default.limits] vwo-webhook = "128 KiB"`); unset, it is the receiver's own (default
//! 64 KiB). Rocket cuts a body at its limit without saying so; this crate checks that the body
//! was read to its end and answers 413 otherwise. Every answer is the core's JSON: rocket's
//! error catchers never replace it on the webhook's route.
#![forbid(unsafe_code)]

/// The core crate, re-exported: this adapter is the only dependency a service needs, and the
/// two versions cannot drift apart.
pub use vwo_webhook;
pub use vwo_webhook::prelude::*;

use std::io::Cursor;

use rocket::data::{ByteUnit, Data, FromData, Limits};
use rocket::fairing::{self, Fairing, Info, Kind};
use rocket::http::uri::Origin;
use rocket::http::{HeaderMap, Method, Status};
use rocket::request::Request;
use rocket::response::{self, Responder};
use rocket::route::{self, Handler, Route};
use rocket::{Build, Rocket};
use vwo_webhook::{BodyError, HeaderLookup};

/// The name of rocket's body limit for webhook deliveries (`limits.vwo-webhook`).
pub const LIMIT_NAME: &str = "vwo-webhook";

/// Every method rocket routes: the webhook answers them all (non-POST gets the core's 405)
/// so that no catcher answers in its place.
const METHODS: [Method; 9] = [
    Method::Get,
    Method::Put,
    Method::Post,
    Method::Delete,
    Method::Options,
    Method::Head,
    Method::Trace,
    Method::Connect,
    Method::Patch,
];

/// Mounts `receiver` at its path (default `/vwo-webhook`) for every method, and manages it
/// as state (for the [`Webhook`] guard) unless a `Receiver` is managed already. The
/// `vwo-webhook` limit, if configured, is read once at ignition.
pub fn fairing(receiver: Receiver) -> WebhookFairing {
    WebhookFairing {
        receiver,
        base: "/".to_owned(),
    }
}

/// The webhook's routes: one per method at the receiver's path, to mount under a base path
/// of your own (`rocket.mount("/api", routes(receiver))` answers at `/api/vwo-webhook`).
///
/// They use the receiver's own body limit; the `vwo-webhook` limit of `Rocket.toml` applies
/// through the [`fairing()`] (see [`WebhookFairing::base`] to mount it under a base path too).
pub fn routes(receiver: Receiver) -> Vec<Route> {
    let path = receiver.path().to_owned();
    let handler = WebhookHandler { receiver };
    METHODS
        .into_iter()
        .map(|method| Route::new(method, &path, handler.clone()))
        .collect()
}

/// The probes (ready, live, status; see [`Probes`]) as routes for every method at their paths
/// (non-GET gets the core's 405): `rocket.mount("/", probe_routes(probes))`.
pub fn probe_routes(probes: Probes) -> Vec<Route> {
    let mut routes = Vec::new();
    for path in probes.paths() {
        let handler = ProbeHandler {
            probes: probes.clone(),
            path: path.to_owned(),
        };
        routes.extend(
            METHODS
                .into_iter()
                .map(|method| Route::new(method, path, handler.clone())),
        );
    }
    routes
}

#[derive(Clone)]
struct ProbeHandler {
    probes: Probes,
    path: String,
}

#[rocket::async_trait]
impl Handler for ProbeHandler {
    async fn handle<'r>(&self, request: &'r Request<'_>, _data: Data<'r>) -> route::Outcome<'r> {
        match self.probes.answer(request.method().as_str(), &self.path) {
            Some(answer) => route::Outcome::from(request, WebhookResponse(answer)),
            None => route::Outcome::Forward((_data, Status::NotFound)),
        }
    }
}

/// The receiver as a rocket fairing; see [`fairing()`].
///
/// Launch fails, with the reason logged, if the receiver's path (or the base) is not a valid
/// rocket route or the `vwo-webhook` limit is zero.
#[derive(Debug, Clone)]
pub struct WebhookFairing {
    receiver: Receiver,
    base: String,
}

impl WebhookFairing {
    /// Mounts the routes under `base` (default `/`): `fairing(receiver).base("/api")` answers
    /// at `/api/vwo-webhook`.
    pub fn base(mut self, base: impl Into<String>) -> Self {
        self.base = base.into();
        self
    }
}

#[rocket::async_trait]
impl Fairing for WebhookFairing {
    fn info(&self) -> Info {
        Info {
            name: "vwo-webhook",
            kind: Kind::Ignite,
        }
    }

    async fn on_ignite(&self, rocket: Rocket<Build>) -> fairing::Result {
        for path in [self.base.as_str(), self.receiver.path()] {
            if let Err(error) = Origin::parse(path) {
                tracing::error!(path, %error, "the vwo-webhook path is not a valid rocket route");
                return Err(rocket);
            }
        }
        // Read once here, not on every request; the core decides whether it is usable.
        let limits = rocket
            .figment()
            .extract_inner::<Limits>("limits")
            .unwrap_or_default();
        let receiver = match limits.get(LIMIT_NAME) {
            None => self.receiver.clone(),
            Some(limit) => match vwo_webhook::adapter::with_body_limit(self.receiver.clone(), bytes(limit)) {
                Ok(receiver) => receiver,
                Err(error) => {
                    tracing::error!(%error, "limits.{LIMIT_NAME} is unusable");
                    return Err(rocket);
                }
            },
        };
        let rocket = rocket.mount(self.base.as_str(), routes(receiver.clone()));
        Ok(match rocket.state::<Receiver>() {
            Some(_) => rocket,
            None => rocket.manage(receiver),
        })
    }
}

#[derive(Clone)]
struct WebhookHandler {
    receiver: Receiver,
}

#[rocket::async_trait]
impl Handler for WebhookHandler {
    async fn handle<'r>(&self, request: &'r Request<'_>, data: Data<'r>) -> route::Outcome<'r> {
        let response = self
            .receiver
            .handle(
                request.method().as_str(),
                &RocketHeaders(request.headers()),
                |limit| read_body(data, limit),
            )
            .await;
        route::Outcome::from(request, WebhookResponse(response))
    }
}

/// The receiver with rocket's `vwo-webhook` limit, when one is configured: for the guard,
/// which reads its limit per request as rocket's own data guards do.
fn with_configured_limit(receiver: &Receiver, request: &Request<'_>) -> Receiver {
    let Some(limit) = request.limits().get(LIMIT_NAME) else {
        return receiver.clone();
    };
    vwo_webhook::adapter::with_body_limit(receiver.clone(), bytes(limit)).unwrap_or_else(|error| {
        tracing::error!(%error, "ignoring limits.{LIMIT_NAME}; using the receiver's own limit");
        receiver.clone()
    })
}

fn bytes(limit: ByteUnit) -> usize {
    usize::try_from(limit.as_u64()).unwrap_or(usize::MAX)
}

/// rocket's `HeaderMap` seen through the core's [`HeaderLookup`].
struct RocketHeaders<'a, 'r>(&'a HeaderMap<'r>);

impl HeaderLookup for RocketHeaders<'_, '_> {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.0.get_one(name).map(str::as_bytes)
    }

    fn is_repeated(&self, name: &str) -> bool {
        self.0.get(name).nth(1).is_some()
    }
}

/// Reads at most `limit` bytes and refuses a body that had more (rocket would cut it silently).
async fn read_body(data: Data<'_>, limit: usize) -> Result<Vec<u8>, BodyError> {
    let body = data
        .open(ByteUnit::from(limit))
        .into_bytes()
        .await
        .map_err(|error| BodyError::Unreadable(error.to_string()))?;
    if !body.is_complete() {
        return Err(BodyError::TooLarge);
    }
    Ok(body.into_inner())
}

vwo_webhook::delivery_extractor! {
    /// An authenticated, parsed delivery: a data guard for routes of your own.
    ///
    /// It checks method, credentials, body limit and payload, and fails with the same answer the
    /// fairing gives, as its error. Take it as `Result<Webhook, WebhookRejection>` and answer the
    /// error as is, so rocket's HTML catchers do not replace the JSON VWO is owed. It needs a
    /// managed [`Receiver`] (`.manage(receiver)`, or the [`fairing()`]).
    ///
    /// ```no_run
    /// use rocket::post;
    /// use vwo_webhook_rocket::{Webhook, WebhookRejection, WebhookResponse};
    ///
    /// #[post("/hooks/vwo", data = "<webhook>")]
    /// async fn hook(webhook: Result<Webhook, WebhookRejection>) -> WebhookResponse {
    ///     match webhook {
    ///         Ok(webhook) => {
    ///             tracing::info!(action = ?webhook.payload().action, "settings changed in VWO");
    ///             webhook.respond().await
    ///         }
    ///         Err(rejection) => rejection.into(),
    ///     }
    /// }
    /// # fn app(receiver: vwo_webhook::Receiver) -> rocket::Rocket<rocket::Build> {
    /// rocket::build().manage(receiver).mount("/", rocket::routes![hook])
    /// # }
    /// ```
    pub struct Webhook => WebhookResponse;
}

#[rocket::async_trait]
impl<'r> FromData<'r> for Webhook {
    type Error = WebhookRejection;

    async fn from_data(request: &'r Request<'_>, data: Data<'r>) -> rocket::data::Outcome<'r, Self> {
        let Some(receiver) = request.rocket().state::<Receiver>() else {
            tracing::error!("the vwo-webhook guard found no managed Receiver");
            return reject(vwo_webhook::adapter::not_configured());
        };
        let receiver = with_configured_limit(receiver, request);
        let accepted = receiver
            .accept(
                request.method().as_str(),
                &RocketHeaders(request.headers()),
                |limit| read_body(data, limit),
            )
            .await;
        match accepted {
            Ok(delivery) => rocket::outcome::Outcome::Success(Webhook(delivery)),
            Err(response) => reject(response),
        }
    }
}

fn reject<'r>(response: Response) -> rocket::data::Outcome<'r, Webhook> {
    rocket::outcome::Outcome::Error((Status::new(response.status()), WebhookRejection(response)))
}

vwo_webhook::delivery_rejection! {
    /// Why the guard refused a delivery: the core's answer (401, 405, 413, 400, ...). Take the
    /// guard as `Result<Webhook, WebhookRejection>` and return the rejection: it answers as is.
    pub struct WebhookRejection;
}

impl<'r> Responder<'r, 'static> for WebhookRejection {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        WebhookResponse(self.0).respond_to(request)
    }
}

impl From<WebhookRejection> for WebhookResponse {
    fn from(rejection: WebhookRejection) -> Self {
        WebhookResponse(rejection.0)
    }
}

/// The core's answer as a rocket response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookResponse(pub Response);

impl<'r> Responder<'r, 'static> for WebhookResponse {
    fn respond_to(self, _request: &'r Request<'_>) -> response::Result<'static> {
        let mut response = rocket::Response::build();
        response.status(Status::new(self.0.status()));
        for (name, value) in self.0.headers() {
            response.raw_header(*name, *value);
        }
        let body = self.0.into_body();
        response.sized_body(body.len(), Cursor::new(body));
        Ok(response.finalize())
    }
}

/// The README's examples, compiled as doctests so the registry page cannot drift from the code.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
