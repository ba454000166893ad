//! [`HeadTimeout`]: poem's acceptor with a deadline on every request head.
//!
//! poem's `idle_timeout` closes a connection that sends nothing, but any byte resets it: a
//! client sending its head a byte a second holds the connection forever, and a few hundred
//! such clients take a service's file descriptors. poem has no header timeout, so this one
//! watches the bytes: a connection must finish each request head (up to its blank line)
//! within the timeout, counted from the connection's start and from each answer. A body is
//! the receiver's to time (its `body_timeout`), and HTTP/2 is left to poem's own timeouts.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use poem::http::uri::Scheme;
use poem::listener::Acceptor;
use poem::web::{LocalAddr, RemoteAddr};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// The default head timeout: 10 s, the receiver's body timeout.
pub const DEFAULT_HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// Closes a connection whose next request head has not arrived within `timeout`, idle or
/// trickling. Wrap the acceptor poem serves from:
///
/// ```no_run
/// use poem::listener::{Listener, TcpListener};
/// # async fn demo(app: poem::Route) -> std::io::Result<()> {
/// let acceptor = TcpListener::bind("127.0.0.1:4000").into_acceptor().await?;
/// poem::Server::new_with_acceptor(vwo_webhook_poem::head_timeout(acceptor, vwo_webhook_poem::DEFAULT_HEAD_TIMEOUT))
///     .run(app)
///     .await
/// # }
/// ```
pub fn head_timeout<A: Acceptor>(acceptor: A, timeout: Duration) -> HeadTimeout<A> {
    HeadTimeout {
        inner: acceptor,
        timeout,
    }
}

/// An acceptor whose connections must send each request head within a timeout; see
/// [`head_timeout`].
#[derive(Debug)]
pub struct HeadTimeout<A> {
    inner: A,
    timeout: Duration,
}

impl<A: Acceptor> Acceptor for HeadTimeout<A> {
    type Io = HeadGuarded<A::Io>;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.inner.local_addr()
    }

    fn accept(
        &mut self,
    ) -> impl Future<Output = io::Result<(Self::Io, LocalAddr, RemoteAddr, Scheme)>> + Send {
        let timeout = self.timeout;
        let accepted = self.inner.accept();
        async move {
            let (io, local, remote, scheme) = accepted.await?;
            Ok((HeadGuarded::new(io, timeout), local, remote, scheme))
        }
    }
}

/// Where a connection is in its exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for a head; `matched` bytes of `\r\n\r\n` seen so far, `read` bytes in all.
    Head { matched: u8, read: usize },
    /// The head arrived: a body, the handler, then the answer.
    Request,
    /// HTTP/2: poem's own timeouts apply.
    Off,
}

/// A connection of [`HeadTimeout`]'s.
#[derive(Debug)]
pub struct HeadGuarded<Io> {
    io: Io,
    timeout: Duration,
    phase: Phase,
    deadline: Pin<Box<Sleep>>,
}

/// The blank line that ends a head.
const END: &[u8; 4] = b"\r\n\r\n";
/// How HTTP/2 with prior knowledge starts.
const PREFACE: &[u8] = b"PRI * HTTP/2";

impl<Io> HeadGuarded<Io> {
    fn new(io: Io, timeout: Duration) -> Self {
        Self {
            io,
            timeout,
            phase: Phase::Head { matched: 0, read: 0 },
            deadline: Box::pin(tokio::time::sleep(timeout)),
        }
    }

    /// Follows the bytes just read: the end of a head, or HTTP/2's preface.
    fn saw(&mut self, bytes: &[u8]) {
        let Phase::Head {
            mut matched,
            mut read,
        } = self.phase
        else {
            return;
        };
        if read == 0 && bytes.starts_with(PREFACE) {
            self.phase = Phase::Off;
            return;
        }
        for &byte in bytes {
            read += 1;
            matched = if byte == END[usize::from(matched)] {
                matched + 1
            } else if byte == b'\r' {
                1
            } else {
                0
            };
            if usize::from(matched) == END.len() {
                self.phase = Phase::Request;
                return;
            }
        }
        self.phase = Phase::Head { matched, read };
    }
}

impl<Io: AsyncRead + Unpin> AsyncRead for HeadGuarded<Io> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let this = &mut *self;
                this.saw(&buf.filled()[before..]);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => {
                if matches!(self.phase, Phase::Head { .. }) {
                    ready!(self.deadline.as_mut().poll(cx));
                    tracing::debug!("closing a connection whose request head did not arrive in time");
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the request head did not arrive in time",
                    )));
                }
                Poll::Pending
            }
        }
    }
}

impl<Io: AsyncWrite + Unpin> AsyncWrite for HeadGuarded<Io> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        // An answer: the next head is waited for from now.
        if self.phase != Phase::Off {
            let deadline = Instant::now() + self.timeout;
            self.deadline.as_mut().reset(deadline);
            self.phase = Phase::Head { matched: 0, read: 0 };
        }
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_ends_at_its_blank_line_whatever_the_reads() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        let _entered = runtime.enter();
        let mut guarded = HeadGuarded::new((), Duration::from_secs(1));
        for byte in b"POST / HTTP/1.1\r\nhost: x\r\n\r" {
            guarded.saw(&[*byte]);
            assert!(matches!(guarded.phase, Phase::Head { .. }));
        }
        guarded.saw(b"\n{\"body\":1}");
        assert_eq!(guarded.phase, Phase::Request);
        let mut h2 = HeadGuarded::new((), Duration::from_secs(1));
        h2.saw(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
        assert_eq!(h2.phase, Phase::Off);
    }
}
