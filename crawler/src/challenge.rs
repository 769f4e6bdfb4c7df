//! Bot challenges: pages a CDN or bot-protection service serves instead of the content
//! ("Just a moment...", CAPTCHA walls). They are recorded as what they are and never
//! parsed as content. Pure: status, headers and the start of the body in, a verdict out.
//!
//! What counts as a challenge:
//! - any response carrying `cf-mitigated: challenge` (Cloudflare's documented marker for
//!   a challenge answer), whatever its status;
//! - a 403, 429 or 503 whose body carries a known interstitial marker: Cloudflare's
//!   "Just a moment..." and "Attention Required!" pages and its challenge-platform script,
//!   DataDome's CAPTCHA host, PerimeterX's CAPTCHA element. Body markers are not looked for
//!   in 2xx pages, where an article may well quote them.

use reqwest::header::HeaderMap;

/// How many bytes of an error body are read to look for markers.
pub const CHALLENGE_SNIFF_BYTES: usize = 64 * 1024;

/// Body markers (lower case) and what each one means.
const BODY_MARKERS: &[(&str, &str)] = &[
    (
        "<title>just a moment...</title>",
        "Cloudflare \"Just a moment...\" page",
    ),
    (
        "<title>attention required! | cloudflare</title>",
        "Cloudflare \"Attention Required!\" block page",
    ),
    (
        "/cdn-cgi/challenge-platform/",
        "Cloudflare challenge-platform script",
    ),
    ("captcha-delivery.com", "DataDome CAPTCHA"),
    ("id=\"px-captcha\"", "PerimeterX CAPTCHA"),
];

/// Whether a response is a bot challenge, and if so a short description of the evidence
/// (e.g. `Cloudflare cf-mitigated: challenge`); `None` for an ordinary response.
/// `body_start` is the first bytes of the body (up to [`CHALLENGE_SNIFF_BYTES`]); it may
/// be empty when the body was not read.
pub fn detect(status: u16, headers: &HeaderMap, body_start: &[u8]) -> Option<String> {
    let cf_mitigated = headers
        .get("cf-mitigated")
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    if cf_mitigated.is_some_and(|v| v.eq_ignore_ascii_case("challenge")) {
        return Some("Cloudflare cf-mitigated: challenge".into());
    }
    if !matches!(status, 403 | 429 | 503) {
        return None;
    }
    let sniffed = &body_start[..body_start.len().min(CHALLENGE_SNIFF_BYTES)];
    let lower = sniffed.to_ascii_lowercase();
    BODY_MARKERS
        .iter()
        .find(|(marker, _)| memchr::memmem::find(&lower, marker.as_bytes()).is_some())
        .map(|(_, what)| (*what).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (HeaderName::from_static(k), HeaderValue::from_static(v)))
            .collect()
    }

    #[test]
    fn cloudflares_header_marks_a_challenge_at_any_status() {
        for status in [200, 403, 503] {
            assert_eq!(
                detect(status, &headers(&[("cf-mitigated", "challenge")]), b""),
                Some("Cloudflare cf-mitigated: challenge".into()),
                "HTTP {status}"
            );
        }
        assert_eq!(
            detect(403, &headers(&[("cf-mitigated", "Challenge ")]), b""),
            Some("Cloudflare cf-mitigated: challenge".into())
        );
        assert_eq!(
            detect(403, &headers(&[("cf-mitigated", "other")]), b""),
            None
        );
    }

    #[test]
    fn an_interstitial_body_on_an_error_status_is_a_challenge() {
        let page = b"<!DOCTYPE html><html><head><TITLE>Just a moment...</TITLE></head><body>Checking your browser</body></html>";
        assert_eq!(
            detect(503, &HeaderMap::new(), page),
            Some("Cloudflare \"Just a moment...\" page".into())
        );
        let datadome =
            b"<html><script src=\"https://ct.captcha-delivery.com/c.js\"></script></html>";
        assert_eq!(
            detect(403, &HeaderMap::new(), datadome),
            Some("DataDome CAPTCHA".into())
        );
    }

    #[test]
    fn ordinary_pages_and_plain_errors_are_not_challenges() {
        let article =
            b"<html><head><title>Just a moment...</title></head><body>A poem about waiting.</body></html>";
        assert_eq!(detect(200, &HeaderMap::new(), article), None);
        assert_eq!(detect(403, &HeaderMap::new(), b"Forbidden"), None);
        assert_eq!(detect(503, &HeaderMap::new(), b""), None);
        assert_eq!(detect(404, &HeaderMap::new(), article), None);
    }
}
