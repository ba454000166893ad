//! What VWO's SDKs call on the host named in their `gatewayService` option (DESIGN §13), with
//! or without the settings' collection prefix as a first path segment: the held settings, the
//! events (forwarded to VWO), and the gateway's own lookups (forwarded to an upstream gateway,
//! or answered as the SDKs read "no details").
//!
//! Every request names its account and SDK key; one the relay does not hold gets 401, never
//! another environment's settings and never a pass-through to VWO.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::environment::Environment;
use crate::events::{EventRequest, Forwarder};

/// Counter of settings files served, by environment.
pub const SETTINGS_SERVED: &str = "vwo_relay_settings_served_total";
/// Counter of requests refused, by reason (`unknown_key`, `too_large`, `slow_body`,
/// `queue_full`, `not_ready`).
pub const REFUSED: &str = "vwo_relay_requests_refused_total";

/// How long a client may take to send an event body.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// The SDK-facing side of a relay.
#[derive(Debug, Clone)]
pub(crate) struct Gateway(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    environments: Vec<Arc<Environment>>,
    forwarder: Forwarder,
    upstream: Option<String>,
    client: reqwest::Client,
    body_limit: usize,
}

impl Gateway {
    pub(crate) fn new(
        environments: Vec<Arc<Environment>>,
        forwarder: Forwarder,
        upstream: Option<String>,
        client: reqwest::Client,
        body_limit: usize,
    ) -> Self {
        Self(Arc::new(Inner {
            environments,
            forwarder,
            upstream,
            client,
            body_limit,
        }))
    }

    /// The routes, at the root and under any one prefix segment.
    pub(crate) fn router(&self) -> Router {
        let mut router = Router::new();
        for prefix in ["", "/{collection_prefix}"] {
            router = router
                .route(&format!("{prefix}/server-side/v2-settings"), get(settings))
                .route(&format!("{prefix}/server-side/v2-pull"), get(settings))
                .route(&format!("{prefix}/events/t"), post(events))
                .route(&format!("{prefix}/server-side/batch-events-v2"), post(events))
                .route(&format!("{prefix}/get-user-details"), get(lookup))
                .route(&format!("{prefix}/check-attribute"), get(lookup))
                .route(&format!("{prefix}/user-alias/getAliasUserId"), get(lookup))
                .route(&format!("{prefix}/user-alias/setUserAlias"), post(lookup));
        }
        router.with_state(self.clone())
    }

    /// The environment whose account and SDK key these are.
    fn environment(&self, account_id: Option<&str>, sdk_key: Option<&str>) -> Option<&Arc<Environment>> {
        let (account_id, sdk_key) = (account_id?, sdk_key?);
        self.0
            .environments
            .iter()
            .find(|environment| environment.owns(account_id, sdk_key))
    }
}

/// A query's value for `name` (the first).
fn query_value(query: Option<&str>, name: &str) -> Option<String> {
    form_urlencoded::parse(query?.as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// A JSON error answer; `message` never holds a key.
fn error(status: StatusCode, reason: &'static str, message: &str) -> Response {
    metrics::counter!(REFUSED, "reason" => reason).increment(1);
    let body = serde_json::json!({ "error": message }).to_string();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn unknown_key() -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        "unknown_key",
        "the account id and SDK key are not an environment of this relay",
    )
}

/// `GET /server-side/v2-settings` and `/server-side/v2-pull`: the held settings for the
/// account (`a`) and SDK key (`i`).
async fn settings(State(gateway): State<Gateway>, RawQuery(query): RawQuery) -> Response {
    let query = query.as_deref();
    let Some(environment) = gateway.environment(
        query_value(query, "a").as_deref(),
        query_value(query, "i").as_deref(),
    ) else {
        return unknown_key();
    };
    environment.catch_up().await;
    let Some(bytes) = environment.served_settings() else {
        // The SDKs retry anything but a 200.
        let mut answer = error(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "the relay has no settings for this environment yet",
        );
        answer
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return answer;
    };
    metrics::counter!(SETTINGS_SERVED, "environment" => environment.name.clone()).increment(1);
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        bytes,
    )
        .into_response()
}

/// `POST /events/t` (key in `env`) and `/server-side/batch-events-v2` (key in
/// `Authorization`, or `env`): queued for VWO, answered at once.
async fn events(State(gateway): State<Gateway>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let uri = &parts.uri;
    let query = uri.query();
    let key = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| query_value(query, "env"));
    if gateway
        .environment(query_value(query, "a").as_deref(), key.as_deref())
        .is_none()
    {
        return unknown_key();
    }
    let body = match read_body(body, &parts.headers, gateway.0.body_limit).await {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    let path_and_query = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned());
    match gateway
        .0
        .forwarder
        .push(EventRequest::new(path_and_query, &parts.headers, body))
    {
        Ok(()) => ([(header::CONTENT_TYPE, "application/json")], "{}").into_response(),
        Err(full) => {
            let mut answer = error(StatusCode::SERVICE_UNAVAILABLE, "queue_full", &full.to_string());
            answer
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
            answer
        }
    }
}

/// The body, within the limit and the time allowed.
async fn read_body(body: Body, headers: &HeaderMap, limit: usize) -> Result<Bytes, Response> {
    let too_large = || {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            &format!("the body is over the relay's limit of {limit} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(too_large());
    }
    match tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, limit)).await {
        Err(_) => Err(error(
            StatusCode::REQUEST_TIMEOUT,
            "slow_body",
            "the body did not arrive in time",
        )),
        Ok(Err(_)) => Err(too_large()),
        Ok(Ok(bytes)) => Ok(bytes),
    }
}

/// The gateway's lookups: forwarded to the upstream gateway when there is one; otherwise
/// answered as the SDKs read "nothing known" (no location or device details, not in the
/// list), and aliasing, which needs VWO's gateway, is refused with 501.
async fn lookup(State(gateway): State<Gateway>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let uri = parts.uri.clone();
    let query = uri.query();
    let key = query_value(query, "sdkKey").or_else(|| query_value(query, "env"));
    let account = query_value(query, "accountId").or_else(|| query_value(query, "a"));
    let known = match key {
        Some(key) => gateway.environment(account.as_deref(), Some(&key)).is_some(),
        // `get-user-details` and `check-attribute` carry the account only.
        None => account.is_some_and(|account| gateway.0.environments.iter().any(|e| e.account_id == account)),
    };
    if !known {
        return unknown_key();
    }
    let Some(upstream) = &gateway.0.upstream else {
        let path = uri.path();
        return if path.ends_with("/get-user-details") {
            ([(header::CONTENT_TYPE, "application/json")], "{}").into_response()
        } else if path.ends_with("/check-attribute") {
            ([(header::CONTENT_TYPE, "application/json")], "false").into_response()
        } else {
            error(
                StatusCode::NOT_IMPLEMENTED,
                "no_upstream",
                "user aliasing needs VWO's gateway: set upstream_gateway in the relay's configuration",
            )
        };
    };
    let body = match read_body(body, &parts.headers, gateway.0.body_limit).await {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    let path_and_query = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    let method = if parts.method == Method::POST {
        reqwest::Method::POST
    } else {
        reqwest::Method::GET
    };
    let mut forwarded = gateway
        .0
        .client
        .request(method, format!("{upstream}{path_and_query}"))
        .timeout(Duration::from_secs(10));
    if let Some(content_type) = parts.headers.get(header::CONTENT_TYPE) {
        forwarded = forwarded.header(reqwest::header::CONTENT_TYPE, content_type.as_bytes());
    }
    match forwarded.body(body).send().await {
        Ok(response) => {
            let status = StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            let content_type = response
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| HeaderValue::from_bytes(v.as_bytes()).ok());
            match response.bytes().await {
                Ok(bytes) => {
                    let mut answer = (status, bytes).into_response();
                    if let Some(content_type) = content_type {
                        answer.headers_mut().insert(header::CONTENT_TYPE, content_type);
                    }
                    answer
                }
                Err(_) => error(
                    StatusCode::BAD_GATEWAY,
                    "upstream",
                    "the upstream gateway's answer broke off",
                ),
            }
        }
        Err(failure) => error(
            StatusCode::BAD_GATEWAY,
            "upstream",
            &format!(
                "the upstream gateway did not answer ({})",
                crate::fanout::failure_kind(&failure)
            ),
        ),
    }
}
