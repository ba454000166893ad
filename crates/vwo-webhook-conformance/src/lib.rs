//! The conformance suite every vwo-webhook adapter passes, over real HTTP on loopback.
//!
//! An adapter implements [`Harness`] ("serve this receiver, tell me where") and expands the
//! whole catalog into one `#[test]` per case:
//!
//! ```no_run
//! use vwo_webhook::Receiver;
//! use vwo_webhook_conformance::{Harness, Server};
//!
//! struct MyFramework;
//!
//! impl Harness for MyFramework {
//!     const NAME: &'static str = "my-framework";
//!
//!     fn serve(receiver: Receiver) -> Server {
//!         Server::spawn_tokio(move |listener| async move {
//!             // Serve `receiver` at `receiver.path()` and `GET /health` on `listener`.
//!             drop((listener, receiver));
//!         })
//!     }
//! }
//!
//! vwo_webhook_conformance::conformance_suite!(MyFramework);
//! # fn main() {}
//! ```
//!
//! A failure then names the case and the adapter (`conformance::rejects_wrong_secret`). The
//! case names are stable IDs, used by `cargo xtask conformance` and
//! `docs/adapter-requirements.md`.
#![forbid(unsafe_code)]

mod backend;
pub mod blackbox;
pub mod cases;
pub mod client;
mod harness;
mod logs;

pub use backend::{Step, TestBackend};
pub use harness::{HEALTH_BODY, HEALTH_PATH, Harness, Ready, Server};

/// Calls `$callback!($($args)*; case, case, ...)` with every case of the catalog: the one
/// list of case names in the project.
#[macro_export]
macro_rules! for_each_case {
    ($callback:ident ! ($($args:tt)*)) => {
        $crate::$callback! { $($args)*;
            // auth
            accepts_seed_payload,
            header_name_case_insensitive,
            rejects_wrong_secret,
            rejects_missing_secret_header,
            rejects_empty_secret_header,
            rejects_secret_prefix_and_extension,
            accepts_every_secret_in_rotation,
            retired_secret_rejected_after_rotation,
            auth_checked_before_body_parse,
            error_bodies_never_echo_secrets,
            raw_body_reaches_verifier_untouched,
            secrets_never_logged,
            // method and path
            rejects_non_post_with_allow,
            other_paths_untouched,
            // body
            rejects_oversized_declared_length,
            rejects_oversized_chunked_body,
            rejects_malformed_json,
            rejects_empty_body,
            rejects_non_object_json,
            rejects_wrong_field_types,
            accepts_unknown_fields_and_values,
            content_type_not_required,
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
            every_response_is_json,
            responses_identical_across_adapters,
        }
    };
}

/// Expands every case of the catalog into a `#[test]` for the harness `$harness`.
#[macro_export]
macro_rules! conformance_suite {
    ($harness:ty) => {
        $crate::for_each_case!(__conformance_tests!($harness));
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_tests {
    ($harness:ty; $($case:ident,)*) => {
        $(
            #[test]
            fn $case() {
                $crate::cases::$case::<$harness>();
            }
        )*
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __case_names {
    (; $($case:ident,)*) => { &[$(stringify!($case)),*] };
}

/// The names of every case, in catalog order.
pub const CASES: &[&str] = for_each_case!(__case_names!());

#[cfg(test)]
mod tests {
    #[test]
    fn catalog_has_every_case_once() {
        let mut names = super::CASES.to_vec();
        assert_eq!(names.len(), 32);
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 32, "duplicate case names");
    }

    #[test]
    fn every_black_box_check_is_a_catalog_case_in_catalog_order() {
        let positions: Vec<usize> = crate::blackbox::CHECKS
            .iter()
            .map(|(name, _)| {
                super::CASES
                    .iter()
                    .position(|case| case == name)
                    .unwrap_or_else(|| panic!("{name} is not in the catalog"))
            })
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    }
}
