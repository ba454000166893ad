//! A service using one of VWO's SDKs through a gateway (`tests/oracle/relay_service.{js,py}`),
//! driven line by line: what the SDK tests and the relay benchmark run.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use super::{ACCOUNT, node, python};

/// Which SDK a service runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sdk {
    Node,
    Python,
}

/// The SDKs installed once per test binary (tests run on several threads).
pub fn installed(sdk: Sdk) -> Option<PathBuf> {
    static NODE: OnceLock<Option<PathBuf>> = OnceLock::new();
    static PYTHON: OnceLock<Option<PathBuf>> = OnceLock::new();
    match sdk {
        Sdk::Node => NODE.get_or_init(node::install).clone(),
        Sdk::Python => PYTHON.get_or_init(python::install).clone(),
    }
}

/// A service process running one SDK.
pub struct Service {
    _child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
}

impl Service {
    /// Starts `sdk` against `gateway`, with its webhook handler on `port` checking `hook_key`.
    pub async fn start(
        sdk: Sdk,
        installed: &Path,
        gateway: &str,
        sdk_key: &str,
        port: u16,
        hook_key: &str,
    ) -> Self {
        Self::start_with(sdk, installed, gateway, sdk_key, port, hook_key, &[]).await
    }

    /// [`Service::start`] with variables for the service's process.
    pub async fn start_with(
        sdk: Sdk,
        installed: &Path,
        gateway: &str,
        sdk_key: &str,
        port: u16,
        hook_key: &str,
        vars: &[(&str, &str)],
    ) -> Self {
        let oracle = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/oracle");
        let port = port.to_string();
        let mut command = match sdk {
            Sdk::Node => {
                let mut command = Command::new("node");
                command.arg(oracle.join("relay_service.js")).arg(installed);
                command
            }
            Sdk::Python => {
                let mut command = Command::new(installed);
                command.arg(oracle.join("relay_service.py"));
                command
            }
        };
        command
            .envs(vars.iter().copied())
            .args([gateway, ACCOUNT, sdk_key, &port, hook_key])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("the SDK service starts");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut service = Self {
            _child: child,
            stdin,
            stdout,
        };
        let ready = service.answer().await;
        assert_eq!(ready["ready"], true, "{sdk:?} service: {ready}");
        service
    }

    pub async fn answer(&mut self) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(60), self.stdout.next_line())
            .await
            .expect("the SDK service answers in time")
            .expect("reads")
            .expect("the SDK service is running");
        serde_json::from_str(&line).expect("a JSON answer")
    }

    pub async fn call(&mut self, command: Value) -> Value {
        let line = format!("{command}\n");
        self.stdin.write_all(line.as_bytes()).await.expect("writes");
        self.answer().await
    }

    pub async fn get_flag(&mut self, user: &str) -> Value {
        self.call(json!({"op": "getFlag", "feature": "feature1", "user": user}))
            .await
    }
}
