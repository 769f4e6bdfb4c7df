//! The console's HTML: escaping, the page frame, and the small pieces several screens
//! use. Every piece of text that came from the web or a person goes through [`esc`]
//! (or [`highlight`], which escapes too) before it is written into a page: markup is
//! built from strings, so this module is where crawled text is made inert.

use earshot_domain::{Label, Permission, Role, Session, Timestamp};
use std::fmt::Write;

/// `s` with the five characters HTML treats specially replaced by entities, safe in
/// element content and in quoted attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `snippet`, escaped, with every occurrence of `term` (ignoring ASCII case) wrapped in
/// `<mark>`. An empty term marks nothing.
pub(crate) fn highlight(snippet: &str, term: &str) -> String {
    let term = term.trim();
    if term.is_empty() {
        return esc(snippet);
    }
    let (hay, needle) = (snippet.to_ascii_lowercase(), term.to_ascii_lowercase());
    let mut out = String::new();
    let mut at = 0;
    // ASCII lowercasing keeps every byte offset, so offsets in `hay` are offsets in
    // `snippet`, on character boundaries.
    while let Some(found) = hay[at..].find(&needle) {
        let start = at + found;
        let end = start + needle.len();
        out.push_str(&esc(&snippet[at..start]));
        let _ = write!(out, "<mark>{}</mark>", esc(&snippet[start..end]));
        at = end;
    }
    out.push_str(&esc(&snippet[at..]));
    out
}

/// A time as people read it in the console: `2026-11-20 10:00 UTC`, in a `<time>`
/// element carrying the exact instant.
pub(crate) fn time(t: Timestamp) -> String {
    format!(
        r#"<time datetime="{}">{}</time>"#,
        t.to_rfc3339(),
        t.to_datetime().format("%Y-%m-%d %H:%M UTC")
    )
}

/// An optional time, or a dash.
pub(crate) fn maybe_time(t: Option<Timestamp>) -> String {
    t.map(time).unwrap_or_else(|| "—".to_owned())
}

/// A small horizontal bar of the three sentiment probabilities (negative, neutral,
/// positive), drawn in SVG (no inline styles, which the CSP forbids), with the numbers
/// as its accessible name.
pub(crate) fn sentiment_bar(p: [f32; 3], label: Label) -> String {
    let w = |x: f32| (x.clamp(0.0, 1.0) * 100.0).round();
    let (n, u) = (w(p[0]), w(p[1]));
    let name = format!(
        "{}: negative {:.0}%, neutral {:.0}%, positive {:.0}%",
        label.as_str(),
        p[0] * 100.0,
        p[1] * 100.0,
        p[2] * 100.0
    );
    format!(
        r#"<svg class="bar" viewBox="0 0 100 8" width="100" height="8" role="img" aria-label="{name}"><title>{name}</title><rect class="neg" x="0" y="0" width="{n}" height="8"/><rect class="neu" x="{n}" y="0" width="{u}" height="8"/><rect class="pos" x="{x}" y="0" width="{r}" height="8"/></svg>"#,
        name = esc(&name),
        x = n + u,
        r = (100.0 - n - u).max(0.0),
    )
}

/// The screens, in the order the navigation shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Screen {
    Overview,
    Alerts,
    Reviews,
    Admin,
}

impl Screen {
    const ALL: [Screen; 4] = [Self::Overview, Self::Alerts, Self::Reviews, Self::Admin];

    fn path(self) -> &'static str {
        match self {
            Self::Overview => "/",
            Self::Alerts => "/alerts",
            Self::Reviews => "/reviews",
            Self::Admin => "/admin",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Self::Overview => "Overview",
            Self::Alerts => "Alerts",
            Self::Reviews => "Reviews",
            Self::Admin => "Admin",
        }
    }

    /// What a role needs to see the screen: the same permission the API asks for the
    /// screen's data.
    pub(crate) fn permission(self) -> Permission {
        match self {
            Self::Overview => Permission::ReadMentions,
            Self::Alerts => Permission::WorkAlerts,
            Self::Reviews => Permission::ModerateReviews,
            Self::Admin => Permission::ManageKeys,
        }
    }

    /// Whether `role` may see it.
    pub(crate) fn open_to(self, role: Role) -> bool {
        role.can(self.permission())
    }
}

/// A whole page for a signed-in person: the header with the screens their role may see
/// and a sign-out form, then `body`.
pub(crate) fn page(session: &Session, current: Option<Screen>, title: &str, body: &str) -> String {
    let mut nav = String::new();
    for s in Screen::ALL.into_iter().filter(|s| s.open_to(session.role)) {
        let here = if Some(s) == current {
            r#" aria-current="page""#
        } else {
            ""
        };
        let _ = write!(nav, r#"<a href="{}"{here}>{}</a>"#, s.path(), s.title());
    }
    let header = format!(
        r#"<header class="top"><a class="brand" href="/">Earshot</a><nav aria-label="Screens">{nav}</nav>
<form class="who" method="post" action="/signout"><input type="hidden" name="csrf" value="{csrf}"><span>{name} ({role})</span> <button type="submit">Sign out</button></form></header>"#,
        csrf = esc(&session.csrf_token),
        name = esc(&session.name),
        role = session.role,
    );
    frame(title, &header, body, Some(&session.csrf_token))
}

/// A page with no signed-in person (sign-in, errors before sign-in).
pub(crate) fn bare_page(title: &str, body: &str) -> String {
    frame(
        title,
        r#"<header class="top"><a class="brand" href="/">Earshot</a></header>"#,
        body,
        None,
    )
}

fn frame(title: &str, header: &str, body: &str, csrf: Option<&str>) -> String {
    let meta = csrf
        .map(|t| format!(r#"<meta name="csrf-token" content="{}">"#, esc(t)))
        .unwrap_or_default();
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Earshot</title>{meta}<link rel="stylesheet" href="/assets/console.css"><script src="/assets/console.js" defer></script></head>
<body>{header}<main id="main">{body}</main></body></html>"#,
        title = esc(title),
    )
}

/// A hidden CSRF field for a form.
pub(crate) fn csrf_field(session: &Session) -> String {
    format!(
        r#"<input type="hidden" name="csrf" value="{}">"#,
        esc(&session.csrf_token)
    )
}

/// `url` as an attribute value when it is an absolute `http` or `https` URL; `None`
/// for anything else (a `javascript:` link in crawled data stays text).
pub(crate) fn safe_href(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    matches!(parsed.scheme(), "http" | "https").then(|| esc(parsed.as_str()))
}

/// A path to come back to after a form, as the form sent it: only a path on this site
/// (`/alerts?status=open`), else `fallback`.
pub(crate) fn local_path<'a>(sent: Option<&'a str>, fallback: &'a str) -> &'a str {
    match sent {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.contains('\\')
                && !p.chars().any(char::is_control) =>
        {
            p
        }
        _ => fallback,
    }
}

/// The facts shown with every mention: source, a link to the original, author,
/// language, sentiment (bar, and a person's correction when there is one) and time.
pub(crate) fn mention_facts(m: &earshot_domain::Mention) -> String {
    let mut out = String::from(r#"<dl class="facts">"#);
    let _ = write!(out, "<dt>Brand</dt><dd>{}</dd>", esc(m.brand.as_str()));
    let _ = write!(out, "<dt>Source</dt><dd>{}</dd>", esc(m.source.as_str()));
    if let Some(href) = m.url.as_deref().and_then(safe_href) {
        let _ = write!(
            out,
            r#"<dt>Original</dt><dd><a href="{href}" rel="noopener noreferrer nofollow" target="_blank">open</a></dd>"#
        );
    }
    let _ = write!(
        out,
        "<dt>Author</dt><dd>{}</dd>",
        esc(m.author.as_deref().unwrap_or("unknown"))
    );
    if let Some(s) = &m.sentiment {
        let _ = write!(
            out,
            "<dt>Language</dt><dd>{}</dd><dt>Sentiment</dt><dd>{}</dd>",
            esc(s.language.as_deref().unwrap_or("?")),
            sentiment_bar(s.probabilities, s.label)
        );
    }
    if let Some(c) = &m.correction {
        let _ = write!(
            out,
            "<dt>Corrected</dt><dd>{} by {}</dd>",
            c.label.as_str(),
            esc(&c.by.name)
        );
    }
    let _ = write!(
        out,
        "<dt>Published</dt><dd>{}</dd></dl>",
        maybe_time(m.published_at.or(Some(m.discovered_at)))
    );
    out
}

/// The "sentiment is wrong" form for a mention: pick the right label and send it.
pub(crate) fn correction_form(
    session: &Session,
    m: &earshot_domain::Mention,
    back: &str,
) -> String {
    if !session.role.can(Permission::CorrectSentiment) {
        return String::new();
    }
    let current = m
        .correction
        .as_ref()
        .map(|c| c.label)
        .or(m.sentiment.as_ref().map(|s| s.label));
    let mut options = String::new();
    for l in Label::ALL.into_iter().filter(|l| Some(*l) != current) {
        let _ = write!(options, r#"<option value="{0}">{0}</option>"#, l.as_str());
    }
    format!(
        r#"<form class="inline" method="post" action="/mentions/{id}/sentiment">{csrf}<input type="hidden" name="back" value="{back}"><label>Sentiment is wrong, it is <select name="label">{options}</select></label> <button type="submit">Correct</button></form>"#,
        id = m.id.0,
        csrf = csrf_field(session),
        back = esc(back),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_leaves_no_markup() {
        assert_eq!(
            esc(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
    }

    #[test]
    fn the_matched_term_is_marked_and_the_rest_escaped() {
        assert_eq!(
            highlight("My ACME kettle <b>broke</b>; acme!", "Acme"),
            "My <mark>ACME</mark> kettle &lt;b&gt;broke&lt;/b&gt;; <mark>acme</mark>!"
        );
        assert_eq!(
            highlight("Ünïcode acme", "acme"),
            "Ünïcode <mark>acme</mark>"
        );
        assert_eq!(highlight("<x>", ""), "&lt;x&gt;");
        assert_eq!(
            highlight("a <script> here", "<script>"),
            "a <mark>&lt;script&gt;</mark> here"
        );
    }

    #[test]
    fn only_web_links_and_local_paths_pass() {
        assert_eq!(
            safe_href("https://forum.test/t?a=1&b=\"x").as_deref(),
            Some("https://forum.test/t?a=1&amp;b=%22x")
        );
        assert_eq!(safe_href("javascript:alert(1)"), None);
        assert_eq!(safe_href("data:text/html,x"), None);
        assert_eq!(safe_href("/relative"), None);
        assert_eq!(local_path(Some("/alerts?x=1"), "/"), "/alerts?x=1");
        for bad in ["//evil.test", "https://evil.test", "/\\evil.test", "alerts"] {
            assert_eq!(local_path(Some(bad), "/alerts"), "/alerts", "{bad}");
        }
        assert_eq!(local_path(None, "/reviews"), "/reviews");
    }

    #[test]
    fn screens_follow_the_role_table() {
        assert!(Screen::Alerts.open_to(Role::Pr));
        assert!(!Screen::Alerts.open_to(Role::Marketing));
        assert!(!Screen::Alerts.open_to(Role::Viewer));
        assert!(Screen::Reviews.open_to(Role::Marketing));
        assert!(!Screen::Reviews.open_to(Role::Pr));
        assert!(Screen::Overview.open_to(Role::Viewer));
        assert!(!Screen::Admin.open_to(Role::Pr));
        assert!(Screen::ALL.iter().all(|s| s.open_to(Role::Admin)));
    }
}
