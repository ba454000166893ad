//! What a service reports besides its decisions: `trackEvent` and `setAttribute`, checked
//! as the SDK checks them.

use serde_json::{Map, Value};

use crate::engine::Context;
use crate::engine::Model;
use crate::events::impressions::now_ms;
use crate::events::payload::{Pending, What};
use crate::flags::Flags;

/// Why an event was not reported. Names the event or attribute, never a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    /// No settings are loaded, so no metric is known.
    #[error("no settings are loaded, so no event can be checked against them")]
    NoSettings,
    /// No feature in the settings has a metric with this identifier (the SDK's
    /// `EVENT_NOT_FOUND`).
    #[error("no feature in the settings has a metric named {0:?}")]
    UnknownEvent(String),
    /// `set_attributes` was given nothing.
    #[error("set_attributes needs at least one attribute")]
    NoAttributes,
    /// An attribute's value is not a boolean, a string or a number.
    #[error("attribute {0:?} must be a boolean, a string or a number")]
    BadAttribute(String),
}

fn pending(what: What, context: &Context, model: Option<&Model>) -> Pending {
    Pending {
        what,
        context: context.clone(),
        at_ms: now_ms(),
        prefix: model.and_then(|m| m.events.collection_prefix.clone()),
        web_uuid: model.is_some_and(|m| m.events.web_uuids) && context.has_web_uuid(),
        continues: false,
    }
}

impl Flags {
    /// Reports the event `name` (a custom or revenue metric) for the user, with
    /// `properties` (a revenue metric's value among them), as the SDK's `trackEvent` does.
    /// Refused when no feature in the settings has a metric by that name. Queued without
    /// waiting; nothing is sent when reporting is off.
    pub fn track_event(
        &self,
        name: &str,
        context: &Context,
        properties: Map<String, Value>,
    ) -> Result<(), EventError> {
        let compiled = self.current().ok_or(EventError::NoSettings)?;
        if !compiled.model.events.metrics.contains(name) {
            tracing::debug!(event = name, "trackEvent refused: no such metric in the settings");
            return Err(EventError::UnknownEvent(name.to_owned()));
        }
        let what = What::Track {
            name: name.into(),
            properties: Box::new(properties),
        };
        self.reporter
            .push([pending(what, context, Some(&compiled.model))]);
        Ok(())
    }

    /// Reports the user's attributes (`vwo_syncVisitorProp`), as the SDK's
    /// `setAttribute(attributes, context)` does: each value a boolean, a string or a number.
    pub fn set_attributes(
        &self,
        attributes: Map<String, Value>,
        context: &Context,
    ) -> Result<(), EventError> {
        if attributes.is_empty() {
            return Err(EventError::NoAttributes);
        }
        if let Some((key, _)) = attributes
            .iter()
            .find(|(_, v)| !matches!(v, Value::Bool(_) | Value::String(_) | Value::Number(_)))
        {
            return Err(EventError::BadAttribute(key.clone()));
        }
        let compiled = self.current();
        let model = compiled.as_ref().map(|c| &c.model);
        let what = What::Attributes {
            attributes: Box::new(attributes),
        };
        self.reporter.push([pending(what, context, model)]);
        Ok(())
    }

    /// [`Flags::set_attributes`] with one attribute (the SDK's `setAttribute(key, value,
    /// context)`).
    pub fn set_attribute(
        &self,
        key: impl Into<String>,
        value: impl Into<Value>,
        context: &Context,
    ) -> Result<(), EventError> {
        let mut attributes = Map::new();
        attributes.insert(key.into(), value.into());
        self.set_attributes(attributes, context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn flags() -> Flags {
        Flags::from_document(&json!({
            "version": 1, "accountId": 1, "campaigns": [],
            "features": [{"id": 1, "key": "f", "rules": [], "metrics": [{"identifier": "purchase", "id": 1, "type": "REVENUE_TRACKING"}]}]
        }))
    }

    #[test]
    fn only_a_metric_of_the_settings_is_tracked() {
        let context = Context::new("u").expect("context");
        assert_eq!(flags().track_event("purchase", &context, Map::new()), Ok(()));
        assert_eq!(
            flags().track_event("signup", &context, Map::new()),
            Err(EventError::UnknownEvent("signup".into()))
        );
        assert_eq!(
            Flags::new().track_event("purchase", &context, Map::new()),
            Err(EventError::NoSettings)
        );
    }

    #[test]
    fn attributes_are_scalars_and_at_least_one() {
        let context = Context::new("u").expect("context");
        assert_eq!(
            flags().set_attributes(Map::new(), &context),
            Err(EventError::NoAttributes)
        );
        assert_eq!(
            flags().set_attribute("tags", json!(["a"]), &context),
            Err(EventError::BadAttribute("tags".into()))
        );
        assert_eq!(flags().set_attribute("tier", "gold", &context), Ok(()));
    }
}
