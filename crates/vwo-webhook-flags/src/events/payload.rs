//! What the SDK sends, field for field (`utils/NetworkUtil.ts`: `getEventsBaseProperties`,
//! `_getEventBasePayload`, `getTrackUserPayloadData`, `getTrackGoalPayloadData`,
//! `getAttributePayloadData`; `utils/BatchEventsDispatcher.ts`), built from the small record
//! a decision queues. Pure: the time and the random number come in as arguments.
//!
//! The SDK's quirks are kept, since VWO's collector is built for them: the query string is
//! joined without encoding (only `visitor_ua` is encoded, with `encodeURIComponent`), and a
//! context without a user agent sends `visitor_ua=undefined`.

use std::fmt::Write as _;
use std::sync::Arc;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::engine::ReportedId;
use crate::engine::js::{self, JsJson};
use crate::engine::user_uuid_in;
use crate::engine::{Context, USER_ID_KEY, map_weight};

/// The name this project reports where the SDK reports its own (`sn`, `vwo_sdkName`).
pub const SDK_NAME: &str = "vwo-webhook-rust";
/// The version reported with [`SDK_NAME`] (`sv`, `vwo_sdkVersion`).
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

/// `vwo_variationShown`, the impression event.
pub(crate) const VARIATION_SHOWN: &str = "vwo_variationShown";
/// `vwo_syncVisitorProp`, the attributes event.
pub(crate) const SYNC_VISITOR_PROP: &str = "vwo_syncVisitorProp";
/// `vwo_feTrackUsage`, a decision that showed nothing, for accounts that count monthly users.
pub(crate) const TRACK_USAGE: &str = "vwo_feTrackUsage";

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

/// One event as queued: what happened, to whom (the caller's context, shared, not copied)
/// and when. The payload is built from it on the dispatcher's task, not on the decision's.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pending {
    pub(crate) what: What,
    pub(crate) context: Context,
    /// When it happened, in Unix milliseconds.
    pub(crate) at_ms: u64,
    /// The settings' `collectionPrefix`: a path prefix on VWO's own host.
    pub(crate) prefix: Option<Arc<str>>,
    /// The context's id is a web UUID the settings let events report as it is.
    pub(crate) web_uuid: bool,
    /// Whether it continues the request of the event queued just before it: sent without
    /// batching, one decision's impressions go in one request. Events queued together under
    /// one lock are adjacent in the queue, so a flag is enough (no decision number).
    pub(crate) continues: bool,
}

impl Pending {
    /// About the bytes this event holds: [`Pending::own_weight`] and its context's
    /// [`Context::weight`] (counted for each event, even where several share one context).
    /// What bounds the queue in bytes, cheaply: no serialization.
    pub(crate) fn weight(&self) -> usize {
        self.own_weight() + self.context.weight()
    }

    /// Its fixed size and its own fields.
    pub(crate) fn own_weight(&self) -> usize {
        std::mem::size_of::<Pending>()
            + match &self.what {
                What::Shown { vwo_user_id, .. } => vwo_user_id.as_ref().map_or(0, String::len),
                What::Track { name, properties } => name.len() + map_weight(properties),
                What::Attributes { attributes } => map_weight(attributes),
                What::Usage => 0,
            }
    }
}

/// The three kinds of event.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum What {
    /// `vwo_variationShown` for a campaign's variation; `customVariables._wingifyUserId` as the
    /// decision had set it then, for a context that reports its custom variables.
    Shown {
        campaign_id: ReportedId,
        variation_id: ReportedId,
        vwo_user_id: Option<String>,
        /// A holdout's impression: the feature it was evaluated for (`fId`); it carries no
        /// visitor properties.
        feature_id: Option<ReportedId>,
    },
    /// A custom or revenue metric (`trackEvent`).
    Track {
        name: Box<str>,
        properties: Box<Map<String, Value>>,
    },
    /// `vwo_syncVisitorProp` (`setAttribute`).
    Attributes { attributes: Box<Map<String, Value>> },
    /// `vwo_feTrackUsage`: a decision sent no impression, and the account counts monthly
    /// users (`isMAU`). The base payload only.
    Usage,
}

impl What {
    /// Whether the SDK sends it with a decision's impressions (`/server-side/batch-events-v2`
    /// even without batching), not on its own to `/events/t`.
    pub(crate) fn is_decisions(&self) -> bool {
        matches!(self, What::Shown { .. } | What::Usage)
    }

    /// A holdout's impression: it keeps the UUID derived from the id and the event's second
    /// as its session.
    fn is_holdouts(&self) -> bool {
        matches!(
            self,
            What::Shown {
                feature_id: Some(_),
                ..
            }
        )
    }
}

/// Who reports: the account and SDK key the events are for, and the host they go to.
#[derive(Clone)]
pub(crate) struct Identity {
    pub(crate) account_id: String,
    pub(crate) sdk_key: vwo_webhook_settings::SdkKey,
    /// The account's namespace for user UUIDs (`d.visId`).
    pub(crate) namespace: uuid::Uuid,
}

impl Pending {
    /// The event's name (`en`, `d.event.name`).
    pub(crate) fn name(&self) -> &str {
        match &self.what {
            What::Shown { .. } => VARIATION_SHOWN,
            What::Track { name, .. } => name,
            What::Attributes { .. } => SYNC_VISITOR_PROP,
            What::Usage => TRACK_USAGE,
        }
    }

    /// The JSON body (`{"d": ..}`), one element of a batch's `ev`, written to `out`.
    pub(crate) fn write_body(&self, identity: &Identity, uuids: &mut Uuids, out: &mut Vec<u8>) {
        let sdk_key = identity.sdk_key.expose_secret();
        let context = &self.context;
        let own = !self.what.is_holdouts();
        let uuid = if self.web_uuid && own {
            context.id().to_owned()
        } else {
            uuids.of(identity, context)
        };
        let mut props = Props::default();
        props.set("vwo_sdkName", Prop::Text(SDK_NAME));
        props.set("vwo_sdkVersion", Prop::Text(SDK_VERSION));
        props.set("vwo_envKey", Prop::Text(sdk_key));
        let mut visitor = Props::default();
        visitor.set("vwo_fs_environment", Prop::Text(sdk_key));
        match &self.what {
            What::Shown {
                campaign_id,
                variation_id,
                feature_id: Some(feature_id),
                ..
            } => {
                props.set("id", Prop::Id(campaign_id));
                props.set("variation", Prop::Id(variation_id));
                props.set("isFirst", Prop::Int(1));
                props.set("fId", Prop::Id(feature_id));
            }
            What::Shown {
                campaign_id,
                variation_id,
                vwo_user_id,
                feature_id: None,
            } => {
                props.set("id", Prop::Id(campaign_id));
                props.set("variation", Prop::Id(variation_id));
                props.set("isFirst", Prop::Int(1));
                for name in context.post_segmentation_variables() {
                    // The decision sets the user id among the custom variables as it goes.
                    if name == USER_ID_KEY
                        && let Some(id) = vwo_user_id
                    {
                        if !id.is_empty() {
                            visitor.set(name, Prop::Text(id));
                        }
                    } else if let Some(value) = context.custom_variables().get(name).filter(|v| js::truthy(v))
                    {
                        visitor.set(name, Prop::Json(value));
                    }
                }
                if let Some(ip) = context.ip_address().filter(|ip| !ip.is_empty()) {
                    visitor.set("ip", Prop::Text(ip));
                }
            }
            What::Track { properties, .. } => {
                props.set("isCustomEvent", Prop::Bool(true));
                props.set("variation", Prop::Int(1));
                props.set("id", Prop::Int(1));
                for (key, value) in js::entries(properties) {
                    props.set(key, Prop::Json(value));
                }
            }
            What::Attributes { attributes } => {
                props.set("isCustomEvent", Prop::Bool(true));
                props.set("vwo_fs_environment", Prop::Text(sdk_key));
                for (key, value) in js::entries(attributes) {
                    visitor.set(key, Prop::Json(value));
                }
            }
            What::Usage => {}
        }
        let body = Body {
            d: D {
                msg_id: format!("{uuid}-{}", self.at_ms),
                vis_id: &uuid,
                session_id: match context.session_id().filter(|_| own) {
                    Some(given) => Session::Given(JsJson(given)),
                    None => Session::At(self.at_ms.div_ceil(1000)),
                },
                visitor_ua: context.user_agent().unwrap_or(""),
                visitor_ip: context.ip_address().unwrap_or(""),
                event: EventBody {
                    props,
                    name: self.name(),
                    time: self.at_ms,
                },
                visitor: VisitorBody { props: visitor },
            },
        };
        // Writing to a Vec cannot fail, and every key is a string.
        let _ = serde_json::to_writer(out, &body);
    }

    /// The query string of `/events/t` (without `?`), in the SDK's order: `en`, `a`,
    /// `eTime`, `random`, `p`, `visitor_ua`, `visitor_ip`, `sn`, `sv`, `env`.
    pub(crate) fn query(&self, identity: &Identity, random: f64) -> String {
        let context = &self.context;
        let user_agent = match context.user_agent() {
            Some(ua) => utf8_percent_encode(ua, URI_COMPONENT).to_string(),
            None => "undefined".to_owned(),
        };
        let mut query = String::with_capacity(256);
        let _ = write!(
            query,
            "en={}&a={}&eTime={}&random={}&p=FS&visitor_ua={user_agent}&visitor_ip={}&sn={SDK_NAME}&sv={SDK_VERSION}&env={}",
            self.name(),
            identity.account_id,
            self.at_ms,
            js::number_to_string(random),
            context.ip_address().unwrap_or(""),
            identity.sdk_key.expose_secret(),
        );
        query
    }

    /// The headers of `/events/t`: the visitor's user agent and IP, when given.
    pub(crate) fn headers(&self) -> Vec<(&'static str, String)> {
        let context = &self.context;
        let mut headers = Vec::new();
        if let Some(ua) = context.user_agent().filter(|ua| !ua.is_empty()) {
            headers.push(("X-Device-User-Agent", ua.to_owned()));
        }
        if let Some(ip) = context.ip_address().filter(|ip| !ip.is_empty()) {
            headers.push(("VWO-X-Forwarded-For", ip.to_owned()));
        }
        headers
    }
}

/// The users' UUIDs (`d.visId`), kept for the run of events of one context, as a decision's
/// impressions come.
#[derive(Default)]
pub(crate) struct Uuids {
    last: Option<(Context, String)>,
}

impl Uuids {
    fn of(&mut self, identity: &Identity, context: &Context) -> String {
        match &self.last {
            Some((last, uuid)) if last.is_same(context) => uuid.clone(),
            _ => {
                let uuid = user_uuid_in(&identity.namespace, context.id());
                self.last = Some((context.clone(), uuid.clone()));
                uuid
            }
        }
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
pub(crate) fn batch_body<'a>(events: impl IntoIterator<Item = &'a Pending>, identity: &Identity) -> Vec<u8> {
    let events = events.into_iter();
    let mut out = Vec::with_capacity(events.size_hint().0.saturating_mul(640).max(640));
    let mut uuids = Uuids::default();
    out.extend_from_slice(b"{\"ev\":[");
    for (index, event) in events.enumerate() {
        if index > 0 {
            out.push(b',');
        }
        event.write_body(identity, &mut uuids, &mut out);
    }
    out.extend_from_slice(b"]}");
    out
}

/// The body's shape, in the SDK's key order.
#[derive(Serialize)]
struct Body<'a> {
    d: D<'a>,
}

#[derive(Serialize)]
struct D<'a> {
    #[serde(rename = "msgId")]
    msg_id: String,
    #[serde(rename = "visId")]
    vis_id: &'a str,
    #[serde(rename = "sessionId")]
    session_id: Session<'a>,
    visitor_ua: &'a str,
    visitor_ip: &'a str,
    event: EventBody<'a>,
    visitor: VisitorBody<'a>,
}

/// `sessionId`: the context's, or the second the event happened.
#[derive(Serialize)]
#[serde(untagged)]
enum Session<'a> {
    Given(JsJson<'a>),
    At(u64),
}

#[derive(Serialize)]
struct EventBody<'a> {
    props: Props<'a>,
    name: &'a str,
    time: u64,
}

#[derive(Serialize)]
struct VisitorBody<'a> {
    props: Props<'a>,
}

/// An object kept in the order its keys were first set, a later set replacing the value in
/// place, as assigning to a JavaScript object does.
#[derive(Default)]
struct Props<'a>(Vec<(&'a str, Prop<'a>)>);

enum Prop<'a> {
    Id(&'a ReportedId),
    Text(&'a str),
    Int(i64),
    Bool(bool),
    Json(&'a Value),
}

impl<'a> Props<'a> {
    fn set(&mut self, key: &'a str, value: Prop<'a>) {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some((_, slot)) => *slot = value,
            None => self.0.push((key, value)),
        }
    }
}

impl Serialize for Props<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            match value {
                Prop::Id(id) => map.serialize_entry(key, id)?,
                Prop::Text(text) => map.serialize_entry(key, text)?,
                Prop::Int(n) => map.serialize_entry(key, n)?,
                Prop::Bool(b) => map.serialize_entry(key, b)?,
                Prop::Json(value) => map.serialize_entry(key, &JsJson(value))?,
            }
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{account_namespace, user_uuid};
    use serde_json::json;
    use vwo_webhook_settings::SdkKey;

    fn identity() -> Identity {
        Identity {
            account_id: "123456".into(),
            sdk_key: SdkKey::new("key-1"),
            namespace: account_namespace("123456"),
        }
    }

    impl Pending {
        fn body(&self, identity: &Identity) -> Value {
            let mut out = Vec::new();
            self.write_body(identity, &mut Uuids::default(), &mut out);
            serde_json::from_slice(&out).expect("JSON")
        }
    }

    fn shown() -> Pending {
        let context = Context::new("user-1")
            .expect("context")
            .with_user_agent("Mozilla/5.0 (X11)")
            .with_ip_address("1.2.3.4")
            .with_custom_variable("plan", "pro")
            .with_custom_variable("empty", "")
            .with_post_segmentation_variables(["plan", "empty", "missing"]);
        Pending {
            what: What::Shown {
                campaign_id: ReportedId::of(&json!(7)),
                variation_id: ReportedId::of(&json!(2.0)),
                vwo_user_id: None,
                feature_id: None,
            },
            context,
            at_ms: 1_700_000_000_123,
            prefix: None,
            web_uuid: false,
            continues: false,
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
    fn a_holdouts_impression_names_the_feature_and_carries_the_base_payload_only() {
        let mut event = shown();
        event.what = What::Shown {
            campaign_id: ReportedId::of(&json!(31)),
            variation_id: ReportedId::of(&json!(1)),
            vwo_user_id: None,
            feature_id: Some(ReportedId::of(&json!(4))),
        };
        let body = event.body(&identity());
        assert_eq!(
            body["d"]["event"]["props"],
            json!({"vwo_sdkName": SDK_NAME, "vwo_sdkVersion": SDK_VERSION, "vwo_envKey": "key-1",
                   "id": 31, "variation": 1, "isFirst": 1, "fId": 4})
        );
        assert_eq!(
            body["d"]["visitor"]["props"],
            json!({"vwo_fs_environment": "key-1"})
        );
    }

    #[test]
    fn a_web_uuid_and_a_session_are_reported_as_given_but_by_holdouts() {
        let web_id = "D0123456789ABCDEF0123456789abcdef";
        let mut event = shown();
        event.context = Context::new(web_id).expect("context").with_session_id(77);
        event.web_uuid = true;
        let body = event.body(&identity());
        assert_eq!(
            (&body["d"]["visId"], &body["d"]["sessionId"]),
            (&json!(web_id), &json!(77))
        );
        assert_eq!(body["d"]["msgId"], format!("{web_id}-1700000000123"));
        // A holdout's impression: the UUID derived from the id, the event's second.
        event.what = What::Shown {
            campaign_id: ReportedId::of(&json!(31)),
            variation_id: ReportedId::of(&json!(2)),
            vwo_user_id: None,
            feature_id: Some(ReportedId::of(&json!(4))),
        };
        let body = event.body(&identity());
        assert_eq!(
            (&body["d"]["visId"], &body["d"]["sessionId"]),
            (&json!(user_uuid(web_id, "123456")), &json!(1_700_000_001))
        );
        // Settings that turn web connectivity off: derived.
        event.what = What::Usage;
        event.web_uuid = false;
        assert_eq!(
            event.body(&identity())["d"]["visId"],
            json!(user_uuid(web_id, "123456"))
        );
    }

    #[test]
    fn a_usage_event_carries_the_base_payload_only() {
        let mut event = shown();
        event.what = What::Usage;
        let body = event.body(&identity());
        assert_eq!(body["d"]["event"]["name"], "vwo_feTrackUsage");
        assert_eq!(
            body["d"]["event"]["props"],
            json!({"vwo_sdkName": SDK_NAME, "vwo_sdkVersion": SDK_VERSION, "vwo_envKey": "key-1"})
        );
        assert_eq!(
            body["d"]["visitor"]["props"],
            json!({"vwo_fs_environment": "key-1"})
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
                 &env=key-1"
            )
        );
        let mut anonymous = shown();
        anonymous.context = Context::new("user-1").expect("context");
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
            properties: Box::new(
                serde_json::from_value(json!({"revenue": 12.5, "id": 9, "items": 147.0})).expect("map"),
            ),
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
        // JavaScript writes 147.0 as 147.
        assert!(props["items"].is_u64(), "{}", props["items"]);
        assert_eq!(
            body["d"]["visitor"]["props"],
            json!({"vwo_fs_environment": "key-1"})
        );
    }

    #[test]
    fn attributes_go_to_the_visitor_props() {
        let mut event = shown();
        event.what = What::Attributes {
            attributes: Box::new(serde_json::from_value(json!({"tier": "gold", "age": 30})).expect("map")),
        };
        let body = event.body(&identity());
        // Node 1.60 reports the SDK key it was given, not the settings' own.
        assert_eq!(body["d"]["event"]["props"]["vwo_fs_environment"], "key-1");
        let batch: Value = serde_json::from_slice(&batch_body([&event, &event], &identity())).expect("JSON");
        assert_eq!(batch, json!({"ev": [body.clone(), body.clone()]}));
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
