//! An accepted delivery: asks the coordinator for a refresh that started after it arrived,
//! and turns how that ended into VWO's answer.

use std::future::Future;
use std::time::Instant;

use tracing::Instrument;

use crate::ack::AckPolicy;
use crate::outcome::{Outcome, Refusal};
use crate::payload::SettingsChanged;
use crate::receiver::{BodyError, Receiver, Remembered};
use crate::refresh::Trigger;
use crate::response::Response;
use crate::telemetry;
use crate::verify::HeaderLookup;

/// An authenticated, parsed delivery whose refresh has not been asked for yet.
#[derive(Debug)]
#[must_use = "call respond() to refresh and get the answer for VWO"]
pub struct Delivery {
    receiver: Receiver,
    payload: SettingsChanged,
    remembered: Vec<Remembered>,
    arrived: Instant,
    span: tracing::Span,
}

impl Delivery {
    pub(crate) fn new(
        receiver: Receiver,
        payload: SettingsChanged,
        remembered: Vec<Remembered>,
        arrived: Instant,
        span: tracing::Span,
    ) -> Self {
        Self {
            receiver,
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
        let inner = &*self.receiver.inner;
        let action = self.payload.action.as_ref().map(|a| a.as_str().to_owned());
        let ticket = inner.coordinator.schedule_inline(Trigger::Webhook(self.payload));
        let generation = ticket.required_generation();
        let (response, outcome) = match inner.ack {
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

impl Receiver {
    /// Handles one delivery from start to answer. `read_body` is called (at most once, after
    /// the header checks pass) with the body limit and must stop reading past it.
    pub async fn handle<H, F, Fut, B>(&self, method: &str, headers: &H, read_body: F) -> Response
    where
        H: HeaderLookup + ?Sized,
        F: FnOnce(usize) -> Fut,
        Fut: Future<Output = Result<B, BodyError>>,
        B: AsRef<[u8]>,
    {
        match self.accept(method, headers, read_body).await {
            Ok(delivery) => delivery.respond().await,
            Err(rejection) => rejection,
        }
    }

    /// [`Receiver::handle`] for a body already in memory.
    pub async fn handle_buffered<H>(&self, method: &str, headers: &H, body: &[u8]) -> Response
    where
        H: HeaderLookup + ?Sized,
    {
        self.handle(method, headers, |limit| async move {
            if body.len() > limit {
                Err(BodyError::TooLarge)
            } else {
                Ok(body)
            }
        })
        .await
    }

    /// Runs every check up to the refresh: the first half of [`Receiver::handle`], for
    /// extractors that hand a verified [`Delivery`] to the application's own handler.
    pub async fn accept<H, F, Fut, B>(
        &self,
        method: &str,
        headers: &H,
        read_body: F,
    ) -> Result<Delivery, Response>
    where
        H: HeaderLookup + ?Sized,
        F: FnOnce(usize) -> Fut,
        Fut: Future<Output = Result<B, BodyError>>,
        B: AsRef<[u8]>,
    {
        let arrived = Instant::now();
        let span = tracing::info_span!(
            "vwo_webhook.delivery",
            status = tracing::field::Empty,
            outcome = tracing::field::Empty,
            generation = tracing::field::Empty,
            latency_us = tracing::field::Empty,
        );
        let checked = self
            .check(method, headers, read_body)
            .instrument(span.clone())
            .await;
        match checked {
            Ok((payload, remembered)) => Ok(Delivery::new(self.clone(), payload, remembered, arrived, span)),
            Err(Refusal {
                response,
                check,
                reason,
            }) => {
                let _entered = span.enter();
                if response.is_success() {
                    record(&span, &response, Outcome::Replayed, arrived);
                    telemetry::delivery(Outcome::Replayed, response.status(), None, arrived.elapsed());
                    tracing::info!(reason = ?reason, "vwo webhook delivery already processed");
                } else {
                    record(&span, &response, Outcome::Refused, arrived);
                    telemetry::delivery(
                        Outcome::Refused,
                        response.status(),
                        Some(check),
                        arrived.elapsed(),
                    );
                    if response.status() == 401 {
                        tracing::warn!(reason = ?reason, "vwo webhook delivery rejected");
                    } else {
                        tracing::info!(reason = ?reason, "vwo webhook delivery rejected");
                    }
                }
                Err(response)
            }
        }
    }
}
