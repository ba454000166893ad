//! The internal endpoints on their own address: `GET /ready`, `/live`, `/settings/status`,
//! `/metrics` and `/flags/{feature}`. They tell the account id, the settings' version, error
//! text and flag decisions, which are for the operator, not for the internet; VWO needs only
//! the webhook. Each example serves them on `VWO_WEBHOOK_ADMIN_ADDR` (loopback by default) and
//! the webhook on `VWO_WEBHOOK_ADDR`.

use axum::Router;
use axum::routing::get;

use crate::METRICS_PATH;

/// The internal endpoints of a client, as one axum router (what the axum example serves on
/// the admin address).
pub fn router_of(client: &vwo_webhook_flags::Client) -> Result<Router, Box<dyn std::error::Error>> {
    let metrics = crate::Metrics::install(client.settings_store())?;
    Ok(Router::new()
        .route(METRICS_PATH, get(move || async move { metrics.render() }))
        .merge(vwo_webhook_axum::probes(vwo_webhook::Probes::shared(
            client.settings_store(),
        )))
        .merge(crate::flags::router(std::sync::Arc::clone(client.flags()))))
}
