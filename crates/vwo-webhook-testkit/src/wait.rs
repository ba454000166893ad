//! Waiting for a state that has no notification of its own, with a bound: a test that waits
//! forever tells nothing, one that gives up names what it waited for.

use std::time::Duration;

/// How often [`until`] looks.
const EVERY: Duration = Duration::from_millis(10);

/// Waits until `check` holds, looking every 10 ms; panics naming `what` once `within` has
/// passed. Prefer a notification (a `watch` channel, a `Notify`) where the code offers one.
pub async fn until(what: &str, within: Duration, mut check: impl FnMut() -> bool) {
    let wait = async {
        while !check() {
            tokio::time::sleep(EVERY).await;
        }
    };
    if tokio::time::timeout(within, wait).await.is_err() {
        panic!("waited {within:?} for {what}");
    }
}
