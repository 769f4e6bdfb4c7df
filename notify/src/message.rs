//! What a notification says, per kind of channel: pure functions over the alerts a
//! message carries (one, or a digest's several).

use earshot_domain::Alert;
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
    let m = &a.mention;
    json!({
        "id": a.id,
        "severity": a.severity,
        "status": a.status,
        "opened_at": a.opened_at,
        "rule_id": a.rule_id,
        "brand": m.brand,
        "source": m.source,
        "url": m.url,
        "title": m.title,
        "snippet": m.snippet,
        "author": m.author,
        "language": m.sentiment.as_ref().and_then(|s| s.language.clone()),
        "p_negative": m.sentiment.as_ref().map(|s| s.probabilities[0]),
    })
}

/// A one-line subject: the alert's severity, brand and source, or a digest's count.
pub fn subject(alerts: &[Alert]) -> String {
    match alerts {
        [a] => format!(
            "[Earshot] {} alert for {} on {}",
            a.severity.as_str(),
            a.mention.brand,
            a.mention.source
        ),
        many => format!("[Earshot] {} new alerts", many.len()),
    }
}

/// Plain text for people (Slack and email): the subject, then a few lines per alert.
pub fn text(alerts: &[Alert]) -> String {
    let mut out = subject(alerts);
    for a in alerts {
        let m = &a.mention;
        out.push_str(&format!(
            "\n\n#{} {} · {} · {}",
            a.id.0,
            a.severity.as_str(),
            m.brand,
            m.source
        ));
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
    out
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
