//! Seeded generators of settings files and contexts that exercise every path of a decision:
//! rollouts, testing and personalize rules, traffic and weights of every size, salts,
//! whitelisting, user lists, mutually exclusive groups (random and advanced), and segments
//! whose operands fall on both sides of the contexts' values.

use std::cell::Cell;
use std::path::Path;

use fastrand::Rng;
use serde_json::{Map, Value, json};
use vwo_webhook_settings::{Check, validate};

/// The values custom variables, operands and user ids are drawn from, so they meet.
const WORDS: &[&str] = &[
    "", "a", "abc", "ABC", "Abc", "10", "10.0", "010", "1.2.3", "1.10", "2", "0", "-5", "1e3", " 7 ",
    "chrome", "Chrome", "safari", "ü", "日本", "a,b", "x_y", "1.5", ".5", "true", "null", "100", "99.99",
    "v1.2",
];
const PATTERNS: &[&str] = &[
    "^a", "b+c", "\\d+", "^1\\.", "[", "a|b", "^$", "(?:x)y?", "ü", "^\\w+$", "C", "0$",
];
const VERSIONS: &[&str] = &["1", "1.2", "10", ".5", "2.0.1", "100", "0.9", "1.10"];
const KEYS: &[&str] = &["a", "b", "c", "price", "name"];
const USERS: &[&str] = &["user_id", "u1", "u2", "42", "Ünïcode", "user with spaces", "x"];
const COUNTRIES: &[&str] = &["IN", "US", "\"IN\"", " us "];
const OS: &[&str] = &["Windows", "Mac OS", "Android", "iOS"];

/// The words of [`Dialect::Current`]: no text Python reads as another type or number than
/// JavaScript does (`true`, `null`, `1e3`, `.5`, `1.10`, padded or zero-led numbers).
const PLAIN_WORDS: &[&str] = &[
    "", "a", "abc", "ABC", "Abc", "10", "1.2.3", "2", "0", "-5", "chrome", "Chrome", "safari", "ü", "日本",
    "a,b", "x_y", "1.5", "100", "99.99", "v1.2",
];
/// The custom variable [`Dialect::Current`] compares versions on, always given a version.
const VERSION_KEY: &str = "version";
/// No `1.10`: Python compares it with `1.2` as numbers, JavaScript as versions.
const PLAIN_VERSIONS: &[&str] = &["1", "1.2", "10", "2.0.1", "100", "0.9"];
/// No `\w` or `\d`: Python's match letters and digits beyond ASCII.
const PLAIN_PATTERNS: &[&str] = &["^a", "b+c", "^1\\.", "[", "a|b", "^$", "(?:x)y?", "ü", "C", "0$"];

/// What the generators draw from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// Every value and operand shape, as Node reads them, and only what Node 1.35 decides as
    /// the current SDK does: no bucketing seed, holdout or web-testing segment, one forced
    /// variation a rule, and no segment on the user id the SDK sets (renamed in 1.50).
    Node,
    /// The current SDK's features, in values Python 1.65 and Node 1.60 read alike: Python
    /// converts booleans, numbers in exponent form, `1.10` and version comparisons of text
    /// that is not a version its own way, decodes no user agent, matches `\w` beyond ASCII
    /// and wildcards whole, fails on an empty segment inside a tree, names the user id it
    /// sets among the custom variables otherwise, and tries every rollout of a grouped
    /// feature (see docs/flags.md): this corpus leaves those out.
    Current,
}

thread_local! {
    static DIALECT: Cell<Dialect> = const { Cell::new(Dialect::Node) };
}

/// Runs `make` with the generators drawing from `dialect` (on this thread).
pub(crate) fn in_dialect<T>(dialect: Dialect, make: impl FnOnce() -> T) -> T {
    let before = DIALECT.replace(dialect);
    let made = make();
    DIALECT.set(before);
    made
}

fn in_current_dialect() -> bool {
    DIALECT.get() == Dialect::Current
}

fn in_node_dialect() -> bool {
    DIALECT.get() == Dialect::Node
}

/// A value for a custom variable (or a DSL operand's atom).
pub(crate) fn atom(rng: &mut Rng) -> Value {
    if in_current_dialect() {
        return match rng.u8(0..10) {
            0..=5 => json!(word(rng)),
            6..=8 => json!([0, 1, 2, 10, 100, -5, 3, 7][rng.usize(0..8)]),
            _ => json!([10.5, 0.1, 1.5, 99.99][rng.usize(0..4)]),
        };
    }
    match rng.u8(0..10) {
        0..=5 => json!(WORDS[rng.usize(0..WORDS.len())]),
        6 | 7 => json!([0, 1, 2, 10, 100, -5, 3, 7][rng.usize(0..8)]),
        8 => json!([10.5, 0.1, 1e21, 1.5, 99.99, 2.0][rng.usize(0..6)]),
        _ => [json!(true), json!(false), Value::Null][rng.usize(0..3)].clone(),
    }
}

fn word(rng: &mut Rng) -> &'static str {
    if in_current_dialect() {
        return PLAIN_WORDS[rng.usize(0..PLAIN_WORDS.len())];
    }
    WORDS[rng.usize(0..WORDS.len())]
}

fn version(rng: &mut Rng) -> &'static str {
    if in_current_dialect() {
        return PLAIN_VERSIONS[rng.usize(0..PLAIN_VERSIONS.len())];
    }
    VERSIONS[rng.usize(0..VERSIONS.len())]
}

/// An operand as VWO's dashboard writes one; `inlist(..)` only with a context (the bare
/// evaluator has none, and fails on it for that reason alone).
fn operand(rng: &mut Rng, contextual: bool) -> Value {
    let w = word(rng);
    json!(match rng.u8(0..if contextual { 14 } else { 13 }) {
        0..=3 => w.to_owned(),
        4 => format!("lower({w})"),
        5 => format!("wildcard(*{w}*)"),
        6 => format!("wildcard({w}*)"),
        // JavaScript's `*x` matches text with more after the `x`; Python's does not.
        7 if in_current_dialect() => format!("wildcard(*{w}*)"),
        7 => format!("wildcard(*{w})"),
        8 if in_current_dialect() => format!("regex({})", PLAIN_PATTERNS[rng.usize(0..PLAIN_PATTERNS.len())]),
        8 => format!("regex({})", PATTERNS[rng.usize(0..PATTERNS.len())]),
        9 => format!("gt({})", version(rng)),
        10 => format!("gte({})", version(rng)),
        11 => format!("lt({})", version(rng)),
        12 => format!("lte({})", version(rng)),
        _ => format!("inlist({w})"),
    })
}

/// A segment DSL. `contextual` allows the operators that read the user agent, the IP address
/// and the gateway's details (only in decisions: the bare evaluator has no context).
pub(crate) fn dsl(rng: &mut Rng, depth: u32, contextual: bool) -> Value {
    if depth > 0 && rng.u8(0..10) < 4 {
        let children = |rng: &mut Rng, n| {
            (0..n)
                .map(|_| item(rng, depth - 1, contextual))
                .collect::<Vec<_>>()
        };
        let n = rng.usize(1..4);
        return match rng.u8(0..5) {
            0 | 1 => json!({"and": children(rng, n)}),
            2 | 3 => json!({"or": children(rng, n)}),
            _ => json!({"not": dsl(rng, depth - 1, contextual)}),
        };
    }
    leaf(rng, contextual)
}

fn leaf(rng: &mut Rng, contextual: bool) -> Value {
    let roll = rng.u8(0..20);
    if !contextual && roll >= 14 {
        return custom_variable(rng, None, contextual);
    }
    match roll {
        0..=10 => custom_variable(rng, None, contextual),
        11 | 12 => {
            let users: Vec<&str> = (0..rng.usize(1..4))
                .map(|_| USERS[rng.usize(0..USERS.len())])
                .collect();
            json!({"user": users.join(if rng.bool() { "," } else { ", " })})
        }
        // The id the SDK sets among the custom variables: `_vwoUserId` in Python and Node
        // before 1.50, `_wingifyUserId` since; as the decisions' custom variables, only the
        // bare evaluator reads it as given.
        13 if contextual => custom_variable(rng, None, contextual),
        13 => {
            let key = ["_vwoUserId", "_wingifyUserId"][rng.usize(0..2)];
            custom_variable(rng, Some(key), contextual)
        }
        14 => {
            let mut ua = operand(rng, contextual);
            // Python compares a user agent with a version as numbers.
            if in_current_dialect() && compares_versions(&ua) {
                ua = json!(format!("wildcard(*{}*)", word(rng)));
            }
            json!({ "ua": ua })
        }
        15 => {
            let ip = ["1.2.3.4", "wildcard(10.*)", "regex(^192)"][rng.usize(0..3)];
            json!({"ip_address": ip})
        }
        16 => json!({"browser_version": format!("gte({})", version(rng))}),
        17 => json!({"os_version": format!("lt({})", version(rng))}),
        // The web testing campaigns the context names (Node 1.60), in every operand form.
        18 if in_current_dialect() => {
            let operands = [
                json!("101"),
                json!("!101"),
                json!("101_2"),
                json!("101_!2"),
                json!("102_3"),
                json!("!103"),
                json!("103_1"),
                json!("  101  "),
                json!("abc"),
                json!(""),
                json!(101),
                json!("999"),
            ];
            json!({"campaignVariation": operands[rng.usize(0..operands.len())]})
        }
        18 => json!({"unknown_operator": "x"}),
        // Python's evaluator fails on an empty segment inside a tree (Node's reads it as false).
        _ if in_current_dialect() => custom_variable(rng, None, contextual),
        _ => json!({}),
    }
}

/// A `custom_variable` leaf on `key` (or one of [`KEYS`]); in [`Dialect::Current`], version
/// comparisons read [`VERSION_KEY`], which always holds a version.
fn custom_variable(rng: &mut Rng, key: Option<&'static str>, contextual: bool) -> Value {
    let key = key.unwrap_or_else(|| KEYS[rng.usize(0..KEYS.len())]);
    let operand = operand(rng, contextual);
    let key = if in_current_dialect() && compares_versions(&operand) {
        VERSION_KEY
    } else {
        key
    };
    json!({"custom_variable": {key: operand}})
}

fn compares_versions(operand: &Value) -> bool {
    ["gt(", "gte(", "lt(", "lte("]
        .iter()
        .any(|prefix| operand.as_str().is_some_and(|o| o.starts_with(prefix)))
}

/// An element of an `and` or `or`: a DSL, or (with a context) a location or user-agent key.
fn item(rng: &mut Rng, depth: u32, contextual: bool) -> Value {
    if contextual && rng.u8(0..8) == 0 {
        return match rng.u8(0..4) {
            0 => json!({"country": COUNTRIES[rng.usize(0..COUNTRIES.len())]}),
            1 => json!({"city": "Delhi"}),
            2 => {
                json!({"os": [format!("wildcard(*{}*)", &OS[rng.usize(0..OS.len())][..3]), "ios".to_owned()]})
            }
            _ => json!({"device_type": OS[rng.usize(0..OS.len())].to_lowercase()}),
        };
    }
    dsl(rng, depth, contextual)
}

/// Custom variables for a context (keys from the same set the segments read).
pub(crate) fn variables(rng: &mut Rng) -> Map<String, Value> {
    let mut map = Map::new();
    for key in KEYS {
        if rng.u8(0..3) > 0 {
            map.insert((*key).to_owned(), atom(rng));
        }
    }
    if rng.u8(0..10) == 0 {
        map.insert("_vwoUserId".to_owned(), json!(USERS[rng.usize(0..USERS.len())]));
    }
    if in_current_dialect() {
        map.insert(VERSION_KEY.to_owned(), json!(version(rng)));
    }
    map
}

/// A user id of any shape: common, unicode, long, numeric.
fn user_id(rng: &mut Rng) -> Value {
    match rng.u8(0..10) {
        0..=3 => json!(USERS[rng.usize(0..USERS.len())]),
        4..=6 => {
            let len = rng.usize(1..40);
            json!((0..len).map(|_| rng.alphanumeric()).collect::<String>())
        }
        7 => json!(format!(
            "{}{}",
            ["ü", "日", "🙂", "-", " "][rng.usize(0..5)],
            rng.u32(..)
        )),
        8 => json!(rng.u32(1..1_000_000)),
        _ => json!(format!("user-{}", rng.u16(..))),
    }
}

/// A context in the SDK's shape.
pub(crate) fn context(rng: &mut Rng) -> Value {
    let mut context = Map::new();
    context.insert("id".to_owned(), user_id(rng));
    // Node throws on a holdout's custom variable segment for a context without custom
    // variables, where Python reads none: the current dialect always gives them.
    if rng.u8(0..5) > 0 || in_current_dialect() {
        context.insert("customVariables".to_owned(), Value::Object(variables(rng)));
    }
    if rng.bool() {
        context.insert(
            "variationTargetingVariables".to_owned(),
            Value::Object(variables(rng)),
        );
    }
    if rng.bool() {
        // Python does not decode a user agent: the current dialect has none with a `%`.
        let ua = [
            "Mozilla/5.0 (Windows NT 10.0) Chrome/120",
            "abc",
            "10",
            "",
            "Safari%20iOS",
            "bad%E0%A4%A",
        ];
        let shapes = if in_current_dialect() {
            ua.len() - 2
        } else {
            ua.len()
        };
        context.insert("userAgent".to_owned(), json!(ua[rng.usize(0..shapes)]));
    }
    if rng.bool() {
        context.insert(
            "ipAddress".to_owned(),
            json!(["1.2.3.4", "10.0.0.1", "192.168.1.1", ""][rng.usize(0..4)]),
        );
    }
    // Web testing campaigns (Node 1.60): an object or its JSON text, or JSON of no object.
    if in_current_dialect() && rng.u8(0..3) == 0 {
        let campaigns = [
            json!({"101": "2", "102": 3}),
            json!("{\"101\": \"1\", \"103\": \"1\"}"),
            json!({"103": "1"}),
            json!("[1]"),
        ];
        let campaigns = campaigns[rng.usize(0..campaigns.len())].clone();
        context.insert(
            "platformVariables".to_owned(),
            json!({ "webTestingCampaigns": campaigns }),
        );
    }
    // A bucketing seed (Node 1.41): shared by several users, or blank (ignored).
    if in_current_dialect() && rng.u8(0..4) == 0 {
        let seeds = ["household-1", "household-2", "u1", "seed with spaces", " ", ""];
        context.insert(
            "bucketingSeed".to_owned(),
            json!(seeds[rng.usize(0..seeds.len())]),
        );
    }
    if rng.u8(0..3) == 0 {
        let mut vwo = Map::new();
        if rng.bool() {
            let country = ["IN", "US", "us"][rng.usize(0..3)];
            vwo.insert(
                "location".to_owned(),
                json!({"country": country, "city": "Delhi"}),
            );
        }
        if rng.bool() {
            let device = ["desktop", "mobile", "ios"][rng.usize(0..3)];
            vwo.insert(
                "userAgent".to_owned(),
                json!({
                    "os": OS[rng.usize(0..OS.len())],
                    "device_type": device,
                    "browser_version": version(rng),
                    "os_version": version(rng),
                }),
            );
        }
        context.insert("_vwo".to_owned(), Value::Object(vwo));
    }
    Value::Object(context)
}

fn weight(rng: &mut Rng) -> Value {
    match rng.u8(0..10) {
        0 => json!(0),
        1 => json!(100),
        2..=4 => json!(rng.u8(1..100)),
        5..=7 => json!(f64::from(rng.u16(1..10_000)) / 100.0),
        8 => json!(f64::from(rng.u32(1..100_000)) / 1000.0),
        _ => json!(50),
    }
}

fn salt(rng: &mut Rng, shared: &str) -> Option<Value> {
    match rng.u8(0..4) {
        0 => Some(json!(shared)),
        1 => Some(json!(format!("salt-{}", rng.u16(..)))),
        _ => None,
    }
}

fn segments(rng: &mut Rng) -> Value {
    if rng.u8(0..3) == 0 {
        json!({})
    } else {
        dsl(rng, 3, true)
    }
}

fn variation(rng: &mut Rng, id: u64, keys: &[String], shared_salt: &str, whitelist: bool) -> Value {
    let mut v = Map::new();
    v.insert("id".to_owned(), json!(id));
    v.insert("name".to_owned(), json!(format!("variation-{id}")));
    v.insert("weight".to_owned(), weight(rng));
    let segments = if whitelist && rng.bool() {
        dsl(rng, 2, true)
    } else {
        json!({})
    };
    v.insert("segments".to_owned(), segments);
    let variables: Vec<Value> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| json!({"id": i + 1, "type": "string", "key": key, "value": format!("{key}-{id}")}))
        .collect();
    v.insert("variables".to_owned(), Value::Array(variables));
    if let Some(salt) = salt(rng, shared_salt) {
        v.insert("salt".to_owned(), salt);
    }
    Value::Object(v)
}

/// A settings file: features with rollout, testing and personalize rules, some of them in
/// mutually exclusive groups.
pub(crate) fn settings(rng: &mut Rng) -> Value {
    let features = rng.usize(1..5);
    settings_with(rng, features)
}

/// [`settings`] with `feature_count` features.
pub(crate) fn settings_with(rng: &mut Rng, feature_count: usize) -> Value {
    let mut campaigns = Vec::new();
    let mut features = Vec::new();
    let mut groupable: Vec<String> = Vec::new();
    let mut next_id = u64::from(rng.u16(1..500));
    let shared_salt = format!("shared-{}", rng.u8(..));
    for f in 0..feature_count {
        let feature_key = format!("feature{f}");
        let grouped_before = groupable.len();
        let keys: Vec<String> = (0..rng.usize(1..3)).map(|k| format!("var{k}")).collect();
        let mut rules = Vec::new();
        let kinds: Vec<&str> = (0..rng.usize(1..5))
            .map(|_| {
                [
                    "FLAG_ROLLOUT",
                    "FLAG_ROLLOUT",
                    "FLAG_TESTING",
                    "FLAG_TESTING",
                    "FLAG_PERSONALIZE",
                ][rng.usize(0..5)]
            })
            .collect();
        for (r, kind) in kinds.iter().enumerate() {
            let id = next_id;
            next_id += 1;
            let rule_key = format!("rule{r}");
            let count = if *kind == "FLAG_ROLLOUT" {
                1
            } else {
                rng.usize(1..4)
            };
            // Several matching forced variations are bucketed since Node 1.43 (Node 1.35
            // threw): the Node dialect gives forced variations to the first one only.
            let whitelist = |v: u64| *kind == "FLAG_TESTING" && (!in_node_dialect() || v == 1);
            let variations: Vec<Value> = (1..=count as u64)
                .map(|v| variation(rng, v, &keys, &shared_salt, whitelist(v)))
                .collect();
            let mut campaign = Map::new();
            campaign.insert("id".to_owned(), json!(id));
            campaign.insert("type".to_owned(), json!(kind));
            campaign.insert("key".to_owned(), json!(format!("{feature_key}_{rule_key}")));
            campaign.insert("name".to_owned(), json!(format!("{feature_key} {rule_key}")));
            campaign.insert("status".to_owned(), json!("RUNNING"));
            campaign.insert("variations".to_owned(), Value::Array(variations));
            campaign.insert(
                "segments".to_owned(),
                if *kind == "FLAG_TESTING" {
                    segments(rng)
                } else {
                    json!({})
                },
            );
            if *kind == "FLAG_TESTING" {
                campaign.insert("percentTraffic".to_owned(), weight(rng));
                campaign.insert("isForcedVariationEnabled".to_owned(), json!(rng.bool()));
                if rng.u8(0..4) == 0 {
                    campaign.insert("isUserListEnabled".to_owned(), json!(true));
                }
                if let Some(salt) = salt(rng, &shared_salt) {
                    campaign.insert("salt".to_owned(), salt);
                }
            }
            if *kind != "FLAG_TESTING" {
                // Rollout and personalize rules read their first variation's segments.
                if let Some(Value::Object(first)) = campaign
                    .get_mut("variations")
                    .and_then(|v| v.as_array_mut())
                    .and_then(|v| v.first_mut())
                {
                    first.insert("segments".to_owned(), segments(rng));
                }
            }
            let mut rule = json!({"type": kind, "ruleKey": rule_key, "campaignId": id});
            if *kind == "FLAG_PERSONALIZE" {
                let chosen = rng.usize(1..=count);
                rule["variationId"] = json!(chosen);
                groupable.push(format!("{id}_{chosen}"));
            } else if *kind == "FLAG_TESTING" {
                groupable.push(id.to_string());
            }
            rules.push(rule);
            campaigns.push(Value::Object(campaign));
        }
        // A group evaluating another feature tries the traffic of its first rollout that
        // takes the user in Node, of each in turn in Python: the current dialect groups no
        // feature with more than one rollout.
        let rollouts = kinds.iter().filter(|kind| **kind == "FLAG_ROLLOUT").count();
        if in_current_dialect() && rollouts > 1 {
            groupable.truncate(grouped_before);
        }
        features.push(json!({
            "id": f + 1, "key": feature_key, "name": feature_key, "status": "ON",
            "type": "FEATURE_FLAG", "metrics": [], "rules": rules,
        }));
    }
    let holdouts = if in_current_dialect() {
        holdouts(rng, feature_count)
    } else {
        None
    };
    let account = [json!(123456), json!("654321")][rng.usize(0..2)].clone();
    let mut document = json!({
        "version": rng.u8(1..50), "accountId": account,
        "sdkKey": "generated", "campaigns": campaigns, "features": features,
    });
    if let Some(holdouts) = holdouts {
        document["holdouts"] = holdouts;
    }
    if groupable.len() >= 2 && rng.bool() {
        rng.shuffle(&mut groupable);
        let members: Vec<String> = groupable
            .iter()
            .take(rng.usize(2..=groupable.len()))
            .cloned()
            .collect();
        let group_id = rng.u8(1..20);
        let mut group = json!({"name": "group", "campaigns": members});
        if rng.bool() {
            group["et"] = json!(2);
            let mut priority: Vec<Value> = Vec::new();
            for member in &members {
                // Campaign ids as text, as VWO writes them (Python's schema refuses numbers).
                if rng.u8(0..3) == 0 {
                    priority.push(json!(member));
                }
            }
            group["p"] = Value::Array(priority);
            let weights: Map<String, Value> = members.iter().map(|m| (m.clone(), weight(rng))).collect();
            group["wt"] = Value::Object(weights);
        }
        let groups: Map<String, Value> = members.iter().map(|m| (m.clone(), json!(group_id))).collect();
        document["campaignGroups"] = Value::Object(groups);
        document["groups"] = json!({group_id.to_string(): group});
    }
    document
}

/// Holdouts (Node 1.40) for features `1..=feature_count`, in every shape the settings give
/// them: none, `{}`, global or listing features (some the settings do not have), with or
/// without segments, traffic from 0 to 100.
fn holdouts(rng: &mut Rng, feature_count: usize) -> Option<Value> {
    match rng.u8(0..6) {
        0 => return None,
        1 => return Some(json!({})),
        _ => {}
    }
    let holdouts: Vec<Value> = (0..rng.usize(1..4))
        .map(|h| {
            let feature_ids: Vec<usize> = (1..=feature_count + 1).filter(|_| rng.bool()).collect();
            let metrics = if rng.bool() {
                json!([{"id": 900 + h, "type": "CUSTOM_GOAL", "identifier": format!("holdout_metric_{h}")}])
            } else {
                json!([])
            };
            let traffic = [0, 5, 20, 50, 100][rng.usize(0..5)];
            json!({
                "id": 7000 + h,
                "name": format!("holdout {h}"),
                "segments": segments(rng),
                "percentTraffic": traffic,
                "isGlobal": rng.u8(0..4) == 0,
                "featureIds": feature_ids,
                "metrics": metrics,
            })
        })
        .collect();
    Some(Value::Array(holdouts))
}

/// VWO's e2e settings files that the SDK accepts (its `init` refuses the others: there is
/// nothing to decide on them), with their file names, in name order.
pub(crate) fn e2e_settings() -> Vec<(String, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/vwo-e2e/settings");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    files
        .into_iter()
        .filter_map(|file| {
            let settings: Value =
                serde_json::from_slice(&std::fs::read(&file).expect("fixture")).expect("JSON");
            validate(&mut settings.clone(), Check::Update).ok()?;
            let name = file.file_name()?.to_string_lossy().into_owned();
            Some((name, settings))
        })
        .collect()
}
