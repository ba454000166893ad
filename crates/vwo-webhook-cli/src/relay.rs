//! `vwo-webhook relay`: the gateway every VWO SDK can point at, kept fresh by VWO's webhook
//! (see the `vwo-webhook-relay` crate and docs/relay.md).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use axum::routing::get;
use clap::Parser;
use metrics_exporter_prometheus::PrometheusBuilder;
use vwo_webhook_relay::{Relay, RelayConfig};

use crate::{Failed, Outcome};

/// Run a relay: VWO's SDKs in any language point their `gatewayService` option at it.
///
/// It holds each environment's settings (fetched once per webhook burst, kept on disk when
/// configured), serves them to SDKs, forwards their events to VWO, and tells each service's
/// webhook handler after every change. Without --config, one environment named `default`
/// from VWO_ACCOUNT_ID, VWO_SDK_KEY, VWO_WEBHOOK_SECRET, VWO_SETTINGS_BASE_URL,
/// VWO_WEBHOOK_ADDR, VWO_WEBHOOK_ADMIN_ADDR, VWO_SETTINGS_CACHE and VWO_RELAY_TARGETS
/// ("URL KEY" pairs, comma-separated).
///
/// Example:
///   vwo-webhook relay --config relay.toml
#[derive(Debug, Parser)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// The configuration file (see docs/relay.md).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Check the configuration, print what it runs, and exit.
    #[arg(long)]
    check_config: bool,
}

pub(crate) async fn run(args: Args) -> Outcome {
    let config = match &args.config {
        Some(path) => RelayConfig::from_file(path),
        None => RelayConfig::from_env(),
    }
    .map_err(|error| Failed(format!("the relay's configuration: {error}")))?;
    if args.check_config {
        println!("{}", describe(&config, config.addr, config.admin_addr));
        return Ok(());
    }
    let _ = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_writer(std::io::stderr)
        .try_init();
    let metrics = PrometheusBuilder::new()
        .install_recorder()
        .map_err(|error| Failed(format!("metrics: {error}")))?;
    let relay = Relay::start(config.clone()).map_err(|error| Failed(error.to_string()))?;
    let bind = |addr| async move {
        tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|error| Failed(format!("cannot listen on {addr}: {error}")))
    };
    let public = bind(config.addr).await?;
    let admin = bind(config.admin_addr).await?;
    let local =
        |listener: &tokio::net::TcpListener| listener.local_addr().map_err(|error| Failed(error.to_string()));
    println!("{}", describe(&config, local(&public)?, local(&admin)?));
    let admin_router = relay
        .admin_router()
        .route("/metrics", get(move || async move { metrics.render() }));
    let served = tokio::try_join!(
        vwo_webhook_axum::serve(public, relay.public_router()).with_graceful_shutdown(shutdown()),
        vwo_webhook_axum::serve(admin, admin_router).with_graceful_shutdown(shutdown()),
    );
    // What SDKs sent before the stop still reaches VWO, within a bound.
    if !relay.flush(Duration::from_secs(10)).await {
        eprintln!("vwo-webhook relay: stopped with events VWO had not taken yet");
    }
    served
        .map(|_| ())
        .map_err(|error| Failed(format!("serving: {error}")))
}

async fn shutdown() {
    let _ = tokio::signal::ctrl_c().await;
}

/// What the configuration runs, without a secret.
fn describe(config: &RelayConfig, addr: SocketAddr, admin_addr: SocketAddr) -> String {
    let mut lines = vec![format!(
        "relay: SDKs and webhooks on http://{addr}, /ready /live /status /metrics on http://{admin_addr}"
    )];
    if config.redis_url.is_some() {
        lines.push("  sharing settings with the other relays on Redis (REDIS_URL / redis_url)".to_owned());
    }
    for environment in &config.environments {
        lines.push(format!(
            "  environment {} (account {}): webhook POST {}, {} target(s){}",
            environment.name,
            environment.account_id,
            RelayConfig::webhook_path(&environment.name),
            environment.targets.len(),
            environment
                .targets
                .iter()
                .map(|t| format!(" {}", t.name))
                .collect::<String>()
        ));
    }
    lines.join("\n")
}
