//! The engine (`src/engine.rs` and `src/engine/`) is pure: it decides, and leaves storage,
//! reporting, metrics, logs and the runtime to the service side. The service side reaches it
//! only through what `engine.rs` re-exports (its modules are private: the compiler keeps that
//! wall); this test keeps the other one, so that an edit that makes the engine import the
//! service side or an I/O crate fails here rather than in a review.

use std::path::{Path, PathBuf};

/// Crates the engine must not use: I/O, the runtime, metrics, logs, the settings store.
const FORBIDDEN_CRATES: &[&str] = &[
    "tokio",
    "reqwest",
    "hyper",
    "metrics",
    "tracing",
    "arc_swap",
    "futures_util",
    "vwo_webhook_settings",
];

fn engine_files() -> Vec<PathBuf> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![src.join("engine.rs")];
    let mut dirs = vec![src.join("engine")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("src/engine is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The lines of `text` that are code: comments (docs included, whose links name the service
/// side on purpose) left out.
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line.split("//").next().unwrap_or("")))
}

/// Whether the text at `at` in `line` starts a path, rather than continuing a name
/// (`my_crate::`, `a::metrics::`).
fn starts_path(line: &str, at: usize) -> bool {
    !line[..at]
        .chars()
        .next_back()
        .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
}

/// What in `line` reaches out of the engine, if anything.
fn reach(line: &str) -> Option<String> {
    for (at, _) in line.match_indices("crate::") {
        let after = &line[at + "crate::".len()..];
        if starts_path(line, at) && !after.starts_with("engine") {
            let module = after.split(|c: char| !c.is_alphanumeric() && c != '_').next();
            return Some(format!("crate::{}", module.unwrap_or("")));
        }
    }
    FORBIDDEN_CRATES
        .iter()
        .find(|name| {
            [format!("{name}::"), format!("use {name}")]
                .iter()
                .any(|pattern| {
                    line.match_indices(pattern.as_str())
                        .any(|(at, _)| starts_path(line, at))
                })
        })
        .map(|name| (*name).to_owned())
}

#[test]
fn the_engine_imports_neither_the_service_side_nor_io_crates() {
    let files = engine_files();
    assert!(files.len() >= 15, "the engine's files were not found: {files:?}");
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("an engine file is readable");
        for (number, line) in code_lines(&text) {
            if let Some(what) = reach(line) {
                found.push(format!("{}:{number}: {what}", file.display()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "the engine reaches out of its wing:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_sees_what_it_must_refuse() {
    let cases = [
        ("use crate::events::Reporter;", Some("crate::events")),
        (
            "    crate::telemetry::record_decision(&flag);",
            Some("crate::telemetry"),
        ),
        ("use tokio::sync::Mutex;", Some("tokio")),
        ("        metrics::counter!(NAME).increment(1);", Some("metrics")),
        (
            "use vwo_webhook_settings::Snapshot;",
            Some("vwo_webhook_settings"),
        ),
        ("use crate::engine::js;", None),
        ("    pub(crate) metrics: HashSet<String>,", None),
        ("let x = my_crate::tokio_like();", None),
    ];
    for (line, expected) in cases {
        assert_eq!(reach(line).as_deref(), expected, "{line}");
    }
}
