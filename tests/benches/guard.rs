//! The speed guards' probes: each runs one hot path a fixed number of times, with its setup
//! outside [`measured`], so that callgrind counts the path's instructions alone
//! (`--toggle-collect=guard::measured`). Instruction counts repeat between runs where wall-clock
//! times on this 2-core machine move 30-60%, so `cargo xtask bench --check` compares them with
//! committed baselines and fails on a growth of more than 5%.
//!
//! `guard --list` names the probes; `guard PROBE` runs one (natively, it only runs; the counts
//! come from running it under callgrind, which the xtask does).
#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "../../crates/vwo-webhook-flags/tests/differential/generate.rs"]
#[allow(dead_code, unreachable_pub)]
mod generate;
#[path = "../../crates/vwo-webhook-flags/tests/support/meg.rs"]
mod meg;

use std::hint::black_box;
use std::process::ExitCode;

use fastrand::Rng;
use serde_json::{Value, json};
use vwo_webhook::{AckPolicy, Keyring, Receiver, RefreshError, Trigger};
use vwo_webhook_conformance::fixtures::{DOCUMENTED, SECRET};
use vwo_webhook_flags::{Context, Flags, Reporter, ReportingConfig};

/// Requests or decisions per probe: enough that a probe's own setup inside the measured
/// function (a runtime's first poll) is noise.
const REQUESTS: usize = 1_000;
const DECISIONS: usize = 2_000;
const PATH: &str = "/vwo-webhook";
const WRONG_KEY: &str = "forged-key-forged-key-forged-key";

/// The one function callgrind counts: its name is what the xtask toggles on.
#[inline(never)]
fn measured(work: &mut dyn FnMut()) {
    work();
}

const PROBES: &[(&str, fn())] = &[
    ("core_accepted", core_accepted),
    ("core_refused", core_refused),
    ("tower_refused", tower_refused),
    ("axum_refused", axum_refused),
    ("actix_refused", actix_refused),
    ("rocket_refused", rocket_refused),
    ("poem_refused", poem_refused),
    ("flags_meg", flags_meg),
    ("flags_meg_holdouts", flags_meg_holdouts),
    ("flags_meg_reporting", flags_meg_reporting),
    ("flags_compile_1mb", flags_compile_1mb),
    ("settings_validate_unlinked", settings_validate_unlinked),
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    match args.as_slice() {
        [flag] if flag == "--list" => {
            for (name, _) in PROBES {
                println!("{name}");
            }
            ExitCode::SUCCESS
        }
        [name] => match PROBES.iter().find(|(probe, _)| probe == name) {
            Some((_, probe)) => {
                probe();
                ExitCode::SUCCESS
            }
            None => {
                eprintln!("guard: no probe {name:?} (see --list)");
                ExitCode::FAILURE
            }
        },
        // `cargo bench` without arguments: run every probe once, natively, as a smoke test.
        [] => {
            for (_, probe) in PROBES {
                probe();
            }
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("usage: guard [--list | PROBE]");
            ExitCode::FAILURE
        }
    }
}

fn receiver(ack: AckPolicy) -> Receiver {
    Receiver::builder(|_: Trigger| async { Ok::<(), RefreshError>(()) })
        .ack_policy(ack)
        .keyring(Keyring::from_comma_separated(SECRET).expect("key"))
        .build()
        .expect("receiver")
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// The core alone: verify, parse and acknowledge the documented notice (202 with the
/// immediate ack policy, so no refresh is waited for).
fn core_accepted() {
    let runtime = current_thread();
    let receiver = receiver(AckPolicy::Immediate);
    let headers: [(&str, &[u8]); 2] = [
        ("content-type", b"application/json"),
        ("x-vwo-auth", SECRET.as_bytes()),
    ];
    runtime.block_on(async {
        measured(&mut || {
            for _ in 0..REQUESTS {
                let answer = futures_ready(receiver.handle_buffered("POST", &headers, DOCUMENTED.as_bytes()));
                assert_eq!(black_box(answer).status(), 202);
            }
        });
    });
}

/// The core's answer to a forged delivery: what a flood costs at least.
fn core_refused() {
    let runtime = current_thread();
    let receiver = receiver(AckPolicy::default());
    let headers: [(&str, &[u8]); 2] = [
        ("content-type", b"application/json"),
        ("x-vwo-auth", WRONG_KEY.as_bytes()),
    ];
    runtime.block_on(async {
        measured(&mut || {
            for _ in 0..REQUESTS {
                let answer = futures_ready(receiver.handle_buffered("POST", &headers, DOCUMENTED.as_bytes()));
                assert_eq!(black_box(answer).status(), 401);
            }
        });
    });
}

/// Polls a future that must be ready at once (the core answers a refusal, and an immediate
/// acknowledgement, without waiting).
fn futures_ready<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => panic!("the core's answer was not immediate"),
    }
}

fn forged_http_request() -> http::Request<http_body_util::Full<bytes::Bytes>> {
    http::Request::post(PATH)
        .header("content-type", "application/json")
        .header("x-vwo-auth", WRONG_KEY)
        .body(http_body_util::Full::new(bytes::Bytes::from_static(
            DOCUMENTED.as_bytes(),
        )))
        .expect("request")
}

fn tower_refused() {
    let runtime = current_thread();
    let receiver = receiver(AckPolicy::default());
    let mut requests: Vec<_> = (0..REQUESTS).map(|_| forged_http_request()).collect();
    measured(&mut || {
        runtime.block_on(async {
            for request in requests.drain(..) {
                let response = vwo_webhook_tower::handle(&receiver, request).await;
                assert_eq!(black_box(response).status(), 401);
            }
        })
    });
}

fn axum_refused() {
    use tower::ServiceExt as _;
    let runtime = current_thread();
    let app: axum::Router = vwo_webhook_axum::router(receiver(AckPolicy::default()));
    let mut requests: Vec<_> = (0..REQUESTS)
        .map(|_| forged_http_request().map(axum::body::Body::new))
        .collect();
    measured(&mut || {
        runtime.block_on(async {
            for request in requests.drain(..) {
                let response = app.clone().oneshot(request).await.expect("infallible");
                assert_eq!(black_box(response).status(), 401);
            }
        })
    });
}

fn actix_refused() {
    use actix_web::test;
    let system = actix_web::rt::System::new();
    let app = system.block_on(test::init_service(
        actix_web::App::new().service(vwo_webhook_actix::service(receiver(AckPolicy::default()))),
    ));
    let mut requests: Vec<_> = (0..REQUESTS)
        .map(|_| {
            test::TestRequest::post()
                .uri(PATH)
                .insert_header(("content-type", "application/json"))
                .insert_header(("x-vwo-auth", WRONG_KEY))
                .set_payload(DOCUMENTED)
                .to_request()
        })
        .collect();
    measured(&mut || {
        system.block_on(async {
            for request in requests.drain(..) {
                let response = test::call_service(&app, request).await;
                assert_eq!(black_box(response).status(), 401);
            }
        })
    });
}

fn rocket_refused() {
    use rocket::http::{ContentType, Header};
    use rocket::local::asynchronous::Client;
    let runtime = current_thread();
    let rocket = rocket::build()
        .configure(rocket::Config {
            log_level: rocket::config::LogLevel::Off,
            ..rocket::Config::debug_default()
        })
        .attach(vwo_webhook_rocket::fairing(receiver(AckPolicy::default())));
    let client = runtime.block_on(Client::untracked(rocket)).expect("rocket");
    measured(&mut || {
        runtime.block_on(async {
            for _ in 0..REQUESTS {
                let response = client
                    .post(PATH)
                    .header(ContentType::JSON)
                    .header(Header::new("x-vwo-auth", WRONG_KEY))
                    .body(DOCUMENTED)
                    .dispatch()
                    .await;
                assert_eq!(black_box(response).status().code, 401);
            }
        })
    });
}

fn poem_refused() {
    use poem::Endpoint as _;
    let runtime = current_thread();
    let route = vwo_webhook_poem::mount(poem::Route::new(), receiver(AckPolicy::default()));
    let mut requests: Vec<_> = (0..REQUESTS)
        .map(|_| {
            poem::Request::builder()
                .method(poem::http::Method::POST)
                .uri(poem::http::Uri::from_static(PATH))
                .header("content-type", "application/json")
                .header("x-vwo-auth", WRONG_KEY)
                .body(DOCUMENTED)
        })
        .collect();
    measured(&mut || {
        runtime.block_on(async {
            for request in requests.drain(..) {
                let response = route.get_response(request).await;
                assert_eq!(black_box(response).status(), 401);
            }
        })
    });
}

/// VWO's MEG settings and the users the flags benchmark decides on them (seed 42).
fn meg_cases() -> (Value, Vec<(String, Context)>) {
    let settings = meg::settings();
    let cases = meg::cases(&mut Rng::with_seed(42), &settings, DECISIONS)
        .into_iter()
        .map(|(feature, context)| (feature, Context::from_sdk_json(&context).expect("context")))
        .collect();
    (settings, cases)
}

fn decide_all(flags: &Flags, cases: &[(String, Context)]) {
    // One pass before the measured one: the first decisions warm the flags' caches.
    for (feature, context) in cases {
        black_box(flags.get_flag(feature, context));
    }
    measured(&mut || {
        for (feature, context) in cases {
            black_box(flags.get_flag(black_box(feature), black_box(context)));
        }
    });
}

fn flags_meg() {
    let (settings, cases) = meg_cases();
    decide_all(&Flags::from_document(&settings), &cases);
}

/// The same with two holdouts that apply to every feature: what a decision pays for them
/// (the `get_flag` target is met with two holdouts applicable).
fn flags_meg_holdouts() {
    let (settings, cases) = meg_cases();
    decide_all(&Flags::from_document(&meg::with_two_holdouts(&settings)), &cases);
}

/// The same with a reporter: what a decision pays to queue its impressions. The runtime is not
/// driven while the decisions run, so nothing is sent: only queueing is counted.
fn flags_meg_reporting() {
    let (settings, cases) = meg_cases();
    let runtime = current_thread();
    let _entered = runtime.enter();
    let reporter = Reporter::start(
        ReportingConfig::new("123456", vwo_webhook_settings::SdkKey::new("guard-key"))
            .base_url("http://127.0.0.1:9")
            .capacity(100_000),
    )
    .expect("reporter");
    decide_all(
        &Flags::builder().reporter(reporter).document(&settings).build(),
        &cases,
    );
}

/// Compiling a generated settings file of about 1 MB (seed 7).
fn flags_compile_1mb() {
    let mut rng = Rng::with_seed(7);
    let mut features = 200;
    let document = loop {
        let document = generate::settings_with(&mut rng, features);
        if document.to_string().len() >= 1_000_000 {
            break document;
        }
        features += 100;
    };
    let mut compiled = None;
    // The model is dropped after the count: the figure is the compile.
    measured(&mut || compiled = Some(Flags::from_document(black_box(&document))));
    drop(black_box(compiled));
}

/// Validating a document whose 2,000 rules link to none of its 2,000 campaigns: linear in the
/// document (a search of every campaign per rule made 10,000 x 10,000 take 40 s).
fn settings_validate_unlinked() {
    const COUNT: usize = 2_000;
    let campaigns: Vec<Value> = (0..COUNT)
        .map(|i| {
            json!({"id": i, "key": format!("c{i}"), "name": format!("c{i}"), "status": "RUNNING", "type": "FLAG_ROLLOUT",
                "variations": [{"id": 1, "name": "v", "weight": 100, "variables": []}], "segments": {}})
        })
        .collect();
    let rules: Vec<Value> = (0..COUNT)
        .map(|i| json!({"type": "FLAG_ROLLOUT", "ruleKey": format!("r{i}"), "campaignId": COUNT + i, "variationId": 1}))
        .collect();
    let document = json!({
        "version": 1, "accountId": 123456, "sdkKey": "guard",
        "campaigns": campaigns,
        "features": [{"id": 1, "key": "f", "name": "f", "type": "FEATURE_FLAG", "status": "ON", "rules": rules, "metrics": [], "impactCampaign": {}}],
    });
    let mut checked = document.clone();
    vwo_webhook_settings::validate(&mut checked, vwo_webhook_settings::Check::Update)
        .expect("a valid document");
    let mut copy = document;
    measured(&mut || {
        black_box(vwo_webhook_settings::validate(
            &mut copy,
            vwo_webhook_settings::Check::Update,
        ))
        .expect("valid");
    });
}
