//! CSV as Earshot exports it, shared by the CLI (`earshot mentions --format csv`) and the
//! API (`GET /api/v1/mentions?format=csv`) so both write the same columns the same way.

use crate::Mention;

/// The columns of a mention export, in order; see [`mention_record`].
pub const MENTION_CSV_HEADER: [&str; 11] = [
    "id",
    "published",
    "brand",
    "source",
    "term",
    "sentiment",
    "score",
    "language",
    "title",
    "url",
    "snippet",
];

/// A mention as the cells of one export row, in [`MENTION_CSV_HEADER`] order. Unknown
/// values (no published date, not classified yet) are empty cells.
pub fn mention_record(m: &Mention) -> Vec<String> {
    let sentiment = m.sentiment.as_ref();
    vec![
        m.id.0.to_string(),
        m.published_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
        m.brand.to_string(),
        m.source.to_string(),
        m.matched_term.clone(),
        sentiment.map(|s| s.label.to_string()).unwrap_or_default(),
        sentiment
            .map(|s| format!("{:+.2}", s.score))
            .unwrap_or_default(),
        sentiment
            .and_then(|s| s.language.clone())
            .unwrap_or_default(),
        m.title.clone(),
        m.url.clone().unwrap_or_default(),
        m.snippet.clone(),
    ]
}

/// One CSV line (RFC 4180 quoting, ending in `\n`).
pub fn csv_line<S: AsRef<str>>(cells: &[S]) -> String {
    let mut line = cells
        .iter()
        .map(|c| csv_field(c.as_ref()))
        .collect::<Vec<_>>()
        .join(",");
    line.push('\n');
    line
}

/// RFC 4180 quoting: fields with commas, quotes or line breaks are quoted, quotes doubled.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\"\nbye"), "\"say \"\"hi\"\"\nbye\"");
    }

    #[test]
    fn a_line_joins_quoted_cells() {
        assert_eq!(csv_line(&["1", "a,b", ""]), "1,\"a,b\",\n");
    }
}
