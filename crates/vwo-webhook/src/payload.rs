//! The notice VWO posts when settings change.
//!
//! The notice carries no settings, only what happened and when. VWO documents `event` as
//! "currently always" `settings_changed` and adds `action` values over time, so unknown values
//! are kept (as `Other`) rather than rejected: a new action must never cost a settings refresh.

use std::fmt;

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::Value;

/// A parsed "settings changed" notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsChanged {
    /// When VWO emitted the notice, in Unix seconds.
    pub timestamp: i64,
    /// What happened; always `settings_changed` today.
    pub event: Event,
    /// Which change caused the notice, when VWO says.
    pub action: Option<Action>,
    /// Who caused the change (`vwo` for changes made in the VWO app), when VWO says.
    pub triggered_by: Option<String>,
}

/// The `event` field of a notice.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Event {
    /// `settings_changed`.
    SettingsChanged,
    /// A value this version does not know yet, kept verbatim.
    Other(String),
}

/// The `action` field of a notice.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Action {
    /// `campaign_settings_changed`.
    CampaignSettingsChanged,
    /// `feature_flag_updated`.
    FeatureFlagUpdated,
    /// A value this version does not know yet, kept verbatim.
    Other(String),
}

/// Why a body is not a valid notice. The message names the offending field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// The body is empty.
    #[error("the body is empty; expected a JSON object")]
    Empty,
    /// The body is not JSON at all.
    #[error("the body is not valid JSON (line {line}, column {column})")]
    Syntax {
        /// 1-based line of the first error.
        line: usize,
        /// 1-based column of the first error.
        column: usize,
    },
    /// The body is JSON, but not an object.
    #[error("the body must be a JSON object")]
    NotAnObject,
    /// A required field is absent (or `null`).
    #[error("field `{0}` is missing")]
    Missing(&'static str),
    /// A field has the wrong JSON type.
    #[error("field `{field}` must be {expected}")]
    WrongType {
        /// The field's name.
        field: &'static str,
        /// What it must be, e.g. "an integer".
        expected: &'static str,
    },
}

/// The wire shape: every known field as raw JSON, unknown fields skipped without allocation.
#[derive(Deserialize)]
struct Wire {
    #[serde(default)]
    timestamp: Option<Value>,
    #[serde(default)]
    event: Option<Value>,
    #[serde(default)]
    action: Option<Value>,
    #[serde(default)]
    triggered_by: Option<Value>,
}

impl SettingsChanged {
    /// Parses a notice from the raw body bytes.
    ///
    /// Required: a JSON object with an integer `timestamp` and a string `event`. `action` and
    /// `triggered_by` are optional strings. Other fields are ignored.
    pub fn from_slice(body: &[u8]) -> Result<Self, PayloadError> {
        let syntax = |error: serde_json::Error| PayloadError::Syntax {
            line: error.line(),
            column: error.column(),
        };
        match body.iter().find(|b| !b.is_ascii_whitespace()) {
            None => return Err(PayloadError::Empty),
            // serde would also read a struct from a JSON array: only an object is a notice.
            Some(b'{') => {}
            Some(_) => {
                serde_json::from_slice::<IgnoredAny>(body).map_err(syntax)?;
                return Err(PayloadError::NotAnObject);
            }
        }
        let wire: Wire = serde_json::from_slice(body).map_err(syntax)?;
        let timestamp = match wire.timestamp {
            None | Some(Value::Null) => return Err(PayloadError::Missing("timestamp")),
            Some(Value::Number(n)) => n.as_i64().ok_or(PayloadError::WrongType {
                field: "timestamp",
                expected: "an integer (Unix seconds)",
            })?,
            Some(_) => {
                return Err(PayloadError::WrongType {
                    field: "timestamp",
                    expected: "an integer (Unix seconds)",
                });
            }
        };
        let event = required_string(wire.event, "event")?;
        let action = optional_string(wire.action, "action")?;
        let triggered_by = optional_string(wire.triggered_by, "triggered_by")?;
        Ok(Self {
            timestamp,
            event: Event::from(event),
            action: action.map(Action::from),
            triggered_by,
        })
    }
}

fn required_string(value: Option<Value>, field: &'static str) -> Result<String, PayloadError> {
    optional_string(value, field)?.ok_or(PayloadError::Missing(field))
}

fn optional_string(value: Option<Value>, field: &'static str) -> Result<Option<String>, PayloadError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(PayloadError::WrongType {
            field,
            expected: "a string",
        }),
    }
}

impl From<String> for Event {
    fn from(value: String) -> Self {
        match value.as_str() {
            "settings_changed" => Self::SettingsChanged,
            _ => Self::Other(value),
        }
    }
}

impl From<String> for Action {
    fn from(value: String) -> Self {
        match value.as_str() {
            "campaign_settings_changed" => Self::CampaignSettingsChanged,
            "feature_flag_updated" => Self::FeatureFlagUpdated,
            _ => Self::Other(value),
        }
    }
}

impl Event {
    /// The wire value.
    pub fn as_str(&self) -> &str {
        match self {
            Self::SettingsChanged => "settings_changed",
            Self::Other(value) => value,
        }
    }
}

impl Action {
    /// The wire value.
    pub fn as_str(&self) -> &str {
        match self {
            Self::CampaignSettingsChanged => "campaign_settings_changed",
            Self::FeatureFlagUpdated => "feature_flag_updated",
            Self::Other(value) => value,
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCUMENTED: &str = include_str!("../testdata/documented.json");

    #[test]
    fn parses_the_documented_payload() {
        let parsed = SettingsChanged::from_slice(DOCUMENTED.as_bytes()).expect("valid");
        assert_eq!(
            parsed,
            SettingsChanged {
                timestamp: 1_606_482_285,
                event: Event::SettingsChanged,
                action: Some(Action::CampaignSettingsChanged),
                triggered_by: Some("vwo".into()),
            }
        );
    }

    #[test]
    fn parses_the_feature_flag_action() {
        let body = include_bytes!("../testdata/feature_flag_updated.json");
        let parsed = SettingsChanged::from_slice(body).expect("valid");
        assert_eq!(parsed.timestamp, 1_763_800_000);
        assert_eq!(parsed.action, Some(Action::FeatureFlagUpdated));
        assert_eq!(parsed.event.to_string(), "settings_changed");
    }

    #[test]
    fn keeps_unknown_values_and_ignores_unknown_fields() {
        let body = br#"{"timestamp":1,"event":"flags_moved","action":"brand_new","extra":{"deep":[1,2]}}"#;
        let parsed = SettingsChanged::from_slice(body).expect("valid");
        assert_eq!(parsed.event, Event::Other("flags_moved".into()));
        assert_eq!(parsed.action, Some(Action::Other("brand_new".into())));
        assert_eq!(parsed.triggered_by, None);
        assert_eq!(parsed.action.map(|a| a.to_string()).as_deref(), Some("brand_new"));
    }

    #[test]
    fn errors_name_the_field() {
        let cases: &[(&[u8], &str)] = &[
            (br#"{"event":"settings_changed"}"#, "field `timestamp` is missing"),
            (
                br#"{"timestamp":"1","event":"settings_changed"}"#,
                "field `timestamp` must be",
            ),
            (
                br#"{"timestamp":1.5,"event":"settings_changed"}"#,
                "field `timestamp` must be",
            ),
            (br#"{"timestamp":1}"#, "field `event` is missing"),
            (br#"{"timestamp":1,"event":7}"#, "field `event` must be a string"),
            (
                br#"{"timestamp":1,"event":"x","action":[]}"#,
                "field `action` must be a string",
            ),
            (
                br#"{"timestamp":1,"event":"x","triggered_by":false}"#,
                "field `triggered_by` must be a string",
            ),
        ];
        for (body, expected) in cases {
            let message = SettingsChanged::from_slice(body)
                .expect_err("invalid")
                .to_string();
            assert!(
                message.starts_with(expected),
                "{message:?} for {:?}",
                String::from_utf8_lossy(body)
            );
        }
    }

    /// An unknown field nested 30,000 levels deep (60 KB, under the default body limit) is
    /// skipped without recursion: no stack overflow, and the notice is read.
    #[test]
    fn an_unknown_field_nested_deep_is_skipped() {
        let body = format!(
            r#"{{"timestamp":1,"event":"settings_changed","x":{}{}}}"#,
            "[".repeat(30_000),
            "]".repeat(30_000)
        );
        let notice = SettingsChanged::from_slice(body.as_bytes()).expect("the notice is read");
        assert_eq!(notice.timestamp, 1);
    }

    #[test]
    fn rejects_bodies_that_are_not_objects() {
        assert_eq!(SettingsChanged::from_slice(b""), Err(PayloadError::Empty));
        assert_eq!(SettingsChanged::from_slice(b" \n"), Err(PayloadError::Empty));
        for body in [
            &b"[1,2]"[..],
            b"[1,\"settings_changed\"]",
            b"\"x\"",
            b"null",
            b"42",
        ] {
            assert_eq!(SettingsChanged::from_slice(body), Err(PayloadError::NotAnObject));
        }
        assert!(matches!(
            SettingsChanged::from_slice(br#"{"timestamp": 1,"#),
            Err(PayloadError::Syntax { line: 1, .. })
        ));
    }
}
