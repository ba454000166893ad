//! Where a user falls: MurmurHash3 (x86, 32-bit, seed 1) over the key's UTF-8 bytes, scaled
//! to 1..=max, and the ranges weights give variations (`packages/decision-maker`,
//! `utils/CampaignUtil.ts`).

/// The seed every SDK hashes with.
const SEED: u32 = 1;

/// Traffic is out of 100.
pub(super) const MAX_TRAFFIC_PERCENT: f64 = 100.0;

/// Variations (and campaigns of a group) are out of 10,000.
pub(super) const MAX_TRAFFIC_VALUE: f64 = 10_000.0;

/// The unsigned 32-bit hash of `key`.
#[cfg(test)]
pub(super) fn hash(key: &str) -> u32 {
    mur3::murmurhash3_x86_32(key.as_bytes(), SEED)
}

/// `floor(max * hash / 2^32 + 1)`: 1..=max for any hash.
pub(super) fn bucket(hash: u32, max: f64) -> f64 {
    let scaled = max * (f64::from(hash) / 4_294_967_296.0) + 1.0;
    // `floor` of a positive number below 2^31 is its truncation, which the cast does in one
    // instruction (`floor` is a library call on the baseline x86-64).
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "1 <= scaled <= max + 1, far below 2^31"
    )]
    let bucket = f64::from(scaled as i32);
    bucket
}

/// The hash of the parts joined by `_` (`salt_userId`, `campaignId_accountId_userId`), joined
/// on the stack when they fit (they nearly always do), without a heap allocation. The parts
/// are an array: each caller's count is known, and the loops unroll.
pub(super) fn hash_joined<const N: usize>(parts: [&str; N]) -> u32 {
    let length = parts.iter().map(|p| p.len()).sum::<usize>() + N.saturating_sub(1);
    let mut stack = [0u8; 96];
    let mut heap = Vec::new();
    let buffer: &mut [u8] = if length <= stack.len() {
        &mut stack[..length]
    } else {
        heap.resize(length, 0);
        &mut heap
    };
    let mut at = 0;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            buffer[at] = b'_';
            at += 1;
        }
        buffer[at..at + part.len()].copy_from_slice(part.as_bytes());
        at += part.len();
    }
    mur3::murmurhash3_x86_32(buffer, SEED)
}

/// A weight as the SDK holds it: a number, or a string JavaScript converts when it multiplies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Weight {
    pub(super) number: f64,
    pub(super) truthy: bool,
}

impl Weight {
    /// The weight of a JSON value (`Number(x)`, and whether `!x` is false).
    pub(super) fn of(value: Option<&serde_json::Value>) -> Self {
        match value {
            None => Self {
                number: f64::NAN,
                truthy: false,
            },
            Some(value) => Self {
                number: crate::engine::js::to_number(value),
                truthy: crate::engine::js::truthy(value),
            },
        }
    }

    /// A numeric weight.
    pub(super) fn number(number: f64) -> Self {
        Self {
            number,
            truthy: number != 0.0 && !number.is_nan(),
        }
    }
}

/// How many of the 10,000 slots a weight takes: `min(ceil(weight * 100), 10000)`; 0 for a
/// weight JavaScript counts as false; NaN for one that is not a number (which then makes
/// every later range NaN, as in the SDK).
pub(super) fn step(weight: Weight) -> f64 {
    if !weight.truthy || weight.number == 0.0 {
        return 0.0;
    }
    let step = (weight.number * 100.0).ceil();
    if step.is_nan() {
        step
    } else {
        step.min(MAX_TRAFFIC_VALUE)
    }
}

/// A slot range: `start..=end`, or (-1, -1) for a weight of 0. NaN ranges (after a weight
/// that JavaScript's arithmetic turned into NaN) contain nothing, as in the SDK.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Range {
    pub(super) start: f64,
    pub(super) end: f64,
}

impl Range {
    /// Whether `value` is in the range.
    pub(super) fn contains(self, value: f64) -> bool {
        value >= self.start && value <= self.end
    }
}

/// The ranges of consecutive weights, one at a time (`assignRangeValues` in a loop).
#[derive(Debug, Default)]
pub(super) struct Ranges {
    allocated: f64,
}

impl Ranges {
    /// The next weight's range.
    pub(super) fn next(&mut self, weight: Weight) -> Range {
        let step = step(weight);
        let range = if step != 0.0 && !step.is_nan() {
            Range {
                start: self.allocated + 1.0,
                end: self.allocated + step,
            }
        } else {
            Range {
                start: -1.0,
                end: -1.0,
            }
        };
        self.allocated += step;
        range
    }
}

/// The ranges for consecutive weights.
pub(super) fn ranges(weights: impl IntoIterator<Item = Weight>) -> Vec<Range> {
    let mut ranges = Ranges::default();
    weights.into_iter().map(|weight| ranges.next(weight)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_hashes() {
        // murmurhash 2.0.1's v3 with seed 1, as the SDK calls it.
        // Printed by the SDK's own `murmurhash` package (`v3(s, 1) >>> 0`): every tail length
        // of the 4-byte blocks, and text beyond ASCII.
        for (key, expected) in [
            ("", 0x514E_28B7),
            ("a", 0x588A_DCE8),
            ("ab", 0xB807_9B46),
            ("abc", 0xAA75_E9FF),
            ("abcd", 0x9BF5_4592),
            ("abcde", 0xFFAC_B11B),
            ("user_id", 0x1B3F_F282),
            ("campaign_1_user-42", 0xCCFC_F876),
            ("é日本", 0x2C43_453C),
        ] {
            assert_eq!(hash(key), expected, "{key}");
        }
        assert_eq!(
            hash_joined(["campaign", "1", "user-42"]),
            hash("campaign_1_user-42")
        );
    }

    #[test]
    fn a_weight_that_is_not_a_number_spoils_the_later_ranges() {
        let r = ranges([Weight::of(Some(&serde_json::json!("abc"))), Weight::number(50.0)]);
        assert!(!r[0].contains(1.0) && !r[1].contains(1.0) && !r[1].contains(5000.0));
        let r = ranges([Weight::of(Some(&serde_json::json!("30"))), Weight::number(70.0)]);
        assert_eq!(
            r[1],
            Range {
                start: 3001.0,
                end: 10000.0
            }
        );
    }

    #[test]
    fn ranges_follow_weights() {
        let r = ranges([50.0, 0.0, 25.5, 24.5].map(Weight::number));
        assert_eq!(
            r[0],
            Range {
                start: 1.0,
                end: 5000.0
            }
        );
        assert_eq!(
            r[1],
            Range {
                start: -1.0,
                end: -1.0
            }
        );
        assert_eq!(
            r[2],
            Range {
                start: 5001.0,
                end: 7550.0
            }
        );
        assert_eq!(
            r[3],
            Range {
                start: 7551.0,
                end: 10000.0
            }
        );
    }

    proptest! {
        #[test]
        fn joined_hashes_are_the_hash_of_the_joined_text(parts in proptest::collection::vec(".{0,9}|.{100,200}", 1..4)) {
            let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
            let joined = match refs.as_slice() {
                [a] => hash_joined([*a]),
                [a, b] => hash_joined([*a, *b]),
                [a, b, c] => hash_joined([*a, *b, *c]),
                _ => unreachable!("one to three parts"),
            };
            prop_assert_eq!(joined, hash(&refs.join("_")));
        }

        #[test]
        fn every_bucket_is_in_one_to_max(h in any::<u32>(), max in prop_oneof![Just(100.0), Just(10_000.0)]) {
            let b = bucket(h, max);
            prop_assert!((1.0..=max).contains(&b));
            prop_assert_eq!(b, (max * (f64::from(h) / 4_294_967_296.0) + 1.0).floor());
            prop_assert_eq!(b, b.floor());
        }

        #[test]
        fn buckets_rise_with_the_hash(a in any::<u32>(), b in any::<u32>()) {
            let (low, high) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(bucket(low, 10_000.0) <= bucket(high, 10_000.0));
        }

        #[test]
        fn ranges_tile_without_overlap(weights in proptest::collection::vec(0.0f64..100.0, 1..8)) {
            let r = ranges(weights.iter().copied().map(Weight::number));
            let mut last_end = 0.0;
            for (range, weight) in r.iter().zip(&weights) {
                if step(Weight::number(*weight)) == 0.0 {
                    prop_assert_eq!(*range, Range { start: -1.0, end: -1.0 });
                    continue;
                }
                prop_assert_eq!(range.start, last_end + 1.0);
                prop_assert!(range.end >= range.start);
                prop_assert_eq!(range.end - range.start + 1.0, step(Weight::number(*weight)));
                last_end = range.end;
            }
        }

        #[test]
        fn weights_summing_to_100_cover_every_slot(split in 1u32..9999) {
            let first = f64::from(split) / 100.0;
            let r = ranges([first, 100.0 - first].map(Weight::number));
            for value in [1.0, f64::from(split), f64::from(split) + 1.0, 10_000.0] {
                prop_assert!(r.iter().filter(|range| range.contains(value)).count() >= 1);
            }
        }
    }
}
