//! The core's answer as a poem response.

use poem::IntoResponse;
use poem::http::{HeaderName, HeaderValue, StatusCode};
use vwo_webhook::Response;

/// The core's answer, as poem sends it: status, headers and JSON body unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookResponse(pub Response);

impl IntoResponse for WebhookResponse {
    fn into_response(self) -> poem::Response {
        let status = StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = poem::Response::builder().status(status);
        for &(name, value) in self.0.headers() {
            if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
                response = response.header(name, value);
            }
        }
        match vwo_webhook::adapter::static_body(&self.0) {
            Some(body) => response.body(body),
            None => response.body(self.0.into_body()),
        }
    }
}
