//! The one client runtime every check sends its requests on: current-thread, since a check
//! is one sequence of requests, and separate from whatever runs the server under test.

use std::future::Future;

/// A current-thread runtime with I/O and time enabled.
pub(crate) fn client() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build()
}

/// Runs `future` to completion on a client runtime of its own.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    client().expect("client runtime").block_on(future)
}
