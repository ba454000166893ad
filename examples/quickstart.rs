//! The README's quick start, runnable: a client built from the credentials in the
//! environment, kept fresh by VWO's webhook, deciding a flag on an axum route. Without
//! `VWO_ACCOUNT_ID` and `VWO_SDK_KEY` it runs on an offline demo origin serving the bundled
//! settings file, in which `feature1` is rolled out to everyone on one fetch and to no one on
//! the next: each webhook you deliver visibly turns it on or off.
//!
//! ```text
//! cargo run --example quickstart
//! curl 'http://127.0.0.1:4000/checkout?user=user-42'
//! ```
// An example's job is to tell a person what to run next.
#![allow(clippy::print_stdout)]

use axum::extract::RawQuery;
use vwo_webhook_examples::{DEFAULT_ADDR, DOCUMENTED_PAYLOAD, offline_demo, shutdown_signal};
use vwo_webhook_flags::{Client, ClientBuilder, Context};

/// The secret the demo accepts when `VWO_WEBHOOK_SECRET` is unset (loopback only).
const DEMO_SECRET: &str = "quickstart-demo-secret";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    vwo_webhook_examples::init_tracing();
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let (demo, _origin) = offline_demo(&env, DEMO_SECRET)?;
    let feature = env("VWO_FEATURE").unwrap_or_else(|| "feature1".to_owned());

    // The README's lines, with the demo's values where the environment has none.
    let client = ClientBuilder::from_env_with(|name| env(name).or_else(|| demo.get(name).cloned()))?
        .build()
        .await?;
    let receiver = client.receiver().ok_or("set VWO_WEBHOOK_SECRET")?.clone();
    let app = app(&client, feature).merge(vwo_webhook_axum::router(receiver.clone()));

    let addr = env("VWO_WEBHOOK_ADDR").unwrap_or_else(|| DEFAULT_ADDR.to_owned());
    let listener = tokio::net::TcpListener::bind(addr.as_str()).await?;
    let at = listener.local_addr()?;
    let secret = env("VWO_WEBHOOK_SECRET").map_or(DEMO_SECRET, |_| "$VWO_WEBHOOK_SECRET");
    println!("A decision:  curl 'http://{at}/checkout?user=user-42'");
    println!(
        "VWO's webhook (the client fetches the settings again):\n  curl -i -X POST http://{at}{} -H \"x-vwo-auth: {secret}\" -d '{DOCUMENTED_PAYLOAD}'",
        receiver.path()
    );
    vwo_webhook_axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    client.close().await;
    Ok(())
}

/// The application: `GET /checkout?user=ID` answers whether `feature` is on for the user.
fn app(client: &Client, feature: String) -> axum::Router {
    let flags = client.clone();
    let checkout = move |RawQuery(query): RawQuery| async move {
        let id = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .find(|(name, _)| name == "user")
            .map_or_else(|| "user-42".to_owned(), |(_, id)| id.into_owned());
        let Ok(user) = Context::new(id) else {
            return "name a user: /checkout?user=<id>\n".to_owned();
        };
        let flag = flags.get_flag(&feature, &user);
        format!(
            "{feature} for {}: {}\n",
            user.id(),
            if flag.is_enabled() { "on" } else { "off" }
        )
    };
    axum::Router::new().route("/checkout", axum::routing::get(checkout))
}

#[cfg(test)]
mod tests {
    use super::*;
    use vwo_webhook_examples::demo_request as get;

    #[tokio::test]
    async fn the_quick_start_decides_on_the_demo_settings_and_each_webhook_changes_the_decision() {
        let nothing = |_: &str| None;
        let (demo, _origin) = offline_demo(&nothing, DEMO_SECRET).expect("the demo origin");
        let client = ClientBuilder::from_env_with(|name| demo.get(name).cloned())
            .expect("a builder")
            .events_off()
            .build()
            .await
            .expect("a client on the demo settings");
        let receiver = client.receiver().expect("the demo secret").clone();
        let app = app(&client, "feature1".to_owned()).merge(vwo_webhook_axum::router(receiver));
        let (status, body) = get(app.clone(), "/checkout?user=u1", None).await;
        assert_eq!((status, body.as_str()), (200, "feature1 for u1: on\n"));
        // Each webhook brings the other document: feature1 off, then on again.
        for expected in ["off", "on"] {
            let (status, body) = get(app.clone(), "/vwo-webhook", Some(DEMO_SECRET)).await;
            assert_eq!(status, 200, "{body}");
            let (_, body) = get(app.clone(), "/checkout?user=u1", None).await;
            assert_eq!(body, format!("feature1 for u1: {expected}\n"));
        }
        client.close().await;
    }
}
