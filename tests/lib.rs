//! End-to-end tests that cross crates live in `end_to_end.rs`. This library also compiles the
//! Rust code blocks of the README and `docs/` as doctests, so the guide cannot drift from the code.

pub mod soak;

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct Readme;

#[cfg(doctest)]
#[doc = include_str!("../docs/architecture.md")]
pub struct ArchitectureGuide;

#[cfg(doctest)]
#[doc = include_str!("../docs/security.md")]
pub struct SecurityGuide;

#[cfg(doctest)]
#[doc = include_str!("../docs/replicas.md")]
pub struct ReplicasGuide;

#[cfg(doctest)]
#[doc = include_str!("../docs/adapter-requirements.md")]
pub struct AdapterRequirements;

#[cfg(doctest)]
#[doc = include_str!("../docs/conformance.md")]
pub struct ConformanceGuide;

#[cfg(doctest)]
#[doc = include_str!("../docs/adapters/README.md")]
pub struct AdaptersIndex;

#[cfg(doctest)]
#[doc = include_str!("../docs/adapters/tower.md")]
pub struct TowerGuide;

#[cfg(doctest)]
#[doc = include_str!("../docs/adapters/axum.md")]
pub struct AxumGuide;

#[cfg(doctest)]
#[doc = include_str!("../docs/adapters/actix.md")]
pub struct ActixGuide;

#[cfg(doctest)]
#[doc = include_str!("../docs/adapters/rocket.md")]
pub struct RocketGuide;

#[cfg(doctest)]
#[doc = include_str!("../docs/adapters/poem.md")]
pub struct PoemGuide;

#[cfg(doctest)]
#[doc = include_str!("../docs/settings.md")]
pub struct SettingsGuide;

#[cfg(doctest)]
#[doc = include_str!("../docs/flags.md")]
pub struct FlagsGuide;

/// Handles whose drop stops work are `#[must_use]`: ignoring one fails under
/// `deny(unused_must_use)` (each `compile_fail` block), keeping it compiles (the block after).
///
/// The safety-net poll:
///
/// ```compile_fail
/// #![deny(unused_must_use)]
/// fn demo(settings: vwo_webhook_settings::VwoSettings, receiver: vwo_webhook::Receiver) {
///     settings.start(receiver.coordinator());
/// }
/// ```
///
/// ```
/// #![deny(unused_must_use)]
/// fn demo(settings: vwo_webhook_settings::VwoSettings, receiver: vwo_webhook::Receiver) {
///     let _poll = settings.start(receiver.coordinator());
/// }
/// ```
///
/// The client:
///
/// ```compile_fail
/// #![deny(unused_must_use)]
/// fn demo() {
///     use vwo_webhook_flags::{Client, SdkKey};
///     Client::builder("123456", SdkKey::new("key")).build_in_background().expect("a client");
/// }
/// ```
///
/// ```
/// #![deny(unused_must_use)]
/// fn demo() {
///     use vwo_webhook_flags::{Client, SdkKey};
///     let _client = Client::builder("123456", SdkKey::new("key")).build_in_background().expect("a client");
/// }
/// ```
#[cfg(doctest)]
pub struct MustUseHandles;
