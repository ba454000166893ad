//! A settings file compiled for decisions: features with their rules already linked to their
//! campaigns, variation ranges allocated and segments compiled, as the SDK prepares them when
//! it takes a settings file (`utils/SettingsUtil.ts`, `FunctionUtil.addLinkedCampaignsToSettings`,
//! `CampaignUtil.setVariationAllocation`). Built once per snapshot; decisions only read it.

use std::sync::{Arc, OnceLock};

use serde_json::Value;

use crate::engine::bucket::{Range, Weight};
use crate::engine::fast_hash::FastMap;
use crate::engine::flag::{Placement, RuleDecision};
use crate::engine::js;
use crate::engine::segment::{Compiling, FeatureIds, Node, Problems, Throw};
use crate::engine::variable::{Scalar, Variable};

mod compile;

/// A campaign's or a variation's id as an impression reports it, worked out when the settings
/// are compiled so that a decision only copies it: a number, as the settings nearly always
/// write it, or whatever else they hold.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ReportedId {
    Number(f64),
    Other(Box<Value>),
}

impl ReportedId {
    pub(crate) fn of(value: &Value) -> Self {
        match value.as_f64() {
            // Only a number f64 holds exactly (a u64 past 2^53 does not).
            Some(f) if value.as_u64().is_none_or(|u| f as u64 == u) => ReportedId::Number(f),
            _ => ReportedId::Other(Box::new(value.clone())),
        }
    }
}

impl serde::Serialize for ReportedId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ReportedId::Number(f) if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 => {
                // Exact: a whole number below 2^53, written as JavaScript writes it.
                #[allow(clippy::cast_possible_truncation)]
                serializer.serialize_i64(*f as i64)
            }
            ReportedId::Number(f) => serializer.serialize_f64(*f),
            ReportedId::Other(value) => js::JsJson(value).serialize(serializer),
        }
    }
}

/// The three kinds of rule a feature has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Rollout,
    Testing,
    Personalize,
    Other,
}

impl Kind {
    fn of(value: Option<&Value>) -> Self {
        match value.and_then(Value::as_str) {
            Some("FLAG_ROLLOUT") => Kind::Rollout,
            Some("FLAG_TESTING") => Kind::Testing,
            Some("FLAG_PERSONALIZE") => Kind::Personalize,
            _ => Kind::Other,
        }
    }
}

/// A segment where the SDK reads one: `{}` is skipped (passes), anything else is evaluated.
#[derive(Debug)]
pub(super) enum Segments {
    Skip,
    /// Boxed: most rules and variations have none, and a node is larger than the pointer.
    Dsl(Box<Node>),
}

impl Segments {
    fn compile(value: Option<&Value>, features: &dyn FeatureIds, compiling: &mut Compiling) -> Self {
        match value {
            Some(Value::Object(map)) if map.is_empty() => Segments::Skip,
            Some(dsl) => Segments::Dsl(Box::new(Node::compile_tree(dsl, features, compiling))),
            None => Segments::Dsl(Box::new(Node::Throw)),
        }
    }
}

/// A variation, with its range allocated.
#[derive(Debug)]
pub(super) struct Variation {
    pub(super) id: Value,
    /// `id` as impressions report it.
    pub(super) reported_id: ReportedId,
    /// `String(id)`, for bucketing keys and group lists.
    pub(super) id_text: Arc<str>,
    pub(super) key: Arc<str>,
    pub(super) weight: Weight,
    pub(super) salt: Option<Arc<str>>,
    pub(super) range: Range,
    /// Pre-segmentation, for the first variation of a rollout or personalize rule.
    pub(super) segments: Segments,
    /// Whitelisting: a non-empty segment object.
    pub(super) whitelist: Option<Box<Node>>,
    pub(super) variables: Arc<[Variable]>,
    /// What a flag reports of this variation, bucketed or whitelisted: made at its first
    /// decision, then shared by every flag that names it (a flag only counts a reference).
    pub(super) reported: [OnceLock<Arc<RuleDecision>>; 2],
}

impl Variation {
    /// The flag's record of a user placed `how` in this variation of `rule`'s campaign.
    /// `rule` is one of the rules linked to the campaign the variation belongs to, so the
    /// record is the same whichever of them asks.
    pub(super) fn reported(&self, rule: &Rule, how: Placement) -> Arc<RuleDecision> {
        let record = || RuleDecision {
            campaign_id: rule.id.clone(),
            key: Arc::clone(&rule.key_text),
            variation_id: self.id.clone(),
            placement: how,
        };
        match how {
            Placement::Bucketed => Arc::clone(self.reported[0].get_or_init(|| Arc::new(record()))),
            Placement::Whitelisted => Arc::clone(self.reported[1].get_or_init(|| Arc::new(record()))),
            // A decision from storage carries what storage recorded, not this variation's
            // record, so it is never shared.
            Placement::Stored => Arc::new(record()),
        }
    }
}

/// A campaign's compiled variations, shared by the rules linked to it.
pub(super) type Variations = Arc<[Arc<Variation>]>;

/// A feature's rule linked to its campaign (`rulesLinkedCampaign`).
#[derive(Debug)]
pub(super) struct Rule {
    pub(super) id: Value,
    /// `id` as impressions report it.
    pub(super) reported_id: ReportedId,
    /// `String(id)`.
    pub(super) id_text: String,
    /// `id_variationId` of the first variation, as groups list personalize rules (`None`
    /// without variations: reading it throws).
    pub(super) pair: Option<String>,
    /// The campaign's key (a string in valid settings, then shared with `key_text`).
    pub(super) key: Scalar,
    /// `String(key)`, as a decision reports it.
    pub(super) key_text: Arc<str>,
    pub(super) kind: Kind,
    pub(super) rule_key: Value,
    pub(super) salt: Option<Arc<str>>,
    /// `percentTraffic` as a number (NaN when absent), and whether it is truthy: all the
    /// decision reads of it.
    pub(super) traffic: f64,
    pub(super) traffic_truthy: bool,
    pub(super) forced_variations: bool,
    pub(super) user_list: bool,
    /// The campaign's own segments (for testing rules).
    pub(super) segments: Segments,
    /// The campaign's variations (shared with it), or the one a rule's `variationId` names.
    pub(super) variations: Variations,
    /// The mutually exclusive group the rule is in (`None`: none), or where reading it throws.
    pub(super) group: Result<Option<Arc<GroupRef>>, Throw>,
}

/// A rule's group: its id as the settings write it, as text, and where it is compiled.
#[derive(Debug, Clone)]
pub(super) struct GroupRef {
    pub(super) id: Value,
    pub(super) text: String,
    /// Where storage keeps the group's winner: `_vwo_meta_meg_<id>`.
    pub(super) storage_key: String,
    pub(super) index: usize,
}

impl Rule {
    /// `${id}_${variations[0].id}`, which throws without variations.
    pub(super) fn pair(&self) -> Result<&str, Throw> {
        self.pair.as_deref().ok_or(Throw)
    }

    /// `getVariations()[0]`, which the SDK reads without checking.
    pub(super) fn first_variation(&self) -> Result<&Arc<Variation>, Throw> {
        self.variations.first().ok_or(Throw)
    }

    /// The segments pre-segmentation checks: the campaign's for a testing rule, the first
    /// variation's for a rollout or personalize rule, none for other kinds.
    pub(super) fn pre_segments(&self) -> Result<Option<&Segments>, Throw> {
        match self.kind {
            Kind::Testing => Ok(Some(&self.segments)),
            Kind::Rollout | Kind::Personalize => Ok(Some(&self.first_variation()?.segments)),
            Kind::Other => Ok(None),
        }
    }
}

/// A raw rule of a feature (before linking), for the group lookups compiled from them.
#[derive(Debug)]
pub(super) struct RawRule {
    pub(super) campaign_id: Value,
    pub(super) variation_id: Option<Value>,
}

/// A feature.
#[derive(Debug)]
pub(super) struct Feature {
    /// The feature's id, as holdouts list it and stored decisions keep it.
    pub(super) id: Value,
    /// `id` as holdout impressions report it (`fId`).
    pub(super) reported_id: ReportedId,
    /// `String(key)`, shared with the key lookup.
    pub(super) key: Arc<str>,
    pub(super) rules: Vec<Arc<Rule>>,
    /// The impact campaign's id, as its impressions report it.
    pub(super) impact_campaign_id: Option<ReportedId>,
    /// `getCampaignIdsFromFeatureKey`: the campaign ids of every rule of every feature with
    /// this key.
    pub(super) campaign_ids: Arc<[Value]>,
}

impl Feature {
    pub(super) fn rollout_rules(&self) -> impl Iterator<Item = &Arc<Rule>> {
        self.rules.iter().filter(|rule| rule.kind == Kind::Rollout)
    }

    pub(super) fn experiment_rules(&self) -> impl Iterator<Item = &Arc<Rule>> {
        self.rules
            .iter()
            .filter(|rule| matches!(rule.kind, Kind::Testing | Kind::Personalize))
    }
}

/// A holdout (Node 1.40): the users it takes see every feature it applies to off, and VWO
/// compares them with the others.
#[derive(Debug)]
pub(super) struct Holdout {
    pub(super) id: Value,
    /// `id` as impressions report it.
    pub(super) reported_id: ReportedId,
    /// `String(id)`, for the bucketing key.
    pub(super) id_text: String,
    pub(super) name: Arc<str>,
    /// Its segments, when not empty: evaluated on the custom variables.
    pub(super) segments: Option<Box<Node>>,
    /// Its place in the settings' holdouts, by which a decision remembers its verdict.
    pub(super) index: usize,
    /// Whether one verdict holds for the whole decision: its segments ask neither storage nor
    /// VWO's gateway, so evaluating it again (for a group's other features) answers the same.
    pub(super) reusable: bool,
    /// Whether its segments read `_wingifyUserId`, which each rule sets anew.
    pub(super) reads_user_id: bool,
    pub(super) percent_traffic: f64,
    pub(super) is_global: bool,
    pub(super) feature_ids: Vec<Value>,
}

impl Holdout {
    /// `getApplicableHoldouts`: global, or listing the feature's id.
    pub(super) fn applies_to(&self, feature: &Feature) -> bool {
        self.is_global || self.feature_ids.iter().any(|id| js::strict_eq(id, &feature.id))
    }
}

/// A mutually exclusive group, as the decision reads it.
#[derive(Debug)]
pub(super) struct Group {
    /// The features the group's campaigns belong to, in the SDK's order, each with its
    /// rules that the group lists (or where listing them throws).
    pub(super) members: Vec<Member>,
    /// `et` is absent or 1.
    pub(super) random: bool,
    /// `p` (priority order) and `wt` (weights), as given.
    pub(super) priority: Option<Value>,
    /// `Number(x)` of each item of an array `p` (NaN for `null`, which equals nothing): what a
    /// numeric campaign id is compared with (`id == x`), read once.
    pub(super) priority_numbers: Vec<f64>,
    pub(super) weights: Option<Value>,
}

/// A feature of a group.
#[derive(Debug)]
pub(super) struct Member {
    /// The first feature with the key.
    pub(super) feature: usize,
    /// The rules of every feature with that key that the group lists, one per rule key.
    pub(super) rules: Result<Vec<Arc<Rule>>, Throw>,
}

/// What events need from the settings.
#[derive(Debug, Default)]
pub(crate) struct EventSettings {
    /// The names `trackEvent` accepts: every feature's metric identifiers.
    pub(crate) metrics: std::collections::HashSet<String>,
    /// `collectionPrefix`: a path prefix for events sent to VWO's own host.
    pub(crate) collection_prefix: Option<Arc<str>>,
    /// `isWebConnectivityEnabled` is not `false`: a context id made by VWO's web snippet
    /// (`D` or `J` and 32 hex digits) is reported as the visitor's UUID, as it is.
    pub(crate) web_uuids: bool,
    /// `isMAU: true`: the account counts monthly users, so a decision that sends no
    /// impression reports the user with `vwo_feTrackUsage`.
    pub(crate) usage: bool,
    /// `devMode: true`: a context in dev mode sends nothing from its decisions.
    pub(crate) dev_mode: bool,
}

/// The compiled settings.
#[derive(Debug)]
pub(crate) struct Model {
    pub(super) account_id: String,
    pub(crate) events: EventSettings,
    pub(super) features: Vec<Feature>,
    first_feature: FastMap<Arc<str>, usize>,
    /// Campaigns by key (the first of each key): their variations, for stored decisions.
    campaigns_by_key: FastMap<String, Variations>,
    groups: Vec<Result<Arc<Group>, Throw>>,
    /// The settings' holdouts, in order.
    pub(super) holdouts: Vec<Holdout>,
    /// For each campaign id (as f64 bits), the features with a rule on it, in order, with
    /// the rule's variation id.
    features_by_campaign: FastMap<u64, Vec<(usize, Option<f64>)>>,
    pub(crate) problems: Problems,
}

impl Model {
    /// The first feature with `key`.
    pub(super) fn feature(&self, key: &str) -> Option<&Feature> {
        self.first_feature.get(key).map(|&index| &self.features[index])
    }

    /// `getVariationFromCampaignKey`: a variation of the first campaign with `key`.
    pub(super) fn stored_variation(&self, key: &Value, variation_id: &Value) -> Option<&Arc<Variation>> {
        let key = key.as_str()?;
        self.campaigns_by_key
            .get(key)?
            .iter()
            .find(|v| js::strict_eq(&v.id, variation_id))
    }

    /// Whether the settings have holdouts (most have none: the decision skips them).
    pub(super) fn has_holdouts(&self) -> bool {
        !self.holdouts.is_empty()
    }

    /// The holdouts that apply to `feature`, in the settings' order.
    pub(super) fn holdouts_of<'m>(&'m self, feature: &'m Feature) -> impl Iterator<Item = &'m Holdout> {
        self.holdouts
            .iter()
            .filter(move |holdout| holdout.applies_to(feature))
    }

    /// Whether a feature of the settings has `id` (`isFeatureIdPresentInSettings`).
    pub(super) fn has_feature_id(&self, id: &Value) -> bool {
        self.features.iter().any(|feature| js::strict_eq(&feature.id, id))
    }

    /// A rule's group.
    pub(super) fn group(&self, group: &GroupRef) -> Result<&Group, Throw> {
        match self.groups.get(group.index) {
            Some(Ok(group)) => Ok(group),
            Some(Err(throw)) => Err(*throw),
            None => Err(Throw),
        }
    }

    /// How many features the settings define.
    pub(crate) fn feature_count(&self) -> usize {
        self.features.len()
    }

    /// Each feature key once, in the settings' order (the first feature of each key decides).
    pub(crate) fn feature_keys(&self) -> impl Iterator<Item = &str> {
        self.features
            .iter()
            .enumerate()
            .filter(|(index, feature)| self.first_feature.get(&*feature.key) == Some(index))
            .map(|(_, feature)| &*feature.key)
    }

    /// The id of the feature with `key`.
    pub(crate) fn feature_id(&self, key: &str) -> Option<&Value> {
        self.feature(key).map(|feature| &feature.id)
    }
}

/// `x[key]` for an object or an array.
pub(super) fn property<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    match value {
        Value::Object(map) => map.get(key),
        Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    }
}
