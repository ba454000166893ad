//! The receiver as a poem `Endpoint`, mounted at its path with one call.

use poem::{Endpoint, IntoResponse, Request, Route};
use vwo_webhook::Receiver;

use crate::body::{self, PoemHeaders};
use crate::response::WebhookResponse;

/// Mounts `receiver` on `route` at its path (default `/vwo-webhook`), for every method
/// (non-POST gets the core's 405 with `Allow: POST`).
pub fn mount(route: Route, receiver: Receiver) -> Route {
    let path = receiver.path().to_owned();
    route.at(path, endpoint(receiver))
}

/// The receiver as an endpoint, to mount where you like (`route.at(path, endpoint(receiver))`).
pub fn endpoint(receiver: Receiver) -> WebhookEndpoint {
    WebhookEndpoint { receiver }
}

/// The receiver as a poem endpoint; see [`endpoint`].
#[derive(Debug, Clone)]
pub struct WebhookEndpoint {
    receiver: Receiver,
}

impl Endpoint for WebhookEndpoint {
    type Output = poem::Response;

    async fn call(&self, mut request: Request) -> poem::Result<poem::Response> {
        let body = request.take_body();
        let response = self
            .receiver
            .handle(
                request.method().as_str(),
                &PoemHeaders(request.headers()),
                |limit| body::read(body, limit),
            )
            .await;
        Ok(WebhookResponse(response).into_response())
    }
}
