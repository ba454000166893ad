//! End-to-end tests that cross crates live in `end_to_end.rs`. This library also compiles the
//! Rust code blocks of the README and `docs/` as doctests, so the guide cannot drift from the code.

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
#[doc = include_str!("../docs/adapter-requirements.md")]
pub struct AdapterRequirements;
