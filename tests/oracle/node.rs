//! The official Node SDK (vwo-fme-node-sdk 1.35.0) installed where `node` can run it, shared
//! by every test that uses the SDK as an oracle (`#[path]`-included).
//!
//! The SDK is installed with `npm ci` from `package-lock.json` beside this file into
//! `target/vwo-node-oracle/`, once, and kept between runs. Without node the caller's test says
//! so and passes, unless `VWO_WEBHOOK_REQUIRE_NODE=1` (as `.ci/run` sets), when it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

pub(crate) const SDK: &str = "vwo-fme-node-sdk";
pub(crate) const SDK_VERSION: &str = "1.35.0";

/// The folder holding `node_modules/vwo-fme-node-sdk`, installing it first if needed; `None`
/// (having said why) when node is not installed and not required.
pub(crate) fn install() -> Option<PathBuf> {
    let required = std::env::var("VWO_WEBHOOK_REQUIRE_NODE").is_ok_and(|v| v == "1");
    let found = |tool: &str| {
        Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !found("node") || !found("npm") {
        let message = "differential test skipped: node and npm are not on PATH \
                       (install Node.js, e.g. `apt-get install nodejs npm`, to run it)";
        assert!(
            !required,
            "{message}, and VWO_WEBHOOK_REQUIRE_NODE=1 requires them"
        );
        // Past the harness's capture of `eprintln!`: a passing run still says it skipped.
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), "{message}");
        return None;
    }
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/oracle");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/vwo-node-oracle");
    std::fs::create_dir_all(&dir).expect("oracle folder");
    let lock = std::fs::read(source.join("package-lock.json")).expect("package-lock.json");
    let installed = dir.join("node_modules").join(SDK).join("package.json");
    let current = std::fs::read(dir.join("package-lock.json")).ok() == Some(lock.clone())
        && std::fs::read_to_string(&installed)
            .is_ok_and(|p| p.contains(&format!("\"version\": \"{SDK_VERSION}\"")));
    if !current {
        for file in ["package.json", "package-lock.json"] {
            std::fs::copy(source.join(file), dir.join(file)).expect(file);
        }
        let output = Command::new("npm")
            .args([
                "ci",
                "--no-audit",
                "--no-fund",
                "--ignore-scripts",
                "--loglevel=error",
            ])
            .current_dir(&dir)
            .output()
            .expect("npm runs");
        assert!(
            output.status.success(),
            "npm ci of {SDK}@{SDK_VERSION} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Some(dir)
}

/// Runs `script` (a file beside this one) with node, the install folder and `args`; its
/// standard output.
pub(crate) fn run(dir: &Path, script: &str, args: &[&Path]) -> Vec<u8> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/oracle")
        .join(script);
    let output = Command::new("node")
        .arg(script)
        .arg(dir)
        .args(args)
        .output()
        .expect("node runs");
    assert!(
        output.status.success(),
        "the oracle failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}
