//! Edge cases: huge declarations, stalls, odd headers.

use super::*;

/// A declared 50,000,000-byte body with none sent: 413 within 2 s, no refresh.
pub fn rejects_huge_declared_length_without_reading<H: Harness>() {
    refused_without_refresh::<H, _>(blackbox::rejects_huge_declared_length_without_reading);
}

/// `Expect: 100-continue` over the limit: 413 without `100 Continue`, no refresh.
pub fn expect_continue_oversized_is_413<H: Harness>() {
    refused_without_refresh::<H, _>(blackbox::expect_continue_oversized_is_413);
}

/// `Expect: 100-continue` under the limit: `100 Continue`, then 200 after one refresh.
pub fn expect_continue_accepted<H: Harness>() {
    let backend = TestBackend::counting();
    from_outside::<H, _>(&backend, blackbox::expect_continue_accepted);
    assert_eq!(backend.finished(), 1);
}

/// A refusal keeps the connection: the next delivery on it is answered (three refusals, three
/// accepted deliveries, three refreshes).
pub fn keep_alive_after_refusal<H: Harness>() {
    let backend = TestBackend::counting();
    from_outside::<H, _>(&backend, blackbox::keep_alive_after_refusal);
    assert_eq!(backend.finished(), 3);
}

/// A body that stops arriving: 408 once the receiver's body timeout passes, the connection
/// closed, no refresh. A delivery whose body arrives in time is still accepted.
pub fn stalled_body_times_out<H: Harness>() {
    let backend = TestBackend::counting();
    let timeout = Duration::from_millis(300);
    let server = H::serve(secured_receiver(&backend, |b| b.body_timeout(timeout)));
    block_on(async {
        // The head and half of a 100-byte body, then nothing.
        let stalled = delivery(Some(SECRET), SENT_PREFIX).declared_length(100);
        let sent = std::time::Instant::now();
        let response = stalled
            .send_expecting_close(server.addr())
            .await
            .unwrap_or_else(|e| panic!("stalled body: {e}"));
        expect_status(&response, 408, "stalled body");
        expect_json_shape(&response, "408");
        assert!(
            sent.elapsed() >= timeout,
            "answered before the timeout: {:?}",
            sent.elapsed()
        );
        expect_delivery(&server, Some(SECRET), DOCUMENTED, 200, "a timely delivery").await;
        assert_eq!(backend.started(), 1, "only the timely delivery refreshed");
    });
}

/// A body that stops after its first byte is answered 408 once the body timeout passes (a
/// framework that waits for more bytes before routing never lets the receiver see it).
pub fn stalled_after_first_byte_times_out<H: Harness>() {
    let backend = TestBackend::counting();
    let timeout = Duration::from_millis(300);
    let server = H::serve(secured_receiver(&backend, |b| b.body_timeout(timeout)));
    block_on(async {
        let stalled = delivery(Some(SECRET), "{").declared_length(100);
        let sent = std::time::Instant::now();
        let response = tokio::time::timeout(timeout * 10, stalled.send_expecting_close(server.addr()))
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "a body stalled after one byte: no answer within {:?}",
                    timeout * 10
                )
            })
            .unwrap_or_else(|e| panic!("a body stalled after one byte: {e}"));
        expect_status(&response, 408, "a body stalled after one byte");
        assert!(
            sent.elapsed() >= timeout,
            "answered before the timeout: {:?}",
            sent.elapsed()
        );
        assert_eq!(backend.started(), 0, "no refresh for a stalled body");
    });
}

/// A chunked body that stops arriving (no terminating chunk) gets 408 once the body timeout
/// passes, and the connection is closed: the client cannot hold it, and a file descriptor,
/// any longer.
pub fn stalled_chunked_body_times_out<H: Harness>() {
    let backend = TestBackend::counting();
    let timeout = Duration::from_millis(300);
    let server = H::serve(secured_receiver(&backend, |b| b.body_timeout(timeout)));
    block_on(async {
        let stalled = delivery(Some(SECRET), "").chunked_unterminated(SENT_PREFIX, 16);
        let response = stalled
            .send_expecting_close(server.addr())
            .await
            .unwrap_or_else(|e| panic!("stalled chunked body: {e}"));
        expect_status(&response, 408, "stalled chunked body");
        expect_json_shape(&response, "408");
        assert_eq!(backend.started(), 0, "no refresh for a stalled body");
        expect_delivery(&server, Some(SECRET), DOCUMENTED, 200, "a timely delivery").await;
    });
}

/// A wrong key with a chunked body that stops arriving: the 401 does not wait for the rest of
/// the body until the body timeout, and the connection is closed after it (an unread body
/// cannot be skipped to reach a next request).
pub fn refusal_mid_body_closes<H: Harness>() {
    let backend = TestBackend::counting();
    // Long enough to tell a prompt refusal (and a framework's linger before it closes, 1 s on
    // actix) from one that waited for the body.
    let timeout = Duration::from_secs(5);
    let server = H::serve(secured_receiver(&backend, |b| b.body_timeout(timeout)));
    block_on(async {
        let forged = delivery(Some("wrong-key"), "").chunked_unterminated(SENT_PREFIX, 16);
        let sent = std::time::Instant::now();
        let response = forged
            .send_expecting_close(server.addr())
            .await
            .unwrap_or_else(|e| panic!("a refusal mid-body: {e}"));
        expect_status(&response, 401, "wrong key, stalled chunked body");
        assert!(
            sent.elapsed() < timeout,
            "the 401 and the close waited for the stalled body: {:?}",
            sent.elapsed()
        );
        assert_eq!(backend.started(), 0, "no refresh for a refused delivery");
    });
}
