//! One fixed document, for offline demos and steady benchmarks.

use std::net::SocketAddr;

use super::events::Events;
use super::http::{answer, read_request};

/// Serves `document` as `application/json` (no `ETag`, so every fetch brings a new snapshot)
/// to every request on `127.0.0.1` at an ephemeral port, and returns that address. Runs on the
/// current tokio runtime until it shuts down.
pub fn spawn_fixed_origin(document: &'static str) -> std::io::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let events = Events::default();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let events = events.clone();
            tokio::spawn(async move {
                let Ok(Some(request)) = read_request(stream).await else {
                    return;
                };
                match request.method.as_str() {
                    "POST" => events.record(request).await,
                    _ => {
                        let _ = answer(request.stream, document).await;
                    }
                }
            });
        }
    });
    Ok(addr)
}
