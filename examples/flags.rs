//! `GET /flags/{feature}?user=ID&name=value...`: the decision for one user on the live
//! settings, served by every example (on any framework, through [`answer`]).
//!
//! Query parameters other than `user` are custom variables, read as JSON when they are JSON
//! (`seats=12`, `beta=true`) and as text otherwise; `user_agent` and `ip` are the user agent
//! and IP address.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Map, Value, json};
use vwo_webhook_flags::{Context, Flags};

/// Where the examples serve decisions (`{feature}` is the feature key).
pub const FLAGS_PATH: &str = "/flags/{feature}";

/// The decision for `feature` and the user the query names: a status and a JSON body (the
/// shape of [`vwo_webhook_flags::Flag::to_json`]; 400 without `user`, 503 before the first
/// settings arrive).
pub fn answer(flags: &Flags, feature: &str, query: Option<&str>) -> (u16, String) {
    let mut user = None;
    let mut variables = Map::new();
    let (mut user_agent, mut ip) = (None, None);
    for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match name.as_ref() {
            "user" => user = Some(value.into_owned()),
            "user_agent" => user_agent = Some(value.into_owned()),
            "ip" => ip = Some(value.into_owned()),
            _ => {
                let parsed =
                    serde_json::from_str(&value).unwrap_or_else(|_| Value::String(value.into_owned()));
                variables.insert(name.into_owned(), parsed);
            }
        }
    }
    let error =
        |status: u16, message: &str| (status, json!({"status": "error", "message": message}).to_string());
    let Some(Ok(mut context)) = user.map(Context::new) else {
        return error(
            400,
            "name the user: /flags/{feature}?user=<id>[&variable=value...]",
        );
    };
    if !flags.is_ready() {
        return error(503, "no settings yet: the first fetch has not completed");
    }
    context = context.with_custom_variables(variables);
    if let Some(ua) = user_agent {
        context = context.with_user_agent(ua);
    }
    if let Some(ip) = ip {
        context = context.with_ip_address(ip);
    }
    (
        200,
        flags.get_flag(feature, &context).to_json(feature).to_string(),
    )
}

/// [`answer`] as an axum route at [`FLAGS_PATH`].
pub fn router(flags: Arc<Flags>) -> Router {
    Router::new().route(
        FLAGS_PATH,
        get(|State(flags): State<Arc<Flags>>, Path(feature): Path<String>, RawQuery(query): RawQuery| async move {
            let (status, body) = answer(&flags, &feature, query.as_deref());
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
        }),
    )
    .with_state(flags)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags() -> Flags {
        let document: Value = serde_json::from_str(crate::DEMO_SETTINGS).expect("JSON");
        Flags::from_document(&document)
    }

    #[test]
    fn the_query_names_the_user_and_the_variables() {
        let (status, body) = answer(&flags(), "feature1", Some("user=u%201&price=200"));
        assert_eq!(status, 200, "{body}");
        let body: Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(body["feature_key"], "feature1");
        assert_eq!(body["enabled"], true, "the demo's rollout takes everyone: {body}");
    }

    #[test]
    fn without_a_user_or_settings_the_answer_says_why() {
        let (status, body) = answer(&flags(), "feature1", Some("price=1"));
        assert_eq!(status, 400);
        assert!(body.contains("user=<id>"), "{body}");
        let (status, body) = answer(&Flags::new(), "feature1", Some("user=u"));
        assert_eq!(status, 503);
        assert!(body.contains("no settings yet"), "{body}");
    }
}
