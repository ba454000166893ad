//! The hash of the maps and sets a compiled settings file keeps (feature keys, campaign keys
//! and ids, shared texts): foldhash's fast hash with a fixed seed. The keys come from the
//! settings and the lookups are on every compile's and decision's path, where SipHash's
//! flood resistance buys nothing and its cost per short key shows.

use std::collections::{HashMap, HashSet};

use foldhash::fast::FixedState;

/// A map hashed with foldhash.
pub(super) type FastMap<K, V> = HashMap<K, V, FixedState>;

/// A set hashed with foldhash.
pub(super) type FastSet<T> = HashSet<T, FixedState>;
