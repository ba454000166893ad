//! When to try a failed request again: doubling from the first delay up to the largest, each
//! delay drawn from its upper half so a fleet that failed together does not retry together.

use std::time::Duration;

/// The delay before retry number `attempt` (0 for the first), given `unit` in `0.0..1.0`.
pub(crate) fn delay(attempt: u32, first: Duration, max: Duration, unit: f64) -> Duration {
    let base = first
        .checked_mul(1_u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX))
        .unwrap_or(max)
        .min(max);
    base.mul_f64(0.5 + unit.clamp(0.0, 1.0) / 2.0)
}

/// What a failed request's status says about trying again.
pub(crate) fn retryable_status(status: u16) -> bool {
    // A 408 or 429 asks to come back later; other 4xx will be refused again.
    status >= 500 || status == 408 || status == 429
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const FIRST: Duration = Duration::from_secs(2);
    const MAX: Duration = Duration::from_secs(60);

    #[test]
    fn delays_double_up_to_the_largest() {
        let at = |attempt| delay(attempt, FIRST, MAX, 1.0);
        assert_eq!(
            [at(0), at(1), at(2), at(5), at(40)],
            [FIRST, FIRST * 2, FIRST * 4, MAX, MAX]
        );
        assert_eq!(delay(0, FIRST, MAX, 0.0), Duration::from_secs(1));
    }

    #[test]
    fn only_server_errors_and_come_back_later_are_retried() {
        for (status, retry) in [
            (500, true),
            (503, true),
            (429, true),
            (408, true),
            (400, false),
            (401, false),
            (404, false),
        ] {
            assert_eq!(retryable_status(status), retry, "{status}");
        }
    }

    proptest! {
        #[test]
        fn a_delay_stays_within_half_and_all_of_its_step(attempt in 0_u32..100, unit in 0.0_f64..1.0) {
            let got = delay(attempt, FIRST, MAX, unit);
            let step = delay(attempt, FIRST, MAX, 1.0);
            prop_assert!(got <= step && got >= step / 2);
        }
    }
}
