//! Fetching: one shared HTTP client with every limit set, conditional GET, and errors
//! that say what happened in words an operator can act on.

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
}

impl Default for FetchLimits {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            total_timeout: Duration::from_secs(30),
            max_body_bytes: 10 * 1024 * 1024,
            max_redirects: 5,
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
    },
    /// 304: the resource has not changed since the validators we sent.
    NotModified {
        etag: Option<String>,
        last_modified: Option<String>,
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
    #[error("HTTP {status}{}", retry_after.map(|d| format!(" (server asked to retry after {}s)", d.as_secs())).unwrap_or_default())]
    Status {
        status: u16,
        /// From a 429 or 503's `Retry-After`.
        retry_after: Option<Duration>,
    },
    #[error("request failed: {0}")]
    Other(String),
}

impl FetchError {
    /// The HTTP status the server answered with, if it answered.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// How long the server asked us to wait, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// The shared HTTP client. Cheap to clone; clones share connections.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    limits: FetchLimits,
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
        Ok(Self { client, limits })
    }

    pub fn limits(&self) -> &FetchLimits {
        &self.limits
    }

    /// GETs `url`, conditionally when validators are given. Reads at most
    /// `max_body_bytes`; a larger body is an error, never a silent truncation.
    pub async fn get(
        &self,
        url: &url::Url,
        validators: &Validators<'_>,
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
        if status == 304 {
            return Ok(Fetched::NotModified {
                etag,
                last_modified,
            });
        }
        if !resp.status().is_success() {
            let retry_after = header(reqwest::header::RETRY_AFTER)
                .and_then(|v| parse_retry_after(&v, std::time::SystemTime::now()));
            return Err(FetchError::Status {
                status,
                retry_after,
            });
        }
        let content_type = header(reqwest::header::CONTENT_TYPE);
        let limit = self.limits.max_body_bytes;
        if resp.content_length().is_some_and(|n| n > limit) {
            return Err(FetchError::TooLarge { limit });
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.classify(e))? {
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
