//! The fleet's Lua scripts (in `src/lua/`), and the one place that writes each one's keys
//! and arguments, in the order the script reads them.

use std::time::{Duration, SystemTime};

use redis::{Script, ScriptInvocation};

use crate::keys::{Keys, millis, new_epoch};

/// `current_epoch(new)`, which the scripts on the state hash start with: a hash that a Redis
/// restart emptied, or a failover promoted another server for, gets a new epoch.
const EPOCH: &str = include_str!("lua/epoch.lua");

/// Takes a ticket: the counter's next value, and the epoch it belongs to (a ticket from
/// before a Redis restart or a failover is recognised as meaningless).
const TICKET: &str = include_str!("lua/ticket.lua");

/// Records the result of a fetch that started when the counter stood at `covered`, then
/// announces it. A result is recorded only if no fetch that started later was recorded
/// first, so the revision only moves forward and a slow fetcher whose lock expired cannot
/// overwrite a newer document. Returns `{recorded, revision}`: 1 recorded, 0 a later fetch
/// was recorded first, 2 the fetch began in an earlier epoch.
///
/// Its keys and arguments are written by [`Scripts::record`].
const RECORD: &str = include_str!("lua/record.lua");

/// Releases the lock only if this replica still holds it (compare-and-delete).
const UNLOCK: &str = include_str!("lua/unlock.lua");

/// What a fetch found, to record for the fleet.
#[derive(Debug)]
pub(crate) enum Fetched<'a> {
    New {
        raw: &'a [u8],
        etag: Option<&'a str>,
        check: &'a str,
        fetched_at: SystemTime,
    },
    Unchanged {
        etag: &'a str,
    },
    Failed {
        permanent: bool,
        message: &'a str,
        retry_after: Option<Duration>,
    },
}

/// What became of a fetch's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Recorded {
    /// Stored; the fleet's revision is now this.
    Stored(u64),
    /// Not stored: a fetch that started later was recorded first.
    Superseded,
    /// Not stored: the fetch began in an earlier epoch, so it covers no ticket of this one.
    EarlierEpoch,
}

/// The scripts, loaded once (`EVALSHA`, falling back to `EVAL` on a Redis that lost them).
#[derive(Clone)]
pub(crate) struct Scripts {
    ticket: Script,
    record: Script,
    unlock: Script,
}

impl Scripts {
    pub(crate) fn new() -> Self {
        Self {
            ticket: Script::new(&format!("{EPOCH}\n{TICKET}")),
            record: Script::new(&format!("{EPOCH}\n{RECORD}")),
            unlock: Script::new(UNLOCK),
        }
    }

    /// `ticket.lua`: KEYS[1] the hash; ARGV[1] the epoch a new hash (or a new master) gets.
    pub(crate) fn ticket(&self, keys: &Keys) -> ScriptInvocation<'_> {
        let mut invocation = self.ticket.key(&keys.state);
        invocation.arg(new_epoch());
        invocation
    }

    /// `record.lua`: KEYS[1] the hash. ARGV[1] the fetch's epoch, [2] the counter when it
    /// started, [3] `new` | `unchanged` | `failed`, [4] the channel, [5] now in ms, [6] the
    /// epoch a new hash (or a new master) gets; then for `new` [7] the document, [8] its
    /// ETag, [9] its check, [10] when it was fetched, in ms; for `unchanged` [7] the ETag;
    /// for `failed` [7] `permanent` | `transient`, [8] the message, [9] retry-after in ms.
    pub(crate) fn record(
        &self,
        keys: &Keys,
        epoch: &str,
        covered: u64,
        outcome: &Fetched<'_>,
    ) -> ScriptInvocation<'_> {
        let mut invocation = self.record.key(&keys.state);
        invocation.arg(epoch).arg(covered).arg(match outcome {
            Fetched::New { .. } => "new",
            Fetched::Unchanged { .. } => "unchanged",
            Fetched::Failed { .. } => "failed",
        });
        invocation
            .arg(&keys.channel)
            .arg(millis(SystemTime::now()))
            .arg(new_epoch());
        match outcome {
            Fetched::New {
                raw,
                etag,
                check,
                fetched_at,
            } => invocation
                .arg(*raw)
                .arg(etag.unwrap_or(""))
                .arg(*check)
                .arg(millis(*fetched_at)),
            Fetched::Unchanged { etag } => invocation.arg(*etag),
            Fetched::Failed {
                permanent,
                message,
                retry_after,
            } => invocation
                .arg(if *permanent { "permanent" } else { "transient" })
                .arg(*message)
                .arg(retry_after.map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))),
        };
        invocation
    }

    /// `unlock.lua`: KEYS[1] the lock; ARGV[1] the holder's token.
    pub(crate) fn unlock(&self, keys: &Keys, token: &str) -> ScriptInvocation<'_> {
        let mut invocation = self.unlock.key(&keys.lock);
        invocation.arg(token);
        invocation
    }
}
