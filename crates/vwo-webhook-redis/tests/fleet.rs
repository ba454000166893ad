//! The fleet against a real `redis-server` (one per test, started from `PATH` on a free
//! port) and a local settings origin: the model's promises, and each fault the issue names.
//! Without `redis-server` every test says so on stderr and passes, unless
//! `VWO_WEBHOOK_REQUIRE_REDIS=1` (as `.ci/run` sets), when it fails.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::*;
use tokio::net::{TcpListener, TcpStream};
use vwo_webhook_redis::{FleetBuilder, RedisFleet};
use vwo_webhook_settings::{SdkKey, Source, VwoSettings};
use vwo_webhook_testkit::RedisServer;

fn server() -> Option<RedisServer> {
    RedisServer::for_test()
}

async fn connection(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .expect("url")
        .get_multiplexed_async_connection()
        .await
        .expect("connect")
}

/// The fleet's current epoch, from its hash.
async fn epoch_of(redis: &mut redis::aio::MultiplexedConnection) -> String {
    redis::cmd("HGET")
        .arg(format!("{PREFIX}:state"))
        .arg("epoch")
        .query_async(redis)
        .await
        .expect("epoch")
}

/// Holds the fleet's fetch lock for `ttl_ms`, as a replica of `epoch` called `holder` would.
async fn hold_lock(redis: &mut redis::aio::MultiplexedConnection, epoch: &str, holder: &str, ttl_ms: u64) {
    let () = redis::cmd("SET")
        .arg(format!("{PREFIX}:lock"))
        .arg(format!("{epoch}/{holder}"))
        .arg("PX")
        .arg(ttl_ms)
        .query_async(redis)
        .await
        .expect("lock");
}

/// Writes a document into the fleet's hash as a replica would, without a replica.
async fn store_directly(url: &str, raw: &str, publish: bool) -> u64 {
    let mut redis = connection(url).await;
    let state = format!("{PREFIX}:state");
    let revision: u64 = redis::cmd("HINCRBY")
        .arg(&state)
        .arg("revision")
        .arg(1)
        .query_async(&mut redis)
        .await
        .expect("revision");
    let epoch = epoch_of(&mut redis).await;
    let () = redis::cmd("HSET")
        .arg(&state)
        .arg(&[
            "raw",
            raw,
            "etag",
            "",
            "check",
            "update",
            "fetched_ms",
            "1",
            "checked_ms",
            "1",
        ])
        .query_async(&mut redis)
        .await
        .expect("write");
    if publish {
        announce(&mut redis, &epoch, revision).await;
    }
    revision
}

/// Tells the followers, as a replica that stored a new document does.
async fn announce(
    redis: &mut redis::aio::MultiplexedConnection,
    epoch: &str,
    revision: impl std::fmt::Display,
) {
    let _: i64 = redis::cmd("PUBLISH")
        .arg(format!("{PREFIX}:changed"))
        .arg(format!("{epoch}:{revision}:new"))
        .query_async(redis)
        .await
        .expect("publish");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_replica_starts_from_redis_without_calling_vwo() {
    let Some(server) = server() else { return };
    let origin = Origin::start().await;
    let [a, b, c] = fleet_of_three(&server.url(), &origin).await;
    assert_eq!(origin.fetches(), 1, "only the first replica fetched");
    assert_eq!(a.source(), Some(Source::Origin));
    assert_eq!(
        (b.source(), c.source()),
        (Some(Source::Redis), Some(Source::Redis))
    );
    let status = b.settings.store().status();
    assert_eq!(status.revision, Some(1));
    assert!(
        status.confirmed_at_unix.is_some(),
        "the fleet's check counts: {status:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_starting_during_the_first_fetch_join_it() {
    let Some(server) = server() else { return };
    let origin = Origin::start().await;
    origin.slow(Duration::from_millis(300));
    let first = Replica::start(&server.url(), &origin);
    origin.wait_fetches(1).await;
    // These find no document yet, and ask after the first fetch began: a start needs no
    // fetch of its own, only one that ends after it asked.
    let others: Vec<Replica> = (0..2).map(|_| Replica::start(&server.url(), &origin)).collect();
    for replica in others.iter().chain([&first]) {
        replica.wait_version(1).await;
    }
    // A delivery runs after its replica's start run is over: both starts have ended once
    // these are answered (and the two deliveries share one fetch).
    let (b, c) = tokio::join!(others[0].deliver(), others[1].deliver());
    assert_eq!((b, c), (200, 200));
    assert_eq!(
        origin.fetches(),
        2,
        "the later starts joined the first fetch; the deliveries made the second"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_webhook_refreshes_every_replica_with_one_fetch() {
    let Some(server) = server() else { return };
    let origin = Origin::start().await;
    let [a, b, c] = fleet_of_three(&server.url(), &origin).await;
    origin.publish(2);
    assert_eq!(b.deliver().await, 200);
    assert_eq!(
        b.version().as_deref(),
        Some("2"),
        "answered only once the new version is served"
    );
    a.wait_version(2).await;
    c.wait_version(2).await;
    assert_eq!(origin.fetches(), 2, "one fetch at start, one for the webhook");
    for replica in [&a, &c] {
        let status = replica.settings.store().status();
        assert_eq!((status.revision, status.source), (Some(2), Some(Source::Redis)));
        let link = status.replication.expect("a fleet link");
        assert_eq!((link.backend, link.connection), ("redis", "connected"));
    }
    let json = vwo_webhook::Probe::status_json(&*b.settings.store());
    assert!(
        json.contains(r#""revision":2"#) && json.contains(r#""source":"origin""#),
        "{json}"
    );
    assert!(
        json.contains(r#""replication":{"backend":"redis","connection":"connected"}"#),
        "{json}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_at_the_same_moment_on_two_replicas_make_one_fetch() {
    let Some(server) = server() else { return };
    let origin = Origin::start().await;
    let [a, b, c] = fleet_of_three(&server.url(), &origin).await;
    origin.publish(2);
    origin.slow(Duration::from_millis(300));
    let (first, second) = tokio::join!(a.deliver(), b.deliver());
    assert_eq!((first, second), (200, 200));
    assert_eq!(origin.fetches(), 2, "one fetch at start, one for both deliveries");
    assert_eq!((a.version(), b.version()), (Some("2".into()), Some("2".into())));
    c.wait_version(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_the_receiver_fetches_alone_and_the_fleet_catches_up() {
    let Some(mut server) = server() else { return };
    let origin = Origin::start().await;
    let [a, b, _c] = fleet_of_three(&server.url(), &origin).await;
    server.stop();
    origin.publish(2);
    assert_eq!(a.deliver().await, 200, "answered by its own fetch");
    assert_eq!(a.version().as_deref(), Some("2"));
    assert_eq!(b.version().as_deref(), Some("1"), "B cannot know yet");
    b.wait_connected(false, "B to see Redis gone").await;
    assert_eq!(
        b.settings.store().status().replication.map(|r| r.connection),
        Some("disconnected")
    );
    server.restart().expect("restart");
    b.wait_version(2).await;
    assert_eq!(
        b.source(),
        Some(Source::Redis),
        "through the fleet, not its own fetch"
    );
    b.wait_connected(true, "B to reconnect").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_whose_share_failed_follows_the_next_notice_without_waiting_for_its_poll() {
    let Some(mut server) = server() else { return };
    let origin = Origin::start().await;
    // No periodic read within the test: only a notice can bring A the change.
    let slow_poll = |builder: FleetBuilder| builder.catch_up_interval(Duration::from_secs(600));
    let a = Replica::start_with(&server.url(), &origin, slow_poll);
    a.wait_version(1).await;
    let b = Replica::start_with(&server.url(), &origin, slow_poll);
    b.wait_version(1).await;
    a.wait_connected(true, "A to subscribe").await;

    // A fetches alone while Redis is down, then cannot share it: the origin fails.
    server.stop();
    origin.publish(2);
    assert_eq!(a.deliver().await, 200, "answered by its own fetch");
    a.wait_connected(false, "A to see Redis gone").await;
    origin.fail(Some(500));
    let before = origin.fetches();
    server.restart().expect("restart");
    origin.wait_fetches(before + 1).await; // A's attempt to share, refused
    a.wait_connected(true, "A to reconnect").await;

    // The origin recovers and a new change reaches B: A takes it from the notice.
    origin.fail(None);
    origin.publish(3);
    assert_eq!(b.deliver().await, 200);
    a.wait_version(3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fetch_from_before_a_failover_is_retaken_not_answered_by_the_older_document() {
    let Some(server) = server() else { return };
    let origin = Origin::start().await;
    let [a, b, _c] = fleet_of_three(&server.url(), &origin).await;
    origin.publish(2);
    origin.slow(Duration::from_millis(300));
    let delivery = {
        let a = Arc::new(a);
        let receiving = Arc::clone(&a);
        (a, tokio::spawn(async move { receiving.deliver().await }))
    };
    origin.wait_fetches(2).await;
    // What a promoted replica looks like to the scripts: another replication id, with the
    // document (and its revision) still there. The fetch under way began in the old epoch.
    let () = redis::cmd("HSET")
        .arg(format!("{PREFIX}:state"))
        .arg("replid")
        .arg("a-promoted-replica")
        .query_async(&mut connection(&server.url()).await)
        .await
        .expect("write");
    let (a, answer) = delivery;
    assert_eq!(answer.await.expect("delivery"), 200);
    assert_eq!(
        a.version().as_deref(),
        Some("2"),
        "answered 200, so serving the announced change"
    );
    assert_eq!(
        origin.fetches(),
        3,
        "the fetch from the old epoch was made again in the new one"
    );
    b.wait_version(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failover_that_lost_the_newest_document_takes_no_replica_back() {
    let Some(server) = server() else { return };
    let origin = Origin::start().await;
    let [a, b, c] = fleet_of_three(&server.url(), &origin).await;
    let state = format!("{PREFIX}:state");
    let mut redis = connection(&server.url()).await;
    let lagging: Vec<(String, String)> = redis::cmd("HGETALL")
        .arg(&state)
        .query_async(&mut redis)
        .await
        .expect("state");
    origin.publish(2);
    assert_eq!(a.deliver().await, 200);
    b.wait_version(2).await;
    c.wait_version(2).await;
    let fetches = origin.fetches();
    let mut seen = Vec::new();
    for replica in [&a, &b, &c] {
        let mut changes = replica.settings.store().subscribe();
        seen.push(tokio::spawn(async move {
            let mut versions = Vec::new();
            while changes.changed().await.is_ok() {
                let version = changes
                    .borrow_and_update()
                    .as_ref()
                    .map(|s| s.version().to_owned());
                versions.push(version);
            }
            versions
        }));
    }

    // What a Sentinel failover to a replica that had not yet received version 2 leaves
    // (Redis replicates asynchronously): the state as it was at version 1, in an epoch of its
    // own (the ticket script starts one on a promoted master), announced to the followers.
    let epoch = "promoted-lagging-replica";
    let lagging: Vec<(String, String)> = lagging
        .into_iter()
        .map(|(field, value)| {
            if field == "epoch" {
                (field, epoch.to_owned())
            } else {
                (field, value)
            }
        })
        .collect();
    let revision = lagging
        .iter()
        .find(|(f, _)| f == "revision")
        .map(|(_, v)| v.clone())
        .expect("revision");
    let () = redis::cmd("DEL")
        .arg(&state)
        .query_async(&mut redis)
        .await
        .expect("del");
    let () = redis::cmd("HSET")
        .arg(&state)
        .arg(&lagging)
        .query_async(&mut redis)
        .await
        .expect("write");
    announce(&mut redis, epoch, &revision).await;

    // The replicas keep version 2 and fetch again for the fleet, whose new epoch then holds it.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let raw: Option<String> = redis::cmd("HGET")
            .arg(&state)
            .arg("raw")
            .query_async(&mut redis)
            .await
            .expect("raw");
        if raw.is_some_and(|raw| raw.contains("\"version\":2")) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the fleet's state still holds the lost version"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(origin.fetches() > fetches, "fetched again for the fleet");
    tokio::time::sleep(Duration::from_millis(200)).await;
    for replica in [&a, &b, &c] {
        assert_eq!(replica.version().as_deref(), Some("2"));
    }
    drop((a, b, c));
    for versions in seen {
        let versions = versions.await.expect("watcher");
        assert!(
            versions.iter().all(|v| v.as_deref() == Some("2")),
            "a replica went back: {versions:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_during_a_fetch_still_answers_and_the_fleet_follows() {
    let Some(mut server) = server() else { return };
    let origin = Origin::start().await;
    let [a, b, _c] = fleet_of_three(&server.url(), &origin).await;
    origin.publish(2);
    origin.slow(Duration::from_millis(500));
    let delivery = {
        let a = Arc::new(a);
        let receiving = Arc::clone(&a);
        (a, tokio::spawn(async move { receiving.deliver().await }))
    };
    origin.wait_fetches(2).await;
    server.restart().expect("restart");
    let (a, answer) = delivery;
    assert_eq!(answer.await.expect("delivery"), 200);
    assert_eq!(a.version().as_deref(), Some("2"));
    b.wait_version(2).await;
    // The fleet works on from the new, empty Redis.
    origin.slow(Duration::ZERO);
    origin.publish(3);
    assert_eq!(b.deliver().await, 200);
    a.wait_version(3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_lock_holder_is_taken_over_and_nothing_is_acknowledged_stale() {
    let Some(server) = server() else { return };
    let origin = Origin::start().await;
    let [a, b, _c] = fleet_of_three(&server.url(), &origin).await;
    // A replica of this epoch took the lock and died: nobody releases it; it expires.
    let mut redis = connection(&server.url()).await;
    let epoch = epoch_of(&mut redis).await;
    hold_lock(&mut redis, &epoch, "a-replica-that-died", 700).await;
    origin.publish(2);
    assert_eq!(b.deliver().await, 200);
    assert_eq!(
        b.version().as_deref(),
        Some("2"),
        "acknowledged only after a fresh fetch"
    );
    assert_eq!(origin.fetches(), 2);
    a.wait_version(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_left_by_the_master_before_a_failover_holds_no_one() {
    let Some(server) = server() else { return };
    let origin = Origin::start().await;
    let [a, b, _c] = fleet_of_three(&server.url(), &origin).await;
    let mut redis = connection(&server.url()).await;
    let state = format!("{PREFIX}:state");
    let epoch = epoch_of(&mut redis).await;
    // What a failover leaves: another replication id (the next script starts a new epoch)
    // and the old master's fetch lock, replicated with its 15 s expiry, whose holder's fetch
    // now counts for nothing.
    let () = redis::cmd("HSET")
        .arg(&state)
        .arg("replid")
        .arg("a-promoted-replica")
        .query_async(&mut redis)
        .await
        .expect("write");
    hold_lock(&mut redis, &epoch, "a-fetch-on-the-old-master", 15_000).await;
    origin.publish(2);
    // Within the 5 s acknowledgement timeout, not after the lock's 15 s.
    assert_eq!(b.deliver().await, 200);
    assert_eq!(b.version().as_deref(), Some("2"));
    a.wait_version(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_cut_off_while_a_change_is_published_catches_up_on_reconnect() {
    let Some(server) = server() else { return };
    let origin = Origin::start().await;
    let proxy = Proxy::start(server.port()).await;
    let a = Replica::start(&server.url(), &origin);
    a.wait_version(1).await;
    let b = Replica::start(&proxy.url(), &origin);
    b.wait_version(1).await;
    b.wait_connected(true, "B to subscribe").await;

    proxy.cut();
    b.wait_connected(false, "B to see the cut").await;
    origin.publish(2);
    assert_eq!(a.deliver().await, 200);
    assert_eq!(
        b.version().as_deref(),
        Some("1"),
        "the notice went out while B was away"
    );
    proxy.restore();
    b.wait_version(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_notice_is_caught_up_by_the_periodic_read() {
    let Some(server) = server() else { return };
    let origin = Origin::start().await;
    let a = Replica::start_with(&server.url(), &origin, |f| {
        f.catch_up_interval(Duration::from_millis(200))
    });
    a.wait_version(1).await;
    let revision = store_directly(&server.url(), &document(7), false).await;
    a.wait_version(7).await;
    assert_eq!(a.settings.store().status().revision, Some(revision));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_document_in_redis_is_refused_by_every_follower() {
    let Some(server) = server() else { return };
    let origin = Origin::start().await;
    let [a, b, c] = fleet_of_three(&server.url(), &origin).await;
    store_directly(&server.url(), INVALID, true).await;
    for replica in [&a, &b, &c] {
        replica
            .wait_until("the refusal", |r| {
                r.settings
                    .store()
                    .last_error()
                    .is_some_and(|e| e.message.contains("was refused"))
            })
            .await;
        assert_eq!(
            replica.version().as_deref(),
            Some("1"),
            "the last good settings stay"
        );
    }
    // The next good document replaces it everywhere.
    origin.publish(3);
    assert_eq!(c.deliver().await, 200);
    a.wait_version(3).await;
    b.wait_version(3).await;
    assert_eq!(
        a.settings.store().last_error(),
        None,
        "{:?}",
        a.settings.store().status()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_fetch_is_shared_with_the_replicas_waiting_for_it() {
    let Some(server) = server() else { return };
    let origin = Origin::start().await;
    let [a, b, c] = fleet_of_three(&server.url(), &origin).await;
    origin.fail(Some(503));
    origin.slow(Duration::from_millis(300));
    let (first, second) = tokio::join!(a.deliver(), b.deliver());
    assert!(
        first >= 500 && first == second,
        "both told to redeliver: {first} {second}"
    );
    assert_eq!(origin.fetches(), 2, "one failed fetch answered both");
    // VWO redelivers; the origin is back.
    origin.fail(None);
    origin.slow(Duration::ZERO);
    origin.publish(2);
    assert_eq!(a.deliver().await, 200);
    c.wait_version(2).await;
}

/// A TCP proxy to Redis that can be cut (every connection dropped, new ones refused) and
/// restored: one replica's view of a network partition.
struct Proxy {
    port: u16,
    open: Arc<std::sync::atomic::AtomicBool>,
    connections: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(redis_port: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let open = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let connections: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        let (accepting, tasks) = (Arc::clone(&open), Arc::clone(&connections));
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !accepting.load(std::sync::atomic::Ordering::SeqCst) {
                    continue;
                }
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(("127.0.0.1", redis_port)).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                tasks.lock().expect("tasks").push(task);
            }
        });
        Self {
            port,
            open,
            connections,
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn cut(&self) {
        self.open.store(false, std::sync::atomic::Ordering::SeqCst);
        for task in self.connections.lock().expect("tasks").drain(..) {
            task.abort();
        }
    }

    fn restore(&self) {
        self.open.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_redis_password_sdk_key_or_settings_body_in_logs_errors_or_debug() {
    const PASSWORD: &str = "redis-pa55-0f-the-fleet";
    let Some(server) = RedisServer::start_with_password(Some(PASSWORD)).expect("redis-server") else {
        let _ = RedisServer::for_test();
        return;
    };
    // Everything this test binary logs, from every thread.
    let logs = vwo_webhook_testkit::Capture::global();

    let origin = Origin::start().await;
    let a = Replica::start(&server.url(), &origin);
    a.wait_version(1).await;
    let wrong = server.url().replace(PASSWORD, "wr0ng-pa55-for-the-fleet");
    let b = Replica::start(&wrong, &origin);
    b.wait_version(1).await;
    origin.publish(2);
    assert_eq!(b.deliver().await, 200, "refused by Redis, B fetched alone");
    assert_eq!(a.deliver().await, 200, "through the fleet");
    assert_eq!(
        origin.fetches(),
        4,
        "A's start and delivery, B's start and delivery"
    );

    let logs = logs.text();
    assert!(
        logs.contains("Redis is unavailable"),
        "the fallback is logged: {logs}"
    );
    let status = vwo_webhook::Probe::status_json(&*b.settings.store());
    let shown = [
        logs,
        format!("{:?} {:?}", a.fleet, b.fleet),
        status,
        format!("{:?}", b.settings.store().last_error()),
    ];
    for text in shown {
        for secret in [
            PASSWORD,
            "wr0ng-pa55-for-the-fleet",
            SDK_KEY,
            "\"features\"",
            "campaigns",
        ] {
            assert!(!text.contains(secret), "{secret:?} shown in {text}");
        }
    }
}

#[test]
fn a_url_that_is_not_redis_is_refused_without_repeating_it() {
    let settings = VwoSettings::builder(ACCOUNT, SdkKey::new(SDK_KEY))
        .build()
        .expect("settings");
    let error = RedisFleet::builder("postgres://user:hunter2@db", settings)
        .build()
        .expect_err("not a Redis URL");
    assert!(error.to_string().contains("not valid"), "{error}");
    assert!(!error.to_string().contains("hunter2"), "{error}");
}

/// A CA and a certificate it signed for `localhost`, written as PEM files into a fresh
/// folder under the target directory.
fn tls_files() -> (vwo_webhook_testkit::TlsFiles, String) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "vwo-webhook test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("CA key")).expect("CA");
    let key = KeyPair::generate().expect("server key");
    let certificate = CertificateParams::new(vec!["localhost".to_owned()])
        .expect("server params")
        .signed_by(&key, &ca)
        .expect("server certificate");
    let dir = std::env::temp_dir().join(format!(
        "vwo-webhook-redis-tls-{}-{}",
        std::process::id(),
        unique_suffix()
    ));
    std::fs::create_dir_all(&dir).expect("folder");
    let files = vwo_webhook_testkit::TlsFiles {
        certificate: dir.join("server.pem"),
        key: dir.join("server.key"),
        ca: dir.join("ca.pem"),
    };
    std::fs::write(&files.certificate, certificate.pem()).expect("write");
    std::fs::write(&files.key, key.serialize_pem()).expect("write");
    std::fs::write(&files.ca, ca.pem()).expect("write");
    (files, ca.pem())
}

fn unique_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fleet_works_over_rediss_with_a_private_ca() {
    if !RedisServer::available() {
        let _ = RedisServer::for_test();
        return;
    }
    let (files, ca) = tls_files();
    let server = match RedisServer::start_with_tls(files.clone()) {
        Ok(server) => server.expect("redis-server on PATH"),
        // A redis-server built without TLS (Debian's has it; CI requires it).
        Err(error) => {
            let required = std::env::var("VWO_WEBHOOK_REQUIRE_REDIS").is_ok_and(|v| v == "1");
            assert!(!required, "redis-server could not serve TLS: {error}");
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "rediss:// test skipped: this redis-server could not serve TLS ({error})"
            );
            return;
        }
    };
    assert!(server.url().starts_with("rediss://"), "{}", server.url());
    let origin = Origin::start().await;
    let trusting = |builder: FleetBuilder| builder.tls_root_certificate(ca.clone());
    let a = Replica::start_with(&server.url(), &origin, trusting);
    a.wait_version(1).await;
    let b = Replica::start_with(&server.url(), &origin, trusting);
    b.wait_version(1).await;
    assert_eq!(
        b.source(),
        Some(Source::Redis),
        "B read the fleet's document over TLS"
    );
    origin.publish(2);
    assert_eq!(a.deliver().await, 200);
    b.wait_version(2).await;
    assert_eq!(origin.fetches(), 2);

    // Without the CA, the server's certificate is not trusted: the replica acts alone.
    let untrusting = Replica::start(&server.url(), &origin);
    untrusting.wait_version(2).await;
    assert_eq!(untrusting.source(), Some(Source::Origin), "fetched alone");
    let _ = std::fs::remove_dir_all(files.ca.parent().expect("folder"));
}
