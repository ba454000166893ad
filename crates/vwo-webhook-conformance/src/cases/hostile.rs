//! A hostile client: a credential sent twice, a body framed two ways, odd and broken chunk
//! encodings. Each gets a documented status (never a dropped connection, never a refresh it
//! should not start), and the application still answers after it.

use super::*;

/// Writes a chunk's size line.
type SizeLine = fn(usize) -> String;

/// `chunks` of `body`, each with its size line written by `size`, then `last` (the final
/// chunk and trailers).
fn chunked_with(body: &str, chunk: usize, size: impl Fn(usize) -> String, last: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for part in body.as_bytes().chunks(chunk) {
        out.extend_from_slice(size(part.len()).as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(part);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(last.as_bytes());
    out
}

/// The application's own route still answers on a new connection.
async fn still_serving(server: &Server) {
    let health = send(server, &Request::new("GET", HEALTH_PATH)).await;
    expect_status(
        &health,
        200,
        "the application's own route after a hostile request",
    );
}

/// `x-vwo-auth` sent twice is ambiguous (which one did a proxy add?): 401 whichever comes
/// first, even both right, and no refresh.
pub fn duplicate_secret_header_is_refused<H: Harness>() {
    let backend = TestBackend::counting();
    let server = secured::<H>(&backend);
    block_on(async {
        for (first, second) in [(SECRET, "wrong"), ("wrong", SECRET), (SECRET, SECRET)] {
            let twice = Request::post(DEFAULT_PATH, DOCUMENTED)
                .header("x-vwo-auth", first)
                .header("x-vwo-auth", second);
            let response = send(&server, &twice).await;
            expect_status(&response, 401, "x-vwo-auth sent twice");
            expect_json_shape(&response, "401");
        }
        assert_eq!(backend.started(), 0, "no refresh for an ambiguous credential");
        still_serving(&server).await;
    });
}

/// `Content-Length` beside `Transfer-Encoding: chunked` (a request-smuggling probe): refused
/// with 400, or read as chunked (the length ignored, as HTTP/1.1 requires) and answered 200
/// after one refresh; nothing of it is read as a second request.
pub fn content_length_with_chunked_is_not_smuggled<H: Harness>() {
    let backend = TestBackend::counting();
    let server = secured::<H>(&backend);
    block_on(async {
        let mut body = chunked_with(DOCUMENTED, 16, |n| format!("{n:x}"), "0\r\n\r\n");
        // What a front end reading the length would take as the start of another request.
        body.extend_from_slice(b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n");
        let both = Request::post(DEFAULT_PATH, Vec::new())
            .header("x-vwo-auth", SECRET)
            .header("content-length", "4")
            .header("transfer-encoding", "chunked")
            .framed(body);
        let response = send(&server, &both).await;
        match response.status {
            400 => assert_eq!(backend.started(), 0, "no refresh for a refused request"),
            200 => assert_eq!(backend.finished(), 1, "read as chunked: one refresh"),
            other => panic!("Content-Length with chunked: {other}, expected 400 or 200"),
        }
        still_serving(&server).await;
    });
}

/// Chunk extensions, upper-case and zero-padded sizes and trailer fields are valid chunked
/// encoding: the notice is read whole and accepted.
pub fn odd_chunk_encodings_are_read<H: Harness>() {
    let backend = TestBackend::counting();
    let server = secured::<H>(&backend);
    block_on(async {
        let shapes: [(SizeLine, &str); 3] = [
            (|n| format!("{n:x};name=value"), "0\r\n\r\n"),
            (|n| format!("{n:04X}"), "0\r\n\r\n"),
            (|n| format!("{n:x}"), "0\r\nx-trailer: yes\r\n\r\n"),
        ];
        for (size, last) in shapes {
            let odd = Request::post(DEFAULT_PATH, Vec::new())
                .header("x-vwo-auth", SECRET)
                .header("transfer-encoding", "chunked")
                .framed(chunked_with(DOCUMENTED, 7, size, last));
            let response = send(&server, &odd).await;
            expect_status(&response, 200, "an odd but valid chunked encoding");
        }
        assert_eq!(backend.finished(), 3, "each read whole and refreshed");
    });
}

/// A chunk size that is not hexadecimal is a broken body: 400 (or the connection closed by
/// the server's HTTP layer before any answer), never a refresh, and the application still
/// answers.
pub fn malformed_chunk_size_is_refused<H: Harness>() {
    let backend = TestBackend::counting();
    let server = secured::<H>(&backend);
    block_on(async {
        let broken = Request::post(DEFAULT_PATH, Vec::new())
            .header("x-vwo-auth", SECRET)
            .header("transfer-encoding", "chunked")
            .framed(b"zz\r\n{}\r\n0\r\n\r\n".to_vec());
        let response = send(&server, &broken).await;
        expect_status(&response, 400, "a chunk size that is not hexadecimal");
        assert_eq!(backend.started(), 0, "no refresh for a broken body");
        still_serving(&server).await;
    });
}

/// How many idle connections the idle case opens at most: each is a file descriptor on both
/// sides, in one process, and a test binary runs two columns at once.
const IDLE_CONNECTIONS: usize = 2_000;

/// [`IDLE_CONNECTIONS`], or fewer where the process may open fewer files (a shell's soft limit
/// is often 1,024): an eighth of the limit leaves room for both sides of two columns and the
/// rest of the test.
fn idle_connections() -> usize {
    let soft_limit = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
            line.split_whitespace().nth(3)?.parse::<usize>().ok()
        });
    soft_limit.map_or(100, |limit| (limit / 8).clamp(16, IDLE_CONNECTIONS))
}

/// Connections that never send a byte, and heads sent a byte at a time, are closed once the
/// harness's header timeout passes (with a margin), while the application keeps answering:
/// otherwise a few hundred such clients take a service's file descriptors.
pub fn idle_and_trickling_connections_are_closed<H: Harness>() {
    let Some(timeout) = H::HEADER_TIMEOUT else {
        panic!("the harness sets no header timeout: idle and trickling connections are never closed");
    };
    let patience = timeout * 3 + Duration::from_secs(2);
    let backend = TestBackend::counting();
    let server = secured::<H>(&backend);
    block_on(async {
        let count = idle_connections();
        let mut idle = Vec::with_capacity(count);
        for _ in 0..count {
            idle.push(
                tokio::net::TcpStream::connect(server.addr())
                    .await
                    .expect("connect"),
            );
        }
        let trickling: Vec<_> = (0..5)
            .map(|_| tokio::spawn(trickle(server.addr(), patience)))
            .collect();
        // The application answers while they hold their connections.
        still_serving(&server).await;
        let waits: Vec<_> = idle
            .into_iter()
            .map(|mut stream| tokio::spawn(async move { until_closed(&mut stream, patience).await }))
            .collect();
        let mut open = 0;
        for wait in waits {
            if !wait.await.expect("a wait") {
                open += 1;
            }
        }
        assert_eq!(
            open, 0,
            "{open} of {count} idle connections still open {patience:?} after connecting (header timeout {timeout:?})"
        );
        for task in trickling {
            assert!(
                task.await.expect("the trickling client"),
                "a head sent a byte at a time was not cut off within {patience:?}"
            );
        }
        still_serving(&server).await;
        assert_eq!(backend.started(), 0, "no refresh");
    });
}

/// Reads until the server closes `stream` (EOF or reset): whether it did within `patience`.
async fn until_closed(stream: &mut tokio::net::TcpStream, patience: Duration) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 512];
    tokio::time::timeout(patience, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}

/// Sends a delivery's head a byte every 50 ms: whether the server cut it off (closed the
/// connection, or answered and closed) within `patience`.
async fn trickle(addr: std::net::SocketAddr, patience: Duration) -> bool {
    use tokio::io::AsyncWriteExt;
    let Ok(mut stream) = tokio::net::TcpStream::connect(addr).await else {
        return false;
    };
    let head = format!("POST {DEFAULT_PATH} HTTP/1.1\r\nhost: 127.0.0.1\r\nx-padding: ");
    if stream.write_all(head.as_bytes()).await.is_err() {
        return true;
    }
    let started = std::time::Instant::now();
    let (mut reader, mut writer) = stream.into_split();
    let writing = async {
        while started.elapsed() < patience {
            if writer.write_all(b"a").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Still accepted after the patience: never cut off.
        std::future::pending::<()>().await;
    };
    let reading = async {
        use tokio::io::AsyncReadExt;
        let mut buf = [0u8; 512];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(patience, async {
        tokio::select! {
            () = writing => {}
            () = reading => {}
        }
    })
    .await
    .is_ok()
}
