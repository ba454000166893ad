//! An origin whose settings change before every fetch.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::Value;

use super::events::Events;
use super::http::{answer, fail, read_request};

/// A loopback origin whose settings change before every fetch: it serves `document` with its
/// `version` set to the number of fetches so far (1, 2, ...), after `delay`. What makes each
/// webhook of a demo visibly bring new settings, and what a benchmark counts fetches with.
#[derive(Debug, Clone)]
pub struct ChangingOrigin {
    addr: SocketAddr,
    fetches: Arc<AtomicU64>,
    requests: Arc<AtomicU64>,
    failing: Arc<std::sync::atomic::AtomicU16>,
    delay_ms: Arc<AtomicU64>,
    template: Arc<std::sync::Mutex<Arc<Value>>>,
    /// Served on even fetches instead of `template`, when set.
    alternate: Arc<std::sync::Mutex<Option<Arc<Value>>>>,
    events: Events,
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
        let requests = Arc::new(AtomicU64::new(0));
        let failing = Arc::new(std::sync::atomic::AtomicU16::new(0));
        let delay_ms = Arc::new(AtomicU64::new(millis(delay)));
        let (counter, pause) = (Arc::clone(&fetches), Arc::clone(&delay_ms));
        let (asked, refusing) = (Arc::clone(&requests), Arc::clone(&failing));
        let template = Arc::new(std::sync::Mutex::new(Arc::new(template)));
        let current = Arc::clone(&template);
        let alternate: Arc<std::sync::Mutex<Option<Arc<Value>>>> = Arc::default();
        let current_alternate = Arc::clone(&alternate);
        let events = Events::default();
        let posted = events.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let counter = Arc::clone(&counter);
                let template = Arc::clone(&current.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
                let alternate = current_alternate
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .clone();
                let delay = Duration::from_millis(pause.load(Ordering::SeqCst));
                let posted = posted.clone();
                let (asked, refusing) = (Arc::clone(&asked), Arc::clone(&refusing));
                tokio::spawn(async move {
                    let Ok(Some(request)) = read_request(stream).await else {
                        return;
                    };
                    if request.method == "POST" {
                        return posted.record(request).await;
                    }
                    asked.fetch_add(1, Ordering::SeqCst);
                    let status = refusing.load(Ordering::SeqCst);
                    if status != 0 {
                        tokio::time::sleep(delay).await;
                        let _ = fail(request.stream, status).await;
                        return;
                    }
                    let version = counter.fetch_add(1, Ordering::SeqCst) + 1;
                    let served = match alternate {
                        Some(alternate) if version % 2 == 0 => alternate,
                        _ => template,
                    };
                    let mut document = (*served).clone();
                    document["version"] = Value::from(version);
                    tokio::time::sleep(delay).await;
                    let _ = answer(request.stream, &document.to_string()).await;
                });
            }
        });
        Ok(Self {
            addr,
            fetches,
            requests,
            failing,
            delay_ms,
            template,
            alternate,
            events,
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

    /// Serves `document` on every even fetch (the 2nd, the 4th, ...) and the first document on
    /// the odd ones: a demo whose every webhook visibly changes a decision.
    pub fn alternate_with(&self, document: &str) -> std::io::Result<()> {
        let document: Value = serde_json::from_str(document)
            .map_err(|error| std::io::Error::new(std::io::ErrorKind::InvalidData, error))?;
        *self
            .alternate
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::new(document));
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

    /// How many fetches it has answered or is answering with a document (each a version).
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::SeqCst)
    }

    /// How many settings requests it has received, failed ones included.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }

    /// Answers the requests that arrive from now on with `status` and no document (an
    /// origin fault), or serves again with `None`.
    pub fn set_failing(&self, status: Option<u16>) {
        self.failing.store(status.unwrap_or(0), Ordering::SeqCst);
    }

    /// The events posted to it so far (a batch's events one by one), as JSON.
    pub fn events(&self) -> Vec<Value> {
        self.events.all()
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    const DOCUMENT: &str = include_str!("../../../vwo-webhook-settings/testdata/OnlyRolloutSettings.json");

    /// One fetch's whole response.
    async fn fetch_raw(addr: SocketAddr) -> Vec<u8> {
        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        stream
            .write_all(b"GET /server-side/v2-settings HTTP/1.1\r\nhost: origin\r\n\r\n")
            .await
            .expect("request");
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.expect("response");
        response
    }

    /// One fetch's document.
    async fn fetch(addr: SocketAddr) -> Value {
        let text = String::from_utf8(fetch_raw(addr).await).expect("UTF-8");
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
    async fn posted_events_are_kept_and_are_not_fetches() {
        let origin = ChangingOrigin::spawn(DOCUMENT, Duration::ZERO).expect("origin");
        let body = r#"{"ev": [{"d": {"event": {"name": "vwo_variationShown"}}}, {"d": {"event": {"name": "purchase"}}}]}"#;
        let mut stream = tokio::net::TcpStream::connect(origin.addr())
            .await
            .expect("connect");
        let request = format!(
            "POST /server-side/batch-events-v2?a=1 HTTP/1.1\r\nhost: origin\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).await.expect("request");
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.expect("response");
        assert!(response.starts_with(b"HTTP/1.1 200 OK"));
        let names: Vec<Value> = origin
            .events()
            .iter()
            .map(|e| e["d"]["event"]["name"].clone())
            .collect();
        assert_eq!(
            names,
            [
                serde_json::json!("vwo_variationShown"),
                serde_json::json!("purchase")
            ]
        );
        assert_eq!(origin.fetches(), 0);
    }

    #[tokio::test]
    async fn a_failing_origin_answers_its_status_and_numbers_no_version() {
        let origin = ChangingOrigin::spawn(DOCUMENT, Duration::ZERO).expect("origin");
        assert_eq!(fetch(origin.addr()).await["version"], 1);
        origin.set_failing(Some(500));
        let response = fetch_raw(origin.addr()).await;
        assert!(
            response.starts_with(b"HTTP/1.1 500 "),
            "{}",
            String::from_utf8_lossy(&response)
        );
        origin.set_failing(None);
        assert_eq!(
            fetch(origin.addr()).await["version"],
            2,
            "the failed request made no version"
        );
        assert_eq!((origin.fetches(), origin.requests()), (2, 3));
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
