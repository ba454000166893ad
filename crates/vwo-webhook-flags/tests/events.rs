//! What is sent to VWO, against the official Python SDK (vwo-fme-python-sdk 1.65.0, pinned in
//! `tests/oracle/requirements.txt`) run for real: generated settings files (with metrics,
//! holdouts, `isMAU` and `isWebConnectivityEnabled`) and VWO's e2e files, each with a run of
//! `getFlag`, `trackEvent` and `setAttribute` calls on generated contexts (web UUIDs, session
//! ids, seeds among them). The SDK's requests are captured by replacing its network client
//! (`tests/oracle/events.py`), ours by a local HTTP collector the reporter sends to. For each
//! call, every event must match, field for field, apart from what is time or random (`eTime`,
//! `random`, the `msgId` suffix, a `sessionId` the context did not give, `time`) and the
//! SDK's name and version (we send ours); and so must the way they are grouped into requests
//! (one decision's impressions in one batch request). Half the settings run without batching,
//! half with it (one `/server-side/batch-events-v2` request for the group, at its flush).
//!
//! With `VWO_NODE_SDK_DIR` naming a folder whose `node_modules` holds a newer Node SDK (as
//! for `tests/differential.rs`), the same calls run on it too (`tests/oracle/events.js`) and
//! must agree, requests and query strings included: how the places where Python and Node
//! send differently were found (docs/flags.md).
// The test says on stderr what it compared.
#![allow(clippy::print_stderr)]

#[path = "differential/generate.rs"]
#[allow(dead_code)]
mod generate;

#[path = "../../../tests/oracle/node.rs"]
#[allow(dead_code)]
mod node;

#[path = "../../../tests/oracle/python.rs"]
mod python;

#[path = "support/collector.rs"]
mod collector;

use std::time::Duration;

use fastrand::Rng;
use serde_json::{Map, Value, json};
use vwo_webhook_flags::{Batching, Context, Flags, Reason, Reporter, ReportingConfig};
use vwo_webhook_settings::SdkKey;

use collector::Collector;

const GENERATED_SETTINGS: usize = 60;
const CALLS: usize = 40;
const SDK_KEY: &str = "oracle-sdk-key";

struct Group {
    settings: Value,
    batch: bool,
    calls: Vec<Value>,
}

/// Gives some features metrics, as VWO's settings list them.
fn with_metrics(rng: &mut Rng, mut settings: Value) -> Value {
    if let Some(features) = settings["features"].as_array_mut() {
        for (index, feature) in features.iter_mut().enumerate() {
            if rng.u8(0..3) > 0 {
                let kind = ["CUSTOM_GOAL", "REVENUE_TRACKING"][rng.usize(0..2)];
                feature["metrics"] =
                    json!([{"identifier": format!("event_{index}"), "id": index + 1, "type": kind}]);
            }
        }
    }
    settings
}

fn metric_names(settings: &Value) -> Vec<String> {
    let mut names: Vec<String> = settings["features"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|f| f["metrics"].as_array().cloned().unwrap_or_default())
        .filter_map(|m| m["identifier"].as_str().map(str::to_owned))
        .collect();
    names.push("no_such_event".to_owned());
    names
}

fn scalar(rng: &mut Rng) -> Value {
    match rng.u8(0..4) {
        0 => json!(rng.bool()),
        1 => json!(rng.i32(-1000..1000)),
        2 => json!(f64::from(rng.u16(..)) / 8.0),
        _ => json!(["gold", "", "ü-日", "a b"][rng.usize(0..4)]),
    }
}

/// A generated context, with a text id (the Python SDK's), now and then an id VWO's web
/// snippet made (`D` or `J` and 32 hex digits), a session id, and post-segmentation
/// variables to report.
fn context(rng: &mut Rng) -> Value {
    let mut context = generate::context(rng);
    if let Ok(parsed) = Context::from_sdk_json(&context) {
        context["id"] = json!(parsed.id());
    }
    if rng.u8(0..5) == 0 {
        let hex: String = (0..32)
            .map(|_| char::from(b"0123456789abcdefABCDEF"[rng.usize(0..22)]))
            .collect();
        context["id"] = json!(format!("{}{hex}", ["D", "J"][rng.usize(0..2)]));
    }
    if rng.u8(0..3) == 0 {
        context["sessionId"] = json!(rng.u32(1..1_000_000));
    }
    // Python reports a variable JavaScript counts as false, and the id it sets in
    // `_vwoUserId` (Node 1.50 sets `_wingifyUserId`): only the names both report alike.
    if rng.u8(0..3) == 0 {
        let mut names: Vec<Value> = context["customVariables"]
            .as_object()
            .map(|vars| {
                vars.iter()
                    .filter(|(k, v)| !k.ends_with("UserId") && is_truthy(v))
                    .map(|(k, _)| json!(k))
                    .collect()
            })
            .unwrap_or_default();
        names.push(json!("not_given"));
        context["postSegmentationVariables"] = Value::Array(names);
    }
    context
}

/// What JavaScript counts as true.
fn is_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0 && !n.is_nan()),
        Value::String(s) => !s.is_empty(),
        _ => true,
    }
}

fn calls(rng: &mut Rng, settings: &Value) -> Vec<Value> {
    let features: Vec<String> = settings["features"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["key"].as_str().map(str::to_owned))
        .chain(["no_such_feature".to_owned()])
        .collect();
    let events = metric_names(settings);
    (0..CALLS)
        .map(|_| match rng.u8(0..20) {
            0..=11 => json!({"call": "getFlag", "featureKey": features[rng.usize(0..features.len())], "context": context(rng)}),
            12..=16 => {
                let mut properties = Map::new();
                for key in ["revenue", "currency", "1", "items"] {
                    if rng.bool() {
                        properties.insert(key.to_owned(), scalar(rng));
                    }
                }
                json!({"call": "trackEvent", "eventName": events[rng.usize(0..events.len())],
                       "context": context(rng), "properties": properties})
            }
            _ => {
                let attributes: Map<String, Value> = (0..rng.usize(1..4))
                    .map(|i| (["tier", "age", "beta", "ü"][i].to_owned(), scalar(rng)))
                    .collect();
                json!({"call": "setAttribute", "attributes": attributes, "context": context(rng)})
            }
        })
        .collect()
}

fn corpus(rng: &mut Rng) -> Vec<Group> {
    generate::in_dialect(generate::Dialect::Current, || corpus_in_dialect(rng))
}

fn corpus_in_dialect(rng: &mut Rng) -> Vec<Group> {
    let mut groups = Vec::new();
    for index in 0..GENERATED_SETTINGS {
        let settings = generate::settings(rng);
        let mut settings = with_metrics(rng, settings);
        if rng.bool() {
            settings["isMAU"] = json!(true);
        }
        if rng.u8(0..4) == 0 {
            settings["isWebConnectivityEnabled"] = json!(false);
        }
        // A real settings file holds the SDK key it was fetched with (Python reports the
        // file's, Node 1.60 the one it was given).
        settings["sdkKey"] = json!(SDK_KEY);
        let calls = calls(rng, &settings);
        groups.push(Group {
            settings,
            batch: index % 2 == 1,
            calls,
        });
    }
    for (index, (_, mut settings)) in generate::e2e_settings().into_iter().enumerate() {
        settings["sdkKey"] = json!(SDK_KEY);
        let calls = calls(rng, &settings);
        groups.push(Group {
            settings,
            batch: index % 2 == 0,
            calls,
        });
    }
    groups
}

fn account_id(settings: &Value) -> String {
    match &settings["accountId"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Which SDK a comparison is with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Oracle {
    Python,
    Node,
}

/// A request as compared: how it was sent (`"batch"`, or `"single"` to `/events/t`, with its
/// query for Node) and its events, with what may differ blanked. A usage event is `"usage"`
/// however it went: Python sends it to `/events/t`, Node in a batch of its own. For Python,
/// what it only writes differently: the visitor's user agent and IP, which it leaves out
/// rather than send empty, and the variation id, which it sends as text.
fn normalized(path: &str, headers: &Map<String, Value>, body: &Value, oracle: Oracle) -> Value {
    let (route, query) = path.split_once('?').unwrap_or((path, ""));
    let mut events: Vec<Value> = match body.get("ev").and_then(Value::as_array) {
        Some(events) => events.clone(),
        None => vec![body.clone()],
    };
    events.iter_mut().for_each(blank_event);
    if oracle == Oracle::Python {
        for event in &mut events {
            let d = &mut event["d"];
            for key in ["visitor_ua", "visitor_ip"] {
                if d.get(key).is_none_or(Value::is_null) {
                    d[key] = json!("");
                }
            }
            let props = &mut d["event"]["props"];
            if let Some(variation) = props.get("variation").filter(|v| v.is_number()) {
                props["variation"] = json!(variation.to_string());
            }
            whole_numbers(&mut d["event"]["props"]);
            whole_numbers(&mut d["visitor"]["props"]);
        }
    }
    let usage = events.len() == 1 && events[0]["d"]["event"]["name"] == "vwo_feTrackUsage";
    let how = if usage {
        "usage"
    } else if route.ends_with("/server-side/batch-events-v2") {
        "batch"
    } else {
        "single"
    };
    let mut request = json!({"how": how, "events": events});
    if how == "single" {
        let kept: Map<String, Value> = ["x-device-user-agent", "vwo-x-forwarded-for"]
            .iter()
            .filter_map(|name| headers.get(*name).map(|v| ((*name).to_owned(), v.clone())))
            .collect();
        request["headers"] = Value::Object(kept);
    }
    if oracle == Oracle::Node && how != "usage" {
        request["query"] = query
            .split('&')
            .map(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                let value = match key {
                    "eTime" | "random" => "*",
                    "sn" => "<name>",
                    "sv" => "<version>",
                    "url" => "<url>",
                    _ => value,
                };
                json!([key, value])
            })
            .collect();
    }
    request
}

fn blank_event(event: &mut Value) {
    let d = &mut event["d"];
    if let Some(id) = d["msgId"].as_str() {
        let uuid = id.rsplit_once('-').map_or(id, |(uuid, _)| uuid).to_owned();
        d["msgId"] = json!(format!("{uuid}-*"));
    }
    // A session id the context did not give is the second of the event.
    if d["sessionId"].as_u64().is_some_and(|s| s >= 1_000_000_000) {
        d["sessionId"] = json!("*");
    }
    d["event"]["time"] = json!("*");
    let props = &mut d["event"]["props"];
    if props.get("vwo_sdkName").is_some() {
        props["vwo_sdkName"] = json!("<name>");
        props["vwo_sdkVersion"] = json!("<version>");
    }
}

/// `value` as text with every object's keys sorted: an order for lists compared as sets.
fn canonical(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, String)> = map.iter().map(|(k, v)| (k, canonical(v))).collect();
            entries.sort();
            let inner: Vec<String> = entries.iter().map(|(k, v)| format!("{k:?}:{v}")).collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Array(items) => format!("[{}]", items.iter().map(canonical).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

/// Python writes a whole float as `5744.0`, JavaScript as `5744`.
fn whole_numbers(props: &mut Value) {
    if let Some(props) = props.as_object_mut() {
        for value in props.values_mut() {
            if let Some(n) = value
                .as_f64()
                .filter(|n| value.is_f64() && n.fract() == 0.0 && n.abs() < 1e15)
            {
                #[allow(clippy::cast_possible_truncation)]
                let whole = n as i64;
                *value = json!(whole);
            }
        }
    }
}

/// Each call's requests (the group's flush with batching), compared in a fixed order.
fn sorted(calls: Vec<Vec<Value>>) -> Vec<Vec<Value>> {
    calls
        .into_iter()
        .map(|mut requests| {
            requests.sort_by_key(canonical);
            requests
        })
        .collect()
}

/// A request as captured: path with query, headers, body.
type Raw = (String, Map<String, Value>, Value);

/// What our side sent for a group: the requests, grouped as the oracle groups them (per call
/// without batching, the flushed batches with it), and which calls were decisions that ended
/// disabled after every rule (where Node 1.60 throws before sending the decision's batch).
struct Ours {
    requests: Vec<Vec<Raw>>,
    ended_off: Vec<bool>,
}

/// Runs a group's calls in Rust.
async fn ours(group: &Group, collector: &Collector) -> Ours {
    let mut config =
        ReportingConfig::new(account_id(&group.settings), SdkKey::new(SDK_KEY)).base_url(collector.url());
    config = if group.batch {
        config.batching(Batching {
            events_per_request: 5_000,
            interval: Duration::from_secs(3_600),
        })
    } else {
        config.unbatched()
    };
    let reporter = Reporter::start(config).expect("reporter");
    let flags = Flags::builder()
        .reporter(reporter.clone())
        .document(&group.settings)
        .build();
    let mut seen = collector.requests().len();
    let mut taken = |collector: &Collector| {
        let requests = collector.requests();
        let new: Vec<Raw> = requests[seen..]
            .iter()
            .map(|r| {
                let headers = r.headers.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
                (r.path.clone(), headers, r.body.clone())
            })
            .collect();
        seen = requests.len();
        new
    };
    let mut out = Vec::new();
    let mut ended_off = Vec::new();
    for call in &group.calls {
        let mut off = false;
        if let Ok(context) = Context::from_sdk_json(&call["context"]) {
            let _ = match call["call"].as_str() {
                Some("getFlag") => {
                    let flag = flags.get_flag(call["featureKey"].as_str().unwrap_or(""), &context);
                    off = flag.reason() == Reason::NoRulePassed;
                    Ok(())
                }
                Some("trackEvent") => flags.track_event(
                    call["eventName"].as_str().unwrap_or(""),
                    &context,
                    call["properties"].as_object().cloned().unwrap_or_default(),
                ),
                _ => flags.set_attributes(
                    call["attributes"].as_object().cloned().unwrap_or_default(),
                    &context,
                ),
            };
        }
        ended_off.push(off);
        if !group.batch {
            reporter.flush().await;
            out.push(taken(collector));
        }
    }
    if group.batch {
        reporter.flush().await;
        out.push(taken(collector));
    }
    reporter.shutdown().await;
    Ours {
        requests: out,
        ended_off,
    }
}

/// An oracle's output: for each group, each call's requests.
fn theirs(output: &Value) -> Vec<Vec<Vec<Raw>>> {
    let raw = |r: &Value| -> Raw {
        (
            r["path"].as_str().unwrap_or("").to_owned(),
            r["headers"].as_object().cloned().unwrap_or_default(),
            r["body"].clone(),
        )
    };
    output["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|group| {
            group
                .as_array()
                .expect("calls")
                .iter()
                .map(|call| call.as_array().expect("requests").iter().map(raw).collect())
                .collect()
        })
        .collect()
}

/// What a comparison found.
#[derive(Default)]
struct Compared {
    requests: usize,
    events: usize,
    differences: Vec<String>,
}

/// Compares each group's calls, requests normalized for `oracle`.
fn compare(groups: &[Group], ours: &[Ours], theirs: &[Vec<Vec<Raw>>], oracle: Oracle) -> Compared {
    let normalize = |calls: &[Vec<Raw>]| -> Vec<Vec<Value>> {
        sorted(
            calls
                .iter()
                .map(|requests| {
                    requests
                        .iter()
                        .map(|(path, headers, body)| normalized(path, headers, body, oracle))
                        .collect()
                })
                .collect(),
        )
    };
    let mut compared = Compared::default();
    for (index, ((group, ours), theirs)) in groups.iter().zip(ours).zip(theirs).enumerate() {
        // Node 1.60 never reads `isWebConnectivityEnabled: false` (it keeps only a true
        // value), so it reports web UUIDs as they are anyway; and a decision that ends
        // disabled after its rules throws before its batch is sent (docs/flags.md). Batched,
        // that batch is in the group's flush: such groups are left out.
        if oracle == Oracle::Node
            && (group.settings["isWebConnectivityEnabled"] == json!(false)
                || (group.batch && ours.ended_off.iter().any(|off| *off)))
        {
            continue;
        }
        let ended_off = &ours.ended_off;
        let (mut ours, mut theirs) = (normalize(&ours.requests), normalize(theirs));
        if oracle == Oracle::Node {
            for (step, off) in ended_off.iter().enumerate() {
                if *off {
                    // What Node still sends then: the usage event, sent on its own before.
                    for requests in [&mut ours[step], &mut theirs[step]] {
                        requests.retain(|r| r["how"] == "usage");
                    }
                }
            }
        }
        if group.batch && oracle == Oracle::Python {
            // Python batches only some events, in requests of its own making: its events
            // are compared, not its requests.
            for calls in [&mut ours, &mut theirs] {
                for requests in calls.iter_mut() {
                    let mut events: Vec<Value> = requests
                        .iter()
                        .flat_map(|r| r["events"].as_array().cloned().unwrap_or_default())
                        .collect();
                    events.sort_by_key(canonical);
                    *requests = vec![json!({"how": "batched", "events": events})];
                }
            }
        }
        assert_eq!(theirs.len(), ours.len(), "group {index}: as many steps");
        for (step, (a, b)) in theirs.iter().zip(&ours).enumerate() {
            compared.requests += a.len();
            compared.events += a
                .iter()
                .map(|r| r["events"].as_array().map_or(0, Vec::len))
                .sum::<usize>();
            if a != b {
                let call = group.calls.get(step).cloned().unwrap_or(Value::Null);
                compared.differences.push(format!(
                    "group {index} (batch: {}) step {step} {call}:\n  SDK:  {}\n  ours: {}",
                    group.batch,
                    Value::Array(a.clone()),
                    Value::Array(b.clone())
                ));
            }
        }
    }
    compared
}

fn assert_identical(compared: &Compared) {
    assert!(
        compared.differences.is_empty(),
        "{} of {} requests differ; the first:\n{}",
        compared.differences.len(),
        compared.requests,
        compared.differences[..compared.differences.len().min(5)].join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_is_sent_as_the_python_sdk_sends_it() {
    let Some(python) = python::install() else {
        return;
    };
    let seed = std::env::var("VWO_FLAGS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_206);
    let mut rng = Rng::with_seed(seed);
    let groups = corpus(&mut rng);
    let input = json!({"groups": groups.iter().map(|g| json!({
        "settings": g.settings, "batch": g.batch, "calls": g.calls,
    })).collect::<Vec<_>>()});
    let file = std::env::temp_dir().join(format!("vwo-events-input-{seed}-{}.json", std::process::id()));
    std::fs::write(&file, serde_json::to_vec(&input).expect("JSON")).expect("input");
    let output: Value =
        serde_json::from_slice(&python::run(&python, "events.py", &[&file])).expect("the oracle's JSON");

    let collector = Collector::start().await;
    let mut ours_all = Vec::new();
    for group in &groups {
        ours_all.push(ours(group, &collector).await);
    }
    let compared = compare(&groups, &ours_all, &theirs(&output), Oracle::Python);
    eprintln!(
        "compared {} requests ({} events) from {} settings files with {} {}'s",
        compared.requests,
        compared.events,
        groups.len(),
        python::SDK,
        python::SDK_VERSION,
    );
    assert_identical(&compared);
    assert!(
        compared.requests > 500 && compared.events > 1_000,
        "{} requests, {} events compared",
        compared.requests,
        compared.events
    );
    if let Ok(node_dir) = std::env::var("VWO_NODE_SDK_DIR") {
        let output: Value =
            serde_json::from_slice(&node::run(std::path::Path::new(&node_dir), "events.js", &[&file]))
                .expect("the Node oracle's JSON");
        let node = compare(&groups, &ours_all, &theirs(&output), Oracle::Node);
        eprintln!(
            "the Node SDK in {node_dir}: {} of {} requests differ",
            node.differences.len(),
            node.requests
        );
        assert_identical(&node);
    }
    let _ = std::fs::remove_file(&file);
}
