//! Project automation, run as `cargo xtask <command>` (see `.cargo/config.toml`).
//!
//! - `conformance`: runs every adapter's conformance suite and prints one row per case and
//!   one column per adapter; exits non-zero on any failure or missing case.
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
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("conformance") => conformance(),
        Some("bench") => run(cargo().args(["bench", "-p", "vwo-webhook"])),
        _ => Err("usage: cargo xtask <conformance | bench>".to_owned()),
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
type Matrix = BTreeMap<String, BTreeMap<&'static str, bool>>;

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
    print_table(&order, &matrix)
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

fn print_table(order: &[String], matrix: &Matrix) -> Result<(), String> {
    let width = order.iter().map(String::len).max().unwrap_or(4).max(4);
    let mut header = format!("{:width$}", "case");
    for (column, _, _) in ADAPTERS {
        header.push_str(&format!("  {column:>14}"));
    }
    println!("{header}");
    println!("{}", "-".repeat(header.len()));
    let (mut passed, mut failed) = (0usize, 0usize);
    for case in order {
        let mut row = format!("{case:width$}");
        for (column, _, _) in ADAPTERS {
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
            row.push_str(&format!("  {cell:>14}"));
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
