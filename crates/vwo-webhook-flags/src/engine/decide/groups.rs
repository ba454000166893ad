//! Mutually exclusive groups (`utils/MegUtil.ts`): of the group's campaigns a user is
//! eligible for, one wins (at random by weight, or by the group's priority order and weights),
//! and only the winner's rule applies. The winner is remembered for the rest of the run and in
//! storage (`_vwo_meta_meg_<groupId>`).

use std::sync::Arc;

use serde_json::Value;
use smallvec::SmallVec;

use super::{Run, Stop, Whitelisted, Winners};
use crate::engine::bucket::{self, Weight};
use crate::engine::js;
use crate::engine::model::{Feature, Group, GroupRef, Kind, Model, Rule, property};
use crate::engine::stored::StoredDecision;

/// How deep groups may nest through rollout rules before the SDK's recursion would overflow
/// its stack (a group whose rollout is in the same group recurses for ever).
const MAX_DEPTH: u32 = 64;

/// `megGroupWinnerCampaigns.set(..)`, which throws on the `null` a group's rollout
/// evaluation passes.
fn remember(winners: Option<&mut Winners>, group: &GroupRef, winner: Value) -> Result<(), Stop> {
    let winners = winners.ok_or(Stop::Throw)?;
    match winners.iter_mut().find(|(index, _)| *index == group.index) {
        Some(slot) => slot.1 = winner,
        None => winners.push((group.index, winner)),
    }
    Ok(())
}

/// What a group remembers a winner as: a testing rule by its id, a personalize rule by
/// `id_variationId`.
fn winner_value(winner: &Rule) -> Result<Value, Stop> {
    Ok(if winner.kind == Kind::Testing {
        winner.id.clone()
    } else {
        Value::String(winner.pair()?.to_owned())
    })
}

/// The rest of `checkWhitelistingAndPreSeg`: the group check, pre-segmentation, and the
/// group's winner when the rule is in one.
pub(super) fn check_group<'a>(
    run: &mut Run<'a, '_>,
    feature: &Feature,
    rule: &'a Rule,
    mut winners: Option<&mut Winners>,
) -> Result<(bool, Option<Whitelisted<'a>>), Stop> {
    let group = rule.group.as_ref().map_err(|&throw| throw)?.as_deref();
    let known = group.as_ref().and_then(|g| {
        winners
            .as_deref()
            .and_then(|w| w.iter().find(|(index, _)| *index == g.index))
            .map(|(_, v)| v.clone())
    });
    if let Some(winner) = known.filter(js::truthy) {
        let this = match rule.kind {
            Kind::Testing => js::strict_eq(&winner, &rule.id),
            Kind::Personalize => winner.as_str() == Some(rule.pair()?),
            _ => false,
        };
        return Ok((this, None));
    }
    let Some(group) = group.filter(|g| js::truthy(&g.id)) else {
        return Ok((run.pre_segmentation(rule)?, None));
    };
    if let Some(stored) = run.stored(&group.storage_key)?
        && let (Some(_), Some(id)) = (
            stored.experiment_key.as_ref().filter(|v| js::truthy(v)),
            stored.experiment_id.as_ref().filter(|v| js::truthy(v)),
        )
    {
        let variation_id = stored.experiment_variation_id.clone().unwrap_or(Value::Null);
        let pair = Value::String(format!("{}_{}", js::to_string(id), js::to_string(&variation_id)));
        if js::strict_eq(id, &rule.id) {
            if rule.kind != Kind::Personalize || js::strict_eq(&variation_id, &rule.first_variation()?.id) {
                return Ok((true, None));
            }
            remember(winners, group, pair)?;
            return Ok((false, None));
        }
        let winner = if js::loose_eq(&variation_id, &Value::from(-1)) {
            id.clone()
        } else {
            pair
        };
        remember(winners, group, winner)?;
        return Ok((false, None));
    }
    if !run.pre_segmentation(rule)? {
        return Ok((false, None));
    }
    let winner = evaluate_groups(run, feature, group)?;
    run.note(|| match &winner {
        Some(w) => format!("group {}: {} wins", group.text, w.key_text),
        None => format!("group {}: none of this feature's rules wins", group.text),
    });
    match winner {
        Some(winner) if js::strict_eq(&winner.id, &rule.id) => {
            if winner.kind == Kind::Testing
                || js::strict_eq(&winner.first_variation()?.id, &rule.first_variation()?.id)
            {
                return Ok((true, None));
            }
            remember(
                winners.as_deref_mut(),
                group,
                Value::String(winner.pair()?.to_owned()),
            )?;
            Ok((false, None))
        }
        Some(winner) => {
            remember(winners, group, winner_value(winner)?)?;
            Ok((false, None))
        }
        None => {
            remember(winners, group, Value::from(-1))?;
            Ok((false, None))
        }
    }
}

/// `evaluateGroups`: the group's winner, if it is one of the called feature's campaigns.
fn evaluate_groups<'a>(
    run: &mut Run<'a, '_>,
    feature: &Feature,
    group: &GroupRef,
) -> Result<Option<&'a Rule>, Stop> {
    run.depth += 1;
    let result = if run.depth > MAX_DEPTH {
        Err(Stop::Throw)
    } else {
        evaluate_groups_inner(run, feature, group)
    };
    run.depth -= 1;
    result
}

/// A member feature whose rollout passed: its index and its experiment rules.
type Candidate<'m> = (usize, &'m [Arc<Rule>]);

fn evaluate_groups_inner<'a>(
    run: &mut Run<'a, '_>,
    feature: &Feature,
    group_ref: &GroupRef,
) -> Result<Option<&'a Rule>, Stop> {
    let model: &'a Model = run.model;
    let group = model.group(group_ref)?;
    let mut skip: SmallVec<[usize; 8]> = SmallVec::new();
    let mut campaigns: SmallVec<[Candidate<'_>; 8]> = SmallVec::new();
    for member in &group.members {
        if skip.contains(&member.feature) {
            continue;
        }
        if held_out(run, member.feature)? {
            skip.push(member.feature);
            continue;
        }
        if !rollout_passed(run, member.feature, &mut skip)? {
            continue;
        }
        let rules = member.rules.as_deref().map_err(|_| Stop::Throw)?;
        if !rules.is_empty() {
            campaigns.push((member.feature, rules));
        }
    }
    let (eligible, stored) = eligible(run, &campaigns)?;
    find_winner(run, feature, eligible, stored, group_ref, group)
}

/// Whether a holdout holds the user out of a member feature, which then leaves the group's
/// candidates: as storage says, or as its holdouts decide now (stored, without impressions).
fn held_out(run: &mut Run<'_, '_>, index: usize) -> Result<bool, Stop> {
    let model = run.model;
    if !model.has_holdouts() && !run.access.remembers() {
        return Ok(false);
    }
    let feature = &model.features[index];
    let stored = run.stored(&feature.key)?;
    if stored.as_deref().and_then(StoredDecision::in_holdouts).is_some() {
        return Ok(true);
    }
    if !model.has_holdouts() {
        return Ok(false);
    }
    let matched = run.holdouts_taking(feature, stored.as_deref())?;
    if matched.is_empty() {
        return Ok(false);
    }
    run.write(&feature.key, || StoredDecision {
        is_in_holdout_id: Some(Value::Array(super::holdouts::ids(&matched).collect())),
        ..StoredDecision::default()
    });
    Ok(true)
}

/// `_isRolloutRuleForFeaturePassed`.
fn rollout_passed(
    run: &mut Run<'_, '_>,
    index: usize,
    skip: &mut SmallVec<[usize; 8]>,
) -> Result<bool, Stop> {
    let model = run.model;
    let feature = &model.features[index];
    if run.evaluated.contains(&&*feature.key) {
        return Ok(true);
    }
    if feature.rollout_rules().next().is_none() {
        return Ok(true);
    }
    let mut selected = None;
    for rule in feature.rollout_rules() {
        let (passed, _) = run.check_whitelisting_and_pre_segmentation(feature, rule, None)?;
        if passed {
            selected = Some(rule);
            break;
        }
    }
    if let Some(rule) = selected
        && run.traffic_and_variation(rule)?.is_some()
    {
        run.evaluated.push(&feature.key);
        return Ok(true);
    }
    skip.push(index);
    Ok(false)
}

/// Rules of a group, as a decision collects them.
type Rules<'a> = SmallVec<[&'a Rule; 8]>;

/// The campaigns a user is eligible for, and those among them with a stored decision.
type Eligible<'a> = (Rules<'a>, Rules<'a>);

/// `_getEligbleCampaigns`: campaigns with a stored decision, and campaigns whose segments and
/// traffic take the user.
fn eligible<'a>(run: &mut Run<'a, '_>, campaigns: &[Candidate<'a>]) -> Result<Eligible<'a>, Stop> {
    let mut eligible = Rules::new();
    let mut stored_eligible = Rules::new();
    for (feature, rules) in campaigns {
        let feature_key = &run.model.features[*feature].key;
        for rule in *rules {
            if let Some(stored) = run.stored(feature_key)?
                && let (Some(variation_id), Some(key)) = (
                    stored.experiment_variation_id.as_ref().filter(|v| js::truthy(v)),
                    stored.experiment_key.as_ref().filter(|v| js::truthy(v)),
                )
                && rule.key.strict_eq(key)
                && run.model.stored_variation(key, variation_id).is_some()
            {
                if !stored_eligible.iter().any(|r| r.key.strict_eq_scalar(&rule.key)) {
                    stored_eligible.push(rule);
                }
                continue;
            }
            if run.pre_segmentation(rule)? && run.is_user_part(rule)?.0 {
                eligible.push(rule);
            }
        }
    }
    Ok((eligible, stored_eligible))
}

/// `_findWinnerCampaignAmongEligibleCampaigns`.
fn find_winner<'a>(
    run: &mut Run<'a, '_>,
    feature: &Feature,
    eligible: Rules<'a>,
    stored: Rules<'a>,
    group_ref: &GroupRef,
    group: &Group,
) -> Result<Option<&'a Rule>, Stop> {
    let called = &feature.campaign_ids;
    let list = if stored.is_empty() { eligible } else { stored };
    match list.len() {
        0 => Ok(None),
        1 => Ok(Some(list[0])),
        _ if group.random => by_equal_weights(run, &list, called, group_ref),
        _ => by_priority(run, &list, called, group_ref, group),
    }
}

/// `calculateBucketValue(getBucketingSeed(seed or userId, undefined, groupId))`.
fn bucket_in_group(run: &Run<'_, '_>, group: &GroupRef) -> f64 {
    bucket::bucket(
        bucket::hash_joined([&group.text, run.context.bucketing_id()]),
        bucket::MAX_TRAFFIC_VALUE,
    )
}

/// Stores the group's winner (with storage) and returns it if it is one of the called
/// feature's campaigns.
fn settle<'a>(
    run: &mut Run<'a, '_>,
    winner: &'a Rule,
    called: &[Value],
    group: &GroupRef,
) -> Result<Option<&'a Rule>, Stop> {
    if run.access.remembers() {
        remember_winner(run, winner, group)?;
    } else if winner.kind == Kind::Personalize {
        // Reading the winner's first variation throws without one, storage or not.
        winner.first_variation()?;
    }
    Ok(called
        .iter()
        .any(|id| js::strict_eq(id, &winner.id))
        .then_some(winner))
}

/// Stores the group's winner for the user.
fn remember_winner(run: &mut Run<'_, '_>, winner: &Rule, group: &GroupRef) -> Result<(), Stop> {
    let variation_id = if winner.kind == Kind::Personalize {
        winner.first_variation()?.id.clone()
    } else {
        Value::from(-1)
    };
    let decision = StoredDecision {
        experiment_id: Some(winner.id.clone()),
        experiment_key: Some(winner.key.to_value()),
        experiment_variation_id: Some(variation_id),
        ..StoredDecision::default()
    };
    if crate::engine::decide::storable(&decision) {
        run.access.set(&group.storage_key, decision);
    }
    Ok(())
}

/// `_normalizeWeightsAndFindWinningCampaign`: equal weights, rounded to 4 decimals.
fn by_equal_weights<'a>(
    run: &mut Run<'a, '_>,
    list: &[&'a Rule],
    called: &[Value],
    group: &GroupRef,
) -> Result<Option<&'a Rule>, Stop> {
    let weight = ((100.0 / list.len() as f64) * 10_000.0 + 0.5).floor() / 10_000.0;
    let ranges = bucket::ranges(list.iter().map(|_| Weight::number(weight)));
    let value = bucket_in_group(run, group);
    // The SDK logs the winner's type without checking there is one.
    let (winner, _) = list
        .iter()
        .zip(ranges)
        .find(|(_, range)| range.contains(value))
        .ok_or(Stop::Throw)?;
    let winner: &'a Rule = winner;
    run.note(|| format!("group {}: {} wins at random", group.text, winner.key_text));
    settle(run, winner, called, group)
}

/// `_getCampaignUsingAdvancedAlgo`: the first campaign in the priority order, else one by the
/// group's weights.
fn by_priority<'a>(
    run: &mut Run<'a, '_>,
    list: &[&'a Rule],
    called: &[Value],
    group_ref: &GroupRef,
    group: &Group,
) -> Result<Option<&'a Rule>, Stop> {
    // `p` in order: an array's items, or a string's UTF-16 units, each compared as the SDK
    // compares them.
    let matches = |rule: &Rule, wanted: &Value| -> Result<bool, Stop> {
        Ok(js::loose_eq(&rule.id, wanted) || wanted.as_str() == Some(rule.pair()?))
    };
    let mut winner = None;
    match &group.priority {
        Some(Value::Array(items)) => {
            // `id == wanted` for a numeric id is `id === Number(wanted)` (never for `null`).
            let matches_item = |rule: &Rule, wanted: &Value, number: f64| -> Result<bool, Stop> {
                match &rule.id {
                    Value::Number(id) => {
                        Ok(id.as_f64() == Some(number) || wanted.as_str() == Some(rule.pair()?))
                    }
                    _ => matches(rule, wanted),
                }
            };
            'order: for (wanted, number) in items.iter().zip(&group.priority_numbers) {
                for rule in list {
                    if matches_item(rule, wanted, *number)? {
                        winner = Some(*rule);
                        break 'order;
                    }
                }
            }
        }
        Some(Value::String(s)) => {
            'units: for unit in s.encode_utf16() {
                let wanted = Value::String(String::from_utf16_lossy(&[unit]));
                for rule in list {
                    if matches(rule, &wanted)? {
                        winner = Some(*rule);
                        break 'units;
                    }
                }
            }
        }
        Some(Value::Null) => return Err(Stop::Throw),
        None | Some(_) => {}
    }
    if winner.is_none() {
        if matches!(group.weights, Some(Value::Null)) {
            return Err(Stop::Throw);
        }
        let lookup = |key: &str| group.weights.as_ref().and_then(|w| property(w, key)).cloned();
        let mut participating = Vec::new();
        for rule in list {
            if let Some(weight) = lookup(&rule.id_text) {
                participating.push((*rule, weight));
            } else if let Some(weight) = lookup(rule.pair()?) {
                participating.push((*rule, weight));
            }
        }
        let ranges = bucket::ranges(participating.iter().map(|(_, w)| Weight::of(Some(w))));
        let value = bucket_in_group(run, group_ref);
        winner = participating
            .iter()
            .zip(ranges)
            .find(|(_, range)| range.contains(value))
            .map(|((r, _), _)| *r);
    }
    match winner {
        Some(winner) => {
            run.note(|| {
                format!(
                    "group {}: {} wins by priority and weight",
                    group_ref.text, winner.key_text
                )
            });
            settle(run, winner, called, group_ref)
        }
        None => Ok(None),
    }
}
