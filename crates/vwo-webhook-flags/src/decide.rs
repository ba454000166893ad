//! `getFlag`: the rule order, traffic, bucketing and whitelisting of `api/GetFlag.ts`,
//! `utils/DecisionUtil.ts` and `services/CampaignDecisionService.ts`, step for step. Mutually
//! exclusive groups are in [`crate::meg`].
//!
//! A run is pure apart from its storage access, so the async path can replay it (see
//! [`crate::Flags::get_flag_async`]).

use std::sync::Arc;

use serde_json::Value;
use smallvec::SmallVec;

use crate::context::Context;
use crate::js;
use crate::model::{Model, Rule, Variation};
use crate::segment::Crash;
use crate::storage::StoredDecision;

mod segments;
mod traffic;

/// Which id `_vwoUserId` holds: the context's, or the SDK's UUID for it (a rule with a user
/// list). Named, not copied: a decision sets it for every rule it checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UserIdKind {
    Id,
    Uuid,
}

/// The text of a `_vwoUserId`; `uuid` is computed before a [`UserIdKind::Uuid`] is set.
pub(crate) fn user_id_text<'r>(
    kind: Option<UserIdKind>,
    context: &'r Context,
    uuid: &'r Option<String>,
) -> Option<&'r str> {
    match kind? {
        UserIdKind::Id => Some(&context.0.id),
        UserIdKind::Uuid => uuid.as_deref(),
    }
}

/// Why a run stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Where the SDK throws: its answer is "disabled".
    Crash,
    /// The async path has not read this storage key yet.
    Miss(String),
}

impl From<Crash> for Stop {
    fn from(_: Crash) -> Self {
        Stop::Crash
    }
}

/// Storage as one run sees it (already bound to the user).
pub(crate) trait Access {
    fn get(&mut self, key: &str) -> Result<Option<StoredDecision>, Stop>;
    fn set(&mut self, key: &str, decision: StoredDecision);
    /// Whether there is storage: without it a decision reads nothing and builds nothing to
    /// store.
    fn remembers(&self) -> bool {
        true
    }
}

/// VWO's gateway, for `inlist` segments.
pub(crate) trait ListCheck {
    fn in_list(&self, list_id: &str, attribute: &str) -> bool;
}

/// A rule that passed, as the SDK's integrations callback reports it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Passed {
    pub(crate) id: Value,
    pub(crate) key: Value,
    pub(crate) variation_id: Value,
    pub(crate) how: Source,
}

/// How a rule put the user in its variation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Source {
    /// Traffic and bucketing, in this decision.
    Bucketed,
    /// Whitelisting: the user's variation targeting variables matched a variation's segments.
    Whitelisted,
    /// A decision kept in storage from an earlier one.
    Stored,
}

/// An impression the SDK sends (`vwo_variationShown`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Impression {
    pub(crate) campaign_id: Value,
    pub(crate) variation_id: Value,
    /// `customVariables._vwoUserId` as the decision had set it when the impression was made
    /// (kept only for a context that reports custom variables with its impressions).
    pub(crate) vwo_user_id: Option<String>,
}

/// A decision's impressions: a few (one per rule that bucketed the user, and the impact
/// campaign's).
pub(crate) type Impressions = SmallVec<[Impression; 4]>;

/// What a run decided.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub(crate) enabled: bool,
    pub(crate) variation: Option<Arc<Variation>>,
    pub(crate) rollout: Option<Passed>,
    pub(crate) experiment: Option<Passed>,
    pub(crate) impressions: Impressions,
    pub(crate) trace: Vec<String>,
    /// The feature does not exist.
    pub(crate) unknown_feature: bool,
    /// The SDK would have thrown (and answered "disabled").
    pub(crate) crashed: bool,
    /// A stored experiment answered before any rule was evaluated.
    pub(crate) stored: bool,
}

/// A whitelisted variation.
pub(crate) struct Whitelisted {
    pub(crate) variation: Arc<Variation>,
}

/// `evaluatedFeatureMap`: the keys of the features whose rollout passed during this run.
pub(crate) type Evaluated<'a> = SmallVec<[&'a str; 4]>;

/// The group winners found during this run (`megGroupWinnerCampaigns`), by group.
pub(crate) type Winners = SmallVec<[(usize, Value); 2]>;

/// One decision in progress.
pub(crate) struct Run<'a> {
    pub(crate) model: &'a Model,
    pub(crate) context: &'a Context,
    pub(crate) access: &'a mut dyn Access,
    pub(crate) lists: &'a dyn ListCheck,
    /// `_vwoUserId` as it stands in the custom variables and in the variation targeting
    /// variables (the SDK sets it per rule, and later reads see the last one set).
    pub(crate) custom_user_id: Option<UserIdKind>,
    pub(crate) targeting_user_id: Option<UserIdKind>,
    uuid: Option<String>,
    pub(crate) evaluated: Evaluated<'a>,
    pub(crate) depth: u32,
    pub(crate) impressions: Impressions,
    pub(crate) trace: Option<Vec<String>>,
}

impl<'a> Run<'a> {
    pub(crate) fn new(
        model: &'a Model,
        context: &'a Context,
        access: &'a mut dyn Access,
        lists: &'a dyn ListCheck,
        trace: bool,
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
            depth: 0,
            impressions: Impressions::new(),
            trace: trace.then(Vec::new),
        }
    }

    pub(crate) fn note(&mut self, message: impl FnOnce() -> String) {
        if let Some(trace) = &mut self.trace {
            trace.push(message());
        }
    }

    /// What storage holds for `key`, without a call when there is no storage.
    #[inline]
    pub(crate) fn stored(&mut self, key: &str) -> Result<Option<StoredDecision>, Stop> {
        if self.access.remembers() {
            self.access.get(key)
        } else {
            Ok(None)
        }
    }

    /// Computes the SDK's UUID for this user and account (`getUUID`), once a run.
    fn compute_uuid(&mut self) {
        if self.uuid.is_none() {
            self.uuid = Some(crate::uuid::user_uuid(&self.context.0.id, &self.model.account_id));
        }
    }

    /// Decides `feature_key`.
    pub(crate) fn get_flag(mut self, feature_key: &str) -> Result<Outcome, Stop> {
        match self.decide(feature_key) {
            Ok(mut outcome) => {
                outcome.impressions = std::mem::take(&mut self.impressions);
                outcome.trace = self.trace.take().unwrap_or_default();
                Ok(outcome)
            }
            Err(Stop::Crash) => {
                let mut trace = self.trace.take().unwrap_or_default();
                trace.push("the SDK throws here, and answers: disabled".to_owned());
                Ok(Outcome {
                    crashed: true,
                    impressions: std::mem::take(&mut self.impressions),
                    trace,
                    ..Outcome::default()
                })
            }
            Err(miss) => Err(miss),
        }
    }

    fn decide(&mut self, feature_key: &str) -> Result<Outcome, Stop> {
        let mut outcome = Outcome::default();
        let mut check_experiments = false;
        let mut rollout_variation: Option<Arc<Variation>> = None;
        let mut experiment_variation: Option<Arc<Variation>> = None;
        let model: &'a Model = self.model;
        let known = model.feature(feature_key);

        let stored = self.stored(feature_key)?;
        if let Some(stored) = &stored {
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
                    outcome.enabled = true;
                    outcome.variation = Some(Arc::clone(variation));
                    outcome.experiment = Some(Passed {
                        id: stored.experiment_id.clone().unwrap_or(Value::Null),
                        key: key.clone(),
                        variation_id: variation_id.clone(),
                        how: Source::Stored,
                    });
                    outcome.stored = true;
                    return Ok(outcome);
                }
            } else if let (Some(key), Some(id)) = (
                stored.rollout_key.as_ref().filter(|v| js::truthy(v)),
                stored.rollout_id.as_ref().filter(|v| js::truthy(v)),
            ) {
                let variation_id = stored.rollout_variation_id.clone().unwrap_or(Value::Null);
                if let Some(variation) = self.model.stored_variation(key, &variation_id) {
                    self.note(|| format!("stored decision: rollout {}", js::to_string(key)));
                    outcome.enabled = true;
                    check_experiments = true;
                    rollout_variation = Some(Arc::clone(variation));
                    let passed = Passed {
                        id: id.clone(),
                        key: key.clone(),
                        variation_id,
                        how: Source::Stored,
                    };
                    self.evaluated.extend(known.map(|f| f.key.as_str()));
                    outcome.rollout = Some(passed);
                }
            }
        }

        let Some(feature) = known else {
            self.note(|| format!("no feature `{feature_key}` in the settings"));
            return Ok(Outcome {
                unknown_feature: true,
                ..Outcome::default()
            });
        };

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
                    selected = Some(Arc::clone(rule));
                    break;
                }
            }
            if let Some((passed, variation)) = self.bucket(selected)? {
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
                    self.impression(&rule.id, &whitelisted.variation.id);
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
                        None => selected = Some(Arc::clone(rule)),
                        Some(whitelisted) => {
                            self.note(|| format!("whitelisted into variation {}", whitelisted.variation.key));
                            outcome.enabled = true;
                            outcome.experiment =
                                Some(passed_by(rule, &whitelisted.variation, Source::Whitelisted));
                            experiment_variation = Some(whitelisted.variation);
                        }
                    }
                    break;
                }
            }
            if let Some((passed, variation)) = self.bucket(selected)? {
                outcome.enabled = true;
                outcome.experiment = Some(passed);
                experiment_variation = Some(variation);
            }
        }

        if outcome.enabled && self.access.remembers() {
            let decision = StoredDecision {
                rollout_id: outcome.rollout.as_ref().map(|p| p.id.clone()),
                rollout_key: outcome.rollout.as_ref().map(|p| p.key.clone()),
                rollout_variation_id: outcome.rollout.as_ref().map(|p| p.variation_id.clone()),
                experiment_id: outcome.experiment.as_ref().map(|p| p.id.clone()),
                experiment_key: outcome.experiment.as_ref().map(|p| p.key.clone()),
                experiment_variation_id: outcome.experiment.as_ref().map(|p| p.variation_id.clone()),
            };
            if storable(&decision) {
                self.access.set(feature_key, decision);
            }
        }

        if let Some(impact) = &feature.impact_campaign_id {
            let variation = Value::from(if outcome.enabled { 2 } else { 1 });
            self.impression(&impact.clone(), &variation);
        }

        outcome.variation = experiment_variation.or(rollout_variation);
        if outcome.variation.is_none() {
            // `modelFromDictionary(null)` throws: the SDK's answer is its error answer, which
            // is disabled with no variables, as here.
            outcome.rollout = None;
            outcome.experiment = None;
        }
        Ok(outcome)
    }

    /// The selected rule's traffic and variation, with its impression sent, as the SDK does
    /// for a rollout and for an experiment alike.
    fn bucket(&mut self, selected: Option<Arc<Rule>>) -> Result<Option<(Passed, Arc<Variation>)>, Stop> {
        let Some(rule) = selected else { return Ok(None) };
        let Some(variation) = self.traffic_and_variation(&rule)? else {
            return Ok(None);
        };
        self.impression(&rule.id, &variation.id);
        Ok(Some((passed_by(&rule, &variation, Source::Bucketed), variation)))
    }

    fn impression(&mut self, campaign_id: &Value, variation_id: &Value) {
        let vwo_user_id = if self.context.0.post_segmentation_variables.is_empty() {
            None
        } else {
            user_id_text(self.custom_user_id, self.context, &self.uuid).map(str::to_owned)
        };
        self.impressions.push(Impression {
            campaign_id: campaign_id.clone(),
            variation_id: variation_id.clone(),
            vwo_user_id,
        });
    }
}

fn verdict(passed: bool) -> &'static str {
    if passed { "passed" } else { "failed" }
}

fn passed_by(rule: &Rule, variation: &Variation, how: Source) -> Passed {
    Passed {
        id: rule.id.clone(),
        key: rule.key.clone(),
        variation_id: variation.id.clone(),
        how,
    }
}

/// `StorageDecorator.setDataInStorage` refuses a rollout without a variation and an
/// experiment without a variation.
pub(crate) fn storable(decision: &StoredDecision) -> bool {
    let truthy = |v: &Option<Value>| v.as_ref().is_some_and(js::truthy);
    !((truthy(&decision.rollout_key)
        && !truthy(&decision.experiment_key)
        && !truthy(&decision.rollout_variation_id))
        || (truthy(&decision.experiment_key) && !truthy(&decision.experiment_variation_id)))
}
