//! What only an adapter author calls: the pieces that translate between a framework and the
//! core, kept out of the surface a service reads. A service mounts a receiver with its
//! framework's adapter and never needs these. See the conformance crate's guide for how an
//! adapter uses them.

use std::fmt;

use crate::{BuildError, Receiver, Response};

pub use crate::receiver::BodyBuffer;
pub use crate::{BodyError, HeaderLookup};

/// Whether the request's `Content-Length` declares more than the receiver's body limit: such
/// a request is answered 413 without reading its body, and an adapter that drains unread bodies
/// to keep the connection should leave this one alone.
pub fn declares_oversized_body<H: HeaderLookup + ?Sized>(receiver: &Receiver, headers: &H) -> bool {
    receiver.declares_oversized_body(headers)
}

/// The same receiver (sharing its coordinator) with another body limit, for a framework that
/// configures limits itself (rocket's `limits.vwo-webhook`).
pub fn with_body_limit(receiver: Receiver, limit: usize) -> Result<Receiver, BuildError> {
    receiver.with_body_limit(limit)
}

/// The JSON body when it is one of the fixed answers shared for the life of the process, so
/// an adapter can send it without copying.
pub fn static_body(response: &Response) -> Option<&'static str> {
    response.static_body()
}

/// The answer when an extractor finds no [`Receiver`] in the application (a wiring mistake):
/// 500, so VWO redelivers once the application is fixed.
pub fn not_configured() -> Response {
    Response::not_configured()
}

/// Writes what an extractor's rejection says as an error (its `Display`), the same on every
/// framework: `VWO webhook refused with 401: {"status":"error",...}`.
pub fn write_refusal(f: &mut fmt::Formatter<'_>, refused: &Response) -> fmt::Result {
    write!(
        f,
        "VWO webhook refused with {}: {}",
        refused.status(),
        refused.body()
    )
}

/// Declares an adapter's extractor: a newtype over [`Delivery`](crate::Delivery) that derefs
/// to it and whose `respond()` runs the refresh and wraps the answer in the adapter's response
/// type (a tuple struct over [`Response`]). Every adapter's extractor is this one shape; the
/// doc comment, which shows the framework's own wiring, is the adapter's.
///
/// ```
/// pub struct WebhookResponse(pub vwo_webhook::Response);
///
/// vwo_webhook::delivery_extractor! {
///     /// An authenticated, parsed delivery.
///     pub struct Webhook => WebhookResponse;
/// }
/// ```
#[macro_export]
macro_rules! delivery_extractor {
    ($(#[$meta:meta])* $vis:vis struct $name:ident => $response:ident;) => {
        $(#[$meta])*
        #[derive(Debug)]
        $vis struct $name(pub $crate::Delivery);

        impl ::std::ops::Deref for $name {
            type Target = $crate::Delivery;

            fn deref(&self) -> &$crate::Delivery {
                &self.0
            }
        }

        impl $name {
            /// Runs the refresh per the receiver's ack policy and returns the answer for VWO.
            pub async fn respond(self) -> $response {
                $response(self.0.respond().await)
            }
        }
    };
}

/// Declares an adapter's extractor rejection: the core's refusal ([`Response`]: 401, 405, 413,
/// 400, ...) as a type of its own that is a `std::error::Error` and says the same on every
/// framework (see [`write_refusal`]). The adapter adds how its framework answers it.
///
/// ```
/// vwo_webhook::delivery_rejection! {
///     /// Why the extractor refused a delivery.
///     pub struct WebhookRejection;
/// }
/// let rejection = WebhookRejection(vwo_webhook::adapter::not_configured());
/// let error: &dyn std::error::Error = &rejection;
/// assert!(error.to_string().starts_with("VWO webhook refused with 500"));
/// ```
#[macro_export]
macro_rules! delivery_rejection {
    ($(#[$meta:meta])* $vis:vis struct $name:ident;) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        $vis struct $name(pub $crate::Response);

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                $crate::adapter::write_refusal(f, &self.0)
            }
        }

        impl ::std::error::Error for $name {}
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Refusal(Response);

    impl fmt::Display for Refusal {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write_refusal(f, &self.0)
        }
    }

    #[test]
    fn a_refusal_names_its_status_and_body() {
        let text = Refusal(Response::unauthorized()).to_string();
        assert!(text.starts_with("VWO webhook refused with 401: {"), "{text}");
        assert!(text.contains(Response::unauthorized().body()), "{text}");
    }
}
