//! A variation's variable, held compactly. Its id, type and key are scalars that recur on
//! every variation of a settings file (`1`, `"string"`, `"price"`), so they are kept in a
//! third of a `serde_json::Value` each, with their texts shared; only the value stays JSON.

use std::sync::Arc;

use serde_json::Value;

use crate::engine::fast_hash::FastSet;

/// A JSON scalar as the settings give it, in 24 bytes where a `Value` takes 72.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Scalar {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    Text(Arc<str>),
    /// One of VWO's variable types, a string without a shared text to look up.
    TypeName(&'static str),
    /// An object or an array where a scalar belongs, kept whole.
    Other(Box<Value>),
}

impl Scalar {
    /// The JSON it was read from.
    pub(super) fn to_value(&self) -> Value {
        match self {
            Scalar::Null => Value::Null,
            Scalar::Bool(b) => Value::Bool(*b),
            Scalar::Number(n) => Value::Number(n.clone()),
            Scalar::Text(text) => Value::String(text.to_string()),
            Scalar::TypeName(name) => Value::String((*name).to_owned()),
            Scalar::Other(value) => (**value).clone(),
        }
    }

    /// A scalar of its own (not shared with a settings file's texts).
    pub(super) fn of(value: &Value) -> Self {
        match value {
            Value::Null => Scalar::Null,
            Value::Bool(b) => Scalar::Bool(*b),
            Value::Number(n) => Scalar::Number(n.clone()),
            Value::String(text) => Scalar::Text(Arc::from(text.as_str())),
            other => Scalar::Other(Box::new(other.clone())),
        }
    }

    /// `this === value` (an object or an array is never `===` another).
    pub(super) fn strict_eq(&self, value: &Value) -> bool {
        match (self, value) {
            (Scalar::Null, Value::Null) => true,
            (Scalar::Bool(a), Value::Bool(b)) => a == b,
            (Scalar::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
            (text, Value::String(b)) => text.as_str() == Some(b.as_str()),
            _ => false,
        }
    }

    /// `this === other`.
    pub(super) fn strict_eq_scalar(&self, other: &Scalar) -> bool {
        match (self, other) {
            (Scalar::Null, Scalar::Null) => true,
            (Scalar::Bool(a), Scalar::Bool(b)) => a == b,
            (Scalar::Number(a), Scalar::Number(b)) => a.as_f64() == b.as_f64(),
            (a, b) => a.as_str().is_some() && a.as_str() == b.as_str(),
        }
    }

    /// Its text, when it is a string.
    pub(super) fn as_str(&self) -> Option<&str> {
        match self {
            Scalar::Text(text) => Some(text),
            Scalar::TypeName(name) => Some(name),
            _ => None,
        }
    }
}

/// The texts of one settings file, each kept once while it compiles.
#[derive(Default)]
pub(super) struct Texts(FastSet<Arc<str>>);

impl Texts {
    /// `value` as a scalar, its text shared with every equal text seen before.
    pub(super) fn scalar(&mut self, value: Option<&Value>) -> Scalar {
        match value {
            None | Some(Value::Null) => Scalar::Null,
            Some(Value::Bool(b)) => Scalar::Bool(*b),
            Some(Value::Number(n)) => Scalar::Number(n.clone()),
            Some(Value::String(text)) => Scalar::Text(self.text(text)),
            Some(other) => Scalar::Other(Box::new(other.clone())),
        }
    }

    /// A variable's `type`: VWO's type names need no lookup.
    pub(super) fn type_name(&mut self, value: Option<&Value>) -> Scalar {
        const NAMES: [&str; 5] = ["string", "boolean", "integer", "double", "json"];
        match value {
            Some(Value::String(text)) => match NAMES.iter().find(|name| **name == text.as_str()) {
                Some(name) => Scalar::TypeName(name),
                None => Scalar::Text(self.text(text)),
            },
            other => self.scalar(other),
        }
    }

    /// `String(value)` (empty for none), shared with every equal text seen before.
    pub(super) fn js_text(&mut self, value: Option<&Value>) -> Arc<str> {
        match value {
            None => self.text(""),
            Some(Value::String(text)) => self.text(text),
            Some(Value::Number(n)) => {
                crate::engine::js::with_number_text(n.as_f64().unwrap_or(f64::NAN), |text| self.text(text))
            }
            Some(other) => self.text(&crate::engine::js::to_string(other)),
        }
    }

    pub(super) fn text(&mut self, text: &str) -> Arc<str> {
        if let Some(shared) = self.0.get(text) {
            return Arc::clone(shared);
        }
        let shared: Arc<str> = Arc::from(text);
        self.0.insert(Arc::clone(&shared));
        shared
    }
}

/// A variable of a variation: `{id, type, key, value}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    id: Scalar,
    kind: Scalar,
    key: Scalar,
    value: Value,
}

impl Variable {
    pub(super) fn new(id: Scalar, kind: Scalar, key: Scalar, value: Value) -> Self {
        Self { id, kind, key, value }
    }

    /// Its id, as the settings give it.
    pub fn id(&self) -> Value {
        self.id.to_value()
    }

    /// Its type as VWO names it (`integer`, `double`, `string`, `boolean`, `json`), when
    /// the settings give a string.
    pub fn kind(&self) -> Option<&str> {
        self.kind.as_str()
    }

    /// Its key, when the settings give a string (a variable is found by it).
    pub fn key(&self) -> Option<&str> {
        self.key.as_str()
    }

    /// Its value.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// Its key as JavaScript would print it (`String(key)`), whatever its type.
    pub(super) fn key_text(&self) -> String {
        match self.key.as_str() {
            Some(text) => text.to_owned(),
            None => crate::engine::js::to_string(&self.key.to_value()),
        }
    }

    /// The variable as the SDK's objects write it: `{"id", "type", "key", "value"}`.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "id": self.id.to_value(),
            "type": self.kind.to_value(),
            "key": self.key.to_value(),
            "value": self.value,
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::Scalar;
    use crate::engine::js;

    fn value() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-3i64..3).prop_map(Value::from),
            (-3i64..3).prop_map(|n| json!(n as f64)),
            "[ab1]{0,2}".prop_map(Value::String),
            Just(json!([1])),
            Just(json!({"a": 1})),
            Just(json!("string")),
        ]
    }

    proptest! {
        /// A scalar compares as the JSON value it was read from.
        #[test]
        fn scalars_compare_as_their_values(a in value(), b in value()) {
            let scalar = Scalar::of(&a);
            let type_name = super::Texts::default().type_name(Some(&a));
            prop_assert_eq!(type_name.to_value(), a.clone());
            prop_assert_eq!(type_name.strict_eq(&b), js::strict_eq(&a, &b));
            prop_assert_eq!(type_name.strict_eq_scalar(&scalar), js::strict_eq(&a, &a));
            prop_assert_eq!(scalar.to_value(), a.clone());
            prop_assert_eq!(scalar.strict_eq(&b), js::strict_eq(&a, &b));
            prop_assert_eq!(scalar.strict_eq_scalar(&Scalar::of(&b)), js::strict_eq(&a, &b));
        }
    }
}
