//! What a check or a case asserts about an answer, written once for local and black-box
//! targets. Each names what broke and shows the start of the body.

use crate::client::Response;

#[track_caller]
pub(crate) fn expect_status(response: &Response, status: u16, what: &str) {
    assert_eq!(
        response.status,
        status,
        "{what}: expected {status}, got {} with body {:?}",
        response.status,
        response.text()
    );
}

#[track_caller]
pub(crate) fn expect_message_contains(response: &Response, needle: &str) {
    let json = response.json().unwrap_or_else(|e| panic!("{e}"));
    let message = json["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(needle),
        "message {message:?} should mention {needle:?}"
    );
}

/// `application/json` shaped `{"status": "success"|"accepted"|"error", "message": "..."}`.
#[track_caller]
pub(crate) fn expect_json_shape(response: &Response, what: &str) {
    let content_type = response.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("application/json"),
        "{what}: content-type {content_type:?}"
    );
    let json = response.json().unwrap_or_else(|e| panic!("{what}: {e}"));
    let status = json["status"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: no status in {json}"));
    let expected = match response.status {
        200 => "success",
        202 => "accepted",
        _ => "error",
    };
    assert_eq!(status, expected, "{what}");
    assert!(
        json["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: no message in {json}"
    );
}

/// Neither the body nor any header of `response` contains one of `keys`. The failure names
/// where the key showed, not the key.
#[track_caller]
pub(crate) fn expect_no_key(response: &Response, keys: &[&str], what: &str) {
    let body = response.text();
    let places = std::iter::once(("the body", body.as_str())).chain(
        response
            .headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str())),
    );
    for (place, text) in places {
        assert!(
            !keys.iter().any(|key| text.contains(key)),
            "{what}: a key shows in {place} of the response"
        );
    }
}
