//! The periodic safety-net refresh's handle.

/// The periodic safety-net refresh; dropping it stops the timer.
#[derive(Debug)]
#[must_use = "dropping the SafetyNet stops the poll: keep it as long as the service runs"]
pub struct SafetyNet {
    pub(super) task: tokio::task::JoinHandle<()>,
}

impl Drop for SafetyNet {
    fn drop(&mut self) {
        self.task.abort();
    }
}
