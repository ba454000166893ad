//! The segment DSL (`packages/segmentation-evaluator`), compiled once per settings file into a
//! tree and evaluated per decision without allocating for the common operands.
//!
//! The SDK reads the DSL as it walks it, so a malformed segment fails where the SDK's walk
//! would: `Node::Throw` marks the places where JavaScript throws a `TypeError`, which makes
//! the SDK's whole `getFlag` answer "disabled".

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::engine::context::Context;
use crate::engine::js;
use crate::engine::operand::{Operand, Reading, RegexCache};

mod gathered;

use gathered::{every, some};

/// Where the SDK would throw: the decision is the SDK's error answer (disabled, no variables).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Throw;

/// A compiled segment.
#[derive(Debug)]
pub(super) enum Node {
    Not(Box<Node>),
    And(Vec<AndItem>),
    Or(Vec<OrItem>),
    CustomVariable {
        key: String,
        test: VariableTest,
    },
    User(Vec<String>),
    UserAgent(Operand),
    Text(TextOperand, Operand),
    /// `campaignVariation` (Node 1.60): the user's web testing campaigns and variations.
    CampaignVariation(WebTest),
    /// A whole tree with a `campaignVariation` anywhere in it: false when the context has no
    /// web testing campaigns (`SegmentationManager.validateSegmentation`).
    NeedsWebTesting(Box<Node>),
    /// No operator the SDK knows (or an empty object): `false`.
    False,
    Throw,
}

/// A `campaignVariation` operand (trimmed, campaign and variation ids in ASCII digits).
#[derive(Debug)]
pub(super) enum WebTest {
    /// `!C`: not in campaign C.
    NotIn(String),
    /// `C_!V`: in C, with another variation than V.
    InOtherThan(String, String),
    /// `C_V`: in C, with variation V.
    InVariation(String, String),
    /// `C`: in C.
    In(String),
    /// Anything else (or not text or a finite number): false.
    Invalid,
}

impl WebTest {
    fn compile(value: &Value) -> Self {
        let text = match value {
            Value::String(text) => text.clone(),
            Value::Number(n) if n.as_f64().is_some_and(f64::is_finite) => js::to_string(value),
            _ => return WebTest::Invalid,
        };
        let text = js::trim(&text);
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if let Some(campaign) = text.strip_prefix('!')
            && digits(campaign)
        {
            return WebTest::NotIn(campaign.to_owned());
        }
        if let Some((campaign, variation)) = text.split_once('_')
            && digits(campaign)
        {
            if let Some(other) = variation.strip_prefix('!')
                && digits(other)
            {
                return WebTest::InOtherThan(campaign.to_owned(), other.to_owned());
            }
            if digits(variation) {
                return WebTest::InVariation(campaign.to_owned(), variation.to_owned());
            }
        }
        if digits(text) {
            return WebTest::In(text.to_owned());
        }
        WebTest::Invalid
    }

    /// Whether the user's campaigns (campaign id to variation id) satisfy the operand.
    fn matches(&self, campaigns: Option<&Map<String, Value>>) -> bool {
        let variation_of = |campaign: &str| campaigns.and_then(|c| c.get(campaign)).and_then(Value::as_str);
        match self {
            WebTest::NotIn(campaign) => variation_of(campaign).is_none(),
            WebTest::InOtherThan(campaign, variation) => {
                variation_of(campaign).is_some_and(|assigned| assigned != variation)
            }
            WebTest::InVariation(campaign, variation) => variation_of(campaign) == Some(variation.as_str()),
            WebTest::In(campaign) => variation_of(campaign).is_some(),
            WebTest::Invalid => false,
        }
    }
}

/// What a `custom_variable` compares.
#[derive(Debug)]
pub(super) enum VariableTest {
    Operand(Operand),
    /// `inlist(id)`: asks VWO's gateway; `None` when the id is malformed.
    InList(Option<String>),
    Throw,
}

/// The operands read from the context as text, not normalized as numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TextOperand {
    IpAddress,
    BrowserVersion,
    OsVersion,
}

/// One element of an `and`: location keys are gathered and checked together.
#[derive(Debug)]
pub(super) enum AndItem {
    Location(Vec<(&'static str, Value)>),
    Node(Node),
    Throw,
}

/// One element of an `or`: its keys, looked at in order (user-agent keys are gathered, a
/// `featureId` answers at once), then the element itself.
#[derive(Debug)]
pub(super) struct OrItem {
    keys: Vec<OrKey>,
    node: Node,
}

#[derive(Debug)]
enum OrKey {
    UserAgent(&'static str, Vec<String>),
    /// `featureId: {"<id>": "on" | "off"}`: whether the user has a stored decision for the
    /// feature (`None`: no feature with that id, which answers `null`).
    Feature {
        feature_key: Option<String>,
        off: bool,
    },
    /// A `featureId` whose value is neither "on" nor "off".
    Nothing,
    Throw,
}

const LOCATION_KEYS: [&str; 3] = ["country", "region", "city"];
const USER_AGENT_KEYS: [&str; 4] = ["os", "browser_string", "device_type", "device"];

/// What the segment evaluation needs besides the context: storage and the gateway.
pub(super) trait Lookup {
    /// Whether a decision is stored for `feature_key` and this user (`Err` stops the run).
    fn has_stored(&mut self, feature_key: &str) -> Result<bool, Throw>;
    /// Whether `attribute` is in the list `list_id` (VWO's gateway); `false` without one.
    fn in_list(&mut self, list_id: &str, attribute: &str) -> bool;
}

/// The settings a segment may refer to: features by id (for `featureId`).
pub(super) trait FeatureIds {
    /// The key of the first feature whose id is the number `id`.
    fn feature_key_by_id(&self, id: f64) -> Option<String>;
}

/// What compiling a settings file's segments carries from one to the next: the problems
/// found, and the regular expressions compiled so far.
#[derive(Debug, Default)]
pub(super) struct Compiling {
    pub(super) problems: Problems,
    pub(super) regexes: RegexCache,
}

/// Problems the compiled segments of a settings file carry, logged and counted once per file.
#[derive(Debug, Default)]
pub(crate) struct Problems {
    pub(crate) bad_regexes: usize,
    /// `regex(..)` operands JavaScript accepts that have no bounded form here (never match).
    pub(crate) unbounded_regexes: usize,
    pub(crate) throwing_segments: usize,
    /// Top-level settings keys this crate does not follow (a VWO feature newer than it, or one
    /// it does not follow yet): their names, never their values.
    pub(crate) unknown_keys: Vec<String>,
}

impl Node {
    /// Compiles a whole segment tree, as `validateSegmentation` receives it: one holding a
    /// `campaignVariation` key anywhere is false for a context without web testing campaigns.
    pub(super) fn compile_tree(dsl: &Value, features: &dyn FeatureIds, compiling: &mut Compiling) -> Self {
        let node = Self::compile(dsl, features, compiling);
        if has_campaign_variation(dsl) {
            Node::NeedsWebTesting(Box::new(node))
        } else {
            node
        }
    }

    /// Compiles `dsl` (what `isSegmentationValid` receives).
    pub(super) fn compile(dsl: &Value, features: &dyn FeatureIds, compiling: &mut Compiling) -> Self {
        let node = Self::compile_inner(dsl, features, compiling);
        if matches!(node, Node::Throw) {
            compiling.problems.throwing_segments += 1;
        }
        node
    }

    fn compile_inner(dsl: &Value, features: &dyn FeatureIds, compiling: &mut Compiling) -> Self {
        let Value::Object(map) = dsl else {
            return Node::Throw;
        };
        let Some((operator, value)) = js::first_entry(map) else {
            return Node::False;
        };
        match operator {
            "not" => Node::Not(Box::new(Self::compile(value, features, compiling))),
            "and" => match elements(value) {
                Ok(items) => {
                    let items: Vec<AndItem> = items
                        .iter()
                        .map(|dsl| and_item(dsl, features, compiling))
                        .collect();
                    // `every` over one plain element is that element (most segments are one
                    // condition in an `and` or an `or`). A throwing one stays below: it is
                    // counted once.
                    match <[AndItem; 1]>::try_from(items) {
                        Ok([AndItem::Node(node)]) if !matches!(node, Node::Throw) => node,
                        Ok(one) => Node::And(one.into()),
                        Err(items) => Node::And(items),
                    }
                }
                Err(Throw) => Node::Throw,
            },
            "or" => match elements(value) {
                Ok(items) => {
                    let items: Vec<OrItem> = items
                        .iter()
                        .map(|dsl| or_item(dsl, features, compiling))
                        .collect();
                    // `some` over one element without user-agent or `featureId` keys is that
                    // element.
                    match <[OrItem; 1]>::try_from(items) {
                        Ok([item]) if item.keys.is_empty() && !matches!(item.node, Node::Throw) => item.node,
                        Ok(one) => Node::Or(one.into()),
                        Err(items) => Node::Or(items),
                    }
                }
                Err(Throw) => Node::Throw,
            },
            "custom_variable" => custom_variable(value, compiling),
            "user" => match value {
                Value::String(users) => {
                    Node::User(users.split(',').map(|u| js::trim(u).to_owned()).collect())
                }
                _ => Node::Throw,
            },
            "ua" => {
                let operand = match value {
                    Value::String(text) => Operand::compile(text, Reading::Numeric, &mut compiling.regexes),
                    other => Operand::equal_to(js::to_string(other)),
                };
                count_regex(&operand, compiling);
                Node::UserAgent(operand)
            }
            "ip_address" | "browser_version" | "os_version" => {
                let kind = match operator {
                    "ip_address" => TextOperand::IpAddress,
                    "browser_version" => TextOperand::BrowserVersion,
                    _ => TextOperand::OsVersion,
                };
                let operand =
                    Operand::compile(&js::to_string(value), Reading::Verbatim, &mut compiling.regexes);
                count_regex(&operand, compiling);
                Node::Text(kind, operand)
            }
            "campaignVariation" => Node::CampaignVariation(WebTest::compile(value)),
            _ => Node::False,
        }
    }

    /// Whether evaluating the node may ask storage or VWO's gateway (`featureId`, `inlist`):
    /// its answer may then change during a decision, so it is never reused.
    pub(super) fn looks_up(&self) -> bool {
        match self {
            Node::Not(inner) | Node::NeedsWebTesting(inner) => inner.looks_up(),
            Node::And(items) => items.iter().any(|item| match item {
                AndItem::Node(node) => node.looks_up(),
                AndItem::Location(_) | AndItem::Throw => false,
            }),
            Node::Or(items) => items.iter().any(|item| {
                item.keys.iter().any(|key| matches!(key, OrKey::Feature { .. })) || item.node.looks_up()
            }),
            Node::CustomVariable { test, .. } => matches!(test, VariableTest::InList(Some(_))),
            Node::User(_)
            | Node::UserAgent(_)
            | Node::Text(..)
            | Node::CampaignVariation(_)
            | Node::False
            | Node::Throw => false,
        }
    }

    /// Whether the node reads `_wingifyUserId` (a `user` list, or the variable by name): only
    /// then does its answer depend on which id the SDK set.
    pub(super) fn reads_user_id(&self) -> bool {
        match self {
            Node::Not(inner) | Node::NeedsWebTesting(inner) => inner.reads_user_id(),
            Node::And(items) => items.iter().any(|item| match item {
                AndItem::Node(node) => node.reads_user_id(),
                AndItem::Location(_) | AndItem::Throw => false,
            }),
            Node::Or(items) => items.iter().any(|item| item.node.reads_user_id()),
            Node::CustomVariable { key, .. } => key == USER_ID_KEY || key == LEGACY_USER_ID_KEY,
            Node::User(_) => true,
            Node::UserAgent(_) | Node::Text(..) | Node::CampaignVariation(_) | Node::False | Node::Throw => {
                false
            }
        }
    }

    /// `isSegmentationValid(dsl, properties)`.
    pub(super) fn eval(&self, env: &mut Env<'_>) -> Result<bool, Throw> {
        match self {
            Node::Not(inner) => Ok(!inner.eval(env)?),
            Node::And(items) => every(items, env),
            Node::Or(items) => some(items, env),
            Node::CustomVariable { key, test } => {
                if env.properties_undefined {
                    return Err(Throw);
                }
                let Some(tag) = env.property(key) else {
                    return Ok(false);
                };
                match test {
                    VariableTest::Throw => Err(Throw),
                    VariableTest::InList(None) => Ok(false),
                    VariableTest::InList(Some(list)) => {
                        let attribute = tag_text(&tag).map_or_else(|| "null".to_owned(), Cow::into_owned);
                        // The gateway's answer is awaited inside the operand evaluator.
                        Ok(env.lookup.in_list(list, &attribute))
                    }
                    VariableTest::Operand(operand) => Ok(with_tag_text(&tag, |tag| operand.matches(tag))),
                }
            }
            Node::User(users) => {
                if env.properties_undefined {
                    return Err(Throw);
                }
                if let Some(id) = env.vwo_user_id {
                    return Ok(users.iter().any(|user| user == id));
                }
                // `_wingifyUserId ?? _vwoUserId`: the name Node 1.50 gave the id, then the old one.
                let Some(id) = env
                    .property(USER_ID_KEY)
                    .filter(|id| !id.is_null())
                    .or_else(|| env.property(LEGACY_USER_ID_KEY))
                else {
                    return Ok(false);
                };
                // `==` between strings is their equality; only another type needs JS's rules.
                Ok(match &*id {
                    Value::String(id) => users.iter().any(|user| user == id),
                    other => users
                        .iter()
                        .any(|user| js::loose_eq(&Value::String(user.clone()), other)),
                })
            }
            Node::UserAgent(operand) => {
                let Some(ua) = env.context.user_agent().filter(|ua| !ua.is_empty()) else {
                    return Ok(false);
                };
                let tag = js::decode_uri_component(ua).ok_or(Throw)?;
                Ok(operand.matches(&tag))
            }
            Node::Text(kind, operand) => {
                let tag = match kind {
                    TextOperand::IpAddress => env
                        .context
                        .ip_address()
                        .filter(|ip| !ip.is_empty())
                        .map(str::to_owned),
                    TextOperand::BrowserVersion => ua_detail(env.context, "browser_version"),
                    TextOperand::OsVersion => ua_detail(env.context, "os_version"),
                };
                Ok(tag.is_some_and(|tag| operand.matches(&tag)))
            }
            Node::CampaignVariation(test) => Ok(test.matches(env.context.web_testing_campaigns())),
            Node::NeedsWebTesting(inner) => {
                if env.context.has_web_testing_data() {
                    inner.eval(env)
                } else {
                    Ok(false)
                }
            }
            Node::False => Ok(false),
            Node::Throw => Err(Throw),
        }
    }
}

/// The custom variable the SDK sets to the user id (or its UUID, for a rule with a user list)
/// before it evaluates a rule's segments: `_wingifyUserId` since Node 1.50 (Python 1.65 still
/// sets `_vwoUserId`; this crate follows Node).
pub(crate) const USER_ID_KEY: &str = "_wingifyUserId";

/// The name [`USER_ID_KEY`] had before Node 1.50, which `user` segments still read when the
/// new one is not set.
const LEGACY_USER_ID_KEY: &str = "_vwoUserId";

/// What one evaluation reads.
pub(super) struct Env<'a> {
    pub(super) context: &'a Context,
    /// The custom variables or the variation targeting variables.
    pub(super) properties: &'a Map<String, Value>,
    /// `_wingifyUserId`, which the SDK adds to `properties` before evaluating (`None` before
    /// the first rule sets it: the caller's own variable, if any, is read).
    pub(super) vwo_user_id: Option<&'a str>,
    /// The SDK reads `undefined` for the properties (a holdout's segments, before any rule
    /// gave a context without custom variables its object): reading one throws.
    pub(super) properties_undefined: bool,
    pub(super) lookup: &'a mut dyn Lookup,
}

impl Env<'_> {
    fn property(&self, key: &str) -> Option<Cow<'_, Value>> {
        if let Some(id) = self.vwo_user_id
            && key == USER_ID_KEY
        {
            return Some(Cow::Owned(Value::String(id.to_owned())));
        }
        small_map_get(self.properties, key).map(Cow::Borrowed)
    }
}

/// `map[key]`. A context holds a handful of variables: comparing the key with each of a few
/// costs less than hashing it.
fn small_map_get<'m>(map: &'m Map<String, Value>, key: &str) -> Option<&'m Value> {
    if map.len() <= 8 {
        map.iter().find(|(k, _)| k.as_str() == key).map(|(_, v)| v)
    } else {
        map.get(key)
    }
}

/// `f` of [`tag_text`], a number printed on the stack; false for `null`.
fn with_tag_text(value: &Value, f: impl FnOnce(&str) -> bool) -> bool {
    match value {
        Value::Null => false,
        Value::String(text) => f(text),
        Value::Number(n) => js::with_number_text(n.as_f64().unwrap_or(f64::NAN), f),
        other => f(&js::to_string(other)),
    }
}

/// `preProcessTagValue`: `undefined` is `""`, `null` stays null (and never matches), the rest
/// is `String(x)`.
fn tag_text(value: &Value) -> Option<Cow<'_, str>> {
    match value {
        Value::Null => None,
        Value::String(text) => Some(Cow::Borrowed(text)),
        other => Some(Cow::Owned(js::to_string(other))),
    }
}

/// A field of the parsed user agent, as `String(x)`; `None` without details or a `null`.
fn ua_detail(context: &Context, key: &str) -> Option<String> {
    let Some(Value::Object(details)) = context.user_agent_details() else {
        return None;
    };
    match details.get(key) {
        None | Some(Value::Null) => None,
        Some(value) => Some(js::to_string(value)),
    }
}

/// `hasCampaignVariationNode`: a `campaignVariation` key in any object of the tree, through
/// arrays and objects (a custom variable of that name counts too).
fn has_campaign_variation(dsl: &Value) -> bool {
    let Value::Object(map) = dsl else {
        return false;
    };
    map.iter().any(|(key, value)| {
        key == "campaignVariation"
            || match value {
                Value::Array(items) => items.iter().any(has_campaign_variation),
                Value::Object(_) => has_campaign_variation(value),
                _ => false,
            }
    })
}

/// `for (const dsl of dslNodes)`: an array's elements; an empty string has none; anything
/// else is not iterable (or iterates characters that then fail).
fn elements(value: &Value) -> Result<&[Value], Throw> {
    match value {
        Value::Array(items) => Ok(items),
        Value::String(s) if s.is_empty() => Ok(&[]),
        _ => Err(Throw),
    }
}

fn and_item(dsl: &Value, features: &dyn FeatureIds, compiling: &mut Compiling) -> AndItem {
    match dsl {
        Value::Object(map) => {
            let location: Vec<(&'static str, Value)> = map
                .iter()
                .filter_map(|(key, value)| {
                    LOCATION_KEYS
                        .iter()
                        .find(|k| **k == key)
                        .map(|k| (*k, value.clone()))
                })
                .collect();
            if location.is_empty() {
                AndItem::Node(Node::compile(dsl, features, compiling))
            } else {
                AndItem::Location(location)
            }
        }
        // `"country" in []` is false; then the array is not an object to read.
        Value::Array(_) => AndItem::Node(Node::Throw),
        // `"country" in 5` throws.
        _ => AndItem::Throw,
    }
}

fn or_item(dsl: &Value, features: &dyn FeatureIds, compiling: &mut Compiling) -> OrItem {
    let mut keys = Vec::new();
    if let Value::Object(map) = dsl {
        // JavaScript's key order puts array indices first; none of them is a key looked for
        // here, and the rest keep their insertion order: the map's own order will do.
        for (key, value) in map.iter().map(|(key, value)| (key.as_str(), value)) {
            if let Some(ua_key) = USER_AGENT_KEYS.iter().find(|k| **k == key) {
                let values = match value {
                    Value::Array(items) => items
                        .iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect(),
                    Value::String(s) => vec![s.clone()],
                    _ => Vec::new(),
                };
                keys.push(OrKey::UserAgent(ua_key, values));
            }
            if key == "featureId" {
                keys.push(feature_key(value, features));
            }
        }
    }
    OrItem {
        keys,
        node: Node::compile(dsl, features, compiling),
    }
}

fn feature_key(value: &Value, features: &dyn FeatureIds) -> OrKey {
    let (id, state) = match value {
        Value::Null => return OrKey::Throw,
        Value::Object(map) => match js::first_entry(map) {
            Some((key, value)) => (Some(key), Some(value)),
            None => (None, None),
        },
        _ => (None, None),
    };
    match state.and_then(Value::as_str) {
        Some(state @ ("on" | "off")) => OrKey::Feature {
            feature_key: id.and_then(|id| features.feature_key_by_id(js::parse_int(id))),
            off: state == "off",
        },
        _ => OrKey::Nothing,
    }
}

fn custom_variable(value: &Value, compiling: &mut Compiling) -> Node {
    let Value::Object(map) = value else {
        return Node::Throw;
    };
    // An empty object reads the property "undefined" and then fails on `undefined.includes`.
    let Some((key, operand)) = js::first_entry(map) else {
        return Node::CustomVariable {
            key: "undefined".to_owned(),
            test: VariableTest::Throw,
        };
    };
    let test = match operand {
        Value::String(operand) if operand.contains("inlist") => {
            VariableTest::InList(inlist_id(operand).map(str::to_owned))
        }
        Value::String(operand) => {
            let operand = Operand::compile(operand, Reading::Numeric, &mut compiling.regexes);
            count_regex(&operand, compiling);
            VariableTest::Operand(operand)
        }
        Value::Array(items) if items.iter().any(|item| item.as_str() == Some("inlist")) => {
            VariableTest::Throw
        }
        array @ Value::Array(_) => VariableTest::Operand(Operand::equal_to(js::to_string(array))),
        _ => VariableTest::Throw,
    };
    Node::CustomVariable {
        key: key.to_owned(),
        test,
    }
}

/// `/inlist\(([^)]+)\)/`: the first `inlist(` followed by at least one character before `)`.
fn inlist_id(operand: &str) -> Option<&str> {
    let mut from = 0;
    while let Some(at) = operand[from..].find("inlist(") {
        let start = from + at + "inlist(".len();
        let rest = &operand[start..];
        if let Some(end) = rest.find(')')
            && end > 0
        {
            return Some(&rest[..end]);
        }
        from = from + at + 1;
    }
    None
}

fn count_regex(operand: &Operand, compiling: &mut Compiling) {
    if operand.bad_regex() {
        compiling.problems.bad_regexes += 1;
    }
    if operand.unbounded_regex() {
        compiling.problems.unbounded_regexes += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct NoFeatures;
    impl FeatureIds for NoFeatures {
        fn feature_key_by_id(&self, _: f64) -> Option<String> {
            None
        }
    }
    struct Nothing;
    impl Lookup for Nothing {
        fn has_stored(&mut self, _: &str) -> Result<bool, Throw> {
            Ok(false)
        }
        fn in_list(&mut self, _: &str, _: &str) -> bool {
            false
        }
    }

    fn eval(dsl: Value, vars: Value) -> Result<bool, Throw> {
        let node = Node::compile(&dsl, &NoFeatures, &mut Compiling::default());
        let context = Context::new("user").expect("id");
        let Value::Object(properties) = vars else {
            panic!("object")
        };
        let mut lookup = Nothing;
        let mut env = Env {
            context: &context,
            properties: &properties,
            vwo_user_id: Some("user"),
            properties_undefined: false,
            lookup: &mut lookup,
        };
        node.eval(&mut env)
    }

    /// A feature with id 7, for `featureId` segments.
    struct FeatureSeven;
    impl FeatureIds for FeatureSeven {
        fn feature_key_by_id(&self, id: f64) -> Option<String> {
            (id == 7.0).then(|| "seven".to_owned())
        }
    }

    fn compiled(dsl: Value) -> Node {
        Node::compile_tree(&dsl, &FeatureSeven, &mut Compiling::default())
    }

    #[test]
    fn a_segment_says_whether_it_asks_storage_or_the_gateway_and_reads_the_user_id() {
        let plain = compiled(json!({"or": [{"custom_variable": {"price": "100"}}]}));
        assert!(!plain.looks_up() && !plain.reads_user_id());
        let stored =
            compiled(json!({"and": [{"or": [{"featureId": {"7": "on"}}]}, {"custom_variable": {"a": "1"}}]}));
        assert!(stored.looks_up());
        let listed = compiled(json!({"not": {"custom_variable": {"a": "inlist(abc)"}}}));
        assert!(listed.looks_up() && !listed.reads_user_id());
        assert!(compiled(json!({"or": [{"user": "u-1,u-2"}]})).reads_user_id());
        assert!(compiled(json!({"and": [{"custom_variable": {"_wingifyUserId": "u-1"}}]})).reads_user_id());
        assert!(compiled(json!({"custom_variable": {"_vwoUserId": "u-1"}})).reads_user_id());
    }

    #[test]
    fn one_condition_in_an_and_or_an_or_is_that_condition_and_a_throw_is_counted_once() {
        assert!(matches!(
            compiled(json!({"or": [{"custom_variable": {"a": "1"}}]})),
            Node::CustomVariable { .. }
        ));
        assert!(matches!(
            compiled(json!({"and": [{"user": "u-1"}]})),
            Node::User(_)
        ));
        // A `featureId` key keeps its `or`: the key is read before the element.
        assert!(matches!(
            compiled(json!({"or": [{"featureId": {"7": "on"}}]})),
            Node::Or(_)
        ));
        let mut compiling = Compiling::default();
        let node = Node::compile(
            &json!({"or": [{"custom_variable": 5}]}),
            &NoFeatures,
            &mut compiling,
        );
        assert!(matches!(node, Node::Or(_)));
        assert_eq!(compiling.problems.throwing_segments, 1);
        assert_eq!(
            eval(json!({"or": [{"custom_variable": {"a": "1"}}]}), json!({"a": 1})),
            Ok(true)
        );
        assert_eq!(
            eval(json!({"and": [{"custom_variable": {"a": "1"}}]}), json!({"a": 2})),
            Ok(false)
        );
    }

    #[test]
    fn operators_combine() {
        let dsl = json!({"or": [{"custom_variable": {"a": "1"}}, {"not": {"custom_variable": {"b": "x"}}}]});
        assert_eq!(eval(dsl.clone(), json!({"a": 1})), Ok(true));
        assert_eq!(eval(dsl.clone(), json!({"a": 2, "b": "x"})), Ok(false));
        assert_eq!(eval(dsl, json!({"a": 2, "b": "y"})), Ok(true));
    }

    #[test]
    fn malformed_segments_fail_where_the_sdk_throws() {
        assert_eq!(eval(json!([]), json!({})), Err(Throw));
        assert_eq!(eval(json!({"and": {}}), json!({})), Err(Throw));
        assert_eq!(eval(json!({"and": ""}), json!({})), Ok(true));
        assert_eq!(eval(json!({"or": ""}), json!({})), Ok(false));
        assert_eq!(
            eval(json!({"custom_variable": {"a": 5}}), json!({"a": 5})),
            Err(Throw)
        );
        // A missing variable answers false before the operand is looked at.
        assert_eq!(eval(json!({"custom_variable": {"a": 5}}), json!({})), Ok(false));
        assert_eq!(eval(json!({"unknown": 1}), json!({})), Ok(false));
        assert_eq!(eval(json!({"user": 5}), json!({})), Err(Throw));
    }

    #[test]
    fn users_are_listed_with_spaces() {
        assert_eq!(eval(json!({"user": "a, user ,b"}), json!({})), Ok(true));
        assert_eq!(eval(json!({"user": "a,b"}), json!({})), Ok(false));
    }

    #[test]
    fn inlist_ids() {
        assert_eq!(inlist_id("inlist(abc)"), Some("abc"));
        assert_eq!(inlist_id("inlist()x inlist(2)"), Some("2"));
        assert_eq!(inlist_id("inlist"), None);
    }

    #[test]
    fn uri_components_decode_like_javascript() {
        assert_eq!(js::decode_uri_component("a%20b%C3%A9").as_deref(), Some("a bé"));
        assert_eq!(js::decode_uri_component("100%"), None);
        assert_eq!(js::decode_uri_component("%C3"), None);
        assert_eq!(js::decode_uri_component("%ZZ"), None);
    }
}

/// A segment the SDK's evaluator fails on (it throws, and its `getFlag` answers "disabled").
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the VWO SDK fails on this segment (a value of the wrong type where it reads an object, a list or a string)"
)]
pub struct SegmentError;

struct NoLookup;

impl Lookup for NoLookup {
    fn has_stored(&mut self, _: &str) -> Result<bool, Throw> {
        Ok(false)
    }

    fn in_list(&mut self, _: &str, _: &str) -> bool {
        false
    }
}

struct NoFeatureIds;

impl FeatureIds for NoFeatureIds {
    fn feature_key_by_id(&self, _: f64) -> Option<String> {
        None
    }
}

/// Evaluates one segment against `custom_variables`, as the SDK's
/// `SegmentEvaluator.isSegmentationValid(dsl, customVariables)` does (what VWO's shared
/// segmentation cases test): the variables are read as given, `_vwoUserId` included.
///
/// ```
/// use serde_json::json;
///
/// let dsl = json!({"or": [{"custom_variable": {"plan": "wildcard(pro*)"}}]});
/// let vars = json!({"plan": "professional"});
/// assert_eq!(vwo_webhook_flags::evaluate_segment(&dsl, vars.as_object().unwrap()), Ok(true));
/// ```
pub fn evaluate_segment(dsl: &Value, custom_variables: &Map<String, Value>) -> Result<bool, SegmentError> {
    let node = Node::compile(dsl, &NoFeatureIds, &mut Compiling::default());
    let context = Context::default();
    let mut lookup = NoLookup;
    let mut env = Env {
        context: &context,
        properties: custom_variables,
        vwo_user_id: None,
        properties_undefined: false,
        lookup: &mut lookup,
    };
    node.eval(&mut env).map_err(|Throw| SegmentError)
}
