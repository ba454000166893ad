//! A three-master Redis Cluster on loopback, created with `redis-cli --cluster create`.

use std::io;
use std::net::{Ipv4Addr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{RedisServer, Scratch, ask, kill, loopback_hosts, spawn};

/// Three cluster-enabled `redis-server` children sharing the 16,384 slots, no replicas.
pub struct RedisCluster {
    nodes: Vec<(u16, Child)>,
    _dir: Scratch,
}

impl RedisCluster {
    /// Starts the nodes, creates the cluster and waits until every node says it is up;
    /// `Ok(None)` when there is no `redis-server` (or `redis-cli`) on `PATH`.
    pub fn start() -> io::Result<Option<Self>> {
        let cli = Command::new("redis-cli")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if !RedisServer::available() || !cli {
            return Ok(None);
        }
        let dir = Scratch::new("cluster")?;
        let mut cluster = Self {
            nodes: Vec::new(),
            _dir: dir,
        };
        for _ in 0..3 {
            let port = cluster_port()?;
            let mut command = Command::new("redis-server");
            command
                .current_dir(&cluster._dir.0)
                .args(["--bind", "127.0.0.1", "--port"])
                .arg(port.to_string())
                .args(["--cluster-enabled", "yes", "--cluster-config-file"])
                .arg(format!("nodes-{port}.conf"))
                .args(["--cluster-node-timeout", "2000"])
                .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"]);
            cluster.nodes.push((port, spawn(&mut command, port)?));
        }
        let created = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(cluster.nodes.iter().map(|(port, _)| format!("127.0.0.1:{port}")))
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        if !created.success() {
            return Err(io::Error::other(format!(
                "redis-cli --cluster create failed ({created})"
            )));
        }
        cluster.wait_ok(Duration::from_secs(20))?;
        Ok(Some(cluster))
    }

    /// For a test, as [`RedisServer::for_test`].
    ///
    /// # Panics
    /// When the servers cannot start, or are missing while required.
    pub fn for_test() -> Option<Self> {
        super::for_test(Self::start())
    }

    /// `redis+cluster://127.0.0.1:<port>,...`: every node, the fleet's URL.
    pub fn url(&self) -> String {
        format!(
            "redis+cluster://{}",
            loopback_hosts(self.nodes.iter().map(|(port, _)| *port))
        )
    }

    /// The nodes' ports.
    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(|(port, _)| *port).collect()
    }

    /// The port of the node that serves `key`'s slot.
    pub fn node_for(&self, key: &str) -> io::Result<u16> {
        let (port, _) = &self.nodes[0];
        let slot: u16 = ask(*port, ::redis::cmd("CLUSTER").arg("KEYSLOT").arg(key))?;
        let slots: Vec<::redis::Value> = ask(*port, &::redis::cmd("CLUSTER").arg("SLOTS").clone())?;
        for range in slots {
            let ::redis::Value::Array(range) = range else {
                continue;
            };
            let (
                Some(::redis::Value::Int(start)),
                Some(::redis::Value::Int(end)),
                Some(::redis::Value::Array(master)),
            ) = (range.first(), range.get(1), range.get(2))
            else {
                continue;
            };
            if (*start..=*end).contains(&i64::from(slot))
                && let Some(::redis::Value::Int(port)) = master.get(1)
            {
                return u16::try_from(*port).map_err(io::Error::other);
            }
        }
        Err(io::Error::other("no node serves the slot"))
    }

    fn wait_ok(&self, within: Duration) -> io::Result<()> {
        let deadline = Instant::now() + within;
        loop {
            let ok = self.nodes.iter().all(|(port, _)| {
                ask::<String>(*port, ::redis::cmd("CLUSTER").arg("INFO"))
                    .is_ok_and(|info| info.contains("cluster_state:ok"))
            });
            if ok {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the cluster did not come up in time",
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A free port whose cluster bus port (10,000 above it) is free too.
fn cluster_port() -> io::Result<u16> {
    for _ in 0..100 {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let port = listener.local_addr()?.port();
        if let Some(bus) = port.checked_add(10_000)
            && TcpListener::bind((Ipv4Addr::LOCALHOST, bus)).is_ok()
        {
            return Ok(port);
        }
    }
    Err(io::Error::other("no port pair free for a cluster node"))
}

impl std::fmt::Debug for RedisCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCluster")
            .field("ports", &self.ports())
            .finish_non_exhaustive()
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for (_, child) in &mut self.nodes {
            kill(child);
        }
    }
}
