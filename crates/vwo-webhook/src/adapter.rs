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
