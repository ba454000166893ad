//! The fleet on the Redis deployments that managed offerings use, against real servers
//! started on free ports: a three-master Redis Cluster, and one master with one replica
//! watched by three sentinels, failed over in the middle of a burst of deliveries.
//! Without `redis-server` every test says so on stderr and passes, unless
//! `VWO_WEBHOOK_REQUIRE_REDIS=1` (as `.ci/run` sets), when it fails.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use support::*;
use vwo_webhook_testkit::{RedisCluster, RedisSentinels};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_cluster_one_webhook_refreshes_every_replica_with_one_fetch() {
    let Some(cluster) = RedisCluster::for_test() else {
        return;
    };
    let origin = Origin::start().await;
    let [a, b, c] = fleet_of_three(&cluster.url(), &origin).await;
    assert_eq!(
        origin.fetches(),
        1,
        "the second and third replica started from the cluster"
    );

    origin.publish(2);
    origin.slow(Duration::from_millis(300));
    let (first, second, third) = tokio::join!(a.deliver(), b.deliver(), c.deliver());
    assert_eq!((first, second, third), (200, 200, 200));
    assert_eq!(
        origin.fetches(),
        2,
        "one fetch at start, one for the three deliveries"
    );
    for replica in [&a, &b, &c] {
        assert_eq!(replica.version(), Some("2".into()));
    }

    // The notice reaches a replica whatever node it subscribed on: a Cluster forwards every
    // PUBLISH to all its nodes.
    origin.slow(Duration::ZERO);
    origin.publish(3);
    assert_eq!(a.deliver().await, 200);
    b.wait_version(3).await;
    c.wait_version(3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_cluster_the_fleet_keys_share_one_slot() {
    let Some(cluster) = RedisCluster::for_test() else {
        return;
    };
    let origin = Origin::start().await;
    let a = Replica::start(&cluster.url(), &origin);
    a.wait_version(1).await;
    let state = cluster.node_for(&format!("{PREFIX}:state")).expect("slot");
    let lock = cluster.node_for(&format!("{PREFIX}:lock")).expect("slot");
    assert_eq!(state, lock, "a script touching both must run on one node");
}

/// How a test takes the master away.
#[derive(Clone, Copy, Debug)]
enum Failover {
    /// `SENTINEL FAILOVER`: the replica is promoted, the old master follows it.
    Forced,
    /// The master is killed; the sentinels promote the replica once it is down for 1 s.
    Killed,
}

/// What a burst through a failover saw.
#[derive(Debug)]
struct Seen {
    deliveries: usize,
    refused: usize,
    /// From the failover's start to the last delivery not answered 200.
    disrupted: Duration,
    /// From the last change's acknowledgement to every replica serving it.
    converged: Duration,
}

impl Seen {
    fn report(&self, what: &str) {
        // Past the harness's capture with `--nocapture`: the figures docs/replicas.md records.
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "{what}: {} deliveries, {} not answered 200, disrupted for {:?} after the failover began, \
             every replica on the newest version {:?} after its acknowledgement",
            self.deliveries,
            self.refused,
            self.disrupted,
            self.converged
        );
    }
}

/// Deliveries every 40 ms to the three replicas in turn, each after publishing a new
/// version, with the master taken away after the first second. Checks that no delivery is
/// answered 200 while its replica serves a version older than the one published before it
/// was sent, that the last change reaches every replica (VWO redelivers what was not
/// answered 200), and that the fleet then works through the new master.
async fn burst_through(failover: Failover) -> Option<Seen> {
    let mut sentinels = RedisSentinels::for_test()?;
    let origin = Origin::start().await;
    let replicas = Arc::new(fleet_of_three(&sentinels.url(), &origin).await);
    let old_master = sentinels.master_port().expect("master");

    let burst = {
        let origin = origin.clone();
        let replicas = Arc::clone(&replicas);
        tokio::spawn(async move {
            let mut answers = Vec::new();
            let mut version = 1;
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(4) {
                version += 1;
                origin.publish(version);
                let replica = &replicas[usize::try_from(version).unwrap_or(0) % 3];
                let status = replica.deliver().await;
                if status == 200 {
                    let served: u64 = replica.version().and_then(|v| v.parse().ok()).unwrap_or(0);
                    assert!(
                        served >= version,
                        "a delivery announcing version {version} was answered 200 while serving {served}"
                    );
                }
                answers.push((Instant::now(), status));
                tokio::time::sleep(Duration::from_millis(40)).await;
            }
            (version, answers)
        })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    let began = Instant::now();
    match failover {
        Failover::Forced => sentinels.failover().expect("SENTINEL FAILOVER"),
        Failover::Killed => {
            sentinels.kill_master().expect("kill the master");
        }
    }
    let new_master = tokio::task::spawn_blocking(move || {
        let port = sentinels.wait_for_new_master(old_master, Duration::from_secs(20));
        (sentinels, port)
    });
    let (last, answers) = burst.await.expect("the burst held its promise");
    let (_sentinels, new_master) = new_master.await.expect("waited");
    let new_master = new_master.expect("a new master");
    assert_ne!(new_master, old_master);
    let statuses: Vec<u16> = answers.iter().map(|(_, status)| *status).collect();
    assert!(
        statuses.iter().all(|status| [200, 500, 503].contains(status)),
        "{statuses:?}"
    );
    assert!(
        statuses.iter().filter(|s| **s == 200).count() > statuses.len() / 2,
        "{statuses:?}"
    );
    let mut seen = Seen {
        converged: Duration::ZERO,
        deliveries: answers.len(),
        refused: statuses.iter().filter(|s| **s != 200).count(),
        disrupted: answers
            .iter()
            .filter(|(at, status)| *status != 200 && *at > began)
            .map(|(at, _)| *at - began)
            .max()
            .unwrap_or_default(),
    };

    // VWO redelivers the last notice until it is answered 200, every 1-2 s.
    let deadline = Instant::now() + Duration::from_secs(30);
    while replicas[0].deliver().await != 200 {
        assert!(
            Instant::now() < deadline,
            "the last change was never acknowledged"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let acknowledged = Instant::now();
    for replica in replicas.iter() {
        replica.wait_version(last).await;
    }
    seen.converged = acknowledged.elapsed();

    // The fleet's state moved to the new master, in an epoch of its own.
    let mut redis = redis::Client::open(format!("redis://127.0.0.1:{new_master}"))
        .expect("url")
        .get_multiplexed_async_connection()
        .await
        .expect("the new master");
    let (replid, revision): (Option<String>, Option<u64>) = redis::cmd("HMGET")
        .arg(format!("{PREFIX}:state"))
        .arg(&["replid", "revision"])
        .query_async(&mut redis)
        .await
        .expect("state");
    let info: String = redis::cmd("INFO")
        .arg("replication")
        .query_async(&mut redis)
        .await
        .expect("info");
    let own = info
        .lines()
        .find_map(|line| line.strip_prefix("master_replid:"))
        .map(str::trim);
    assert_eq!(replid.as_deref(), own, "the fleet took tickets on the new master");
    assert!(revision.unwrap_or(0) > 1, "{revision:?}");

    // Every follower listens on the new master: the old one, if alive, is a replica now or
    // soon, and a master's notices would reach it only then.
    let channel = format!("{PREFIX}:changed");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, subscribers): (String, u64) = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(&channel)
            .query_async(&mut redis)
            .await
            .expect("numsub");
        if subscribers == 3 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{subscribers} of 3 followers subscribed on the new master"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Some(seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forced_sentinel_failover_in_a_burst_loses_nothing_and_acknowledges_nothing_stale() {
    if let Some(seen) = burst_through(Failover::Forced).await {
        seen.report("forced failover");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_sentinel_master_in_a_burst_loses_nothing_and_acknowledges_nothing_stale() {
    if let Some(seen) = burst_through(Failover::Killed).await {
        seen.report("killed master");
    }
}
