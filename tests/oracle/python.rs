//! The official Python SDK (vwo-fme-python-sdk, pinned with its dependencies in
//! `requirements.txt` beside this file) installed into a virtualenv under
//! `target/vwo-python-oracle/`, once, and kept between runs; shared by the tests that use it as
//! an oracle (`#[path]`-included). Without python3 (with venv and pip) the caller's test says
//! so and passes, unless `VWO_WEBHOOK_REQUIRE_PYTHON=1` (as `.ci/run` sets), when it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

pub(crate) const SDK: &str = "vwo-fme-python-sdk";
pub(crate) const SDK_VERSION: &str = "1.65.0";

fn oracle_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/oracle")
}

/// The virtualenv's python, installing the SDK first if needed; `None` (having said why) when
/// python3 cannot make a virtualenv and is not required.
pub(crate) fn install() -> Option<PathBuf> {
    let required = std::env::var("VWO_WEBHOOK_REQUIRE_PYTHON").is_ok_and(|v| v == "1");
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/vwo-python-oracle");
    let python = venv.join("bin/python");
    let requirements = std::fs::read(oracle_dir().join("requirements.txt")).expect("requirements.txt");
    let installed = std::fs::read(venv.join("requirements.txt")).ok() == Some(requirements.clone());
    if installed && python.exists() {
        return Some(python);
    }
    let made = Command::new("python3")
        .args(["-m", "venv", "--clear"])
        .arg(&venv)
        .output();
    if !made.as_ref().is_ok_and(|o| o.status.success()) {
        let message = "Python differential test skipped: `python3 -m venv` failed \
                       (install Python 3 with venv, e.g. `apt-get install python3-venv`, to run it)";
        assert!(
            !required,
            "{message}, and VWO_WEBHOOK_REQUIRE_PYTHON=1 requires it: {made:?}"
        );
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), "{message}");
        return None;
    }
    let output = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "-r",
        ])
        .arg(oracle_dir().join("requirements.txt"))
        .output()
        .expect("pip runs");
    assert!(
        output.status.success(),
        "pip install of {SDK}=={SDK_VERSION} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::write(venv.join("requirements.txt"), requirements).expect("the installed list");
    Some(python)
}

/// Runs `script` (a file beside this one) with the virtualenv's python and `args`; its
/// standard output.
pub(crate) fn run(python: &Path, script: &str, args: &[&Path]) -> Vec<u8> {
    let output = Command::new(python)
        .arg(oracle_dir().join(script))
        .args(args)
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "the Python oracle failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}
