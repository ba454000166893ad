//! One master, one replica and three sentinels on loopback: a Sentinel deployment whose
//! master a test can fail over or kill.

use std::io;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use super::{RedisServer, Scratch, ask, free_port, kill, loopback_hosts, spawn};

/// The service name the sentinels monitor.
const SERVICE: &str = "vwo-fleet";

/// A master, its replica and three sentinels (quorum 2), each a `redis-server` child.
pub struct RedisSentinels {
    servers: Vec<(u16, Option<Child>)>,
    sentinels: Vec<(u16, Child)>,
    _dir: Scratch,
}

impl RedisSentinels {
    /// Starts them and waits until the sentinels agree on the master and know its replica;
    /// `Ok(None)` when there is no `redis-server` on `PATH`.
    pub fn start() -> io::Result<Option<Self>> {
        if !RedisServer::available() {
            return Ok(None);
        }
        let dir = Scratch::new("sentinel")?;
        let master = free_port()?;
        let replica = free_port()?;
        let mut servers = vec![(master, Some(spawn(&mut data_node(master, &dir.0), master)?))];
        let mut command = data_node(replica, &dir.0);
        command
            .arg("--replicaof")
            .arg("127.0.0.1")
            .arg(master.to_string());
        servers.push((replica, Some(spawn(&mut command, replica)?)));
        let mut sentinels = Vec::new();
        for _ in 0..3 {
            let port = free_port()?;
            let config = dir.0.join(format!("sentinel-{port}.conf"));
            std::fs::write(
                &config,
                format!(
                    "port {port}\nbind 127.0.0.1\nprotected-mode no\n\
                     sentinel monitor {SERVICE} 127.0.0.1 {master} 2\n\
                     sentinel down-after-milliseconds {SERVICE} 1000\n\
                     sentinel failover-timeout {SERVICE} 4000\n\
                     sentinel parallel-syncs {SERVICE} 1\n"
                ),
            )?;
            let mut command = Command::new("redis-server");
            command.arg(&config).arg("--sentinel");
            sentinels.push((port, spawn(&mut command, port)?));
        }
        let set = Self {
            servers,
            sentinels,
            _dir: dir,
        };
        set.wait_ready(Duration::from_secs(20))?;
        Ok(Some(set))
    }

    /// For a test, as [`RedisServer::for_test`].
    ///
    /// # Panics
    /// When the servers cannot start, or are missing while required.
    pub fn for_test() -> Option<Self> {
        super::for_test(Self::start())
    }

    /// `redis+sentinel://127.0.0.1:<port>,.../<service>`: the fleet's URL.
    pub fn url(&self) -> String {
        let sentinels = loopback_hosts(self.sentinels.iter().map(|(port, _)| *port));
        format!("redis+sentinel://{sentinels}/{SERVICE}")
    }

    /// The port of the master the sentinels name now.
    pub fn master_port(&self) -> io::Result<u16> {
        let mut last = io::Error::other("no sentinel answered");
        for (port, _) in &self.sentinels {
            match ask::<(String, String)>(
                *port,
                ::redis::cmd("SENTINEL")
                    .arg("get-master-addr-by-name")
                    .arg(SERVICE),
            ) {
                Ok((_, master)) => return master.parse().map_err(io::Error::other),
                Err(error) => last = error,
            }
        }
        Err(last)
    }

    /// Asks the sentinels for a failover now (`SENTINEL FAILOVER`): the replica is promoted
    /// and the old master becomes its replica.
    pub fn failover(&self) -> io::Result<()> {
        let (port, _) = &self.sentinels[0];
        ask::<String>(*port, ::redis::cmd("SENTINEL").arg("FAILOVER").arg(SERVICE)).map(|_| ())
    }

    /// Kills the master the sentinels name now; they promote the replica about a second
    /// later.
    pub fn kill_master(&mut self) -> io::Result<u16> {
        let master = self.master_port()?;
        if let Some((_, child)) = self.servers.iter_mut().find(|(port, _)| *port == master)
            && let Some(mut child) = child.take()
        {
            kill(&mut child);
        }
        Ok(master)
    }

    /// Waits until the sentinels name a master other than `old` and it answers as one.
    pub fn wait_for_new_master(&self, old: u16, within: Duration) -> io::Result<u16> {
        let deadline = Instant::now() + within;
        loop {
            if let Ok(port) = self.master_port()
                && port != old
                && role(port).is_ok_and(|role| role == "master")
            {
                return Ok(port);
            }
            if Instant::now() > deadline {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "no new master in time"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_ready(&self, within: Duration) -> io::Result<()> {
        let deadline = Instant::now() + within;
        let replica = self.servers[1].0;
        loop {
            let synced = ask::<String>(replica, ::redis::cmd("INFO").arg("replication"))
                .is_ok_and(|info| info.contains("master_link_status:up"));
            let known = self.sentinels.iter().all(|(port, _)| {
                let replicas: io::Result<Vec<::redis::Value>> =
                    ask(*port, ::redis::cmd("SENTINEL").arg("replicas").arg(SERVICE));
                let others: io::Result<Vec<::redis::Value>> =
                    ask(*port, ::redis::cmd("SENTINEL").arg("sentinels").arg(SERVICE));
                replicas.is_ok_and(|r| r.len() == 1) && others.is_ok_and(|s| s.len() == 2)
            });
            if synced && known {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the sentinels did not agree on the master and its replica in time",
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A master or replica working in `dir`: a replica's full sync writes the master's RDB to its
/// working folder, which would otherwise be the test's (and land in the repository).
fn data_node(port: u16, dir: &std::path::Path) -> Command {
    let mut command = Command::new("redis-server");
    command
        .args(["--bind", "127.0.0.1", "--port"])
        .arg(port.to_string())
        .arg("--dir")
        .arg(dir)
        .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"]);
    command
}

fn role(port: u16) -> io::Result<String> {
    let role: Vec<::redis::Value> = ask(port, &::redis::cmd("ROLE"))?;
    match role.first() {
        Some(::redis::Value::BulkString(bytes)) => Ok(String::from_utf8_lossy(bytes).into_owned()),
        Some(::redis::Value::SimpleString(text)) => Ok(text.clone()),
        _ => Err(io::Error::other("ROLE gave no role")),
    }
}

impl std::fmt::Debug for RedisSentinels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSentinels")
            .field(
                "servers",
                &self.servers.iter().map(|(port, _)| port).collect::<Vec<_>>(),
            )
            .field(
                "sentinels",
                &self.sentinels.iter().map(|(port, _)| port).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Drop for RedisSentinels {
    fn drop(&mut self) {
        for (_, child) in &mut self.sentinels {
            kill(child);
        }
        for (_, child) in &mut self.servers {
            if let Some(child) = child {
                kill(child);
            }
        }
    }
}
