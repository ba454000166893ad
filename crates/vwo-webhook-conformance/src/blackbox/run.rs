//! Running the black-box checks against a URL: any running VWO webhook endpoint.

use std::net::SocketAddr;

use super::{CHECKS, Target};

/// How one check ended against a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    /// The case name (a stable ID, see [adapter requirements](https://github.com/vwo-webhook/vwo-webhook/blob/main/docs/adapter-requirements.md)).
    pub name: &'static str,
    /// Whether VWO's contract needs it or it defends against hostile clients.
    pub level: crate::Level,
    /// Why it failed (never containing the secret), or `None` when it passed.
    pub failure: Option<String>,
}

impl Target {
    /// The receiver at `url` (`http://host[:port][/path]`), accepting `secret`, refusing
    /// bodies over `body_limit` bytes. Only plain HTTP is spoken: the checks send requests no
    /// ordinary client can (stalled and unterminated bodies).
    pub fn from_url(url: &str, secret: &str, body_limit: usize) -> Result<Self, String> {
        if secret.is_empty() {
            return Err("the secret must not be empty".to_owned());
        }
        let (addr, host, path) = parse_url(url)?;
        Ok(Self::new(addr, &host, &path, secret, body_limit))
    }
}

/// Runs every black-box check against `target`, one after the other, on a runtime of its
/// own. A failing check panics inside; its message is returned, not printed (install a quiet
/// panic hook to keep the default one from printing it too).
pub fn run_checks(target: &Target) -> Result<Vec<CheckResult>, String> {
    let runtime = crate::runtime::client().map_err(|error| format!("no tokio runtime: {error}"))?;
    let results = CHECKS
        .iter()
        .map(|(name, check)| {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                runtime.block_on(check(target.clone()))
            }));
            let failure = outcome.err().map(|payload| {
                payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_else(|| "the check failed".to_owned())
            });
            CheckResult {
                name,
                level: crate::Level::of(name),
                failure,
            }
        })
        .collect();
    Ok(results)
}

/// `http://host[:port][/path]` -> (address, Host header, path), read by `http::Uri`.
fn parse_url(url: &str) -> Result<(SocketAddr, String, String), String> {
    let uri: http::Uri = match url.parse() {
        Ok(uri) => uri,
        // `http:///path` is no URI to `http`, but the mistake is the missing host.
        Err(_)
            if url
                .strip_prefix("http://")
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/')) =>
        {
            return Err(format!("{url:?} has no host"));
        }
        Err(_) => return Err(format!("{url:?} is not an http:// URL")),
    };
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => {
            return Err(
                "only http:// URLs are supported: check a TLS endpoint through a local \
                 plain-HTTP port or tunnel"
                    .to_owned(),
            );
        }
        _ => return Err(format!("{url:?} is not an http:// URL")),
    }
    let authority = uri
        .authority()
        .filter(|a| !a.host().is_empty())
        .ok_or_else(|| format!("{url:?} has no host"))?;
    let host = authority.host().trim_start_matches('[').trim_end_matches(']');
    let port = authority.port_u16().unwrap_or(80);
    let addr = std::net::ToSocketAddrs::to_socket_addrs(&(host, port))
        .map_err(|e| format!("cannot resolve {authority}: {e}"))?
        .next()
        .ok_or(format!("{authority} resolves to no address"))?;
    let path = uri.path_and_query().map_or("/", http::uri::PathAndQuery::as_str);
    Ok((addr, authority.as_str().to_owned(), path.to_owned()))
}

#[cfg(test)]
mod url_tests {
    use super::parse_url;

    #[test]
    fn urls_give_address_host_and_path() {
        let (addr, host, path) = parse_url("http://127.0.0.1:4000/vwo-webhook").expect("url");
        assert_eq!(
            (addr.to_string(), host.as_str(), path.as_str()),
            ("127.0.0.1:4000".to_owned(), "127.0.0.1:4000", "/vwo-webhook")
        );
        let (addr, _, path) = parse_url("http://127.0.0.1").expect("url");
        assert_eq!((addr.port(), path.as_str()), (80, "/"));
        let (addr, host, _) = parse_url("http://[::1]:8080/hooks/vwo").expect("url");
        assert_eq!(
            (addr.to_string(), host.as_str()),
            ("[::1]:8080".to_owned(), "[::1]:8080")
        );
        let (addr, _, _) = parse_url("http://[::1]/x").expect("url");
        assert_eq!(addr.port(), 80);
    }

    #[test]
    fn other_urls_are_refused_with_the_reason() {
        assert!(
            parse_url("https://example.com/x")
                .expect_err("https")
                .contains("only http://")
        );
        assert!(
            parse_url("127.0.0.1:4000/x")
                .expect_err("no scheme")
                .contains("not an http:// URL")
        );
        assert!(parse_url("http:///x").expect_err("no host").contains("no host"));
    }
}
