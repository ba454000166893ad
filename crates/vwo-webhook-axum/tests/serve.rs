//! `vwo_webhook_axum::serve` closes the connections `axum::serve` keeps forever: idle ones, ones
//! that send their head a byte at a time, and kept-alive ones after their answer.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use vwo_webhook_axum::{Keyring, Receiver, RefreshError, Trigger};

const TIMEOUT: Duration = Duration::from_millis(300);
/// Far past the header timeout: a connection still open then was not closed by it.
const PATIENCE: Duration = Duration::from_secs(5);

async fn start() -> SocketAddr {
    let receiver = Receiver::builder(|_: Trigger| async { Ok::<(), RefreshError>(()) })
        .keyring(Keyring::from_comma_separated("s3cret").expect("key"))
        .build()
        .expect("receiver");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = axum::Router::new().merge(vwo_webhook_axum::router(receiver));
    tokio::spawn(
        vwo_webhook_axum::serve(listener, app)
            .header_timeout(TIMEOUT)
            .into_future(),
    );
    addr
}

/// Reads until the server closes the connection (EOF or reset); what it sent before.
async fn until_closed(stream: &mut TcpStream) -> Result<Vec<u8>, &'static str> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    tokio::time::timeout(PATIENCE, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .map_err(|_| "the connection was still open")?;
    Ok(seen)
}

use std::future::IntoFuture as _;

#[tokio::test]
async fn idle_connections_are_closed_after_the_header_timeout() {
    let addr = start().await;
    let mut idle = Vec::new();
    for _ in 0..50 {
        idle.push(TcpStream::connect(addr).await.expect("connect"));
    }
    for stream in &mut idle {
        until_closed(stream).await.expect("an idle connection is closed");
    }
}

#[tokio::test]
async fn a_head_sent_a_byte_at_a_time_is_cut_off() {
    let addr = start().await;
    let mut slow = TcpStream::connect(addr).await.expect("connect");
    slow.write_all(b"POST /vwo-webhook HTTP/1.1\r\nhost: x\r\nx-padding: ")
        .await
        .expect("write");
    let trickle = async {
        for _ in 0..100 {
            if slow.write_all(b"a").await.is_err() {
                return true; // closed under the writer
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    };
    assert!(
        tokio::time::timeout(PATIENCE, trickle).await.unwrap_or(false),
        "a head trickling for 5 s was not cut off"
    );
}

#[tokio::test]
async fn a_kept_alive_connection_is_answered_then_closed_once_idle() {
    let addr = start().await;
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let body = r#"{"timestamp":1606482285,"event":"settings_changed"}"#;
    let request = format!(
        "POST /vwo-webhook HTTP/1.1\r\nhost: x\r\nx-vwo-auth: s3cret\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let seen = until_closed(&mut stream).await.expect("closed once idle");
    let text = String::from_utf8_lossy(&seen);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
}
