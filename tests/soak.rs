//! The soak's plan and its judge, without I/O: when each fault happens in a run, and what
//! the run's record must satisfy. The runner (`soak_run.rs`, `cargo xtask soak`) does the
//! I/O: replica processes, Redis, the origin, the deliveries.

use std::time::Duration;

/// What the run does at a moment, by its share of the whole run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Redis is stopped (and restarted empty at the end of the window).
    RedisDown,
    /// The origin answers 500.
    OriginFailing,
    /// The origin answers after 1 s.
    OriginSlow,
}

/// Which webhook keys the replicas accept, and which one VWO sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keys {
    /// The old key only.
    Old,
    /// Both, VWO sending the new one: a rotation under way.
    Both,
    /// The new key only: the old one must be refused.
    New,
}

/// A run's plan: faults in the middle, calm at the end so every replica can converge.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    total: Duration,
}

/// The windows, as shares of the run: `(from, to, fault)`.
const FAULTS: [(f64, f64, Fault); 5] = [
    (0.15, 0.22, Fault::RedisDown),
    (0.30, 0.36, Fault::OriginFailing),
    (0.42, 0.48, Fault::OriginSlow),
    (0.52, 0.58, Fault::RedisDown),
    (0.62, 0.68, Fault::OriginFailing),
];

/// When the faults are over: the last quarter is calm.
const CALM_FROM: f64 = 0.75;

impl Schedule {
    /// A run of `total`.
    pub fn new(total: Duration) -> Self {
        Self { total }
    }

    /// The run's length.
    pub fn total(&self) -> Duration {
        self.total
    }

    /// The fault active at `at`, if any.
    pub fn fault(&self, at: Duration) -> Option<Fault> {
        let share = self.share(at);
        FAULTS
            .iter()
            .find(|(from, to, _)| (*from..*to).contains(&share))
            .map(|(_, _, fault)| *fault)
    }

    /// The keys at `at`: a rotation begins at 40% and ends at 50%.
    pub fn keys(&self, at: Duration) -> Keys {
        match self.share(at) {
            share if share < 0.40 => Keys::Old,
            share if share < 0.50 => Keys::Both,
            _ => Keys::New,
        }
    }

    /// From when no fault is active.
    pub fn calm_from(&self) -> Duration {
        self.total.mul_f64(CALM_FROM)
    }

    /// When memory is first measured: after the start-up, before the faults.
    pub fn warm_at(&self) -> Duration {
        self.total.mul_f64(0.10)
    }

    fn share(&self, at: Duration) -> f64 {
        at.as_secs_f64() / self.total.as_secs_f64().max(f64::EPSILON)
    }
}

/// One delivery and what came of it.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// When it was sent, from the run's start.
    pub at: Duration,
    /// Whether it was part of a burst (many at once).
    pub burst: bool,
    /// The origin's fetch count when it was sent: every fetch that started later serves a
    /// version above it (the origin numbers its documents by fetch).
    pub fetches_before: u64,
    /// What the replica answered (0: no answer).
    pub status: u16,
    /// The version the replica served right after it answered 200.
    pub served_after: Option<u64>,
    /// Sent with a key the replicas no longer accept.
    pub retired_key: bool,
}

/// What a run recorded.
#[derive(Debug, Clone, Default)]
pub struct Record {
    /// Every delivery sent, in order.
    pub deliveries: Vec<Delivery>,
    /// The origin's fetch count at each whole second of the run.
    pub fetches_by_second: Vec<u64>,
    /// The newest version once the last delivery was acknowledged.
    pub newest: u64,
    /// What each replica served once the convergence bound had passed.
    pub converged: Vec<Option<u64>>,
    /// Each replica's resident memory (KiB) when warm and at the end.
    pub rss_kib: Vec<(u64, u64)>,
    /// Everything the replicas logged.
    pub logs: String,
    /// The secrets that must not be in `logs`.
    pub secrets: Vec<String>,
    /// How many replicas there were.
    pub replicas: usize,
}

/// A broken promise, in words.
pub type Violation = String;

/// The figures a run reports, and what it broke.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Deliveries sent.
    pub deliveries: usize,
    /// Deliveries answered 200.
    pub acknowledged: usize,
    /// Bursts sent.
    pub bursts: usize,
    /// Fetches the origin answered over the run.
    pub fetches: u64,
    /// The most fetches in one minute of the run, and that minute's bound.
    pub busiest_minute: u64,
    /// The bound of the busiest minute.
    pub busiest_minute_bound: u64,
    /// The largest growth of a replica's resident memory, as a share.
    pub worst_rss_growth: f64,
    /// The promises broken.
    pub violations: Vec<Violation>,
}

/// Judges a run against the soak's invariants.
pub fn check(record: &Record, schedule: &Schedule) -> Report {
    let mut report = Report {
        deliveries: record.deliveries.len(),
        acknowledged: record.deliveries.iter().filter(|d| d.status == 200).count(),
        bursts: bursts(record),
        fetches: record.fetches_by_second.last().copied().unwrap_or(0),
        ..Report::default()
    };
    let violations = &mut report.violations;

    // Every 200 was backed by a fetch that started after the delivery arrived.
    for delivery in &record.deliveries {
        if delivery.status == 200 {
            match delivery.served_after {
                Some(served) if served > delivery.fetches_before => {}
                served => violations.push(format!(
                    "a delivery at {:.1?} was answered 200 while its replica served {served:?}, \
                     not a version fetched after it (above {})",
                    delivery.at, delivery.fetches_before
                )),
            }
        }
        if delivery.retired_key && delivery.status != 401 {
            violations.push(format!(
                "a delivery with the retired key at {:.1?} was answered {}, not 401",
                delivery.at, delivery.status
            ));
        }
    }

    // Once the faults stop, every replica serves the newest version.
    for (replica, served) in record.converged.iter().enumerate() {
        if *served != Some(record.newest) {
            violations.push(format!(
                "replica {replica} served {served:?} after the faults, not the newest version {}",
                record.newest
            ));
        }
    }

    // Fetches per minute stay within what the deliveries and faults of that minute allow.
    let seconds = record.fetches_by_second.len();
    for start in (0..seconds).step_by(60) {
        let end = (start + 60).min(seconds.saturating_sub(1));
        let fetched = record.fetches_by_second[end] - record.fetches_by_second[start];
        let bound = minute_bound(
            record,
            schedule,
            Duration::from_secs(start as u64),
            Duration::from_secs(end as u64),
        );
        if fetched > report.busiest_minute {
            report.busiest_minute = fetched;
            report.busiest_minute_bound = bound;
        }
        if fetched > bound {
            violations.push(format!(
                "{fetched} fetches from the origin in the minute from {start} s, above the bound of {bound}"
            ));
        }
    }

    // Memory is flat.
    for (replica, (warm, end)) in record.rss_kib.iter().enumerate() {
        let growth = (*end as f64 - *warm as f64) / (*warm).max(1) as f64;
        report.worst_rss_growth = report.worst_rss_growth.max(growth);
        if growth >= 0.10 {
            violations.push(format!(
                "replica {replica}'s memory grew {:.0}% ({warm} KiB warm, {end} KiB at the end)",
                growth * 100.0
            ));
        }
    }

    // No secret in any log.
    for secret in &record.secrets {
        if !secret.is_empty() && record.logs.contains(secret.as_str()) {
            violations.push("a secret appears in a replica's log".to_owned());
        }
    }
    report
}

/// How many fetches the minute `[from, to)` may cost: one per delivery not in a burst (each
/// may need a fetch of its own, and while Redis is down each replica fetches alone), two per
/// burst (the fleet gathers a burst into one fetch, and one more may be under way; two per
/// replica while Redis is down, when each gathers its own share), the
/// coordinator's retry schedule for each replica while the origin fails (at most 7 attempts
/// a minute), and a start or catch-up fetch per replica for each Redis outage.
pub fn minute_bound(record: &Record, schedule: &Schedule, from: Duration, to: Duration) -> u64 {
    let within = |at: Duration| at >= from && at < to;
    let single = record
        .deliveries
        .iter()
        .filter(|d| !d.burst && within(d.at))
        .count() as u64;
    let replicas = record.replicas as u64;
    let bursts: u64 = burst_starts(record)
        .filter(|at| within(*at))
        .map(|at| match schedule.fault(at) {
            Some(Fault::RedisDown) => 2 * replicas,
            _ => 2,
        })
        .sum();
    let mut seconds = Vec::new();
    let mut second = from;
    while second < to {
        seconds.push(schedule.fault(second));
        second += Duration::from_secs(1);
    }
    let failing = seconds.contains(&Some(Fault::OriginFailing));
    let outages = seconds
        .windows(2)
        .filter(|pair| pair[0] != Some(Fault::RedisDown) && pair[1] == Some(Fault::RedisDown))
        .count() as u64;
    let start = if from.is_zero() { replicas } else { 0 };
    single + bursts + if failing { 7 * replicas } else { 0 } + replicas * outages + start
}

fn burst_starts(record: &Record) -> impl Iterator<Item = Duration> + '_ {
    let mut last = None;
    record.deliveries.iter().filter(|d| d.burst).filter_map(move |d| {
        let new = last.is_none_or(|at: Duration| d.at > at + Duration::from_millis(500));
        last = Some(d.at);
        new.then_some(d.at)
    })
}

fn bursts(record: &Record) -> usize {
    burst_starts(record).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn delivery(at: u64, fetches_before: u64, status: u16, served_after: Option<u64>) -> Delivery {
        Delivery {
            at: secs(at),
            burst: false,
            fetches_before,
            status,
            served_after,
            retired_key: false,
        }
    }

    fn calm_record() -> Record {
        Record {
            deliveries: vec![delivery(1, 1, 200, Some(2)), delivery(2, 2, 503, None)],
            fetches_by_second: vec![1, 2, 2, 2],
            newest: 2,
            converged: vec![Some(2), Some(2)],
            rss_kib: vec![(10_000, 10_500), (10_000, 10_000)],
            logs: "INFO refreshed".into(),
            secrets: vec!["s3cret".into()],
            replicas: 2,
        }
    }

    #[test]
    fn the_schedule_is_calm_at_the_start_and_the_end_and_rotates_keys_in_the_middle() {
        let schedule = Schedule::new(secs(100));
        assert_eq!(schedule.fault(secs(5)), None);
        assert_eq!(schedule.fault(secs(16)), Some(Fault::RedisDown));
        assert_eq!(schedule.fault(secs(33)), Some(Fault::OriginFailing));
        assert_eq!(schedule.fault(secs(45)), Some(Fault::OriginSlow));
        assert!((75..100).all(|s| schedule.fault(secs(s)).is_none()));
        assert_eq!(schedule.calm_from(), secs(75));
        assert_eq!(
            [
                schedule.keys(secs(10)),
                schedule.keys(secs(45)),
                schedule.keys(secs(60))
            ],
            [Keys::Old, Keys::Both, Keys::New]
        );
    }

    #[test]
    fn a_calm_run_that_kept_every_promise_has_no_violation() {
        let report = check(&calm_record(), &Schedule::new(secs(4)));
        assert!(report.violations.is_empty(), "{:?}", report.violations);
        assert_eq!(
            (report.deliveries, report.acknowledged, report.fetches),
            (2, 1, 2)
        );
    }

    #[test]
    fn a_200_served_by_a_fetch_from_before_the_delivery_is_a_violation() {
        let mut record = calm_record();
        record.deliveries[0].served_after = Some(1);
        let report = check(&record, &Schedule::new(secs(4)));
        assert_eq!(report.violations.len(), 1, "{:?}", report.violations);
        assert!(report.violations[0].contains("answered 200"));
    }

    #[test]
    fn a_replica_behind_after_the_faults_is_a_violation() {
        let mut record = calm_record();
        record.converged[1] = Some(1);
        assert!(check(&record, &Schedule::new(secs(4))).violations[0].contains("replica 1"));
    }

    #[test]
    fn the_retired_key_must_be_refused() {
        let mut record = calm_record();
        record.deliveries.push(Delivery {
            retired_key: true,
            ..delivery(3, 2, 200, Some(3))
        });
        let report = check(&record, &Schedule::new(secs(4)));
        assert!(
            report.violations.iter().any(|v| v.contains("retired key")),
            "{:?}",
            report.violations
        );
    }

    #[test]
    fn more_fetches_than_the_minute_allows_is_a_violation() {
        let mut record = calm_record();
        // Two deliveries and two replicas starting: a bound of 4; 9 fetches break it.
        record.fetches_by_second = vec![0, 3, 6, 9];
        let report = check(&record, &Schedule::new(secs(4)));
        assert_eq!(report.busiest_minute, 9);
        assert_eq!(report.busiest_minute_bound, 4);
        assert!(report.violations.iter().any(|v| v.contains("above the bound")));
    }

    #[test]
    fn memory_growing_a_tenth_is_a_violation() {
        let mut record = calm_record();
        record.rss_kib[0] = (10_000, 11_000);
        let report = check(&record, &Schedule::new(secs(4)));
        assert!(
            report.violations.iter().any(|v| v.contains("memory grew 10%")),
            "{:?}",
            report.violations
        );
    }

    #[test]
    fn a_secret_in_a_log_is_a_violation_that_does_not_repeat_it() {
        let mut record = calm_record();
        record.logs.push_str("key=s3cret");
        let report = check(&record, &Schedule::new(secs(4)));
        assert_eq!(
            report.violations,
            vec!["a secret appears in a replica's log".to_owned()]
        );
    }

    #[test]
    fn a_burst_counts_once_in_the_bound() {
        let mut record = calm_record();
        record.deliveries = (0..40)
            .map(|n| Delivery {
                burst: true,
                at: Duration::from_millis(1000 + n),
                ..delivery(0, 1, 200, Some(2))
            })
            .collect();
        let schedule = Schedule::new(secs(4));
        assert_eq!(bursts(&record), 1);
        assert_eq!(minute_bound(&record, &schedule, secs(0), secs(3)), 2 + 2);
    }
}
