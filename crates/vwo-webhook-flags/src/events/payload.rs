//! What the SDK sends, field for field (`utils/NetworkUtil.ts`: `getEventsBaseProperties`,
//! `_getEventBasePayload`, `getTrackUserPayloadData`, `getTrackGoalPayloadData`,
//! `getAttributePayloadData`; `utils/BatchEventsDispatcher.ts`), built from the small record
//! a decision queues. Pure: the time and the random number come in as arguments.
//!
//! The SDK's quirks are kept, since VWO's collector is built for them: the query string is
//! joined without encoding (only `visitor_ua` is encoded, with `encodeURIComponent`), a
//! context without a user agent sends `visitor_ua=undefined`, and `url` is `https` and the
//! host name with no `://` between them (its `HTTPS_PROTOCOL` is `"https"`).

use std::fmt::Write as _;
use std::sync::Arc;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value, json};

use crate::js;
use crate::uuid::user_uuid;

/// The name this project reports where the SDK reports its own (`sn`, `vwo_sdkName`).
pub const SDK_NAME: &str = "vwo-webhook-rust";
/// The version reported with [`SDK_NAME`] (`sv`, `vwo_sdkVersion`).
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

/// `vwo_variationShown`, the impression event.
pub(crate) const VARIATION_SHOWN: &str = "vwo_variationShown";
/// `vwo_syncVisitorProp`, the attributes event.
pub(crate) const SYNC_VISITOR_PROP: &str = "vwo_syncVisitorProp";

/// What `encodeURIComponent` leaves as it is: letters, digits and `-_.!~*'()`.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// One event as queued: what happened, to whom, when. The payload is built from it on the
/// dispatcher's task, not on the decision's.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pending {
    pub(crate) what: What,
    pub(crate) user_id: String,
    pub(crate) user_agent: Option<String>,
    pub(crate) ip_address: Option<String>,
    /// When it happened, in Unix milliseconds.
    pub(crate) at_ms: u64,
    /// The settings' `collectionPrefix`: a path prefix on VWO's own host.
    pub(crate) prefix: Option<Arc<str>>,
}

/// The three kinds of event.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum What {
    /// `vwo_variationShown` for a campaign's variation, with the post-segmentation
    /// variables the context names (their values, where JavaScript counts them true).
    Shown {
        campaign_id: Value,
        variation_id: Value,
        visitor: Vec<(String, Value)>,
    },
    /// A custom or revenue metric (`trackEvent`).
    Track {
        name: String,
        properties: Map<String, Value>,
    },
    /// `vwo_syncVisitorProp` (`setAttribute`), with the settings' own `sdkKey` field.
    Attributes {
        attributes: Map<String, Value>,
        environment: Option<Value>,
    },
}

/// Who reports: the account and SDK key the events are for, and the host they go to.
#[derive(Clone)]
pub(crate) struct Identity {
    pub(crate) account_id: String,
    pub(crate) sdk_key: vwo_webhook_settings::SdkKey,
    /// The host name (no port) the SDK writes into the `url` parameter.
    pub(crate) hostname: String,
}

impl Pending {
    /// The event's name (`en`, `d.event.name`).
    pub(crate) fn name(&self) -> &str {
        match &self.what {
            What::Shown { .. } => VARIATION_SHOWN,
            What::Track { name, .. } => name,
            What::Attributes { .. } => SYNC_VISITOR_PROP,
        }
    }

    /// The JSON body (`{"d": ..}`), one element of a batch's `ev`.
    pub(crate) fn body(&self, identity: &Identity) -> Value {
        let sdk_key = identity.sdk_key.expose_secret();
        let uuid = user_uuid(&self.user_id, &identity.account_id);
        let mut props = Map::new();
        props.insert("vwo_sdkName".into(), SDK_NAME.into());
        props.insert("vwo_sdkVersion".into(), SDK_VERSION.into());
        props.insert("vwo_envKey".into(), sdk_key.into());
        let mut visitor = Map::new();
        visitor.insert("vwo_fs_environment".into(), sdk_key.into());
        match &self.what {
            What::Shown {
                campaign_id,
                variation_id,
                visitor: variables,
            } => {
                props.insert("id".into(), campaign_id.clone());
                props.insert("variation".into(), variation_id.clone());
                props.insert("isFirst".into(), 1.into());
                for (key, value) in variables {
                    visitor.insert(key.clone(), value.clone());
                }
                if let Some(ip) = self.ip_address.as_deref().filter(|ip| !ip.is_empty()) {
                    visitor.insert("ip".into(), ip.into());
                }
            }
            What::Track { properties, .. } => {
                props.insert("isCustomEvent".into(), true.into());
                props.insert("variation".into(), 1.into());
                props.insert("id".into(), 1.into());
                for key in js::keys(properties) {
                    props.insert(key.to_owned(), properties[key].clone());
                }
            }
            What::Attributes {
                attributes,
                environment,
            } => {
                props.insert("isCustomEvent".into(), true.into());
                if let Some(environment) = environment {
                    props.insert("vwo_fs_environment".into(), environment.clone());
                }
                for key in js::keys(attributes) {
                    visitor.insert(key.to_owned(), attributes[key].clone());
                }
            }
        }
        let mut body = json!({
            "d": {
                "msgId": format!("{uuid}-{}", self.at_ms),
                "visId": uuid,
                "sessionId": self.at_ms.div_ceil(1000),
                "visitor_ua": self.user_agent.as_deref().unwrap_or(""),
                "visitor_ip": self.ip_address.as_deref().unwrap_or(""),
                "event": {"props": props, "name": self.name(), "time": self.at_ms},
                "visitor": {"props": visitor},
            }
        });
        js::json_form(&mut body);
        body
    }

    /// The query string of `/events/t` (without `?`), in the SDK's order: `en`, `a`,
    /// `eTime`, `random`, `p`, `visitor_ua`, `visitor_ip`, `sn`, `sv`, `env`, `url`.
    pub(crate) fn query(&self, identity: &Identity, random: f64) -> String {
        let user_agent = match &self.user_agent {
            Some(ua) => utf8_percent_encode(ua, URI_COMPONENT).to_string(),
            None => "undefined".to_owned(),
        };
        let mut query = String::with_capacity(256);
        let _ = write!(
            query,
            "en={}&a={}&eTime={}&random={}&p=FS&visitor_ua={user_agent}&visitor_ip={}&sn={SDK_NAME}&sv={SDK_VERSION}&env={}&url=https{}/events/t",
            self.name(),
            identity.account_id,
            self.at_ms,
            js::number_to_string(random),
            self.ip_address.as_deref().unwrap_or(""),
            identity.sdk_key.expose_secret(),
            identity.hostname,
        );
        query
    }

    /// The headers of `/events/t`: the visitor's user agent and IP, when given.
    pub(crate) fn headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = Vec::new();
        if let Some(ua) = self.user_agent.as_deref().filter(|ua| !ua.is_empty()) {
            headers.push(("X-Device-User-Agent", ua.to_owned()));
        }
        if let Some(ip) = self.ip_address.as_deref().filter(|ip| !ip.is_empty()) {
            headers.push(("VWO-X-Forwarded-For", ip.to_owned()));
        }
        headers
    }
}

/// The query string of `/server-side/batch-events-v2`: `a`, `env`, `sn`, `sv`.
pub(crate) fn batch_query(identity: &Identity) -> String {
    format!(
        "a={}&env={}&sn={SDK_NAME}&sv={SDK_VERSION}",
        identity.account_id,
        identity.sdk_key.expose_secret()
    )
}

/// A batch's body: `{"ev": [payload, ..]}`.
pub(crate) fn batch_body<'a>(events: impl IntoIterator<Item = &'a Pending>, identity: &Identity) -> Value {
    json!({"ev": events.into_iter().map(|e| e.body(identity)).collect::<Vec<_>>()})
}

#[cfg(test)]
mod tests {
    use super::*;
    use vwo_webhook_settings::SdkKey;

    fn identity() -> Identity {
        Identity {
            account_id: "123456".into(),
            sdk_key: SdkKey::new("key-1"),
            hostname: "dev.visualwebsiteoptimizer.com".into(),
        }
    }

    fn shown() -> Pending {
        Pending {
            what: What::Shown {
                campaign_id: json!(7),
                variation_id: json!(2),
                visitor: vec![("plan".into(), json!("pro"))],
            },
            user_id: "user-1".into(),
            user_agent: Some("Mozilla/5.0 (X11)".into()),
            ip_address: Some("1.2.3.4".into()),
            at_ms: 1_700_000_000_123,
            prefix: None,
        }
    }

    #[test]
    fn an_impression_has_the_sdks_body() {
        let body = shown().body(&identity());
        let uuid = user_uuid("user-1", "123456");
        assert_eq!(
            body,
            json!({"d": {
                "msgId": format!("{uuid}-1700000000123"), "visId": uuid, "sessionId": 1_700_000_001,
                "visitor_ua": "Mozilla/5.0 (X11)", "visitor_ip": "1.2.3.4",
                "event": {"props": {"vwo_sdkName": SDK_NAME, "vwo_sdkVersion": SDK_VERSION, "vwo_envKey": "key-1",
                                    "id": 7, "variation": 2, "isFirst": 1},
                          "name": "vwo_variationShown", "time": 1_700_000_000_123_u64},
                "visitor": {"props": {"vwo_fs_environment": "key-1", "plan": "pro", "ip": "1.2.3.4"}},
            }})
        );
    }

    #[test]
    fn the_query_is_joined_as_the_sdk_joins_it() {
        let query = shown().query(&identity(), 0.5);
        assert_eq!(
            query,
            format!(
                "en=vwo_variationShown&a=123456&eTime=1700000000123&random=0.5&p=FS\
                 &visitor_ua=Mozilla%2F5.0%20(X11)&visitor_ip=1.2.3.4&sn={SDK_NAME}&sv={SDK_VERSION}\
                 &env=key-1&url=httpsdev.visualwebsiteoptimizer.com/events/t"
            )
        );
        let mut anonymous = shown();
        anonymous.user_agent = None;
        anonymous.ip_address = None;
        assert!(
            anonymous
                .query(&identity(), 0.5)
                .contains("&visitor_ua=undefined&visitor_ip=&")
        );
        assert!(anonymous.headers().is_empty());
        assert_eq!(
            shown().headers(),
            vec![
                ("X-Device-User-Agent", "Mozilla/5.0 (X11)".to_owned()),
                ("VWO-X-Forwarded-For", "1.2.3.4".to_owned())
            ]
        );
    }

    #[test]
    fn a_tracked_event_lays_its_properties_over_the_fixed_ones() {
        let mut event = shown();
        event.what = What::Track {
            name: "purchase".into(),
            properties: serde_json::from_value(json!({"revenue": 12.5, "id": 9})).expect("map"),
        };
        let body = event.body(&identity());
        let props = &body["d"]["event"]["props"];
        assert_eq!(
            (
                &props["isCustomEvent"],
                &props["variation"],
                &props["id"],
                &props["revenue"]
            ),
            (&json!(true), &json!(1), &json!(9), &json!(12.5))
        );
        assert_eq!(body["d"]["event"]["name"], "purchase");
        assert_eq!(
            body["d"]["visitor"]["props"],
            json!({"vwo_fs_environment": "key-1"})
        );
    }

    #[test]
    fn attributes_go_to_the_visitor_props() {
        let mut event = shown();
        event.what = What::Attributes {
            attributes: serde_json::from_value(json!({"tier": "gold", "age": 30})).expect("map"),
            environment: Some(json!("settings-key")),
        };
        let body = event.body(&identity());
        assert_eq!(body["d"]["event"]["props"]["vwo_fs_environment"], "settings-key");
        assert_eq!(
            body["d"]["visitor"]["props"],
            json!({"vwo_fs_environment": "key-1", "tier": "gold", "age": 30})
        );
        assert_eq!(
            batch_query(&identity()),
            format!("a=123456&env=key-1&sn={SDK_NAME}&sv={SDK_VERSION}")
        );
    }
}
