//! What an adapter provides to be tested: a way to serve a receiver over real HTTP.

use std::future::Future;
use std::net::SocketAddr;
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
    /// The adapter's name, as shown in reports.
    const NAME: &'static str;

    /// Serves an application on `127.0.0.1:0` that has, mounted the adapter's usual way:
    /// - the receiver at `receiver.path()`;
    /// - its own route `GET /health`, answering 200 with the body `ok`;
    /// - the framework's own 404 for every other path.
    ///
    /// Returns once the server accepts connections; dropping the [`Server`] stops it.
    fn serve(receiver: Receiver) -> Server;
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

    /// Binds `127.0.0.1:0` and runs `serve` with the listener on a dedicated thread with its
    /// own tokio runtime (two workers), until the returned server is dropped. For adapters
    /// whose framework accepts a tokio listener.
    pub fn spawn_tokio<F, Fut>(serve: F) -> Self
    where
        F: FnOnce(tokio::net::TcpListener) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("non-blocking listener");
        let addr = listener.local_addr().expect("local address");
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread: JoinHandle<()> = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("tokio runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                tokio::select! {
                    () = serve(listener) => {}
                    _ = stop_rx => {}
                }
            });
            runtime.shutdown_timeout(Duration::from_secs(1));
        });
        Self::new(addr, move || {
            let _ = stop_tx.send(());
            let _ = thread.join();
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop();
        }
    }
}
