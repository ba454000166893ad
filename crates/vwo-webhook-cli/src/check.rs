//! `vwo-webhook check`: the conformance suite's black-box checks against any running endpoint,
//! in any language: the same implementation as `cargo xtask conformance --url`.

use clap::{Parser, ValueEnum};
use vwo_webhook::DEFAULT_BODY_LIMIT;
use vwo_webhook_conformance::Level;
use vwo_webhook_conformance::blackbox::{CheckResult, Target, run_checks};

use crate::style::{self, paint};
use crate::{Failed, Outcome};

/// Check a running webhook endpoint against the conformance suite's black-box cases.
///
/// Sends real deliveries (accepted ones trigger real refreshes on the target) and checks the
/// answers: authentication that fails closed, 405 for other methods, 413 before reading an
/// oversized body, 400 naming the field, JSON answers. Each case is `required` (what VWO's
/// contract and the security promise need) or `hardening` (defence against hostile clients:
/// 100-continue, huge declared lengths, keep-alive after a refusal). Exits 1 when a required
/// check fails; a failed hardening check is a warning, with its reason, unless --strict.
/// Plain HTTP only (the checks send stalled and unterminated bodies).
///
/// Examples:
///   vwo-webhook check http://127.0.0.1:4000/vwo-webhook --secret s3cret
///   VWO_WEBHOOK_SECRET=s3cret vwo-webhook check http://10.0.0.5:8080/hooks/vwo --format json
#[derive(Debug, Parser)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// The webhook's full URL (`http://host[:port]/path`).
    url: String,
    /// The key the endpoint accepts in `x-vwo-auth`.
    #[arg(long, env = "VWO_WEBHOOK_SECRET", hide_env_values = true)]
    secret: String,
    /// The endpoint's body limit, in bytes.
    #[arg(long, default_value_t = DEFAULT_BODY_LIMIT as u64, value_parser = clap::value_parser!(u64).range(1..))]
    body_limit: u64,
    /// How to print the results.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Fail on hardening checks too, not only on required ones.
    #[arg(long)]
    strict: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    /// One row per case, then the failures explained.
    Table,
    /// One JSON document, for CI.
    Json,
}

pub(crate) fn run(args: &Args) -> Outcome {
    let limit =
        usize::try_from(args.body_limit).map_err(|_| Failed("--body-limit is too large".to_owned()))?;
    let target = Target::from_url(&args.url, &args.secret, limit).map_err(Failed)?;
    // A failing check panics inside the suite; its message is reported below, not at once.
    std::panic::set_hook(Box::new(|_| {}));
    let results = run_checks(&target).map_err(Failed)?;
    let _ = std::panic::take_hook();
    let counts = Counts::of(&results);
    match args.format {
        Format::Table => print_table(&results, &counts, args.strict),
        Format::Json => println!("{}", json(&results, &counts, args.strict)),
    }
    if counts.required_failed > 0 || (args.strict && counts.hardening_failed > 0) {
        Err(Failed(String::new()))
    } else {
        Ok(())
    }
}

/// How the checks ended, by level.
struct Counts {
    passed: usize,
    required_failed: usize,
    hardening_failed: usize,
}

impl Counts {
    fn of(results: &[CheckResult]) -> Self {
        let failed = |level| {
            results
                .iter()
                .filter(|r| r.failure.is_some() && r.level == level)
                .count()
        };
        Self {
            passed: results.iter().filter(|r| r.failure.is_none()).count(),
            required_failed: failed(Level::Required),
            hardening_failed: failed(Level::Hardening),
        }
    }
}

fn print_table(results: &[CheckResult], counts: &Counts, strict: bool) {
    let width = results.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    anstream::println!("{:width$}  {:>9}  {:>8}", "case", "level", "target");
    anstream::println!("{}", "-".repeat(width + 21));
    for result in results {
        let cell = match (&result.failure, result.level, strict) {
            (None, _, _) => paint(style::OK, format!("{:>8}", "pass")),
            (Some(_), Level::Hardening, false) => paint(style::WARN, format!("{:>8}", "warn")),
            (Some(_), _, _) => paint(style::ERROR, format!("{:>8}", "FAIL")),
        };
        anstream::println!("{:width$}  {:>9}  {cell}", result.name, result.level.as_str());
    }
    for result in results {
        if let Some(failure) = &result.failure {
            let (style, why) = match (result.level, Level::why(result.name)) {
                (Level::Hardening, Some(why)) => (
                    if strict { style::ERROR } else { style::WARN },
                    format!("\n(hardening: {why})"),
                ),
                _ => (style::ERROR, String::new()),
            };
            anstream::println!("\n---- {} ----\n{failure}{why}", paint(style, result.name));
        }
    }
    anstream::println!(
        "\nconformance: {} passed, {} failed (required), {} {} (hardening)",
        counts.passed,
        counts.required_failed,
        counts.hardening_failed,
        if strict { "failed" } else { "warnings" },
    );
}

fn json(results: &[CheckResult], counts: &Counts, strict: bool) -> serde_json::Value {
    serde_json::json!({
        "passed": counts.passed,
        "failed": counts.required_failed + if strict { counts.hardening_failed } else { 0 },
        "warnings": if strict { 0 } else { counts.hardening_failed },
        "strict": strict,
        "checks": results
            .iter()
            .map(|r| serde_json::json!({
                "case": r.name,
                "level": r.level.as_str(),
                "passed": r.failure.is_none(),
                "failure": r.failure,
                "why": Level::why(r.name),
            }))
            .collect::<Vec<_>>(),
    })
}
