//! Settings origins on loopback: one fixed document, or one that changes before every fetch.
//! What keeps the whole loop (webhook, fetch, validate, swap) working offline in demos, and
//! steady origins for benchmarks. Behind the `demo-origin` feature: a production service has
//! no use for them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Serves `document` as `application/json` (no `ETag`, so every fetch brings a new snapshot)
/// to every request on `127.0.0.1` at an ephemeral port, and returns that address. Runs on the
/// current tokio runtime until it shuts down.
pub fn spawn_fixed_origin(document: &'static str) -> std::io::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(answer(stream, document));
        }
    });
    Ok(addr)
}

/// Reads the request head, then answers with the whole document and closes.
async fn answer(mut stream: tokio::net::TcpStream, document: &str) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await? {
            0 => return Ok(()),
            n => head.extend_from_slice(&buf[..n]),
        }
    }
    let response = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{document}",
        document.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

/// A loopback origin whose settings change before every fetch: it serves `document` with its
/// `version` set to the number of fetches so far (1, 2, ...), after `delay`. What makes each
/// webhook of a demo visibly bring new settings, and what a benchmark counts fetches with.
#[derive(Debug, Clone)]
pub struct ChangingOrigin {
    addr: SocketAddr,
    fetches: Arc<AtomicU64>,
    delay_ms: Arc<AtomicU64>,
    template: Arc<std::sync::Mutex<Arc<Value>>>,
}

impl ChangingOrigin {
    /// Starts it on `127.0.0.1` at an ephemeral port, on the current tokio runtime.
    pub fn spawn(document: &'static str, delay: Duration) -> std::io::Result<Self> {
        let template: Value = serde_json::from_str(document)
            .map_err(|error| std::io::Error::new(std::io::ErrorKind::InvalidData, error))?;
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let fetches = Arc::new(AtomicU64::new(0));
        let delay_ms = Arc::new(AtomicU64::new(millis(delay)));
        let (counter, pause) = (Arc::clone(&fetches), Arc::clone(&delay_ms));
        let template = Arc::new(std::sync::Mutex::new(Arc::new(template)));
        let current = Arc::clone(&template);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let counter = Arc::clone(&counter);
                let template = Arc::clone(&current.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
                let delay = Duration::from_millis(pause.load(Ordering::SeqCst));
                tokio::spawn(async move {
                    let version = counter.fetch_add(1, Ordering::SeqCst) + 1;
                    let mut document = (*template).clone();
                    document["version"] = Value::from(version);
                    tokio::time::sleep(delay).await;
                    let _ = answer(stream, &document.to_string()).await;
                });
            }
        });
        Ok(Self {
            addr,
            fetches,
            delay_ms,
            template,
        })
    }

    /// Serves `document` (still with the rising `version`) to the fetches that arrive from
    /// now on: a change made in VWO's dashboard, for a demo or a test.
    pub fn set_document(&self, document: &str) -> std::io::Result<()> {
        let document: Value = serde_json::from_str(document)
            .map_err(|error| std::io::Error::new(std::io::ErrorKind::InvalidData, error))?;
        *self
            .template
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(document);
        Ok(())
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Answers fetches that arrive from now on after `delay` (millisecond precision).
    pub fn set_delay(&self, delay: Duration) {
        self.delay_ms.store(millis(delay), Ordering::SeqCst);
    }

    /// How many fetches it has answered or is answering.
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::SeqCst)
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    const DOCUMENT: &str = include_str!("../testdata/OnlyRolloutSettings.json");

    /// One fetch's document.
    async fn fetch(addr: SocketAddr) -> Value {
        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        stream
            .write_all(b"GET /server-side/v2-settings HTTP/1.1\r\nhost: origin\r\n\r\n")
            .await
            .expect("request");
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.expect("response");
        let text = String::from_utf8(response).expect("UTF-8");
        let (_, body) = text.split_once("\r\n\r\n").expect("a body");
        serde_json::from_str(body).expect("JSON")
    }

    #[tokio::test(start_paused = true)]
    async fn each_fetch_brings_the_next_version_after_the_delay_set() {
        let origin = ChangingOrigin::spawn(DOCUMENT, Duration::ZERO).expect("origin");
        assert_eq!(fetch(origin.addr()).await["version"], 1);
        origin.set_delay(Duration::from_secs(3600));
        let asked = tokio::time::Instant::now();
        assert_eq!(fetch(origin.addr()).await["version"], 2);
        assert!(
            asked.elapsed() >= Duration::from_secs(3600),
            "answered after the delay"
        );
        assert_eq!(origin.fetches(), 2);
    }

    #[tokio::test]
    async fn a_new_document_is_served_from_the_next_fetch_on() {
        let origin = ChangingOrigin::spawn(DOCUMENT, Duration::ZERO).expect("origin");
        assert!(
            fetch(origin.addr()).await["features"]
                .as_array()
                .is_some_and(|f| !f.is_empty())
        );
        origin
            .set_document(r#"{"version": 1, "accountId": 1, "campaigns": [], "features": []}"#)
            .expect("JSON");
        let served = fetch(origin.addr()).await;
        assert_eq!(served["features"], serde_json::json!([]));
        assert_eq!(served["version"], 2, "the version still rises");
        assert!(origin.set_document("not json").is_err());
    }
}
