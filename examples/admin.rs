//! The internal endpoints on their own address: `GET /ready`, `/live`, `/settings/status`,
//! `/metrics` and `/flags/{feature}`. They tell the account id, the settings' version, error
//! text and flag decisions, which are for the operator, not for the internet; VWO needs only
//! the webhook. Each example serves them on `VWO_WEBHOOK_ADMIN_ADDR` (loopback by default) and
//! the webhook on `VWO_WEBHOOK_ADDR`.

use axum::Router;
use axum::routing::get;

use crate::{METRICS_PATH, Started};

/// The internal endpoints as one axum router (what the axum example and the replicas serve on
/// the admin address).
pub fn router(started: &Started) -> Result<Router, Box<dyn std::error::Error>> {
    let metrics = started.metrics()?;
    Ok(Router::new()
        .route(METRICS_PATH, get(move || async move { metrics.render() }))
        .merge(vwo_webhook_axum::probes(started.probes()))
        .merge(crate::flags::router(started.flags.clone())))
}
