//! VWO's own SDKs through the relay: vwo-fme-node-sdk 1.35.0 (npm) and vwo-fme-python-sdk
//! 1.65.0 (PyPI) run as services with their gateway option pointed at the relay and a fake VWO
//! behind it (`tests/oracle/relay_service.{js,py}`). They decide on the settings the relay
//! serves, a webhook to the relay reaches their next decision through their own webhook
//! handlers, and VWO receives from them through the relay what it receives from the same calls
//! made straight to it.
//!
//! Without node (or python3 with venv) a test says so and passes, unless `.ci/run`'s
//! `VWO_WEBHOOK_REQUIRE_NODE=1` / `VWO_WEBHOOK_REQUIRE_PYTHON=1` require them.

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use support::service::{Sdk, Service, installed};
use support::{FakeVwo, deliver_webhook, free_port, settings};
use vwo_webhook_relay::{Relay, RelayConfig};

const SDK_KEY: &str = "sdk-key-production";
const HOOK_SECRET: &str = "hook-secret";

/// A relay for one environment over `vwo`, telling the given targets.
async fn relay(vwo: &FakeVwo, targets: &[(&str, SocketAddr, &str)]) -> (Relay, SocketAddr) {
    let targets: String = targets
        .iter()
        .map(|(name, addr, key)| {
            format!("[[environment.target]]\nname = \"{name}\"\nurl = \"http://{addr}/vwo-webhook\"\nkey = \"{key}\"\n")
        })
        .collect();
    let config = RelayConfig::from_toml(&support::relay_toml(
        vwo,
        "",
        &[support::environment_toml(
            vwo,
            "production",
            SDK_KEY,
            HOOK_SECRET,
            &targets,
        )],
    ))
    .expect("valid configuration");
    support::serve_relay(config).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_and_python_services_decide_through_the_relay_and_a_webhook_reaches_their_next_decision() {
    let (Some(node), Some(python)) = (installed(Sdk::Node), installed(Sdk::Python)) else {
        return;
    };
    let vwo = FakeVwo::start().await;
    vwo.publish(SDK_KEY, settings(1, 10));
    let (node_port, python_port) = (free_port(), free_port());
    let (_relay, public) = relay(
        &vwo,
        &[
            ("node", node_port, "node-hook"),
            ("python", python_port, "python-hook"),
        ],
    )
    .await;
    let gateway = format!("http://{public}");
    let mut services = [
        Service::start(Sdk::Node, &node, &gateway, SDK_KEY, node_port.port(), "node-hook").await,
        Service::start(
            Sdk::Python,
            &python,
            &gateway,
            SDK_KEY,
            python_port.port(),
            "python-hook",
        )
        .await,
    ];
    for service in &mut services {
        let flag = service.get_flag("user-1").await;
        assert_eq!(
            (flag["enabled"].as_bool(), flag["int"].as_i64()),
            (Some(true), Some(10)),
            "{flag}"
        );
    }
    let fetches = vwo.fetches().len();

    vwo.publish(SDK_KEY, settings(2, 11));
    let delivered = deliver_webhook(public, "production", HOOK_SECRET).await;
    assert!(delivered.is_success());
    for (i, service) in services.iter_mut().enumerate() {
        // Their own poll is 10 minutes away: only the relay's notice can change the answer.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let flag = service.get_flag("user-1").await;
            if flag["int"].as_i64() == Some(11) {
                assert_eq!(
                    flag["updates"], 1,
                    "service {i} updated by its webhook handler once"
                );
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "service {i} still decides on {flag}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    assert_eq!(
        vwo.fetches().len(),
        fetches + 1,
        "one fetch from VWO for every service"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sdk_with_a_key_the_relay_does_not_hold_gets_no_settings() {
    let Some(python) = installed(Sdk::Python) else {
        return;
    };
    let vwo = FakeVwo::start().await;
    vwo.publish(SDK_KEY, settings(1, 10));
    vwo.publish("sdk-key-elsewhere", settings(1, 10));
    let (_relay, public) = relay(&vwo, &[]).await;
    let fetches = vwo.fetches().len();
    let port = free_port().port();
    // The SDK asks once: its retries of the refusal (at 2, 4 and 8 s) would only slow the test.
    let mut service = Service::start_with(
        Sdk::Python,
        &python,
        &format!("http://{public}"),
        "sdk-key-elsewhere",
        port,
        "k",
        &[("RELAY_SERVICE_NO_RETRIES", "1")],
    )
    .await;
    let flag = service.get_flag("user-1").await;
    assert_eq!(flag["enabled"], false, "no settings, no feature: {flag}");
    assert_eq!(
        vwo.fetches().len(),
        fetches,
        "the relay did not ask VWO on its behalf"
    );
}

/// What VWO received, without what differs between two runs of the same calls (times and
/// durations, random numbers, message and session ids) and in a stable order.
fn comparable(seen: &[support::Seen]) -> Vec<Value> {
    const VARYING: [&str; 7] = [
        "random",
        "eTime",
        "msgId",
        "time",
        "sessionId",
        "sdkInitTime",
        "settingsFetchTime",
    ];
    fn strip(value: &mut Value) {
        match value {
            Value::Object(map) => {
                map.retain(|key, _| !VARYING.contains(&key.as_str()));
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut requests: Vec<Value> = seen
        .iter()
        .map(|request| {
            let mut query: Vec<(String, String)> =
                form_urlencoded::parse(request.query.as_deref().unwrap_or("").as_bytes())
                    .filter(|(key, _)| !VARYING.contains(&key.as_ref()))
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
            query.sort();
            let mut body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
            strip(&mut body);
            let headers: Vec<(&str, Option<&str>)> = [
                "content-type",
                "authorization",
                "x-device-user-agent",
                "vwo-x-forwarded-for",
            ]
            .into_iter()
            .map(|name| (name, request.header(name)))
            .collect();
            json!({"path": request.path, "query": query, "headers": headers, "body": body})
        })
        .collect();
    requests.sort_by_key(Value::to_string);
    requests
}

/// The same calls from `sdk`, straight to a fake VWO and through the relay to another: what
/// each VWO received.
async fn events_both_ways(sdk: Sdk, installed: &Path) -> (Vec<Value>, Vec<Value>) {
    let calls = [
        json!({"op": "getFlag", "feature": "feature1", "user": "user-1", "ua": "Mozilla/5.0 (relay test)", "ip": "203.0.113.7"}),
        json!({"op": "getFlag", "feature": "feature1", "user": "user-2"}),
        json!({"op": "trackEvent", "event": "custom1", "user": "user-1", "properties": {"revenue": 12.5}}),
        json!({"op": "setAttribute", "attributes": {"plan": "pro"}, "user": "user-2"}),
    ];
    let mut received = Vec::new();
    for through_relay in [false, true] {
        let vwo = FakeVwo::start().await;
        vwo.publish(SDK_KEY, settings(1, 10));
        let (relay, gateway) = if through_relay {
            let (relay, public) = relay(&vwo, &[]).await;
            (Some(relay), format!("http://{public}"))
        } else {
            (None, vwo.url())
        };
        let mut service = Service::start(sdk, installed, &gateway, SDK_KEY, free_port().port(), "k").await;
        for call in &calls {
            service.call(call.clone()).await;
        }
        // The SDKs send on their own time; done when nothing more arrives for a while.
        let mut count = usize::MAX;
        while vwo.events().len() != count || count == 0 {
            count = vwo.events().len();
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        if let Some(relay) = relay {
            assert!(relay.flush(Duration::from_secs(5)).await);
            assert_eq!(relay.status().events.forwarded as usize, vwo.events().len());
        }
        received.push(comparable(&vwo.events()));
    }
    let through = received.pop().expect("two runs");
    (received.pop().expect("two runs"), through)
}

/// The calls' own events are among those compared: both impressions, the tracked event and
/// the attribute.
fn assert_sent_by_the_calls(received: &[Value]) {
    let names: Vec<&str> = received
        .iter()
        .flat_map(|request| request["query"].as_array().into_iter().flatten())
        .filter(|pair| pair[0] == "en")
        .filter_map(|pair| pair[1].as_str())
        .collect();
    let count = |name: &str| names.iter().filter(|n| **n == name).count();
    assert_eq!(count("vwo_variationShown"), 2, "{names:?}");
    assert_eq!(count("custom1"), 1, "{names:?}");
    assert_eq!(count("vwo_syncVisitorProp"), 1, "{names:?}");
    // The visitor's user agent and IP address, which VWO reads from headers too.
    assert!(
        received
            .iter()
            .any(|request| request.to_string().contains("203.0.113.7")),
        "{received:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vwo_receives_the_node_sdks_events_through_the_relay_as_it_receives_them_directly() {
    let Some(node) = installed(Sdk::Node) else {
        return;
    };
    let (direct, through) = events_both_ways(Sdk::Node, &node).await;
    assert_sent_by_the_calls(&direct);
    assert_eq!(direct, through);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vwo_receives_the_python_sdks_events_through_the_relay_as_it_receives_them_directly() {
    let Some(python) = installed(Sdk::Python) else {
        return;
    };
    let (direct, through) = events_both_ways(Sdk::Python, &python).await;
    assert_sent_by_the_calls(&direct);
    assert_eq!(direct, through);
}
