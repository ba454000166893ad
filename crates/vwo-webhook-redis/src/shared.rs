//! What the fleet keeps in Redis, and the only code that sends it commands (the scripts'
//! arguments are written in [`crate::scripts`]).
//!
//! One hash holds everything a replica needs to agree with the others: the document, its
//! revision, the ticket counter and the last result. Keeping them in one key means they
//! share fate (a Redis that lost the document also lost the counter, and says so with a new
//! epoch) and one Cluster slot. Every write is a script, so a reader never sees half of one.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use redis::AsyncCommands;

use crate::deployment::Connection;
use crate::keys::Keys;
use crate::scripts::{Fetched, Recorded, Scripts};

/// A ticket taken on a delivery's behalf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ticket {
    pub(crate) number: u64,
    pub(crate) epoch: String,
}

/// The small fields of the hash: enough to decide, without the document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Head {
    pub(crate) epoch: Option<String>,
    pub(crate) revision: u64,
    pub(crate) covered: u64,
    pub(crate) etag: Option<String>,
    pub(crate) checked_ms: u64,
    /// When the last result (of any kind) was recorded.
    pub(crate) recorded_ms: u64,
    /// The counter when it was recorded: a refresh whose ticket is at most this saw a
    /// fetch end after it began.
    pub(crate) recorded_ticket: u64,
    pub(crate) failure: Option<StoredFailure>,
}

/// The last failed fetch recorded for the fleet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredFailure {
    pub(crate) ticket: u64,
    pub(crate) permanent: bool,
    pub(crate) message: String,
    pub(crate) retry_after: Option<Duration>,
}

/// The document as the fleet stores it.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    pub(crate) epoch: String,
    pub(crate) revision: u64,
    pub(crate) raw: Bytes,
    pub(crate) etag: Option<String>,
    pub(crate) check: String,
    pub(crate) fetched_at: SystemTime,
    pub(crate) checked_at: SystemTime,
}

/// The fleet's Redis: one multiplexed, self-reconnecting connection and the scripts.
#[derive(Clone)]
pub(crate) struct Shared {
    connection: Connection,
    keys: Keys,
    scripts: Scripts,
}

impl Shared {
    pub(crate) fn new(connection: Connection, keys: Keys) -> Self {
        Self {
            connection,
            keys,
            scripts: Scripts::new(),
        }
    }

    pub(crate) fn keys(&self) -> &Keys {
        &self.keys
    }

    pub(crate) async fn take_ticket(&self) -> redis::RedisResult<Ticket> {
        let (number, epoch): (u64, String) = self
            .scripts
            .ticket(&self.keys)
            .invoke_async(&mut self.connection.clone())
            .await?;
        Ok(Ticket { number, epoch })
    }

    /// The counter's current value: what a fetch starting now covers.
    pub(crate) async fn counter(&self) -> redis::RedisResult<u64> {
        let value: Option<u64> = self.connection.clone().hget(&self.keys.state, "ticket").await?;
        Ok(value.unwrap_or(0))
    }

    pub(crate) async fn head(&self) -> redis::RedisResult<Head> {
        type Fields = (
            Option<String>,
            Option<u64>,
            Option<u64>,
            Option<String>,
            Option<u64>,
            Option<u64>,
            Option<u64>,
            Option<u64>,
            Option<String>,
            Option<String>,
            Option<u64>,
        );
        let (
            epoch,
            revision,
            covered,
            etag,
            checked_ms,
            recorded_ms,
            recorded_ticket,
            failed_ticket,
            failed_kind,
            failed_message,
            retry_ms,
        ): Fields = redis::cmd("HMGET")
            .arg(&self.keys.state)
            .arg(&[
                "epoch",
                "revision",
                "covered",
                "etag",
                "checked_ms",
                "recorded_ms",
                "recorded_ticket",
                "failed_ticket",
                "failed_kind",
                "failed_message",
                "failed_retry_ms",
            ])
            .query_async(&mut self.connection.clone())
            .await?;
        let failure = failed_ticket.map(|ticket| StoredFailure {
            ticket,
            permanent: failed_kind.as_deref() == Some("permanent"),
            message: failed_message.unwrap_or_default(),
            retry_after: retry_ms.filter(|ms| *ms > 0).map(Duration::from_millis),
        });
        Ok(Head {
            epoch,
            revision: revision.unwrap_or(0),
            covered: covered.unwrap_or(0),
            etag: etag.filter(|etag| !etag.is_empty()),
            checked_ms: checked_ms.unwrap_or(0),
            recorded_ms: recorded_ms.unwrap_or(0),
            recorded_ticket: recorded_ticket.unwrap_or(0),
            failure,
        })
    }

    /// The stored document, if there is one.
    pub(crate) async fn document(&self) -> redis::RedisResult<Option<Stored>> {
        type Fields = (
            Option<String>,
            Option<u64>,
            Option<Vec<u8>>,
            Option<String>,
            Option<String>,
            Option<u64>,
            Option<u64>,
        );
        let (epoch, revision, raw, etag, check, fetched_ms, checked_ms): Fields = redis::cmd("HMGET")
            .arg(&self.keys.state)
            .arg(&[
                "epoch",
                "revision",
                "raw",
                "etag",
                "check",
                "fetched_ms",
                "checked_ms",
            ])
            .query_async(&mut self.connection.clone())
            .await?;
        let (Some(epoch), Some(revision), Some(raw)) = (epoch, revision, raw) else {
            return Ok(None);
        };
        Ok(Some(Stored {
            epoch,
            revision,
            raw: Bytes::from(raw),
            etag: etag.filter(|etag| !etag.is_empty()),
            check: check.unwrap_or_default(),
            fetched_at: from_millis(fetched_ms.unwrap_or(0)),
            checked_at: from_millis(checked_ms.unwrap_or(0)),
        }))
    }

    /// Records a fetch's result and announces it.
    pub(crate) async fn record(
        &self,
        epoch: &str,
        covered: u64,
        outcome: &Fetched<'_>,
    ) -> redis::RedisResult<Recorded> {
        let invocation = self.scripts.record(&self.keys, epoch, covered, outcome);
        let (recorded, revision): (u8, u64) = invocation.invoke_async(&mut self.connection.clone()).await?;
        Ok(match recorded {
            1 => Recorded::Stored(revision),
            2 => Recorded::EarlierEpoch,
            _ => Recorded::Superseded,
        })
    }

    /// Takes the fleet's fetch lock for `ttl` if it is free; `token` proves ownership later.
    pub(crate) async fn try_lock(&self, token: &str, ttl: Duration) -> redis::RedisResult<bool> {
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let set: Option<String> = redis::cmd("SET")
            .arg(&self.keys.lock)
            .arg(token)
            .arg("NX")
            .arg("PX")
            .arg(ttl_ms)
            .query_async(&mut self.connection.clone())
            .await?;
        Ok(set.is_some())
    }

    /// Removes the fetch lock if it was taken in another epoch than `epoch`: one replicated
    /// from a master that a failover replaced (Redis replicates the key with its expiry), whose
    /// holder's fetch is recorded nowhere now. Left alone, it would hold every replica of the
    /// new epoch until it expires. `true` when it removed one.
    pub(crate) async fn clear_stale_lock(&self, epoch: &str) -> redis::RedisResult<bool> {
        let held: Option<String> = redis::cmd("GET")
            .arg(&self.keys.lock)
            .query_async(&mut self.connection.clone())
            .await?;
        match held {
            Some(token) if !token.starts_with(&format!("{epoch}/")) => {
                // Compare-and-delete: a lock taken meanwhile is not touched.
                self.unlock(&token).await?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    pub(crate) async fn unlock(&self, token: &str) -> redis::RedisResult<()> {
        let _: i64 = self
            .scripts
            .unlock(&self.keys, token)
            .invoke_async(&mut self.connection.clone())
            .await?;
        Ok(())
    }
}

fn from_millis(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

/// A notice on the channel: `epoch:revision:outcome`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Notice {
    pub(crate) epoch: String,
    pub(crate) revision: u64,
}

impl Notice {
    pub(crate) fn parse(payload: &str) -> Option<Self> {
        let mut parts = payload.splitn(3, ':');
        let epoch = parts.next()?.to_owned();
        let revision = parts.next()?.parse().ok()?;
        Some(Self { epoch, revision })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_names_the_epoch_and_revision() {
        assert_eq!(
            Notice::parse("00ff:12:new"),
            Some(Notice {
                epoch: "00ff".to_owned(),
                revision: 12
            })
        );
        assert_eq!(Notice::parse("00ff:x:new"), None);
        assert_eq!(Notice::parse("garbage"), None);
    }
}
