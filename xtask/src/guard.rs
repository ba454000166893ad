//! `cargo xtask bench --check` and `cargo xtask bench --update-baselines`: the speed guards.
//!
//! Each probe of `tests/benches/guard.rs` runs under callgrind, which counts the instructions
//! of the probe's measured part. Counts repeat between runs (within a fraction of a percent)
//! where wall-clock figures on a 2-core machine move 30-60%, so a growth over [`TOLERANCE`]
//! against the committed baseline is a real slowdown: `--check` fails on it and prints the
//! table. A baseline changes only in a commit that says why (`--update-baselines` rewrites the
//! file from a run).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{cargo, workspace_root};

/// How much a count may grow over its baseline before the check fails.
const TOLERANCE: f64 = 0.05;

/// Where the committed baselines live, relative to the workspace root.
const BASELINES: &str = "xtask/guard-baselines.txt";

/// Runs every probe under callgrind; compares with the baselines (`update`: rewrites them).
pub(crate) fn run(update: bool) -> Result<(), String> {
    let valgrind = Command::new("valgrind").arg("--version").output();
    if !valgrind.is_ok_and(|o| o.status.success()) {
        return Err("valgrind is not on PATH (Debian: apt-get install valgrind)".to_owned());
    }
    let root = workspace_root();
    let exe = build(&root)?;
    let listed = Command::new(&exe)
        .arg("--list")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", exe.display()))?;
    let probes: Vec<String> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    let out_dir = root.join("target/guard-callgrind");
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;
    let mut counts = Vec::new();
    for probe in &probes {
        let count = count(&exe, probe, &out_dir.join(format!("{probe}.out")))?;
        eprintln!("xtask: {probe}: {count} instructions");
        counts.push((probe.clone(), count));
    }
    let path = root.join(BASELINES);
    if update {
        return write_baselines(&path, &counts);
    }
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "cannot read {} ({e}); run cargo xtask bench --update-baselines",
            path.display()
        )
    })?;
    let baselines = parse_baselines(&text)?;
    compare(&baselines, &counts)
}

/// Builds the probes with the `guard` profile; the executable's path.
fn build(root: &Path) -> Result<PathBuf, String> {
    let output = cargo()
        .args([
            "bench",
            "--locked",
            "--profile",
            "guard",
            "-p",
            "vwo-webhook-tests",
            "--bench",
            "guard",
            "--no-run",
        ])
        .current_dir(root)
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(format!("building the guard probes failed:\n{stderr}"));
    }
    // `  Executable benches/guard.rs (target/guard/deps/guard-0123abcd)`
    let path = stderr
        .lines()
        .filter(|line| line.contains("Executable") && line.contains("guard"))
        .find_map(|line| line.rsplit_once('(').and_then(|(_, rest)| rest.strip_suffix(')')))
        .ok_or_else(|| format!("cargo did not name the guard executable:\n{stderr}"))?;
    Ok(root.join(path))
}

/// The instructions `probe` runs inside `guard::measured`, as callgrind counts them.
fn count(exe: &Path, probe: &str, out: &Path) -> Result<u64, String> {
    let output = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg("--toggle-collect=guard::measured")
        .arg(exe)
        .arg(probe)
        .output()
        .map_err(|e| format!("cannot run valgrind: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "probe {probe} failed under callgrind:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let text = std::fs::read_to_string(out).map_err(|e| format!("cannot read {}: {e}", out.display()))?;
    let total = text
        .lines()
        .find_map(|line| {
            line.strip_prefix("totals:")
                .or_else(|| line.strip_prefix("summary:"))
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse::<u64>().ok())
        .ok_or_else(|| format!("no total in {}", out.display()))?;
    if total == 0 {
        return Err(format!(
            "probe {probe}: callgrind counted nothing inside guard::measured"
        ));
    }
    Ok(total)
}

fn parse_baselines(text: &str) -> Result<Vec<(String, u64)>, String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (name, count) = line
                .split_once(char::is_whitespace)
                .ok_or_else(|| format!("{BASELINES}: a line is not `probe count`: {line:?}"))?;
            let count = count
                .trim()
                .replace('_', "")
                .parse::<u64>()
                .map_err(|e| format!("{BASELINES}: {line:?}: {e}"))?;
            Ok((name.to_owned(), count))
        })
        .collect()
}

fn write_baselines(path: &Path, counts: &[(String, u64)]) -> Result<(), String> {
    let mut text = String::from(
        "# Instructions each probe of tests/benches/guard.rs runs inside guard::measured, as\n\
         # callgrind counts them. `cargo xtask bench --check` fails when a count grows more than\n\
         # 5% over its line here. Rewritten by `cargo xtask bench --update-baselines`; commit a\n\
         # change with the reason for it.\n",
    );
    for (name, count) in counts {
        text.push_str(&format!("{name} {count}\n"));
    }
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    eprintln!("xtask: wrote {}", path.display());
    Ok(())
}

/// Prints the table; fails on a probe over its baseline by more than [`TOLERANCE`], or one
/// without a baseline.
fn compare(baselines: &[(String, u64)], counts: &[(String, u64)]) -> Result<(), String> {
    let mut failures = Vec::new();
    println!("| probe | baseline | now | change | |");
    println!("|---|---:|---:|---:|---|");
    for (name, now) in counts {
        let Some((_, base)) = baselines.iter().find(|(probe, _)| probe == name) else {
            println!("| {name} | - | {now} | | no baseline |");
            failures.push(format!("{name} has no baseline"));
            continue;
        };
        let change = *now as f64 / *base as f64 - 1.0;
        let verdict = if change > TOLERANCE {
            failures.push(format!("{name} grew {:+.1}% ({base} -> {now})", change * 100.0));
            "SLOWER"
        } else if change < -TOLERANCE {
            "faster: update the baseline to keep the gain"
        } else {
            "ok"
        };
        println!(
            "| {name} | {base} | {now} | {:+.1}% | {verdict} |",
            change * 100.0
        );
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "speed guard failed (more than {:.0}% over the baseline): {}",
            TOLERANCE * 100.0,
            failures.join("; ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_over_the_tolerance_fails_and_one_within_passes() {
        let baselines = vec![("a".to_owned(), 1_000_000), ("b".to_owned(), 1_000_000)];
        assert!(
            compare(
                &baselines,
                &[("a".to_owned(), 1_049_000), ("b".to_owned(), 900_000)]
            )
            .is_ok()
        );
        let error = compare(&baselines, &[("a".to_owned(), 1_100_000)]).expect_err("10% slower");
        assert!(error.contains("a grew +10.0%"), "{error}");
        assert!(
            compare(&baselines, &[("c".to_owned(), 1)]).is_err(),
            "no baseline"
        );
    }

    #[test]
    fn baselines_read_back_what_was_written() {
        let dir = std::env::temp_dir().join(format!("guard-baselines-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("baselines.txt");
        let counts = vec![("core_refused".to_owned(), 1234), ("flags_meg".to_owned(), 5678)];
        write_baselines(&path, &counts).expect("written");
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(parse_baselines(&text).expect("parsed"), counts);
        let _ = std::fs::remove_dir_all(dir);
    }
}
