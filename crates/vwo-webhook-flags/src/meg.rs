//! Mutually exclusive groups (`utils/MegUtil.ts`): of the group's campaigns a user is
//! eligible for, one wins (at random by weight, or by the group's priority order and weights),
//! and only the winner's rule applies. The winner is remembered for the rest of the run and in
//! storage (`_vwo_meta_meg_<groupId>`).

use std::sync::Arc;

use serde_json::Value;

use crate::bucket::{self, Weight};
use crate::decide::{Run, Stop, Whitelisted, Winners};
use crate::js;
use crate::model::{Feature, Group, Kind, Rule, property};
use crate::storage::StoredDecision;

/// How deep groups may nest through rollout rules before the SDK's recursion would overflow
/// its stack (a group whose rollout is in the same group recurses for ever).
const MAX_DEPTH: u32 = 64;

/// The storage key of a group's winner.
fn meg_key(group_id: &Value) -> String {
    format!("_vwo_meta_meg_{}", js::to_string(group_id))
}

/// `id_variationId` of a rule's first variation, as the group lists name personalize rules.
fn with_variation(rule: &Rule) -> Result<String, Stop> {
    Ok(format!(
        "{}_{}",
        js::to_string(&rule.id),
        js::to_string(&rule.first_variation()?.id)
    ))
}

fn remember(winners: Option<&mut Winners>, group_id: &Value, winner: Value) -> Result<(), Stop> {
    // `megGroupWinnerCampaigns.set(..)` on the `null` a group's rollout evaluation passes.
    let winners = winners.ok_or(Stop::Crash)?;
    winners.insert(js::to_string(group_id), winner);
    Ok(())
}

/// The rest of `checkWhitelistingAndPreSeg`: the group check, pre-segmentation, and the
/// group's winner when the rule is in one.
pub(crate) fn check_group(
    run: &mut Run<'_>,
    feature: &Feature,
    rule: &Arc<Rule>,
    mut winners: Option<&mut Winners>,
) -> Result<(bool, Option<Whitelisted>), Stop> {
    let group_id = rule.group.clone()?;
    let known = group_id
        .as_ref()
        .and_then(|g| winners.as_deref().and_then(|w| w.get(&js::to_string(g))).cloned());
    if let Some(winner) = known.filter(js::truthy) {
        let this = match rule.kind {
            Kind::Testing => js::strict_eq(&winner, &rule.id),
            Kind::Personalize => js::strict_eq(&winner, &Value::String(with_variation(rule)?)),
            _ => false,
        };
        return Ok((this, None));
    }
    let Some(group_id) = group_id.filter(js::truthy) else {
        return Ok((run.pre_segmentation(rule)?, None));
    };
    if let Some(stored) = run.access.get(&meg_key(&group_id))?
        && let (Some(_), Some(id)) = (
            stored.experiment_key.as_ref().filter(|v| js::truthy(v)),
            stored.experiment_id.as_ref().filter(|v| js::truthy(v)),
        )
    {
        let variation_id = stored.experiment_variation_id.clone().unwrap_or(Value::Null);
        let pair = Value::String(format!("{}_{}", js::to_string(id), js::to_string(&variation_id)));
        if js::strict_eq(id, &rule.id) {
            if rule.kind != Kind::Personalize {
                return Ok((true, None));
            }
            if js::strict_eq(&variation_id, &rule.first_variation()?.id) {
                return Ok((true, None));
            }
            remember(winners, &group_id, pair)?;
            return Ok((false, None));
        }
        let winner = if js::loose_eq(&variation_id, &Value::from(-1)) {
            id.clone()
        } else {
            pair
        };
        remember(winners, &group_id, winner)?;
        return Ok((false, None));
    }
    if !run.pre_segmentation(rule)? {
        return Ok((false, None));
    }
    let winner = evaluate_groups(run, feature, &group_id)?;
    run.note(|| match &winner {
        Some(w) => format!(
            "group {}: {} wins",
            js::to_string(&group_id),
            js::to_string(&w.key)
        ),
        None => format!(
            "group {}: none of this feature's rules wins",
            js::to_string(&group_id)
        ),
    });
    match winner {
        Some(winner) if js::strict_eq(&winner.id, &rule.id) => {
            if winner.kind == Kind::Testing {
                return Ok((true, None));
            }
            if js::strict_eq(&winner.first_variation()?.id, &rule.first_variation()?.id) {
                return Ok((true, None));
            }
            remember(
                winners.as_deref_mut(),
                &group_id,
                Value::String(with_variation(&winner)?),
            )?;
            Ok((false, None))
        }
        Some(winner) => {
            let value = if winner.kind == Kind::Testing {
                winner.id.clone()
            } else {
                Value::String(with_variation(&winner)?)
            };
            remember(winners, &group_id, value)?;
            Ok((false, None))
        }
        None => {
            remember(winners, &group_id, Value::from(-1))?;
            Ok((false, None))
        }
    }
}

/// `evaluateGroups`: the group's winner, if it is one of the called feature's campaigns.
fn evaluate_groups(
    run: &mut Run<'_>,
    feature: &Feature,
    group_id: &Value,
) -> Result<Option<Arc<Rule>>, Stop> {
    run.depth += 1;
    if run.depth > MAX_DEPTH {
        return Err(Stop::Crash);
    }
    let result = evaluate_groups_inner(run, feature, group_id);
    run.depth -= 1;
    result
}

fn evaluate_groups_inner(
    run: &mut Run<'_>,
    feature: &Feature,
    group_id: &Value,
) -> Result<Option<Arc<Rule>>, Stop> {
    let Some(group) = run.model.group(group_id)? else {
        return find_winner(run, &feature.key, Vec::new(), Vec::new(), group_id, None);
    };
    let model = run.model;
    let mut skip: Vec<String> = Vec::new();
    let mut campaigns: Vec<(String, Vec<Arc<Rule>>)> = Vec::new();
    for feature_key in &group.feature_keys {
        let Some(member) = model.feature(feature_key) else {
            continue;
        };
        if skip.contains(feature_key) {
            continue;
        }
        if !rollout_passed(run, member, &mut skip)? {
            continue;
        }
        for same in model.features_with_key(feature_key) {
            for rule in &same.rules {
                let listed = group.campaigns.contains(&js::to_string(&rule.id))
                    || group.campaigns.contains(&with_variation(rule)?);
                if !listed {
                    continue;
                }
                let slot = match campaigns.iter().position(|(key, _)| key == feature_key) {
                    Some(slot) => slot,
                    None => {
                        campaigns.push((feature_key.clone(), Vec::new()));
                        campaigns.len() - 1
                    }
                };
                let rules = &mut campaigns[slot].1;
                if !rules.iter().any(|r| js::strict_eq(&r.rule_key, &rule.rule_key)) {
                    rules.push(Arc::clone(rule));
                }
            }
        }
    }
    let (eligible, stored) = eligible(run, &campaigns)?;
    find_winner(run, &feature.key, eligible, stored, group_id, Some(&group))
}

/// `_isRolloutRuleForFeaturePassed`.
fn rollout_passed(run: &mut Run<'_>, feature: &Feature, skip: &mut Vec<String>) -> Result<bool, Stop> {
    if run.evaluated.contains_key(&feature.key) {
        return Ok(true);
    }
    let rollouts: Vec<&Arc<Rule>> = feature.rollout_rules().collect();
    if rollouts.is_empty() {
        return Ok(true);
    }
    let mut selected = None;
    for rule in rollouts {
        let (passed, _) = run.check_whitelisting_and_pre_segmentation(feature, rule, None)?;
        if passed {
            selected = Some(Arc::clone(rule));
            break;
        }
    }
    if let Some(rule) = selected
        && run.traffic_and_variation(&rule)?.is_some()
    {
        let variation_id = rule.first_variation()?.id.clone();
        run.evaluated.insert(
            feature.key.clone(),
            crate::decide::Passed {
                id: rule.id.clone(),
                key: rule.key.clone(),
                variation_id,
            },
        );
        return Ok(true);
    }
    skip.push(feature.key.clone());
    Ok(false)
}

/// The campaigns a user is eligible for, and those among them with a stored decision.
type Eligible = (Vec<Arc<Rule>>, Vec<Arc<Rule>>);

/// `_getEligbleCampaigns`: campaigns with a stored decision, and campaigns whose segments and
/// traffic take the user.
fn eligible(run: &mut Run<'_>, campaigns: &[(String, Vec<Arc<Rule>>)]) -> Result<Eligible, Stop> {
    let mut eligible = Vec::new();
    let mut stored_eligible: Vec<Arc<Rule>> = Vec::new();
    for (feature_key, rules) in campaigns {
        for rule in rules {
            let stored = run.access.get(feature_key)?;
            if let Some(stored) = stored
                && let (Some(variation_id), Some(key)) = (
                    stored.experiment_variation_id.as_ref().filter(|v| js::truthy(v)),
                    stored.experiment_key.as_ref().filter(|v| js::truthy(v)),
                )
                && js::strict_eq(key, &rule.key)
                && run.model.stored_variation(key, variation_id).is_some()
            {
                if !stored_eligible.iter().any(|r| js::strict_eq(&r.key, &rule.key)) {
                    stored_eligible.push(Arc::clone(rule));
                }
                continue;
            }
            if run.pre_segmentation(rule)? && run.is_user_part(rule)?.0 {
                eligible.push(Arc::clone(rule));
            }
        }
    }
    Ok((eligible, stored_eligible))
}

/// `_findWinnerCampaignAmongEligibleCampaigns`.
fn find_winner(
    run: &mut Run<'_>,
    feature_key: &str,
    eligible: Vec<Arc<Rule>>,
    stored: Vec<Arc<Rule>>,
    group_id: &Value,
    group: Option<&Group>,
) -> Result<Option<Arc<Rule>>, Stop> {
    let called = run.model.campaign_ids(feature_key);
    let random = group.is_none_or(|g| g.random);
    let pick = |run: &mut Run<'_>, list: &[Arc<Rule>]| -> Result<Option<Arc<Rule>>, Stop> {
        match list.len() {
            0 => Ok(None),
            1 => Ok(Some(Arc::clone(&list[0]))),
            _ if random => by_equal_weights(run, list, &called, group_id),
            _ => by_priority(run, list, &called, group_id, group),
        }
    };
    if !stored.is_empty() {
        return pick(run, &stored);
    }
    pick(run, &eligible)
}

fn bucket_in_group(run: &Run<'_>, group_id: &Value) -> f64 {
    let seed = if js::truthy(group_id) {
        format!("{}_{}", js::to_string(group_id), run.context.id)
    } else {
        // getBucketingSeed without a group and without a campaign reads `undefined.getType()`.
        String::new()
    };
    bucket::bucket_of(&seed, bucket::MAX_TRAFFIC_VALUE)
}

/// Stores the group's winner and returns it if it is one of the called feature's campaigns.
fn settle(
    run: &mut Run<'_>,
    winner: &Arc<Rule>,
    called: &[Value],
    group_id: &Value,
) -> Result<Option<Arc<Rule>>, Stop> {
    let variation_id = if winner.kind == Kind::Personalize {
        winner.first_variation()?.id.clone()
    } else {
        Value::from(-1)
    };
    let decision = StoredDecision {
        experiment_id: Some(winner.id.clone()),
        experiment_key: Some(winner.key.clone()),
        experiment_variation_id: Some(variation_id),
        ..StoredDecision::default()
    };
    if crate::decide::storable(&decision) {
        run.access.set(&meg_key(group_id), decision);
    }
    Ok(called
        .iter()
        .any(|id| js::strict_eq(id, &winner.id))
        .then(|| Arc::clone(winner)))
}

/// `_normalizeWeightsAndFindWinningCampaign`: equal weights, rounded to 4 decimals.
fn by_equal_weights(
    run: &mut Run<'_>,
    list: &[Arc<Rule>],
    called: &[Value],
    group_id: &Value,
) -> Result<Option<Arc<Rule>>, Stop> {
    let weight = ((100.0 / list.len() as f64) * 10_000.0 + 0.5).floor() / 10_000.0;
    let ranges = bucket::ranges(list.iter().map(|_| Weight::number(weight)));
    let value = bucket_in_group(run, group_id);
    // The SDK logs the winner's type without checking there is one.
    let (winner, _) = list
        .iter()
        .zip(ranges)
        .find(|(_, range)| range.contains(value))
        .ok_or(Stop::Crash)?;
    let winner = Arc::clone(winner);
    run.note(|| {
        format!(
            "group {}: {} wins at random",
            js::to_string(group_id),
            js::to_string(&winner.key)
        )
    });
    settle(run, &winner, called, group_id)
}

/// `_getCampaignUsingAdvancedAlgo`: the first campaign in the priority order, else one by the
/// group's weights.
fn by_priority(
    run: &mut Run<'_>,
    list: &[Arc<Rule>],
    called: &[Value],
    group_id: &Value,
    group: Option<&Group>,
) -> Result<Option<Arc<Rule>>, Stop> {
    let priority: Vec<Value> = match group.and_then(|g| g.priority.as_ref()) {
        None => Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(Value::String(s)) => s
            .encode_utf16()
            .map(|u| Value::String(String::from_utf16_lossy(&[u])))
            .collect(),
        Some(Value::Null) => return Err(Stop::Crash),
        Some(_) => Vec::new(),
    };
    let mut winner = None;
    'order: for wanted in &priority {
        for rule in list {
            if js::loose_eq(&rule.id, wanted) {
                winner = Some(Arc::clone(rule));
                break 'order;
            }
            if js::strict_eq(&Value::String(with_variation(rule)?), wanted) {
                winner = Some(Arc::clone(rule));
                break 'order;
            }
        }
    }
    if winner.is_none() {
        let weights = group.and_then(|g| g.weights.clone());
        if matches!(weights, Some(Value::Null)) {
            return Err(Stop::Crash);
        }
        let mut participating = Vec::new();
        for rule in list {
            let lookup = |key: &str| weights.as_ref().and_then(|w| property(w, key)).cloned();
            if let Some(weight) = lookup(&js::to_string(&rule.id)) {
                participating.push((Arc::clone(rule), weight));
            } else if let Some(weight) = lookup(&with_variation(rule)?) {
                participating.push((Arc::clone(rule), weight));
            }
        }
        let ranges = bucket::ranges(participating.iter().map(|(_, w)| Weight::of(Some(w))));
        let value = bucket_in_group(run, group_id);
        winner = participating
            .iter()
            .zip(ranges)
            .find(|(_, range)| range.contains(value))
            .map(|((r, _), _)| Arc::clone(r));
    }
    match winner {
        Some(winner) => {
            run.note(|| {
                format!(
                    "group {}: {} wins by priority and weight",
                    js::to_string(group_id),
                    js::to_string(&winner.key)
                )
            });
            settle(run, &winner, called, group_id)
        }
        None => Ok(None),
    }
}
