//! The body: limits, timeouts and what reaches the verifier.

use super::*;

/// A declared `Content-Length` over the limit: 413 while the body is still on its way.
pub fn rejects_oversized_declared_length<H: Harness>() {
    refused_without_refresh::<H, _>(blackbox::rejects_oversized_declared_length);
}

/// A chunked body that grows past the limit: 413 as soon as it crosses it; one under the
/// limit refreshes once.
pub fn rejects_oversized_chunked_body<H: Harness>() {
    let backend = TestBackend::counting();
    from_outside::<H, _>(&backend, blackbox::rejects_oversized_chunked_body);
    assert_eq!(backend.started(), 1);
}

/// Broken JSON: 400 saying so, no refresh.
pub fn rejects_malformed_json<H: Harness>() {
    refused_without_refresh::<H, _>(blackbox::rejects_malformed_json);
}

/// An empty body: 400, no refresh.
pub fn rejects_empty_body<H: Harness>() {
    refused_without_refresh::<H, _>(blackbox::rejects_empty_body);
}

/// JSON that is not an object (array, string, null, number): 400, no refresh.
pub fn rejects_non_object_json<H: Harness>() {
    refused_without_refresh::<H, _>(blackbox::rejects_non_object_json);
}

/// Wrong field types: 400 naming the field, no refresh.
pub fn rejects_wrong_field_types<H: Harness>() {
    refused_without_refresh::<H, _>(blackbox::rejects_wrong_field_types);
}

/// Unknown fields are ignored and unknown `event`/`action` values kept: 200, refreshed.
pub fn accepts_unknown_fields_and_values<H: Harness>() {
    let backend = TestBackend::counting();
    from_outside::<H, _>(&backend, blackbox::accepts_unknown_fields_and_values);
    match backend.triggers().as_slice() {
        [Trigger::Webhook(payload)] => {
            assert_eq!(payload.event, Event::Other("settings_moved".into()));
            assert_eq!(payload.action, Some(Action::Other("flag_renamed".into())));
            assert_eq!(payload.triggered_by.as_deref(), Some("api"));
        }
        other => panic!("backend triggered by {other:?}"),
    }
}

/// No `Content-Type`, or a wrong one: still accepted (VWO's is not guaranteed).
pub fn content_type_not_required<H: Harness>() {
    let backend = TestBackend::counting();
    from_outside::<H, _>(&backend, blackbox::content_type_not_required);
    assert_eq!(backend.finished(), 3);
}
