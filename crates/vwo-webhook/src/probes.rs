//! Readiness, liveness and a status document, as answers every adapter mounts beside the
//! webhook: what a load balancer or Kubernetes asks a replica, with the same bytes on every
//! framework.

use std::sync::Arc;

use crate::response::Response;

/// What the probes ask of the service: whether it has settings to serve, and a status
/// document. `vwo_webhook_settings::SettingsStore` implements it.
pub trait Probe: Send + Sync + 'static {
    /// Whether the service can serve: settings are loaded (from the origin, a replica or the
    /// on-disk copy).
    fn ready(&self) -> bool;

    /// The status document, as JSON (served at the status path).
    fn status_json(&self) -> String;
}

/// The default readiness path.
pub const READY_PATH: &str = "/ready";
/// The default liveness path.
pub const LIVE_PATH: &str = "/live";
/// The default status path.
pub const STATUS_PATH: &str = "/settings/status";

/// The three probe endpoints over one [`Probe`]: give it to an adapter's probes mount.
///
/// - ready (`/ready`): 200 once settings are loaded, 503 before (take the replica out of the
///   load balancer until it can answer);
/// - live (`/live`): 200 while the process answers at all;
/// - status (`/settings/status`): 200 with the probe's status document.
///
/// `GET` and `HEAD` are answered; other methods get 405 with `Allow: GET, HEAD`.
#[derive(Clone)]
pub struct Probes {
    probe: Arc<dyn Probe>,
    ready: String,
    live: String,
    status: String,
}

impl std::fmt::Debug for Probes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Probes")
            .field("ready", &self.ready)
            .field("live", &self.live)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl Probes {
    /// Probes over `probe` at the default paths.
    pub fn new(probe: impl Probe) -> Self {
        Self::shared(Arc::new(probe))
    }

    /// Probes over a probe the application shares (an `Arc<SettingsStore>`, say).
    pub fn shared(probe: Arc<dyn Probe>) -> Self {
        Self {
            probe,
            ready: READY_PATH.to_owned(),
            live: LIVE_PATH.to_owned(),
            status: STATUS_PATH.to_owned(),
        }
    }

    /// Answers readiness at `path` instead of `/ready`.
    pub fn ready_path(mut self, path: impl Into<String>) -> Self {
        self.ready = path.into();
        self
    }

    /// Answers liveness at `path` instead of `/live`.
    pub fn live_path(mut self, path: impl Into<String>) -> Self {
        self.live = path.into();
        self
    }

    /// Answers the status at `path` instead of `/settings/status`.
    pub fn status_path(mut self, path: impl Into<String>) -> Self {
        self.status = path.into();
        self
    }

    /// The three paths, for mounting: ready, live, status.
    pub fn paths(&self) -> [&str; 3] {
        [&self.ready, &self.live, &self.status]
    }

    /// The answer for `method` at `path`, or `None` when the path is not a probe's.
    pub fn answer(&self, method: &str, path: &str) -> Option<Response> {
        let which = if path == self.ready {
            Which::Ready
        } else if path == self.live {
            Which::Live
        } else if path == self.status {
            Which::Status
        } else {
            return None;
        };
        if method != "GET" && method != "HEAD" {
            return Some(Response::probe_method_not_allowed());
        }
        Some(match which {
            Which::Ready if self.probe.ready() => Response::probe(200, "success", "ready"),
            Which::Ready => Response::probe(503, "error", "not ready: no settings loaded yet"),
            Which::Live => Response::probe(200, "success", "live"),
            Which::Status => Response::json(200, self.probe.status_json()),
        })
    }
}

enum Which {
    Ready,
    Live,
    Status,
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    struct Flag(Arc<AtomicBool>);

    impl Probe for Flag {
        fn ready(&self) -> bool {
            self.0.load(Ordering::SeqCst)
        }

        fn status_json(&self) -> String {
            format!(r#"{{"ready":{}}}"#, self.ready())
        }
    }

    #[test]
    fn ready_follows_the_probe_and_the_rest_answer_as_documented() {
        let loaded = Arc::new(AtomicBool::new(false));
        let probes = Probes::new(Flag(Arc::clone(&loaded))).status_path("/status");
        let ready = probes.answer("GET", "/ready").expect("a probe path");
        assert_eq!(
            (ready.status(), ready.body()),
            (
                503,
                r#"{"status":"error","message":"not ready: no settings loaded yet"}"#
            )
        );
        assert!(ready.headers().contains(&("content-type", "application/json")));
        loaded.store(true, Ordering::SeqCst);
        assert_eq!(probes.answer("HEAD", "/ready").map(|r| r.status()), Some(200));
        assert_eq!(
            probes.answer("GET", "/live").map(|r| r.into_body()).as_deref(),
            Some(r#"{"status":"success","message":"live"}"#)
        );
        assert_eq!(
            probes.answer("GET", "/status").map(|r| r.into_body()).as_deref(),
            Some(r#"{"ready":true}"#)
        );
        let post = probes.answer("POST", "/live").expect("a probe path");
        assert_eq!(post.status(), 405);
        assert!(post.headers().contains(&("allow", "GET, HEAD")));
        assert_eq!(probes.answer("GET", "/settings/status"), None, "moved");
        assert_eq!(probes.answer("GET", "/vwo-webhook"), None);
    }
}
