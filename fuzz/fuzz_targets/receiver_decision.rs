//! Whole deliveries (method, headers, body) through the receiver: it never panics, and never
//! answers 2xx unless the request carried the key.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use vwo_webhook::{AckPolicy, Keyring, Receiver, RefreshError, Trigger};

const SECRET: &[u8] = b"fuzz-s3cret";

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
    })
}

fn receiver() -> &'static Receiver {
    static RECEIVER: OnceLock<Receiver> = OnceLock::new();
    RECEIVER.get_or_init(|| {
        let _guard = runtime().enter();
        Receiver::builder(|_: Trigger| async { Ok::<(), RefreshError>(()) })
            .keyring(Keyring::from_comma_separated("fuzz-s3cret").expect("key"))
            .ack_policy(AckPolicy::Immediate)
            .body_limit(4096)
            .build()
            .expect("receiver")
    })
}

const METHODS: [&str; 4] = ["POST", "GET", "post", "PUT"];
const NAMES: [&str; 4] = ["x-vwo-auth", "content-length", "content-type", "x-other"];

fuzz_target!(|data: &[u8]| {
    // Layout: method byte, header count byte, then per header a name byte and a length byte
    // followed by the value, then the body.
    let mut rest = data;
    let mut take = |n: usize| {
        let (head, tail) = rest.split_at(n.min(rest.len()));
        rest = tail;
        head
    };
    let method = METHODS[usize::from(take(1).first().copied().unwrap_or(0)) % METHODS.len()];
    let count = usize::from(take(1).first().copied().unwrap_or(0) % 4);
    let mut headers: Vec<(&str, &[u8])> = Vec::new();
    for _ in 0..count {
        let name = NAMES[usize::from(take(1).first().copied().unwrap_or(0)) % NAMES.len()];
        let length = usize::from(take(1).first().copied().unwrap_or(0));
        headers.push((name, take(length)));
    }
    let body = rest;
    let headers: [(&str, &[u8]); 4] =
        std::array::from_fn(|i| headers.get(i).copied().unwrap_or(("x-unused", b"")));
    let response = runtime().block_on(receiver().handle_buffered(method, &headers, body));
    if response.is_success() {
        let key = headers
            .iter()
            .find(|(name, _)| *name == "x-vwo-auth")
            .map(|(_, v)| *v);
        assert_eq!(key, Some(SECRET), "2xx without the key");
        assert_eq!(method, "POST");
    }
    assert!(response.body().starts_with('{'));
});
