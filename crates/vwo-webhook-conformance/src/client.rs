//! A deliberately plain HTTP/1.1 client over a raw socket.
//!
//! The suite needs requests no polite client sends: a declared length with no body behind it,
//! header names in odd cases, chunked bodies past the limit. Writing the bytes by hand keeps
//! every case honest about what went over the wire.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long any one exchange may take before the case fails.
pub const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(20);

/// What to send. Its `Debug` shows header values only for framing headers and never the
/// body, so a failing check cannot print a key (the runner checks real endpoints).
#[derive(Clone)]
pub struct Request {
    method: String,
    path: String,
    host: String,
    headers: Vec<(String, String)>,
    body: Body,
}

#[derive(Debug, Clone)]
enum Body {
    /// Sent with a matching `Content-Length`.
    Full(Vec<u8>),
    /// Sent with `Transfer-Encoding: chunked`, in chunks of the given size; the final
    /// zero-size chunk follows when the flag is true.
    Chunked(Vec<u8>, usize, bool),
    /// A declared `Content-Length` of which only the given first bytes are sent.
    Truncated(u64, Vec<u8>),
    /// Sent as given, framed by the headers the caller set (a hostile client's framing).
    Framed(Vec<u8>),
}

/// What came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Headers in arrival order, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The decoded body.
    pub body: Vec<u8>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const SHOWN: [&str; 3] = ["content-type", "content-length", "transfer-encoding"];
        let headers: Vec<String> = self
            .headers
            .iter()
            .map(
                |(name, value)| match SHOWN.contains(&name.to_ascii_lowercase().as_str()) {
                    true => format!("{name}: {value}"),
                    false => format!("{name}: <{} bytes>", value.len()),
                },
            )
            .collect();
        let body = match &self.body {
            Body::Full(body) => format!("{} bytes", body.len()),
            Body::Chunked(body, _, true) => format!("{} bytes chunked", body.len()),
            Body::Chunked(body, _, false) => format!("{} bytes chunked, unterminated", body.len()),
            Body::Truncated(length, sent) => format!("{} of {length} declared bytes", sent.len()),
            Body::Framed(body) => format!("{} bytes framed by the caller", body.len()),
        };
        write!(f, "{} {} {headers:?} body: {body}", self.method, self.path)
    }
}

impl Request {
    /// A request with `method` for `path`.
    pub fn new(method: &str, path: &str) -> Self {
        Self {
            method: method.to_owned(),
            path: path.to_owned(),
            host: "127.0.0.1".to_owned(),
            headers: Vec::new(),
            body: Body::Full(Vec::new()),
        }
    }

    /// A `POST` to `path` with `body`.
    pub fn post(path: &str, body: impl Into<Vec<u8>>) -> Self {
        Self::new("POST", path).body(body)
    }

    /// Sets the `Host` header (default `127.0.0.1`).
    pub fn host(mut self, host: &str) -> Self {
        host.clone_into(&mut self.host);
        self
    }

    /// Adds a header, name written exactly as given.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the body, sent with its `Content-Length`.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Body::Full(body.into());
        self
    }

    /// Sends `body` chunked, `chunk` bytes at a time.
    pub fn chunked(mut self, body: impl Into<Vec<u8>>, chunk: usize) -> Self {
        self.body = Body::Chunked(body.into(), chunk.max(1), true);
        self
    }

    /// Sends `body` chunked but never ends it: only a server that stops reading at its limit
    /// can answer before the exchange times out.
    pub fn chunked_unterminated(mut self, body: impl Into<Vec<u8>>, chunk: usize) -> Self {
        self.body = Body::Chunked(body.into(), chunk.max(1), false);
        self
    }

    /// Declares `Content-Length: length` but sends only the body set so far, then stalls,
    /// like a client whose upload is still on its way.
    pub fn declared_length(mut self, length: u64) -> Self {
        let sent = match std::mem::replace(&mut self.body, Body::Full(Vec::new())) {
            Body::Full(body) | Body::Chunked(body, ..) | Body::Truncated(_, body) | Body::Framed(body) => {
                body
            }
        };
        self.body = Body::Truncated(length, sent);
        self
    }

    /// Sends `bytes` as the body exactly as given, with no framing header of the client's
    /// own: the caller sets `Content-Length` and `Transfer-Encoding` (both, or odd ones).
    pub fn framed(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.body = Body::Framed(bytes.into());
        self
    }

    /// The same request for another path.
    pub fn path(mut self, path: &str) -> Self {
        path.clone_into(&mut self.path);
        self
    }

    fn head(&self) -> Vec<u8> {
        self.head_with("close")
    }

    fn head_with(&self, connection: &str) -> Vec<u8> {
        let mut head = format!(
            "{} {} HTTP/1.1\r\nhost: {}\r\nconnection: {connection}\r\n",
            self.method, self.path, self.host
        );
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        match &self.body {
            Body::Full(body) if body.is_empty() && matches!(self.method.as_str(), "GET" | "HEAD") => {}
            Body::Full(body) => head.push_str(&format!("content-length: {}\r\n", body.len())),
            Body::Chunked(..) => head.push_str("transfer-encoding: chunked\r\n"),
            Body::Truncated(length, _) => head.push_str(&format!("content-length: {length}\r\n")),
            Body::Framed(_) => {}
        }
        head.push_str("\r\n");
        head.into_bytes()
    }

    /// Sends the request to `addr` and reads the whole response.
    ///
    /// Write errors after the head are tolerated: a server may answer 413 and close before
    /// the client has finished sending, and the answer is what the case is about.
    pub async fn send(&self, addr: SocketAddr) -> Result<Response, String> {
        tokio::time::timeout(EXCHANGE_TIMEOUT, self.exchange(addr, false))
            .await
            .map_err(|_| format!("no complete response within {EXCHANGE_TIMEOUT:?}"))?
    }

    /// [`Request::send`], and fails unless the server closes the connection within 2 s of its
    /// response.
    pub async fn send_expecting_close(&self, addr: SocketAddr) -> Result<Response, String> {
        tokio::time::timeout(EXCHANGE_TIMEOUT, self.exchange(addr, true))
            .await
            .map_err(|_| format!("no complete response within {EXCHANGE_TIMEOUT:?}"))?
    }

    async fn exchange(&self, addr: SocketAddr, expect_close: bool) -> Result<Response, String> {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect {addr}: {e}"))?;
        let (mut reader, mut writer) = stream.into_split();
        let head = self.head();
        let body = self.body.clone();
        let write = async move {
            writer.write_all(&head).await?;
            match body {
                Body::Full(body) | Body::Truncated(_, body) | Body::Framed(body) => {
                    writer.write_all(&body).await?
                }
                Body::Chunked(body, size, terminated) => {
                    for chunk in body.chunks(size) {
                        writer
                            .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                            .await?;
                        writer.write_all(chunk).await?;
                        writer.write_all(b"\r\n").await?;
                    }
                    if terminated {
                        writer.write_all(b"0\r\n\r\n").await?;
                    }
                }
            }
            writer.flush().await?;
            // Keep the write half open: closing it could look like an aborted upload.
            Ok::<_, std::io::Error>(writer)
        };
        let read = async {
            let mut raw = Vec::new();
            let mut buf = [0u8; 8192];
            loop {
                if let Some(response) = parse(&raw, false)? {
                    if expect_close {
                        let closed =
                            tokio::time::timeout(Duration::from_secs(2), reader.read(&mut buf)).await;
                        if !matches!(closed, Ok(Ok(0) | Err(_))) {
                            return Err(format!(
                                "the connection stayed open after the {} answer",
                                response.status
                            ));
                        }
                    }
                    return Ok(response);
                }
                match reader.read(&mut buf).await {
                    Ok(0) => break,
                    Ok(n) => raw.extend_from_slice(&buf[..n]),
                    // A reset after the server answered and closed: use what arrived.
                    Err(_) if !raw.is_empty() => break,
                    Err(e) => return Err(format!("read: {e}")),
                }
            }
            parse(&raw, true)?.ok_or_else(|| "no response".to_owned())
        };
        let (written, response) = tokio::join!(write, read);
        drop(written);
        response
    }
}

/// Sends `requests` one after the other on one kept-alive connection, each after the answer
/// to the one before, and returns the answers. Fails if the server closes the connection
/// before answering them all.
pub async fn send_on_one_connection(addr: SocketAddr, requests: &[Request]) -> Result<Vec<Response>, String> {
    let exchange = async {
        let mut stream = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect {addr}: {e}"))?;
        let mut raw = Vec::new();
        let mut answers = Vec::new();
        for (index, request) in requests.iter().enumerate() {
            let last = index + 1 == requests.len();
            let mut bytes = request.head_with(if last { "close" } else { "keep-alive" });
            match &request.body {
                Body::Full(body) => bytes.extend_from_slice(body),
                _ => return Err("only whole bodies go over a kept-alive connection".to_owned()),
            }
            stream
                .write_all(&bytes)
                .await
                .map_err(|e| format!("request {}: the connection is closed: {e}", index + 1))?;
            let (response, used) = read_response(&mut stream, &mut raw).await.map_err(|e| {
                format!(
                    "request {} of {} on one connection: {e}",
                    index + 1,
                    requests.len()
                )
            })?;
            raw.drain(..used);
            answers.push(response);
        }
        Ok(answers)
    };
    tokio::time::timeout(EXCHANGE_TIMEOUT, exchange)
        .await
        .map_err(|_| format!("no complete responses within {EXCHANGE_TIMEOUT:?}"))?
}

/// Reads one response from `stream` (after what `raw` holds already): the response and how
/// many bytes of `raw` it used.
async fn read_response(stream: &mut TcpStream, raw: &mut Vec<u8>) -> Result<(Response, usize), String> {
    let mut buf = [0u8; 8192];
    loop {
        if let Some(parsed) = parse_framed(raw, false)? {
            return Ok(parsed);
        }
        match stream.read(&mut buf).await {
            Ok(0) => {
                return parse_framed(raw, true)?
                    .ok_or_else(|| "the connection was closed, no response".to_owned());
            }
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) => return Err(format!("read: {e}")),
        }
    }
}

/// What a request with `Expect: 100-continue` met: whether the server asked for the body
/// (`100 Continue`) before its final answer.
#[derive(Debug)]
pub struct Continued {
    /// Whether `100 Continue` came first.
    pub continued: bool,
    /// The final answer.
    pub response: Response,
}

impl Request {
    /// Sends the head with `Expect: 100-continue`, then the body only if the server answers
    /// `100 Continue`; returns whether it did and the final answer.
    pub async fn send_expecting_continue(&self, addr: SocketAddr) -> Result<Continued, String> {
        let exchange = async {
            let mut stream = TcpStream::connect(addr)
                .await
                .map_err(|e| format!("connect {addr}: {e}"))?;
            let request = self.clone().header("expect", "100-continue");
            stream
                .write_all(&request.head())
                .await
                .map_err(|e| format!("write: {e}"))?;
            let mut raw = Vec::new();
            let (first, used) = read_response(&mut stream, &mut raw).await?;
            if first.status != 100 {
                return Ok(Continued {
                    continued: false,
                    response: first,
                });
            }
            raw.drain(..used);
            let body = match &self.body {
                Body::Full(body) | Body::Truncated(_, body) | Body::Framed(body) => body.clone(),
                Body::Chunked(..) => return Err("send a whole body after 100 Continue".to_owned()),
            };
            stream.write_all(&body).await.map_err(|e| format!("write: {e}"))?;
            let (response, _) = read_response(&mut stream, &mut raw).await?;
            Ok(Continued {
                continued: true,
                response,
            })
        };
        tokio::time::timeout(EXCHANGE_TIMEOUT, exchange)
            .await
            .map_err(|_| format!("no complete response within {EXCHANGE_TIMEOUT:?}"))?
    }
}

/// Parses a complete response out of `raw`, or `None` if more bytes are needed. At end of
/// stream (`eof`), a response without framing ends where the bytes end.
fn parse(raw: &[u8], eof: bool) -> Result<Option<Response>, String> {
    Ok(parse_framed(raw, eof)?.map(|(response, _)| response))
}

/// [`parse`], with how many bytes the response took.
fn parse_framed(raw: &[u8], eof: bool) -> Result<Option<(Response, usize)>, String> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Response::new(&mut headers);
    let head_len = match parsed
        .parse(raw)
        .map_err(|e| format!("malformed response head: {e}"))?
    {
        httparse::Status::Complete(len) => len,
        httparse::Status::Partial if eof => {
            return Err(format!(
                "connection closed after {} bytes, before a complete response",
                raw.len()
            ));
        }
        httparse::Status::Partial => return Ok(None),
    };
    let status = parsed.code.unwrap_or_default();
    let headers: Vec<(String, String)> = parsed
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_ascii_lowercase(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect();
    let rest = &raw[head_len..];
    let find = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    let (body, used) = if (100..200).contains(&status) || status == 204 || status == 304 {
        (Vec::new(), 0)
    } else if let Some(length) = find("content-length") {
        let length: usize = length
            .trim()
            .parse()
            .map_err(|_| "bad content-length in response")?;
        match rest.get(..length) {
            Some(body) => (body.to_vec(), length),
            None if eof => return Err(format!("body cut short: {} of {length} bytes", rest.len())),
            None => return Ok(None),
        }
    } else if find("transfer-encoding").is_some_and(|te| te.contains("chunked")) {
        match dechunk(rest)? {
            Some((body, used)) => (body, used),
            None if eof => return Err("chunked body cut short".to_owned()),
            None => return Ok(None),
        }
    } else if eof {
        (rest.to_vec(), rest.len())
    } else {
        return Ok(None);
    };
    Ok(Some((
        Response {
            status,
            headers,
            body,
        },
        head_len + used,
    )))
}

/// The chunked body at the start of `rest`, and how many bytes it took.
fn dechunk(mut rest: &[u8]) -> Result<Option<(Vec<u8>, usize)>, String> {
    let total = rest.len();
    let mut body = Vec::new();
    loop {
        let (used, size) = match httparse::parse_chunk_size(rest).map_err(|_| "bad chunk size")? {
            httparse::Status::Complete(parsed) => parsed,
            httparse::Status::Partial => return Ok(None),
        };
        let size = usize::try_from(size).map_err(|_| "bad chunk size")?;
        rest = &rest[used..];
        if size == 0 {
            // The last chunk, then (no trailers) the final CRLF.
            let Some(end) = rest.windows(2).position(|w| w == b"\r\n") else {
                return Ok(None);
            };
            return Ok(Some((body, total - rest.len() + end + 2)));
        }
        if rest.len() < size + 2 {
            return Ok(None);
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

impl Response {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> Result<serde_json::Value, String> {
        serde_json::from_slice(&self.body).map_err(|e| format!("body is not JSON ({e}): {:?}", self.text()))
    }
}

#[cfg(test)]
mod tests {
    use super::Request;

    #[test]
    fn debug_shows_framing_but_no_key_or_body() {
        let request = Request::post("/vwo-webhook", r#"{"timestamp":"key-in-the-body"}"#)
            .header("Content-Type", "application/json")
            .header("x-vwo-auth", "key-in-a-header")
            .header("x-hub-signature-256", "sha256=abcdef");
        let debug = format!("{request:?}");
        for hidden in ["key-in-the-body", "key-in-a-header", "abcdef"] {
            assert!(!debug.contains(hidden), "{debug}");
        }
        assert!(debug.contains("POST /vwo-webhook"), "{debug}");
        assert!(debug.contains("Content-Type: application/json"), "{debug}");
        assert!(debug.contains("x-vwo-auth: <15 bytes>"), "{debug}");
        assert!(debug.contains("body: 31 bytes"), "{debug}");
        let stalled = Request::post("/x", "abc").declared_length(100);
        assert!(format!("{stalled:?}").contains("3 of 100 declared bytes"));
    }

    #[test]
    fn a_chunked_body_is_read_whole_or_not_yet() {
        let whole = b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\n\r\nnext";
        let (body, used) = super::dechunk(whole).expect("valid").expect("complete");
        assert_eq!((body.as_slice(), used), (&b"hello world"[..], whole.len() - 4));
        assert_eq!(
            super::dechunk(b"5\r\nhel").expect("valid"),
            None,
            "cut short: read more"
        );
        assert_eq!(super::dechunk(b"5\r\nhello\r\n0\r\n").expect("valid"), None);
        assert!(super::dechunk(b"zz\r\nhello\r\n").is_err(), "not a chunk size");
    }
}
