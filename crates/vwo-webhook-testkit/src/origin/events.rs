//! The events the SDK posts to VWO's host (`/events/t`, `/server-side/batch-events-v2`): an
//! origin answers each 200, logs it, and keeps it, not counted as a fetch.

use std::sync::Arc;

use super::http::{Request, answer};
use serde_json::Value;

/// How many posted events an origin keeps.
const KEPT_EVENTS: usize = 10_000;

/// The events posted to an origin.
#[derive(Debug, Clone, Default)]
pub(crate) struct Events(Arc<std::sync::Mutex<Vec<Value>>>);

impl Events {
    /// Keeps (and logs) the events of a POST, and answers it 200 `{}`.
    pub(crate) async fn record(&self, request: Request) {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let events = match body.get("ev") {
            Some(Value::Array(events)) => events.clone(),
            _ => vec![body],
        };
        let names: Vec<&str> = events
            .iter()
            .filter_map(|e| e.pointer("/d/event/name").and_then(Value::as_str))
            .collect();
        let route = request.path.split('?').next().unwrap_or_default();
        tracing::info!(
            events = events.len(),
            ?names,
            route,
            "the demo origin received events"
        );
        {
            let mut kept = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            kept.extend(events);
            // A demo may run for days: keep the latest.
            let excess = kept.len().saturating_sub(KEPT_EVENTS);
            kept.drain(..excess);
        }
        let _ = answer(request.stream, "{}").await;
    }

    pub(crate) fn all(&self) -> Vec<Value> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}
