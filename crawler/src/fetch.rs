//! Fetching: one shared HTTP client with every limit set, conditional GET, politeness
//! (robots.txt, per-host rate and concurrency, Retry-After backoff; see
//! [`crate::politeness`]), bot-challenge detection, and errors that say what happened in
//! words an operator can act on.

use crate::politeness::{host_backoff, HostKey, Hosts, PolitenessLimits, RequestRules, Turn};
use crate::robots::{RobotsEntry, RobotsPolicy, RobotsResponse, RobotsVerdict, MAX_ROBOTS_BYTES};
use std::sync::Arc;
use std::time::Duration;

/// The limits every fetch runs under.
#[derive(Debug, Clone)]
pub struct FetchLimits {
    /// How long establishing a connection may take.
    pub connect_timeout: Duration,
    /// How long the whole request, body included, may take.
    pub total_timeout: Duration,
    /// Larger bodies are abandoned, not truncated.
    pub max_body_bytes: u64,
    /// Redirects followed before giving up (a loop hits this too).
    pub max_redirects: usize,
    /// robots.txt and the per-host limits every request obeys.
    pub politeness: PolitenessLimits,
}

impl Default for FetchLimits {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            total_timeout: Duration::from_secs(30),
            max_body_bytes: 10 * 1024 * 1024,
            max_redirects: 5,
            politeness: PolitenessLimits::default(),
        }
    }
}

/// The User-Agent every request carries: who we are and where to read about it.
pub fn user_agent() -> String {
    format!(
        "Earshot/{} (+{})",
        env!("CARGO_PKG_VERSION"),
        env!("CARGO_PKG_REPOSITORY")
    )
}

/// Validators from the previous successful fetch, sent so an unchanged resource costs a 304.
#[derive(Debug, Clone, Default)]
pub struct Validators<'a> {
    pub etag: Option<&'a str>,
    pub last_modified: Option<&'a str>,
}

/// A successful fetch.
#[derive(Debug, Clone)]
pub enum Fetched {
    /// 2xx with a body.
    Body {
        status: u16,
        body: Vec<u8>,
        content_type: Option<String>,
        etag: Option<String>,
        last_modified: Option<String>,
        /// How long the server says the answer stays fresh (`Cache-Control: max-age`,
        /// else `Expires`; see [`crate::schedule::cache_lifetime`]).
        fresh_for: Option<Duration>,
    },
    /// 304: the resource has not changed since the validators we sent.
    NotModified {
        etag: Option<String>,
        last_modified: Option<String>,
        /// As for [`Fetched::Body`].
        fresh_for: Option<Duration>,
    },
}

/// Why a fetch failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("could not connect: {0}")]
    Connect(String),
    #[error("more than {0} redirects (a redirect loop?)")]
    TooManyRedirects(usize),
    #[error("response body is larger than the {limit}-byte limit")]
    TooLarge { limit: u64 },
    /// The body broke off (the connection closed or reset, the compression was corrupt)
    /// before it was complete; what had arrived is dropped.
    #[error("the connection broke before the whole body arrived ({read} bytes read, all dropped): {why}")]
    BodyCut {
        /// Bytes (after decompression) that had arrived.
        read: u64,
        /// What the HTTP stack said.
        why: String,
    },
    #[error("HTTP {status}{}", retry_after.map(|d| format!(" (server asked to retry after {}s)", d.as_secs())).unwrap_or_default())]
    Status {
        status: u16,
        /// From a 429 or 503's `Retry-After`.
        retry_after: Option<Duration>,
    },
    /// The host's robots.txt disallows this URL for Earshot.
    #[error("robots.txt of {origin} disallows {path} for Earshot's user agent")]
    DisallowedByRobots {
        /// `scheme://host[:port]`.
        origin: String,
        /// The path (and query) that is disallowed.
        path: String,
    },
    /// The host's robots.txt could not be read (a 5xx, a 429, no answer), so, as RFC 9309
    /// asks, everything on the host is disallowed until it is fetched again.
    #[error("robots.txt of {origin} could not be read ({why}), so everything there is disallowed for now; it is fetched again in {}s", secs_up(*retry_after))]
    RobotsUnavailable {
        /// `scheme://host[:port]`.
        origin: String,
        /// What happened to the robots.txt request.
        why: String,
        /// When robots.txt is fetched again.
        retry_after: Duration,
    },
    /// The answer was a bot challenge (a CAPTCHA or "checking your browser" page), not
    /// the content: it is not parsed.
    #[error("bot challenge ({detail}), HTTP {status}; not parsed")]
    Challenge {
        status: u16,
        /// The evidence, e.g. `Cloudflare cf-mitigated: challenge`.
        detail: String,
    },
    /// The host told us to stay away (429 or 503 with Retry-After) for longer than a
    /// request waits; nothing was sent.
    #[error("{origin} asked Earshot to back off (Retry-After); no request goes there for another {}s", secs_up(*retry_after))]
    HostBackoff {
        /// `scheme://host[:port]`.
        origin: String,
        /// How long the backoff still runs.
        retry_after: Duration,
    },
    #[error("request failed: {0}")]
    Other(String),
}

/// Whole seconds, rounded up, for messages: a wait of 0.2 s reads as 1 s, never 0 s.
fn secs_up(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

impl FetchError {
    /// The HTTP status the server answered with, if it answered.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } | Self::Challenge { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// How long the server asked us to wait, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Status { retry_after, .. } => *retry_after,
            Self::RobotsUnavailable { retry_after, .. } | Self::HostBackoff { retry_after, .. } => {
                Some(*retry_after)
            }
            _ => None,
        }
    }
}

/// The shared HTTP client. Cheap to clone; clones share connections and every host's
/// politeness state (schedule, backoff, robots.txt), so all requests of a process to one
/// host are counted together, whichever clone and source made them.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    limits: FetchLimits,
    hosts: Arc<Hosts>,
}

impl Fetcher {
    /// Builds the client. Fails only if the TLS backend cannot start.
    pub fn new(limits: FetchLimits) -> Result<Self, FetchError> {
        let client = reqwest::Client::builder()
            .user_agent(user_agent())
            .connect_timeout(limits.connect_timeout)
            .timeout(limits.total_timeout)
            .redirect(reqwest::redirect::Policy::limited(limits.max_redirects))
            .build()
            .map_err(|e| FetchError::Other(e.to_string()))?;
        let hosts = Arc::new(Hosts::new(limits.politeness.clone()));
        Ok(Self {
            client,
            limits,
            hosts,
        })
    }

    /// The limits this fetcher was built with.
    pub fn limits(&self) -> &FetchLimits {
        &self.limits
    }

    /// GETs `url`, conditionally when validators are given, politely (robots.txt, the
    /// host's rate, concurrency and backoff; see [`crate::politeness`]), at the fetcher's
    /// `host_interval`. Reads at most `max_body_bytes`; a larger body is an error, never a
    /// silent truncation. A bot challenge is an error, never a body.
    ///
    /// Besides the transport and status errors, it fails with
    /// [`FetchError::DisallowedByRobots`] or [`FetchError::RobotsUnavailable`] (nothing was
    /// requested but, perhaps, robots.txt), [`FetchError::HostBackoff`] (nothing was sent)
    /// and [`FetchError::Challenge`]. It may wait first: for robots.txt, the host's
    /// interval, a free slot, or a short Retry-After backoff.
    pub async fn get(
        &self,
        url: &url::Url,
        validators: &Validators<'_>,
    ) -> Result<Fetched, FetchError> {
        self.get_with(url, validators, &RequestRules::default())
            .await
    }

    /// [`Fetcher::get`], with this request's own politeness rules: `min_interval` replaces
    /// `host_interval` for this request, and the slowest interval asked for on a host in
    /// the last day applies to every request to it (see [`crate::politeness`]).
    pub async fn get_with(
        &self,
        url: &url::Url,
        validators: &Validators<'_>,
        rules: &RequestRules,
    ) -> Result<Fetched, FetchError> {
        let key = HostKey::of(url)
            .ok_or_else(|| FetchError::Other(format!("{url} is not an http(s) URL with a host")))?;
        let politeness = self.hosts.limits();
        let asked = rules.min_interval.unwrap_or(politeness.host_interval);
        let host = self.hosts.host(&key);
        let crawl_delay = if politeness.respect_robots {
            self.robots_allow(&host, &key, url, asked).await?
        } else {
            None
        };
        let turn = host
            .turn(asked, crawl_delay, politeness.max_backoff_wait)
            .await
            .map_err(|b| FetchError::HostBackoff {
                origin: key.display(),
                retry_after: b.remaining,
            })?;
        self.send(url, validators, &turn).await
    }

    /// Whether the host's robots.txt (fetched first when not cached or stale) lets Earshot
    /// fetch `url`; `Ok` carries its Crawl-delay.
    async fn robots_allow(
        &self,
        host: &Arc<crate::politeness::Host>,
        key: &HostKey,
        url: &url::Url,
        asked: Duration,
    ) -> Result<Option<Duration>, FetchError> {
        let politeness = self.hosts.limits();
        let mut cached = host.robots.lock().await;
        if !cached
            .as_ref()
            .is_some_and(|e| e.is_fresh(tokio::time::Instant::now()))
        {
            let crawl_delay = cached.as_ref().and_then(RobotsEntry::crawl_delay);
            let turn = host
                .turn(asked, crawl_delay, politeness.max_backoff_wait)
                .await
                .map_err(|b| FetchError::HostBackoff {
                    origin: key.display(),
                    retry_after: b.remaining,
                })?;
            let response = self.fetch_robots(key, &turn).await;
            drop(turn);
            let entry = RobotsEntry::from_response(
                &response,
                tokio::time::Instant::now(),
                politeness.robots_ttl,
                politeness.robots_retry,
            );
            match &entry.policy {
                RobotsPolicy::DisallowAll { why } => {
                    tracing::warn!(origin = %key.display(), why = %why, "robots.txt unavailable; host disallowed for now")
                }
                RobotsPolicy::AllowAll { why } => {
                    tracing::debug!(origin = %key.display(), why = %why, "no robots.txt rules; all allowed")
                }
                RobotsPolicy::Rules(_) => {
                    tracing::debug!(origin = %key.display(), "robots.txt read")
                }
            }
            *cached = Some(entry);
        }
        let Some(entry) = cached.as_ref() else {
            return Err(FetchError::Other("robots.txt state lost".into()));
        };
        match entry.verdict(url) {
            RobotsVerdict::Allowed { crawl_delay } => Ok(crawl_delay),
            RobotsVerdict::Disallowed => Err(FetchError::DisallowedByRobots {
                origin: key.display(),
                path: match url.query() {
                    Some(q) => format!("{}?{q}", url.path()),
                    None => url.path().to_owned(),
                },
            }),
            RobotsVerdict::Unavailable { why, retry_at } => Err(FetchError::RobotsUnavailable {
                origin: key.display(),
                why,
                retry_after: retry_at.saturating_duration_since(tokio::time::Instant::now()),
            }),
        }
    }

    /// Fetches `key`'s robots.txt in the turn given: at most [`MAX_ROBOTS_BYTES`] of it
    /// are kept. A 429 or 503 with Retry-After backs the host off like any other answer.
    async fn fetch_robots(&self, key: &HostKey, turn: &Turn) -> RobotsResponse {
        let Some(robots_url) = key.robots_url() else {
            return RobotsResponse::Unreachable {
                reason: format!("no robots.txt URL for {}", key.display()),
            };
        };
        let mut resp = match self.client.get(robots_url).send().await {
            Ok(resp) => resp,
            Err(e) if e.is_redirect() => return RobotsResponse::TooManyRedirects,
            Err(e) => {
                return RobotsResponse::Unreachable {
                    reason: self.classify(e).to_string(),
                }
            }
        };
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, std::time::SystemTime::now()));
        if let Some(wait) = host_backoff(status, retry_after) {
            turn.back_off(wait);
        }
        let mut body = Vec::new();
        if resp.status().is_success() {
            loop {
                match resp.chunk().await {
                    Ok(Some(chunk)) => {
                        body.extend_from_slice(&chunk);
                        if body.len() > MAX_ROBOTS_BYTES {
                            break;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        return RobotsResponse::Unreachable {
                            reason: self.classify(e).to_string(),
                        }
                    }
                }
            }
        }
        RobotsResponse::Answered { status, body }
    }

    /// The request itself, in its turn at the host, timed for the fetch-latency
    /// histogram whatever it answers.
    async fn send(
        &self,
        url: &url::Url,
        validators: &Validators<'_>,
        turn: &Turn,
    ) -> Result<Fetched, FetchError> {
        let started = std::time::Instant::now();
        let fetched = self.exchange(url, validators, turn).await;
        earshot_telemetry::fetch_finished(started.elapsed());
        fetched
    }

    /// Sends the request and reads the answer, within every limit.
    async fn exchange(
        &self,
        url: &url::Url,
        validators: &Validators<'_>,
        turn: &Turn,
    ) -> Result<Fetched, FetchError> {
        let mut req = self.client.get(url.clone());
        if let Some(etag) = validators.etag {
            req = req.header(reqwest::header::IF_NONE_MATCH, etag);
        }
        if let Some(lm) = validators.last_modified {
            req = req.header(reqwest::header::IF_MODIFIED_SINCE, lm);
        }
        let mut resp = req.send().await.map_err(|e| self.classify(e))?;
        let status = resp.status().as_u16();
        let header = |name: reqwest::header::HeaderName| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let etag = header(reqwest::header::ETAG);
        let last_modified = header(reqwest::header::LAST_MODIFIED);
        let fresh_for = crate::schedule::cache_lifetime(
            header(reqwest::header::CACHE_CONTROL).as_deref(),
            header(reqwest::header::EXPIRES).as_deref(),
            std::time::SystemTime::now(),
        );
        if status == 304 {
            return Ok(Fetched::NotModified {
                etag,
                last_modified,
                fresh_for,
            });
        }
        if !resp.status().is_success() {
            let retry_after = header(reqwest::header::RETRY_AFTER)
                .and_then(|v| parse_retry_after(&v, std::time::SystemTime::now()));
            if let Some(wait) = host_backoff(status, retry_after) {
                turn.back_off(wait);
            }
            let headers = resp.headers().clone();
            let body_start = if matches!(status, 403 | 429 | 503) {
                read_start(&mut resp, crate::challenge::CHALLENGE_SNIFF_BYTES).await
            } else {
                Vec::new()
            };
            if let Some(detail) = crate::challenge::detect(status, &headers, &body_start) {
                return Err(FetchError::Challenge { status, detail });
            }
            return Err(FetchError::Status {
                status,
                retry_after,
            });
        }
        if let Some(detail) = crate::challenge::detect(status, resp.headers(), &[]) {
            return Err(FetchError::Challenge { status, detail });
        }
        let content_type = header(reqwest::header::CONTENT_TYPE);
        let limit = self.limits.max_body_bytes;
        if resp.content_length().is_some_and(|n| n > limit) {
            return Err(FetchError::TooLarge { limit });
        }
        let mut body = Vec::new();
        loop {
            let chunk = match resp.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(e) if e.is_timeout() => return Err(self.classify(e)),
                Err(e) => {
                    return Err(FetchError::BodyCut {
                        read: body.len() as u64,
                        why: error_chain(&e),
                    })
                }
            };
            if body.len() as u64 + chunk.len() as u64 > limit {
                return Err(FetchError::TooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched::Body {
            status,
            body,
            content_type,
            etag,
            last_modified,
            fresh_for,
        })
    }

    fn classify(&self, e: reqwest::Error) -> FetchError {
        if e.is_timeout() {
            FetchError::Timeout(self.limits.total_timeout)
        } else if e.is_redirect() {
            FetchError::TooManyRedirects(self.limits.max_redirects)
        } else if e.is_connect() {
            FetchError::Connect(error_chain(&e))
        } else {
            FetchError::Other(error_chain(&e))
        }
    }
}

/// Up to `limit` bytes of a response body (fewer if it ends or breaks first): enough to
/// recognise a challenge page without reading a large error body.
async fn read_start(resp: &mut reqwest::Response, limit: usize) -> Vec<u8> {
    let mut out = Vec::new();
    while out.len() < limit {
        match resp.chunk().await {
            Ok(Some(chunk)) => out.extend_from_slice(&chunk),
            _ => break,
        }
    }
    out.truncate(limit);
    out
}

/// The error and its causes on one line, since reqwest's top-level message alone
/// ("error sending request") says little.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

/// Parses `Retry-After`: either delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
/// A date in the past means "now" (zero).
pub fn parse_retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{SystemTime, UNIX_EPOCH};

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        let later = httpdate::fmt_http_date(now + Duration::from_secs(90));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(90))
        );
        let past = httpdate::fmt_http_date(now - Duration::from_secs(90));
        assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", SystemTime::now()), None);
    }

    #[test]
    fn the_user_agent_names_earshot_and_its_version() {
        assert!(user_agent().starts_with(&format!("Earshot/{} (+http", env!("CARGO_PKG_VERSION"))));
    }
}
