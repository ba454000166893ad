//! The readiness, liveness and status probes as poem endpoints.

use poem::{Endpoint, IntoResponse, Request, Route};
use vwo_webhook::Probes;

use crate::response::WebhookResponse;

/// Mounts the probes (ready, live, status; see [`Probes`]) on `route` at their paths, for
/// every method (non-GET gets the core's 405).
pub fn mount_probes(route: Route, probes: Probes) -> Route {
    let mut route = route;
    for path in probes.paths().map(str::to_owned) {
        route = route.at(
            path.clone(),
            ProbesEndpoint {
                probes: probes.clone(),
                path,
            },
        );
    }
    route
}

/// One probe's path as a poem endpoint; see [`mount_probes`].
#[derive(Debug, Clone)]
pub struct ProbesEndpoint {
    probes: Probes,
    path: String,
}

impl Endpoint for ProbesEndpoint {
    type Output = poem::Response;

    async fn call(&self, request: Request) -> poem::Result<poem::Response> {
        match self.probes.answer(request.method().as_str(), &self.path) {
            Some(answer) => Ok(WebhookResponse(answer).into_response()),
            None => Err(poem::error::NotFoundError.into()),
        }
    }
}
