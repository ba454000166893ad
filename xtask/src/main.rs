//! Project automation, run as `cargo xtask <command>` (see `.cargo/config.toml`).
//!
//! - `conformance`: runs every adapter's conformance suite and prints one row per case and
//!   one column per adapter; exits non-zero on any failure or missing case.
//! - `conformance --url URL --secret S [--body-limit BYTES] [--strict]`: runs the black-box subset
//!   against any running receiver and prints the same table with one column.
//! - `package`: `cargo package` for every publishable crate under `crates/` (those whose
//!   manifest does not say `publish = false`), which also builds each from its package.
//! - `bench`: runs the benchmarks (criterion's, the burst and adapter tables of
//!   `tests/benches`, the flags table); `bench adapters` only the adapter-overhead table;
//!   `bench replicas` only the fleet on Redis (fetches per burst, time until every replica
//!   serves a change); `bench flags` only `get_flag` beside the Node SDK's `getFlag`;
//!   `bench relay` the relay (settings served per second against bare hyper, webhook to the
//!   next decision in 10 SDK processes, events forwarded per second);
//!   `bench memory` the live heap of a 16 MB settings file installed 20 times (`--check`
//!   fails past its bound or on growth).
//! - `bench --check`: the speed guards: every probe of `tests/benches/guard.rs` counted by
//!   callgrind and compared with `xtask/guard-baselines.txt`; fails on a growth over 5%.
//!   `bench --update-baselines` rewrites the baselines from a run (commit it with the reason).
//!
//! - `soak [--minutes N]`: the fleet soak (default 3 minutes): four replica processes on
//!   Redis through faults, key rotation and bursts, judged by its invariants
//!   (`tests/soak.rs`); prints a table of its figures.
//!
//! No dependencies, so it starts in seconds on a warm build.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod guard;

use std::collections::BTreeMap;
use std::process::{Command, ExitCode};

const USAGE: &str = "usage: cargo xtask conformance [--url URL --secret S [--body-limit BYTES] [--strict]] | cargo xtask package | cargo xtask bench [adapters | replicas | flags | relay | memory [--check] | --check | --update-baselines] | cargo xtask soak [--minutes N]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("conformance") if args.len() == 1 => conformance(),
        Some("conformance") => conformance_url(&args[1..]),
        Some("package") => package(),
        Some("soak") => soak(&args[1..]),
        Some("bench") if args.get(1).is_some_and(|a| a == "adapters" || a == "replicas") => run(cargo()
            .args([
                "bench",
                "--locked",
                "-p",
                "vwo-webhook-tests",
                "--bench",
                &args[1],
            ])),
        Some("bench") if args.get(1).is_some_and(|a| a == "memory") => {
            let mut command = cargo();
            command.args([
                "bench",
                "--locked",
                "--profile",
                "guard",
                "-p",
                "vwo-webhook-tests",
                "--bench",
                "memory",
                "--",
            ]);
            command.args(&args[2..]);
            run(&mut command)
        }
        Some("bench") if args.get(1).is_some_and(|a| a == "--check") => guard::run(false),
        Some("bench") if args.get(1).is_some_and(|a| a == "--update-baselines") => guard::run(true),
        Some("bench") if args.get(1).is_some_and(|a| a == "relay") => {
            run(cargo().args(["bench", "--locked", "-p", "vwo-webhook-relay", "--bench", "relay"]))
        }
        Some("bench") if args.get(1).is_some_and(|a| a == "flags") => {
            run(cargo().args(["bench", "--locked", "-p", "vwo-webhook-flags", "--bench", "flags"]))
        }
        Some("bench") => run(cargo().args([
            "bench",
            "-p",
            "vwo-webhook",
            "-p",
            "vwo-webhook-flags",
            "-p",
            "vwo-webhook-settings",
            "-p",
            "vwo-webhook-relay",
            "-p",
            "vwo-webhook-tests",
        ])),
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

/// Runs the soak for `--minutes N` (default 3).
fn soak(args: &[String]) -> Result<(), String> {
    let minutes = match args {
        [] => "3",
        [flag, minutes] if flag == "--minutes" && minutes.parse::<f64>().is_ok_and(|m| m > 0.0) => minutes,
        _ => return Err(USAGE.to_owned()),
    };
    run(cargo().args([
        "test",
        "--locked",
        "-p",
        "vwo-webhook-tests",
        "--test",
        "soak",
        "--",
        "--minutes",
        minutes,
    ]))
}

/// Packages (and so builds from the packaged sources) every crate under `crates/` that can be
/// published: each one whose manifest does not say `publish = false`.
fn package() -> Result<(), String> {
    let crates = crates_dir();
    let entries = std::fs::read_dir(&crates).map_err(|e| format!("cannot list {}: {e}", crates.display()))?;
    let mut publishable = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let Ok(manifest) = std::fs::read_to_string(entry.path().join("Cargo.toml")) else {
            continue;
        };
        if !manifest
            .lines()
            .any(|line| line.replace(' ', "") == "publish=false")
        {
            publishable.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    publishable.sort();
    forget_verified_packages(&publishable)?;
    eprintln!("xtask: packaging {}", publishable.join(", "));
    let mut command = cargo();
    command.args(["package", "--locked", "--allow-dirty"]);
    // Each package builds as a workspace of its own, without the root manifest's profiles:
    // given the same debug settings (repeated from there), it reuses the dependencies `cargo
    // test` built instead of building them all again with full debug info (a clean clone's
    // CI compiles 142 crates here instead of about 400).
    command.args([
        "--config",
        "profile.dev.debug=\"line-tables-only\"",
        "--config",
        "profile.dev.package.\"*\".debug=false",
    ]);
    for package in &publishable {
        command.args(["-p", package]);
    }
    run(&mut command)
}

/// `cargo package` verifies each crate against the others through a local registry, which
/// cargo unpacks into its home once per path and version: a rerun would build the sources of
/// the last run (same version, older code) instead of these. Removes those unpacked copies of
/// our crates, and nothing else.
fn forget_verified_packages(packages: &[String]) -> Result<(), String> {
    let home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| std::path::Path::new(&home).join(".cargo")));
    let Some(sources) = home.map(|home| home.join("registry/src")) else {
        return Ok(());
    };
    let Ok(registries) = std::fs::read_dir(&sources) else {
        return Ok(());
    };
    // Local registries are unpacked under `-<hash>`; crates.io's under `index.crates.io-<hash>`.
    for registry in registries.filter_map(Result::ok) {
        if !registry.file_name().to_string_lossy().starts_with('-') {
            continue;
        }
        let Ok(unpacked) = std::fs::read_dir(registry.path()) else {
            continue;
        };
        for copy in unpacked.filter_map(Result::ok) {
            let name = copy.file_name().to_string_lossy().into_owned();
            let ours = packages.iter().any(|p| {
                name.strip_prefix(p.as_str()).is_some_and(|rest| {
                    rest.starts_with('-') && rest[1..].starts_with(|c: char| c.is_ascii_digit())
                })
            });
            if ours {
                std::fs::remove_dir_all(copy.path())
                    .map_err(|e| format!("cannot clear {}: {e}", copy.path().display()))?;
            }
        }
    }
    Ok(())
}

fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn crates_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates")
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

/// Case name -> adapter column -> result.
type Matrix = BTreeMap<String, BTreeMap<String, Cell>>;

/// One case on one column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cell {
    Pass,
    Fail,
    /// Fails because of the framework itself, as documented (and checked to still fail).
    Limit,
}

/// Every package with a `tests/conformance.rs`: the adapters. Their folder name is their
/// package name (docs/architecture.md).
fn adapter_packages() -> Result<Vec<String>, String> {
    let crates = crates_dir();
    let entries = std::fs::read_dir(&crates).map_err(|e| format!("cannot list {}: {e}", crates.display()))?;
    let mut packages: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|entry| entry.path().join("tests/conformance.rs").is_file())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    packages.sort();
    Ok(packages)
}

/// Runs every adapter's conformance tests. Each `conformance_suite!(column => Harness)` puts
/// its cases in a module named after its column, so a test `axum_extractor::rejects_empty_body`
/// is the case `rejects_empty_body` in the column `axum-extractor`.
fn conformance() -> Result<(), String> {
    let mut columns: Vec<String> = Vec::new();
    let mut cases: Vec<String> = Vec::new();
    let mut matrix = Matrix::new();
    for package in adapter_packages()? {
        eprintln!("xtask: running the conformance suite of {package}");
        let output = cargo()
            .args(["test", "--locked", "-p", &package, "--test", "conformance", "--"])
            .args(["--color", "never", "--nocapture"])
            .output()
            .map_err(|e| format!("could not run cargo: {e}"))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let mut ran = false;
        // Cases under a known framework limit (still failing, as expected).
        let limited: Vec<&str> = stdout
            .lines()
            .filter_map(|line| line.strip_prefix("vwo-conformance-limit "))
            .filter_map(|rest| rest.split_once(": ").map(|(name, _)| name))
            .collect();
        for line in stdout.lines().filter(|l| l.starts_with("vwo-conformance-limit ")) {
            eprintln!("xtask: known limit: {}", &line["vwo-conformance-limit ".len()..]);
        }
        for (name, passed) in stdout.lines().filter_map(parse_result) {
            let Some((module, case)) = name.split_once("::") else {
                continue;
            };
            ran = true;
            let column = module.replace('_', "-");
            if !columns.contains(&column) {
                columns.push(column.clone());
            }
            if !cases.iter().any(|c| c == case) {
                cases.push(case.to_owned());
            }
            let cell = match (passed, limited.contains(&name)) {
                (true, true) => Cell::Limit,
                (true, false) => Cell::Pass,
                (false, _) => Cell::Fail,
            };
            matrix.entry(case.to_owned()).or_default().insert(column, cell);
        }
        if !ran {
            eprint!("{}", String::from_utf8_lossy(&output.stderr));
            return Err(format!("the conformance tests of {package} did not run"));
        }
    }
    cases.sort();
    let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
    print_table(&columns, &cases, &matrix)
}

/// The black-box subset against a running receiver: `vwo-webhook check`, which prints the
/// same table (the secret goes to it in the environment, not on its command line).
fn conformance_url(args: &[String]) -> Result<(), String> {
    let mut url = None;
    let mut secret = None;
    let mut forwarded: Vec<&str> = Vec::new();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        if arg == "--strict" {
            forwarded.push("--strict");
            continue;
        }
        let value = rest.next().ok_or(format!("{arg} needs a value\n{USAGE}"))?;
        match arg.as_str() {
            "--url" => url = Some(value),
            "--secret" => secret = Some(value),
            "--body-limit" => forwarded.extend([arg.as_str(), value.as_str()]),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let url = url.ok_or(format!("--url is required\n{USAGE}"))?;
    let secret = secret.ok_or(format!("--secret is required\n{USAGE}"))?;
    eprintln!("xtask: running the black-box conformance checks (vwo-webhook check)");
    run(cargo()
        .args(["run", "-q", "--locked", "-p", "vwo-webhook-cli", "--", "check"])
        .arg(url)
        .args(&forwarded)
        .env("VWO_WEBHOOK_SECRET", secret))
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

fn print_table(columns: &[&str], order: &[String], matrix: &Matrix) -> Result<(), String> {
    let width = order.iter().map(String::len).max().unwrap_or(4).max(4);
    let mut header = format!("{:width$}", "case");
    for column in columns {
        header.push_str(&format!("  {column:>15}"));
    }
    println!("{header}");
    println!("{}", "-".repeat(header.len()));
    let (mut passed, mut failed, mut limits) = (0usize, 0usize, 0usize);
    for case in order {
        let mut row = format!("{case:width$}");
        for column in columns {
            let cell = match matrix.get(case).and_then(|m| m.get(*column)) {
                Some(Cell::Pass) => {
                    passed += 1;
                    "pass"
                }
                Some(Cell::Limit) => {
                    limits += 1;
                    "limit"
                }
                Some(Cell::Fail) => {
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
    if limits > 0 {
        println!("{limits} results are known framework limits (docs/adapter-requirements.md)");
    }
    println!("conformance: {passed} passed, {failed} failed");
    if failed == 0 {
        Ok(())
    } else {
        Err(format!("{failed} conformance results failed or missing"))
    }
}
