//! `getFlag`: the rule order, traffic, bucketing and whitelisting of `api/GetFlag.ts`,
//! `utils/DecisionUtil.ts` and `services/CampaignDecisionService.ts`, step for step. Mutually
//! exclusive groups are in [`groups`]; pre-segmentation and whitelisting in `segments`;
//! traffic and variation bucketing in `traffic`.
//!
//! [`decide`] is the engine's door. A run is pure apart from its storage view, so the async
//! path can replay it (see [`crate::Flags::get_flag_async`]).

use std::sync::Arc;

use serde_json::Value;
use smallvec::SmallVec;

use crate::engine::context::Context;
use crate::engine::flag::{Flag, Placement, Reason, RuleDecision};
use crate::engine::js;
use crate::engine::model::{Feature, Model, ReportedId, Rule, Variation};
use crate::engine::segment::Throw;
use crate::engine::stored::StoredDecision;
use crate::engine::variable::Scalar;

mod groups;
mod holdouts;
mod segments;
mod traffic;

use holdouts::same_id;

/// What a decision answers: the flag, and (when asked for) the impressions the SDK sends for
/// it and the path to the answer.
#[derive(Debug)]
pub(crate) struct Decision {
    pub(crate) flag: Flag,
    /// Empty unless asked for ([`Records::impressions`]).
    pub(crate) impressions: Impressions,
    /// How many of the impressions, at the front, are of holdouts added after a stored
    /// decision: the SDK sends them in a request of their own, and they do not count as the
    /// decision showing the user something (`isVariationShownFired`).
    pub(crate) replayed: usize,
    /// Which rules were tried and which check failed; empty unless traced.
    pub(crate) trace: Vec<String>,
}

/// A storage key the decision needs that the view has not read yet: the async path reads it
/// and decides again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Miss(pub(crate) String);

/// What a decision records besides the flag. Impressions are only for a reporter: without
/// one, a decision builds none (a decision with two holdouts spends about 5% of its
/// instructions making and dropping them).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Records {
    /// The impressions the SDK sends.
    pub(crate) impressions: bool,
    /// The path to the answer: which rules were tried and which check failed.
    pub(crate) trace: bool,
}

/// Decides `feature_key` for `context` on `model`, as the SDK's `getFlag` does: reads and
/// writes sticky decisions through `storage`, asks `lists` for `inlist(..)` segments, and
/// records what `records` asks for. Where the SDK would throw, the flag is off
/// ([`Reason::InvalidSettings`]) and the impressions made before are kept, as the SDK sends them.
pub(crate) fn decide(
    model: &Model,
    feature_key: &str,
    context: &Context,
    storage: &mut dyn StorageView,
    lists: &dyn Lists,
    records: Records,
) -> Result<Decision, Miss> {
    let mut outcome = Decided::default();
    Run::new(model, context, storage, lists, records).get_flag(feature_key, &mut outcome)?;
    Ok(Decision {
        flag: flag_of(&mut outcome),
        replayed: outcome.replayed,
        impressions: outcome.impressions,
        trace: outcome.trace,
    })
}

/// The answer a run's outcome gives (the holdouts that held the user out move into it).
fn flag_of(outcome: &mut Decided<'_>) -> Flag {
    let reason = if outcome.threw {
        Reason::InvalidSettings
    } else if outcome.stored {
        Reason::Stored
    } else if !outcome.held_out_by.is_empty() {
        Reason::InHoldout
    } else if outcome.unknown_feature {
        Reason::UnknownFeature
    } else if outcome.enabled {
        Reason::Matched
    } else {
        Reason::NoRulePassed
    };
    let enabled = outcome.enabled && !outcome.threw;
    let rule = |passed: &Passed<'_>| match passed {
        Passed::Rule { rule, variation, how } => variation.reported(rule, *how),
        Passed::Stored(stored) => Arc::new(RuleDecision {
            campaign_id: stored.id.clone(),
            key: Arc::clone(&stored.key_text),
            variation_id: stored.variation_id.clone(),
            placement: Placement::Stored,
        }),
    };
    Flag {
        enabled,
        variables: outcome
            .variation
            .as_ref()
            .filter(|_| enabled)
            .map(|v| Arc::clone(&v.variables)),
        rollout: outcome.rollout.as_ref().filter(|_| enabled).map(rule),
        experiment: outcome.experiment.as_ref().filter(|_| enabled).map(rule),
        reason,
        holdouts: (!outcome.held_out_by.is_empty())
            .then(|| std::mem::take(&mut outcome.held_out_by).into_boxed_slice()),
        holdout_evaluated: outcome.holdout_evaluated,
    }
}

/// Which id `_wingifyUserId` holds: the context's, or the SDK's UUID for it (a rule with a user
/// list). Named, not copied: a decision sets it for every rule it checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UserIdKind {
    Id,
    Uuid,
}

/// The text of a `_wingifyUserId`; `uuid` is computed before a [`UserIdKind::Uuid`] is set.
fn user_id_text<'r>(
    kind: Option<UserIdKind>,
    context: &'r Context,
    uuid: &'r Option<String>,
) -> Option<&'r str> {
    match kind? {
        UserIdKind::Id => Some(context.id()),
        UserIdKind::Uuid => uuid.as_deref(),
    }
}

/// Why a run stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stop {
    /// Where the SDK throws: its answer is "disabled".
    Throw,
    /// The async path has not read this storage key yet.
    Miss(String),
}

impl From<Miss> for Stop {
    fn from(Miss(key): Miss) -> Self {
        Stop::Miss(key)
    }
}

impl From<Throw> for Stop {
    fn from(_: Throw) -> Self {
        Stop::Throw
    }
}

/// Storage as one run sees it (already bound to the user).
pub(crate) trait StorageView {
    /// What storage holds for `key`, or [`Miss`] where the view has not read it yet.
    fn get(&mut self, key: &str) -> Result<Option<StoredDecision>, Miss>;
    fn set(&mut self, key: &str, decision: StoredDecision);
    /// Whether there is storage: without it a decision reads nothing and builds nothing to
    /// store.
    fn remembers(&self) -> bool {
        true
    }
}

/// VWO's gateway, for `inlist` segments.
pub(crate) trait Lists {
    fn in_list(&self, list_id: &str, attribute: &str) -> bool;
}

/// A rule that passed, as the SDK's integrations callback reports it: the settings' rule, or
/// what storage recorded of it (read as stored). Borrowed from the settings during a run; the
/// [`Flag`] then shares the variation's record of it ([`Variation::reported`]).
#[derive(Debug, Clone)]
enum Passed<'a> {
    Rule {
        rule: &'a Rule,
        variation: &'a Variation,
        how: Placement,
    },
    Stored(Box<StoredRule>),
}

/// A rule as storage recorded it.
#[derive(Debug, Clone, PartialEq)]
struct StoredRule {
    id: Value,
    key: Scalar,
    /// `String(key)`.
    key_text: Arc<str>,
    variation_id: Value,
}

impl Passed<'_> {
    /// A rule storage recorded.
    fn stored(id: Value, key: &Value, variation_id: Value) -> Self {
        Passed::Stored(Box::new(StoredRule {
            id,
            key: Scalar::of(key),
            key_text: Arc::from(js::to_string(key)),
            variation_id,
        }))
    }

    fn id(&self) -> &Value {
        match self {
            Passed::Rule { rule, .. } => &rule.id,
            Passed::Stored(stored) => &stored.id,
        }
    }

    fn key(&self) -> &Scalar {
        match self {
            Passed::Rule { rule, .. } => &rule.key,
            Passed::Stored(stored) => &stored.key,
        }
    }

    fn variation_id(&self) -> &Value {
        match self {
            Passed::Rule { variation, .. } => &variation.id,
            Passed::Stored(stored) => &stored.variation_id,
        }
    }
}

/// An impression the SDK sends (`vwo_variationShown`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Impression {
    pub(crate) campaign_id: ReportedId,
    pub(crate) variation_id: ReportedId,
    /// `customVariables._wingifyUserId` as the decision had set it when the impression was made
    /// (kept only for a context that reports custom variables with its impressions).
    pub(crate) vwo_user_id: Option<String>,
    /// For a holdout's impression, the feature it was evaluated for (`fId`): such an
    /// impression carries the base payload only.
    pub(crate) feature_id: Option<ReportedId>,
}

/// A decision's impressions: a few (one per holdout evaluated, one per rule that bucketed
/// the user). On the heap, allocated only when there is one: a decision without a reporter
/// makes none, and room for four inline made every move of a [`Decision`] copy 320 bytes.
pub(crate) type Impressions = Vec<Impression>;

/// What a run decided. Built in place (it is large, and a decision is short).
#[derive(Debug, Default)]
struct Decided<'a> {
    enabled: bool,
    variation: Option<&'a Arc<Variation>>,
    rollout: Option<Passed<'a>>,
    experiment: Option<Passed<'a>>,
    impressions: Impressions,
    /// How many of the impressions are of holdouts added after a stored decision.
    replayed: usize,
    /// Whether the run evaluated a holdout of the feature for its own answer
    /// ([`Flag::holdout_evaluated`]): holdouts added after a stored decision, and those
    /// evaluated again for a user storage holds out, are only reported. Once the SDK throws,
    /// any holdout reported counts.
    holdout_evaluated: bool,
    /// Whether the run reported a holdout, evaluated or not (what counts once it throws).
    holdout_reported: bool,
    trace: Vec<String>,
    /// The feature does not exist.
    unknown_feature: bool,
    /// The SDK would have thrown (and answered "disabled").
    threw: bool,
    /// A stored experiment, or a stored holdout, answered before any rule was evaluated.
    stored: bool,
    /// The holdouts that hold the user out of the feature (a `Vec`: empty, it costs a decision
    /// without holdouts three words).
    held_out_by: Vec<Value>,
}

/// A whitelisted variation.
struct Whitelisted<'a> {
    variation: &'a Arc<Variation>,
}

/// `evaluatedFeatureMap`: the keys of the features whose rollout passed during this run.
type Evaluated<'a> = SmallVec<[&'a str; 4]>;

/// The group winners found during this run (`megGroupWinnerCampaigns`), by group.
type Winners = SmallVec<[(usize, Value); 2]>;

/// A holdout, by its index, and what its segments saw of `_wingifyUserId`: the key of a
/// verdict a run keeps.
type HoldoutSeen = (usize, Option<UserIdKind>);

/// One decision in progress.
struct Run<'a, 'r> {
    model: &'a Model,
    context: &'a Context,
    access: &'r mut dyn StorageView,
    lists: &'r dyn Lists,
    /// `_wingifyUserId` as it stands in the custom variables and in the variation targeting
    /// variables (the SDK sets it per rule, and later reads see the last one set).
    custom_user_id: Option<UserIdKind>,
    targeting_user_id: Option<UserIdKind>,
    uuid: Option<String>,
    evaluated: Evaluated<'a>,
    /// Holdout verdicts that hold for the whole run.
    holdout_verdicts: SmallVec<[(HoldoutSeen, bool); 2]>,
    /// Whether impressions are made ([`Records::impressions`]).
    reports: bool,
    depth: u32,
    trace: Option<Vec<String>>,
}

impl<'a, 'r> Run<'a, 'r> {
    fn new(
        model: &'a Model,
        context: &'a Context,
        access: &'r mut dyn StorageView,
        lists: &'r dyn Lists,
        records: Records,
    ) -> Self {
        Self {
            model,
            context,
            access,
            lists,
            custom_user_id: None,
            targeting_user_id: None,
            uuid: None,
            evaluated: SmallVec::new(),
            holdout_verdicts: SmallVec::new(),
            reports: records.impressions,
            depth: 0,
            trace: records.trace.then(Vec::new),
        }
    }

    #[inline]
    fn note(&mut self, message: impl FnOnce() -> String) {
        if let Some(trace) = &mut self.trace {
            trace.push(message());
        }
    }

    /// What storage holds for `key`, without a call when there is no storage.
    #[inline]
    ///
    /// Boxed: a record is large, and most decisions have none to move about.
    fn stored(&mut self, key: &str) -> Result<Option<Box<StoredDecision>>, Stop> {
        if self.access.remembers() {
            Ok(self.access.get(key)?.map(Box::new))
        } else {
            Ok(None)
        }
    }

    /// `setDataInStorage`: stores the decision `make` builds unless the SDK's checks refuse
    /// it; without storage nothing is built.
    fn write(&mut self, key: &str, make: impl FnOnce() -> StoredDecision) {
        if !self.access.remembers() {
            return;
        }
        let decision = make();
        if storable(&decision) {
            self.access.set(key, decision);
        }
    }

    /// Whether a holdout that applies to `feature` is among those `listed` in storage
    /// (`includes`: an array's items, or a text's substrings; on anything else it throws).
    fn still_held_out(&self, feature: &Feature, listed: &Value) -> Result<bool, Stop> {
        for holdout in self.model.holdouts_of(feature) {
            let found = match listed {
                Value::Array(ids) => ids.iter().any(|id| same_id(id, &holdout.id)),
                Value::String(text) => text.contains(&js::to_string(&holdout.id)),
                _ => return Err(Stop::Throw),
            };
            if found {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// A user storage holds out of `feature`: holdouts added since are evaluated and stored
    /// with the others, and the flag is off.
    fn held_out_again(
        &mut self,
        feature: &'a Feature,
        stored: &StoredDecision,
        listed: &Value,
        outcome: &mut Decided<'a>,
    ) -> Result<(), Stop> {
        self.note(|| format!("stored decision: held out by holdout {}", js::to_string(listed)));
        let evaluated = self.matched_holdouts(feature, Some(stored), outcome)?;
        // `[...isInHoldoutId, ...matched]`: a text spreads into its characters.
        let mut is_in: Vec<Value> = match listed {
            Value::Array(ids) => ids.clone(),
            Value::String(text) => text.chars().map(|c| Value::String(c.to_string())).collect(),
            _ => Vec::new(),
        };
        is_in.extend(holdouts::ids(&evaluated.matched));
        let mut not_in = StoredDecision::ids(stored.not_in_holdout_id.as_ref()).to_vec();
        not_in.extend(holdouts::ids(&evaluated.not_matched));
        self.write(&feature.key, || StoredDecision {
            is_in_holdout_id: Some(Value::Array(is_in.clone())),
            not_in_holdout_id: Some(Value::Array(not_in)),
            ..StoredDecision::default()
        });
        if self.reports {
            outcome.replayed += evaluated.len();
        }
        outcome.stored = true;
        outcome.held_out_by = is_in;
        Ok(())
    }

    /// Computes the SDK's UUID for this user and account (`getUUID`), once a run.
    fn compute_uuid(&mut self) {
        if self.uuid.is_none() {
            self.uuid = Some(crate::engine::uuid::user_uuid(
                self.context.id(),
                &self.model.account_id,
            ));
        }
    }

    /// Decides `feature_key` into `outcome` (a default one).
    fn get_flag(mut self, feature_key: &str, outcome: &mut Decided<'a>) -> Result<(), Miss> {
        match self.decide_feature(feature_key, outcome) {
            Ok(()) => {
                outcome.trace = self.trace.take().unwrap_or_default();
                Ok(())
            }
            Err(Stop::Throw) => {
                let mut trace = self.trace.take().unwrap_or_default();
                trace.push("the SDK throws here, and answers: disabled".to_owned());
                // The impressions made before the SDK threw are still sent.
                let impressions = std::mem::take(&mut outcome.impressions);
                *outcome = Decided {
                    threw: true,
                    impressions,
                    holdout_evaluated: outcome.holdout_reported,
                    holdout_reported: outcome.holdout_reported,
                    trace,
                    ..Decided::default()
                };
                Ok(())
            }
            Err(Stop::Miss(key)) => Err(Miss(key)),
        }
    }

    fn decide_feature(&mut self, feature_key: &str, outcome: &mut Decided<'a>) -> Result<(), Stop> {
        let mut check_experiments = false;
        let mut rollout_variation: Option<&'a Arc<Variation>> = None;
        let mut experiment_variation: Option<&'a Arc<Variation>> = None;
        let model: &'a Model = self.model;
        let known = model.feature(feature_key);

        let stored = self.stored(feature_key)?;
        if let Some(stored) = &stored
            && let Some(listed) = stored.in_holdouts()
        {
            // A feature the settings no longer define has no id to read: the SDK throws.
            let feature = known.ok_or(Stop::Throw)?;
            if self.still_held_out(feature, listed)? {
                self.held_out_again(feature, stored, listed, outcome)?;
                return Ok(());
            }
        }
        let mut not_in_holdouts: Vec<Value> = Vec::new();
        // A stored rollout or experiment counts only for a feature of these settings (1.36).
        if let Some(stored) = &stored
            && stored
                .feature_id
                .as_ref()
                .is_some_and(|id| js::truthy(id) && model.has_feature_id(id))
        {
            if let Some(variation_id) = stored.experiment_variation_id.as_ref().filter(|v| js::truthy(v)) {
                if let Some(key) = stored.experiment_key.as_ref().filter(|v| js::truthy(v))
                    && let Some(variation) = self.model.stored_variation(key, variation_id)
                {
                    self.note(|| {
                        format!(
                            "stored decision: experiment {} variation {}",
                            js::to_string(key),
                            js::to_string(variation_id)
                        )
                    });
                    let feature = known.ok_or(Stop::Throw)?;
                    self.not_in_new_holdouts(feature, stored, outcome);
                    outcome.enabled = true;
                    outcome.variation = Some(variation);
                    outcome.experiment = Some(Passed::stored(
                        stored.experiment_id.clone().unwrap_or(Value::Null),
                        key,
                        variation_id.clone(),
                    ));
                    outcome.stored = true;
                    return Ok(());
                }
            } else if let (Some(key), Some(id)) = (
                stored.rollout_key.as_ref().filter(|v| js::truthy(v)),
                stored.rollout_id.as_ref().filter(|v| js::truthy(v)),
            ) {
                let variation_id = stored.rollout_variation_id.clone().unwrap_or(Value::Null);
                if let Some(variation) = self.model.stored_variation(key, &variation_id) {
                    self.note(|| format!("stored decision: rollout {}", js::to_string(key)));
                    let feature = known.ok_or(Stop::Throw)?;
                    not_in_holdouts = self.not_in_new_holdouts(feature, stored, outcome).into_vec();
                    outcome.enabled = true;
                    check_experiments = true;
                    rollout_variation = Some(variation);
                    let passed = Passed::stored(id.clone(), key, variation_id);
                    self.evaluated.push(&feature.key);
                    outcome.rollout = Some(passed);
                }
            }
        }

        let Some(feature) = known else {
            self.note(|| format!("no feature `{feature_key}` in the settings"));
            *outcome = Decided {
                unknown_feature: true,
                ..Decided::default()
            };
            return Ok(());
        };

        if !outcome.enabled && model.has_holdouts() {
            let evaluated = self.matched_holdouts(feature, stored.as_deref(), outcome)?;
            outcome.holdout_evaluated = evaluated.len() > 0;
            if !evaluated.matched.is_empty() {
                let held_out_by: Vec<Value> = holdouts::ids(&evaluated.matched).collect();
                self.write(feature_key, || StoredDecision {
                    is_in_holdout_id: Some(Value::Array(held_out_by.clone())),
                    not_in_holdout_id: Some(Value::Array(holdouts::ids(&evaluated.not_matched).collect())),
                    ..StoredDecision::default()
                });
                outcome.held_out_by = held_out_by;
                return Ok(());
            }
            // Kept only to be stored.
            if self.access.remembers() {
                not_in_holdouts.extend(holdouts::ids(&evaluated.not_matched));
            }
        }

        let has_rollouts = feature.rollout_rules().next().is_some();
        if has_rollouts && !outcome.enabled {
            let mut selected = None;
            for rule in feature.rollout_rules() {
                let (passed, _) = self.check_whitelisting_and_pre_segmentation(feature, rule, None)?;
                self.note(|| {
                    format!(
                        "rollout {}: segments {}",
                        js::to_string(&rule.rule_key),
                        verdict(passed)
                    )
                });
                if passed {
                    self.evaluated.push(&feature.key);
                    selected = Some(rule);
                    break;
                }
            }
            if let Some((passed, variation)) = self.bucket(selected, outcome)? {
                outcome.enabled = true;
                check_experiments = true;
                outcome.rollout = Some(passed);
                rollout_variation = Some(variation);
            }
        } else if !has_rollouts {
            check_experiments = true;
        }

        if check_experiments {
            let mut winners = Winners::new();
            let mut selected = None;
            for rule in feature.experiment_rules() {
                let (passed, whitelisted) =
                    self.check_whitelisting_and_pre_segmentation(feature, rule, Some(&mut winners))?;
                if let Some(whitelisted) = &whitelisted {
                    self.impression(outcome, &rule.reported_id, &whitelisted.variation.reported_id);
                }
                self.note(|| {
                    format!(
                        "experiment {}: segments {}",
                        js::to_string(&rule.rule_key),
                        verdict(passed)
                    )
                });
                if passed {
                    match whitelisted {
                        None => selected = Some(rule),
                        Some(whitelisted) => {
                            self.note(|| format!("whitelisted into variation {}", whitelisted.variation.key));
                            outcome.enabled = true;
                            outcome.experiment =
                                Some(passed_by(rule, whitelisted.variation, Placement::Whitelisted));
                            experiment_variation = Some(whitelisted.variation);
                        }
                    }
                    break;
                }
            }
            if let Some((passed, variation)) = self.bucket(selected, outcome)? {
                outcome.enabled = true;
                outcome.experiment = Some(passed);
                experiment_variation = Some(variation);
            }
        }

        // Disabled decisions are stored too (1.40), with the holdouts that did not take the user.
        self.write(feature_key, || {
            let not_in_holdout_id = Some(Value::Array(not_in_holdouts));
            if outcome.enabled {
                StoredDecision {
                    feature_id: Some(feature.id.clone()),
                    rollout_id: outcome.rollout.as_ref().map(|p| p.id().clone()),
                    rollout_key: outcome.rollout.as_ref().map(|p| p.key().to_value()),
                    rollout_variation_id: outcome.rollout.as_ref().map(|p| p.variation_id().clone()),
                    experiment_id: outcome.experiment.as_ref().map(|p| p.id().clone()),
                    experiment_key: outcome.experiment.as_ref().map(|p| p.key().to_value()),
                    experiment_variation_id: outcome.experiment.as_ref().map(|p| p.variation_id().clone()),
                    not_in_holdout_id,
                    ..StoredDecision::default()
                }
            } else {
                StoredDecision {
                    not_in_holdout_id,
                    ..StoredDecision::default()
                }
            }
        });

        if let Some(impact) = &feature.impact_campaign_id {
            let variation = ReportedId::Number(if outcome.enabled { 2.0 } else { 1.0 });
            self.impression(outcome, impact, &variation);
        }

        outcome.variation = experiment_variation.or(rollout_variation);
        if outcome.variation.is_none() {
            // `modelFromDictionary(null)` throws: the SDK's answer is its error answer, which
            // is disabled with no variables, as here.
            outcome.rollout = None;
            outcome.experiment = None;
        }
        Ok(())
    }

    /// The selected rule's traffic and variation, with its impression sent, as the SDK does
    /// for a rollout and for an experiment alike.
    fn bucket(
        &mut self,
        selected: Option<&'a Arc<Rule>>,
        outcome: &mut Decided<'a>,
    ) -> Result<Option<(Passed<'a>, &'a Arc<Variation>)>, Stop> {
        let Some(rule) = selected else { return Ok(None) };
        let Some(variation) = self.traffic_and_variation(rule)? else {
            return Ok(None);
        };
        self.impression(outcome, &rule.reported_id, &variation.reported_id);
        Ok(Some((passed_by(rule, variation, Placement::Bucketed), variation)))
    }

    fn impression(&self, outcome: &mut Decided<'a>, campaign_id: &ReportedId, variation_id: &ReportedId) {
        if !self.reports {
            return;
        }
        let vwo_user_id = if self.context.post_segmentation_variables().is_empty() {
            None
        } else {
            user_id_text(self.custom_user_id, self.context, &self.uuid).map(str::to_owned)
        };
        outcome.impressions.push(Impression {
            campaign_id: campaign_id.clone(),
            variation_id: variation_id.clone(),
            vwo_user_id,
            feature_id: None,
        });
    }
}

fn verdict(passed: bool) -> &'static str {
    if passed { "passed" } else { "failed" }
}

fn passed_by<'a>(rule: &'a Rule, variation: &'a Variation, how: Placement) -> Passed<'a> {
    Passed::Rule { rule, variation, how }
}

/// `StorageDecorator.setDataInStorage` refuses a rollout without a variation and an
/// experiment without a variation.
fn storable(decision: &StoredDecision) -> bool {
    let truthy = |v: &Option<Value>| v.as_ref().is_some_and(js::truthy);
    !((truthy(&decision.rollout_key)
        && !truthy(&decision.experiment_key)
        && !truthy(&decision.rollout_variation_id))
        || (truthy(&decision.experiment_key) && !truthy(&decision.experiment_variation_id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outcome_gives_the_flag_its_reason_and_a_crash_turns_it_off() {
        let flag = |enabled: bool, mark: fn(&mut Decided<'static>)| {
            let mut outcome = Decided {
                enabled,
                ..Decided::default()
            };
            mark(&mut outcome);
            flag_of(&mut outcome)
        };
        assert_eq!(flag(false, |_| {}).reason(), Reason::NoRulePassed);
        assert_eq!(flag(true, |_| {}).reason(), Reason::Matched);
        assert!(flag(true, |_| {}).is_enabled());
        assert_eq!(flag(true, |o| o.stored = true).reason(), Reason::Stored);
        assert_eq!(
            flag(false, |o| o.unknown_feature = true).reason(),
            Reason::UnknownFeature
        );
        let threw = flag(true, |o| o.threw = true);
        assert_eq!(threw.reason(), Reason::InvalidSettings);
        assert!(!threw.is_enabled());
    }
}
