//! Whitelisting and pre-segmentation (`checkWhitelistingAndPreSeg`): whether a rule's
//! segments take the user, with `_wingifyUserId` as the SDK sets it for each rule, and the run's
//! storage and gateway as the segment evaluator sees them.

use std::sync::Arc;

use smallvec::SmallVec;

use super::{Lists, Run, Stop, StorageView, UserIdKind, Whitelisted, Winners, user_id_text};
use crate::engine::bucket::{self, Range, Ranges, Weight};
use crate::engine::model::{Feature, Kind, Rule, Segments, Variation};
use crate::engine::segment::{Env, Lookup, Node, Throw};

impl<'a> Run<'a, '_> {
    /// `checkWhitelistingAndPreSeg`: whether the rule applies to the user, and the
    /// whitelisted variation if forced variations put the user in one. `winners` is `None`
    /// where the SDK passes `null` (a rollout evaluated for a group), which throws if written.
    pub(super) fn check_whitelisting_and_pre_segmentation(
        &mut self,
        feature: &Feature,
        rule: &'a Rule,
        winners: Option<&mut Winners>,
    ) -> Result<(bool, Option<Whitelisted<'a>>), Stop> {
        let user_id = if rule.user_list {
            self.compute_uuid();
            UserIdKind::Uuid
        } else {
            UserIdKind::Id
        };
        if rule.kind == Kind::Testing {
            self.targeting_user_id = Some(user_id);
            if rule.forced_variations
                && let Some(whitelisted) = self.whitelisting(rule)?
            {
                return Ok((true, Some(whitelisted)));
            }
        }
        self.custom_user_id = Some(user_id);
        super::groups::check_group(self, feature, rule, winners)
    }

    /// `getPreSegmentationDecision`.
    pub(super) fn pre_segmentation(&mut self, rule: &Rule) -> Result<bool, Stop> {
        match rule.pre_segments()? {
            None | Some(Segments::Skip) => Ok(true),
            Some(Segments::Dsl(node)) => {
                let properties = self.context.custom_variables();
                self.evaluate(node, properties, self.custom_user_id)
            }
        }
    }

    /// `isSegmentationValid(node, properties)` with `_wingifyUserId` as `user_id` names it; a
    /// storage miss inside stops the run with it.
    pub(super) fn evaluate(
        &mut self,
        node: &Node,
        properties: &serde_json::Map<String, serde_json::Value>,
        user_id: Option<UserIdKind>,
    ) -> Result<bool, Stop> {
        let mut lookup = RunLookup {
            access: &mut *self.access,
            lists: self.lists,
            stop: None,
        };
        let mut env = Env {
            context: self.context,
            properties,
            vwo_user_id: user_id_text(user_id, self.context, &self.uuid),
            // Only a holdout's segments are read before the first rule sets the object.
            properties_undefined: user_id.is_none() && !self.context.has_custom_variables(),
            lookup: &mut lookup,
        };
        node.eval(&mut env).map_err(|Throw| lookup.take_stop())
    }

    /// `_evaluateWhitelisting`: the variation whose segments the user's variation targeting
    /// variables satisfy. When several do, their weights are scaled to 100 and one is bucketed
    /// among them with the rule's traffic seed (Node 1.43; earlier SDKs threw here).
    fn whitelisting(&mut self, rule: &'a Rule) -> Result<Option<Whitelisted<'a>>, Stop> {
        let mut targeted: SmallVec<[&'a Arc<Variation>; 2]> = SmallVec::new();
        let properties = self.context.variation_targeting_variables();
        for variation in rule.variations.iter() {
            let Some(node) = &variation.whitelist else {
                continue;
            };
            if self.evaluate(node, properties, self.targeting_user_id)? {
                targeted.push(variation);
            }
        }
        let variation = match targeted.as_slice() {
            [] => None,
            [one] => Some(*one),
            several => {
                let chosen = self.bucket_among(rule, several);
                self.note(|| match chosen {
                    Some(v) => format!(
                        "{} forced variations match: bucketed into {}",
                        several.len(),
                        v.key
                    ),
                    None => format!(
                        "{} forced variations match: no range takes the user",
                        several.len()
                    ),
                });
                chosen
            }
        };
        Ok(variation.map(|variation| Whitelisted { variation }))
    }

    /// The variation of `several` the user's 10,000 bucket falls in, their weights scaled to
    /// 100 (equal shares when they sum to 0) and their ranges allocated in order.
    fn bucket_among<'v>(&self, rule: &Rule, several: &[&'v Arc<Variation>]) -> Option<&'v Arc<Variation>> {
        let total = several.iter().fold(0.0, |sum, v| sum + v.weight.number);
        let count = several.len() as f64;
        let mut ranges = Ranges::default();
        let ranges: Vec<Range> = several
            .iter()
            .map(|v| {
                let scaled = if total == 0.0 || total.is_nan() {
                    100.0 / count
                } else {
                    v.weight.number / total * 100.0
                };
                ranges.next(Weight::number(scaled))
            })
            .collect();
        let seed = rule.salt.as_deref().unwrap_or(&rule.id_text);
        let value = bucket::bucket(
            bucket::hash_joined([seed, self.context.bucketing_id()]),
            bucket::MAX_TRAFFIC_VALUE,
        );
        several
            .iter()
            .zip(ranges)
            .find(|(_, range)| range.contains(value))
            .map(|(v, _)| *v)
    }
}

/// The segment evaluator's view of storage and the gateway during a run; it remembers a
/// storage miss so the run can stop with it rather than with a crash.
pub(super) struct RunLookup<'r> {
    pub(super) access: &'r mut dyn StorageView,
    pub(super) lists: &'r dyn Lists,
    pub(super) stop: Option<Stop>,
}

impl RunLookup<'_> {
    /// The reason the evaluation stopped: a storage miss if there was one, else a crash.
    pub(super) fn take_stop(&mut self) -> Stop {
        self.stop.take().unwrap_or(Stop::Throw)
    }
}

impl Lookup for RunLookup<'_> {
    fn has_stored(&mut self, feature_key: &str) -> Result<bool, Throw> {
        if !self.access.remembers() {
            return Ok(false);
        }
        match self.access.get(feature_key) {
            Ok(found) => Ok(found.is_some()),
            Err(miss) => {
                self.stop = Some(miss.into());
                Err(Throw)
            }
        }
    }

    fn in_list(&mut self, list_id: &str, attribute: &str) -> bool {
        self.lists.in_list(list_id, attribute)
    }
}
