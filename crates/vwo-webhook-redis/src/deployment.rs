//! Which Redis the fleet talks to: one server, a master that Sentinel names, or a Cluster.
//! The rest of the crate sends commands through [`Connection`] and subscribes through
//! [`Deployment::subscribe`], and never asks which one it is.

use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig, MultiplexedConnection, PubSub};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis::{
    AsyncConnectionConfig, Cmd, ConnectionAddr, Pipeline, RedisError, RedisFuture, RedisResult, Value,
};

use crate::error::{FleetError, describe};

/// Where the fleet's Redis is, as a URL names it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Address {
    /// `redis://`, `rediss://` or `unix://`: one server.
    Single(String),
    /// `redis+sentinel://[:password@]host:port,host:port/service`: the sentinels to ask for
    /// the service's master, and the master's password.
    Sentinel {
        sentinels: Vec<(String, u16)>,
        service: String,
        password: Option<String>,
    },
    /// `redis+cluster://[:password@]host:port,host:port`: some of the cluster's nodes.
    Cluster {
        nodes: Vec<(String, u16)>,
        password: Option<String>,
    },
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the password, nor a single server's URL (which may hold one).
        match self {
            Self::Single(_) => f.write_str("Single(<redacted>)"),
            Self::Sentinel {
                sentinels, service, ..
            } => f
                .debug_struct("Sentinel")
                .field("sentinels", sentinels)
                .field("service", service)
                .finish_non_exhaustive(),
            Self::Cluster { nodes, .. } => f
                .debug_struct("Cluster")
                .field("nodes", nodes)
                .finish_non_exhaustive(),
        }
    }
}

impl Address {
    pub(crate) fn parse(url: &str) -> Result<Self, FleetError> {
        let (scheme, rest) = url.split_once("://").ok_or(FleetError::Url)?;
        match scheme {
            "redis" | "rediss" | "unix" | "redis+unix" => Ok(Self::Single(url.to_owned())),
            "redis+sentinel" => {
                let (password, rest) = credentials(rest)?;
                let (hosts, service) = rest.split_once('/').ok_or(FleetError::Url)?;
                let service = service.trim_end_matches('/');
                if service.is_empty() || service.contains('/') {
                    return Err(FleetError::Url);
                }
                Ok(Self::Sentinel {
                    sentinels: hosts_of(hosts, 26379)?,
                    service: service.to_owned(),
                    password,
                })
            }
            "redis+cluster" => {
                let (password, rest) = credentials(rest)?;
                let hosts = rest.strip_suffix('/').unwrap_or(rest);
                Ok(Self::Cluster {
                    nodes: hosts_of(hosts, 6379)?,
                    password,
                })
            }
            "rediss+sentinel" | "rediss+cluster" => Err(FleetError::Unsupported(
                "TLS with Redis Sentinel or Redis Cluster is not supported yet",
            )),
            _ => Err(FleetError::Url),
        }
    }
}

/// `[:password@]rest`: the password (a user name before it is not supported: ACL users
/// are, through a single server's URL).
fn credentials(rest: &str) -> Result<(Option<String>, &str), FleetError> {
    let Some((userinfo, rest)) = rest.rsplit_once('@') else {
        return Ok((None, rest));
    };
    let password = userinfo.strip_prefix(':').ok_or(FleetError::Url)?;
    let password = percent_encoding::percent_decode_str(password)
        .decode_utf8()
        .map_err(|_| FleetError::Url)?
        .into_owned();
    Ok((Some(password).filter(|p| !p.is_empty()), rest))
}

fn hosts_of(list: &str, default_port: u16) -> Result<Vec<(String, u16)>, FleetError> {
    let hosts = list
        .split(',')
        .map(|host| {
            let uri: http::uri::Authority = host.parse().map_err(|_| FleetError::Url)?;
            if uri.as_str().contains('@') || uri.host().is_empty() {
                return Err(FleetError::Url);
            }
            let port = match uri.as_str().strip_prefix(uri.host()) {
                Some("") => default_port,
                Some(port) => port
                    .strip_prefix(':')
                    .and_then(|port| port.parse().ok())
                    .ok_or(FleetError::Url)?,
                None => return Err(FleetError::Url),
            };
            let host = uri
                .host()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned();
            Ok((host, port))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(hosts)
}

/// The fleet's way to Redis: commands through [`Connection`], notices through
/// [`Deployment::subscribe`].
#[allow(clippy::large_enum_variant, reason = "one per fleet, behind an Arc")]
pub(crate) enum Deployment {
    Single(redis::Client),
    Sentinel(Sentinel),
    Cluster {
        /// One client per node given, to subscribe on whichever answers: a Cluster
        /// forwards every `PUBLISH` to all its nodes.
        nodes: Vec<redis::Client>,
    },
}

/// The master Sentinel names, found again after a failover.
pub(crate) struct Sentinel {
    sentinels: tokio::sync::Mutex<SentinelClient>,
    /// The connection to the master last named, and when the sentinels last said so.
    master: Mutex<Option<Master>>,
    config: AsyncConnectionConfig,
    timeout: Duration,
    /// Bumped each time the sentinels name another master, so the follower subscribes there.
    switched: tokio::sync::watch::Sender<u64>,
}

#[derive(Clone)]
struct Master {
    connection: MultiplexedConnection,
    address: ConnectionAddr,
    confirmed: Instant,
}

/// How long the fleet trusts the master it knows before asking the sentinels again. A
/// failover that `SENTINEL FAILOVER` forces leaves the old master accepting writes for
/// seconds, until the sentinels turn it into a replica: asking only on errors would keep the
/// fleet there.
const CONFIRM_EVERY: Duration = Duration::from_secs(1);

impl Deployment {
    /// Sets up the client and a lazy connection: neither connects yet (a Redis that is down
    /// at start is not an error).
    pub(crate) fn open(
        address: Address,
        root_certificate: Option<Vec<u8>>,
        timeout: Duration,
    ) -> Result<(std::sync::Arc<Self>, Connection), FleetError> {
        use std::sync::Arc;
        if root_certificate.is_some() && !matches!(address, Address::Single(_)) {
            return Err(FleetError::Unsupported(
                "TLS with Redis Sentinel or Redis Cluster is not supported yet",
            ));
        }
        match address {
            Address::Single(url) => {
                let info = redis::IntoConnectionInfo::into_connection_info(url.as_str())
                    .map_err(|_| FleetError::Url)?;
                let client = match root_certificate {
                    Some(root) => {
                        let certificates = redis::TlsCertificates {
                            client_tls: None,
                            root_cert: Some(root),
                        };
                        redis::Client::build_with_tls(info, certificates)
                            .map_err(|error| FleetError::Tls(describe(&error)))?
                    }
                    None => redis::Client::open(info).map_err(|_| FleetError::Url)?,
                };
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(timeout))
                    .set_response_timeout(Some(timeout))
                    .set_number_of_retries(1)
                    .set_min_delay(Duration::from_millis(50))
                    .set_max_delay(Duration::from_secs(2));
                let connection = ConnectionManager::new_lazy_with_config(client.clone(), config)
                    .map_err(|error| FleetError::Client(describe(&error)))?;
                Ok((Arc::new(Self::Single(client)), Connection::Single(connection)))
            }
            Address::Sentinel {
                sentinels,
                service,
                password,
            } => {
                let addresses = sentinels
                    .into_iter()
                    .map(|(host, port)| ConnectionAddr::Tcp(host, port));
                let mut builder = SentinelClientBuilder::new(addresses, service, SentinelServerType::Master)
                    .map_err(|error| FleetError::Client(describe(&error)))?;
                if let Some(password) = password {
                    builder = builder.set_client_to_redis_password(password);
                }
                let client = builder
                    .build()
                    .map_err(|error| FleetError::Client(describe(&error)))?;
                let sentinel = Sentinel {
                    sentinels: tokio::sync::Mutex::new(client),
                    master: Mutex::new(None),
                    config: AsyncConnectionConfig::new()
                        .set_connection_timeout(Some(timeout))
                        .set_response_timeout(Some(timeout)),
                    timeout,
                    switched: tokio::sync::watch::channel(0).0,
                };
                let deployment = Arc::new(Self::Sentinel(sentinel));
                Ok((Arc::clone(&deployment), Connection::Sentinel(deployment)))
            }
            Address::Cluster { nodes, password } => {
                let urls: Vec<String> = nodes.iter().map(|(host, port)| node_url(host, *port)).collect();
                let mut builder = ClusterClient::builder(urls.iter().map(String::as_str))
                    .connection_timeout(timeout)
                    .response_timeout(timeout)
                    .retries(2);
                if let Some(password) = &password {
                    builder = builder.password(password);
                }
                let client = builder
                    .build()
                    .map_err(|error| FleetError::Client(describe(&error)))?;
                let connection = client.get_pending_async_connection_with_config(
                    redis::cluster::ClusterConfig::new()
                        .set_connection_timeout(timeout)
                        .set_response_timeout(timeout),
                );
                let nodes = nodes
                    .iter()
                    .map(|(host, port)| {
                        let mut info =
                            redis::IntoConnectionInfo::into_connection_info(node_url(host, *port).as_str())
                                .map_err(|_| FleetError::Url)?;
                        if let Some(password) = &password {
                            let settings = info.redis_settings().clone().set_password(password);
                            info = info.set_redis_settings(settings);
                        }
                        redis::Client::open(info).map_err(|_| FleetError::Url)
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok((Arc::new(Self::Cluster { nodes }), Connection::Cluster(connection)))
            }
        }
    }

    /// A subscription for the fleet's notices: on the server, on the master Sentinel names
    /// now (a replica keeps receiving what the master publishes, so a failover does not cut
    /// it), or on the first cluster node that answers.
    pub(crate) async fn subscribe(&self) -> RedisResult<PubSub> {
        match self {
            Self::Single(client) => client.get_async_pubsub().await,
            Self::Sentinel(sentinel) => {
                let client = sentinel.master_client().await?;
                client.get_async_pubsub().await
            }
            Self::Cluster { nodes } => {
                let mut last = None;
                let start = fastrand::usize(..nodes.len().max(1));
                for client in nodes.iter().cycle().skip(start).take(nodes.len()) {
                    match client.get_async_pubsub().await {
                        Ok(pubsub) => return Ok(pubsub),
                        Err(error) => last = Some(error),
                    }
                }
                Err(last.unwrap_or_else(|| RedisError::from((redis::ErrorKind::Io, "no cluster node given"))))
            }
        }
    }

    /// Which master the fleet uses, as a number that changes with it (always 0 for one
    /// server or a Cluster).
    pub(crate) fn master_generation(&self) -> u64 {
        match self {
            Self::Sentinel(sentinel) => *sentinel.switched.borrow(),
            _ => 0,
        }
    }

    /// Resolves once the sentinels name another master than at `generation` (asking them
    /// every second), so the follower can subscribe there; never for one server or a
    /// Cluster, whose subscriptions a failover cuts.
    pub(crate) async fn master_moved(&self, generation: u64) {
        let Self::Sentinel(sentinel) = self else {
            return std::future::pending().await;
        };
        let mut switched = sentinel.switched.subscribe();
        while *switched.borrow_and_update() == generation {
            tokio::select! {
                changed = switched.changed() => {
                    if changed.is_err() {
                        return std::future::pending().await;
                    }
                }
                () = tokio::time::sleep(CONFIRM_EVERY) => {
                    // Asks the sentinels once the master is a second old; errors are the
                    // commands' to report.
                    let _ = sentinel.connection().await;
                }
            }
        }
    }
}

fn node_url(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("redis://[{host}]:{port}")
    } else {
        format!("redis://{host}:{port}")
    }
}

impl Sentinel {
    async fn master_client(&self) -> RedisResult<redis::Client> {
        let mut sentinels = self.sentinels.lock().await;
        match tokio::time::timeout(self.timeout * 2, sentinels.async_get_client()).await {
            Ok(result) => result,
            Err(_) => Err(RedisError::from((
                redis::ErrorKind::Io,
                "timed out asking the sentinels",
            ))),
        }
    }

    async fn connection(&self) -> RedisResult<MultiplexedConnection> {
        let known = self.current();
        if let Some(master) = &known
            && master.confirmed.elapsed() < CONFIRM_EVERY
        {
            return Ok(master.connection.clone());
        }
        let client = match self.master_client().await {
            Ok(client) => client,
            // The sentinels are away, the master may not be: keep using it.
            Err(error) => match known {
                Some(master) => {
                    tracing::debug!(error = %describe(&error), "could not ask the sentinels for the master");
                    return Ok(master.connection);
                }
                None => return Err(error),
            },
        };
        let address = client.get_connection_info().addr().clone();
        let connection = match known {
            Some(master) if master.address == address => master.connection,
            known => {
                let connection = client
                    .get_multiplexed_async_connection_with_config(&self.config)
                    .await?;
                if known.is_some() {
                    tracing::info!("the sentinels name another Redis master; the fleet follows it");
                    self.switched.send_modify(|n| *n = n.wrapping_add(1));
                }
                connection
            }
        };
        *self.master.lock().unwrap_or_else(PoisonError::into_inner) = Some(Master {
            connection: connection.clone(),
            address,
            confirmed: Instant::now(),
        });
        Ok(connection)
    }

    fn current(&self) -> Option<Master> {
        self.master.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// After a failover the old master is gone, or a replica that refuses writes (inside a
    /// script that error reads `ERR ... READONLY`, not always the `READONLY` kind): forget it
    /// on any error. The fleet's commands do not fail otherwise, and asking the sentinels
    /// again costs one round trip.
    fn failed(&self, error: &RedisError) {
        tracing::debug!(error = %describe(error), "a command on the Redis master failed; asking the sentinels again");
        *self.master.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

/// A connection to the fleet's Redis: cheap to clone, reconnecting on its own.
#[derive(Clone)]
pub(crate) enum Connection {
    Single(ConnectionManager),
    Sentinel(std::sync::Arc<Deployment>),
    Cluster(ClusterConnection),
}

impl Connection {
    fn sentinel(deployment: &Deployment) -> &Sentinel {
        match deployment {
            Deployment::Sentinel(sentinel) => sentinel,
            // Built only by `Deployment::open` around a Sentinel deployment.
            _ => unreachable!("a Sentinel connection holds a Sentinel deployment"),
        }
    }
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(connection) => connection.req_packed_command(cmd),
            Self::Cluster(connection) => connection.req_packed_command(cmd),
            Self::Sentinel(deployment) => Box::pin(async move {
                let sentinel = Self::sentinel(deployment);
                let mut connection = sentinel.connection().await.inspect_err(|e| sentinel.failed(e))?;
                connection
                    .req_packed_command(cmd)
                    .await
                    .inspect_err(|e| sentinel.failed(e))
            }),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(connection) => connection.req_packed_commands(pipeline, offset, count),
            Self::Cluster(connection) => connection.req_packed_commands(pipeline, offset, count),
            Self::Sentinel(deployment) => Box::pin(async move {
                let sentinel = Self::sentinel(deployment);
                let mut connection = sentinel.connection().await.inspect_err(|e| sentinel.failed(e))?;
                connection
                    .req_packed_commands(pipeline, offset, count)
                    .await
                    .inspect_err(|e| sentinel.failed(e))
            }),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(connection) => connection.get_db(),
            Self::Cluster(connection) => connection.get_db(),
            Self::Sentinel(_) => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_server_url_is_kept_as_it_is() {
        for url in [
            "redis://127.0.0.1:6379",
            "rediss://cache:6380/2",
            "unix:///run/redis.sock",
        ] {
            assert_eq!(Address::parse(url).ok(), Some(Address::Single(url.to_owned())));
        }
    }

    #[test]
    fn a_sentinel_url_names_the_sentinels_the_service_and_the_password() {
        let address = Address::parse("redis+sentinel://:p%40ss@s1:26380,s2,10.0.0.3:5000/mymaster").ok();
        assert_eq!(
            address,
            Some(Address::Sentinel {
                sentinels: vec![
                    ("s1".into(), 26380),
                    ("s2".into(), 26379),
                    ("10.0.0.3".into(), 5000)
                ],
                service: "mymaster".into(),
                password: Some("p@ss".into()),
            })
        );
    }

    #[test]
    fn a_cluster_url_names_its_nodes() {
        let address = Address::parse("redis+cluster://n1:7000,n2:7001,[::1]:7002/").ok();
        assert_eq!(
            address,
            Some(Address::Cluster {
                nodes: vec![("n1".into(), 7000), ("n2".into(), 7001), ("::1".into(), 7002)],
                password: None,
            })
        );
    }

    #[test]
    fn malformed_urls_are_refused() {
        for url in [
            "http://example.com",
            "no scheme",
            "redis+sentinel://s1:26379",
            "redis+sentinel://s1:26379/",
            "redis+sentinel://s1:26379/a/b",
            "redis+sentinel://user:pw@s1/master",
            "redis+cluster://n1:notaport",
            "redis+cluster://",
            "redis+cluster://n1,,n2",
        ] {
            assert!(
                matches!(Address::parse(url), Err(FleetError::Url)),
                "{url} was accepted"
            );
        }
        assert!(matches!(
            Address::parse("rediss+cluster://n1:7000"),
            Err(FleetError::Unsupported(_))
        ));
    }

    #[test]
    fn debug_never_shows_a_password() {
        let sentinel = Address::parse("redis+sentinel://:hunter2@s1/m").ok();
        let single = Address::parse("redis://:hunter2@host").ok();
        for address in [sentinel, single] {
            let shown = format!("{address:?}");
            assert!(!shown.contains("hunter2"), "{shown}");
        }
    }
}
