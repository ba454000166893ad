//! What a service names when it mounts a receiver, whatever the framework: every adapter
//! crate re-exports this module (`pub use vwo_webhook::prelude::*`), so one list serves them
//! all and an adapter is the only dependency a service needs.

pub use crate::{
    AckPolicy, Delivery, Keyring, Probe, Probes, Receiver, ReceiverBuilder, Refresh, RefreshError, Response,
    RetryPolicy, Secret, SettingsChanged, Trigger,
};
