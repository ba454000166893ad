//! Holdouts (`utils/HoldoutUtil.ts`, Node 1.40): before a feature's rules, each holdout that
//! applies to it and was not evaluated for the user before takes the user or not (its
//! segments on the custom variables, then `accountId_holdoutId_userId` out of 100); a user in
//! any sees the feature off. Every evaluation is reported (variation 1 in, 2 not in).

use serde_json::Value;
use smallvec::SmallVec;

use super::{Decided, Impression, Run, Stop, UserIdKind};
use crate::engine::bucket;
use crate::engine::model::{Feature, Holdout, ReportedId};
use crate::engine::stored::StoredDecision;

/// The variation a holdout impression reports: in the holdout, or not.
const IN_HOLDOUT: f64 = 1.0;
const NOT_IN_HOLDOUT: f64 = 2.0;

/// Holdout ids, as the settings give them.
pub(super) type HoldoutIds = SmallVec<[Value; 2]>;

/// Holdouts of the settings.
pub(super) type Holdouts<'a> = SmallVec<[&'a Holdout; 2]>;

/// `getMatchedHoldouts`: the holdouts evaluated now, by verdict.
#[derive(Default)]
pub(super) struct Evaluated<'a> {
    pub(super) matched: Holdouts<'a>,
    pub(super) not_matched: Holdouts<'a>,
}

impl Evaluated<'_> {
    /// How many were evaluated (each made an impression).
    pub(super) fn len(&self) -> usize {
        self.matched.len() + self.not_matched.len()
    }
}

/// The ids of `holdouts`, as the settings give them.
pub(super) fn ids<'h>(holdouts: &'h [&Holdout]) -> impl Iterator<Item = Value> + 'h {
    holdouts.iter().map(|holdout| holdout.id.clone())
}

impl<'a> Run<'a, '_> {
    /// `getMatchedHoldouts`: evaluates the holdouts that apply to `feature` and that `stored`
    /// does not list yet, each reported in `outcome`.
    pub(super) fn matched_holdouts(
        &mut self,
        feature: &'a Feature,
        stored: Option<&StoredDecision>,
        outcome: &mut Decided<'_>,
    ) -> Result<Evaluated<'a>, Stop> {
        let mut evaluated = Evaluated::default();
        let reports = self.reports;
        self.each_new_holdout(feature, stored, |holdout, taken| {
            if taken {
                evaluated.matched.push(holdout);
            } else {
                evaluated.not_matched.push(holdout);
            }
            outcome.holdout_reported = true;
            if reports {
                outcome
                    .impressions
                    .push(holdout_impression(holdout, feature, taken));
            }
        })?;
        Ok(evaluated)
    }

    /// The holdouts of [`Run::matched_holdouts`] that take the user, for a group's other
    /// features: the SDK evaluates them to drop those features' campaigns, and reports nothing.
    pub(super) fn holdouts_taking(
        &mut self,
        feature: &'a Feature,
        stored: Option<&StoredDecision>,
    ) -> Result<Holdouts<'a>, Stop> {
        let mut matched = Holdouts::new();
        self.each_new_holdout(feature, stored, |holdout, taken| {
            if taken {
                matched.push(holdout);
            }
        })?;
        Ok(matched)
    }

    /// Evaluates, in order, the holdouts that apply to `feature` and that `stored` does not
    /// list yet, and hands each verdict to `verdict`.
    fn each_new_holdout(
        &mut self,
        feature: &'a Feature,
        stored: Option<&StoredDecision>,
        mut verdict: impl FnMut(&'a Holdout, bool),
    ) -> Result<(), Stop> {
        let model = self.model;
        let is_in = StoredDecision::ids(stored.and_then(|s| s.is_in_holdout_id.as_ref()));
        let not_in = StoredDecision::ids(stored.and_then(|s| s.not_in_holdout_id.as_ref()));
        for holdout in model.holdouts_of(feature) {
            if is_in.iter().chain(not_in).any(|id| same_id(id, &holdout.id)) {
                continue;
            }
            let taken = self.takes(holdout)?;
            self.note(|| {
                format!(
                    "holdout {} ({}): {}",
                    holdout.id_text,
                    holdout.name,
                    if taken {
                        "the user is held out"
                    } else {
                        "not held out"
                    }
                )
            });
            verdict(holdout, taken);
        }
        Ok(())
    }

    /// Whether `holdout` takes the user. A group evaluates its features' holdouts again; a
    /// verdict that cannot change within the decision is kept from the first time, by what
    /// its segments saw of the custom variables.
    fn takes(&mut self, holdout: &Holdout) -> Result<bool, Stop> {
        let seen = (holdout.index, self.holdout_view(holdout));
        if holdout.reusable
            && let Some(&(_, verdict)) = self.holdout_verdicts.iter().find(|(key, _)| *key == seen)
        {
            return Ok(verdict);
        }
        let verdict = self.evaluate_holdout(holdout)?;
        if holdout.reusable {
            self.holdout_verdicts.push((seen, verdict));
        }
        Ok(verdict)
    }

    /// What `holdout`'s segments see of the `_wingifyUserId` the last rule set: the id itself
    /// if they read it; else only whether the SDK has given the custom variables an object
    /// yet (reading one before throws); nothing without segments.
    fn holdout_view(&self, holdout: &Holdout) -> Option<UserIdKind> {
        match &holdout.segments {
            None => None,
            Some(_) if holdout.reads_user_id => self.custom_user_id,
            Some(_) if self.custom_user_id.is_none() && !self.context.has_custom_variables() => None,
            Some(_) => Some(UserIdKind::Id),
        }
    }

    /// Whether `holdout` takes the user: its segments (if any) on the custom variables, then
    /// the user's bucket out of 100 (by the id, never the bucketing seed).
    fn evaluate_holdout(&mut self, holdout: &Holdout) -> Result<bool, Stop> {
        if let Some(node) = &holdout.segments {
            let properties = self.context.custom_variables();
            if !self.evaluate(node, properties, self.custom_user_id)? {
                return Ok(false);
            }
        }
        let value = bucket::bucket(
            bucket::hash_joined([&self.model.account_id, &holdout.id_text, self.context.id()]),
            bucket::MAX_TRAFFIC_PERCENT,
        );
        Ok(value != 0.0 && value <= holdout.percent_traffic)
    }

    /// `sendNetworkCallsForNotInHoldouts`, for a decision served from storage: holdouts added
    /// since it was stored are reported "not in" (without being evaluated) and appended to the
    /// stored list. Returns that list.
    pub(super) fn not_in_new_holdouts(
        &mut self,
        feature: &Feature,
        stored: &StoredDecision,
        outcome: &mut Decided<'_>,
    ) -> HoldoutIds {
        let model = self.model;
        let mut not_in: HoldoutIds = StoredDecision::ids(stored.not_in_holdout_id.as_ref()).into();
        let is_in = StoredDecision::ids(stored.is_in_holdout_id.as_ref());
        let before = not_in.len();
        for holdout in model.holdouts_of(feature) {
            if !not_in.iter().chain(is_in).any(|id| same_id(id, &holdout.id)) {
                not_in.push(holdout.id.clone());
                outcome.holdout_reported = true;
                if self.reports {
                    outcome
                        .impressions
                        .push(holdout_impression(holdout, feature, false));
                    outcome.replayed += 1;
                }
            }
        }
        if not_in.len() > before && self.access.remembers() {
            self.access.set(
                &feature.key,
                StoredDecision {
                    not_in_holdout_id: Some(Value::Array(not_in.to_vec())),
                    ..StoredDecision::default()
                },
            );
        }
        not_in
    }
}

/// `Array.prototype.includes`: strict equality (NaN aside, which no id is).
pub(super) fn same_id(a: &Value, b: &Value) -> bool {
    crate::engine::js::strict_eq(a, b)
}

/// `createHoldoutPayload`: the holdout as the campaign, 1 (in) or 2 (not in) as the
/// variation, and the feature's id.
fn holdout_impression(holdout: &Holdout, feature: &Feature, taken: bool) -> Impression {
    Impression {
        campaign_id: holdout.reported_id.clone(),
        variation_id: ReportedId::Number(if taken { IN_HOLDOUT } else { NOT_IN_HOLDOUT }),
        vwo_user_id: None,
        feature_id: Some(feature.reported_id.clone()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::engine::Model;
    use crate::engine::context::Context;
    use crate::engine::decide::{Lists, Miss, Records, StorageView, decide};

    struct Nothing;

    /// Storage that keeps what the run writes, by key.
    #[derive(Default)]
    struct Kept(std::collections::HashMap<String, StoredDecision>);

    impl StorageView for Kept {
        fn get(&mut self, key: &str) -> Result<Option<StoredDecision>, Miss> {
            Ok(self.0.get(key).cloned())
        }
        fn set(&mut self, key: &str, decision: StoredDecision) {
            self.0.insert(key.to_owned(), decision);
        }
    }

    impl StorageView for Nothing {
        fn get(&mut self, _: &str) -> Result<Option<StoredDecision>, Miss> {
            Ok(None)
        }
        fn set(&mut self, _: &str, _: StoredDecision) {}
        fn remembers(&self) -> bool {
            false
        }
    }

    impl Lists for Nothing {
        fn in_list(&self, _: &str, _: &str) -> bool {
            false
        }
    }

    fn settings(holdouts: Value) -> Model {
        Model::compile(&json!({
            "version": 1, "accountId": 123456, "sdkKey": "key", "holdouts": holdouts,
            "features": [{"id": 4, "key": "f", "name": "f", "status": "ON", "type": "FEATURE_FLAG",
                          "metrics": [], "rules": [{"type": "FLAG_ROLLOUT", "ruleKey": "r", "campaignId": 8}]}],
            "campaigns": [{"id": 8, "key": "f_r", "name": "r", "type": "FLAG_ROLLOUT", "status": "RUNNING",
                           "segments": {}, "variations": [{"id": 1, "name": "on", "weight": 100, "segments": {}}]}],
        }))
    }

    fn holdout(id: u64, traffic: u32) -> Value {
        json!({"id": id, "name": "h", "segments": {}, "percentTraffic": traffic, "isGlobal": true,
               "featureIds": [], "metrics": []})
    }

    const REPORTED: Records = Records {
        impressions: true,
        trace: false,
    };

    fn impressions(model: &Model) -> Vec<(ReportedId, ReportedId, Option<ReportedId>)> {
        let context = Context::new("u-1").expect("id").with_custom_variable("a", 1);
        let decision = decide(model, "f", &context, &mut Nothing, &Nothing, REPORTED).expect("decided");
        decision
            .impressions
            .into_iter()
            .map(|i| (i.campaign_id, i.variation_id, i.feature_id))
            .collect()
    }

    #[test]
    fn every_holdout_evaluated_is_reported_with_the_feature_and_before_the_rules() {
        let n = ReportedId::Number;
        // Not in either holdout: both reported "not in" (2), then the rollout's impression.
        let model = settings(json!([holdout(31, 0), holdout(32, 0)]));
        assert_eq!(
            impressions(&model),
            [
                (n(31.0), n(2.0), Some(n(4.0))),
                (n(32.0), n(2.0), Some(n(4.0))),
                (n(8.0), n(1.0), None)
            ]
        );
        // In the second: both reported, 32 as "in" (1), and no rule runs.
        let model = settings(json!([holdout(31, 0), holdout(32, 100)]));
        assert_eq!(
            impressions(&model),
            [(n(31.0), n(2.0), Some(n(4.0))), (n(32.0), n(1.0), Some(n(4.0)))]
        );
        // `{}`: no holdouts.
        assert_eq!(impressions(&settings(json!({}))), [(n(8.0), n(1.0), None)]);
    }

    #[test]
    fn a_holdout_whose_segments_read_storage_is_evaluated_anew_each_time() {
        // Holdout 31 takes users with a decision stored for feature 4 (`f`): storage written
        // during a decision (a group's held-out member, a winner) changes its verdict, so the
        // verdict a run keeps for other holdouts is never kept for it.
        let model = settings(json!([{
            "id": 31, "name": "h", "segments": {"or": [{"featureId": {"4": "on"}}]},
            "percentTraffic": 100, "isGlobal": true, "featureIds": [], "metrics": []
        }]));
        let context = Context::new("u-1").expect("id").with_custom_variable("a", 1);
        let feature = model.feature("f").expect("feature");
        let mut storage = Kept::default();
        let mut run = Run::new(&model, &context, &mut storage, &Nothing, REPORTED);
        let mut outcome = Decided::default();
        let before = run.holdouts_taking(feature, None).expect("evaluated");
        assert!(before.is_empty(), "nothing stored yet: not held out");
        run.access.set("f", StoredDecision::default());
        let after = run
            .matched_holdouts(feature, None, &mut outcome)
            .expect("evaluated");
        assert_eq!(ids(&after.matched).collect::<Vec<_>>(), [json!(31)]);
    }

    #[test]
    fn a_holdout_added_after_a_stored_decision_is_reported_not_in_and_appended() {
        let n = ReportedId::Number;
        let context = Context::new("u-1").expect("id").with_custom_variable("a", 1);
        let mut storage = Kept::default();
        // Decided and stored while holdout 31 alone existed (the user not in it).
        let first = settings(json!([holdout(31, 0)]));
        decide(&first, "f", &context, &mut storage, &Nothing, REPORTED).expect("decided");
        assert_eq!(storage.0["f"].not_in_holdout_id, Some(json!([31])));
        // Holdout 32 (all traffic) is added: the stored rollout answers, and 32 is reported
        // "not in" without being evaluated, then appended to the stored list.
        let second = settings(json!([holdout(31, 0), holdout(32, 100)]));
        let decision = decide(&second, "f", &context, &mut storage, &Nothing, REPORTED).expect("decided");
        assert!(decision.flag.is_enabled());
        let reported: Vec<_> = decision
            .impressions
            .iter()
            .map(|i| {
                (
                    i.campaign_id.clone(),
                    i.variation_id.clone(),
                    i.feature_id.clone(),
                )
            })
            .collect();
        assert_eq!(reported, [(n(32.0), n(2.0), Some(n(4.0)))]);
        assert_eq!(storage.0["f"].not_in_holdout_id, Some(json!([31, 32])));
    }
}
