//! An OpenFeature provider (feature `openfeature`), mapping as VWO's own providers do (Node,
//! Java, Python): the flag key is the feature key; the evaluation context is the SDK's context
//! (the targeting key, or an `id` field, is the user id; `userAgent` and `ipAddress` are those;
//! every other field is a custom variable), and its `key` field names the variable to read.
//! Without `key`, a boolean is whether the flag is on and a struct is every variable.

use std::sync::Arc;
use std::time::Duration;

use open_feature::provider::{FeatureProvider, ProviderMetadata, ProviderStatus, ResolutionDetails};
use open_feature::{
    EvaluationContext, EvaluationContextFieldValue, EvaluationError, EvaluationErrorCode, EvaluationReason,
    EvaluationResult, StructValue, Value as OfValue,
};
use serde_json::{Map, Value};

use crate::Client;
use crate::engine::{Context, Flag, Reason};
use crate::flags::Flags;

/// The provider's name, as OpenFeature hooks and telemetry see it.
pub const PROVIDER_NAME: &str = "vwo-webhook-flags";

/// VWO feature flags behind OpenFeature's client API.
///
/// ```no_run
/// # async fn demo(flags: std::sync::Arc<vwo_webhook_flags::Flags>) {
/// use open_feature::{EvaluationContext, OpenFeature};
///
/// OpenFeature::singleton_mut().await.set_provider(vwo_webhook_flags::VwoProvider::new(flags)).await;
/// let client = OpenFeature::singleton().await.create_client();
/// let context = EvaluationContext::default().with_targeting_key("user-42").with_custom_field("key", "color");
/// let color = client.get_string_value("new_checkout", Some(&context), None).await;
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct VwoProvider {
    flags: Arc<Flags>,
    /// The client the provider was built from: its decisions call the client's hooks.
    client: Option<Client>,
    metadata: ProviderMetadata,
    initialization_timeout: Duration,
}

/// How long [`VwoProvider`]'s `initialize` waits for the first settings by default.
pub const DEFAULT_INITIALIZATION_TIMEOUT: Duration = Duration::from_secs(10);

impl VwoProvider {
    /// A provider deciding on `flags`. OpenFeature's `set_provider(..).await` returns once the
    /// flags hold settings, or after [`DEFAULT_INITIALIZATION_TIMEOUT`] (then the provider is
    /// not ready, and evaluations answer `PROVIDER_NOT_READY` until the settings arrive).
    pub fn new(flags: Arc<Flags>) -> Self {
        Self {
            flags,
            client: None,
            metadata: ProviderMetadata::new(PROVIDER_NAME),
            initialization_timeout: DEFAULT_INITIALIZATION_TIMEOUT,
        }
    }

    /// A provider deciding through `client`: on its settings, reported, and calling its
    /// decision hooks.
    pub fn from_client(client: &Client) -> Self {
        Self {
            client: Some(client.clone()),
            ..Self::new(Arc::clone(client.flags()))
        }
    }

    /// How long `initialize` waits for the first settings.
    pub fn initialization_timeout(mut self, timeout: Duration) -> Self {
        self.initialization_timeout = timeout;
        self
    }

    async fn decide(
        &self,
        flag_key: &str,
        context: &EvaluationContext,
    ) -> EvaluationResult<(Flag, Option<String>)> {
        let mut id = context.targeting_key.clone();
        let mut variable = None;
        let (mut user_agent, mut ip_address) = (None, None);
        let mut custom = Map::new();
        for (name, value) in &context.custom_fields {
            let text = || field_text(value);
            match name.as_str() {
                "id" if id.is_none() => id = text(),
                "key" => variable = text(),
                "userAgent" => user_agent = text(),
                "ipAddress" => ip_address = text(),
                _ => {
                    if let Some(json) = field_json(value) {
                        custom.insert(name.clone(), json);
                    }
                }
            }
        }
        // `Context::new` refuses an empty id, as a missing one.
        let mut vwo = Context::new(id.unwrap_or_default())
            .map_err(|_| {
                error(
                    EvaluationErrorCode::TargetingKeyMissing,
                    "the context needs a targeting key (the VWO user id)",
                )
            })?
            .with_custom_variables(custom);
        if let Some(user_agent) = user_agent {
            vwo = vwo.with_user_agent(user_agent);
        }
        if let Some(ip_address) = ip_address {
            vwo = vwo.with_ip_address(ip_address);
        }
        let flag = match &self.client {
            Some(client) => client.get_flag_async(flag_key, &vwo).await,
            None => self.flags.get_flag_async(flag_key, &vwo).await,
        };
        match flag.reason() {
            Reason::NoSettings => Err(error(
                EvaluationErrorCode::ProviderNotReady,
                "no VWO settings loaded yet",
            )),
            Reason::StorageNeedsAsync => Err(error(
                EvaluationErrorCode::General("storage".to_owned()),
                "the storage configured needs get_flag_async",
            )),
            Reason::UnknownFeature => Err(error(
                EvaluationErrorCode::FlagNotFound,
                &format!("no feature `{flag_key}` in the settings"),
            )),
            _ => Ok((flag, variable)),
        }
    }
}

/// `found` with its value as OpenFeature's type, by `convert`; a mismatch names `what` it
/// should have been.
fn retyped<T>(
    found: ResolutionDetails<Value>,
    what: &str,
    convert: impl FnOnce(&Value) -> Option<T>,
) -> EvaluationResult<ResolutionDetails<T>> {
    Ok(ResolutionDetails {
        value: convert(&found.value).ok_or_else(|| mismatch(what))?,
        variant: found.variant,
        reason: found.reason,
        flag_metadata: None,
    })
}

/// The variable the context's `key` names, of one of `types`, from a flag already decided.
fn variable(flag: &Flag, key: Option<String>, types: &[&str]) -> EvaluationResult<ResolutionDetails<Value>> {
    let key = key.ok_or_else(|| {
        error(
            EvaluationErrorCode::InvalidContext,
            "name the variable in the context's `key` field",
        )
    })?;
    let found = flag
        .variables()
        .iter()
        .find(|v| v.key() == Some(key.as_str()) && types.iter().any(|t| v.kind() == Some(*t)))
        .map(|v| v.value().clone())
        .ok_or_else(|| {
            error(
                EvaluationErrorCode::FlagNotFound,
                &format!("no {} variable `{key}` for this user", types[0]),
            )
        })?;
    Ok(details(found, flag))
}

fn error(code: EvaluationErrorCode, message: &str) -> EvaluationError {
    EvaluationError {
        code,
        message: Some(message.to_owned()),
    }
}

fn details<T>(value: T, flag: &Flag) -> ResolutionDetails<T> {
    let reason = match flag.reason() {
        Reason::Matched => EvaluationReason::TargetingMatch,
        Reason::Stored => EvaluationReason::Cached,
        Reason::InvalidSettings => EvaluationReason::Error,
        _ => EvaluationReason::Default,
    };
    let variant = flag
        .experiment()
        .or(flag.rollout())
        .map(|rule| format!("{}:{}", rule.key, rule.variation_id));
    ResolutionDetails {
        value,
        variant,
        reason: Some(reason),
        flag_metadata: None,
    }
}

fn field_text(value: &EvaluationContextFieldValue) -> Option<String> {
    match field_json(value)? {
        Value::String(s) => Some(s),
        other => Some(other.to_string()),
    }
}

fn field_json(value: &EvaluationContextFieldValue) -> Option<Value> {
    match value {
        EvaluationContextFieldValue::Bool(b) => Some(Value::Bool(*b)),
        EvaluationContextFieldValue::Int(i) => Some(Value::from(*i)),
        EvaluationContextFieldValue::Float(f) => serde_json::Number::from_f64(*f).map(Value::Number),
        EvaluationContextFieldValue::String(s) => Some(Value::String(s.clone())),
        EvaluationContextFieldValue::DateTime(t) => Some(Value::String(t.to_string())),
        // An opaque Rust value: nothing a segment could compare.
        EvaluationContextFieldValue::Struct(_) => None,
    }
}

fn to_openfeature(value: &Value) -> OfValue {
    match value {
        Value::Null => OfValue::Struct(StructValue::default()),
        Value::Bool(b) => OfValue::Bool(*b),
        Value::Number(n) => n
            .as_i64()
            .map_or_else(|| OfValue::Float(n.as_f64().unwrap_or(f64::NAN)), OfValue::Int),
        Value::String(s) => OfValue::String(s.clone()),
        Value::Array(items) => OfValue::Array(items.iter().map(to_openfeature).collect()),
        Value::Object(map) => OfValue::Struct(StructValue {
            fields: map.iter().map(|(k, v)| (k.clone(), to_openfeature(v))).collect(),
        }),
    }
}

fn mismatch(what: &str) -> EvaluationError {
    error(
        EvaluationErrorCode::TypeMismatch,
        &format!("the variable is not {what}"),
    )
}

#[open_feature::async_trait]
impl FeatureProvider for VwoProvider {
    fn metadata(&self) -> &ProviderMetadata {
        &self.metadata
    }

    async fn initialize(&mut self, _: &EvaluationContext) {
        let waited = tokio::time::timeout(self.initialization_timeout, self.flags.wait_until_ready()).await;
        if waited.is_err() {
            tracing::warn!(
                timeout_ms = self.initialization_timeout.as_millis() as u64,
                "no VWO settings yet: the provider is not ready"
            );
        }
    }

    fn status(&self) -> ProviderStatus {
        if self.flags.is_ready() {
            ProviderStatus::Ready
        } else {
            ProviderStatus::NotReady
        }
    }

    async fn resolve_bool_value(
        &self,
        flag_key: &str,
        context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<bool>> {
        let (flag, key) = self.decide(flag_key, context).await?;
        if key.is_none() {
            return Ok(details(flag.is_enabled(), &flag));
        }
        retyped(variable(&flag, key, &["boolean"])?, "a boolean", |v| v.as_bool())
    }

    async fn resolve_int_value(
        &self,
        flag_key: &str,
        context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<i64>> {
        let (flag, key) = self.decide(flag_key, context).await?;
        retyped(variable(&flag, key, &["integer", "double"])?, "an integer", |v| {
            v.as_i64()
        })
    }

    async fn resolve_float_value(
        &self,
        flag_key: &str,
        context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<f64>> {
        let (flag, key) = self.decide(flag_key, context).await?;
        retyped(variable(&flag, key, &["double", "integer"])?, "a number", |v| {
            v.as_f64()
        })
    }

    async fn resolve_string_value(
        &self,
        flag_key: &str,
        context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<String>> {
        let (flag, key) = self.decide(flag_key, context).await?;
        retyped(variable(&flag, key, &["string"])?, "a string", |v| {
            v.as_str().map(str::to_owned)
        })
    }

    async fn resolve_struct_value(
        &self,
        flag_key: &str,
        context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<StructValue>> {
        let (flag, key) = self.decide(flag_key, context).await?;
        let found = if key.is_none() {
            details(Value::Object(flag.variables_json()), &flag)
        } else {
            variable(&flag, key, &["json"])?
        };
        retyped(found, "a JSON object", |v| match to_openfeature(v) {
            OfValue::Struct(value) => Some(value),
            _ => None,
        })
    }
}
