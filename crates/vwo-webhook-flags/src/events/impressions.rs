//! The impressions a decision queues: what makes an experiment's variations show in VWO's
//! reports.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::engine::Context;
use crate::engine::Impression;
use crate::engine::Model;
use crate::events::payload::{Pending, What};
use crate::events::reporter::Reporter;

/// Milliseconds since the Unix epoch, as the SDK stamps events.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Queues the impressions a decision made.
pub(crate) fn queue(reporter: &Reporter, model: &Model, context: &Context, impressions: &[Impression]) {
    if !reporter.is_enabled() || impressions.is_empty() {
        return;
    }
    let at_ms = now_ms();
    let prefix = &model.events.collection_prefix;
    reporter.push(impressions.iter().map(|impression| Pending {
        what: What::Shown {
            campaign_id: impression.campaign_id.clone(),
            variation_id: impression.variation_id.clone(),
            vwo_user_id: impression.vwo_user_id.clone(),
            feature_id: impression.feature_id.clone(),
        },
        context: context.clone(),
        at_ms,
        prefix: prefix.clone(),
    }));
}
