//! Runs the black-box conformance checks against any running VWO webhook receiver:
//!
//! ```text
//! VWO_CONFORMANCE_SECRET=s3cret vwo-webhook-conformance --url http://127.0.0.1:4000/vwo-webhook
//! ```
//!
//! `--secret S` works too, but puts the key in the process list. `--body-limit BYTES` tells
//! the receiver's limit (default 65536). Prints one `test <case> ... ok|FAILED` line per
//! check, like the test harness, then what failed; exits non-zero on any failure. Usually run
//! through `cargo xtask conformance --url URL --secret S`, which prints the table.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::net::{SocketAddr, ToSocketAddrs};
use std::panic::AssertUnwindSafe;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use vwo_webhook::DEFAULT_BODY_LIMIT;
use vwo_webhook_conformance::blackbox::{CHECKS, Target};

const USAGE: &str = "usage: vwo-webhook-conformance --url http://HOST[:PORT]/PATH [--secret S] [--body-limit BYTES]\n\
                     (the secret may come from VWO_CONFORMANCE_SECRET instead)";

fn main() -> ExitCode {
    match target_from_args() {
        Ok(target) => run(&target),
        Err(message) => {
            eprintln!("vwo-webhook-conformance: {message}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn target_from_args() -> Result<Target, String> {
    let mut args = std::env::args().skip(1);
    let (mut url, mut secret, mut limit) = (None, std::env::var("VWO_CONFORMANCE_SECRET").ok(), None);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--url" => url = Some(value()?),
            "--secret" => secret = Some(value()?),
            "--body-limit" => {
                let text = value()?;
                let parsed = text.parse::<usize>().ok().filter(|n| *n > 0).ok_or(format!(
                    "--body-limit must be a positive number of bytes, not {text:?}"
                ))?;
                limit = Some(parsed);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let url = url.ok_or("--url is required")?;
    let secret = secret
        .filter(|s| !s.is_empty())
        .ok_or("a secret is required (--secret or VWO_CONFORMANCE_SECRET)")?;
    let (addr, host, path) = parse_url(&url)?;
    Ok(Target::new(
        addr,
        &host,
        &path,
        &secret,
        limit.unwrap_or(DEFAULT_BODY_LIMIT),
    ))
}

/// `http://host[:port][/path]` -> (address, Host header, path).
fn parse_url(url: &str) -> Result<(SocketAddr, String, String), String> {
    let rest = match url.split_once("://") {
        Some(("http", rest)) => rest,
        Some(("https", _)) => {
            return Err(
                "only http:// URLs are supported: check a TLS endpoint through a local \
                        plain-HTTP port or tunnel"
                    .to_owned(),
            );
        }
        _ => return Err(format!("{url:?} is not an http:// URL")),
    };
    let (authority, path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, "/"),
    };
    if authority.is_empty() {
        return Err(format!("{url:?} has no host"));
    }
    let with_port = if authority
        .rsplit_once(':')
        .is_some_and(|(_, port)| !port.contains(']'))
    {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    let addr = with_port
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {authority}: {e}"))?
        .next()
        .ok_or(format!("{authority} resolves to no address"))?;
    Ok((addr, authority.to_owned(), path.to_owned()))
}

fn run(target: &Target) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("vwo-webhook-conformance: no tokio runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    // A failed check panics; keep its message for the report instead of printing it at once.
    let last_panic = Arc::new(Mutex::new(String::new()));
    let sink = Arc::clone(&last_panic);
    std::panic::set_hook(Box::new(move |info| {
        if let Ok(mut last) = sink.lock() {
            *last = info.to_string();
        }
    }));
    let mut failures = Vec::new();
    for (name, check) in CHECKS {
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| runtime.block_on(check(target.clone()))));
        if outcome.is_ok() {
            println!("test {name} ... ok");
        } else {
            println!("test {name} ... FAILED");
            let message = last_panic.lock().map(|m| m.clone()).unwrap_or_default();
            failures.push((name, message));
        }
    }
    for (name, message) in &failures {
        eprintln!("---- {name} ----\n{message}\n");
    }
    println!(
        "black-box conformance: {} passed, {} failed",
        CHECKS.len() - failures.len(),
        failures.len()
    );
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
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
