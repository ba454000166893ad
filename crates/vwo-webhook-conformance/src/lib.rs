#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod backend;
pub mod blackbox;
pub mod cases;
pub mod client;
mod expect;
pub mod fixtures;
mod harness;
mod level;
pub mod logs;
pub mod probes;
mod runtime;

pub use backend::{Step, TestBackend};
pub use harness::{HEALTH_BODY, HEALTH_PATH, Harness, Ready, Server};
pub use level::{HARDENING, Level};

/// Calls `$callback!($($args)*; blackbox { case, ... } backend { case, ... })` with every case
/// of the catalog: the one list of case names in the project. The `blackbox` group needs no
/// control over the backend and also runs against any URL ([`blackbox::CHECKS`]); the
/// `backend` group needs the suite's test backends.
#[macro_export]
macro_rules! for_each_case {
    ($callback:ident ! ($($args:tt)*)) => {
        $crate::$callback! { $($args)*;
            blackbox {
                // auth
                accepts_seed_payload,
                header_name_case_insensitive,
                rejects_wrong_secret,
                rejects_missing_secret_header,
                rejects_empty_secret_header,
                rejects_secret_prefix_and_extension,
                auth_checked_before_body_parse,
                error_bodies_never_echo_secrets,
                // method
                rejects_non_post_with_allow,
                // body
                rejects_oversized_declared_length,
                rejects_oversized_chunked_body,
                rejects_malformed_json,
                rejects_empty_body,
                rejects_non_object_json,
                rejects_wrong_field_types,
                accepts_unknown_fields_and_values,
                content_type_not_required,
                // edge
                rejects_huge_declared_length_without_reading,
                expect_continue_oversized_is_413,
                expect_continue_accepted,
                keep_alive_after_refusal,
                // shape
                every_response_is_json,
            }
            backend {
                // auth
                accepts_every_secret_in_rotation,
                retired_secret_rejected_after_rotation,
                raw_body_reaches_verifier_untouched,
                secrets_never_logged,
                // path
                other_paths_untouched,
                // refresh
                refresh_runs_once_per_delivery,
                transient_failure_asks_for_redelivery,
                permanent_failure_is_500,
                backend_panic_is_contained,
                slow_refresh_answers_503_then_200_on_redelivery,
                concurrent_deliveries_coalesce,
                delivery_during_refresh_waits_for_a_fresh_run,
                immediate_ack_policy_answers_202,
                // shape
                responses_identical_across_adapters,
                // edge
                stalled_body_times_out,
                stalled_after_first_byte_times_out,
                stalled_chunked_body_times_out,
                refusal_mid_body_closes,
                // hostile
                duplicate_secret_header_is_refused,
                content_length_with_chunked_is_not_smuggled,
                odd_chunk_encodings_are_read,
                malformed_chunk_size_is_refused,
                idle_and_trickling_connections_are_closed,
            }
        }
    };
}

/// Expands every case of the catalog into a `#[test]` in a module named `$column`, for the
/// harness `$harness` (a type in scope where the macro is called). The module's name is the
/// adapter's column in `cargo xtask conformance` (`_` shown as `-`).
///
/// A case the framework itself makes impossible can be listed under `limits` with the
/// reason: its test then passes only while the case still fails (so a fixed framework is
/// noticed), and the matrix shows `limit` instead of `pass`. Every entry is a documented
/// deviation ([adapter requirements](https://github.com/vwo-webhook/vwo-webhook/blob/main/docs/adapter-requirements.md)), never a way to get green.
#[macro_export]
macro_rules! conformance_suite {
    ($column:ident => $harness:ty) => {
        $crate::conformance_suite!($column => $harness, limits {});
    };
    ($column:ident => $harness:ty, limits { $($case:ident: $reason:literal),* $(,)? }) => {
        mod $column {
            #[allow(unused_imports)]
            use super::*;
            const LIMITS: &[(&str, &str)] = &[$((stringify!($case), $reason)),*];
            $crate::for_each_case!(__conformance_tests!($harness, LIMITS));
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_tests {
    ($harness:ty, $limits:ident; blackbox { $($blackbox:ident,)* } backend { $($backend:ident,)* }) => {
        $(
            #[test]
            fn $blackbox() {
                $crate::run_case(module_path!(), stringify!($blackbox), $limits, $crate::cases::$blackbox::<$harness>);
            }
        )*
        $(
            #[test]
            fn $backend() {
                $crate::run_case(module_path!(), stringify!($backend), $limits, $crate::cases::$backend::<$harness>);
            }
        )*
    };
}

/// The marker `cargo xtask conformance` reads for a case under a known framework limit.
pub const LIMIT_MARKER: &str = "vwo-conformance-limit";

/// Runs one case; a case listed in `limits` must still fail (and says so on stdout).
#[doc(hidden)]
pub fn run_case(module: &str, case: &str, limits: &[(&str, &str)], run: fn()) {
    let Some((_, reason)) = limits.iter().find(|(name, _)| *name == case) else {
        run();
        return;
    };
    let column = module.rsplit("::").next().unwrap_or(module);
    if std::panic::catch_unwind(run).is_ok() {
        panic!("{column}::{case} passes now: remove it from the adapter's limits");
    }
    // The marker goes to the test's stdout, which `cargo xtask conformance` reads.
    #[allow(clippy::print_stdout)]
    {
        println!("{LIMIT_MARKER} {column}::{case}: {reason}");
    }
}

#[doc(hidden)]
#[macro_export]
macro_rules! __case_names {
    (; blackbox { $($blackbox:ident,)* } backend { $($backend:ident,)* }) => {
        &[$(stringify!($blackbox),)* $(stringify!($backend)),*]
    };
}

/// The names of every case, in catalog order.
pub const CASES: &[&str] = for_each_case!(__case_names!());

#[cfg(test)]
mod tests {
    #[test]
    fn catalog_has_every_case_once() {
        let mut names = super::CASES.to_vec();
        assert_eq!(names.len(), 45);
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 45, "duplicate case names");
    }

    #[test]
    fn every_hardening_case_is_in_the_catalog_with_a_reason() {
        for (case, why) in super::HARDENING {
            assert!(super::CASES.contains(case), "{case} is not a case");
            assert!(!why.is_empty(), "{case} says why");
        }
        assert_eq!(super::Level::of("rejects_wrong_secret"), super::Level::Required);
        assert_eq!(
            super::Level::of("expect_continue_accepted"),
            super::Level::Hardening
        );
    }

    #[test]
    fn the_black_box_checks_are_the_catalogs_first_group() {
        let checks: Vec<&str> = crate::blackbox::CHECKS.iter().map(|(name, _)| *name).collect();
        assert_eq!(checks.len(), 22);
        assert_eq!(checks, super::CASES[..checks.len()]);
    }
}
