//! What an adapter provides to be tested: a way to serve a receiver over real HTTP.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::oneshot;
use vwo_webhook::Receiver;

/// The body the application's own route answers; see [`Harness::serve`].
pub const HEALTH_BODY: &str = "ok";
/// The application's own route; see [`Harness::serve`].
pub const HEALTH_PATH: &str = "/health";

/// Serves a receiver the way the adapter's users would.
pub trait Harness {
    /// Serves an application on `127.0.0.1:0` that has, mounted the adapter's usual way:
    /// - the receiver at `receiver.path()`;
    /// - its own route `GET /health`, answering 200 with the body `ok`;
    /// - the framework's own 404 for every other path.
    ///
    /// Returns once the server accepts connections; dropping the [`Server`] stops it.
    fn serve(receiver: Receiver) -> Server;

    /// How long the server that [`Harness::serve`] starts lets a connection take to send a
    /// request's head, idle or trickling, before closing it: the timeout the adapter's guide
    /// tells users to set (the suite's harnesses set a short one). `None`: the framework
    /// cannot close such connections.
    const HEADER_TIMEOUT: Option<std::time::Duration> = None;
}

/// A running server; stops on drop.
pub struct Server {
    addr: SocketAddr,
    stop: Option<Box<dyn FnOnce() + Send>>,
}

impl Server {
    /// A server listening on `addr`, stopped by calling `stop`.
    pub fn new(addr: SocketAddr, stop: impl FnOnce() + Send + 'static) -> Self {
        Self {
            addr,
            stop: Some(Box::new(stop)),
        }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Runs `run` on a dedicated thread, for frameworks that own their runtime or bind their
    /// own socket. `run` calls [`Ready::report`] once the server accepts connections, with its
    /// address and how to stop it, then serves until stopped. Returns after the report;
    /// dropping the server stops it and joins the thread.
    pub fn spawn_thread<F>(run: F) -> Self
    where
        F: FnOnce(Ready) + Send + 'static,
    {
        let (ready_tx, ready_rx) = mpsc::channel();
        let thread: JoinHandle<()> = std::thread::spawn(move || run(Ready(ready_tx)));
        let (addr, stop) = ready_rx.recv().expect("the server never reported ready");
        Self::new(addr, move || {
            stop();
            let _ = thread.join();
        })
    }

    /// Binds `127.0.0.1:0` and runs `serve` with the listener on a dedicated thread with its
    /// own tokio runtime (two workers), until the returned server is dropped. For adapters
    /// whose framework accepts a tokio listener.
    pub fn spawn_tokio<F, Fut>(serve: F) -> Self
    where
        F: FnOnce(tokio::net::TcpListener) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        Self::spawn_thread(move |ready| {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
            listener.set_nonblocking(true).expect("non-blocking listener");
            let addr = listener.local_addr().expect("local address");
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("tokio runtime");
            let (stop_tx, stop_rx) = oneshot::channel::<()>();
            // Connections made before `serve` starts wait in the listener's backlog.
            ready.report(addr, move || {
                let _ = stop_tx.send(());
            });
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                tokio::select! {
                    () = serve(listener) => {}
                    _ = stop_rx => {}
                }
            });
            runtime.shutdown_timeout(Duration::from_secs(1));
        })
    }
}

/// How a server started by [`Server::spawn_thread`] says it is ready.
pub struct Ready(mpsc::Sender<(SocketAddr, Box<dyn FnOnce() + Send>)>);

impl Ready {
    /// The server accepts connections at `addr`; `stop` makes it return.
    pub fn report(self, addr: SocketAddr, stop: impl FnOnce() + Send + 'static) {
        let _ = self.0.send((addr, Box::new(stop)));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop();
        }
    }
}
