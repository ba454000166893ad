//! A local stand-in for VWO's events host: records every request (path with its raw query,
//! headers, JSON body) and answers as the test tells it to: 200, another status, slowly, or
//! by dropping the connection.

// Each test uses the part it needs.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// How the collector answers a request (given how many came before it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reply {
    Status(u16),
    /// Waits this long, then answers 200.
    Slow(Duration),
}

type Script = dyn Fn(usize) -> Reply + Send + Sync;

/// A request as it arrived, and what it was answered.
#[derive(Debug, Clone)]
pub(crate) struct Captured {
    pub(crate) path: String,
    pub(crate) headers: BTreeMap<String, String>,
    pub(crate) body: Value,
    pub(crate) status: u16,
}

#[derive(Default)]
struct State {
    /// Bodies are read but not kept (a benchmark's stand-in for VWO).
    sink: bool,
    requests: Mutex<Vec<Captured>>,
    seen: AtomicUsize,
    script: Mutex<Option<Arc<Script>>>,
}

pub(crate) struct Collector {
    addr: SocketAddr,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl Collector {
    /// Starts on a free port, answering 200.
    pub(crate) async fn start() -> Self {
        Self::serve("127.0.0.1:0".parse().expect("address"), false).await
    }

    /// Starts on a free port, answering 200 and keeping no body.
    pub(crate) async fn sink() -> Self {
        Self::serve("127.0.0.1:0".parse().expect("address"), true).await
    }

    /// Starts again on the port `down` held.
    pub(crate) async fn start_on(down: Down) -> Self {
        let addr = down.addr;
        drop(down);
        Self::serve(addr, false).await
    }

    async fn serve(addr: SocketAddr, sink: bool) -> Self {
        // A stopped collector's port frees once its task is dropped.
        let mut tries = 0;
        let listener = loop {
            match TcpListener::bind(addr).await {
                Ok(listener) => break listener,
                Err(error) if tries < 200 => {
                    tries += 1;
                    let _ = error;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err(error) => panic!("bind {addr}: {error}"),
            }
        };
        let addr = listener.local_addr().expect("address");
        let state = Arc::new(State {
            sink,
            ..State::default()
        });
        let shared = Arc::clone(&state);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = Arc::clone(&shared);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let state = Arc::clone(&state);
                        async move { Ok::<_, std::convert::Infallible>(answer(&state, request).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { addr, state, task }
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Answers by `script` from now on.
    pub(crate) fn reply(&self, script: impl Fn(usize) -> Reply + Send + Sync + 'static) {
        *self.state.script.lock().expect("script") = Some(Arc::new(script));
    }

    pub(crate) fn requests(&self) -> Vec<Captured> {
        self.state.requests.lock().expect("requests").clone()
    }

    /// Every event the collector accepted (answered 200), batches unpacked, in order.
    pub(crate) fn accepted(&self) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r.status == 200)
            .flat_map(|r| match r.body.get("ev") {
                Some(Value::Array(events)) => events.clone(),
                _ => vec![r.body],
            })
            .collect()
    }

    /// Stops listening (and drops the connections it serves).
    /// Stops answering: the port is then held bound but not listening, so that connections
    /// to it are refused and no other test's server takes it (a freed port would be handed
    /// out again), until [`Collector::start_on`] or the [`Down`] is dropped.
    pub(crate) async fn stop(self) -> Down {
        self.task.abort();
        let addr = self.addr;
        // The listener closes once the aborted task is dropped.
        for _ in 0..200 {
            let socket =
                socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("a socket");
            socket.set_reuse_address(true).expect("SO_REUSEADDR");
            if socket.bind(&addr.into()).is_ok() {
                return Down {
                    addr,
                    _socket: socket,
                };
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the stopped collector's port {addr} stayed taken");
    }
}

/// A stopped collector's port, held: see [`Collector::stop`].
pub(crate) struct Down {
    pub(crate) addr: SocketAddr,
    _socket: socket2::Socket,
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(state: &State, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let n = state.seen.fetch_add(1, Ordering::SeqCst);
    let script = state.script.lock().expect("script").clone();
    let reply = script.map_or(Reply::Status(200), |s| s(n));
    let path = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let headers = request
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let status = match reply {
        Reply::Status(status) => status,
        Reply::Slow(delay) => {
            tokio::time::sleep(delay).await;
            200
        }
    };
    state.requests.lock().expect("requests").push(Captured {
        path,
        headers,
        body: if state.sink {
            Value::Null
        } else {
            serde_json::from_slice(&body).unwrap_or(Value::Null)
        },
        status,
    });
    let mut response = Response::new(Full::new(Bytes::from_static(b"{}")));
    *response.status_mut() = hyper::StatusCode::from_u16(status).expect("status");
    response
}
