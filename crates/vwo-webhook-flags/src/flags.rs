//! The handle a service keeps: the compiled settings behind an `ArcSwap`, rebuilt when the
//! settings store installs a new snapshot, read without a lock by every decision.

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwapOption;
use serde_json::Value;
use vwo_webhook_settings::{SettingsStore, Snapshot};

use crate::context::Context;
use crate::decide::{Access, ListCheck, Outcome, Run, Stop};
use crate::flag::Flag;
use crate::model::Model;
use crate::storage::{AsyncStorage, NoStorage, Storage, StoredDecision};
use crate::telemetry;

/// VWO's gateway, which the SDK asks whether a value is in a list (`inlist(..)` segments).
/// Without one, `inlist` answers false, as the SDK does without a gateway.
pub trait Gateway: Send + Sync {
    /// Whether `attribute` is in the list `list_id`.
    fn in_list(&self, list_id: &str, attribute: &str) -> bool;
}

/// No gateway.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoGateway;

impl Gateway for NoGateway {
    fn in_list(&self, _: &str, _: &str) -> bool {
        false
    }
}

struct Lists<'a>(&'a dyn Gateway);

impl ListCheck for Lists<'_> {
    fn in_list(&self, list_id: &str, attribute: &str) -> bool {
        self.0.in_list(list_id, attribute)
    }
}

/// Decides flags on the current settings.
///
/// ```
/// use vwo_webhook_flags::{Context, Flags};
///
/// let settings = serde_json::json!({
///     "version": 1, "accountId": 123456, "campaigns": [], "features": []
/// });
/// let flags = Flags::from_document(&settings);
/// let flag = flags.get_flag("new_checkout", &Context::new("user-1")?);
/// assert!(!flag.is_enabled());
/// # Ok::<(), vwo_webhook_flags::ContextError>(())
/// ```
pub struct Flags {
    model: ArcSwapOption<Model>,
    storage: Arc<dyn Storage>,
    gateway: Arc<dyn Gateway>,
}

impl std::fmt::Debug for Flags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let model = self.model.load();
        f.debug_struct("Flags")
            .field("features", &model.as_ref().map(|m| m.feature_count()))
            .finish_non_exhaustive()
    }
}

impl Default for Flags {
    fn default() -> Self {
        Self::new()
    }
}

impl Flags {
    /// No settings yet (every flag is off, [`Reason::NoSettings`](crate::Reason::NoSettings)),
    /// no storage, no gateway.
    pub fn new() -> Self {
        Self {
            model: ArcSwapOption::empty(),
            storage: Arc::new(NoStorage),
            gateway: Arc::new(NoGateway),
        }
    }

    /// Decides on `document` (a validated settings file).
    pub fn from_document(document: &Value) -> Self {
        let flags = Self::new();
        flags.install_document(document);
        flags
    }

    /// Keeps decisions sticky in `storage` (the SDK's storage connector).
    pub fn with_storage(mut self, storage: Arc<dyn Storage>) -> Self {
        self.storage = storage;
        self
    }

    /// Asks `gateway` for `inlist(..)` segments.
    pub fn with_gateway(mut self, gateway: Arc<dyn Gateway>) -> Self {
        self.gateway = gateway;
        self
    }

    /// Compiles `snapshot` and makes it current.
    pub fn install(&self, snapshot: &Snapshot) {
        self.install_document(snapshot.document());
    }

    /// Compiles `document` and makes it current.
    pub fn install_document(&self, document: &Value) {
        let model = Model::compile(document);
        telemetry::record_compiled(&model);
        self.model.store(Some(Arc::new(model)));
    }

    /// Follows `store`: compiles its current snapshot now and each new one as it is installed,
    /// on a task of the current tokio runtime, until the returned handle is dropped or aborted.
    pub fn follow(self: &Arc<Self>, store: &SettingsStore) -> tokio::task::JoinHandle<()> {
        let mut changes = store.subscribe();
        if let Some(snapshot) = changes.borrow_and_update().as_ref() {
            self.install(snapshot);
        }
        let flags = Arc::downgrade(self);
        tokio::spawn(async move {
            while changes.changed().await.is_ok() {
                let Some(flags) = flags.upgrade() else { break };
                let snapshot = changes.borrow_and_update().clone();
                if let Some(snapshot) = snapshot {
                    flags.install(&snapshot);
                }
            }
        })
    }

    /// Whether settings have been installed.
    pub fn is_ready(&self) -> bool {
        self.model.load().is_some()
    }

    /// Decides `feature_key` for the user in `context`, as the SDK's `getFlag` does.
    /// Synchronous: storage is read through [`Storage`], which answers at once.
    pub fn get_flag(&self, feature_key: &str, context: &Context) -> Flag {
        self.decide(feature_key, context, false).0
    }

    /// [`Flags::get_flag`], and the path to the answer: which rules were tried, which
    /// segment or traffic check failed.
    pub fn explain(&self, feature_key: &str, context: &Context) -> (Flag, Vec<String>) {
        self.decide(feature_key, context, true)
    }

    fn decide(&self, feature_key: &str, context: &Context, trace: bool) -> (Flag, Vec<String>) {
        let model = self.model.load();
        let Some(model) = model.as_ref() else {
            return (Flag::without_settings(), vec!["no settings loaded".to_owned()]);
        };
        let mut access = Direct {
            storage: &*self.storage,
            user_id: &context.id,
        };
        let lists = Lists(&*self.gateway);
        let outcome = Run::new(model, context, &mut access, &lists, trace).get_flag(feature_key);
        // A direct storage read never misses.
        let outcome = outcome.unwrap_or_else(|_| Outcome {
            crashed: true,
            ..Outcome::default()
        });
        let flag = Flag::from_outcome(&outcome);
        telemetry::record_decision(&flag);
        (flag, outcome.trace)
    }

    /// [`Flags::get_flag`] with a storage connector that does I/O. The decision runs on what
    /// it has read so far; where it needs a key it has not read, it stops, reads it, and runs
    /// again (a decision reads a handful of keys: the feature's, and its groups'). What it
    /// stores is written once it is done.
    pub async fn get_flag_async(
        &self,
        feature_key: &str,
        context: &Context,
        storage: &dyn AsyncStorage,
    ) -> Flag {
        let Some(model) = self.model.load_full() else {
            return Flag::without_settings();
        };
        let lists = Lists(&*self.gateway);
        let mut read: HashMap<String, Option<StoredDecision>> = HashMap::new();
        loop {
            let mut access = Replay {
                read: &read,
                written: Vec::new(),
            };
            let outcome = Run::new(&model, context, &mut access, &lists, false).get_flag(feature_key);
            match outcome {
                Ok(outcome) => {
                    let written = std::mem::take(&mut access.written);
                    for (key, decision) in written {
                        storage.set(&key, &context.id, decision).await;
                    }
                    let flag = Flag::from_outcome(&outcome);
                    telemetry::record_decision(&flag);
                    return flag;
                }
                Err(Stop::Miss(key)) => {
                    let value = storage.get(&key, &context.id).await;
                    read.insert(key, value);
                }
                Err(Stop::Crash) => {
                    return Flag::from_outcome(&Outcome {
                        crashed: true,
                        ..Outcome::default()
                    });
                }
            }
        }
    }
}

/// Storage read and written in place.
struct Direct<'a> {
    storage: &'a dyn Storage,
    user_id: &'a str,
}

impl Access for Direct<'_> {
    fn get(&mut self, key: &str) -> Result<Option<StoredDecision>, Stop> {
        Ok(self.storage.get(key, self.user_id))
    }

    fn set(&mut self, key: &str, decision: StoredDecision) {
        self.storage.set(key, self.user_id, decision);
    }
}

/// Storage as read so far by an async decision; writes are kept and read back within the run.
struct Replay<'a> {
    read: &'a HashMap<String, Option<StoredDecision>>,
    written: Vec<(String, StoredDecision)>,
}

impl Access for Replay<'_> {
    fn get(&mut self, key: &str) -> Result<Option<StoredDecision>, Stop> {
        if let Some((_, decision)) = self.written.iter().rev().find(|(k, _)| k == key) {
            return Ok(Some(decision.clone()));
        }
        self.read
            .get(key)
            .cloned()
            .ok_or_else(|| Stop::Miss(key.to_owned()))
    }

    fn set(&mut self, key: &str, decision: StoredDecision) {
        self.written.push((key.to_owned(), decision));
    }
}
