//! The elements of an `and` and an `or`, which the SDK reads key by key: location keys
//! (`country`, `region`, `city`) are gathered across an `and` and checked together, user-agent
//! keys (`os`, `device_type`, ...) across an `or`, and a `featureId` in an `or` answers at once.

use serde_json::Value;

use super::{AndItem, Env, OrItem, OrKey, Throw};
use crate::engine::context::Context;
use crate::engine::js;
use crate::engine::js::regex::{Flags, JsRegex};

/// `every`: false at the first false element; location elements are gathered and, once one
/// of each element is a location, checked together.
pub(super) fn every(items: &[AndItem], env: &mut Env<'_>) -> Result<bool, Throw> {
    let mut location: Vec<(&'static str, &Value)> = Vec::new();
    for item in items {
        match item {
            AndItem::Throw => return Err(Throw),
            AndItem::Location(pairs) => {
                for (key, value) in pairs {
                    match location.iter_mut().find(|(k, _)| k == key) {
                        Some(slot) => slot.1 = value,
                        None => location.push((key, value)),
                    }
                }
                if location.len() == items.len() {
                    return check_location(&location, env.context);
                }
            }
            AndItem::Node(node) => {
                if !node.eval(env)? {
                    return Ok(false);
                }
            }
        }
    }
    Ok(true)
}

/// `checkLocationPreSegmentation`: needs an IP address given (even empty) and a location.
fn check_location(expected: &[(&'static str, &Value)], context: &Context) -> Result<bool, Throw> {
    if context.ip_address().is_none() {
        return Ok(false);
    }
    let Some(location) = context.location() else {
        return Ok(false);
    };
    let actual = |key: &str| -> Result<Option<&Value>, Throw> {
        match location {
            Value::Object(map) => Ok(map.get(key)),
            Value::Array(_) => Ok(None),
            _ => Err(Throw),
        }
    };
    for (key, value) in expected {
        let Some(actual) = actual(key)? else {
            return Ok(false);
        };
        if normalize(value) != normalize(actual) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `normalizeValue`: `String(x)` without one leading and one trailing quote, trimmed.
fn normalize(value: &Value) -> Option<String> {
    if value.is_null() {
        return None;
    }
    let text = js::to_string(value);
    let text = text.strip_prefix('"').unwrap_or(&text);
    let text = text.strip_suffix('"').unwrap_or(text);
    Some(js::trim(text).to_owned())
}

/// `some`: true at the first true element; user-agent keys are gathered and checked once
/// every element has contributed one; a `featureId` answers at once.
pub(super) fn some(items: &[OrItem], env: &mut Env<'_>) -> Result<bool, Throw> {
    let mut user_agent: Vec<(&'static str, Vec<String>)> = Vec::new();
    let mut key_count = 0;
    for item in items {
        for key in &item.keys {
            match key {
                OrKey::Throw => return Err(Throw),
                OrKey::Nothing => {}
                OrKey::UserAgent(name, values) => {
                    match user_agent.iter_mut().find(|(k, _)| k == name) {
                        Some(slot) => slot.1.extend(values.iter().cloned()),
                        None => user_agent.push((name, values.clone())),
                    }
                    key_count += 1;
                }
                OrKey::Feature { feature_key, off } => {
                    let Some(feature_key) = feature_key else {
                        return Ok(false);
                    };
                    return Ok(env.lookup.has_stored(feature_key)? != *off);
                }
            }
        }
        if !user_agent.is_empty()
            && key_count == items.len()
            && let Some(checked) = check_user_agent(&user_agent, env.context)
        {
            return Ok(checked);
        }
        if item.node.eval(env)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// `checkUserAgentParser`; `None` where the SDK's check throws (and is caught, so the element
/// is then evaluated as usual).
fn check_user_agent(expected: &[(&'static str, Vec<String>)], context: &Context) -> Option<bool> {
    if context.user_agent().is_none_or(str::is_empty) || context.user_agent_details().is_none() {
        return Some(false);
    }
    check_value_present(expected, context.user_agent_details()?)
}

/// `checkValuePresent` over the parsed user agent's fields, in their order.
fn check_value_present(expected: &[(&'static str, Vec<String>)], details: &Value) -> Option<bool> {
    let Value::Object(actual) = details else {
        return Some(false);
    };
    for (key, actual_value) in js::entries(actual) {
        let Some((_, values)) = expected.iter().find(|(k, _)| *k == key) else {
            continue;
        };
        let lowered: Vec<String> = values.iter().map(|v| v.to_lowercase()).collect();
        for value in &lowered {
            if let Some(pattern) = value.strip_prefix("wildcard(").and_then(|v| v.strip_suffix(')')) {
                let regex = JsRegex::new(&pattern.replace('*', ".*"), Flags::IgnoreCase)?;
                if regex.test(&js::to_string(actual_value)) {
                    return Some(true);
                }
            }
        }
        match actual_value {
            Value::String(s) => {
                if lowered.contains(&s.to_lowercase()) {
                    return Some(true);
                }
            }
            // `undefined?.toLowerCase()` is undefined; anything else without the method throws.
            Value::Null => {}
            _ => return None,
        }
    }
    Some(false)
}
