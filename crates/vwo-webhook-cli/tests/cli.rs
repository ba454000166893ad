//! The built `vwo-webhook` binary, end to end, against real servers on loopback.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use axum::Router;
use axum::http::StatusCode;
use axum::routing::{any, get};
use vwo_webhook_conformance::Server;

fn vwo_webhook() -> Command {
    let mut command = Command::cargo_bin("vwo-webhook").expect("the binary is built");
    command.env_remove("VWO_WEBHOOK_SECRET").env("NO_COLOR", "1");
    command
}

/// `vwo-webhook listen`, with its output read line by line on a thread.
struct Listener {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Listener {
    fn start(args: &[&str]) -> (Self, String) {
        let mut child = vwo_webhook()
            .args(["listen", "--addr", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("listen starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut listener = Self {
            child,
            lines,
            seen: Vec::new(),
        };
        let first = listener.wait_for("listening on");
        let url = first.rsplit(' ').next().expect("the URL").to_owned();
        (listener, url)
    }

    /// Waits up to 10 s for a line containing `needle`.
    fn wait_for(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => break,
            }
        }
        panic!("no line with {needle:?} in:\n{}", self.seen.join("\n"));
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn listen_shows_what_send_delivers_and_never_a_secret() {
    let secret = "listen-test-secret-9c1e";
    let (mut listener, url) = Listener::start(&["--secret", "older-key-0000", "--secret", secret]);
    listener.wait_for("accepting 2 key(s)");

    let sent = vwo_webhook()
        .args([
            "send",
            &url,
            "--secret",
            secret,
            "--action",
            "feature_flag_updated",
        ])
        .output()
        .expect("send runs");
    assert_eq!(sent.status.code(), Some(0), "{sent:?}");
    assert!(
        String::from_utf8_lossy(&sent.stdout).starts_with("200 in "),
        "{sent:?}"
    );
    listener.wait_for("authenticated with key #2 (…9c1e)");
    listener.wait_for("settings_changed / feature_flag_updated");
    listener.wait_for("answer  200");

    let refused = vwo_webhook()
        .args(["send", &url, "--secret", "a-guess"])
        .output()
        .expect("send runs");
    assert_eq!(
        refused.status.code(),
        Some(1),
        "a refused delivery is a failed check"
    );
    listener.wait_for("refused: header `x-vwo-auth` does not match any configured secret");
    listener.wait_for("answer  401");
    let shown = listener.seen.join("\n");
    assert!(!shown.contains(secret) && !shown.contains("a-guess"), "{shown}");
}

#[test]
fn listen_without_a_secret_generates_one_and_keeps_it_in_a_private_file() {
    let (mut listener, url) = Listener::start(&[]);
    let line = listener.wait_for("saved to");
    let path = line
        .split("saved to ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .expect("the file");
    let secret = std::fs::read_to_string(path).expect("the secret file");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).expect("metadata").permissions().mode();
        assert_eq!(mode & 0o077, 0, "readable by the user only: {mode:o}");
    }
    listener.wait_for("vwo-webhook send");
    listener.wait_for("curl -i -X POST");
    let sent = vwo_webhook()
        .args(["send", &url])
        .env("VWO_WEBHOOK_SECRET", &secret)
        .output()
        .expect("send runs");
    assert_eq!(sent.status.code(), Some(0), "{sent:?}");
    listener.wait_for("authenticated with key #1");
    assert!(
        !listener.seen.join("\n").contains(&secret),
        "the generated secret was printed"
    );
}

/// Serves `app` on loopback.
fn serve(app: Router) -> Server {
    Server::spawn_tokio(move |listener| async move {
        let _ = axum::serve(listener, app).await;
    })
}

#[test]
fn send_like_vwo_redelivers_every_one_to_two_seconds_until_a_2xx() {
    let arrivals: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let seen = Arc::clone(&arrivals);
    let server = serve(Router::new().route(
        "/hook",
        any(move || {
            let seen = Arc::clone(&seen);
            async move {
                let mut arrivals = seen.lock().expect("arrivals");
                arrivals.push(Instant::now());
                if arrivals.len() < 3 {
                    (StatusCode::SERVICE_UNAVAILABLE, "busy")
                } else {
                    (StatusCode::OK, "ok")
                }
            }
        }),
    ));
    let url = format!("http://{}/hook", server.addr());
    let output = vwo_webhook()
        .args(["send", &url, "--secret", "s3cret", "--like-vwo", "--for", "30s"])
        .output()
        .expect("send runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("attempt 3 at +"), "{stdout}");
    assert!(stdout.contains("delivered after 3 attempt(s)"), "{stdout}");
    let arrivals = arrivals.lock().expect("arrivals").clone();
    assert_eq!(arrivals.len(), 3);
    for pair in arrivals.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= Duration::from_secs(1) && gap < Duration::from_millis(2500),
            "redelivered after {gap:?}"
        );
    }
}

/// The axum example's receiver, with its settings backend and the given secret.
fn example(secret: &str) -> Server {
    let vars = [("VWO_WEBHOOK_SECRET".to_owned(), secret.to_owned())];
    let example = vwo_webhook_examples::Example::from_lookup(|name| {
        vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    })
    .expect("config");
    Server::spawn_tokio(move |listener| async move {
        let settings = example.settings_backend().expect("settings backend");
        let receiver = example.receiver(settings).expect("receiver");
        let _ = axum::serve(listener, vwo_webhook_axum::router::<()>(receiver)).await;
    })
}

/// Runs `vwo-webhook check url` with `secret` from the environment, checks that it passes,
/// and returns what it printed.
fn check_passes(url: &str, secret: &str) -> String {
    let output = vwo_webhook()
        .args(["check", url])
        .env("VWO_WEBHOOK_SECRET", secret)
        .output()
        .expect("check runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    stdout
}

#[test]
fn check_passes_the_example_and_names_what_a_fail_open_receiver_gets_wrong() {
    let server = example("check-s3cret");
    let url = format!("http://{}/vwo-webhook", server.addr());
    let stdout = check_passes(&url, "check-s3cret");
    assert!(
        stdout.contains("conformance: 22 passed, 0 failed (required), 0 warnings (hardening)"),
        "{stdout}"
    );

    // VWO's sample receivers: no key, no check, 200 for anything.
    let fail_open = serve(Router::new().route("/hook", any(|| async { (StatusCode::OK, "ok") })));
    let url = format!("http://{}/hook", fail_open.addr());
    let output = vwo_webhook()
        .args(["check", &url, "--secret", "anything", "--format", "json"])
        .output()
        .expect("check runs");
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let failed: Vec<&str> = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["passed"] == false)
        .filter_map(|c| c["case"].as_str())
        .collect();
    for case in [
        "rejects_wrong_secret",
        "rejects_missing_secret_header",
        "rejects_empty_secret_header",
        "rejects_non_post_with_allow",
        "rejects_malformed_json",
        "every_response_is_json",
    ] {
        assert!(failed.contains(&case), "{case} should fail: {failed:?}");
    }
    let required = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["passed"] == false && c["level"] == "required")
        .count();
    assert_eq!(report["failed"].as_u64(), Some(required as u64));
    let message = report["checks"][2]["failure"].as_str().unwrap_or_default();
    assert!(message.contains("expected 401"), "{message}");
}

/// The actix example's receiver on actix-web's own server, on a thread of its own.
fn actix_example(secret: &str) -> std::net::SocketAddr {
    let vars = [("VWO_WEBHOOK_SECRET".to_owned(), secret.to_owned())];
    let example = vwo_webhook_examples::Example::from_lookup(|name| {
        vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    })
    .expect("config");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let settings = example.settings_backend().expect("settings backend");
            let receiver = example.receiver(settings).expect("receiver");
            let server = actix_web::HttpServer::new(move || {
                actix_web::App::new().service(vwo_webhook_actix::service(receiver.clone()))
            })
            .workers(1)
            .bind(("127.0.0.1", 0))
            .expect("bind");
            let _ = tx.send(server.addrs()[0]);
            let _ = server.run().await;
        });
    });
    rx.recv().expect("the server's address")
}

#[test]
fn check_warns_on_a_hardening_failure_and_strict_fails_on_it() {
    // actix-web answers 100 Continue before routing: a hardening case, not a broken receiver.
    let addr = actix_example("actix-s3cret");
    let url = format!("http://{addr}/vwo-webhook");
    let stdout = check_passes(&url, "actix-s3cret");
    assert!(
        stdout.contains("0 failed (required), 1 warnings (hardening)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("(hardening: VWO does not send Expect: 100-continue"),
        "{stdout}"
    );
    let strict = vwo_webhook()
        .args(["check", &url, "--strict", "--format", "json"])
        .env("VWO_WEBHOOK_SECRET", "actix-s3cret")
        .output()
        .expect("check runs");
    assert_eq!(strict.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&strict.stdout).expect("JSON");
    assert_eq!(
        (report["failed"].as_u64(), report["strict"].as_bool()),
        (Some(1), Some(true))
    );
    let failed: Vec<&serde_json::Value> = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["passed"] == false)
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["case"], "expect_continue_oversized_is_413");
    assert_eq!(failed[0]["level"], "hardening");
}

#[test]
fn status_prints_the_settings_and_fails_when_they_are_stale() {
    let fresh = r#"{"state":"ok","version":"7","account_id":"123456","source":"origin","fetched_at_unix":1795387541,"age_seconds":620.4,"confirmed_at_unix":1795388140,"since_confirmed_seconds":21.3,"etag":"\"v7\"","last_error":null}"#;
    let stale = r#"{"state":"ok","version":"7","account_id":"123456","source":"redis","fetched_at_unix":1795387541,"age_seconds":9000.0,"confirmed_at_unix":1795387541,"since_confirmed_seconds":9000.0,"etag":null,"revision":12,"replication":{"backend":"redis","connection":"disconnected"},"last_error":{"message":"the settings origin answered 503","at_unix":1795396000}}"#;
    let server = serve(
        Router::new()
            .route("/fresh", get(move || async move { fresh }))
            .route("/stale", get(move || async move { stale })),
    );
    let base = format!("http://{}", server.addr());
    let output = vwo_webhook()
        .args(["status", &format!("{base}/fresh"), "--max-age", "1h"])
        .output()
        .expect("status runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    for expected in [
        "version         7",
        "account         123456",
        "last confirmed  21s ago",
        "fresh",
    ] {
        assert!(stdout.contains(expected), "{expected:?} in {stdout}");
    }
    let output = vwo_webhook()
        .args(["status", &format!("{base}/stale"), "--max-age", "1h"])
        .output()
        .expect("status runs");
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stdout).contains("the settings origin answered 503"));
    assert!(
        String::from_utf8_lossy(&output.stdout)
            .contains("fleet           revision 12 over redis, disconnected"),
        "a replica's link to its fleet is shown"
    );
    assert!(
        !stdout.contains("fleet"),
        "no fleet line for a single process: {stdout}"
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("stale: last confirmed 2h 30m ago"));
}

#[test]
fn bad_usage_exits_2_with_a_clear_message() {
    for (args, expected) in [
        (vec!["send"], "required arguments were not provided"),
        (
            vec!["send", "http://127.0.0.1:1/x", "--secret", "s", "--for", "1h"],
            "--like-vwo",
        ),
        (
            vec!["status", "http://127.0.0.1:1/x", "--max-age", "soon"],
            "invalid value 'soon'",
        ),
        (
            vec![
                "check",
                "http://127.0.0.1:1/x",
                "--secret",
                "s",
                "--format",
                "xml",
            ],
            "invalid value 'xml'",
        ),
        (vec!["frobnicate"], "unrecognized subcommand"),
    ] {
        let output = vwo_webhook().args(&args).output().expect("runs");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    // A URL check cannot speak TLS: said plainly, exit 1 (not a usage error).
    let output = vwo_webhook()
        .args(["check", "https://example.com/x", "--secret", "s"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("only http:// URLs are supported"));
}

fn e2e_settings(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../vwo-webhook-flags/testdata/vwo-e2e/settings")
        .join(name);
    path.to_string_lossy().into_owned()
}

/// `vwo-webhook flag` for `feature1` and `user_id` on `settings`, with `more` arguments.
fn flag(settings: &str, more: &[&str]) -> std::process::Output {
    vwo_webhook()
        .args([
            "flag",
            "--settings",
            settings,
            "--feature",
            "feature1",
            "--user",
            "user_id",
        ])
        .args(more)
        .output()
        .expect("runs")
}

#[test]
fn flag_shows_the_decision_and_the_path_to_it() {
    // VWO's e2e case: price 100 passes the pre-segment of rolloutRule1 and testingRule1.
    let settings = e2e_settings("RolloutAndTestingSettingsWithPreSegment.json");
    let output = flag(&settings, &["--var", "price=100"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("answer      enabled"), "{stdout}");
    assert!(
        stdout.contains("variable    string = \"testing1_variation\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("path        rollout rolloutRule1: segments passed"),
        "{stdout}"
    );
    assert!(stdout.contains("path        traffic: bucket"), "{stdout}");
    // Without the variable the pre-segments fail, and the path says so.
    let output = flag(&settings, &[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("answer      disabled"), "{stdout}");
    assert!(stdout.contains("segments failed"), "{stdout}");
}

#[test]
fn flag_batch_answers_each_line_in_order_and_goes_on_past_bad_ones() {
    let settings = e2e_settings("RolloutAndTestingSettings.json");
    let cases = [
        r#"{"feature_key": "feature1", "context": {"id": "user_id", "customVariables": {"price": 200}}}"#,
        r#"{"feature_key": "no_such_feature", "context": {"id": "user_id"}}"#,
        r#"{"feature_key": "feature1", "context": {"customVariables": {}}}"#,
        "not json",
        r#"{"feature_key": "feature1", "context": {"id": 42}}"#,
    ];
    let mut child = vwo_webhook()
        .args(["flag", "--settings", &settings, "--cases", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("runs");
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().expect("stdin");
        writeln!(stdin, "{}", cases.join("\n")).expect("write");
    }
    let output = child.wait_with_output().expect("finishes");
    assert!(output.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("each answer is JSON"))
        .collect();
    assert_eq!(lines.len(), cases.len(), "one answer per case");
    // VWO's e2e expectation for this case: the testing rule's variation.
    assert_eq!(lines[0]["enabled"], true);
    assert_eq!(lines[0]["variables"]["string"], "test_variation");
    assert_eq!(lines[0]["rollout"]["key"], "feature1_rolloutRule1");
    assert_eq!(lines[0]["experiment"]["key"], "feature1_testingRule1");
    assert_eq!(
        lines[1],
        serde_json::json!({"feature_key": "no_such_feature", "enabled": false, "variables": {},
        "rollout": null, "experiment": null})
    );
    assert_eq!(lines[2]["feature_key"], "feature1");
    assert!(
        lines[2]["error"].as_str().is_some_and(|e| e.contains("user id")),
        "{}",
        lines[2]
    );
    assert!(
        lines[3]["error"]
            .as_str()
            .is_some_and(|e| e.contains("line 4 is not JSON")),
        "{}",
        lines[3]
    );
    assert_eq!(lines[4]["feature_key"], "feature1");
    assert!(
        lines[4].get("enabled").is_some(),
        "a numeric id is a user id: {}",
        lines[4]
    );
}

#[test]
fn flag_refuses_a_settings_file_that_is_not_one() {
    let dir = std::env::temp_dir().join(format!("vwo-flag-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let bad = dir.join("settings.json");
    std::fs::write(&bad, r#"{"version": 1}"#).expect("write");
    let output = vwo_webhook()
        .args([
            "flag",
            "--settings",
            &bad.to_string_lossy(),
            "--feature",
            "f",
            "--user",
            "u",
        ])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("accountId"), "names the problem: {stderr}");
    let output = vwo_webhook()
        .args(["flag", "--settings", &bad.to_string_lossy()])
        .output()
        .expect("runs");
    assert_eq!(
        output.status.code(),
        Some(2),
        "feature and user are required without --cases"
    );
}

#[test]
fn flag_names_the_holdout_that_holds_the_user_out() {
    let source = e2e_settings("RolloutAndTestingSettings.json");
    let mut document: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&source).expect("fixture")).expect("JSON");
    document["holdouts"] = serde_json::json!([{
        "id": 31, "name": "spring", "segments": {}, "percentTraffic": 100, "isGlobal": true,
        "featureIds": [], "metrics": [],
    }]);
    let dir = std::env::temp_dir().join(format!("vwo-flag-holdout-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let settings = dir.join("settings.json");
    std::fs::write(&settings, document.to_string()).expect("write");
    let settings = settings.to_string_lossy().into_owned();
    let output = flag(&settings, &["--var", "price=200"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("answer      disabled (InHoldout)"), "{stdout}");
    assert!(stdout.contains("holdouts    31"), "{stdout}");
    assert!(
        stdout.contains("holdout 31 (spring): the user is held out"),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A relay configuration file in a fresh folder, removed on drop.
struct RelayFile(std::path::PathBuf);

impl RelayFile {
    fn new(name: &str, text: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("vwo-webhook-cli-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("relay.toml");
        std::fs::write(&path, text).expect("write");
        Self(path)
    }
}

impl Drop for RelayFile {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

const RELAY_TOML: &str = r#"
[[environment]]
name = "production"
account_id = "123456"
sdk_key = "sdk-top-secret"
webhook_secrets = ["hook-top-secret"]

[[environment.target]]
name = "orders"
url = "http://127.0.0.1:3000/vwo-webhook"
key = "target-top-secret"
"#;

#[test]
fn relay_check_config_names_each_environment_and_never_a_secret() {
    let file = RelayFile::new("check", RELAY_TOML);
    let output = vwo_webhook()
        .args(["relay", "--check-config", "--config"])
        .arg(&file.0)
        .output()
        .expect("runs");
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("environment production (account 123456): webhook POST /vwo-webhook/production, 1 target(s) orders"), "{stdout}");
    assert!(!stdout.contains("top-secret"), "{stdout}");

    let broken = RelayFile::new("broken", &RELAY_TOML.replace("\"123456\"", "\"not-a-number\""));
    let output = vwo_webhook()
        .args(["relay", "--check-config", "--config"])
        .arg(&broken.0)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("account_id"), "{stderr}");
    assert!(!stderr.contains("top-secret"), "{stderr}");
}

#[test]
fn relay_runs_from_the_examples_variables_and_is_ready_once_it_holds_settings() {
    let origin = serve(Router::new().route(
        "/server-side/v2-settings",
        get(|| async {
            (
                [("content-type", "application/json")],
                include_str!("../../vwo-webhook-settings/testdata/OnlyRolloutSettings.json"),
            )
        }),
    ));
    let mut child = vwo_webhook()
        .arg("relay")
        .env("VWO_ACCOUNT_ID", "123456")
        .env("VWO_SDK_KEY", "sdk-top-secret")
        .env("VWO_WEBHOOK_SECRET", "hook-top-secret")
        .env("VWO_SETTINGS_BASE_URL", format!("http://{}", origin.addr()))
        .env("VWO_WEBHOOK_ADDR", "127.0.0.1:0")
        .env("VWO_WEBHOOK_ADMIN_ADDR", "127.0.0.1:0")
        .env_remove("REDIS_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("relay starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = lines.next().expect("a line").expect("text");
    let urls: Vec<&str> = first
        .split("http://")
        .skip(1)
        .map(|rest| rest.split([',', ' ']).next().unwrap_or_default())
        .collect();
    let (public, admin) = (urls[0].to_owned(), urls[1].to_owned());
    let ok = |addr: &str, path: &str| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if http_status(addr, path) == Some(200) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    };
    assert!(ok(&admin, "/ready"), "{first}");
    assert!(ok(&public, "/server-side/v2-settings?a=123456&i=sdk-top-secret"));
    assert_eq!(
        http_status(&public, "/server-side/v2-settings?a=123456&i=other"),
        Some(401)
    );
    // What it served and refused shows in its metrics, never a key.
    let (status, metrics) = http_get(&admin, "/metrics").expect("metrics");
    assert_eq!(status, 200);
    assert!(
        metrics.contains("vwo_relay_settings_served_total{environment=\"default\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("vwo_relay_requests_refused_total{reason=\"unknown_key\"} 1"),
        "{metrics}"
    );
    assert!(!metrics.contains("top-secret"), "{metrics}");
    let _ = child.kill();
    let _ = child.wait();
}

/// The status of `GET path` on `addr`, over a plain connection.
fn http_status(addr: &str, path: &str) -> Option<u16> {
    http_get(addr, path).map(|(status, _)| status)
}

/// `GET path` on `addr`, over a plain connection: the status and the whole answer.
fn http_get(addr: &str, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let status = answer.split(' ').nth(1)?.parse().ok()?;
    Some((status, answer))
}
