//! The handle a service keeps: the compiled settings behind an `ArcSwap`, rebuilt when the
//! settings store installs a new snapshot, read without a lock by every decision.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arc_swap::{ArcSwapOption, Guard};
use serde_json::Value;
use vwo_webhook_settings::{SettingsStore, Snapshot};

use crate::engine::{self, Context, Decision, Flag, Lists, Miss, Model, Records, StorageView};
use crate::events::Reporter;
use crate::meter;
use crate::storage::{AsyncStorage, Storage, StoredDecision};

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

/// The gateway as the engine asks it.
struct GatewayLists<'a>(&'a dyn Gateway);

impl Lists for GatewayLists<'_> {
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
    compiled: ArcSwapOption<Compiled>,
    store: Option<Arc<SettingsStore>>,
    /// `None`: no storage (the SDK without a connector).
    storage: Option<Sticky>,
    gateway: Arc<dyn Gateway>,
    pub(crate) reporter: Reporter,
}

/// Where decisions are kept sticky: one place for both kinds of connector.
#[derive(Clone)]
enum Sticky {
    /// Answers at once: both `get_flag` and `get_flag_async` read it in place.
    Now(Arc<dyn Storage>),
    /// Does I/O: only `get_flag_async` can read it.
    Later(Arc<dyn AsyncStorage>),
}

/// A compiled settings file and the snapshot it came from (none for a bare document).
pub(crate) struct Compiled {
    pub(crate) model: Model,
    snapshot: Option<Arc<Snapshot>>,
}

impl std::fmt::Debug for Flags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let compiled = self.compiled.load();
        f.debug_struct("Flags")
            .field("features", &compiled.as_ref().map(|c| c.model.feature_count()))
            .finish_non_exhaustive()
    }
}

/// Builds a [`Flags`]: configured once, then shared.
///
/// ```
/// use std::sync::Arc;
/// use vwo_webhook_flags::{Flags, MemoryStorage};
///
/// let settings = serde_json::json!({
///     "version": 1, "accountId": 123456, "campaigns": [], "features": []
/// });
/// let flags = Flags::builder()
///     .storage(Arc::new(MemoryStorage::new()))
///     .document(&settings)
///     .build();
/// # let _ = flags;
/// ```
#[must_use = "a builder does nothing until build() or follow()"]
pub struct FlagsBuilder {
    storage: Option<Sticky>,
    gateway: Arc<dyn Gateway>,
    reporter: Reporter,
    document: Option<Model>,
}

impl std::fmt::Debug for FlagsBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlagsBuilder")
            .field("storage", &self.storage.is_some())
            .field("reporter", &self.reporter)
            .field("document", &self.document.is_some())
            .finish_non_exhaustive()
    }
}

impl FlagsBuilder {
    /// Keeps decisions sticky in `storage` (the SDK's storage connector), which answers at
    /// once: [`Flags::get_flag`] and [`Flags::get_flag_async`] both read it. Replaces an
    /// async storage set before.
    pub fn storage(mut self, storage: Arc<dyn Storage>) -> Self {
        self.storage = Some(Sticky::Now(storage));
        self
    }

    /// Keeps decisions sticky in `storage`, a connector that does I/O (Redis, a database):
    /// decide with [`Flags::get_flag_async`], which reads and writes it. [`Flags::get_flag`]
    /// cannot wait for it and answers off with
    /// [`Reason::StorageNeedsAsync`](crate::Reason::StorageNeedsAsync). Replaces a storage
    /// set before.
    pub fn async_storage(mut self, storage: Arc<dyn AsyncStorage>) -> Self {
        self.storage = Some(Sticky::Later(storage));
        self
    }

    /// Asks `gateway` for `inlist(..)` segments.
    pub fn gateway(mut self, gateway: Arc<dyn Gateway>) -> Self {
        self.gateway = gateway;
        self
    }

    /// Reports impressions through `reporter` (for every decision where the SDK sends one),
    /// and lets [`Flags::track_event`] and [`Flags::set_attributes`] send. Without one
    /// nothing is reported.
    pub fn reporter(mut self, reporter: Reporter) -> Self {
        self.reporter = reporter;
        self
    }

    /// Decides on `document` (a validated settings file), compiled now.
    pub fn document(mut self, document: &Value) -> Self {
        self.document = Some(Model::compile(document));
        self
    }

    /// The handle, deciding on the document given, if any (until then every flag is off,
    /// [`Reason::NoSettings`](crate::Reason::NoSettings)).
    pub fn build(self) -> Flags {
        let flags = Flags {
            compiled: ArcSwapOption::empty(),
            store: None,
            storage: self.storage,
            gateway: self.gateway,
            reporter: self.reporter,
        };
        if let Some(model) = self.document {
            flags.install(model, None);
        }
        flags
    }

    /// The handle, deciding on `store`'s settings from now on: its current snapshot is
    /// compiled now, and each new one as the store installs it (on a task of the current
    /// tokio runtime, if there is one). A decision never uses settings older than the store's:
    /// one made after a webhook was acknowledged sees the settings that webhook brought,
    /// compiled by the task or, if it has not got there yet, by the decision itself.
    pub fn follow(self, store: Arc<SettingsStore>) -> Arc<Flags> {
        let mut changes = store.subscribe();
        let mut flags = self.build();
        flags.store = Some(store);
        let flags = Arc::new(flags);
        let _ = flags.current();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let weak = Arc::downgrade(&flags);
            runtime.spawn(async move {
                while changes.changed().await.is_ok() {
                    let Some(flags) = weak.upgrade() else { break };
                    let _ = flags.current();
                }
            });
        }
        flags
    }
}

impl Default for Flags {
    fn default() -> Self {
        Self::new()
    }
}

impl Flags {
    /// What the handle decides with (storage, gateway, reporter) and on (a document, or a
    /// store it follows).
    pub fn builder() -> FlagsBuilder {
        FlagsBuilder {
            storage: None,
            gateway: Arc::new(NoGateway),
            reporter: Reporter::disabled(),
            document: None,
        }
    }

    /// No settings yet (every flag is off, [`Reason::NoSettings`](crate::Reason::NoSettings)),
    /// no storage, no gateway, no reporting.
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// Decides on `document` (a validated settings file), with no storage, gateway or
    /// reporting. It is not checked: [`Flags::from_valid_document`] checks it first.
    pub fn from_document(document: &Value) -> Self {
        Self::builder().document(document).build()
    }

    /// [`Flags::from_document`] for a document that may not be VWO's settings (a file written
    /// by hand, a test's): checked first by the validator the settings backend runs on every
    /// fetch (the SDK's own schema), so a typo is an error that names the field instead of a
    /// flag that is silently off.
    pub fn from_valid_document(document: &Value) -> Result<Self, vwo_webhook_settings::ValidationError> {
        let mut checked = document.clone();
        vwo_webhook_settings::validate(&mut checked, vwo_webhook_settings::Check::Fetch)?;
        Ok(Self::from_document(&checked))
    }

    /// Compiles `document` and makes it current.
    pub fn install_document(&self, document: &Value) {
        self.install(Model::compile(document), None);
    }

    fn install(&self, model: Model, snapshot: Option<Arc<Snapshot>>) -> Arc<Compiled> {
        meter::record_compiled(&model);
        let compiled = Arc::new(Compiled { model, snapshot });
        self.compiled.store(Some(Arc::clone(&compiled)));
        compiled
    }

    /// The compiled settings to decide on: the store's current snapshot, compiled if it is not
    /// yet.
    pub(crate) fn current(&self) -> Option<Arc<Compiled>> {
        let compiled = self.compiled.load_full();
        let Some(store) = &self.store else {
            return compiled;
        };
        let snapshot = store.current()?;
        if let Some(compiled) =
            compiled.filter(|c| c.snapshot.as_ref().is_some_and(|s| Arc::ptr_eq(s, &snapshot)))
        {
            return Some(compiled);
        }
        let model = Model::compile(snapshot.document());
        Some(self.install(model, Some(snapshot)))
    }

    /// [`Flags::current`] for a decision made at once: a guard, which reads the settings
    /// without touching their reference count (atomic operations that cost a decision more
    /// time than their instructions show). Not for holding across an `.await`.
    fn current_now(&self) -> Guard<Option<Arc<Compiled>>> {
        let compiled = self.compiled.load();
        let Some(store) = &self.store else {
            return compiled;
        };
        let snapshot = store.load();
        match (&*compiled, &*snapshot) {
            (Some(held), Some(snapshot))
                if held.snapshot.as_ref().is_some_and(|s| Arc::ptr_eq(s, snapshot)) =>
            {
                compiled
            }
            _ => Guard::from_inner(self.current()),
        }
    }

    /// Whether settings have been installed.
    pub fn is_ready(&self) -> bool {
        self.current().is_some()
    }

    /// Waits until settings are held: for flags that follow a store, until the store has its
    /// first snapshot (fetched, or read from the on-disk copy); otherwise it returns at once,
    /// as there is nothing to wait for. Bound it with `tokio::time::timeout`.
    pub async fn wait_until_ready(&self) {
        if self.is_ready() {
            return;
        }
        let Some(store) = &self.store else { return };
        let mut changes = store.subscribe();
        while changes.borrow_and_update().is_none() {
            if changes.changed().await.is_err() {
                return;
            }
        }
        let _ = self.current();
    }

    /// Decides `feature_key` for the user in `context`, as the SDK's `getFlag` does.
    /// Synchronous: storage is read through [`Storage`], which answers at once (with an
    /// [`AsyncStorage`] configured, use [`Flags::get_flag_async`]).
    pub fn get_flag(&self, feature_key: &str, context: &Context) -> Flag {
        let current = self.current_now();
        let Some(compiled) = current.as_deref() else {
            return Flag::without_settings();
        };
        let Some(storage) = self.storage_now() else {
            return self.needs_async();
        };
        let decision = decide_direct(
            compiled,
            feature_key,
            context,
            storage,
            &*self.gateway,
            self.records(),
        );
        self.finish(compiled, context, decision)
    }

    /// The storage a synchronous decision reads (`None` inside: no storage); `None` when the
    /// storage configured does I/O.
    fn storage_now(&self) -> Option<Option<&dyn Storage>> {
        match &self.storage {
            None => Some(None),
            Some(Sticky::Now(storage)) => Some(Some(&**storage)),
            Some(Sticky::Later(_)) => None,
        }
    }

    fn needs_async(&self) -> Flag {
        tracing::warn!("get_flag cannot read the async storage configured; use get_flag_async");
        let flag = Flag::storage_needs_async();
        meter::record_decision(&flag);
        flag
    }

    /// [`Flags::get_flag`], and the path to the answer: which rules were tried, which
    /// segment or traffic check failed. A diagnosis, not a user seeing a variation: it
    /// reports nothing and is not counted.
    pub fn explain(&self, feature_key: &str, context: &Context) -> Explanation {
        let Some(compiled) = self.current() else {
            return Explanation {
                flag: Flag::without_settings(),
                steps: vec!["no settings loaded".to_owned()],
            };
        };
        let Some(storage) = self.storage_now() else {
            return Explanation {
                flag: Flag::storage_needs_async(),
                steps: vec!["the storage configured does I/O: explain cannot read it".to_owned()],
            };
        };
        let records = Records {
            impressions: false,
            trace: true,
        };
        let decision = decide_direct(&compiled, feature_key, context, storage, &*self.gateway, records);
        Explanation {
            flag: decision.flag,
            steps: decision.trace,
        }
    }

    /// [`Flags::get_flag`] that can wait for storage: with an [`AsyncStorage`] configured
    /// ([`FlagsBuilder::async_storage`]) the decision runs on what it has read so far; where it
    /// needs a key it has not read, it stops, reads it, and runs again (a decision reads a
    /// handful of keys: the feature's, and its groups'). What it stores is written once it is
    /// done. With a [`Storage`] or none, it is [`Flags::get_flag`].
    pub async fn get_flag_async(&self, feature_key: &str, context: &Context) -> Flag {
        let Some(compiled) = self.current() else {
            return Flag::without_settings();
        };
        let storage = match &self.storage {
            Some(Sticky::Later(storage)) => storage,
            Some(Sticky::Now(storage)) => {
                let decision = decide_direct(
                    &compiled,
                    feature_key,
                    context,
                    Some(&**storage),
                    &*self.gateway,
                    self.records(),
                );
                return self.finish(&compiled, context, decision);
            }
            None => {
                let decision = decide_direct(
                    &compiled,
                    feature_key,
                    context,
                    None,
                    &*self.gateway,
                    self.records(),
                );
                return self.finish(&compiled, context, decision);
            }
        };
        let lists = GatewayLists(&*self.gateway);
        let mut read: HashMap<String, Option<StoredDecision>> = HashMap::new();
        loop {
            let mut view = Replay {
                read: &read,
                written: Vec::new(),
            };
            match engine::decide(
                &compiled.model,
                feature_key,
                context,
                &mut view,
                &lists,
                self.records(),
            ) {
                Ok(decision) => {
                    for (key, stored) in std::mem::take(&mut view.written) {
                        storage.set(&key, context.id(), stored).await;
                    }
                    return self.finish(&compiled, context, decision);
                }
                Err(Miss(key)) => {
                    let value = storage.get(&key, context.id()).await;
                    read.insert(key, value);
                }
            }
        }
    }

    /// Every feature's decision for the user, by key, reporting nothing: to bootstrap a front
    /// end, which may never show most of these flags (report the ones shown with
    /// [`Flags::get_flag`]). Counted, and sticky decisions stored, as `get_flag` does. With an
    /// async storage configured every flag answers [`Reason::StorageNeedsAsync`](crate::Reason::StorageNeedsAsync).
    pub fn all_flags(&self, context: &Context) -> BTreeMap<String, Flag> {
        let Some(compiled) = self.current() else {
            return BTreeMap::new();
        };
        let storage = self.storage_now();
        compiled
            .model
            .feature_keys()
            .map(|key| {
                let flag = match storage {
                    Some(storage) => {
                        decide_direct(
                            &compiled,
                            key,
                            context,
                            storage,
                            &*self.gateway,
                            Records::default(),
                        )
                        .flag
                    }
                    None => Flag::storage_needs_async(),
                };
                meter::record_decision(&flag);
                (key.to_owned(), flag)
            })
            .collect()
    }

    /// The id the settings give the feature `key`, if they define it.
    pub(crate) fn feature_id(&self, key: &str) -> Option<Value> {
        self.current()?.model.feature_id(key).cloned()
    }

    /// What a decision that is answered records: its impressions when there is a reporter.
    fn records(&self) -> Records {
        Records {
            impressions: self.reporter.is_enabled(),
            trace: false,
        }
    }

    /// What every answered decision does, sync or async: it is counted, and its impressions
    /// are queued.
    fn finish(&self, compiled: &Compiled, context: &Context, decision: Decision) -> Flag {
        meter::record_decision(&decision.flag);
        crate::events::impressions::report(&self.reporter, &compiled.model, context, &decision);
        decision.flag
    }
}

/// A decision with storage that answers at once (or none).
fn decide_direct(
    compiled: &Compiled,
    feature_key: &str,
    context: &Context,
    storage: Option<&dyn Storage>,
    gateway: &dyn Gateway,
    records: Records,
) -> Decision {
    let mut view = Direct {
        storage,
        user_id: context.id(),
    };
    match engine::decide(
        &compiled.model,
        feature_key,
        context,
        &mut view,
        &GatewayLists(gateway),
        records,
    ) {
        Ok(decision) => decision,
        // `Direct` never misses: it reads in place.
        Err(Miss(_)) => Decision {
            flag: Flag::invalid_settings(),
            impressions: Default::default(),
            replayed: 0,
            trace: Vec::new(),
        },
    }
}

/// What [`Flags::explain`] answers: the flag, and how the decision got there.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Explanation {
    /// The flag, as [`Flags::get_flag`] would answer it.
    pub flag: Flag,
    /// Each step: which rules were tried, which segment or traffic check failed, where the
    /// settings made the SDK throw.
    pub steps: Vec<String>,
}

/// Storage read and written in place.
struct Direct<'a> {
    storage: Option<&'a dyn Storage>,
    user_id: &'a str,
}

impl StorageView for Direct<'_> {
    fn get(&mut self, key: &str) -> Result<Option<StoredDecision>, Miss> {
        Ok(self.storage.and_then(|storage| storage.get(key, self.user_id)))
    }

    fn set(&mut self, key: &str, decision: StoredDecision) {
        if let Some(storage) = self.storage {
            storage.set(key, self.user_id, decision);
        }
    }

    fn remembers(&self) -> bool {
        self.storage.is_some()
    }
}

/// Storage as read so far by an async decision; writes are kept and read back within the run.
struct Replay<'a> {
    read: &'a HashMap<String, Option<StoredDecision>>,
    written: Vec<(String, StoredDecision)>,
}

impl StorageView for Replay<'_> {
    fn get(&mut self, key: &str) -> Result<Option<StoredDecision>, Miss> {
        if let Some((_, decision)) = self.written.iter().rev().find(|(k, _)| k == key) {
            return Ok(Some(decision.clone()));
        }
        self.read.get(key).cloned().ok_or_else(|| Miss(key.to_owned()))
    }

    fn set(&mut self, key: &str, decision: StoredDecision) {
        self.written.push((key.to_owned(), decision));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vwo_webhook_settings::replication::StoreWrite;

    /// Whether the model compiled so far is the one of `snapshot`, without compiling anything.
    fn compiled_from(flags: &Flags, snapshot: &Arc<Snapshot>) -> bool {
        flags
            .compiled
            .load()
            .as_ref()
            .and_then(|c| c.snapshot.as_ref())
            .is_some_and(|s| Arc::ptr_eq(s, snapshot))
    }

    /// `explain` is a diagnosis: it is not counted as a decision, `get_flag` is.
    #[test]
    fn explain_is_not_counted_as_a_decision() {
        use metrics_util::debugging::DebuggingRecorder;
        let flags = Flags::from_document(&serde_json::json!({
            "version": 1, "accountId": 1, "campaigns": [], "features": []
        }));
        let context = Context::new("u").expect("id");
        let counted = |decide: &dyn Fn()| {
            let recorder = DebuggingRecorder::new();
            let snapshotter = recorder.snapshotter();
            metrics::with_local_recorder(&recorder, decide);
            snapshotter
                .snapshot()
                .into_vec()
                .iter()
                .filter(|(key, ..)| key.key().name() == crate::telemetry::DECISIONS)
                .count()
        };
        assert_eq!(counted(&|| drop(flags.explain("f", &context))), 0);
        assert_eq!(counted(&|| drop(flags.get_flag("f", &context))), 1);
    }

    #[tokio::test]
    async fn the_follower_compiles_each_new_snapshot_before_a_decision_asks() {
        let store = Arc::new(SettingsStore::new());
        let flags = Flags::builder().follow(Arc::clone(&store));
        let document = r#"{"version": 2, "accountId": 1, "campaigns": [], "features": []}"#;
        let parsed = Snapshot::parse(
            document.into(),
            vwo_webhook_settings::Check::Update,
            vwo_webhook_settings::Source::Origin,
            None,
            std::time::SystemTime::now(),
        )
        .expect("valid");
        store.publish(parsed);
        let published = store.current().expect("published");
        for _ in 0..100 {
            if compiled_from(&flags, &published) {
                return;
            }
            tokio::task::yield_now().await;
        }
        panic!("the follower did not compile the new snapshot");
    }
}
