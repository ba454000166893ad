//! The answers' shape: statuses, headers and bodies as the core writes them.

use super::*;

/// One situation of the status table, reproducible through the core and through an adapter.
struct Situation {
    name: &'static str,
    backend: fn() -> TestBackend,
    ack: AckPolicy,
    request: Request,
    /// The same request as the core sees it: method, headers, body.
    method: &'static str,
    headers: Vec<(&'static str, String)>,
    body: &'static str,
}

fn situations() -> Vec<Situation> {
    let key = ("x-vwo-auth", SECRET.to_owned());
    let post = |name, backend: fn() -> TestBackend, ack, secret: Option<&str>, body: &'static str| {
        let headers = secret
            .map(|s| vec![("x-vwo-auth", s.to_owned())])
            .unwrap_or_default();
        Situation {
            name,
            backend,
            ack,
            request: delivery(secret, body),
            method: "POST",
            headers,
            body,
        }
    };
    let wait = AckPolicy::default();
    let too_long = DEFAULT_BODY_LIMIT as u64 + 1;
    vec![
        post(
            "200 refreshed",
            TestBackend::counting,
            wait,
            Some(SECRET),
            DOCUMENTED,
        ),
        post(
            "202 accepted",
            TestBackend::counting,
            AckPolicy::Immediate,
            Some(SECRET),
            DOCUMENTED,
        ),
        post("400 bad JSON", TestBackend::counting, wait, Some(SECRET), "{"),
        post(
            "400 bad field",
            TestBackend::counting,
            wait,
            Some(SECRET),
            r#"{"timestamp":true}"#,
        ),
        post(
            "401 wrong key",
            TestBackend::counting,
            wait,
            Some("wrong"),
            DOCUMENTED,
        ),
        post("401 no key", TestBackend::counting, wait, None, DOCUMENTED),
        Situation {
            name: "405 GET",
            backend: TestBackend::counting,
            ack: wait,
            request: Request::new("GET", DEFAULT_PATH).header("x-vwo-auth", SECRET),
            method: "GET",
            headers: vec![key.clone()],
            body: "",
        },
        Situation {
            name: "413 declared",
            backend: TestBackend::counting,
            ack: wait,
            request: delivery(Some(SECRET), SENT_PREFIX).declared_length(too_long),
            method: "POST",
            headers: vec![key, ("content-length", too_long.to_string())],
            body: "",
        },
        post(
            "500 permanent",
            TestBackend::permanent,
            wait,
            Some(SECRET),
            DOCUMENTED,
        ),
        post(
            "503 transient",
            TestBackend::transient,
            wait,
            Some(SECRET),
            DOCUMENTED,
        ),
    ]
}

fn situation_receiver(situation: &Situation) -> Receiver {
    receiver_with(&(situation.backend)(), RetryPolicy::none(), |b| {
        b.ack_policy(situation.ack)
    })
}

/// Every answer in the status table is `application/json` shaped `{status, message}`.
pub fn every_response_is_json<H: Harness>() {
    for situation in situations() {
        let server = H::serve(situation_receiver(&situation));
        let response = block_on(send(&server, &situation.request));
        let name = situation.name;
        assert!(
            name.starts_with(&response.status.to_string()),
            "{name}: got {} {:?}",
            response.status,
            response.text()
        );
        expect_json_shape(&response, name);
    }
}

/// Status, the table's headers and the body bytes equal the core's own answer (the reference
/// every adapter is held to), for every situation of the table.
pub fn responses_identical_across_adapters<H: Harness>() {
    for situation in situations() {
        let name = situation.name;
        let reference = block_on(async {
            let receiver = situation_receiver(&situation);
            let headers: Vec<(&str, &[u8])> = situation
                .headers
                .iter()
                .map(|(n, v)| (*n, v.as_bytes()))
                .collect();
            receiver
                .handle_buffered(situation.method, headers.as_slice(), situation.body.as_bytes())
                .await
        });
        let server = H::serve(situation_receiver(&situation));
        let response = block_on(send(&server, &situation.request));
        assert_eq!(response.status, reference.status(), "{name}: status");
        for header in ["content-type", "allow", "retry-after"] {
            let expected = reference
                .headers()
                .iter()
                .find(|(n, _)| *n == header)
                .map(|(_, v)| *v);
            assert_eq!(response.header(header), expected, "{name}: header {header}");
        }
        assert_eq!(response.text(), reference.body(), "{name}: body");
    }
}
