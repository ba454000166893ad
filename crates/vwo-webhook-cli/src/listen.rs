//! `vwo-webhook listen`: a local receiver that shows each delivery as it arrives, with the
//! verdict and the answer: what VWO's docs send users to a request bin for, but running the
//! real checks.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Instant, SystemTime};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::IntoResponse;
use clap::Parser;
use vwo_webhook::{
    DEFAULT_PATH, HeaderLookup, Keyring, Receiver, RefreshError, Secret, SettingsChanged, SharedKey, Trigger,
    VWO_AUTH_HEADER, Verifier,
};
use vwo_webhook_tower::{HttpHeaders, into_http_response, read_body};

use crate::style::{self, DIM, paint};
use crate::{Failed, Outcome};

/// Run a local receiver that prints every delivery: its verdict, the notice, the answer.
///
/// Each delivery goes through the same checks as a production receiver (method, `x-vwo-auth`
/// against every key, body limit, payload) and is answered as one would answer it; refreshes
/// do nothing. Secrets are never printed, only their last characters.
///
/// Example:
///   vwo-webhook listen --addr 127.0.0.1:4000 --secret "$VWO_WEBHOOK_SECRET"
#[derive(Debug, Parser)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:4000")]
    addr: SocketAddr,
    /// The path to answer at.
    #[arg(long, default_value = DEFAULT_PATH)]
    path: String,
    /// A key to accept in `x-vwo-auth` (repeat for a rotation). Without one, a random key is
    /// generated and saved to a file only you can read.
    #[arg(
        long = "secret",
        value_name = "SECRET",
        env = "VWO_WEBHOOK_SECRET",
        value_delimiter = ',',
        hide_env_values = true
    )]
    secrets: Vec<String>,
}

#[derive(Clone)]
struct App {
    receiver: Receiver,
    secrets: Arc<Vec<Secret>>,
    tails: Arc<Vec<String>>,
}

pub(crate) async fn run(args: Args) -> Outcome {
    let mut secrets: Vec<String> = args.secrets.into_iter().filter(|s| !s.is_empty()).collect();
    let generated = secrets.is_empty();
    if generated {
        secrets.push(random_secret().map_err(Failed)?);
    }
    let keys: Vec<Secret> = secrets
        .iter()
        .map(|s| Secret::new(s.as_str()).map_err(|e| Failed(e.to_string())))
        .collect::<Result<_, _>>()?;
    let keyring = Keyring::new(keys.clone()).map_err(|e| Failed(e.to_string()))?;
    let receiver = Receiver::builder(|_: Trigger| async { Ok::<(), RefreshError>(()) })
        .keyring(keyring)
        .path(args.path.clone())
        .build()
        .map_err(|e| Failed(e.to_string()))?;
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .map_err(|e| Failed(format!("cannot listen on {}: {e}", args.addr)))?;
    let local = listener.local_addr().map_err(|e| Failed(e.to_string()))?;
    let url = format!("http://{local}{}", args.path);
    let tails: Vec<String> = secrets.iter().map(|s| style::tail(s)).collect();
    anstream::println!("{} {url}", paint(style::OK, "listening on"));
    if generated {
        let file = save_secret(&secrets[0], local.port()).map_err(Failed)?;
        let file = file.display();
        anstream::println!(
            "No --secret given: generated one ({}), saved to {file} (readable by you only). Try:",
            tails[0]
        );
        anstream::println!("  VWO_WEBHOOK_SECRET=\"$(cat {file})\" vwo-webhook send {url}");
        anstream::println!(
            "  curl -i -X POST {url} -H \"x-vwo-auth: $(cat {file})\" -H 'content-type: application/json' \\\n       -d '{}'",
            documented_notice()
        );
    } else {
        let listed: Vec<String> = tails
            .iter()
            .enumerate()
            .map(|(i, t)| format!("#{} {t}", i + 1))
            .collect();
        anstream::println!("accepting {} key(s): {}", tails.len(), listed.join(", "));
    }
    let app = App {
        receiver,
        secrets: Arc::new(keys),
        tails: Arc::new(tails),
    };
    let router = axum::Router::new()
        .route(&args.path, axum::routing::any(deliver))
        .fallback(elsewhere)
        .with_state(app);
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .map_err(|e| Failed(e.to_string()))
}

async fn deliver(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> axum::response::Response {
    let arrived = Instant::now();
    let (parts, body) = request.into_parts();
    let headers = HttpHeaders(&parts.headers);
    let method = parts.method.as_str();
    // The receiver reads the body itself (after its header checks, with its limit, as in
    // production); keep a copy of what it read to show the notice.
    let read: Arc<Mutex<Option<Bytes>>> = Arc::default();
    let answer = app
        .receiver
        .handle(method, &headers, |limit| {
            let read = Arc::clone(&read);
            async move {
                let body = read_body(body, limit).await;
                if let Ok(bytes) = &body {
                    *read.lock().unwrap_or_else(PoisonError::into_inner) = Some(bytes.clone());
                }
                body
            }
        })
        .await;
    let body = read.lock().unwrap_or_else(PoisonError::into_inner).take();
    let elapsed = arrived.elapsed();
    let time = humantime::format_rfc3339_seconds(SystemTime::now());
    let mut report = format!(
        "{} {method} {} {}\n",
        paint(DIM, time),
        parts.uri.path(),
        paint(DIM, format!("from {peer}"))
    );
    report.push_str(&format!(
        "  {} {}\n",
        paint(DIM, "verdict"),
        verdict(&app, &headers, answer.status())
    ));
    if let Some(bytes) = &body
        && (200..300).contains(&answer.status())
        && let Ok(notice) = SettingsChanged::from_slice(bytes)
    {
        report.push_str(&format!("  {} {}\n", paint(DIM, "notice "), describe(&notice)));
    }
    report.push_str(&format!(
        "  {} {} {}  {}",
        paint(DIM, "answer "),
        paint(style::status(answer.status()), answer.status()),
        answer.body(),
        paint(DIM, format!("({:.1} ms)", elapsed.as_secs_f64() * 1000.0)),
    ));
    anstream::println!("{report}");
    into_http_response(answer).into_response()
}

/// Why the delivery was accepted or refused, in the receiver's order of checks.
fn verdict(app: &App, headers: &HttpHeaders<'_>, status: u16) -> String {
    match status {
        405 => return paint(style::ERROR, "refused: not a POST (405)"),
        413 => return paint(style::ERROR, "refused: the body is over the limit (413)"),
        _ => {}
    }
    let keyring = match Keyring::new(app.secrets.iter().cloned()) {
        Ok(keyring) => keyring,
        Err(error) => return error.to_string(),
    };
    if let Err(error) = SharedKey::new(keyring).verify(headers, &[]) {
        return paint(style::ERROR, format!("refused: {error}"));
    }
    let presented = headers.header(VWO_AUTH_HEADER).unwrap_or_default();
    let key = app
        .secrets
        .iter()
        .position(|secret| secret.matches(presented))
        .map(|i| format!("key #{} ({})", i + 1, app.tails[i]))
        .unwrap_or_default();
    match status {
        400 => paint(
            style::ERROR,
            format!("authenticated with {key}, but the payload is invalid (400)"),
        ),
        _ => paint(style::OK, format!("authenticated with {key}")),
    }
}

fn describe(notice: &SettingsChanged) -> String {
    let when = u64::try_from(notice.timestamp)
        .ok()
        .map(|secs| SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs))
        .map(|at| humantime::format_rfc3339_seconds(at).to_string())
        .unwrap_or_default();
    let action = notice
        .action
        .as_ref()
        .map(|a| a.as_str())
        .unwrap_or("(no action)");
    let by = notice.triggered_by.as_deref().unwrap_or("(unknown)");
    format!(
        "{} / {action}, timestamp {} {when}, triggered by {by}",
        notice.event.as_str(),
        notice.timestamp
    )
}

async fn elsewhere(request: Request) -> axum::http::StatusCode {
    anstream::println!(
        "{} {} {} {}",
        paint(DIM, humantime::format_rfc3339_seconds(SystemTime::now())),
        request.method(),
        request.uri().path(),
        paint(DIM, "not the webhook's path: 404")
    );
    axum::http::StatusCode::NOT_FOUND
}

/// VWO's documented notice with the current time.
pub(crate) fn documented_notice() -> String {
    crate::send::notice_json(
        crate::send::unix_now(),
        "settings_changed",
        "campaign_settings_changed",
    )
}

fn random_secret() -> Result<String, String> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| format!("could not generate a secret: {e}"))?;
    Ok(hex::encode(bytes))
}

/// Writes the generated secret where only this user can read it.
fn save_secret(secret: &str, port: u16) -> Result<PathBuf, String> {
    use std::io::Write;
    let path = std::env::temp_dir().join(format!("vwo-webhook-listen-{port}.secret"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    file.write_all(secret.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_notice_is_the_documented_one() {
        let notice = super::documented_notice();
        let parsed = vwo_webhook::SettingsChanged::from_slice(notice.as_bytes()).expect("valid");
        assert_eq!(parsed.event, vwo_webhook::Event::SettingsChanged);
    }
}
