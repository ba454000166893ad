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
