//! An origin that answers from a script, then serves its published document with an ETag:
//! what the fault tests make misbehave on cue, and what the fleet tests count fetches on.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;

use super::http::{read_request, response, send};

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// 200 with this JSON body and ETag.
    Json(&'static str, Option<&'static str>),
    /// The status with these extra headers and a small JSON body (none for a 304).
    Status(u16, &'static [(&'static str, &'static str)]),
    /// Waits, then gives the inner reply.
    After(Duration, Box<Reply>),
    /// 200 with this content type and body.
    Typed(&'static str, &'static str),
    /// Declares the whole body, sends half, closes.
    Truncated(&'static str),
    /// 200 JSON without a `content-length` (close-delimited): `padding` spaces, then the body.
    Unsized(&'static str, usize),
}

/// A request as the origin saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The request line (`GET /path?query HTTP/1.1`).
    pub line: String,
    /// Its `If-None-Match`, if sent.
    pub if_none_match: Option<String>,
    /// When its head was read.
    pub at: std::time::Instant,
}

#[derive(Debug, Default)]
struct Script {
    replies: VecDeque<Reply>,
    seen: Vec<Seen>,
    published: (Arc<str>, Arc<str>),
    delay: Duration,
    failing: Option<u16>,
}

/// A settings origin on loopback. It answers each request with the next scripted [`Reply`];
/// once the script is used up, with its failing status if one is set, else with the published
/// document and its ETag (304 for a matching `If-None-Match`), after the delay set.
#[derive(Debug, Clone)]
pub struct Origin {
    addr: SocketAddr,
    script: Arc<Mutex<Script>>,
    /// Woken on every request.
    requested: Arc<Notify>,
}

impl Origin {
    /// Starts it on `127.0.0.1` at an ephemeral port, publishing `document` with `etag`
    /// (quoted, as sent: `"\"v1\""`), on the current tokio runtime.
    pub async fn start(document: &str, etag: &str) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let origin = Self {
            addr: listener.local_addr()?,
            script: Arc::default(),
            requested: Arc::default(),
        };
        origin.publish(document, etag);
        let serving = origin.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serving.clone().serve(stream));
            }
        });
        Ok(origin)
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://` and its address: the base URL a settings backend fetches from.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Answers the next request not yet scripted with `reply`.
    pub fn then(&self, reply: Reply) {
        self.lock().replies.push_back(reply);
    }

    /// Serves `document` with `etag` once the script is used up.
    pub fn publish(&self, document: &str, etag: &str) {
        self.lock().published = (document.into(), etag.into());
    }

    /// Answers unscripted requests after `delay`.
    pub fn slow(&self, delay: Duration) {
        self.lock().delay = delay;
    }

    /// Answers unscripted requests with `status` and no document, or serves again with `None`.
    pub fn fail(&self, status: Option<u16>) {
        self.lock().failing = status;
    }

    /// Every request so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.lock().seen.clone()
    }

    /// How many requests it has received.
    pub fn requests(&self) -> usize {
        self.lock().seen.len()
    }

    /// Waits until at least `n` requests arrived, panicking after 10 s.
    pub async fn wait_requests(&self, n: usize) {
        let wait = async {
            loop {
                let requested = self.requested.notified();
                if self.requests() >= n {
                    return;
                }
                requested.await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), wait)
            .await
            .unwrap_or_else(|_| panic!("waited 10 s for {n} requests, saw {}", self.requests()));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Script> {
        self.script.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn serve(self, stream: tokio::net::TcpStream) {
        let Ok(Some(request)) = read_request(stream).await else {
            return;
        };
        let if_none_match = request.header("if-none-match").map(str::to_owned);
        let (scripted, delay, failing, (document, etag)) = {
            let mut script = self.lock();
            script.seen.push(Seen {
                line: request.line().to_owned(),
                if_none_match: if_none_match.clone(),
                at: std::time::Instant::now(),
            });
            let scripted = script.replies.pop_front();
            (scripted, script.delay, script.failing, script.published.clone())
        };
        self.requested.notify_waiters();
        if let Some(reply) = scripted {
            let _ = send(request.stream, &scripted_response(reply).await).await;
            return;
        }
        tokio::time::sleep(delay).await;
        let etag_line = format!("etag: {etag}\r\n");
        let text = match failing {
            Some(status) => response(status, "application/json", "", ""),
            None if if_none_match.as_deref() == Some(&*etag) => {
                response(304, "application/json", &etag_line, "")
            }
            None => response(200, "application/json", &etag_line, &document),
        };
        let _ = send(request.stream, &text).await;
    }
}

/// The scripted reply's response, once its waits are over.
async fn scripted_response(mut reply: Reply) -> String {
    while let Reply::After(delay, inner) = reply {
        tokio::time::sleep(delay).await;
        reply = *inner;
    }
    match reply {
        Reply::Json(body, etag) => {
            let etag = etag.map(|e| format!("etag: {e}\r\n")).unwrap_or_default();
            response(200, "application/json", &etag, body)
        }
        Reply::Status(status, headers) => {
            let extra: String = headers.iter().map(|(n, v)| format!("{n}: {v}\r\n")).collect();
            let body = if status == 304 {
                ""
            } else {
                r#"{"error":"scripted"}"#
            };
            response(status, "application/json", &extra, body)
        }
        Reply::Typed(content_type, body) => response(200, content_type, "", body),
        Reply::Truncated(body) => {
            let half = &body[..body.len() / 2];
            format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{half}",
                body.len()
            )
        }
        Reply::Unsized(body, padding) => format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{}{body}",
            " ".repeat(padding)
        ),
        Reply::After(..) => unreachable!("unwrapped above"),
    }
}
