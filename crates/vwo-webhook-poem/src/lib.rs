#![doc = include_str!("../README.md")]
//!
//! ## The body
//!
//! The body is read from poem's stream with the receiver's own limit (default 64 KiB): a
//! declared `Content-Length` over it is refused before reading, a chunked body as soon as it
//! crosses it (413 in both cases), and a body that stops arriving gets 408 after the receiver's
//! body timeout. Every answer is the core's, translated: the same status, headers and JSON body
//! as on every other framework.
#![forbid(unsafe_code)]

mod body;
mod endpoint;
mod extract;
mod head_timeout;
mod probes;
mod response;

/// The core crate, re-exported: this adapter is the only dependency a service needs, and the
/// two versions cannot drift apart.
pub use vwo_webhook;
pub use vwo_webhook::prelude::*;

pub use endpoint::{WebhookEndpoint, endpoint, mount};
pub use extract::{Webhook, WebhookRejection};
pub use head_timeout::{DEFAULT_HEAD_TIMEOUT, HeadGuarded, HeadTimeout, head_timeout};
pub use probes::{ProbesEndpoint, mount_probes};
pub use response::WebhookResponse;
