//! An accepted delivery: asks the coordinator for a refresh that started after it arrived,
//! and turns how that ended into VWO's answer.

use std::sync::Arc;
use std::time::Instant;

use tracing::Instrument;

use crate::ack::AckPolicy;
use crate::coordinator::Coordinator;
use crate::outcome::Outcome;
use crate::payload::SettingsChanged;
use crate::refresh::Trigger;
use crate::response::Response;
use crate::telemetry;
use crate::verify::Verifier;

/// A delivery id and the verifier that read it, to be remembered once the delivery is
/// answered 2xx (so a failed delivery's redelivery still refreshes).
pub(crate) struct Remembered {
    pub(crate) verifier: Arc<dyn Verifier>,
    pub(crate) id: Vec<u8>,
}

impl Remembered {
    pub(crate) fn new(verifier: Arc<dyn Verifier>, id: Vec<u8>) -> Self {
        Self { verifier, id }
    }
}

impl std::fmt::Debug for Remembered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remembered")
            .field("id", &String::from_utf8_lossy(&self.id))
            .finish_non_exhaustive()
    }
}

/// An authenticated, parsed delivery whose refresh has not been asked for yet.
#[derive(Debug)]
#[must_use = "call respond() to refresh and get the answer for VWO"]
pub struct Delivery {
    coordinator: Coordinator,
    ack: AckPolicy,
    payload: SettingsChanged,
    remembered: Vec<Remembered>,
    arrived: Instant,
    span: tracing::Span,
}

impl Delivery {
    /// A delivery that passed the checks (its notice, and the ids to remember once answered
    /// 2xx), to be answered by asking `coordinator` and answering per `ack`.
    pub(crate) fn new(
        (coordinator, ack): (Coordinator, AckPolicy),
        (payload, remembered): (SettingsChanged, Vec<Remembered>),
        arrived: Instant,
        span: tracing::Span,
    ) -> Self {
        Self {
            coordinator,
            ack,
            payload,
            remembered,
            arrived,
            span,
        }
    }

    /// The notice VWO sent.
    pub fn payload(&self) -> &SettingsChanged {
        &self.payload
    }

    /// Asks for a refresh that starts after now and answers per the ack policy.
    pub async fn respond(self) -> Response {
        let span = self.span.clone();
        self.respond_inner().instrument(span).await
    }

    async fn respond_inner(self) -> Response {
        let action = self.payload.action.as_ref().map(|a| a.as_str().to_owned());
        let ticket = self.coordinator.schedule_inline(Trigger::Webhook(self.payload));
        let generation = ticket.required_generation();
        let (response, outcome) = match self.ack {
            AckPolicy::Immediate => {
                drop(ticket);
                Response::scheduled()
            }
            AckPolicy::AfterRefresh { timeout } => Response::settled(ticket.wait(Some(timeout)).await),
        };
        if response.is_success() {
            for Remembered { verifier, id } in &self.remembered {
                verifier.remember(id);
            }
        }
        self.span.record("generation", generation);
        record(&self.span, &response, outcome, self.arrived);
        telemetry::delivery(outcome, response.status(), None, self.arrived.elapsed());
        tracing::info!(
            action = action.as_deref().unwrap_or(""),
            "vwo webhook delivery answered"
        );
        response
    }
}

/// Records a delivery's answer on its span.
pub(crate) fn record(span: &tracing::Span, response: &Response, outcome: Outcome, arrived: Instant) {
    span.record("status", response.status());
    span.record("outcome", outcome.span_label());
    span.record("latency_us", arrived.elapsed().as_micros() as u64);
}
