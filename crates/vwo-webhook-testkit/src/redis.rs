//! A throwaway `redis-server` on loopback, for tests, demos and benchmarks: started from

//! `redis-server` feature: a production service connects to its own Redis.

use std::io;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod cluster;
mod sentinel;

pub use cluster::RedisCluster;
pub use sentinel::RedisSentinels;

/// What `cargo test` prints when no `redis-server` is on `PATH`.
pub const MISSING: &str = "redis-server is not on PATH: Redis tests skipped \
                           (install it, e.g. `apt-get install redis-server`, to run them)";

/// A `redis-server` child process on `127.0.0.1`.
pub struct RedisServer {
    port: u16,
    password: Option<String>,
    tls: Option<TlsFiles>,
    child: Option<Child>,
}

/// PEM files for a server that speaks only TLS (`rediss://`).
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The server's certificate, for `localhost`.
    pub certificate: std::path::PathBuf,
    /// Its private key.
    pub key: std::path::PathBuf,
    /// The CA that signed it (redis-server requires one even without client certificates).
    pub ca: std::path::PathBuf,
}

impl RedisServer {
    /// Whether a `redis-server` is on `PATH`.
    pub fn available() -> bool {
        Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    }

    /// Starts one on a free port and waits until it accepts connections; `Ok(None)` when
    /// there is no `redis-server` on `PATH`.
    pub fn start() -> io::Result<Option<Self>> {
        Self::start_with_password(None)
    }

    /// Like [`RedisServer::start`], requiring `password` (`requirepass`) when given.
    pub fn start_with_password(password: Option<&str>) -> io::Result<Option<Self>> {
        Self::launch(password, None)
    }

    /// Like [`RedisServer::start`], serving only TLS with `files` (its URL is
    /// `rediss://localhost:<port>`).
    pub fn start_with_tls(files: TlsFiles) -> io::Result<Option<Self>> {
        Self::launch(None, Some(files))
    }

    fn launch(password: Option<&str>, tls: Option<TlsFiles>) -> io::Result<Option<Self>> {
        if !Self::available() {
            return Ok(None);
        }
        let port = free_port()?;
        let mut server = Self {
            port,
            password: password.map(str::to_owned),
            tls,
            child: None,
        };
        server.restart()?;
        Ok(Some(server))
    }

    /// For a test: starts one, or returns `None` after printing [`MISSING`] — unless
    /// `VWO_WEBHOOK_REQUIRE_REDIS=1`, when a missing server is a failure.
    ///
    /// # Panics
    /// When the server cannot start, or is missing while required.
    pub fn for_test() -> Option<Self> {
        for_test(Self::start())
    }

    /// `redis://127.0.0.1:<port>`, with the password when there is one.
    pub fn url(&self) -> String {
        match (&self.password, &self.tls) {
            (_, Some(_)) => format!("rediss://localhost:{}", self.port),
            (Some(password), None) => format!("redis://:{password}@127.0.0.1:{}", self.port),
            (None, None) => format!("redis://127.0.0.1:{}", self.port),
        }
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills it (its data is gone: no persistence). Connections drop at once.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill(&mut child);
        }
    }

    /// Starts it again on the same port, empty, and waits until it accepts connections.
    pub fn restart(&mut self) -> io::Result<()> {
        self.stop();
        let mut command = Command::new("redis-server");
        command.args(["--bind", "127.0.0.1"]);
        match &self.tls {
            Some(files) => {
                command
                    .args(["--port", "0", "--tls-port"])
                    .arg(self.port.to_string())
                    .arg("--tls-cert-file")
                    .arg(&files.certificate)
                    .arg("--tls-key-file")
                    .arg(&files.key)
                    .arg("--tls-ca-cert-file")
                    .arg(&files.ca)
                    .args(["--tls-auth-clients", "no"]);
            }
            None => {
                command.arg("--port").arg(self.port.to_string());
            }
        }
        command.args(["--save", "", "--appendonly", "no", "--protected-mode", "no"]);
        if let Some(password) = &self.password {
            command.arg("--requirepass").arg(password);
        }
        self.child = Some(spawn(&mut command, self.port)?);
        Ok(())
    }
}

/// A started server for a test, or `None` after saying once that none is on `PATH`, or a
/// panic when one is required (`VWO_WEBHOOK_REQUIRE_REDIS=1`) or could not start.
fn for_test<T>(started: io::Result<Option<T>>) -> Option<T> {
    match started {
        Ok(Some(server)) => Some(server),
        Ok(None) => {
            let required = std::env::var("VWO_WEBHOOK_REQUIRE_REDIS").is_ok_and(|v| v == "1");
            assert!(
                !required,
                "{MISSING}, and VWO_WEBHOOK_REQUIRE_REDIS=1 requires it"
            );
            // Once per test binary, and past the test harness's capture of `eprintln!`, so a
            // passing run still says what it did not test.
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| {
                use std::io::Write as _;
                let _ = writeln!(std::io::stderr(), "{MISSING}");
            });
            None
        }
        Err(error) => panic!("could not start redis-server: {error}"),
    }
}

/// Spawns `command` (a `redis-server`) and waits until it accepts connections on `port`.
fn spawn(command: &mut Command, port: u16) -> io::Result<Child> {
    let mut child = command.stdout(Stdio::null()).stderr(Stdio::null()).spawn()?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
        if let Some(status) = child.try_wait()? {
            return Err(io::Error::other(format!(
                "redis-server exited at start ({status})"
            )));
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "redis-server did not accept connections within 10 s",
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(child)
}

/// A free port on loopback (free when asked: the server binds it right after).
fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?.port())
}

/// A fresh directory for servers' files, removed by [`Scratch::drop`].
#[derive(Debug)]
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new(what: &str) -> io::Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!("vwo-webhook-{what}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(Self(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `127.0.0.1:<port>,...`: the host list of a Sentinel or Cluster URL.
fn loopback_hosts(ports: impl Iterator<Item = u16>) -> String {
    ports
        .map(|port| format!("127.0.0.1:{port}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// One command to the server on `port`, over a fresh connection.
fn ask<T: redis::FromRedisValue>(port: u16, command: &::redis::Cmd) -> io::Result<T> {
    let client = ::redis::Client::open(format!("redis://127.0.0.1:{port}")).map_err(io::Error::other)?;
    let mut connection = client
        .get_connection_with_timeout(Duration::from_secs(1))
        .map_err(io::Error::other)?;
    command.query(&mut connection).map_err(io::Error::other)
}

/// Kills a child and reaps it.
fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

impl std::fmt::Debug for RedisServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisServer")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
