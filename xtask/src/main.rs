//! Project automation, run as `cargo xtask <command>` (see `.cargo/config.toml`).
//!
//! - `conformance`: runs every adapter's conformance suite and prints one row per case and
//!   one column per adapter; exits non-zero on any failure or missing case.
//! - `conformance --url URL --secret S [--body-limit BYTES]`: runs the black-box subset
//!   against any running receiver and prints the same table with one column.
//! - `bench`: runs the criterion benchmarks.
//!
//! No dependencies, so it starts in seconds on a warm build.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::process::{Command, ExitCode};

/// (column, package, test-name prefix inside that package's `conformance` test target)
const ADAPTERS: &[(&str, &str, &str)] = &[
    ("tower", "vwo-webhook-tower", ""),
    ("axum", "vwo-webhook-axum", "router::"),
    ("axum-extractor", "vwo-webhook-axum", "extractor::"),
    ("actix", "vwo-webhook-actix", "service::"),
    ("actix-extractor", "vwo-webhook-actix", "extractor::"),
    ("rocket", "vwo-webhook-rocket", ""),
];

const USAGE: &str =
    "usage: cargo xtask conformance [--url URL --secret S [--body-limit BYTES]] | cargo xtask bench";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("conformance") if args.len() == 1 => conformance(),
        Some("conformance") => conformance_url(&args[1..]),
        Some("bench") => run(cargo().args(["bench", "-p", "vwo-webhook", "-p", "vwo-webhook-settings"])),
        _ => Err(USAGE.to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
}

fn run(command: &mut Command) -> Result<(), String> {
    let status = command
        .status()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{command:?} failed"))
    }
}

/// Case name -> adapter column -> passed.
type Matrix<'a> = BTreeMap<String, BTreeMap<&'a str, bool>>;

fn conformance() -> Result<(), String> {
    let mut order: Vec<String> = Vec::new();
    let mut matrix = Matrix::new();
    let mut packages: Vec<&str> = ADAPTERS.iter().map(|(_, package, _)| *package).collect();
    packages.dedup();
    for package in packages {
        eprintln!("xtask: running the conformance suite of {package}");
        let output = cargo()
            .args([
                "test",
                "--locked",
                "-p",
                package,
                "--test",
                "conformance",
                "--",
                "--color",
                "never",
            ])
            .output()
            .map_err(|e| format!("could not run cargo: {e}"))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        for line in stdout.lines() {
            let Some((name, passed)) = parse_result(line) else {
                continue;
            };
            for (column, adapter_package, prefix) in ADAPTERS {
                if *adapter_package != package {
                    continue;
                }
                let Some(case) = name.strip_prefix(prefix) else {
                    continue;
                };
                if case.contains("::") {
                    continue;
                }
                if !matrix.contains_key(case) {
                    order.push(case.to_owned());
                }
                matrix.entry(case.to_owned()).or_default().insert(column, passed);
            }
        }
        if !output.status.success() && stdout.lines().all(|l| parse_result(l).is_none()) {
            eprint!("{}", String::from_utf8_lossy(&output.stderr));
            return Err(format!("the conformance tests of {package} did not run"));
        }
    }
    order.sort();
    let columns: Vec<&str> = ADAPTERS.iter().map(|(column, _, _)| *column).collect();
    print_table(&columns, &order, &matrix)
}

/// The black-box subset against a running receiver, through the conformance crate's runner
/// (the secret goes to it in the environment, not on its command line).
fn conformance_url(args: &[String]) -> Result<(), String> {
    let mut forwarded: Vec<&str> = Vec::new();
    let mut secret = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let value = rest.next().ok_or(format!("{arg} needs a value\n{USAGE}"))?;
        match arg.as_str() {
            "--secret" => secret = Some(value),
            "--url" | "--body-limit" => forwarded.extend([arg.as_str(), value.as_str()]),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let secret = secret.ok_or(format!("--secret is required\n{USAGE}"))?;
    eprintln!("xtask: running the black-box conformance checks");
    let output = cargo()
        .args(["run", "-q", "--locked", "-p", "vwo-webhook-conformance", "--bin"])
        .arg("vwo-webhook-conformance")
        .arg("--")
        .args(&forwarded)
        .env("VWO_CONFORMANCE_SECRET", secret)
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut order = Vec::new();
    let mut matrix = Matrix::new();
    for (name, passed) in stdout.lines().filter_map(parse_result) {
        order.push(name.to_owned());
        matrix
            .entry(name.to_owned())
            .or_default()
            .insert("target", passed);
    }
    if order.is_empty() {
        return Err("the black-box checks did not run".to_owned());
    }
    print_table(&["target"], &order, &matrix)
}

/// `test name ... ok` / `test name ... FAILED`
fn parse_result(line: &str) -> Option<(&str, bool)> {
    let rest = line.strip_prefix("test ")?;
    let (name, verdict) = rest.rsplit_once(" ... ")?;
    match verdict.trim() {
        "ok" => Some((name, true)),
        "FAILED" => Some((name, false)),
        _ => None,
    }
}

fn print_table(columns: &[&str], order: &[String], matrix: &Matrix<'_>) -> Result<(), String> {
    let width = order.iter().map(String::len).max().unwrap_or(4).max(4);
    let mut header = format!("{:width$}", "case");
    for column in columns {
        header.push_str(&format!("  {column:>15}"));
    }
    println!("{header}");
    println!("{}", "-".repeat(header.len()));
    let (mut passed, mut failed) = (0usize, 0usize);
    for case in order {
        let mut row = format!("{case:width$}");
        for column in columns {
            let cell = match matrix.get(case).and_then(|m| m.get(column)) {
                Some(true) => {
                    passed += 1;
                    "pass"
                }
                Some(false) => {
                    failed += 1;
                    "FAIL"
                }
                None => {
                    failed += 1;
                    "missing"
                }
            };
            row.push_str(&format!("  {cell:>15}"));
        }
        println!("{row}");
    }
    println!("conformance: {passed} passed, {failed} failed");
    if failed == 0 {
        Ok(())
    } else {
        Err(format!("{failed} conformance results failed or missing"))
    }
}
