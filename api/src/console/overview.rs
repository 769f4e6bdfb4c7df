//! The overview everyone sees: per brand, mention volume and sentiment per day over the
//! last two weeks as a stacked bar chart (SVG drawn here, no script), the net sentiment
//! score, the top sources, a place for spikes, and each source's health.

use super::markup::{esc, maybe_time, page, time, Screen};
use super::{ConsoleError, Signed};
use crate::AppState;
use axum::extract::State;
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use earshot_domain::{Alert, AlertKind, AlertSubject, Permission, Timestamp};
use earshot_store::{AlertQuery, Bucket, Stats, StatsQuery};
use std::fmt::Write;
use std::time::Duration;

/// How far back the overview looks.
const SPAN: Duration = Duration::from_secs(14 * 24 * 3600);

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/", get(overview))
}

async fn overview(
    signed: Signed,
    State(state): State<AppState>,
) -> Result<Html<String>, ConsoleError> {
    signed.require(Permission::ReadMentions)?;
    let now = Timestamp::now();
    let mut body = String::from("<h1>Overview</h1>");
    let brands = state.store.brands().await?;
    if brands.is_empty() {
        body.push_str(
            r#"<p class="empty">No brands yet: add them to the config file or in Admin.</p>"#,
        );
    }
    for b in &brands {
        let stats = state
            .store
            .stats(&StatsQuery {
                brand: b.brand.slug.clone(),
                from: now.minus(SPAN),
                to: now,
                bucket: Bucket::Day,
            })
            .await?;
        let spikes = state
            .store
            .alerts(&AlertQuery {
                brand: Some(b.brand.slug.clone()),
                kind: Some(AlertKind::Spike),
                limit: 5,
                ..Default::default()
            })
            .await?;
        body.push_str(&brand_section(&b.brand.name, &stats, &spikes));
    }
    if signed.0.role.can(Permission::ReadSetup) {
        body.push_str(&source_health(&state.store.sources().await?));
    }
    Ok(Html(page(
        &signed.0,
        Some(Screen::Overview),
        "Overview",
        &body,
    )))
}

fn brand_section(name: &str, stats: &Stats, spikes: &[Alert]) -> String {
    let t = &stats.totals;
    let net = t
        .net_sentiment
        .map(|n| format!("{n:+.2}"))
        .unwrap_or_else(|| "—".to_owned());
    let mut top: Vec<_> = stats.sources.iter().map(|(s, c)| (s, c.total)).collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let mut sources = String::new();
    for (s, n) in top.iter().take(5) {
        let _ = write!(
            sources,
            "<li>{} <span class=\"n\">{n}</span></li>",
            esc(s.as_str())
        );
    }
    if sources.is_empty() {
        sources.push_str("<li>none yet</li>");
    }
    format!(
        r#"<section class="brand-overview" aria-labelledby="b-{slug}"><h2 id="b-{slug}">{name}</h2>
<div class="numbers"><p><span class="big">{total}</span> mentions in 14 days</p><p><span class="big">{net}</span> net sentiment <span class="small">(positive − negative) / classified</span></p><p><span class="neg-t">{neg} negative</span> · {neu} neutral · <span class="pos-t">{pos} positive</span> · {unc} not classified yet</p></div>
{chart}
<div class="two"><div><h3>Top sources</h3><ol>{sources}</ol></div>
<div><h3>Latest spikes</h3>{spikes}</div></div>
</section>"#,
        slug = esc(stats.brand.as_str()),
        name = esc(name),
        total = t.total,
        neg = t.negative,
        neu = t.neutral,
        pos = t.positive,
        unc = t.unclassified,
        chart = chart(stats),
        spikes = spike_list(spikes),
    )
}

/// The brand's latest spike alerts, newest first: the hour, the count against its
/// threshold, and the alert's status.
fn spike_list(spikes: &[Alert]) -> String {
    let mut items = String::new();
    for a in spikes {
        if let AlertSubject::Spike { spike, .. } = &a.subject {
            let _ = write!(
                items,
                "<li>{} negative in the hour from {} (above {:.1}) <span class=\"status\">{}</span></li>",
                spike.count,
                time(spike.hour),
                spike.threshold,
                a.status.as_str()
            );
        }
    }
    if items.is_empty() {
        return r#"<p class="empty">No spikes in negative volume.</p>"#.to_owned();
    }
    format!("<ol>{items}</ol>")
}

/// A stacked bar per day (negative, neutral, positive, unclassified), scaled to the
/// busiest day, with a text alternative that lists the numbers.
pub(crate) fn chart(stats: &Stats) -> String {
    const W: f64 = 560.0;
    const H: f64 = 120.0;
    let n = stats.buckets.len().max(1) as f64;
    let max = stats
        .buckets
        .iter()
        .map(|b| b.counts.total)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let slot = W / n;
    let mut bars = String::new();
    let mut described = Vec::new();
    for (i, b) in stats.buckets.iter().enumerate() {
        let x = i as f64 * slot + slot * 0.15;
        let w = slot * 0.7;
        let mut y = H;
        let c = &b.counts;
        for (class, count) in [
            ("neg", c.negative),
            ("neu", c.neutral),
            ("pos", c.positive),
            ("unc", c.unclassified),
        ] {
            if count == 0 {
                continue;
            }
            let h = count as f64 / max * H;
            y -= h;
            let _ = write!(
                bars,
                r#"<rect class="{class}" x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}"/>"#
            );
        }
        let day = b.start.to_datetime().format("%b %d");
        let _ = write!(
            bars,
            r#"<text x="{:.1}" y="{}" class="tick">{}</text>"#,
            x + w / 2.0,
            H + 14.0,
            if i % 2 == 0 {
                day.to_string()
            } else {
                String::new()
            }
        );
        if c.total > 0 {
            described.push(format!(
                "{day}: {} ({} negative, {} positive)",
                c.total, c.negative, c.positive
            ));
        }
    }
    let label = if described.is_empty() {
        "No mentions in the last 14 days".to_owned()
    } else {
        format!("Mentions per day: {}", described.join("; "))
    };
    format!(
        r#"<figure class="chart"><svg viewBox="0 0 {W} {vh}" role="img" aria-label="{label}" preserveAspectRatio="none"><title>{label}</title><line class="axis" x1="0" y1="{H}" x2="{W}" y2="{H}"/>{bars}</svg><figcaption>Mentions per day (UTC), last 14 days: <span class="key neg">negative</span> <span class="key neu">neutral</span> <span class="key pos">positive</span> <span class="key unc">not classified</span>. Busiest day: {max}.</figcaption></figure>"#,
        vh = H + 18.0,
        label = esc(&label),
        max = max as u64,
    )
}

fn source_health(sources: &[earshot_store::StoredSource]) -> String {
    let mut rows = String::new();
    for s in sources {
        let st = &s.state;
        let health = if st.error_count > 0 { "failing" } else { "ok" };
        let _ = write!(
            rows,
            r#"<tr class="{health}"><th scope="row">{name}</th><td>{kind}</td><td>{health}</td><td>{ok}</td><td>{err}</td><td>{next}</td></tr>"#,
            name = esc(s.source.name.as_str()),
            kind = s.source.kind.as_str(),
            ok = maybe_time(st.last_success_at),
            err = st
                .last_error
                .as_deref()
                .map(|e| format!("{} ({} in a row)", esc(e), st.error_count))
                .unwrap_or_else(|| "—".to_owned()),
            next = maybe_time(st.next_check_at),
        );
    }
    format!(
        r#"<section aria-labelledby="health-h"><h2 id="health-h">Source health</h2><div class="scroll"><table><thead><tr><th scope="col">Source</th><th scope="col">Kind</th><th scope="col">State</th><th scope="col">Last success</th><th scope="col">Last error</th><th scope="col">Next check</th></tr></thead><tbody>{rows}</tbody></table></div></section>"#
    )
}
