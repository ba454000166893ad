//! What goes wrong, as users and logs may see it: never a URL (it may hold a password) and
//! never a Redis error's free text (it could echo a command's arguments).

/// Why the fleet could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FleetError {
    /// The URL is not a Redis URL. (The URL itself is not repeated: it may hold a password.)
    #[error(
        "the Redis URL is not valid (expected redis://, rediss://, unix://, \
         redis+sentinel://host:port,.../service or redis+cluster://host:port,...)"
    )]
    Url,
    /// The URL asks for something this crate does not do.
    #[error("{0}")]
    Unsupported(&'static str),
    /// The TLS root certificate given could not be used.
    #[error("the Redis TLS root certificate could not be used: {0}")]
    Tls(String),
    /// The client could not be created.
    #[error("could not set up the Redis client: {0}")]
    Client(String),
}

/// A Redis error as logs and errors may show it: its kind and the server's error code,
/// never its free text (which could echo a command's arguments).
pub(crate) fn describe(error: &redis::RedisError) -> String {
    let what = if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connection_refusal() {
        "connection refused".to_owned()
    } else if error.is_connection_dropped() {
        "connection dropped".to_owned()
    } else {
        format!("{:?}", error.kind())
    };
    match error.code() {
        Some(code) => format!("{what} ({code})"),
        None => what,
    }
}
