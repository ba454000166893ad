//! What a decision queues: the impressions that make an experiment's variations show in
//! VWO's reports, or the user counted as evaluated.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::engine::{Context, Decision, Model, Reason};
use crate::events::payload::{Pending, What};
use crate::events::reporter::Reporter;

/// Milliseconds since the Unix epoch, as the SDK stamps events.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Queues what the SDK sends for `decision`: its impressions, or `vwo_feTrackUsage` when it
/// showed the user nothing and the account counts monthly users (`isMAU`). Nothing for a
/// user in dev mode with the settings' `devMode` on, but the impressions of holdouts that
/// hold the user out (the SDK sends those on a path that does not check dev mode).
pub(crate) fn report(reporter: &Reporter, model: &Model, context: &Context, decision: &Decision) {
    if !reporter.is_enabled() {
        return;
    }
    let events = &model.events;
    if events.dev_mode && context.is_dev_mode() && decision.flag.reason() != Reason::InHoldout {
        return;
    }
    let replayed = decision.replayed.min(decision.impressions.len());
    let showed = decision.impressions.len() > replayed;
    let usage = events.usage && !showed && decision.flag.reason() != Reason::InvalidSettings;
    if decision.impressions.is_empty() && !usage {
        return;
    }
    let at_ms = now_ms();
    let web_uuid = events.web_uuids && context.has_web_uuid();
    let pending = |what, continues| Pending {
        what,
        context: context.clone(),
        at_ms,
        prefix: events.collection_prefix.clone(),
        web_uuid,
        continues,
    };
    // The SDK sends the usage event in a request of its own.
    let usage = usage.then(|| pending(What::Usage, false));
    reporter.push(
        decision
            .impressions
            .iter()
            .enumerate()
            .map(|(index, impression)| {
                pending(
                    What::Shown {
                        campaign_id: impression.campaign_id.clone(),
                        variation_id: impression.variation_id.clone(),
                        vwo_user_id: impression.vwo_user_id.clone(),
                        feature_id: impression.feature_id.clone(),
                    },
                    // The replayed impressions and the decision's own go as two requests.
                    index != 0 && index != replayed,
                )
            })
            .chain(usage),
    );
}
