//! A relay any VWO SDK can point its gateway option at, runnable offline: without
//! `VWO_ACCOUNT_ID` and `VWO_SDK_KEY` it serves the bundled demo settings from a local demo
//! origin (which also takes the events), and each webhook you deliver turns `feature1` on or
//! off for every SDK pointed at it. With credentials it relays your VWO account (the same
//! variables as `vwo-webhook relay`; see docs/relay.md).
//!
//! ```text
//! cargo run --example relay
//! ```
// An example's job is to tell a person what to run next.
#![allow(clippy::print_stdout)]

use vwo_webhook_examples::{DEMO_SDK_KEY, DOCUMENTED_PAYLOAD, offline_demo, shutdown_signal};
use vwo_webhook_relay::{Relay, RelayConfig};

/// The secret the demo accepts when `VWO_WEBHOOK_SECRET` is unset (loopback only).
const DEMO_SECRET: &str = "relay-demo-secret";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    vwo_webhook_examples::init_tracing();
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let (demo, _origin) = offline_demo(&env, DEMO_SECRET)?;
    let config = RelayConfig::from_env_with(|name| env(name).or_else(|| demo.get(name).cloned()))?;
    let relay = Relay::start(config.clone())?;
    let public = tokio::net::TcpListener::bind(config.addr).await?;
    let admin = tokio::net::TcpListener::bind(config.admin_addr).await?;
    let (at, admin_at) = (public.local_addr()?, admin.local_addr()?);
    let environment = &config.environments[0];
    let key = if env("VWO_SDK_KEY").is_some() {
        "$VWO_SDK_KEY"
    } else {
        DEMO_SDK_KEY
    };
    let secret = env("VWO_WEBHOOK_SECRET").map_or(DEMO_SECRET, |_| "$VWO_WEBHOOK_SECRET");
    println!("Point each SDK at the relay:");
    println!(
        "  Node:   init({{ accountId: '{}', sdkKey: '{key}', gatewayService: {{ url: 'http://{at}' }} }})",
        environment.account_id
    );
    println!(
        "  Python: init({{'account_id': '{}', 'sdk_key': '{key}', 'gateway_service': {{'url': 'http://{at}'}}}})",
        environment.account_id
    );
    println!(
        "The settings an SDK gets:  curl 'http://{at}/server-side/v2-settings?a={}&i={key}'",
        environment.account_id
    );
    println!(
        "VWO's webhook (one fetch; every target told):\n  curl -i -X POST http://{at}/vwo-webhook -H \"x-vwo-auth: {secret}\" -d '{DOCUMENTED_PAYLOAD}'"
    );
    println!("Status: curl http://{admin_at}/status");
    tokio::try_join!(
        vwo_webhook_axum::serve(public, relay.public_router()).with_graceful_shutdown(shutdown_signal()),
        vwo_webhook_axum::serve(admin, relay.admin_router()).with_graceful_shutdown(shutdown_signal()),
    )?;
    relay.flush(std::time::Duration::from_secs(5)).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use vwo_webhook_examples::{demo_account_id, demo_request};

    /// The status and the body as JSON.
    async fn call(app: axum::Router, uri: &str, secret: Option<&str>) -> (u16, serde_json::Value) {
        let (status, body) = demo_request(app, uri, secret).await;
        (status, serde_json::from_str(&body).unwrap_or_default())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_relay_demo_serves_the_demo_settings_and_each_webhook_changes_them() {
        let nothing = |_: &str| None;
        let (demo, _origin) = offline_demo(&nothing, DEMO_SECRET).expect("the demo origin");
        let config = RelayConfig::from_env_with(|name| demo.get(name).cloned()).expect("valid");
        let relay = Relay::start(config).expect("relay");
        assert!(relay.wait_until_ready(std::time::Duration::from_secs(10)).await);
        let app = relay.public_router();
        let settings = format!(
            "/server-side/v2-settings?a={}&i={DEMO_SDK_KEY}",
            demo_account_id()
        );
        let rules = |document: &serde_json::Value| document["features"][0]["rules"].as_array().map(Vec::len);
        let (status, document) = call(app.clone(), &settings, None).await;
        assert_eq!(status, 200);
        assert!(rules(&document).is_some_and(|n| n > 0), "feature1 rolled out");
        // Each webhook brings the other document: feature1 with no rule, then with its rules.
        for rolled_out in [false, true] {
            let (status, _) = call(app.clone(), "/vwo-webhook", Some(DEMO_SECRET)).await;
            assert_eq!(status, 200);
            let (_, document) = call(app.clone(), &settings, None).await;
            assert_eq!(rules(&document).is_some_and(|n| n > 0), rolled_out);
        }
        let (status, _) = call(app, "/server-side/v2-settings?a=1&i=other", None).await;
        assert_eq!(status, 401);
    }
}
