//! What a notification says, per kind of channel: pure functions over the alerts a
//! message carries (one, or a digest's several).

use earshot_domain::{Alert, AlertSubject, Mention};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

/// The header carrying a webhook body's signature.
pub const SIGNATURE_HEADER: &str = "X-Earshot-Signature";

/// The header carrying a message's idempotency key (webhooks and Slack).
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

/// Snippets are cut to this many characters in text messages.
const SNIPPET_CHARS: usize = 300;

/// `sha256=` and the lowercase hex HMAC-SHA256 of `body` under `secret`: what a
/// receiver recomputes over the raw body it got and compares (in constant time).
pub fn signature(secret: &str, body: &[u8]) -> String {
    // HMAC accepts a key of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256=");
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The JSON a generic webhook receives: the idempotency key, whether it is a digest,
/// and each alert with its mention's essentials.
pub fn webhook_body(alerts: &[Alert], idempotency_key: &str, digest: bool) -> Value {
    json!({
        "idempotency_key": idempotency_key,
        "digest": digest,
        "alerts": alerts.iter().map(alert_json).collect::<Vec<_>>(),
    })
}

fn alert_json(a: &Alert) -> Value {
    let mut out = json!({
        "id": a.id,
        "kind": a.kind(),
        "severity": a.severity,
        "status": a.status,
        "opened_at": a.opened_at,
    });
    let more = match &a.subject {
        AlertSubject::Mention {
            rule_id,
            mention: m,
        } => json!({
            "rule_id": rule_id,
            "brand": m.brand,
            "source": m.source,
            "url": m.url,
            "title": m.title,
            "snippet": m.snippet,
            "author": m.author,
            "language": m.sentiment.as_ref().and_then(|s| s.language.clone()),
            "p_negative": m.sentiment.as_ref().map(|s| s.probabilities[0]),
        }),
        AlertSubject::Spike { brand, spike } => json!({ "brand": brand, "spike": spike }),
        AlertSubject::Source { source } => json!({ "source": source }),
    };
    if let (Some(out), Value::Object(more)) = (out.as_object_mut(), more) {
        out.extend(more);
    }
    out
}

/// What one alert is about, in a few words: brand and source, or the spike's brand, or
/// the failing source.
fn headline(a: &Alert) -> String {
    match &a.subject {
        AlertSubject::Mention { mention: m, .. } => format!("{} on {}", m.brand, m.source),
        AlertSubject::Spike { brand, .. } => format!("a spike in negative mentions of {brand}"),
        AlertSubject::Source { source } => format!("source {} keeps failing", source.name),
    }
}

/// A one-line subject: the alert's severity and what it is about, or a digest's count.
pub fn subject(alerts: &[Alert]) -> String {
    match alerts {
        [a] if a.mention().is_some() => format!(
            "[Earshot] {} alert for {}",
            a.severity.as_str(),
            headline(a)
        ),
        [a] => format!("[Earshot] {} alert: {}", a.severity.as_str(), headline(a)),
        many => format!("[Earshot] {} new alerts", many.len()),
    }
}

/// Plain text for people (Slack and email): the subject, then a few lines per alert.
pub fn text(alerts: &[Alert]) -> String {
    let mut out = subject(alerts);
    for a in alerts {
        out.push_str(&format!(
            "\n\n#{} {} · {}",
            a.id.0,
            a.severity.as_str(),
            headline(a)
        ));
        match &a.subject {
            AlertSubject::Mention { mention: m, .. } => mention_lines(&mut out, m),
            AlertSubject::Spike { spike, .. } => out.push_str(&format!(
                "\n{} negative mentions in the hour from {}, above {:.1} (mean {:.1} + {} x stddev {:.1} over {} hours)",
                spike.count, spike.hour, spike.threshold, spike.mean, spike.k, spike.stddev, spike.history_hours
            )),
            AlertSubject::Source { source } => {
                out.push_str(&format!(
                    "\n{} failed crawls in a row, unhealthy since {}",
                    source.failures, source.unhealthy_since
                ));
                if let Some(error) = &source.last_error {
                    out.push_str(&format!("\nlast error: {error}"));
                }
            }
        }
    }
    out
}

/// A mention alert's title, snippet, author and link.
fn mention_lines(out: &mut String, m: &Mention) {
    if !m.title.is_empty() {
        out.push_str(&format!("\n{}", m.title));
    }
    let snippet: String = m.snippet.chars().take(SNIPPET_CHARS).collect();
    if !snippet.is_empty() {
        let more = if m.snippet.chars().count() > SNIPPET_CHARS {
            "…"
        } else {
            ""
        };
        out.push_str(&format!("\n> {snippet}{more}"));
    }
    if let Some(author) = &m.author {
        out.push_str(&format!("\nby {author}"));
    }
    if let Some(url) = &m.url {
        out.push_str(&format!("\n{url}"));
    }
}

/// The JSON a Slack-compatible incoming webhook receives.
pub fn slack_body(alerts: &[Alert]) -> Value {
    json!({ "text": text(alerts) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_hmac_of_the_body() {
        // RFC 4231, test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
