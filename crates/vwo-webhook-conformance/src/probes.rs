//! The probes (ready, live, status) as an adapter serves them: one check for every adapter.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use vwo_webhook::{Probe, Probes};

use crate::client::Request;
use crate::expect::{expect_json_shape, expect_status};

/// A probe whose readiness the test switches.
#[derive(Debug, Clone, Default)]
pub struct Switch(Arc<AtomicBool>);

impl Switch {
    /// Makes the probe ready.
    pub fn load(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl Probe for Switch {
    fn ready(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    fn status_json(&self) -> String {
        format!(
            r#"{{"state":"{}","version":"7"}}"#,
            if self.ready() { "ok" } else { "empty" }
        )
    }
}

/// Probes at the default paths over a switch that starts not ready.
pub fn switched() -> (Switch, Probes) {
    let switch = Switch::default();
    (switch.clone(), Probes::new(switch))
}

/// Checks the probes an adapter serves at `addr` (mounted from [`switched`]'s probes, beside
/// the application's own 404): each answer's status, headers and bytes are the core's.
pub fn check_probes(addr: SocketAddr, switch: &Switch) {
    let reference = Probes::new(switch.clone());
    crate::runtime::block_on(async {
        let reference = &reference;
        let send = |method: &'static str, path: &'static str| async move {
            let response = Request::new(method, path)
                .send(addr)
                .await
                .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
            let expected = reference.answer(method, path).expect("a probe path");
            expect_status(&response, expected.status(), &format!("{method} {path}"));
            assert_eq!(response.text(), expected.body(), "{method} {path}: body");
            for (name, value) in expected.headers() {
                assert_eq!(response.header(name), Some(*value), "{method} {path}: {name}");
            }
            response
        };
        let not_ready = send("GET", "/ready").await;
        expect_json_shape(&not_ready, "not ready");
        assert_eq!(not_ready.status, 503);
        send("GET", "/live").await;
        let empty = send("GET", "/settings/status").await;
        assert!(empty.text().contains("empty"), "{}", empty.text());
        switch.load();
        assert_eq!(send("GET", "/ready").await.status, 200);
        let loaded = send("GET", "/settings/status").await;
        assert!(loaded.text().contains(r#""state":"ok""#), "{}", loaded.text());
        assert_eq!(send("POST", "/live").await.header("allow"), Some("GET, HEAD"));
        let elsewhere = Request::new("GET", "/not-a-probe")
            .send(addr)
            .await
            .expect("answer");
        assert_eq!(elsewhere.status, 404, "the application's own 404 elsewhere");
    });
}
