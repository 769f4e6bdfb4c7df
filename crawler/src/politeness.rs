//! Per-host politeness: how often and how many at once requests go to one host, and
//! backing off a host that asked us to. Every request of the [`crate::fetch::Fetcher`]
//! passes through here, whichever source or page it is for.
//!
//! A "host" is an origin: scheme, host and port, the scope RFC 9309 gives robots.txt.
//! `http://a.test` and `https://a.test` are two hosts, and so are two local servers on
//! different ports of 127.0.0.1.
//!
//! The rules for one host, shared by every source on it and by every clone of the fetcher:
//! - at most `host_concurrency` requests are in flight at once;
//! - a request starts at least `interval` after the previous one to the host started, and
//!   at least `interval` after the end of every earlier one that had ended when its turn
//!   came. At the default concurrency of 1 that is always the previous request, so the
//!   host sees a quiet gap of `interval` between one response and the next request, however
//!   slow the network was;
//! - `interval` is the slowest of: the interval this request asks for (its source's, else
//!   `host_interval`), the slowest one asked for on this host in the last
//!   [`SLOWEST_REMEMBERED`] (so when sources on one host ask for different rates, the
//!   slowest wins for all of them), and robots.txt's Crawl-delay (capped, see
//!   [`crate::robots::MAX_CRAWL_DELAY`]);
//! - after a 429 or 503 with `Retry-After`, no request starts before that time (capped
//!   at [`MAX_HOST_BACKOFF`]). A request whose turn would come more than
//!   `max_backoff_wait` later fails at once with the time left, so its source is
//!   rescheduled instead of holding a crawl slot.
//!
//! The decisions are made by [`HostSchedule`], a pure value tested with given times; the
//! waiting uses tokio's clock (so tests can pause it).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// How long the slowest interval asked for on a host keeps applying to the others after
/// it was last asked for.
pub const SLOWEST_REMEMBERED: Duration = Duration::from_secs(24 * 3600);

/// The longest a server's `Retry-After` keeps Earshot away from the whole host.
pub const MAX_HOST_BACKOFF: Duration = Duration::from_secs(24 * 3600);

/// Politeness settings, shared by every request of a fetcher.
#[derive(Debug, Clone)]
pub struct PolitenessLimits {
    /// The least time between requests to one host, unless a request asks for another
    /// (`[crawler] host_interval`; default 1 s; zero turns the rate limit off).
    pub host_interval: Duration,
    /// Requests in flight to one host at most (`[crawler] host_concurrency`; default 1).
    pub host_concurrency: usize,
    /// Fetch and obey robots.txt (`[crawler] respect_robots`; default true).
    pub respect_robots: bool,
    /// How long a robots.txt that was read (or a 4xx) is trusted. Default 24 h.
    pub robots_ttl: Duration,
    /// After robots.txt could not be read (5xx, no answer), how long everything on the host
    /// stays disallowed before robots.txt is fetched again. Default 5 minutes.
    pub robots_retry: Duration,
    /// A request waits for a host's Retry-After backoff at most this long; a longer one
    /// fails it at once with [`crate::fetch::FetchError::HostBackoff`]. Default 30 s.
    pub max_backoff_wait: Duration,
    /// Hosts remembered at most, beyond those in use (their schedule, backoff and
    /// robots.txt). When full, idle hosts are forgotten. Default 10,000.
    pub max_hosts: usize,
}

impl Default for PolitenessLimits {
    fn default() -> Self {
        Self {
            host_interval: Duration::from_secs(1),
            host_concurrency: 1,
            respect_robots: true,
            robots_ttl: crate::robots::ROBOTS_TTL,
            robots_retry: Duration::from_secs(300),
            max_backoff_wait: Duration::from_secs(30),
            max_hosts: 10_000,
        }
    }
}

impl PolitenessLimits {
    /// No waiting between requests and no per-host concurrency limit beyond `concurrency`,
    /// robots.txt still obeyed: for sites that are ours (tests, benchmarks, the demo).
    pub fn unthrottled(concurrency: usize) -> Self {
        Self {
            host_interval: Duration::ZERO,
            host_concurrency: concurrency.max(1),
            ..Self::default()
        }
    }
}

/// What one request asks of politeness beyond the fetcher's defaults.
#[derive(Debug, Clone, Default)]
pub struct RequestRules {
    /// This request's least interval to the previous one on its host (a source's own
    /// rate), instead of `host_interval`. The slowest one asked for on a host wins for all
    /// requests to it (see the module docs).
    pub min_interval: Option<Duration>,
}

/// A host, for politeness and robots.txt: a URL's origin (scheme, host, port).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostKey(url::Origin);

impl HostKey {
    /// The host of an http(s) URL; `None` for URLs without one (`data:`, `file:`).
    pub fn of(url: &url::Url) -> Option<Self> {
        match url.origin() {
            origin @ url::Origin::Tuple(..) => Some(Self(origin)),
            url::Origin::Opaque(_) => None,
        }
    }

    /// `scheme://host[:port]`, as in error messages.
    pub fn display(&self) -> String {
        self.0.ascii_serialization()
    }

    /// The URL of this host's robots.txt.
    pub fn robots_url(&self) -> Option<url::Url> {
        url::Url::parse(&format!("{}/robots.txt", self.display())).ok()
    }
}

/// One host's request timing: the pure decisions behind the waiting.
#[derive(Debug, Clone)]
pub struct HostSchedule {
    /// The latest start reserved so far.
    last_start: Option<Instant>,
    /// The latest end of a request so far.
    last_end: Option<Instant>,
    /// No request starts before this (the server's Retry-After).
    backoff_until: Option<Instant>,
    /// The slowest interval asked for, and when it was last asked for.
    slowest: Option<(Duration, Instant)>,
}

impl HostSchedule {
    /// A host no request has gone to yet.
    pub fn new() -> Self {
        Self {
            last_start: None,
            last_end: None,
            backoff_until: None,
            slowest: None,
        }
    }

    /// The interval that applies to a request asking for `asked` at `now`, with the host's
    /// robots.txt Crawl-delay: the slowest of the two and of the slowest asked for in the
    /// last [`SLOWEST_REMEMBERED`]. Records the ask.
    pub fn interval_for(
        &mut self,
        asked: Duration,
        crawl_delay: Option<Duration>,
        now: Instant,
    ) -> Duration {
        let remembered = self
            .slowest
            .filter(|(_, at)| now.saturating_duration_since(*at) < SLOWEST_REMEMBERED);
        let slowest = match remembered {
            Some((slow, at)) if slow > asked => (slow, at),
            _ => (asked, now),
        };
        self.slowest = Some(slowest);
        slowest.0.max(crawl_delay.unwrap_or(Duration::ZERO))
    }

    /// When the host's Retry-After backoff ends, if it has not ended at `now`.
    pub fn backoff_until(&self, now: Instant) -> Option<Instant> {
        self.backoff_until.filter(|until| *until > now)
    }

    /// The earliest a request with `interval` may start, asked at `now`: not before `now`,
    /// the backoff's end, `interval` after the last start and `interval` after the last end.
    pub fn earliest_start(&self, interval: Duration, now: Instant) -> Instant {
        [
            Some(now),
            self.backoff_until,
            self.last_start.map(|s| s + interval),
            self.last_end.map(|e| e + interval),
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(now)
    }

    /// Records that a request will start at `at`.
    pub fn reserve(&mut self, at: Instant) {
        self.last_start = Some(self.last_start.map_or(at, |s| s.max(at)));
    }

    /// Records that a request ended at `at` (answered, failed or abandoned).
    pub fn finished(&mut self, at: Instant) {
        self.last_end = Some(self.last_end.map_or(at, |e| e.max(at)));
    }

    /// Keeps every request away from the host until `until` (a later backoff is never
    /// shortened by an earlier one).
    pub fn back_off(&mut self, until: Instant) {
        self.backoff_until = Some(self.backoff_until.map_or(until, |b| b.max(until)));
    }

    /// Whether forgetting this host at `now` loses nothing: no backoff is running and a
    /// new request would not have to wait for an earlier one.
    pub fn is_idle(&self, now: Instant) -> bool {
        let interval = self.slowest.map_or(Duration::ZERO, |(d, _)| d);
        self.backoff_until(now).is_none() && self.earliest_start(interval, now) <= now
    }
}

impl Default for HostSchedule {
    fn default() -> Self {
        Self::new()
    }
}

/// How long a 429 or 503 keeps Earshot away from its host: its Retry-After, capped at
/// [`MAX_HOST_BACKOFF`]. Other statuses, and a missing or zero Retry-After, do not back off.
pub fn host_backoff(status: u16, retry_after: Option<Duration>) -> Option<Duration> {
    match (status, retry_after) {
        (429 | 503, Some(wait)) if !wait.is_zero() => Some(wait.min(MAX_HOST_BACKOFF)),
        _ => None,
    }
}

/// One host's shared state: its schedule, its concurrency slots and its robots.txt.
pub(crate) struct Host {
    schedule: Mutex<HostSchedule>,
    slots: Arc<Semaphore>,
    /// The last robots.txt verdict; the async lock also makes sure one request at a time
    /// fetches it, so it is fetched once however many requests arrive together.
    pub(crate) robots: tokio::sync::Mutex<Option<crate::robots::RobotsEntry>>,
}

/// Why a request did not get its turn at a host.
#[derive(Debug)]
pub(crate) struct BackedOff {
    /// How long until the host's backoff ends.
    pub(crate) remaining: Duration,
}

/// A request's turn at a host: holds one of its concurrency slots. Dropping it (when the
/// response has been read, or the request failed or was abandoned) records the end.
pub(crate) struct Turn {
    host: Arc<Host>,
    _slot: OwnedSemaphorePermit,
}

impl Drop for Turn {
    fn drop(&mut self) {
        self.host.schedule().finished(Instant::now());
    }
}

impl Turn {
    /// Keeps the whole host away until `wait` from now (a 429 or 503's Retry-After).
    pub(crate) fn back_off(&self, wait: Duration) {
        self.host.schedule().back_off(Instant::now() + wait);
    }
}

impl Host {
    fn new(concurrency: usize) -> Self {
        Self {
            schedule: Mutex::new(HostSchedule::new()),
            slots: Arc::new(Semaphore::new(concurrency.max(1))),
            robots: tokio::sync::Mutex::new(None),
        }
    }

    fn schedule(&self) -> std::sync::MutexGuard<'_, HostSchedule> {
        self.schedule.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for this request's turn: a free slot, then the start time the schedule gives.
    /// Fails at once when the host's backoff ends more than `max_backoff_wait` from now.
    pub(crate) async fn turn(
        self: &Arc<Self>,
        asked: Duration,
        crawl_delay: Option<Duration>,
        max_backoff_wait: Duration,
    ) -> Result<Turn, BackedOff> {
        let check_backoff = |now: Instant| -> Result<(), BackedOff> {
            match self.schedule().backoff_until(now) {
                Some(until) if until - now > max_backoff_wait => Err(BackedOff {
                    remaining: until - now,
                }),
                _ => Ok(()),
            }
        };
        // Fail before queueing when the wait is known to be too long already.
        check_backoff(Instant::now())?;
        let slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .expect("a host's semaphore is never closed");
        loop {
            let now = Instant::now();
            check_backoff(now)?;
            let start = {
                let mut schedule = self.schedule();
                let interval = schedule.interval_for(asked, crawl_delay, now);
                let start = schedule.earliest_start(interval, now);
                schedule.reserve(start);
                start
            };
            tokio::time::sleep_until(start).await;
            // A backoff set while we slept (by a request in flight beside us) still holds.
            if self.schedule().backoff_until(Instant::now()).is_none() {
                return Ok(Turn {
                    host: self.clone(),
                    _slot: slot,
                });
            }
        }
    }

    /// Whether the table may forget this host at `now`: nobody holds it (checked by the
    /// caller), its schedule is idle and its robots.txt is not in a "retry later" state.
    fn is_forgettable(&self, now: Instant) -> bool {
        let robots_settled = match self.robots.try_lock() {
            Ok(entry) => !entry.as_ref().is_some_and(|e| {
                matches!(e.policy, crate::robots::RobotsPolicy::DisallowAll { .. })
                    && e.is_fresh(now)
            }),
            Err(_) => false,
        };
        robots_settled && self.schedule().is_idle(now)
    }
}

/// Every host's state, bounded: at most `max_hosts` are kept, plus any in use.
pub(crate) struct Hosts {
    limits: PolitenessLimits,
    table: Mutex<HashMap<HostKey, Arc<Host>>>,
}

impl std::fmt::Debug for Hosts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let known = self.table.lock().map(|t| t.len()).unwrap_or_default();
        f.debug_struct("Hosts")
            .field("limits", &self.limits)
            .field("known", &known)
            .finish()
    }
}

impl Hosts {
    pub(crate) fn new(limits: PolitenessLimits) -> Self {
        Self {
            limits,
            table: Mutex::new(HashMap::new()),
        }
    }

    /// The politeness settings.
    pub(crate) fn limits(&self) -> &PolitenessLimits {
        &self.limits
    }

    /// The state of `key`'s host, made when first seen. When the table is full, hosts
    /// nobody is using and whose schedule is idle are forgotten first; if none is, the
    /// table grows past `max_hosts` (by at most the requests in flight).
    pub(crate) fn host(&self, key: &HostKey) -> Arc<Host> {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(host) = table.get(key) {
            return host.clone();
        }
        if table.len() >= self.limits.max_hosts {
            let now = Instant::now();
            table.retain(|_, host| Arc::strong_count(host) > 1 || !host.is_forgettable(now));
        }
        let host = Arc::new(Host::new(self.limits.host_concurrency));
        table.insert(key.clone(), host.clone());
        host
    }

    /// How many hosts are remembered now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.table.lock().unwrap().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn requests_start_an_interval_after_the_last_start_and_the_last_end() {
        let t0 = Instant::now();
        let mut s = HostSchedule::new();
        let i = s.interval_for(200 * MS, None, t0);
        assert_eq!(i, 200 * MS);
        assert_eq!(
            s.earliest_start(i, t0),
            t0,
            "the first request goes at once"
        );
        s.reserve(t0);
        assert_eq!(s.earliest_start(i, t0), t0 + 200 * MS);
        // A slow response pushes the next start to an interval after it ended.
        s.finished(t0 + 500 * MS);
        assert_eq!(s.earliest_start(i, t0 + 500 * MS), t0 + 700 * MS);
        // Asked late, a request may go at once.
        assert_eq!(s.earliest_start(i, t0 + 10_000 * MS), t0 + 10_000 * MS);
    }

    #[test]
    fn the_slowest_interval_asked_for_on_a_host_wins_for_a_day() {
        let t0 = Instant::now();
        let mut s = HostSchedule::new();
        assert_eq!(s.interval_for(5000 * MS, None, t0), 5000 * MS);
        assert_eq!(s.interval_for(100 * MS, None, t0 + MS), 5000 * MS);
        assert_eq!(
            s.interval_for(100 * MS, None, t0 + SLOWEST_REMEMBERED + MS),
            100 * MS,
            "forgotten once nobody asked for it for a day"
        );
    }

    #[test]
    fn crawl_delay_wins_when_it_is_slower() {
        let t0 = Instant::now();
        let mut s = HostSchedule::new();
        assert_eq!(s.interval_for(200 * MS, Some(2000 * MS), t0), 2000 * MS);
        assert_eq!(s.interval_for(3000 * MS, Some(2000 * MS), t0), 3000 * MS);
        assert_eq!(
            s.interval_for(ZERO, None, t0 + SLOWEST_REMEMBERED * 2),
            ZERO
        );
    }

    const ZERO: Duration = Duration::ZERO;

    #[test]
    fn a_backoff_holds_every_request_until_it_ends_and_is_never_shortened() {
        let t0 = Instant::now();
        let mut s = HostSchedule::new();
        s.back_off(t0 + 3000 * MS);
        s.back_off(t0 + 1000 * MS);
        assert_eq!(s.backoff_until(t0), Some(t0 + 3000 * MS));
        assert_eq!(s.earliest_start(ZERO, t0), t0 + 3000 * MS);
        assert_eq!(s.backoff_until(t0 + 3000 * MS), None);
        assert!(!s.is_idle(t0));
        assert!(s.is_idle(t0 + 3000 * MS));
    }

    #[test]
    fn only_429_and_503_with_a_retry_after_back_off_the_host() {
        let s = Duration::from_secs(1);
        assert_eq!(host_backoff(429, Some(120 * s)), Some(120 * s));
        assert_eq!(host_backoff(503, Some(5 * s)), Some(5 * s));
        assert_eq!(
            host_backoff(503, Some(MAX_HOST_BACKOFF * 3)),
            Some(MAX_HOST_BACKOFF)
        );
        assert_eq!(host_backoff(503, Some(ZERO)), None);
        assert_eq!(host_backoff(429, None), None);
        assert_eq!(host_backoff(500, Some(5 * s)), None);
    }

    #[test]
    fn a_host_is_an_origin() {
        let key = |u: &str| HostKey::of(&url::Url::parse(u).unwrap());
        assert_eq!(key("http://a.test/x"), key("http://a.test:80/y?z"));
        assert_ne!(key("http://a.test/"), key("https://a.test/"));
        assert_ne!(key("http://127.0.0.1:8001/"), key("http://127.0.0.1:8002/"));
        assert_eq!(key("data:text/plain,hi"), None);
        assert_eq!(
            key("http://user:pw@a.test:8080/p")
                .unwrap()
                .robots_url()
                .unwrap()
                .as_str(),
            "http://a.test:8080/robots.txt"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn turns_wait_for_the_interval_and_a_slot() {
        let hosts = Hosts::new(PolitenessLimits::default());
        let host = hosts.host(&HostKey::of(&url::Url::parse("http://a.test/").unwrap()).unwrap());
        let t0 = Instant::now();
        let first = host
            .turn(Duration::from_secs(1), None, Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!(Instant::now(), t0);
        tokio::time::sleep(Duration::from_millis(300)).await;
        drop(first);
        let _second = host
            .turn(Duration::from_secs(1), None, Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!(Instant::now(), t0 + Duration::from_millis(1300));
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_backoff_fails_at_once_and_a_short_one_is_waited_for() {
        let hosts = Hosts::new(PolitenessLimits::default());
        let host = hosts.host(&HostKey::of(&url::Url::parse("http://a.test/").unwrap()).unwrap());
        let turn = host
            .turn(ZERO, None, Duration::from_secs(30))
            .await
            .unwrap();
        turn.back_off(Duration::from_secs(60));
        drop(turn);
        let t0 = Instant::now();
        let err = host
            .turn(ZERO, None, Duration::from_secs(30))
            .await
            .err()
            .unwrap();
        assert_eq!(err.remaining, Duration::from_secs(60));
        assert_eq!(
            Instant::now(),
            t0,
            "no waiting for a backoff that is too long"
        );
        let _turn = host
            .turn(ZERO, None, Duration::from_secs(90))
            .await
            .unwrap();
        assert_eq!(Instant::now(), t0 + Duration::from_secs(60));
    }

    #[tokio::test(start_paused = true)]
    async fn the_table_forgets_idle_hosts_when_full_but_never_busy_ones() {
        let hosts = Hosts::new(PolitenessLimits {
            max_hosts: 2,
            ..PolitenessLimits::default()
        });
        let key = |port: u16| {
            HostKey::of(&url::Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap()).unwrap()
        };
        let busy = hosts.host(&key(1));
        let waiting = hosts.host(&key(2));
        let turn = waiting
            .turn(Duration::from_secs(10), None, Duration::from_secs(30))
            .await
            .unwrap();
        drop(turn);
        drop(waiting);
        hosts.host(&key(3));
        assert_eq!(
            hosts.len(),
            3,
            "host 1 is in use and host 2 must wait 10 s: both kept"
        );
        tokio::time::sleep(Duration::from_secs(11)).await;
        hosts.host(&key(4));
        assert_eq!(
            hosts.len(),
            2,
            "hosts 2 and 3 were idle and forgotten; 1 is held"
        );
        assert!(Arc::ptr_eq(&busy, &hosts.host(&key(1))));
    }
}
