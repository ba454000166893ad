//! One campaign compiled: its variations (ranges, segments, whitelisting, variables) and a
//! feature's rule linked to it, reading each object's fields in one pass.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::engine::bucket::{self, Range, Weight};
use crate::engine::fast_hash::FastMap;
use crate::engine::js;
use crate::engine::model::{GroupRef, Kind, ReportedId, Rule, Segments, Variation, Variations, property};
use crate::engine::segment::{Compiling, FeatureIds, Node, Throw};
use crate::engine::variable::{Scalar, Texts, Variable};

/// An array's items, `[]` for a plain object (`{}` normalized), anything else or nothing.
pub(super) fn list(value: Option<&Value>) -> &[Value] {
    match value {
        Some(Value::Array(items)) => items,
        _ => &[],
    }
}

/// The values of `names` in `map`, read in one pass over its entries (cheaper than a hash
/// lookup per name on the many small objects of a settings file).
pub(super) fn fields<'a, const N: usize>(
    map: &'a Map<String, Value>,
    names: [&str; N],
) -> [Option<&'a Value>; N] {
    let mut found = [None; N];
    for (key, value) in map {
        // Byte by byte: the names are a few bytes long, shorter than a call to `memcmp`.
        let key = key.as_bytes();
        let same = |name: &&str| name.len() == key.len() && name.bytes().zip(key).all(|(a, b)| a == *b);
        if let Some(slot) = names.iter().position(same) {
            found[slot] = Some(value);
        }
    }
    found
}

/// A campaign's `variations`, compiled.
pub(super) fn variations(
    list: &[Value],
    kind: Kind,
    features: &dyn FeatureIds,
    compiling: &mut Compiling,
    texts: &mut Texts,
) -> Variations {
    // Testing rules split 10,000 slots by weight; rollout and personalize rules take
    // 1..=weight*100 each (and decide by traffic, not by range).
    let mut ranges = bucket::Ranges::default();
    list.iter()
        .filter_map(Value::as_object)
        .map(|v| {
            let [i, id, n, key, name, w, weight, seg, segs, salt, vars] = fields(
                v,
                [
                    "i",
                    "id",
                    "n",
                    "key",
                    "name",
                    "w",
                    "weight",
                    "seg",
                    "segments",
                    "salt",
                    "variables",
                ],
            );
            let weight = Weight::of(js::or(w, weight));
            let range = match kind {
                Kind::Rollout | Kind::Personalize => Range {
                    start: 1.0,
                    end: weight.number * 100.0,
                },
                _ => ranges.next(weight),
            };
            let segments = js::or(seg, segs);
            let whitelist = match segments.filter(|_| kind == Kind::Testing) {
                Some(dsl @ Value::Object(map)) if !map.is_empty() => {
                    Some(Box::new(Node::compile_tree(dsl, features, compiling)))
                }
                _ => None,
            };
            let id = js::or(i, id);
            Arc::new(Variation {
                id: id.cloned().unwrap_or(Value::Null),
                reported_id: ReportedId::of(id.unwrap_or(&Value::Null)),
                id_text: texts.js_text(id),
                key: texts.js_text(js::or(n, js::or(key, name))),
                weight,
                salt: salt
                    .filter(|s| js::truthy(s))
                    .map(|salt| texts.js_text(Some(salt))),
                range,
                // Pre-segmentation reads a variation's segments for these kinds only.
                segments: if matches!(kind, Kind::Rollout | Kind::Personalize) {
                    Segments::compile(segments, features, compiling)
                } else {
                    Segments::Skip
                },
                whitelist,
                variables: variables(vars, texts),
                reported: Default::default(),
            })
        })
        .collect()
}

fn variables(list: Option<&Value>, texts: &mut Texts) -> Arc<[Variable]> {
    let Some(Value::Array(items)) = list else {
        return Arc::from([]);
    };
    items
        .iter()
        .map(|variable| {
            let [i, id, kind, k, key, val, value] = match variable {
                Value::Object(map) => fields(map, ["i", "id", "type", "k", "key", "val", "value"]),
                _ => [None; 7],
            };
            Variable::new(
                texts.scalar(js::nullish(i, id)),
                texts.type_name(kind),
                texts.scalar(js::nullish(k, key)),
                js::nullish(val, value).cloned().unwrap_or(Value::Null),
            )
        })
        .collect()
}

/// Where rules find their groups while they are linked.
pub(super) struct Groups<'a> {
    pub(super) campaign_groups: Option<&'a Map<String, Value>>,
    pub(super) groups: Option<&'a Value>,
    pub(super) index: &'a FastMap<String, usize>,
}

pub(super) fn link(
    campaign: &Map<String, Value>,
    rule_key: Option<&Value>,
    variations: Variations,
    groups: &Groups<'_>,
    features: &dyn FeatureIds,
    compiling: &mut Compiling,
    texts: &mut Texts,
) -> Rule {
    let [kind, id, key, salt, traffic, forced, user_list, segments] = fields(
        campaign,
        [
            "type",
            "id",
            "key",
            "salt",
            "percentTraffic",
            "isForcedVariationEnabled",
            "isUserListEnabled",
            "segments",
        ],
    );
    let kind = Kind::of(kind);
    let id = id.cloned().unwrap_or(Value::Null);
    let id_text = js::to_string(&id);
    let pair = variations
        .first()
        .map(|first| [id_text.as_str(), &first.id_text].join("_"));
    // getGroupDetailsIfCampaignPartOfIt: "id" (or "id_variationId" for personalize rules);
    // reading a group that the settings do not define throws.
    let group = (|| {
        let lookup = if kind == Kind::Personalize {
            pair.as_deref().ok_or(Throw)?
        } else {
            id_text.as_str()
        };
        let Some(group_id) = groups.campaign_groups.and_then(|cg| cg.get(lookup)) else {
            return Ok(None);
        };
        let text = js::to_string(group_id);
        match groups.groups.and_then(|g| property(g, &text)) {
            None | Some(Value::Null) => Err(Throw),
            Some(_) => {
                let index = groups.index.get(&text).copied().ok_or(Throw)?;
                Ok(Some(Arc::new(GroupRef {
                    id: group_id.clone(),
                    storage_key: ["_vwo_meta_meg_", &text].concat(),
                    text,
                    index,
                })))
            }
        }
    })();
    let key = texts.scalar(key);
    Rule {
        key_text: match &key {
            Scalar::Text(text) => Arc::clone(text),
            other => texts.js_text(Some(&other.to_value())),
        },
        key,
        reported_id: ReportedId::of(&id),
        id,
        id_text,
        pair,
        kind,
        rule_key: rule_key.cloned().unwrap_or(Value::Null),
        salt: salt
            .filter(|s| js::truthy(s))
            .map(|salt| texts.js_text(Some(salt))),
        traffic: traffic.map_or(f64::NAN, js::to_number),
        traffic_truthy: traffic.is_some_and(js::truthy),
        forced_variations: forced.is_some_and(js::truthy),
        user_list: user_list.is_some_and(js::truthy),
        segments: if kind == Kind::Testing {
            Segments::compile(segments, features, compiling)
        } else {
            Segments::Skip
        },
        variations,
        group,
    }
}
