//! The memory a large settings file holds: a generated file of about 16 MB installed 20 times
//! into a `SettingsStore` that a `Flags` follows (parsed, validated, compiled, the old one
//! dropped), then replaced by a small one. The live heap is counted by the global allocator
//! (the `cap` crate's counting wrapper of the system allocator), so the figures are what the
//! crates hold, whatever the allocator keeps for later.
//!
//! `cargo xtask bench memory` prints the table; with `--check` it fails when the live heap
//! after an install exceeds [`BOUND`] times the document (or its peak [`PEAK_BOUND`] times),
//! grows from one install to the next (what a leak would do), or stays once a small file
//! replaced the large one.
#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "../../crates/vwo-webhook-flags/tests/differential/generate.rs"]
#[allow(dead_code, unreachable_pub)]
mod generate;

use std::alloc::System;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::SystemTime;

use cap::Cap;
use fastrand::Rng;
use vwo_webhook_flags::Flags;
use vwo_webhook_settings::replication::StoreWrite;
use vwo_webhook_settings::{Check, SettingsStore, Snapshot, Source};

#[global_allocator]
static ALLOCATOR: Cap<System> = Cap::new(System, usize::MAX);

/// The size of the generated document.
const DOCUMENT_BYTES: usize = 16_000_000;
/// How many times it is installed.
const INSTALLS: usize = 20;
/// The most live heap an installed settings file may hold, in multiples of the document's size
/// (its raw bytes, the parsed document the snapshot keeps, and the compiled model).
const BOUND: f64 = 20.0;
/// The most live heap at any moment, in the same multiples: while the next file is installed,
/// the old one and the new one are both alive.
const PEAK_BOUND: f64 = 40.0;

const MB: f64 = 1_000_000.0;

fn main() -> ExitCode {
    let check = std::env::args().any(|a| a == "--check");
    let mut rng = Rng::with_seed(16);
    let mut features = 8_000;
    let raw = loop {
        let raw = serde_json::to_vec(&generate::settings_with(&mut rng, features)).expect("JSON");
        if raw.len() >= DOCUMENT_BYTES {
            break raw;
        }
        features += features / 10;
    };
    let size = raw.len();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let _entered = runtime.enter();
    let store = Arc::new(SettingsStore::new());
    let flags = Flags::builder().follow(Arc::clone(&store));
    let before = ALLOCATOR.allocated();
    let install = |bytes: &[u8]| {
        let snapshot = Snapshot::parse(
            bytes.to_vec().into(),
            Check::Fetch,
            Source::Origin,
            None,
            SystemTime::now(),
        )
        .expect("a valid document");
        store.publish(snapshot);
        assert!(flags.is_ready(), "compiled");
    };
    println!("| install | live heap (MB) | x document |");
    println!("|---:|---:|---:|");
    let mut live = Vec::new();
    for n in 1..=INSTALLS {
        install(&raw);
        let held = ALLOCATOR.allocated().saturating_sub(before);
        println!(
            "| {n} | {:.1} | {:.1} |",
            held as f64 / MB,
            held as f64 / size as f64
        );
        live.push(held);
    }
    let small = serde_json::to_vec(&serde_json::json!({
        "version": 1, "accountId": 1, "sdkKey": "k", "campaigns": [], "features": []
    }))
    .expect("JSON");
    install(&small);
    let after_small = ALLOCATOR.allocated().saturating_sub(before);
    println!("| a small file | {:.1} | |", after_small as f64 / MB);
    println!(
        "document {:.1} MB; peak live heap {:.1} MB ({:.1} x the document)",
        size as f64 / MB,
        ALLOCATOR.max_allocated().saturating_sub(before) as f64 / MB,
        ALLOCATOR.max_allocated().saturating_sub(before) as f64 / size as f64
    );
    if !check {
        return ExitCode::SUCCESS;
    }
    let mut failures = Vec::new();
    let bound = (BOUND * size as f64) as usize;
    if let Some(worst) = live.iter().max().filter(|worst| **worst > bound) {
        failures.push(format!(
            "an installed file holds {:.1} MB, over {BOUND} x the document ({:.1} MB)",
            *worst as f64 / MB,
            bound as f64 / MB
        ));
    }
    // The same file installed again holds the same: allow 1% for the store's bookkeeping.
    if let (Some(second), Some(last)) = (live.get(1), live.last())
        && *last > second + second / 100
    {
        failures.push(format!(
            "the live heap grew from {:.1} MB after the second install to {:.1} MB after the {INSTALLS}th",
            *second as f64 / MB,
            *last as f64 / MB
        ));
    }
    let peak = ALLOCATOR.max_allocated().saturating_sub(before);
    if peak as f64 > PEAK_BOUND * size as f64 {
        failures.push(format!(
            "the live heap peaked at {:.1} MB, over {PEAK_BOUND} x the document",
            peak as f64 / MB
        ));
    }
    if after_small > size {
        failures.push(format!(
            "{:.1} MB still held after a small file replaced the large one",
            after_small as f64 / MB
        ));
    }
    if failures.is_empty() {
        println!("memory: within the bound");
        ExitCode::SUCCESS
    } else {
        eprintln!("memory: {}", failures.join("; "));
        ExitCode::FAILURE
    }
}
