//! The little HTTP/1.1 these origins speak: read one request, answer it, close.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A request as these origins read it.
pub(crate) struct Request {
    /// The request line and headers, as sent.
    pub(crate) head: String,
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) body: Vec<u8>,
    pub(crate) stream: tokio::net::TcpStream,
}

impl Request {
    /// The request line (`GET /path?query HTTP/1.1`).
    pub(crate) fn line(&self) -> &str {
        self.head.lines().next().unwrap_or_default()
    }

    /// The value of header `name` (any case), if sent.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.head
            .lines()
            .filter_map(|line| line.split_once(':'))
            .find(|(key, _)| key.trim().eq_ignore_ascii_case(name))
            .map(|(_, value)| value.trim())
    }
}

/// Reads the request head and the body its `content-length` declares (at most 16 MiB).
pub(crate) async fn read_request(mut stream: tokio::net::TcpStream) -> std::io::Result<Option<Request>> {
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        match stream.read(&mut buf).await? {
            0 => return Ok(None),
            n => data.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let mut words = head.split_whitespace();
    let method = words.next().unwrap_or_default().to_owned();
    let path = words.next().unwrap_or_default().to_owned();
    let mut request = Request {
        head,
        method,
        path,
        body: data.split_off(head_end),
        stream,
    };
    let length = request
        .header("content-length")
        .and_then(|value| value.parse::<usize>().ok())
        .unwrap_or(0)
        .min(16 << 20);
    let Request { body, stream, .. } = &mut request;
    while body.len() < length {
        match stream.read(&mut buf).await? {
            0 => break,
            n => body.extend_from_slice(&buf[..n]),
        }
    }
    Ok(Some(request))
}

/// Answers with the whole document and closes.
pub(crate) async fn answer(stream: tokio::net::TcpStream, document: &str) -> std::io::Result<()> {
    send(stream, &response(200, "application/json", "", document)).await
}

/// Answers `status` with an empty body and closes.
pub(crate) async fn fail(stream: tokio::net::TcpStream, status: u16) -> std::io::Result<()> {
    send(stream, &response(status, "application/json", "", "")).await
}

/// A whole response: `extra` holds further header lines, each ending in CRLF.
pub(crate) fn response(status: u16, content_type: &str, extra: &str, body: &str) -> String {
    let reason = if status == 200 { "OK" } else { "Origin Says" };
    format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n{extra}connection: close\r\n\r\n{body}",
        body.len()
    )
}

/// Writes `response` whole and closes.
pub(crate) async fn send(mut stream: tokio::net::TcpStream, response: &str) -> std::io::Result<()> {
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}
