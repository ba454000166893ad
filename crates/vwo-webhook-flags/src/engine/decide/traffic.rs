//! Traffic and bucketing (`services/CampaignDecisionService.ts`): whether the rule's traffic
//! takes the user (out of 100), and which variation's range the user falls in (out of 10,000).

use std::sync::Arc;

use super::{Run, Stop};
use crate::engine::bucket;
use crate::engine::js;
use crate::engine::model::{Kind, Rule, Variation};

impl<'a> Run<'a, '_> {
    /// `evaluateTrafficAndGetVariation`: the user's variation if the traffic takes them.
    pub(super) fn traffic_and_variation(
        &mut self,
        rule: &'a Rule,
    ) -> Result<Option<&'a Arc<Variation>>, Stop> {
        let (part, bucket) = self.is_user_part(rule)?;
        let traffic = match rule.kind {
            Kind::Rollout | Kind::Personalize => rule.first_variation()?.weight.number,
            _ => rule.traffic,
        };
        self.note(|| {
            format!(
                "traffic: bucket {bucket} of 100, the rule takes {}",
                js::number_to_string(traffic)
            )
        });
        if !part {
            return Ok(None);
        }
        match rule.kind {
            Kind::Rollout | Kind::Personalize => Ok(Some(rule.first_variation()?)),
            _ => {
                let multiplier = if rule.traffic_truthy { 1.0 } else { f64::NAN };
                let seed = rule.salt.as_deref().unwrap_or(&rule.id_text);
                let hash = bucket::hash_joined([seed, &self.model.account_id, self.context.bucketing_id()]);
                // The SDK floors this product; a whole bucket times 1 or NaN is already whole
                // or NaN.
                let value = bucket::bucket(hash, bucket::MAX_TRAFFIC_VALUE) * multiplier;
                let variation = rule.variations.iter().find(|v| v.range.contains(value));
                self.note(|| match &variation {
                    Some(v) => format!("variation bucket {value} of 10000: variation {}", v.key),
                    None => format!("variation bucket {value} of 10000: no variation's range"),
                });
                Ok(variation)
            }
        }
    }

    /// `isUserPartOfCampaign`, and the bucket it compared.
    pub(super) fn is_user_part(&self, rule: &Rule) -> Result<(bool, f64), Stop> {
        let (salt, traffic) = match rule.kind {
            Kind::Rollout | Kind::Personalize => {
                let first = rule.first_variation()?;
                (first.salt.as_deref(), first.weight.number)
            }
            _ => (rule.salt.as_deref(), rule.traffic),
        };
        let seed = salt.unwrap_or(&rule.id_text);
        let value = bucket::bucket(
            bucket::hash_joined([seed, self.context.bucketing_id()]),
            bucket::MAX_TRAFFIC_PERCENT,
        );
        Ok((value != 0.0 && value <= traffic, value))
    }
}
