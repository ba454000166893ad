//! The bounded queue between decisions and the dispatcher: a push is O(1) and never waits
//! for I/O; past the bound (a count of events, and about their bytes) the oldest event is
//! dropped. Pure: the dispatcher's task and the
//! flush waiters read it under one lock.

use std::collections::VecDeque;

use crate::events::payload::Pending;

/// What a push did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pushed {
    /// Queued; this many now wait.
    Queued(usize),
    /// Queued, and the oldest waiting event was dropped to make room.
    DroppedOldest,
    /// Refused: reporting has shut down.
    Closed,
}

/// What happened to the events, kept under the queue's lock (published to the metrics by the
/// task, so a push does not go through the metrics registry).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) queued: u64,
    pub(crate) sent: u64,
    pub(crate) retried: u64,
    pub(crate) overflow: u64,
    pub(crate) rejected: u64,
    /// Refused after a shutdown, or still unsent when its time ran out.
    pub(crate) shutdown: u64,
}

/// The events waiting, numbered in the order they came.
#[derive(Debug)]
pub(crate) struct Queue {
    events: VecDeque<(u64, Pending)>,
    capacity: usize,
    /// About the bytes the waiting events hold ([`Pending::weight`]), and its bound.
    bytes: usize,
    capacity_bytes: usize,
    next: u64,
    /// The number of the oldest event the dispatcher has taken and not settled yet.
    in_hand: Option<u64>,
    /// Everything numbered below this is to be sent now (a flush, a tick, a shutdown).
    flush_to: u64,
    closed: bool,
    pub(crate) counts: Counts,
}

impl Queue {
    pub(crate) fn new(capacity: usize, capacity_bytes: usize) -> Self {
        Self {
            events: VecDeque::with_capacity(capacity.min(1024)),
            capacity: capacity.max(1),
            bytes: 0,
            capacity_bytes,
            next: 0,
            in_hand: None,
            flush_to: 0,
            closed: false,
            counts: Counts::default(),
        }
    }

    /// Queues `event`, of `weight` ([`Pending::weight`], which the caller may have worked out
    /// in part for several events at once).
    pub(crate) fn push(&mut self, event: Pending, weight: usize) -> Pushed {
        if self.closed {
            self.counts.shutdown += 1;
            return Pushed::Closed;
        }
        let mut dropped = 0;
        while self.events.len() >= self.capacity || self.bytes.saturating_add(weight) > self.capacity_bytes {
            if self.pop_front().is_none() {
                break; // an event over the whole bound on its own still waits, alone
            }
            dropped += 1;
        }
        self.bytes = self.bytes.saturating_add(weight);
        self.events.push_back((self.next, event));
        self.next += 1;
        self.counts.queued += 1;
        if dropped > 0 {
            self.counts.overflow += dropped;
            Pushed::DroppedOldest
        } else {
            Pushed::Queued(self.events.len())
        }
    }

    fn pop_front(&mut self) -> Option<(u64, Pending)> {
        let popped = self.events.pop_front()?;
        self.bytes = self.bytes.saturating_sub(popped.1.weight());
        Some(popped)
    }

    pub(crate) fn len(&self) -> usize {
        self.events.len()
    }

    /// Asks for everything queued so far to be sent now; the number to wait for.
    pub(crate) fn flush(&mut self) -> u64 {
        self.flush_to = self.flush_to.max(self.next);
        self.next
    }

    /// Whether something waiting is due now, by a flush.
    pub(crate) fn flush_due(&self) -> bool {
        self.events.front().is_some_and(|(n, _)| *n < self.flush_to)
    }

    /// Takes up to `max` events from the front (more where the last one's decision has more
    /// impressions: those are never split), all with the same collection prefix, and holds
    /// them until [`Queue::settle`].
    pub(crate) fn take(&mut self, max: usize) -> Vec<Pending> {
        let Some((first, head)) = self.events.front() else {
            return Vec::new();
        };
        let prefix = head.prefix.clone();
        self.in_hand = Some(*first);
        let mut taken = Vec::with_capacity(max.min(self.events.len()));
        while let Some((_, event)) = self.events.front()
            && event.prefix == prefix
            && (taken.len() < max
                || taken
                    .last()
                    .is_some_and(|last: &Pending| same_decision(last, event)))
        {
            if let Some((_, event)) = self.pop_front() {
                taken.push(event);
            }
        }
        if self.events.is_empty() {
            // Back to the start of the ring, whose lines are still in cache, rather than on
            // through all of it.
            self.events.clear();
        }
        taken
    }

    /// The events taken last are sent, refused or given up.
    pub(crate) fn settle(&mut self) {
        self.in_hand = None;
    }

    /// Every event numbered below this is settled (sent, refused, dropped).
    pub(crate) fn settled_below(&self) -> u64 {
        self.in_hand
            .or_else(|| self.events.front().map(|(n, _)| *n))
            .unwrap_or(self.next)
    }

    /// Refuses new events and asks for the rest to be sent.
    pub(crate) fn close(&mut self) {
        self.closed = true;
        self.flush();
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed
    }

    /// Gives up on everything still waiting; how many that was.
    pub(crate) fn clear(&mut self) -> usize {
        let count = self.events.len();
        self.events.clear();
        self.bytes = 0;
        count
    }
}

/// Whether `b`, queued right after `a`, goes in the same request (impressions of one decision).
pub(crate) fn same_decision(_: &Pending, b: &Pending) -> bool {
    b.continues
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Context;
    use crate::engine::ReportedId;
    use crate::events::payload::What;
    use serde_json::json;

    fn push(queue: &mut Queue, event: Pending) -> Pushed {
        let weight = event.weight();
        queue.push(event, weight)
    }

    fn event(n: u64) -> Pending {
        Pending {
            what: What::Shown {
                campaign_id: ReportedId::of(&json!(n)),
                variation_id: ReportedId::of(&json!(1)),
                vwo_user_id: None,
                feature_id: None,
            },
            context: Context::new(format!("u{n}")).expect("context"),
            at_ms: n,
            prefix: None,
            web_uuid: false,
            continues: false,
        }
    }

    #[test]
    fn past_the_bound_the_oldest_is_dropped() {
        let mut queue = Queue::new(3, usize::MAX);
        for n in 0..3 {
            assert_eq!(push(&mut queue, event(n)), Pushed::Queued(n as usize + 1));
        }
        assert_eq!(push(&mut queue, event(3)), Pushed::DroppedOldest);
        assert_eq!(queue.len(), 3);
        assert_eq!((queue.counts.queued, queue.counts.overflow), (4, 1));
        let taken = queue.take(10);
        assert_eq!(taken.iter().map(|e| e.at_ms).collect::<Vec<_>>(), [1, 2, 3]);
    }

    #[test]
    fn a_flush_waits_for_what_is_in_hand() {
        let mut queue = Queue::new(10, usize::MAX);
        for n in 0..4 {
            push(&mut queue, event(n));
        }
        let target = queue.flush();
        assert_eq!(target, 4);
        assert!(queue.flush_due());
        let first = queue.take(2);
        assert_eq!(first.len(), 2);
        assert_eq!(queue.settled_below(), 0, "the taken events are not settled");
        queue.settle();
        assert_eq!(queue.settled_below(), 2);
        push(&mut queue, event(4));
        let _ = queue.take(10);
        queue.settle();
        assert!(queue.settled_below() >= target);
        assert!(!queue.flush_due());
    }

    #[test]
    fn a_batch_holds_one_collection_prefix() {
        let mut queue = Queue::new(10, usize::MAX);
        push(&mut queue, event(0));
        let mut other = event(1);
        other.prefix = Some("eu01".into());
        push(&mut queue, other);
        push(&mut queue, event(2));
        assert_eq!(queue.take(10).len(), 1);
        queue.settle();
        assert_eq!(queue.take(10)[0].prefix.as_deref(), Some("eu01"));
    }

    #[test]
    fn a_closed_queue_refuses_new_events() {
        let mut queue = Queue::new(10, usize::MAX);
        push(&mut queue, event(0));
        queue.close();
        assert!(queue.is_closed());
        assert!(queue.flush_due());
        assert_eq!(push(&mut queue, event(1)), Pushed::Closed);
        assert_eq!(queue.counts.shutdown, 1);
        assert_eq!(queue.clear(), 1);
    }

    #[test]
    fn past_the_byte_bound_the_oldest_go_too() {
        let big = |n: u64| {
            let mut event = event(n);
            event.context = Context::new("u".repeat(60_000)).expect("a 60 KB id");
            event
        };
        let weight = big(0).weight();
        assert!(weight > 60_000, "{weight}");
        let mut queue = Queue::new(10_000, weight * 3);
        for n in 0..3 {
            assert_eq!(push(&mut queue, big(n)), Pushed::Queued(n as usize + 1));
        }
        assert_eq!(push(&mut queue, big(3)), Pushed::DroppedOldest);
        assert_eq!(queue.len(), 3);
        assert_eq!(queue.counts.overflow, 1);
        // Small events fit many at a time where one large one was.
        let small = event(4).weight();
        assert!(small < 1_000, "{small}");
        let taken = queue.take(10);
        assert_eq!(taken.iter().map(|e| e.at_ms).collect::<Vec<_>>(), [1, 2, 3]);
        queue.settle();
        for n in 0..100 {
            assert!(matches!(push(&mut queue, event(n)), Pushed::Queued(_)));
        }
    }
}
