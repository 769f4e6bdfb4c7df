//! `earshot mentions` and `earshot sources`: stored data as a table, JSON or CSV.

use crate::app;
use crate::cli::{Format, MentionsArgs};
use crate::settings::Settings;
use earshot_domain::{csv_line, mention_record, BrandSlug, Label, Timestamp, MENTION_CSV_HEADER};
use earshot_store::MentionQuery;

/// Prints stored mentions, newest first.
pub async fn mentions(settings: &Settings, args: &MentionsArgs) -> anyhow::Result<()> {
    let query = MentionQuery {
        brand: args.brand.as_deref().map(BrandSlug::parse).transpose()?,
        since: args
            .since
            .as_deref()
            .map(|s| Timestamp::parse_since(s, Timestamp::now()))
            .transpose()?,
        before: None,
        label: args.sentiment.as_deref().map(Label::parse).transpose()?,
        limit: args.limit,
        ..MentionQuery::default()
    };
    let store = app::open_store(settings).await?;
    let found = store.mentions(&query).await?;
    let rows: Vec<Vec<String>> = found.iter().map(mention_record).collect();
    print(
        args.format.format,
        &MENTION_CSV_HEADER,
        &rows,
        &found,
        &[0, 1, 2, 3, 5, 7, 8],
    )
}

/// Prints each source's crawl health: healthy, or unhealthy since when (after
/// `[crawler] unhealthy_after` failures in a row, until a crawl succeeds).
pub async fn sources(settings: &Settings, format: Format) -> anyhow::Result<()> {
    let store = app::open_store(settings).await?;
    let sources = store.sources().await?;
    let when = |t: Option<Timestamp>| t.map(|t| t.to_rfc3339()).unwrap_or_else(|| "-".into());
    let rows: Vec<Vec<String>> = sources
        .iter()
        .map(|s| {
            vec![
                s.source.name.to_string(),
                s.source.kind.as_str().to_owned(),
                s.source.url.as_str().to_owned(),
                when(s.state.last_success_at),
                s.state.error_count.to_string(),
                s.state.last_error.clone().unwrap_or_default(),
                when(s.state.next_check_at),
                if s.health.is_healthy() {
                    "healthy".to_owned()
                } else {
                    format!("unhealthy since {}", when(s.health.unhealthy_since))
                },
            ]
        })
        .collect();
    let header = [
        "name",
        "kind",
        "url",
        "last_success",
        "errors",
        "last_error",
        "next_check",
        "health",
    ];
    print(format, &header, &rows, &sources, &[0, 7, 3, 4, 6, 5])
}

/// Prints rows. A table shows only the `table_columns` (by index) and cuts long cells;
/// CSV has every column; JSON is the full values.
pub fn print<T: serde::Serialize>(
    format: Format,
    header: &[&str],
    rows: &[Vec<String>],
    values: &[T],
    table_columns: &[usize],
) -> anyhow::Result<()> {
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(values)?),
        Format::Csv => {
            print!("{}", csv_line(header));
            for row in rows {
                print!("{}", csv_line(row));
            }
        }
        Format::Table => print!("{}", table(header, rows, table_columns)),
    }
    Ok(())
}

/// A plain-text table of the chosen columns, each cell one line and at most 60 characters.
fn table(header: &[&str], rows: &[Vec<String>], columns: &[usize]) -> String {
    let cell = |s: &str| {
        let one_line: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
        if one_line.chars().count() > 60 {
            format!("{}…", one_line.chars().take(59).collect::<String>())
        } else {
            one_line
        }
    };
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| columns.iter().map(|&i| cell(&r[i])).collect())
        .collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(c, &i)| {
            cells
                .iter()
                .map(|r| r[c].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |vals: Vec<&str>| {
        let mut s = vals
            .iter()
            .zip(&widths)
            .map(|(v, w)| format!("{v}{}", " ".repeat(w.saturating_sub(v.chars().count()))))
            .collect::<Vec<_>>()
            .join("  ");
        s.truncate(s.trim_end().len());
        s.push('\n');
        s
    };
    let mut out = line(columns.iter().map(|&i| header[i]).collect());
    for r in &cells {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    if rows.is_empty() {
        out.push_str("(none)\n");
    }
    out
}
