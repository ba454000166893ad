//! What a failing case means. A `required` case is what VWO's contract and the project's
//! security promise need: authentication that fails closed, the statuses VWO acts on, body
//! limits, JSON answers. A `hardening` case defends against hostile clients doing what VWO
//! never does; a receiver that fails one still works with VWO, and is worth fixing.

/// How much a case matters to a receiver that VWO calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    /// VWO's contract or the security promise: a failure is a broken receiver.
    Required,
    /// Defence against hostile clients: a failure is a weakness VWO itself never meets.
    Hardening,
}

/// The hardening cases, each with why it is one. Every other case is required.
pub const HARDENING: &[(&str, &str)] = &[
    (
        "rejects_huge_declared_length_without_reading",
        "VWO always sends the body it declares; only a hostile client declares 50 MB and sends nothing, to hold a connection",
    ),
    (
        "expect_continue_oversized_is_413",
        "VWO does not send Expect: 100-continue; answering 100 Continue first only lets a client that does start an upload that is refused at once anyway",
    ),
    (
        "expect_continue_accepted",
        "VWO does not send Expect: 100-continue",
    ),
    (
        "keep_alive_after_refusal",
        "a refusal that closes the connection costs the client a reconnect; VWO's deliveries are answered either way",
    ),
    (
        "stalled_body_times_out",
        "VWO sends whole bodies; a client that stops mid-body only holds a connection until a timeout frees it",
    ),
    (
        "stalled_chunked_body_times_out",
        "VWO sends whole bodies; a client that stops mid-chunk only holds a connection until a timeout frees it",
    ),
    (
        "refusal_mid_body_closes",
        "VWO sends whole bodies with the right key; a forged upload that stalls only holds a connection until the refusal closes it",
    ),
    (
        "stalled_after_first_byte_times_out",
        "VWO sends whole bodies; a client that stops after one byte only holds a connection until a timeout frees it",
    ),
    (
        "content_length_with_chunked_is_not_smuggled",
        "VWO frames a body one way; a length beside chunked encoding is how a client smuggles a request past a proxy",
    ),
    (
        "odd_chunk_encodings_are_read",
        "VWO does not send chunk extensions, padded sizes or trailers; a client that does is still owed a correct reading",
    ),
    (
        "malformed_chunk_size_is_refused",
        "VWO sends valid framing; a broken chunk size is a hostile or broken client, refused without a refresh",
    ),
    (
        "idle_and_trickling_connections_are_closed",
        "VWO opens a connection to deliver and sends its request at once; only a hostile client holds connections idle or trickles its head",
    ),
];

impl Level {
    /// The level of the case `name`.
    pub fn of(name: &str) -> Self {
        if HARDENING.iter().any(|(case, _)| *case == name) {
            Level::Hardening
        } else {
            Level::Required
        }
    }

    /// Why the case `name` is hardening, if it is.
    pub fn why(name: &str) -> Option<&'static str> {
        HARDENING
            .iter()
            .find(|(case, _)| *case == name)
            .map(|(_, why)| *why)
    }

    /// `required` or `hardening`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Required => "required",
            Level::Hardening => "hardening",
        }
    }
}
