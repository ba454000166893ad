//! Reading poem's body stream under the receiver's limit.

use futures_util::StreamExt;
use vwo_webhook::adapter::BodyBuffer;
use vwo_webhook::{BodyError, HeaderLookup};

/// poem's `HeaderMap` seen through the core's [`HeaderLookup`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct PoemHeaders<'a>(pub(crate) &'a poem::http::HeaderMap);

impl HeaderLookup for PoemHeaders<'_> {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.0.get(name).map(|value| value.as_bytes())
    }

    fn is_repeated(&self, name: &str) -> bool {
        self.0.get_all(name).iter().nth(1).is_some()
    }
}

/// Reads `body` into memory, refusing it as soon as it exceeds `limit` bytes.
pub(crate) async fn read(body: poem::Body, limit: usize) -> Result<Vec<u8>, BodyError> {
    let mut stream = body.into_bytes_stream();
    let mut read = BodyBuffer::new(limit);
    while let Some(chunk) = stream.next().await {
        read.push(&chunk.map_err(|error| BodyError::Unreadable(error.to_string()))?)?;
    }
    Ok(read.into_bytes())
}
