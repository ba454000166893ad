//! What every benchmark table needs: a percentile of sorted latencies.

use std::time::Duration;

/// The `p` percentile (0.0-1.0) of `sorted`, by nearest rank; zero for no samples.
pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}
