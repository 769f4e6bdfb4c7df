//! Item links: unwrapping redirect wrappers and reducing a URL to its canonical form.
//!
//! Two copies of one article must end up with one dedup key, and a mention must link to
//! the article, not to a click tracker. So a Google Alerts link becomes the URL it
//! redirects to, and a canonical URL drops what varies between copies of the same page
//! (fragment, campaign and click-tracking parameters) while keeping every parameter that
//! may select content, in its original order and spelling.

use url::Url;

/// How many nested redirect wrappers are unwrapped before giving up (a Google link to a
/// Google link is real; a longer chain is not worth following).
const MAX_UNWRAP: usize = 3;

/// Returns the destination of a known redirect wrapper, or `url` itself.
///
/// Recognised today: Google's `/url` redirector on any `google.*` host
/// (`https://www.google.com/url?rct=j&sa=t&url=REAL&ct=ga...`, as used by Google Alerts
/// feeds), with the destination in `url` or, failing that, `q`. The destination is used
/// only if it is an absolute `http`/`https` URL with a host; anything else (a relative
/// path, `javascript:`) leaves the wrapper in place.
pub fn unwrap_redirect(url: &Url) -> Url {
    let mut current = url.clone();
    for _ in 0..MAX_UNWRAP {
        match google_redirect_target(&current) {
            Some(target) => current = target,
            None => break,
        }
    }
    current
}

fn google_redirect_target(url: &Url) -> Option<Url> {
    if !is_http(url) || url.path() != "/url" || !is_google_host(url.host_str()?) {
        return None;
    }
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.into_owned())
    };
    let target = param("url").or_else(|| param("q"))?;
    Url::parse(&target).ok().filter(is_http)
}

/// `google.com`, `www.google.de`, `news.google.co.uk`, `www.google.com.ua`: a `google`
/// label followed by a top-level domain, or by a generic second-level label and a
/// two-letter country code. `google.example.com` is not Google.
fn is_google_host(host: &str) -> bool {
    let labels: Vec<&str> = host.split('.').collect();
    let Some(at) = labels
        .iter()
        .rposition(|l| l.eq_ignore_ascii_case("google"))
    else {
        return false;
    };
    match &labels[at + 1..] {
        [tld] => !tld.is_empty(),
        [second, country] => {
            const SECOND_LEVEL: &[&str] = &[
                "co", "com", "net", "org", "ac", "gov", "edu", "or", "ne", "go",
            ];
            country.len() == 2 && SECOND_LEVEL.iter().any(|s| second.eq_ignore_ascii_case(s))
        }
        _ => false,
    }
}

fn is_http(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https") && url.host().is_some()
}

/// Query parameters that only track how a reader arrived, never what page they get.
/// Compared case-insensitively; every `utm_*` parameter is dropped as well.
const TRACKING_PARAMS: &[&str] = &[
    "_ga",
    "_gl",
    "_hsenc",
    "_hsmi",
    "dclid",
    "fbclid",
    "gbraid",
    "gclid",
    "gclsrc",
    "igsh",
    "igshid",
    "li_fat_id",
    "mc_cid",
    "mc_eid",
    "mkt_tok",
    "msclkid",
    "oly_anon_id",
    "oly_enc_id",
    "rb_clickid",
    "ref_src",
    "ref_url",
    "srsltid",
    "ttclid",
    "twclid",
    "vero_id",
    "wbraid",
    "wickedid",
    "yclid",
];

/// Whether one raw `key=value` piece of a query string is a tracking parameter. The key
/// is percent-decoded first, so `utm%5Fsource` is caught too.
fn is_tracking_param(raw_pair: &str) -> bool {
    let Some((key, _)) = url::form_urlencoded::parse(raw_pair.as_bytes()).next() else {
        return false;
    };
    let key = key.to_ascii_lowercase();
    key.starts_with("utm_") || TRACKING_PARAMS.contains(&key.as_str())
}

/// The canonical form of a page URL, for dedup keys and for storing with a mention.
///
/// Promises: no fragment; no tracking parameters (`utm_*`, `fbclid`, `gclid`, `mc_cid`,
/// `yclid`, `_ga`, `ref_src`, `igshid` and the others in this module); the remaining
/// parameters unchanged, in their original order and encoding (empty `&&` pieces
/// removed); no `?` when none remain; a lowercase host and no default port (the `url`
/// crate already guarantees both for http and https). Everything else, including the
/// path's trailing slash, is kept: servers may treat those differently.
pub fn canonical_url(url: &Url) -> Url {
    let mut canonical = url.clone();
    canonical.set_fragment(None);
    if let Some(query) = url.query() {
        let kept: Vec<&str> = query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .filter(|pair| !is_tracking_param(pair))
            .collect();
        if kept.is_empty() {
            canonical.set_query(None);
        } else {
            canonical.set_query(Some(&kept.join("&")));
        }
    }
    canonical
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("test URL")
    }

    #[test]
    fn google_alerts_links_unwrap_to_the_article() {
        let alert = url("https://www.google.com/url?rct=j&sa=t&url=https://news.example.org/acme-recall%3Fid%3D7&ct=ga&cd=CAIyGj&usg=AOv");
        assert_eq!(
            unwrap_redirect(&alert).as_str(),
            "https://news.example.org/acme-recall?id=7"
        );
    }

    #[test]
    fn any_google_country_host_and_the_q_parameter_are_recognised() {
        let uk = url("https://www.google.co.uk/url?q=http%3A%2F%2Fexample.com%2Fa&sa=U");
        assert_eq!(unwrap_redirect(&uk).as_str(), "http://example.com/a");
        let ua = url("http://google.com.ua/url?url=https://example.com/b");
        assert_eq!(unwrap_redirect(&ua).as_str(), "https://example.com/b");
    }

    #[test]
    fn a_non_http_or_relative_destination_keeps_the_wrapper() {
        for s in [
            "https://www.google.com/url?url=javascript:alert(1)",
            "https://www.google.com/url?url=/relative/path",
            "https://www.google.com/url?url=",
            "https://www.google.com/url?sa=t",
        ] {
            assert_eq!(unwrap_redirect(&url(s)).as_str(), s);
        }
    }

    #[test]
    fn lookalike_hosts_and_other_paths_are_not_unwrapped() {
        for s in [
            "https://google.example.com/url?url=https://x.test/",
            "https://notgoogle.com/url?url=https://x.test/",
            "https://www.google.com/search?q=https://x.test/",
            "https://example.com/url?url=https://x.test/",
        ] {
            assert_eq!(unwrap_redirect(&url(s)).as_str(), s);
        }
    }

    #[test]
    fn tracking_parameters_and_fragments_are_stripped_and_others_kept_in_order() {
        let u = url("https://Example.COM:443/a/b/?id=7&utm_source=x&UTM_Medium=y&fbclid=z&q=a+b%20c&gclid=1&page=2#comments");
        assert_eq!(
            canonical_url(&u).as_str(),
            "https://example.com/a/b/?id=7&q=a+b%20c&page=2"
        );
    }

    #[test]
    fn no_question_mark_remains_when_every_parameter_was_tracking() {
        let u = url("http://example.com:80/post?utm_campaign=x&mc_cid=1&mc_eid=2&_ga=3&yclid=4&igshid=5&ref_src=6");
        assert_eq!(canonical_url(&u).as_str(), "http://example.com/post");
        assert_eq!(
            canonical_url(&url("https://example.com/p?")).as_str(),
            "https://example.com/p"
        );
    }

    #[test]
    fn parameters_that_merely_contain_a_tracking_name_are_kept() {
        let u = url("https://example.com/?utm=1&my_gclid=2&ref=3&a=&&b");
        assert_eq!(
            canonical_url(&u).as_str(),
            "https://example.com/?utm=1&my_gclid=2&ref=3&a=&b"
        );
    }

    #[test]
    fn canonical_urls_are_stable_under_repetition() {
        let u = url("https://example.com/x?b=2&utm_source=s&a=1#f");
        let once = canonical_url(&u);
        assert_eq!(canonical_url(&once), once);
    }
}
