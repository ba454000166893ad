//! The `Webhook` extractor and its rejection, for handlers of your own.

use poem::http::StatusCode;
use poem::{FromRequest, IntoResponse, Request, RequestBody};
use vwo_webhook::Receiver;

use crate::body::{self, PoemHeaders};
use crate::response::WebhookResponse;

vwo_webhook::delivery_extractor! {
    /// An authenticated, parsed delivery.
    ///
    /// Extracting it checks method, credentials, body limit and payload, and rejects with
    /// [`WebhookRejection`]: the same answers as [`mount`](crate::mount). It finds the
    /// [`Receiver`] in the request data (`.data(receiver)`). Finish with [`Webhook::respond`],
    /// which runs the coordinated refresh:
    ///
    /// ```no_run
    /// use poem::{EndpointExt, Route, handler, post};
    /// use vwo_webhook_poem::{Receiver, Webhook, WebhookResponse};
    ///
    /// #[handler]
    /// async fn hook(webhook: Webhook) -> WebhookResponse {
    ///     tracing::info!(action = ?webhook.payload().action, "settings changed in VWO");
    ///     webhook.respond().await
    /// }
    ///
    /// fn app(receiver: Receiver) -> impl poem::Endpoint {
    ///     Route::new().at("/hooks/vwo", post(hook)).data(receiver)
    /// }
    /// ```
    pub struct Webhook => WebhookResponse;
}

impl<'a> FromRequest<'a> for Webhook {
    async fn from_request(request: &'a Request, body: &mut RequestBody) -> poem::Result<Self> {
        let Some(receiver) = request.data::<Receiver>() else {
            tracing::error!("the vwo-webhook extractor found no Receiver in the request data");
            return Err(WebhookRejection(vwo_webhook::adapter::not_configured()).into());
        };
        let body = body.take().unwrap_or_default();
        receiver
            .accept(
                request.method().as_str(),
                &PoemHeaders(request.headers()),
                |limit| body::read(body, limit),
            )
            .await
            .map(Webhook)
            .map_err(|refused| WebhookRejection(refused).into())
    }
}

vwo_webhook::delivery_rejection! {
    /// Why the extractor refused a delivery: the core's answer (401, 405, 413, 400, ...), sent
    /// as is.
    pub struct WebhookRejection;
}

impl poem::error::ResponseError for WebhookRejection {
    fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn as_response(&self) -> poem::Response {
        WebhookResponse(self.0.clone()).into_response()
    }
}
