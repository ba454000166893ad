//! The soak: four replica processes (this binary again, in replica mode) on one Redis, the
//! demo origin numbering a new version for every fetch, deliveries at VWO's redelivery pace
//! plus bursts, a webhook key rotation, Redis restarted empty and origin faults on the
//! schedule of [`vwo_webhook_tests::soak::Schedule`]; then the run's record is judged by
//! [`vwo_webhook_tests::soak::check`] and a table of its figures printed.
//!
//! `cargo xtask soak --minutes N` (default 3; `.ci/run` runs 1). Under a plain `cargo test`
//! it makes a 20 s pass. Needs `redis-server` on `PATH`. `VWO_SOAK_DEBUG=1` lists each
//! delivery outside the bursts.
#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "benches/common/fleet.rs"]
mod fleet;

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin};
use vwo_webhook::{Keyring, Secret};
use vwo_webhook_conformance::client::Request;
use vwo_webhook_examples::DEMO_SETTINGS;
use vwo_webhook_settings::{SdkKey, VwoSettings};
use vwo_webhook_testkit::{ChangingOrigin, RedisServer};
use vwo_webhook_tests::soak::{Delivery, Fault, Keys, Record, Schedule, check};

const REPLICAS: usize = 4;
const BURST: usize = 40;
const BURST_EVERY: Duration = Duration::from_secs(10);
const OLD_KEY: &str = "soak-old-key-6c1f0e";
const NEW_KEY: &str = "soak-new-key-93ad4b";
const SDK_KEY: &str = "soak-sdk-key-0d5e27a8";
const REDIS_PASSWORD: &str = "soak-redis-pw-41b7";
/// How long after the faults stop and the last change is acknowledged every replica must
/// serve it (docs/replicas.md).
const CONVERGENCE: Duration = Duration::from_secs(10);

fn main() {
    if std::env::var_os("VWO_SOAK_REPLICA").is_some() {
        replica();
        return;
    }
    let args: Vec<String> = std::env::args().collect();
    let minutes: f64 = args
        .iter()
        .position(|a| a == "--minutes")
        .and_then(|i| args.get(i + 1))
        .map_or(Some(1.0 / 3.0), |m| m.parse().ok())
        .filter(|m| *m > 0.0)
        .unwrap_or_else(|| {
            eprintln!("soak: --minutes takes a positive number");
            std::process::exit(2)
        });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let passed = runtime.block_on(drive(Schedule::new(Duration::from_secs_f64(minutes * 60.0))));
    if !passed {
        std::process::exit(1);
    }
}

/// Replica mode: serve one replica; `keys a,b` on stdin replaces its webhook keys.
fn replica() {
    vwo_webhook_examples::init_tracing();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let settings = |origin: SocketAddr| {
            VwoSettings::builder(vwo_webhook_examples::demo_account_id(), SdkKey::new(SDK_KEY))
                .base_url(format!("http://{origin}"))
                .build()
                .expect("settings")
        };
        let keyring = Keyring::from_comma_separated(OLD_KEY).expect("key");
        let replica = fleet::start_from_env(settings, keyring.clone()).await;
        println!("ready {} {}", replica.addr.port(), replica.admin_addr.port());
        let mut commands = BufReader::new(tokio::io::stdin()).lines();
        while let Ok(Some(line)) = commands.next_line().await {
            if let Some(keys) = line.strip_prefix("keys ") {
                let secrets = keys.split(',').filter_map(|k| Secret::new(k).ok());
                keyring.replace(secrets).expect("keys");
                println!("keys {}", keyring.len());
            }
        }
    });
}

/// A replica process and the way to it.
struct Process {
    child: Child,
    /// What it logged (stderr).
    logs: Arc<Mutex<String>>,
    stdin: ChildStdin,
    addr: SocketAddr,
    admin: SocketAddr,
}

impl Process {
    async fn spawn(redis: &str, origin: SocketAddr) -> Self {
        let logs = Arc::new(Mutex::new(String::new()));
        let mut child = tokio::process::Command::new(std::env::current_exe().expect("this binary"))
            .env("VWO_SOAK_REPLICA", "1")
            .env("REDIS_URL", redis)
            .env("ORIGIN", origin.to_string())
            .env(
                "RUST_LOG",
                "info,vwo_webhook=debug,vwo_webhook_redis=debug,vwo_webhook_settings=debug",
            )
            .env("NO_COLOR", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("replica process");
        let mut stderr = child.stderr.take().expect("stderr");
        let log = Arc::clone(&logs);
        tokio::spawn(async move {
            let mut buffer = vec![0; 8192];
            while let Ok(n) = stderr.read(&mut buffer).await {
                if n == 0 {
                    break;
                }
                log.lock()
                    .expect("logs")
                    .push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        });
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let ready = lines.next_line().await.expect("read").expect("ready line");
        let ports: Vec<u16> = ready
            .strip_prefix("ready ")
            .expect("ready")
            .split(' ')
            .map(|p| p.parse().expect("port"))
            .collect();
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self {
            stdin: child.stdin.take().expect("stdin"),
            logs,
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], ports[0])),
            admin: SocketAddr::from(([127, 0, 0, 1], ports[1])),
        }
    }

    async fn set_keys(&mut self, keys: &str) {
        self.stdin
            .write_all(format!("keys {keys}\n").as_bytes())
            .await
            .expect("replica stdin");
    }

    fn rss_kib(&self) -> u64 {
        let status = self
            .child
            .id()
            .and_then(|pid| std::fs::read_to_string(format!("/proc/{pid}/status")).ok())
            .unwrap_or_default();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|kib| kib.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }
}

/// The version a replica serves now, from its status page.
async fn served(admin: SocketAddr) -> Option<u64> {
    let response = Request::new("GET", vwo_webhook::STATUS_PATH)
        .send(admin)
        .await
        .ok()?;
    let status: serde_json::Value = serde_json::from_slice(&response.body).ok()?;
    status["version"].as_str()?.parse().ok()
}

/// Sends one delivery and records what came of it.
async fn delivery(
    start: Instant,
    origin: &ChangingOrigin,
    process: (SocketAddr, SocketAddr),
    key: &str,
    burst: bool,
    retired_key: bool,
) -> Delivery {
    let at = start.elapsed();
    let fetches_before = origin.fetches();
    let status = fleet::deliver(process.0, key).await;
    let served_after = if status == 200 {
        served(process.1).await
    } else {
        None
    };
    Delivery {
        at,
        burst,
        fetches_before,
        status,
        served_after,
        retired_key,
    }
}

async fn drive(schedule: Schedule) -> bool {
    let Some(mut redis) = RedisServer::start_with_password(Some(REDIS_PASSWORD)).expect("redis-server")
    else {
        eprintln!("{}", vwo_webhook_testkit::MISSING);
        return std::env::var("VWO_WEBHOOK_REQUIRE_REDIS").as_deref() != Ok("1");
    };
    let origin = ChangingOrigin::spawn(DEMO_SETTINGS, Duration::ZERO).expect("origin");
    let mut processes = Vec::new();
    for _ in 0..REPLICAS {
        processes.push(Process::spawn(&redis.url(), origin.addr()).await);
    }
    for process in &processes {
        let deadline = Instant::now() + Duration::from_secs(20);
        while served(process.admin).await.is_none() {
            assert!(
                Instant::now() < deadline,
                "a replica did not load settings in 20 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let ends: Vec<(SocketAddr, SocketAddr)> = processes.iter().map(|p| (p.addr, p.admin)).collect();
    println!(
        "soak: {REPLICAS} replica processes, one redis-server, {:.0} s; faults until {:.0} s",
        schedule.total().as_secs_f64(),
        schedule.calm_from().as_secs_f64()
    );

    let start = Instant::now();
    let record = Arc::new(Mutex::new(Record {
        replicas: REPLICAS,
        secrets: [OLD_KEY, NEW_KEY, SDK_KEY, REDIS_PASSWORD]
            .map(str::to_owned)
            .to_vec(),
        ..Record::default()
    }));

    // VWO's pace: a delivery every 1-2 s to some replica, again and again (a notice not
    // answered 200 is redelivered; a new change is a new notice). Bursts every 10 s.
    let pace = {
        let (origin, record, ends) = (origin.clone(), Arc::clone(&record), ends.clone());
        tokio::spawn(async move {
            let mut next_burst = BURST_EVERY / 2;
            let mut retired_sent = false;
            while start.elapsed() < schedule.total() {
                let now = start.elapsed();
                let key = match schedule.keys(now) {
                    Keys::Old => OLD_KEY,
                    Keys::Both | Keys::New => NEW_KEY,
                };
                if now >= next_burst {
                    next_burst += BURST_EVERY;
                    let mut burst = tokio::task::JoinSet::new();
                    for n in 0..BURST {
                        let origin = origin.clone();
                        let end = ends[n % REPLICAS];
                        burst.spawn(async move { delivery(start, &origin, end, key, true, false).await });
                    }
                    while let Some(done) = burst.join_next().await {
                        record
                            .lock()
                            .expect("record")
                            .deliveries
                            .push(done.expect("burst delivery"));
                    }
                }
                let end = ends[fastrand::usize(..REPLICAS)];
                let done = delivery(start, &origin, end, key, false, false).await;
                record.lock().expect("record").deliveries.push(done);
                if schedule.keys(now) == Keys::New && !retired_sent {
                    retired_sent = true;
                    let done = delivery(start, &origin, end, OLD_KEY, false, true).await;
                    record.lock().expect("record").deliveries.push(done);
                }
                tokio::time::sleep(Duration::from_millis(1000 + fastrand::u64(..1000))).await;
            }
        })
    };

    // The faults, the rotation, the fetch count and memory, each second.
    let mut fault = None;
    let mut keys = Keys::Old;
    let mut warm = Vec::new();
    let mut second = Duration::ZERO;
    while second <= schedule.total() {
        tokio::time::sleep_until((start + second).into()).await;
        record
            .lock()
            .expect("record")
            .fetches_by_second
            .push(origin.requests());
        let now = schedule.fault(second);
        if now != fault {
            if fault == Some(Fault::RedisDown) {
                redis.restart().expect("redis restart");
            }
            origin.set_failing(None);
            origin.set_delay(Duration::ZERO);
            match now {
                Some(Fault::RedisDown) => redis.stop(),
                Some(Fault::OriginFailing) => origin.set_failing(Some(500)),
                Some(Fault::OriginSlow) => origin.set_delay(Duration::from_secs(1)),
                None => {}
            }
            fault = now;
        }
        let wanted = schedule.keys(second);
        if wanted != keys {
            keys = wanted;
            let list = match keys {
                Keys::Old => OLD_KEY.to_owned(),
                Keys::Both => format!("{OLD_KEY},{NEW_KEY}"),
                Keys::New => NEW_KEY.to_owned(),
            };
            for process in &mut processes {
                process.set_keys(&list).await;
            }
        }
        if warm.is_empty() && second >= schedule.warm_at() {
            warm = processes.iter().map(Process::rss_kib).collect();
        }
        second += Duration::from_secs(1);
    }
    pace.await.expect("the deliveries held");

    // The last change, redelivered as VWO would until it is answered 200; then every
    // replica must serve it within the bound.
    let deadline = Instant::now() + Duration::from_secs(30);
    let newest = loop {
        let done = delivery(start, &origin, ends[0], NEW_KEY, false, false).await;
        let served = done.served_after;
        record.lock().expect("record").deliveries.push(done);
        if let Some(served) = served {
            break served;
        }
        if Instant::now() > deadline {
            break 0;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    let acknowledged = Instant::now();
    let mut converged = Vec::new();
    loop {
        converged.clear();
        for end in &ends {
            converged.push(served(end.1).await);
        }
        if converged.iter().all(|v| *v == Some(newest)) || acknowledged.elapsed() > CONVERGENCE {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let converged_in = acknowledged.elapsed();
    let rss: Vec<(u64, u64)> = warm
        .iter()
        .zip(processes.iter().map(Process::rss_kib))
        .map(|(w, e)| (*w, e))
        .collect();
    let logs: Vec<String> = processes
        .iter()
        .map(|p| p.logs.lock().expect("logs").clone())
        .collect();
    drop(processes);
    let mut record = record.lock().expect("record").clone();
    record.newest = newest;
    record.converged = converged;
    record.rss_kib = rss;
    record.logs = logs.concat();
    let report = check(&record, &schedule);
    // `VWO_SOAK_DEBUG=1`: each delivery outside the bursts, with the fault of its second.
    if std::env::var_os("VWO_SOAK_DEBUG").is_some() {
        for d in record.deliveries.iter().filter(|d| !d.burst) {
            eprintln!(
                "{:>7.2} s {:?}: {} (fetches before {}, served after {:?})",
                d.at.as_secs_f64(),
                schedule.fault(d.at),
                d.status,
                d.fetches_before,
                d.served_after
            );
        }
    }

    println!();
    println!("| figure | value |");
    println!("|---|---|");
    println!(
        "| deliveries (answered 200) | {} ({}) |",
        report.deliveries, report.acknowledged
    );
    println!("| bursts of {BURST} | {} |", report.bursts);
    println!("| settings requests to the origin | {} |", report.fetches);
    println!(
        "| busiest minute: requests (bound) | {} ({}) |",
        report.busiest_minute, report.busiest_minute_bound
    );
    println!(
        "| every replica on the newest version after its 200 | {:.1} ms |",
        converged_in.as_secs_f64() * 1000.0
    );
    println!(
        "| resident memory, warm -> end (worst growth) | {} ({:+.1}%) |",
        record
            .rss_kib
            .iter()
            .map(|(w, e)| format!("{} -> {} KiB", w, e))
            .collect::<Vec<_>>()
            .join(", "),
        report.worst_rss_growth * 100.0
    );
    println!(
        "| log lines checked for secrets | {} |",
        record.logs.lines().count()
    );
    println!();
    if report.violations.is_empty() {
        println!("soak: every invariant held");
        true
    } else {
        for violation in &report.violations {
            println!("soak: VIOLATION: {violation}");
        }
        // What a replica that did not converge logged last (secrets are checked above: a
        // log with one in it is not printed).
        for (replica, served) in record.converged.iter().enumerate() {
            if *served != Some(record.newest)
                && !record.secrets.iter().any(|s| logs[replica].contains(s.as_str()))
            {
                println!("soak: replica {replica}'s last log lines:");
                let lines: Vec<&str> = logs[replica].lines().collect();
                for line in &lines[lines.len().saturating_sub(40)..] {
                    println!("  {line}");
                }
            }
        }
        false
    }
}
