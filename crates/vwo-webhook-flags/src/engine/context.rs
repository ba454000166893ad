//! Who a decision is for: the SDK's context (`models/user/ContextModel.ts`), with the details
//! VWO's gateway would otherwise look up (location, parsed user agent) given by the caller, so
//! every operand can be evaluated offline.

use std::sync::{Arc, OnceLock};

use serde_json::{Map, Value};

use crate::engine::js;

/// Why a context was refused: the SDK refuses the same (`INVALID_CONTEXT_PASSED`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ContextError {
    /// No user id, or one JavaScript counts as false (`""`, `0`, `null`, `false`).
    #[error("the context needs a user id (`id`): a non-empty string or a number other than 0")]
    MissingUserId,
    /// The context is not a JSON object.
    #[error("the context must be a JSON object with at least an `id`")]
    NotAnObject,
}

/// The user a flag is decided for.
///
/// ```
/// use vwo_webhook_flags::Context;
///
/// let context = Context::new("user-42")?
///     .with_custom_variable("plan", "pro")
///     .with_custom_variable("seats", 12)
///     .with_user_agent("Mozilla/5.0 (Macintosh)");
/// assert_eq!(context.id(), "user-42");
/// # Ok::<(), vwo_webhook_flags::ContextError>(())
/// ```
///
/// Cheap to clone: the events a decision queues share it rather than copy it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Context(Arc<Data>);

/// What a context holds.
#[derive(Debug, Clone, Default, PartialEq)]
struct Data {
    id: String,
    custom_variables: Map<String, Value>,
    /// Whether custom variables were given (even none): the SDK's object exists.
    custom_variables_given: bool,
    variation_targeting_variables: Map<String, Value>,
    user_agent: Option<String>,
    ip_address: Option<String>,
    location: Option<Value>,
    user_agent_details: Option<Value>,
    /// Custom variables whose values impressions carry as visitor properties.
    post_segmentation_variables: Vec<String>,
    /// What bucketing hashes in place of the id, when given (`bucketingSeed`).
    bucketing_seed: Option<String>,
    /// `platformVariables.webTestingCampaigns`, when JavaScript counts it as given.
    web_testing: Option<WebTesting>,
    /// The session the events are reported in (`sessionId`), when given.
    session_id: Option<Value>,
    /// `isDevMode: true`: with the settings' `devMode`, decisions send nothing.
    dev_mode: bool,
    /// [`Context::weight`], once worked out.
    weight: Weighed,
}

/// The web testing campaigns a user is in (`platformVariables.webTestingCampaigns`), for
/// `campaignVariation` segments.
#[derive(Debug, Clone, PartialEq)]
struct WebTesting {
    /// Campaign id to variation id, both as text; `None` when the value given is not an
    /// object or JSON text of one.
    campaigns: Option<Map<String, Value>>,
}

impl WebTesting {
    /// `parseWebTestingCampaignsFromContext` on a value JavaScript counts as true.
    fn parse(value: &Value) -> Self {
        let object = match value {
            Value::Object(map) => Some(map.clone()),
            Value::String(text) => match serde_json::from_str::<Value>(js::trim(text)) {
                Ok(Value::Object(map)) => Some(map),
                _ => None,
            },
            _ => None,
        };
        // `normalizeWebTestingCampaignsMap`: `null` values and empty ids left out.
        let campaigns = object.map(|map| {
            map.iter()
                .filter(|(id, variation)| !id.is_empty() && !variation.is_null())
                .map(|(id, variation)| (id.clone(), Value::String(js::to_string(variation))))
                .collect()
        });
        Self { campaigns }
    }
}

/// A context's weight, worked out at its first reported decision and kept for the next ones
/// (a request's context usually decides several flags). Not part of what a context is: equal
/// contexts are equal whether or not one was weighed.
#[derive(Debug, Clone, Default)]
pub(super) struct Weighed(OnceLock<usize>);

impl PartialEq for Weighed {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Context {
    /// The data to change: this context's own (copied if shared), weighed anew.
    fn data(&mut self) -> &mut Data {
        let data = Arc::make_mut(&mut self.0);
        data.weight = Weighed::default();
        data
    }

    /// About the bytes its texts and variables hold, which bound the event queue in bytes.
    pub(crate) fn weight(&self) -> usize {
        *self.0.weight.0.get_or_init(|| {
            let data = &self.0;
            data.id.len()
                + data.bucketing_seed.as_ref().map_or(0, String::len)
                + data.session_id.as_ref().map_or(0, value_weight)
                + data
                    .web_testing
                    .as_ref()
                    .and_then(|w| w.campaigns.as_ref())
                    .map_or(0, map_weight)
                + data.user_agent.as_ref().map_or(0, String::len)
                + data.ip_address.as_ref().map_or(0, String::len)
                + map_weight(&data.custom_variables)
                + map_weight(&data.variation_targeting_variables)
                + data.location.as_ref().map_or(0, value_weight)
                + data.user_agent_details.as_ref().map_or(0, value_weight)
        })
    }

    /// A context for the user `id`; an empty id is refused, as the SDK refuses it.
    pub fn new(id: impl Into<String>) -> Result<Self, ContextError> {
        let id = id.into();
        if id.is_empty() {
            return Err(ContextError::MissingUserId);
        }
        Ok(Self(Arc::new(Data {
            id,
            ..Data::default()
        })))
    }

    /// Reads the SDK's context shape: `{"id": .., "customVariables": {..}, "userAgent": "..",
    /// "ipAddress": "..", "variationTargetingVariables": {..}, "postSegmentationVariables":
    /// [..], "bucketingSeed": "..", "platformVariables": {"webTestingCampaigns": {..}},
    /// "sessionId": .., "isDevMode": true, "_vwo": {"location": {..}, "userAgent": {..}}}`. A
    /// numeric id becomes the string JavaScript would print. A `bucketingSeed` that is a number, an
    /// object, an array or blank text is dropped, as the SDK drops it; `true` is `"true"`.
    pub fn from_sdk_json(value: &Value) -> Result<Self, ContextError> {
        let Value::Object(map) = value else {
            return Err(ContextError::NotAnObject);
        };
        let id = map
            .get("id")
            .filter(|id| js::truthy(id))
            .ok_or(ContextError::MissingUserId)?;
        let mut context = Data {
            id: js::to_string(id),
            ..Data::default()
        };
        if let Some(vars) = map.get("customVariables").filter(|v| js::truthy(v)) {
            context.custom_variables = own_properties(vars);
            context.custom_variables_given = true;
        }
        if let Some(vars) = map.get("variationTargetingVariables").filter(|v| js::truthy(v)) {
            context.variation_targeting_variables = own_properties(vars);
        }
        context.user_agent = match map.get("userAgent") {
            None | Some(Value::Null) => None,
            Some(ua) if !js::truthy(ua) => Some(String::new()),
            Some(ua) => Some(js::to_string(ua)),
        };
        // `undefined` is not given; `null` and other false values are given but empty.
        context.ip_address = match map.get("ipAddress") {
            None => None,
            Some(ip) if !js::truthy(ip) => Some(String::new()),
            Some(ip) => Some(js::to_string(ip)),
        };
        if let Some(Value::Array(names)) = map.get("postSegmentationVariables") {
            context.post_segmentation_variables = names.iter().map(js::to_string).collect();
        }
        context.web_testing = map
            .get("platformVariables")
            .filter(|v| js::truthy(v))
            .and_then(|platform| platform.get("webTestingCampaigns"))
            .filter(|v| js::truthy(v))
            .map(WebTesting::parse);
        context.bucketing_seed = match map.get("bucketingSeed") {
            Some(Value::String(seed)) if !js::trim(seed).is_empty() => Some(seed.clone()),
            Some(Value::Bool(true)) => Some("true".to_owned()),
            _ => None,
        };
        context.session_id = map.get("sessionId").filter(|v| js::truthy(v)).cloned();
        context.dev_mode = map.get("isDevMode") == Some(&Value::Bool(true));
        if let Some(vwo) = map.get("_vwo").filter(|v| js::truthy(v)) {
            context.location = vwo.get("location").filter(|v| js::truthy(v)).cloned();
            context.user_agent_details = vwo.get("userAgent").filter(|v| js::truthy(v)).cloned();
        }
        Ok(Self(Arc::new(context)))
    }

    /// The user id.
    pub fn id(&self) -> &str {
        &self.0.id
    }

    /// Buckets the user by `seed` instead of the id (the SDK's `bucketingSeed`): users given
    /// one seed (a household, an account) share their rollouts, variations and group winners.
    /// Holdouts, user lists, storage and the reported UUID still go by the id. Blank text is
    /// ignored, as the SDK ignores it.
    pub fn with_bucketing_seed(mut self, seed: impl Into<String>) -> Self {
        let seed = seed.into();
        self.data().bucketing_seed = (!js::trim(&seed).is_empty()).then_some(seed);
        self
    }

    /// Gives the web testing campaigns the user is in, campaign id to variation id (the SDK's
    /// `platformVariables.webTestingCampaigns`), for `campaignVariation` segments; a segment
    /// with one is false for a context without them.
    pub fn with_web_testing_campaigns(mut self, campaigns: Map<String, Value>) -> Self {
        self.data().web_testing = Some(WebTesting::parse(&Value::Object(campaigns)));
        self
    }

    /// Reports this user's events in session `id` (the SDK's `sessionId`, e.g. the one VWO's
    /// web snippet gave the page), instead of the second of each event.
    pub fn with_session_id(mut self, id: u64) -> Self {
        self.data().session_id = (id != 0).then(|| Value::from(id));
        self
    }

    /// Marks a developer's or a test's traffic (the SDK's `isDevMode`): when the settings
    /// have `devMode` on too, this user's decisions send no impression to VWO, as the SDK
    /// does (its one exception too: the impression of a holdout that holds the user out is
    /// still sent).
    pub fn with_dev_mode(mut self, dev_mode: bool) -> Self {
        self.data().dev_mode = dev_mode;
        self
    }

    /// Adds a custom variable (any JSON value), for `custom_variable` segments.
    pub fn with_custom_variable(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        let data = self.data();
        data.custom_variables.insert(name.into(), value.into());
        data.custom_variables_given = true;
        self
    }

    /// Replaces the custom variables.
    pub fn with_custom_variables(mut self, variables: Map<String, Value>) -> Self {
        let data = self.data();
        data.custom_variables = variables;
        data.custom_variables_given = true;
        self
    }

    /// Sets the variables that whitelisting (forced variations) segments read.
    pub fn with_variation_targeting_variables(mut self, variables: Map<String, Value>) -> Self {
        self.data().variation_targeting_variables = variables;
        self
    }

    /// Sets the user agent, for `ua` segments (and, through a gateway, device and browser).
    pub fn with_user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.data().user_agent = Some(user_agent.into());
        self
    }

    /// Sets the IP address, for `ip_address` segments (and, through a gateway, location).
    pub fn with_ip_address(mut self, ip_address: impl Into<String>) -> Self {
        self.data().ip_address = Some(ip_address.into());
        self
    }

    /// Gives the user's location (`country`, `region`, `city`), which the SDK asks VWO's
    /// gateway for: location segments then evaluate offline.
    pub fn with_location(mut self, location: Map<String, Value>) -> Self {
        self.data().location = Some(Value::Object(location));
        self
    }

    /// Gives the parsed user agent (`os`, `device_type`, `device`, `browser_string`,
    /// `browser_version`, `os_version`), which the SDK asks VWO's gateway for.
    pub fn with_user_agent_details(mut self, details: Map<String, Value>) -> Self {
        self.data().user_agent_details = Some(Value::Object(details));
        self
    }

    /// Names custom variables whose values each impression reports as visitor properties
    /// (the SDK's `postSegmentationVariables`; a value JavaScript counts as false is left out).
    pub fn with_post_segmentation_variables(
        mut self,
        names: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.data().post_segmentation_variables = names.into_iter().map(Into::into).collect();
        self
    }

    /// What bucketing hashes: the bucketing seed if given, else the id.
    pub fn bucketing_id(&self) -> &str {
        self.0.bucketing_seed.as_deref().unwrap_or(&self.0.id)
    }

    /// The custom variables.
    pub fn custom_variables(&self) -> &Map<String, Value> {
        &self.0.custom_variables
    }

    /// Whether custom variables were given (an empty set counts): the SDK reads `undefined`
    /// for a context without, where no rule has given it its object yet.
    pub(super) fn has_custom_variables(&self) -> bool {
        self.0.custom_variables_given
    }

    /// The user agent, if given.
    pub fn user_agent(&self) -> Option<&str> {
        self.0.user_agent.as_deref()
    }

    /// The IP address, if given.
    pub fn ip_address(&self) -> Option<&str> {
        self.0.ip_address.as_deref()
    }

    /// The variables whitelisting segments read.
    pub(super) fn variation_targeting_variables(&self) -> &Map<String, Value> {
        &self.0.variation_targeting_variables
    }

    /// Whether web testing campaigns were given (a value JavaScript counts as true).
    pub(super) fn has_web_testing_data(&self) -> bool {
        self.0.web_testing.is_some()
    }

    /// The web testing campaigns, campaign id to variation id, when given as an object or its
    /// JSON text.
    pub(super) fn web_testing_campaigns(&self) -> Option<&Map<String, Value>> {
        self.0.web_testing.as_ref().and_then(|w| w.campaigns.as_ref())
    }

    /// The user's location, as VWO's gateway would give it.
    pub(super) fn location(&self) -> Option<&Value> {
        self.0.location.as_ref()
    }

    /// The parsed user agent, as VWO's gateway would give it.
    pub(super) fn user_agent_details(&self) -> Option<&Value> {
        self.0.user_agent_details.as_ref()
    }

    /// The custom variables impressions carry as visitor properties.
    pub(crate) fn post_segmentation_variables(&self) -> &[String] {
        &self.0.post_segmentation_variables
    }

    /// `sessionId`, when given.
    pub(crate) fn session_id(&self) -> Option<&Value> {
        self.0.session_id.as_ref()
    }

    /// `isDevMode: true`.
    pub(crate) fn is_dev_mode(&self) -> bool {
        self.0.dev_mode
    }

    /// Whether the id is one VWO's web snippet made (`isWebUuid`: `D` or `J` and 32 hex
    /// digits), which events report as the UUID as it is.
    pub(crate) fn has_web_uuid(&self) -> bool {
        let id = self.0.id.as_bytes();
        id.len() == 33 && matches!(id[0], b'D' | b'J') && id[1..].iter().all(u8::is_ascii_hexdigit)
    }

    /// Whether `other` is this very context (a clone of it), not merely an equal one.
    pub(crate) fn is_same(&self, other: &Context) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// About the bytes a JSON object holds: its keys and values, and a little for each entry.
pub(crate) fn map_weight(map: &Map<String, Value>) -> usize {
    map.iter()
        .map(|(key, value)| 16 + key.len() + value_weight(value))
        .sum()
}

/// About the bytes a JSON value holds.
pub(crate) fn value_weight(value: &Value) -> usize {
    match value {
        Value::String(text) => 24 + text.len(),
        Value::Null | Value::Bool(_) | Value::Number(_) => 16,
        Value::Array(items) => 24 + items.iter().map(value_weight).sum::<usize>(),
        Value::Object(map) => 24 + map_weight(map),
    }
}

/// `Object.assign({}, value)`: an object's own properties; an array's or a string's indices.
fn own_properties(value: &Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map.clone(),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (i.to_string(), v.clone()))
            .collect(),
        Value::String(s) => s
            .encode_utf16()
            .enumerate()
            .map(|(i, unit)| (i.to_string(), Value::String(String::from_utf16_lossy(&[unit]))))
            .collect(),
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_sdk_shape_is_read() {
        let context = Context::from_sdk_json(&json!({
            "id": 42,
            "customVariables": {"price": 100},
            "userAgent": "UA",
            "ipAddress": "1.2.3.4",
            "_vwo": {"location": {"country": "IN"}}
        }))
        .expect("valid");
        assert_eq!(context.id(), "42");
        assert_eq!(context.custom_variables()["price"], json!(100));
        assert_eq!(context.user_agent(), Some("UA"));
        assert_eq!(context.ip_address(), Some("1.2.3.4"));
        assert_eq!(context.0.location, Some(json!({"country": "IN"})));
    }

    #[test]
    fn a_context_changed_after_it_was_weighed_is_weighed_anew() {
        let context = Context::new("u").expect("id");
        let before = context.weight();
        let kept = context.clone();
        let changed = context.with_custom_variable("plan", "enterprise");
        assert_eq!(
            changed.weight(),
            before + 16 + "plan".len() + 24 + "enterprise".len()
        );
        assert_eq!(kept.weight(), before);
        let alone = Context::new("v").expect("id");
        let _ = alone.weight();
        assert!(alone.with_user_agent("UA").weight() > Context::new("v").expect("id").weight());
        // The kept weight is not part of what the context is.
        assert_eq!(kept, Context::new("u").expect("id"));
    }

    #[test]
    fn a_missing_or_false_id_is_refused() {
        for bad in [
            json!({}),
            json!({"id": ""}),
            json!({"id": 0}),
            json!({"id": null}),
        ] {
            assert_eq!(
                Context::from_sdk_json(&bad),
                Err(ContextError::MissingUserId),
                "{bad}"
            );
        }
        assert_eq!(
            Context::from_sdk_json(&json!("u")),
            Err(ContextError::NotAnObject)
        );
        assert_eq!(Context::new(""), Err(ContextError::MissingUserId));
    }
}
