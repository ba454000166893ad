//! Compiling a settings document: campaigns with their variation ranges, features with their
//! rules linked to their campaigns, and the groups with their members, read field by field as
//! the SDK's models read them (`a || b` for its short and long names).

use std::sync::Arc;

use serde_json::{Map, Value};

use super::{
    EventSettings, Feature, Group, Holdout, Kind, Member, Model, RawRule, ReportedId, Rule, Variations,
    property,
};
use crate::engine::fast_hash::FastMap;
use crate::engine::js;
use crate::engine::segment::{Compiling, FeatureIds, Node, Throw};
use crate::engine::variable::Texts;

mod campaign;

use campaign::{Groups, fields, link, list, variations};

/// A campaign of the document and its compiled variations, while the features are linked.
type Campaign<'a> = (&'a Map<String, Value>, Variations);

/// The key a `Map` of ids finds an id by (SameValueZero: numbers by value, strings by text).
#[derive(PartialEq, Eq, Hash)]
enum IdKey<'a> {
    Number(u64),
    Text(&'a str),
}

fn id_key(value: &Value) -> Option<IdKey<'_>> {
    match value {
        // +0 and -0 are the same key.
        Value::Number(n) => n
            .as_f64()
            .map(|f| IdKey::Number(if f == 0.0 { 0 } else { f.to_bits() })),
        Value::String(s) => Some(IdKey::Text(s)),
        _ => None,
    }
}

/// Each feature's id and key text, in the document's order (the key shared with the feature).
struct IdsOf<'a>(&'a [(Value, Arc<str>)]);

impl FeatureIds for IdsOf<'_> {
    fn feature_key_by_id(&self, id: f64) -> Option<String> {
        self.0
            .iter()
            .find(|(fid, _)| fid.as_f64() == Some(id))
            .map(|(_, key)| key.to_string())
    }
}

/// One of the SDK's short alternatives (`a || b`).
fn either<'a>(map: &'a Map<String, Value>, short: &str, long: &str) -> Option<&'a Value> {
    js::or(map.get(short), map.get(long))
}

/// `doesEventBelongToAnyFeature`'s list: every feature's and holdout's metrics (`m ||
/// metrics`, an array), each named by `identifier || key`.
fn metric_identifiers<'v>(owners: impl Iterator<Item = &'v Value>) -> std::collections::HashSet<String> {
    owners
        .filter_map(Value::as_object)
        .filter_map(|feature| match js::or(feature.get("m"), feature.get("metrics")) {
            Some(Value::Array(metrics)) => Some(metrics),
            _ => None,
        })
        .flatten()
        .filter_map(Value::as_object)
        .filter_map(
            |metric| match js::or(metric.get("identifier"), metric.get("key")) {
                Some(Value::String(name)) => Some(name.clone()),
                _ => None,
            },
        )
        .collect()
}

/// The top-level settings keys this crate follows (long and short names), or knows to have
/// no bearing on a decision or an event (`sdkMetaInfo`, `pollInterval`: the settings crate's;
/// `usageStatsAccountId`: usage statistics, which this crate does not send).
const FOLLOWED_KEYS: &[&str] = &[
    "version",
    "v",
    "accountId",
    "a",
    "sdkKey",
    "sK",
    "features",
    "f",
    "campaigns",
    "c",
    "groups",
    "g",
    "campaignGroups",
    "cG",
    "holdouts",
    "collectionPrefix",
    "isWebConnectivityEnabled",
    "isMAU",
    "devMode",
    "sdkMetaInfo",
    "pollInterval",
    "usageStatsAccountId",
];

/// A holdout as `HoldoutModel` reads one (the validator has checked its shape).
fn compile_holdout(
    index: usize,
    holdout: &Map<String, Value>,
    features: &dyn FeatureIds,
    compiling: &mut Compiling,
) -> Holdout {
    let id = holdout.get("id").cloned().unwrap_or(Value::Null);
    let segments = match holdout.get("segments") {
        Some(segments @ Value::Object(map)) if !map.is_empty() => {
            Some(Box::new(Node::compile_tree(segments, features, compiling)))
        }
        _ => None,
    };
    Holdout {
        index,
        reusable: segments.as_deref().is_none_or(|node| !node.looks_up()),
        reads_user_id: segments.as_deref().is_some_and(Node::reads_user_id),
        reported_id: ReportedId::of(&id),
        id_text: js::to_string(&id),
        id,
        name: Arc::from(text(holdout.get("name"))),
        segments,
        percent_traffic: holdout
            .get("percentTraffic")
            .and_then(Value::as_f64)
            .unwrap_or(0.0),
        is_global: holdout.get("isGlobal").is_some_and(js::truthy),
        feature_ids: match holdout.get("featureIds") {
            Some(Value::Array(ids)) => ids.clone(),
            _ => Vec::new(),
        },
    }
}

fn text(value: Option<&Value>) -> String {
    value.map(js::to_string).unwrap_or_default()
}

impl Model {
    /// Compiles a validated settings document.
    pub(crate) fn compile(document: &Value) -> Self {
        let empty = Map::new();
        let settings = document.as_object().unwrap_or(&empty);
        let account_id = text(either(settings, "a", "accountId"));
        let feature_values: &[Value] = match either(settings, "f", "features") {
            Some(Value::Array(items)) => items,
            _ => &[],
        };
        let campaign_values: &[Value] = match either(settings, "c", "campaigns") {
            Some(Value::Array(items)) => items,
            _ => &[],
        };
        let feature_ids: Vec<(Value, Arc<str>)> = feature_values
            .iter()
            .filter_map(Value::as_object)
            .map(|f| {
                let [id, key] = fields(f, ["id", "key"]);
                (id.cloned().unwrap_or(Value::Null), Arc::from(text(key)))
            })
            .collect();
        let features_by_id = IdsOf(&feature_ids);
        let mut compiling = Compiling::default();
        let mut texts = Texts::default();
        let campaign_groups = either(settings, "cG", "campaignGroups").and_then(Value::as_object);
        let groups_value = either(settings, "g", "groups");
        // Every group a campaign names, in order, compiled once the features are linked.
        let mut group_ids: Vec<String> = Vec::new();
        let mut group_index: FastMap<String, usize> = FastMap::default();
        for group_id in campaign_groups.into_iter().flat_map(|cg| cg.values()) {
            let text = js::to_string(group_id);
            if !group_index.contains_key(&text) {
                group_index.insert(text.clone(), group_ids.len());
                group_ids.push(text);
            }
        }

        // Campaigns, with ranges allocated; the last of an id wins the id lookup.
        let mut campaigns: Vec<Campaign<'_>> = Vec::with_capacity(campaign_values.len());
        let capacity = campaign_values.len();
        let mut by_id: FastMap<IdKey<'_>, usize> =
            FastMap::with_capacity_and_hasher(capacity, Default::default());
        let mut campaigns_by_key = FastMap::with_capacity_and_hasher(capacity, Default::default());
        for value in campaign_values {
            let Some(campaign) = value.as_object() else {
                continue;
            };
            let [kind, id, key, listed] = fields(campaign, ["type", "id", "key", "variations"]);
            let kind = Kind::of(kind);
            let variations = variations(list(listed), kind, &features_by_id, &mut compiling, &mut texts);
            if let Some(key) = id_key(id.unwrap_or(&Value::Null)) {
                by_id.insert(key, campaigns.len());
            }
            if let Some(Value::String(key)) = key {
                campaigns_by_key
                    .entry(key.clone())
                    .or_insert_with(|| Arc::clone(&variations));
            }
            campaigns.push((campaign, variations));
        }

        let mut features = Vec::with_capacity(feature_values.len());
        // Each feature's raw rules, read while compiling and not kept.
        let mut raw_by_feature: Vec<Vec<RawRule>> = Vec::with_capacity(feature_values.len());
        let mut first_feature: FastMap<Arc<str>, usize> =
            FastMap::with_capacity_and_hasher(feature_values.len(), Default::default());
        // The same objects, in the same order, as `feature_ids`.
        for (feature, (_, key)) in feature_values
            .iter()
            .filter_map(Value::as_object)
            .zip(&feature_ids)
        {
            let [raw, impact] = fields(feature, ["rules", "impactCampaign"]);
            let raw = list(raw);
            let mut rules = Vec::with_capacity(raw.len());
            let mut raw_rules = Vec::with_capacity(raw.len());
            for rule in raw.iter().filter_map(Value::as_object) {
                let [campaign_id, variation_id, rule_key] =
                    fields(rule, ["campaignId", "variationId", "ruleKey"]);
                raw_rules.push(RawRule {
                    campaign_id: campaign_id.cloned().unwrap_or(Value::Null),
                    variation_id: variation_id.cloned(),
                });
                let Some(&index) =
                    id_key(campaign_id.unwrap_or(&Value::Null)).and_then(|key| by_id.get(&key))
                else {
                    continue;
                };
                let (campaign, all) = &campaigns[index];
                let mut linked = Arc::clone(all);
                if let Some(wanted) = variation_id.filter(|v| js::truthy(v))
                    && let Some(one) = all.iter().find(|v| js::strict_eq(&v.id, wanted))
                {
                    linked = Arc::from([Arc::clone(one)]);
                }
                let groups = Groups {
                    campaign_groups,
                    groups: groups_value,
                    index: &group_index,
                };
                rules.push(Arc::new(link(
                    campaign,
                    rule_key,
                    linked,
                    &groups,
                    &features_by_id,
                    &mut compiling,
                    &mut texts,
                )));
            }
            first_feature.entry(Arc::clone(key)).or_insert(features.len());
            let id = feature.get("id").cloned().unwrap_or(Value::Null);
            features.push(Feature {
                reported_id: ReportedId::of(&id),
                id,
                key: Arc::clone(key),
                rules,
                impact_campaign_id: impact
                    .filter(|v| js::truthy(v))
                    .and_then(|impact| impact.get("campaignId"))
                    .filter(|id| js::truthy(id))
                    .map(ReportedId::of),
                campaign_ids: Arc::from(Vec::new()),
            });
            raw_by_feature.push(raw_rules);
        }
        let mut ids_by_key: FastMap<&str, Vec<Value>> = FastMap::default();
        for (feature, raw_rules) in features.iter().zip(&raw_by_feature) {
            let ids = ids_by_key.entry(&*feature.key).or_default();
            ids.extend(raw_rules.iter().map(|r| r.campaign_id.clone()));
        }
        let ids_by_key: FastMap<String, Arc<[Value]>> = ids_by_key
            .into_iter()
            .map(|(key, ids)| (key.to_owned(), Arc::from(ids)))
            .collect();
        for feature in &mut features {
            if let Some(ids) = ids_by_key.get(&*feature.key) {
                feature.campaign_ids = Arc::clone(ids);
            }
        }

        let holdout_values: &[Value] = match settings.get("holdouts") {
            Some(Value::Array(items)) => items,
            _ => &[],
        };
        let holdouts = holdout_values
            .iter()
            .filter_map(Value::as_object)
            .enumerate()
            .map(|(index, holdout)| compile_holdout(index, holdout, &features_by_id, &mut compiling))
            .collect();
        let events = EventSettings {
            metrics: metric_identifiers(feature_values.iter().chain(holdout_values)),
            collection_prefix: match settings.get("collectionPrefix") {
                Some(Value::String(prefix)) if !prefix.is_empty() => Some(Arc::from(prefix.as_str())),
                _ => None,
            },
            web_uuids: settings.get("isWebConnectivityEnabled") != Some(&Value::Bool(false)),
            usage: settings.get("isMAU") == Some(&Value::Bool(true)),
            dev_mode: settings.get("devMode") == Some(&Value::Bool(true)),
        };
        compiling.problems.unknown_keys = settings
            .keys()
            .filter(|key| !FOLLOWED_KEYS.contains(&key.as_str()))
            .cloned()
            .collect();
        let mut model = Self {
            account_id,
            events,
            features,
            first_feature,
            campaigns_by_key,
            groups: Vec::new(),
            holdouts,
            features_by_campaign: FastMap::default(),
            problems: compiling.problems,
        };
        for (index, raw_rules) in raw_by_feature.iter().enumerate() {
            for rule in raw_rules {
                let Some(id) = rule.campaign_id.as_f64() else {
                    continue;
                };
                let variation = rule.variation_id.as_ref().and_then(Value::as_f64);
                model
                    .features_by_campaign
                    .entry(id.to_bits())
                    .or_default()
                    .push((index, variation));
            }
        }
        let groups: Vec<_> = group_ids
            .iter()
            .map(|id| model.compile_group(groups_value, id))
            .collect();
        model.groups = groups;
        model
    }

    fn compile_group(&self, groups: Option<&Value>, id: &str) -> Result<Arc<Group>, Throw> {
        let group = groups.and_then(|g| property(g, id)).filter(|g| js::truthy(g));
        let campaigns: Vec<String> = match group.map(|g| property(g, "campaigns")) {
            None => Vec::new(),
            Some(Some(Value::Array(items))) => items
                .iter()
                .map(|item| item.as_str().map(str::to_owned).ok_or(Throw))
                .collect::<Result<_, _>>()?,
            // Not iterable, or iterated as characters: not supported (see docs/flags.md).
            Some(_) => return Err(Throw),
        };
        // getFeatureKeysFromCampaignIds: each listed campaign's features, in order, once.
        let mut feature_keys: Vec<&str> = Vec::new();
        let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
        for campaign in &campaigns {
            let mut parts = campaign.split('_').map(js::string_to_number);
            let campaign_id = parts.next().unwrap_or(f64::NAN);
            let variation_id = parts.next();
            let Some(candidates) = self.features_by_campaign.get(&campaign_id.to_bits()) else {
                continue;
            };
            for &(index, rule_variation) in candidates {
                let feature = &self.features[index];
                if seen.contains(&*feature.key) {
                    continue;
                }
                if variation_id.is_none_or(|vid| rule_variation == Some(vid)) {
                    seen.insert(&feature.key);
                    feature_keys.push(&feature.key);
                }
            }
        }
        let members = feature_keys
            .iter()
            .filter_map(|key| {
                let feature = *self.first_feature.get(*key)?;
                Some(Member {
                    feature,
                    rules: self.listed_rules(key, &campaigns),
                })
            })
            .collect();
        let et = group.and_then(|g| property(g, "et"));
        let priority = group.and_then(|g| property(g, "p")).cloned();
        let priority_numbers = match &priority {
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| {
                    if item.is_null() {
                        f64::NAN
                    } else {
                        js::to_number(item)
                    }
                })
                .collect(),
            _ => Vec::new(),
        };
        Ok(Arc::new(Group {
            members,
            random: et.is_none_or(|et| et.as_f64() == Some(1.0)),
            priority,
            priority_numbers,
            weights: group.and_then(|g| property(g, "wt")).cloned(),
        }))
    }

    /// The rules of the features with `key` that `campaigns` lists (by id, or by
    /// `id_variationId`), the first of each rule key.
    fn listed_rules(&self, key: &str, campaigns: &[String]) -> Result<Vec<Arc<Rule>>, Throw> {
        let mut rules: Vec<Arc<Rule>> = Vec::new();
        for feature in self.features.iter().filter(|f| &*f.key == key) {
            for rule in &feature.rules {
                let listed = campaigns.iter().any(|c| *c == rule.id_text) || {
                    let pair = rule.pair()?;
                    campaigns.iter().any(|c| c == pair)
                };
                if listed && !rules.iter().any(|r| js::strict_eq(&r.rule_key, &rule.rule_key)) {
                    rules.push(Arc::clone(rule));
                }
            }
        }
        Ok(rules)
    }
}
