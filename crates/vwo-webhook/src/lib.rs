//! Receive VWO "settings changed" webhooks safely and keep feature-flag settings fresh.
//!
//! VWO posts a small notice whenever campaign settings change; the notice holds no settings,
//! so the receiver must fetch them. This crate decides everything about such a delivery
//! without knowing any web framework: adapter crates (`vwo-webhook-tower`,
//! `vwo-webhook-axum`, ...) translate between their framework and a [`Receiver`]. Refreshes
//! run on tokio tasks, so a receiver needs a tokio runtime (every supported framework has one).
//!
//! - [`SettingsChanged`]: the notice, parsed leniently (unknown values kept) with errors that
//!   name the offending field.
//! - [`Secret`], [`Keyring`], [`SharedKey`]: fail-closed, constant-time authentication with
//!   key rotation at runtime; [`HmacSha256`] and [`StandardWebhooks`] signatures (each can
//!   also `sign`, for senders and tests); [`AnyOf`] for migrations.
//! - [`Refresh`]: your backend. [`Coordinator`]: runs it once at a time, coalescing
//!   deliveries, retrying transient failures, containing panics.
//! - [`Receiver`]: the status-code decisions shared by every adapter.
//!
//! ```
//! use vwo_webhook::{Keyring, Receiver, RefreshError, Trigger};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let keyring = Keyring::from_comma_separated("s3cret")?;
//! let receiver = Receiver::builder(|trigger: Trigger| async move {
//!     tracing::info!(?trigger, "fetch the new settings here");
//!     Ok::<(), RefreshError>(())
//! })
//! .keyring(keyring.clone())
//! .build()?;
//!
//! let body = br#"{"timestamp":1606482285,"event":"settings_changed"}"#;
//! let headers: [(&str, &[u8]); 1] = [("x-vwo-auth", b"s3cret")];
//! let answer = receiver.handle_buffered("POST", &headers, body).await;
//! assert_eq!(answer.status(), 200);
//! # Ok(()) }
//! # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
//! ```
#![forbid(unsafe_code)]

mod ack;
pub mod adapter;
mod builder;
mod clock;
mod compose;
mod coordinator;
mod delivery;
mod outcome;
mod payload;
pub mod prelude;
mod probes;
mod receiver;
mod refresh;
mod response;
mod secret;
mod signature;
mod standard;
pub mod telemetry;
mod verify;

pub use ack::{AckPolicy, DEFAULT_ACK_TIMEOUT};
pub use builder::{BuildError, DEFAULT_BODY_LIMIT, DEFAULT_BODY_TIMEOUT, DEFAULT_PATH, ReceiverBuilder};
pub use compose::AnyOf;
pub use coordinator::{
    Coordinator, DEFAULT_MIN_SPACING, RetryPolicy, RunOutcome, SafetyNet, Settled, Ticket,
};
pub use delivery::Delivery;
pub use payload::{Action, Event, PayloadError, SettingsChanged};
pub use probes::{LIVE_PATH, Probe, Probes, READY_PATH, STATUS_PATH};
pub use receiver::{BodyError, Receiver};
pub use refresh::{FailureKind, Refresh, RefreshError, Trigger};
pub use response::Response;
pub use secret::{Keyring, Secret, SecretError};
pub use signature::{Encoding, HmacSha256};
pub use standard::{
    Clock, DEFAULT_FUTURE_TOLERANCE, DEFAULT_PAST_TOLERANCE, DEFAULT_REPLAY_CAPACITY, StandardSecretError,
    StandardWebhooks,
};
pub use verify::{HeaderLookup, HeaderName, SharedKey, VWO_AUTH_HEADER, Verifier, VerifyError};

/// The README's examples, compiled as doctests so the registry page cannot drift from the code.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
