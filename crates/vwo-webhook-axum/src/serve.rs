//! [`serve`]: `axum::serve` with the timeouts a public endpoint needs.
//!
//! `axum::serve` never closes a connection that stays idle, or that sends its request head a
//! byte at a time: 300 such connections took a service's 256 file descriptors, and deliveries
//! and `/live` then timed out. hyper can bound the time a request's head takes to arrive, from
//! the moment the connection waits for one (so an idle keep-alive connection is closed too),
//! but `axum::serve` does not expose it; this serve loop does.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

/// The default [`Serve::header_timeout`]: 10 s, the receiver's body timeout.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a graceful shutdown waits for requests under way before closing their connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Serves `router` on `listener` as `axum::serve` does (HTTP/1.1 and HTTP/2), and closes a
/// connection whose next request head has not arrived within the header timeout (10 s by
/// default), whether it stays idle or trickles (a connection that sends nothing at all, within
/// the same time). Await it, or set the timeout first:
///
/// ```no_run
/// # async fn demo(router: axum::Router, stop: tokio::sync::oneshot::Receiver<()>) -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:4000").await?;
/// vwo_webhook_axum::serve(listener, router)
///     .header_timeout(std::time::Duration::from_secs(5))
///     .with_graceful_shutdown(async { let _ = stop.await; }) // e.g. on SIGTERM
///     .await
/// # }
/// ```
pub fn serve(listener: TcpListener, router: Router) -> Serve {
    Serve {
        listener,
        router,
        header_timeout: DEFAULT_HEADER_TIMEOUT,
    }
}

/// A server being set up; see [`serve`].
#[derive(Debug)]
#[must_use = "a server does nothing until it is awaited"]
pub struct Serve {
    listener: TcpListener,
    router: Router,
    header_timeout: Duration,
}

impl Serve {
    /// How long a connection may take to send a request's head, counted from the moment it is
    /// waited for: a new connection, or a kept-alive one after its last answer.
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.header_timeout = timeout;
        self
    }

    /// Serves until `signal` completes, then lets requests under way finish (10 s at most).
    pub async fn with_graceful_shutdown(self, signal: impl Future<Output = ()>) -> std::io::Result<()> {
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_timeout);
        let graceful = GracefulShutdown::new();
        let mut signal = std::pin::pin!(signal);
        loop {
            let stream = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(error) => {
                        // Out of file descriptors, most likely: wait rather than spin.
                        tracing::warn!(%error, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
                () = signal.as_mut() => break,
            };
            let service = TowerToHyperService::new(self.router.clone());
            let (builder, watcher, timeout) = (builder.clone(), graceful.watcher(), self.header_timeout);
            tokio::spawn(async move {
                // HTTP/1 or HTTP/2 is told from the first bytes, before hyper's header timer
                // runs: a connection that sends none is closed here.
                let mut first = [0u8; 1];
                if !matches!(
                    tokio::time::timeout(timeout, stream.peek(&mut first)).await,
                    Ok(Ok(1..))
                ) {
                    return;
                }
                let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                // A connection's end (timed out, reset, closed) is no server error.
                let _ = watcher.watch(connection.into_owned()).await;
            });
        }
        drop(self.listener);
        if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!("connections still open after the shutdown grace period; closing them");
        }
        Ok(())
    }
}

impl std::future::IntoFuture for Serve {
    type Output = std::io::Result<()>;
    type IntoFuture = std::pin::Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.with_graceful_shutdown(std::future::pending()))
    }
}
