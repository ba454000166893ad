//! End-to-end tests that cross crates live in `end_to_end.rs`; this library is empty.
