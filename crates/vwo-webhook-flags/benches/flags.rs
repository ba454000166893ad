//! `get_flag`, measured beside the official Node SDK's `getFlag` on the same settings and the
//! same cases, in the same run:
//!
//! 1. VWO's MEG advanced settings (the e2e fixture), users with the variables its segments read;
//!    and the same with two holdouts that apply to every feature (Rust only: Node 1.35 knows
//!    none);
//! 2. a generated settings file with 200 features, every rule kind, segments and groups;
//! 3. compiling a settings file of about 1 MB, and the memory the compiled model holds;
//! 4. the first two again with reporting on (impressions queued, sent in batches to a local
//!    collector by the reporter's task), beside the same with reporting off.
//!
//! `cargo bench -p vwo-webhook-flags --bench flags` (or `cargo xtask bench flags`). Needs node
//! and npm for the SDK's column (installed as the differential test installs it);
//! `VWO_BENCH_RUST_ONLY=1` leaves it out.
#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "../tests/support/collector.rs"]
mod collector;
#[path = "../tests/differential/generate.rs"]
#[allow(dead_code)]
mod generate;
#[path = "../tests/support/meg.rs"]
mod meg;
#[path = "../../../tests/oracle/node.rs"]
mod node;

use std::hint::black_box;
use std::time::{Duration, Instant};

use fastrand::Rng;
use serde_json::{Value, json};
use vwo_webhook_flags::{Context, Flags, Reporter, ReportingConfig};

const CASES: usize = 5_000;

struct Case {
    feature: String,
    context: Value,
}

struct Timing {
    p50: Duration,
    p99: Duration,
    per_second: f64,
}

fn cases(rng: &mut Rng, settings: &Value, contexts: impl Fn(&mut Rng, usize) -> Value) -> Vec<Case> {
    let keys = meg::feature_keys(settings);
    (0..CASES)
        .map(|i| Case {
            feature: keys[rng.usize(0..keys.len())].clone(),
            context: contexts(rng, i),
        })
        .collect()
}

/// Times every call of `rounds` passes over the cases.
fn rust(settings: &Value, cases: &[Case], rounds: usize) -> Timing {
    timed(&Flags::from_document(settings), cases, rounds)
}

fn timed(flags: &Flags, cases: &[Case], rounds: usize) -> Timing {
    let started = Instant::now();
    let times = samples(flags, cases, rounds);
    summary(times, started.elapsed())
}

/// Every call's time over `rounds` passes (after one untimed pass).
fn samples(flags: &Flags, cases: &[Case], rounds: usize) -> Vec<Duration> {
    let contexts: Vec<Context> = cases
        .iter()
        .map(|c| Context::from_sdk_json(&c.context).expect("context"))
        .collect();
    for (case, context) in cases.iter().zip(&contexts) {
        black_box(flags.get_flag(&case.feature, context));
    }
    let mut times = Vec::with_capacity(cases.len() * rounds);
    for _ in 0..rounds {
        for (case, context) in cases.iter().zip(&contexts) {
            let t0 = Instant::now();
            black_box(flags.get_flag(black_box(&case.feature), black_box(context)));
            times.push(t0.elapsed());
        }
    }
    times
}

fn summary(mut times: Vec<Duration>, elapsed: Duration) -> Timing {
    times.sort_unstable();
    Timing {
        p50: times[times.len() / 2],
        p99: times[times.len() * 99 / 100],
        per_second: times.len() as f64 / elapsed.as_secs_f64(),
    }
}

fn node(dir: &std::path::Path, settings: &Value, cases: &[Case], rounds: usize) -> Timing {
    let input = json!({
        "settings": settings,
        "cases": cases.iter().map(|c| json!({"featureKey": c.feature, "context": c.context})).collect::<Vec<_>>(),
        "rounds": rounds,
    });
    let file = dir.join("bench-input.json");
    std::fs::write(&file, input.to_string()).expect("input");
    let output: Value = serde_json::from_slice(&node::run(dir, "bench.js", &[&file])).expect("JSON");
    let ns = |key: &str| Duration::from_nanos(output[key].as_f64().unwrap_or(0.0) as u64);
    Timing {
        p50: ns("p50_ns"),
        p99: ns("p99_ns"),
        per_second: output["per_second"].as_f64().unwrap_or(0.0),
    }
}

fn row(name: &str, rust: &Timing, node: Option<&Timing>) {
    let node_text = node.map_or("(node not installed)".to_owned(), |n| {
        format!(
            "node p50 {:>8.2?} p99 {:>8.2?} {:>10.0}/s | {:.0}x the SDK's throughput",
            n.p50,
            n.p99,
            n.per_second,
            rust.per_second / n.per_second
        )
    });
    println!(
        "{name:<28} rust p50 {:>8.2?} p99 {:>8.2?} {:>10.0}/s | {node_text}",
        rust.p50, rust.p99, rust.per_second
    );
}

/// This process's resident memory, in bytes.
fn rss() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn compile(rng: &mut Rng) {
    let mut features = 200;
    let document = loop {
        let document = generate::settings_with(rng, features);
        if document.to_string().len() >= 1_000_000 {
            break document;
        }
        features += 100;
    };
    let size = document.to_string().len();
    const COPIES: usize = 20;
    let before = rss();
    let held: Vec<Flags> = (0..COPIES).map(|_| Flags::from_document(&document)).collect();
    let per_copy = rss().saturating_sub(before) / COPIES;
    drop(black_box(held));
    let mut times = Vec::new();
    for _ in 0..30 {
        let t0 = Instant::now();
        let flags = Flags::from_document(black_box(&document));
        times.push(t0.elapsed());
        // Dropped after the timing: the figure is the compile, not the model's drop.
        drop(flags);
    }
    times.sort_unstable();
    println!(
        "compile {:.2} MB, {features} features: median {:.2?} (min {:.2?}); holds about {:.2} MB each ({COPIES} held)",
        size as f64 / 1e6,
        times[times.len() / 2],
        times[0],
        per_copy as f64 / 1e6
    );
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let rounds = if quick { 1 } else { 20 };
    let node_rounds = if quick { 1 } else { 4 };
    let mut rng = Rng::with_seed(42);
    // VWO_BENCH_RUST_ONLY=1 leaves the SDK out (for a profile of the Rust side alone).
    let oracle = if std::env::var_os("VWO_BENCH_RUST_ONLY").is_some() {
        None
    } else {
        node::install()
    };

    let meg = meg::settings();
    let meg_cases: Vec<Case> = meg::cases(&mut rng, &meg, CASES)
        .into_iter()
        .map(|(feature, context)| Case { feature, context })
        .collect();
    // The same settings with two holdouts that apply to every feature (Node 1.35 knows none:
    // Rust only).
    let meg_holdouts = meg::with_two_holdouts(&meg);
    let generated = generate::settings_with(&mut rng, 200);
    let generated_cases = cases(&mut rng, &generated, |rng, _| generate::context(rng));

    // VWO_BENCH_ONLY=meg|holdouts|generated|compile|reporting runs one part (for a profile).
    let only = std::env::var("VWO_BENCH_ONLY").ok();
    let runs = |part: &str| only.as_deref().is_none_or(|o| o == part);
    for (part, name, settings, cases) in [
        ("meg", "meg advanced", &meg, &meg_cases),
        (
            "generated",
            "200 generated features",
            &generated,
            &generated_cases,
        ),
    ] {
        if !runs(part) {
            continue;
        }
        let ours = rust(settings, cases, rounds);
        let theirs = oracle
            .as_deref()
            .map(|dir| node(dir, settings, cases, node_rounds));
        row(name, &ours, theirs.as_ref());
    }
    if runs("holdouts") {
        row(
            "meg advanced, 2 holdouts",
            &rust(&meg_holdouts, &meg_cases, rounds),
            None,
        );
    }
    if runs("compile") {
        compile(&mut rng);
    }
    if runs("reporting") {
        reporting(&meg, &meg_cases, rounds);
        reporting(&generated, &generated_cases, rounds);
    }
}

/// `get_flag` with reporting off, then on (the SDK's default batching, sent to a local
/// collector), alternated so drift hits both the same.
fn reporting(settings: &Value, cases: &[Case], rounds: usize) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let collector = runtime.block_on(collector::Collector::sink());
    let reporter = runtime
        .block_on(async {
            Reporter::start(
                ReportingConfig::new("123456", vwo_webhook_settings::SdkKey::new("bench-key"))
                    .base_url(collector.url()),
            )
        })
        .expect("reporter");
    let off = Flags::from_document(settings);
    let on = Flags::builder()
        .reporter(reporter.clone())
        .document(settings)
        .build();
    let (mut off_times, mut on_times) = (Vec::new(), Vec::new());
    let (mut off_elapsed, mut on_elapsed) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..rounds.max(2) {
        let started = Instant::now();
        off_times.extend(samples(&off, cases, 1));
        off_elapsed += started.elapsed();
        let started = Instant::now();
        on_times.extend(samples(&on, cases, 1));
        on_elapsed += started.elapsed();
    }
    let (off, on) = (summary(off_times, off_elapsed), summary(on_times, on_elapsed));
    runtime.block_on(reporter.flush());
    let stats = reporter.stats();
    println!(
        "reporting off / on          p50 {:>8.2?} / {:>8.2?} ({:+.1}%), p99 {:>8.2?} / {:>8.2?}, {:>8.0}/s / {:>8.0}/s; {} impressions sent in {} requests, {} dropped",
        off.p50,
        on.p50,
        (on.p50.as_secs_f64() / off.p50.as_secs_f64() - 1.0) * 100.0,
        off.p99,
        on.p99,
        off.per_second,
        on.per_second,
        stats.sent,
        collector.requests().len(),
        stats.dropped_overflow,
    );
    runtime.block_on(reporter.shutdown());
}
