//! `vwo-webhook check`: the conformance suite's black-box checks against any running endpoint,
//! in any language: the same implementation as `cargo xtask conformance --url`.

use clap::{Parser, ValueEnum};
use vwo_webhook::DEFAULT_BODY_LIMIT;
use vwo_webhook_conformance::blackbox::{CheckResult, Target, run_checks};

use crate::style::{self, paint};
use crate::{Failed, Outcome};

/// Check a running webhook endpoint against the conformance suite's black-box cases.
///
/// Sends real deliveries (accepted ones trigger real refreshes on the target) and checks the
/// answers: authentication that fails closed, 405 for other methods, 413 before reading an
/// oversized body, 400 naming the field, JSON answers. Exits 0 when every check passes, 1
/// otherwise. Plain HTTP only (the checks send stalled and unterminated bodies).
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
    let failed = results.iter().filter(|r| r.failure.is_some()).count();
    match args.format {
        Format::Table => print_table(&results),
        Format::Json => println!("{}", json(&results)),
    }
    if failed == 0 {
        Ok(())
    } else {
        Err(Failed(String::new()))
    }
}

fn print_table(results: &[CheckResult]) {
    let width = results.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    anstream::println!("{:width$}  {:>15}", "case", "target");
    anstream::println!("{}", "-".repeat(width + 17));
    for result in results {
        let cell = match result.failure {
            None => paint(style::OK, format!("{:>15}", "pass")),
            Some(_) => paint(style::ERROR, format!("{:>15}", "FAIL")),
        };
        anstream::println!("{:width$}  {cell}", result.name);
    }
    for result in results {
        if let Some(failure) = &result.failure {
            anstream::println!("\n---- {} ----\n{failure}", paint(style::ERROR, result.name));
        }
    }
    let failed = results.iter().filter(|r| r.failure.is_some()).count();
    anstream::println!(
        "\nconformance: {} passed, {failed} failed",
        results.len() - failed
    );
}

fn json(results: &[CheckResult]) -> serde_json::Value {
    let failed = results.iter().filter(|r| r.failure.is_some()).count();
    serde_json::json!({
        "passed": results.len() - failed,
        "failed": failed,
        "checks": results
            .iter()
            .map(|r| serde_json::json!({"case": r.name, "passed": r.failure.is_none(), "failure": r.failure}))
            .collect::<Vec<_>>(),
    })
}
