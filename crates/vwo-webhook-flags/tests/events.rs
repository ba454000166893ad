//! What is sent to VWO, against the official Node SDK (vwo-fme-node-sdk 1.35.0) run for real:
//! generated settings files (with metrics) and VWO's e2e files, each with a run of `getFlag`,
//! `trackEvent` and `setAttribute` calls on generated contexts. The SDK's requests are
//! captured by a network client of the oracle's own (`tests/oracle/events.js`), ours by a local
//! HTTP collector the reporter sends to; every request must match, path, query, headers and
//! body, apart from what is time or random (`eTime`, `random`, the `msgId` suffix,
//! `sessionId`, `time`), the SDK's name and version (we send ours), and the host in `url`.
//! Half the settings run without batching (a request per event, to `/events/t`), half with it
//! (one `/server-side/batch-events-v2` request for the group, at its flush).
// The test says on stderr what it compared.
#![allow(clippy::print_stderr)]

#[path = "differential/generate.rs"]
#[allow(dead_code)]
mod generate;

#[path = "../../../tests/oracle/node.rs"]
mod node;

#[path = "support/collector.rs"]
mod collector;

use std::time::Duration;

use fastrand::Rng;
use serde_json::{Map, Value, json};
use vwo_webhook_flags::{Batching, Context, Flags, Reporter, ReportingConfig, SDK_NAME, SDK_VERSION};
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

fn context(rng: &mut Rng) -> Value {
    let mut context = generate::context(rng);
    if rng.u8(0..3) == 0 {
        // Not `_vwoUserId`: Node 1.35 reports the id it sets there, Node 1.50 sets
        // `_wingifyUserId` instead and reports the caller's.
        let mut names: Vec<Value> = context["customVariables"]
            .as_object()
            .map(|vars| {
                vars.keys()
                    .filter(|k| *k != "_vwoUserId")
                    .map(|k| json!(k))
                    .collect()
            })
            .unwrap_or_default();
        names.push(json!("not_given"));
        context["postSegmentationVariables"] = Value::Array(names);
    }
    context
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
    let mut groups = Vec::new();
    for index in 0..GENERATED_SETTINGS {
        let settings = generate::settings(rng);
        let settings = with_metrics(rng, settings);
        let calls = calls(rng, &settings);
        groups.push(Group {
            settings,
            batch: index % 2 == 1,
            calls,
        });
    }
    for (index, (_, settings)) in generate::e2e_settings().into_iter().enumerate() {
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

/// A request with what may differ blanked: time and random fields, the SDK's name and
/// version, the host in `url`.
fn normalized(path: &str, headers: &Map<String, Value>, body: &Value) -> Value {
    let (route, query) = path.split_once('?').unwrap_or((path, ""));
    let query: Vec<Value> = query
        .split('&')
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = match key {
                "eTime" | "random" => "*".to_owned(),
                "sn" if value == "vwo-fme-node-sdk" || value == SDK_NAME => "<name>".to_owned(),
                "sv" if value == "1.35.0" || value == SDK_VERSION => "<version>".to_owned(),
                "url" => value
                    .split_once("/events/t")
                    .map_or(value, |_| "https<host>/events/t")
                    .to_owned(),
                _ => value.to_owned(),
            };
            json!([key, value])
        })
        .collect();
    let kept: Map<String, Value> = [
        "x-device-user-agent",
        "vwo-x-forwarded-for",
        "authorization",
        "content-type",
    ]
    .iter()
    .filter_map(|name| headers.get(*name).map(|v| ((*name).to_owned(), v.clone())))
    .collect();
    let mut body = body.clone();
    match body.get_mut("ev").and_then(Value::as_array_mut) {
        Some(events) => events.iter_mut().for_each(blank_event),
        None => blank_event(&mut body),
    }
    json!({"path": route, "query": query, "headers": kept, "body": body})
}

fn blank_event(event: &mut Value) {
    let d = &mut event["d"];
    if let Some(id) = d["msgId"].as_str() {
        let uuid = id.rsplit_once('-').map_or(id, |(uuid, _)| uuid).to_owned();
        d["msgId"] = json!(format!("{uuid}-*"));
    }
    d["sessionId"] = json!("*");
    d["event"]["time"] = json!("*");
    let props = &mut d["event"]["props"];
    if [json!("vwo-fme-node-sdk"), json!(SDK_NAME)].contains(&props["vwo_sdkName"]) {
        props["vwo_sdkName"] = json!("<name>");
    }
    if [json!("1.35.0"), json!(SDK_VERSION)].contains(&props["vwo_sdkVersion"]) {
        props["vwo_sdkVersion"] = json!("<version>");
    }
}

/// Runs a group's calls in Rust; the requests the collector received, grouped as the oracle
/// groups them (per call without batching, the flushed batches with it).
async fn ours(group: &Group, collector: &Collector) -> Vec<Vec<Value>> {
    let mut config =
        ReportingConfig::new(account_id(&group.settings), SdkKey::new(SDK_KEY)).base_url(collector.url());
    config = if group.batch {
        config.batching(Batching {
            events_per_request: 5_000,
            interval: Duration::from_secs(3_600),
        })
    } else {
        config.unbatched().concurrency(1)
    };
    let reporter = Reporter::start(config).expect("reporter");
    let flags = Flags::builder()
        .reporter(reporter.clone())
        .document(&group.settings)
        .build();
    let mut seen = collector.requests().len();
    let mut taken = |collector: &Collector| {
        let requests = collector.requests();
        let new: Vec<Value> = requests[seen..]
            .iter()
            .map(|r| {
                let headers = r.headers.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
                normalized(&r.path, &headers, &r.body)
            })
            .collect();
        seen = requests.len();
        new
    };
    let mut out = Vec::new();
    for call in &group.calls {
        if let Ok(context) = Context::from_sdk_json(&call["context"]) {
            let _ = match call["call"].as_str() {
                Some("getFlag") => {
                    flags.get_flag(call["featureKey"].as_str().unwrap_or(""), &context);
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
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_is_sent_as_the_node_sdk_sends_it() {
    let Some(dir) = node::install() else {
        return;
    };
    let seed = std::env::var("VWO_FLAGS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_202);
    let mut rng = Rng::with_seed(seed);
    let groups = corpus(&mut rng);
    let input = json!({"groups": groups.iter().map(|g| json!({
        "settings": g.settings, "batch": g.batch, "calls": g.calls,
    })).collect::<Vec<_>>()});
    let file = dir.join(format!("events-input-{seed}.json"));
    std::fs::write(&file, serde_json::to_vec(&input).expect("JSON")).expect("input");
    let output: Value =
        serde_json::from_slice(&node::run(&dir, "events.js", &[&file])).expect("the oracle's JSON");
    let theirs = output["groups"].as_array().expect("groups");

    let collector = Collector::start().await;
    let (mut requests, mut events, mut differences) = (0, 0, Vec::new());
    for (index, (group, theirs)) in groups.iter().zip(theirs).enumerate() {
        let ours = ours(group, &collector).await;
        let theirs: Vec<Vec<Value>> = theirs
            .as_array()
            .expect("calls")
            .iter()
            .map(|call| {
                call.as_array()
                    .expect("requests")
                    .iter()
                    .map(|r| {
                        normalized(
                            r["path"].as_str().unwrap_or(""),
                            r["headers"].as_object().expect("headers"),
                            &r["body"],
                        )
                    })
                    .collect()
            })
            .collect();
        for (step, (a, b)) in theirs.iter().zip(&ours).enumerate() {
            requests += a.len();
            events += a
                .iter()
                .map(|r| r["body"]["ev"].as_array().map_or(1, Vec::len))
                .sum::<usize>();
            if a != b && differences.len() < 5 {
                let call = group.calls.get(step).cloned().unwrap_or(Value::Null);
                differences.push(format!(
                    "group {index} (batch: {}) step {step} {call}:\n  SDK:  {}\n  ours: {}",
                    group.batch,
                    Value::Array(a.clone()),
                    Value::Array(b.clone())
                ));
            }
        }
        assert_eq!(theirs.len(), ours.len(), "group {index}: as many steps");
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
    assert!(
        requests > 500 && events > 1_000,
        "{requests} requests, {events} events compared"
    );
    eprintln!(
        "compared {requests} requests ({events} events) from {} settings files with the Node SDK's",
        groups.len()
    );
}
