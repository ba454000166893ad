//! `vwo-webhook status`: what a receiver's `/settings/status` says, and whether it is fresh.

use std::time::Duration;

use clap::Parser;
use serde_json::Value;

use crate::style::{self, DIM, paint};
use crate::{Failed, Outcome};

/// Read a receiver's settings status (`GET .../settings/status`) and print it.
///
/// With `--max-age`, exits 1 when the settings were last confirmed by the origin longer ago
/// than that (or were never loaded): a check for cron or a deploy pipeline.
///
/// Examples:
///   vwo-webhook status http://127.0.0.1:4000/settings/status
///   vwo-webhook status https://my-service.example.com/settings/status --max-age 30m
#[derive(Debug, Parser)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// The status URL (the examples serve it at `/settings/status`).
    url: String,
    /// Fail when the settings are older than this (`15m`, `1h`).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    max_age: Option<Duration>,
    /// How long to wait for the answer.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
    timeout: Duration,
}

pub(crate) async fn run(args: Args) -> Outcome {
    let client = reqwest::Client::builder()
        .timeout(args.timeout)
        .build()
        .map_err(|e| Failed(format!("no HTTP client: {e}")))?;
    let response = client
        .get(&args.url)
        .send()
        .await
        .map_err(|e| Failed(format!("could not read the status: {}", e.without_url())))?;
    let code = response.status();
    if !code.is_success() {
        return Err(Failed(format!("the status answered {code}")));
    }
    let bytes = response
        .bytes()
        .await
        .map_err(|e| Failed(format!("could not read the status: {}", e.without_url())))?;
    let status: Value =
        serde_json::from_slice(&bytes).map_err(|e| Failed(format!("the status is not JSON: {e}")))?;
    let text = |key: &str| match &status[key] {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let seconds = |key: &str| status[key].as_f64();
    let ago = |key: &str| seconds(key).map_or("-".to_owned(), |s| format!("{} ago", human(s)));
    anstream::println!("{} {}", paint(DIM, "state          "), text("state"));
    anstream::println!("{} {}", paint(DIM, "version        "), text("version"));
    anstream::println!("{} {}", paint(DIM, "account        "), text("account_id"));
    anstream::println!(
        "{} {} ({})",
        paint(DIM, "source         "),
        text("source"),
        text("etag")
    );
    // A replica kept fresh through Redis also says which fleet revision it serves, and how
    // it is linked to the fleet.
    if !status["replication"].is_null() {
        anstream::println!(
            "{} revision {} over {}, {}",
            paint(DIM, "fleet          "),
            text("revision"),
            status["replication"]["backend"].as_str().unwrap_or("?"),
            status["replication"]["connection"].as_str().unwrap_or("?")
        );
    }
    anstream::println!("{} {}", paint(DIM, "fetched        "), ago("age_seconds"));
    anstream::println!(
        "{} {}",
        paint(DIM, "last confirmed "),
        ago("since_confirmed_seconds")
    );
    let last_error = match &status["last_error"] {
        Value::Null => "none".to_owned(),
        error => format!(
            "{} ({})",
            error["message"].as_str().unwrap_or("?"),
            error["at_unix"]
        ),
    };
    anstream::println!("{} {}", paint(DIM, "last error     "), last_error);
    let Some(max_age) = args.max_age else {
        return Ok(());
    };
    // How old the settings are as far as anyone knows: since the origin last confirmed them,
    // else since they were fetched (an older receiver without confirmations).
    let age = seconds("since_confirmed_seconds").or_else(|| seconds("age_seconds"));
    match age {
        Some(age) if age <= max_age.as_secs_f64() => {
            anstream::println!(
                "{}",
                paint(
                    style::OK,
                    format!("fresh: within {}", human(max_age.as_secs_f64()))
                )
            );
            Ok(())
        }
        Some(age) => Err(Failed(format!(
            "stale: last confirmed {} ago, more than {}",
            human(age),
            human(max_age.as_secs_f64())
        ))),
        None => Err(Failed("no settings loaded yet".to_owned())),
    }
}

/// `75.2` -> `1m 15s`.
fn human(seconds: f64) -> String {
    let rounded = Duration::from_secs(seconds.max(0.0).round() as u64);
    humantime::format_duration(rounded).to_string()
}
