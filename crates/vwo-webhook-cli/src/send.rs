//! `vwo-webhook send`: deliver VWO's notice (or any body) to a receiver, once or the way VWO
//! redelivers, authenticated with the shared key or signed.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use clap::Parser;
use vwo_webhook::{HmacSha256, Keyring, StandardWebhooks, VWO_AUTH_HEADER};

use crate::style::{self, DIM, paint};
use crate::{Failed, Outcome};

/// Deliver the documented notice (or a body of your own) and print the answer.
///
/// With `--like-vwo` the delivery is repeated as VWO does after any non-2xx answer: every
/// 1-2 s, at random, until a 2xx or until `--for` has passed. Exits 0 on a 2xx, 1 otherwise.
///
/// Examples:
///   vwo-webhook send http://127.0.0.1:4000/vwo-webhook --secret s3cret
///   vwo-webhook send https://example.com/hooks/vwo --action feature_flag_updated --like-vwo --for 10m
///   vwo-webhook send http://127.0.0.1:4000/vwo-webhook --secret whsec_... --standard-webhooks
#[derive(Debug, Parser)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// The receiver's URL (http or https).
    url: String,
    /// The shared key sent in `x-vwo-auth` (or the signing key with --hmac, the `whsec_`
    /// secret with --standard-webhooks).
    #[arg(long, env = "VWO_WEBHOOK_SECRET", hide_env_values = true)]
    secret: String,
    /// The notice's `action`.
    #[arg(long, default_value = "campaign_settings_changed", conflicts_with = "body")]
    action: String,
    /// The notice's `event`.
    #[arg(long, default_value = "settings_changed", conflicts_with = "body")]
    event: String,
    /// The notice's `timestamp`, in Unix seconds (default: now).
    #[arg(long, conflicts_with = "body")]
    timestamp: Option<i64>,
    /// Send this file's bytes instead of the notice.
    #[arg(long, value_name = "FILE")]
    body: Option<PathBuf>,
    /// Sign the body with HMAC-SHA256 (GitHub style, `x-hub-signature-256`) instead of
    /// sending the key.
    #[arg(long, conflicts_with = "standard_webhooks")]
    hmac: bool,
    /// Sign as Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`).
    #[arg(long)]
    standard_webhooks: bool,
    /// Repeat the delivery every 1-2 s until a 2xx answer, as VWO does.
    #[arg(long)]
    like_vwo: bool,
    /// With --like-vwo: how long to keep redelivering (VWO: 1 hour).
    #[arg(long = "for", value_name = "DURATION", default_value = "1h", value_parser = humantime::parse_duration, requires = "like_vwo")]
    for_: Duration,
    /// How long to wait for each answer.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = humantime::parse_duration)]
    timeout: Duration,
}

pub(crate) async fn run(args: Args) -> Outcome {
    let body = match &args.body {
        Some(path) => {
            std::fs::read(path).map_err(|e| Failed(format!("cannot read {}: {e}", path.display())))?
        }
        None => notice(&args).into_bytes(),
    };
    let client = reqwest::Client::builder()
        .timeout(args.timeout)
        .build()
        .map_err(|e| Failed(format!("no HTTP client: {e}")))?;
    let started = Instant::now();
    let deadline = started + if args.like_vwo { args.for_ } else { Duration::ZERO };
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let request = authenticate(&args, client.post(&args.url), &body)?
            .header("content-type", "application/json")
            .body(body.clone());
        let sent = Instant::now();
        let answer = request.send().await;
        let latency = paint(DIM, format!("in {:.1} ms", sent.elapsed().as_secs_f64() * 1000.0));
        let prefix = if args.like_vwo {
            format!("attempt {attempt} at +{:.1} s: ", started.elapsed().as_secs_f64())
        } else {
            String::new()
        };
        let status = match answer {
            Ok(response) => {
                let status = response.status().as_u16();
                let text = response.text().await.unwrap_or_default();
                anstream::println!(
                    "{prefix}{} {latency}: {text}",
                    paint(style::status(status), status)
                );
                Some(status)
            }
            Err(error) => {
                anstream::println!("{prefix}{} {latency}", paint(style::ERROR, describe(error)));
                None
            }
        };
        if status.is_some_and(|s| (200..300).contains(&s)) {
            if args.like_vwo {
                anstream::println!(
                    "delivered after {attempt} attempt(s), {:.1} s to the first 2xx",
                    started.elapsed().as_secs_f64()
                );
            }
            return Ok(());
        }
        // VWO waits 1-2 s, at random, before each redelivery.
        let pause = Duration::from_millis(fastrand::u64(1000..=2000));
        if !args.like_vwo || Instant::now() + pause > deadline {
            let summary = if args.like_vwo {
                format!(
                    "no 2xx after {attempt} attempt(s) over {:.1} s",
                    started.elapsed().as_secs_f64()
                )
            } else {
                "the delivery was not accepted".to_owned()
            };
            return Err(Failed(summary));
        }
        tokio::time::sleep(pause).await;
    }
}

/// The documented notice, with the fields the arguments override.
fn notice(args: &Args) -> String {
    notice_json(args.timestamp.unwrap_or_else(unix_now), &args.event, &args.action)
}

/// VWO's documented notice with these fields (what `send` delivers by default and `listen`
/// offers to curl).
pub(crate) fn notice_json(timestamp: i64, event: &str, action: &str) -> String {
    serde_json::json!({
        "timestamp": timestamp,
        "event": event,
        "action": action,
        "triggered_by": "vwo",
    })
    .to_string()
}

/// Now, in Unix seconds.
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Adds the key, or a signature of `body`, made with the core's own signers.
fn authenticate(
    args: &Args,
    request: reqwest::RequestBuilder,
    body: &[u8],
) -> Result<reqwest::RequestBuilder, Failed> {
    if args.hmac {
        let keyring = Keyring::from_comma_separated(&args.secret).map_err(|e| Failed(e.to_string()))?;
        let signer = HmacSha256::github(keyring);
        return Ok(request.header(signer.header_name(), signer.sign(body)));
    }
    if args.standard_webhooks {
        let signer = StandardWebhooks::new([args.secret.as_str()]).map_err(|e| Failed(e.to_string()))?;
        let id = format!("msg_{}", fastrand::u64(..));
        let now = unix_now();
        let signature = signer.sign(&id, now, body);
        return Ok(request
            .header("webhook-id", id)
            .header("webhook-timestamp", now.to_string())
            .header("webhook-signature", signature));
    }
    Ok(request.header(VWO_AUTH_HEADER, &args.secret))
}

/// A transport error without the URL (its query could carry a key).
fn describe(error: reqwest::Error) -> String {
    if error.is_timeout() {
        "no answer in time".to_owned()
    } else if error.is_connect() {
        "could not connect".to_owned()
    } else {
        format!("failed: {}", error.without_url())
    }
}
