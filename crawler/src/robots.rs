//! robots.txt (RFC 9309): what one fetch of a host's robots.txt means for Earshot, for
//! how long, and whether a URL may be fetched. Pure: the fetch itself is in
//! [`crate::fetch`], and every function here takes the time it is asked at.
//!
//! The rules of RFC 9309 §2.3.1 as Earshot applies them:
//! - a 2xx robots.txt is parsed (with `texting_robots`) for the group that names
//!   [`AGENT_TOKEN`], else the `*` group; at most [`MAX_ROBOTS_BYTES`] of it are read and
//!   anything after that is ignored, as §2.5 allows;
//! - a 4xx answer ("unavailable") allows everything, except 429, which, like Google, we
//!   take as "unreachable": a server that says "too many requests" to robots.txt is not
//!   inviting a crawl;
//! - more redirects than the client follows count as "unavailable" (§2.3.1.2);
//! - a 5xx answer or no answer at all ("unreachable") disallows everything, and the file is
//!   fetched again after the retry time (a few minutes), not after the full day;
//! - a file read successfully (or a 4xx) is kept for [`ROBOTS_TTL`], 24 hours, the longest
//!   §2.4 allows.

use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// The product token Earshot looks for in `User-agent` lines (matched case-insensitively),
/// the first word of [`crate::fetch::user_agent`].
pub const AGENT_TOKEN: &str = "Earshot";

/// How long a robots.txt that was read (or a 4xx) is trusted before it is fetched again.
pub const ROBOTS_TTL: Duration = Duration::from_secs(24 * 3600);

/// How much of a robots.txt is read. RFC 9309 §2.5 asks crawlers to parse at least 500 KiB.
pub const MAX_ROBOTS_BYTES: usize = 512 * 1024;

/// Crawl-delay values above this are taken as this: a robots.txt asking for an hour
/// between requests would otherwise stall every source on the host for hours per crawl.
/// The cap is logged where it applies (see [`RobotsRules::crawl_delay`]).
pub const MAX_CRAWL_DELAY: Duration = Duration::from_secs(60);

/// How a fetch of `/robots.txt` ended, as far as RFC 9309 cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RobotsResponse {
    /// The server answered (after any redirects the client followed) with this status
    /// and, for a 2xx, up to [`MAX_ROBOTS_BYTES`] of the body.
    Answered { status: u16, body: Vec<u8> },
    /// More redirects than the client follows.
    TooManyRedirects,
    /// No usable answer: refused connection, timeout, broken body.
    Unreachable { reason: String },
}

/// The parsed rules of a robots.txt, for Earshot's user agent.
#[derive(Clone)]
pub struct RobotsRules {
    robot: Arc<texting_robots::Robot>,
}

impl std::fmt::Debug for RobotsRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RobotsRules")
            .field("crawl_delay", &self.robot.delay)
            .finish_non_exhaustive()
    }
}

impl RobotsRules {
    /// Parses a robots.txt body for [`AGENT_TOKEN`]. `None` when the file is so broken
    /// that nothing in it can be used (the parser is lenient, so this is rare).
    pub fn parse(body: &[u8]) -> Option<Self> {
        texting_robots::Robot::new(AGENT_TOKEN, body)
            .ok()
            .map(|robot| Self {
                robot: Arc::new(robot),
            })
    }

    /// Whether the rules let Earshot fetch `url` (its path and query are what is matched).
    pub fn allows(&self, url: &url::Url) -> bool {
        self.robot.allowed(url.as_str())
    }

    /// The file's `Crawl-delay` for Earshot's group, capped at [`MAX_CRAWL_DELAY`];
    /// `None` when it sets none (or a negative or non-numeric one).
    pub fn crawl_delay(&self) -> Option<Duration> {
        crawl_delay_from(self.robot.delay)
    }
}

/// A `Crawl-delay` in seconds as a duration, capped at [`MAX_CRAWL_DELAY`].
fn crawl_delay_from(seconds: Option<f32>) -> Option<Duration> {
    let seconds = seconds.filter(|s| s.is_finite() && *s > 0.0)?;
    let asked = Duration::try_from_secs_f32(seconds).unwrap_or(MAX_CRAWL_DELAY);
    if asked > MAX_CRAWL_DELAY {
        tracing::debug!(
            asked_secs = seconds,
            capped_secs = MAX_CRAWL_DELAY.as_secs(),
            "Crawl-delay capped"
        );
    }
    Some(asked.min(MAX_CRAWL_DELAY))
}

/// What a host's robots.txt says, as last fetched.
#[derive(Debug, Clone)]
pub enum RobotsPolicy {
    /// A robots.txt was read: its rules decide.
    Rules(RobotsRules),
    /// No robots.txt applies (a 4xx, too many redirects, or a file nothing could be
    /// parsed from): everything is allowed. `why` says which.
    AllowAll { why: String },
    /// robots.txt could not be read (a 5xx, a 429, no answer): everything is disallowed
    /// until it is fetched again. `why` says what happened.
    DisallowAll { why: String },
}

/// A host's robots.txt policy and how long it holds.
#[derive(Debug, Clone)]
pub struct RobotsEntry {
    /// What the file said.
    pub policy: RobotsPolicy,
    /// When the policy stops holding and robots.txt is fetched again.
    pub valid_until: Instant,
}

/// May a URL be fetched, by its host's robots.txt?
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RobotsVerdict {
    /// Yes, waiting at least `crawl_delay` (if the file set one) between requests.
    Allowed { crawl_delay: Option<Duration> },
    /// No: the rules disallow it.
    Disallowed,
    /// No, for now: robots.txt could not be read (`why`); it is fetched again at `retry_at`.
    Unavailable { why: String, retry_at: Instant },
}

impl RobotsEntry {
    /// The policy a fetch of robots.txt that ended `at` gives, kept for `ttl` when the
    /// file was read or was a 4xx, and for `retry` when it could not be read.
    pub fn from_response(
        response: &RobotsResponse,
        at: Instant,
        ttl: Duration,
        retry: Duration,
    ) -> Self {
        let policy = policy_of(response);
        let keep = match policy {
            RobotsPolicy::DisallowAll { .. } => retry,
            _ => ttl,
        };
        Self {
            policy,
            valid_until: at + keep,
        }
    }

    /// Whether the entry still holds at `now`; when it does not, robots.txt is fetched again.
    pub fn is_fresh(&self, now: Instant) -> bool {
        now < self.valid_until
    }

    /// The crawl delay this entry sets, if any.
    pub fn crawl_delay(&self) -> Option<Duration> {
        match &self.policy {
            RobotsPolicy::Rules(rules) => rules.crawl_delay(),
            _ => None,
        }
    }

    /// Whether `url` (on this entry's host) may be fetched.
    pub fn verdict(&self, url: &url::Url) -> RobotsVerdict {
        match &self.policy {
            RobotsPolicy::Rules(rules) if rules.allows(url) => RobotsVerdict::Allowed {
                crawl_delay: rules.crawl_delay(),
            },
            RobotsPolicy::Rules(_) => RobotsVerdict::Disallowed,
            RobotsPolicy::AllowAll { .. } => RobotsVerdict::Allowed { crawl_delay: None },
            RobotsPolicy::DisallowAll { why } => RobotsVerdict::Unavailable {
                why: why.clone(),
                retry_at: self.valid_until,
            },
        }
    }
}

/// RFC 9309 §2.3.1's mapping from how the fetch ended to a policy.
fn policy_of(response: &RobotsResponse) -> RobotsPolicy {
    match response {
        RobotsResponse::Answered { status, body } if (200..300).contains(status) => {
            match RobotsRules::parse(usable_prefix(body)) {
                Some(rules) => RobotsPolicy::Rules(rules),
                None => RobotsPolicy::AllowAll {
                    why: "robots.txt could not be parsed".into(),
                },
            }
        }
        RobotsResponse::Answered { status: 429, .. } => RobotsPolicy::DisallowAll {
            why: "robots.txt answered HTTP 429 (too many requests)".into(),
        },
        RobotsResponse::Answered { status, .. } if (400..500).contains(status) => {
            RobotsPolicy::AllowAll {
                why: format!("robots.txt answered HTTP {status}"),
            }
        }
        RobotsResponse::Answered { status, .. } => RobotsPolicy::DisallowAll {
            why: format!("robots.txt answered HTTP {status}"),
        },
        RobotsResponse::TooManyRedirects => RobotsPolicy::AllowAll {
            why: "robots.txt redirected too many times".into(),
        },
        RobotsResponse::Unreachable { reason } => RobotsPolicy::DisallowAll {
            why: format!("robots.txt is unreachable: {reason}"),
        },
    }
}

/// The part of a body that is parsed: at most [`MAX_ROBOTS_BYTES`], cut after the last
/// whole line when the file is longer, so no rule is read half.
fn usable_prefix(body: &[u8]) -> &[u8] {
    if body.len() <= MAX_ROBOTS_BYTES {
        return body;
    }
    let head = &body[..MAX_ROBOTS_BYTES];
    match memchr::memrchr(b'\n', head) {
        Some(end) => &head[..=end],
        None => head,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = ROBOTS_TTL;
    const RETRY: Duration = Duration::from_secs(300);

    fn url(s: &str) -> url::Url {
        url::Url::parse(s).unwrap()
    }

    fn answered(status: u16, body: &str) -> RobotsResponse {
        RobotsResponse::Answered {
            status,
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn the_group_naming_earshot_wins_over_the_star_group_whatever_the_case() {
        let now = Instant::now();
        let txt = "User-agent: *\nDisallow: /\n\nUser-agent: earshot\nDisallow: /private/\nCrawl-delay: 2.5\n";
        let entry = RobotsEntry::from_response(&answered(200, txt), now, DAY, RETRY);
        assert_eq!(
            entry.verdict(&url("http://a.test/forum/1")),
            RobotsVerdict::Allowed {
                crawl_delay: Some(Duration::from_millis(2500))
            }
        );
        assert_eq!(
            entry.verdict(&url("http://a.test/private/x?page=2")),
            RobotsVerdict::Disallowed
        );
    }

    #[test]
    fn the_longest_match_decides_and_allow_wins_a_tie() {
        let now = Instant::now();
        let txt = "User-agent: *\nDisallow: /shop\nAllow: /shop/reviews\nDisallow: /*.pdf$\n";
        let entry = RobotsEntry::from_response(&answered(200, txt), now, DAY, RETRY);
        let allowed = |u: &str| entry.verdict(&url(u)) != RobotsVerdict::Disallowed;
        assert!(!allowed("http://a.test/shop/cart"));
        assert!(allowed("http://a.test/shop/reviews/1"));
        assert!(!allowed("http://a.test/files/manual.pdf"));
        assert!(allowed("http://a.test/files/manual.pdf?x=1"));
        assert!(allowed("http://a.test/robots.txt"));
    }

    #[test]
    fn a_4xx_allows_everything_but_429_and_5xx_disallow_everything_until_the_retry() {
        let now = Instant::now();
        let page = url("http://a.test/anything");
        for status in [400, 401, 403, 404, 410] {
            let entry = RobotsEntry::from_response(&answered(status, "nope"), now, DAY, RETRY);
            assert_eq!(
                entry.verdict(&page),
                RobotsVerdict::Allowed { crawl_delay: None },
                "HTTP {status}"
            );
            assert_eq!(entry.valid_until, now + DAY);
        }
        for status in [429, 500, 502, 503] {
            let entry = RobotsEntry::from_response(&answered(status, ""), now, DAY, RETRY);
            match entry.verdict(&page) {
                RobotsVerdict::Unavailable { why, retry_at } => {
                    assert!(why.contains(&status.to_string()), "{why}");
                    assert_eq!(retry_at, now + RETRY);
                }
                other => panic!("HTTP {status}: {other:?}"),
            }
        }
        let down = RobotsEntry::from_response(
            &RobotsResponse::Unreachable {
                reason: "connection refused".into(),
            },
            now,
            DAY,
            RETRY,
        );
        assert!(
            matches!(down.verdict(&page), RobotsVerdict::Unavailable { why, .. } if why.contains("connection refused"))
        );
        let loops = RobotsEntry::from_response(&RobotsResponse::TooManyRedirects, now, DAY, RETRY);
        assert_eq!(
            loops.verdict(&page),
            RobotsVerdict::Allowed { crawl_delay: None }
        );
    }

    #[test]
    fn an_entry_is_fresh_until_its_ttl_and_then_expires() {
        let now = Instant::now();
        let entry = RobotsEntry::from_response(&answered(200, "Disallow: /x"), now, DAY, RETRY);
        assert!(entry.is_fresh(now));
        assert!(entry.is_fresh(now + DAY - Duration::from_millis(1)));
        assert!(!entry.is_fresh(now + DAY));
        let failed = RobotsEntry::from_response(&answered(503, ""), now, DAY, RETRY);
        assert!(failed.is_fresh(now + RETRY - Duration::from_millis(1)));
        assert!(!failed.is_fresh(now + RETRY));
    }

    #[test]
    fn crawl_delay_is_capped_and_nonsense_is_ignored() {
        assert_eq!(crawl_delay_from(Some(3600.0)), Some(MAX_CRAWL_DELAY));
        assert_eq!(crawl_delay_from(Some(f32::INFINITY)), None);
        assert_eq!(crawl_delay_from(Some(-1.0)), None);
        assert_eq!(crawl_delay_from(Some(0.0)), None);
        assert_eq!(crawl_delay_from(None), None);
        assert_eq!(
            crawl_delay_from(Some(0.5)),
            Some(Duration::from_millis(500))
        );
    }

    #[test]
    fn only_the_first_512_kib_are_read_cut_at_a_line() {
        let mut txt = String::from("User-agent: *\nDisallow: /early\n");
        while txt.len() < MAX_ROBOTS_BYTES {
            txt.push_str("# padding padding padding padding padding padding\n");
        }
        txt.push_str("Disallow: /late\n");
        let entry = RobotsEntry::from_response(&answered(200, &txt), Instant::now(), DAY, RETRY);
        assert_eq!(
            entry.verdict(&url("http://a.test/early")),
            RobotsVerdict::Disallowed
        );
        assert_ne!(
            entry.verdict(&url("http://a.test/late")),
            RobotsVerdict::Disallowed
        );
        assert!(usable_prefix(txt.as_bytes()).ends_with(b"\n"));
    }

    /// The real robots.txt files in ../shared/corpora parse, and their best-known rules hold.
    #[test]
    fn real_robots_files_parse() {
        let Some(dir) = corpora_dir() else {
            eprintln!(
                "skipping: ../shared/corpora/robots-txt-samples not found (set EARSHOT_CORPORA)"
            );
            return;
        };
        let mut parsed = 0;
        for file in std::fs::read_dir(&dir).unwrap() {
            let path = file.unwrap().path();
            if path.extension().is_some_and(|e| e == "txt") && !path.ends_with("SOURCE.txt") {
                let body = std::fs::read(&path).unwrap();
                assert!(
                    RobotsRules::parse(&body).is_some(),
                    "{} did not parse",
                    path.display()
                );
                parsed += 1;
            }
        }
        assert!(parsed > 0, "no robots files in {}", dir.display());

        // Earshot is not named in reddit's file, so its `*` group applies: feeds under
        // /r/ are allowed, JSON is not.
        let reddit =
            RobotsRules::parse(&std::fs::read(dir.join("reddit.robots.txt")).unwrap()).unwrap();
        assert!(reddit.allows(&url("https://www.reddit.com/r/rust/")));
        assert!(reddit.allows(&url("https://www.reddit.com/r/rust/.rss")));
        assert!(!reddit.allows(&url("https://www.reddit.com/r/rust/.json")));
        // ipwatchdog asks every crawler for 120 s between requests: capped.
        let slow =
            RobotsRules::parse(&std::fs::read(dir.join("ipwatchdog.robots.txt")).unwrap()).unwrap();
        assert_eq!(slow.crawl_delay(), Some(MAX_CRAWL_DELAY));
    }

    fn corpora_dir() -> Option<std::path::PathBuf> {
        let base = std::env::var_os("EARSHOT_CORPORA")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpora")
            });
        let dir = base.join("robots-txt-samples");
        dir.is_dir().then_some(dir)
    }
}
