//! Ingest benchmark: feed bytes in, then parse, match and dedup, then rows committed in
//! SQLite; and, in the same run, Python's `feedparser` parsing the same files.
//!
//! Run it with `benches/run-ingest.sh`, which prepares a Python with feedparser and then
//! runs `cargo bench --bench ingest`. Results go to stdout as Markdown (progress to
//! stderr); BENCHMARKS.md quotes them.
//!
//! What it does:
//!
//! 1. **Corpus.** Generates, from a fixed seed, 200 feeds of 500 items each (RSS 2.0, Atom
//!    and JSON Feed; a few RSS feeds in windows-1251) in English, Ukrainian, Spanish,
//!    Russian and Azerbaijani, with HTML in the bodies, and 200 made-up brands with 5
//!    terms each (Latin and Cyrillic). About 15% of items mention a brand; some items
//!    repeat an earlier item's guid, and some carry a brand's exclusion phrase only. The
//!    files go to disk, so the Python peer parses the very same bytes. The generator
//!    keeps the set of mentions it planted, and every phase checks it stored exactly
//!    those: a benchmark that silently measures the wrong work is worse than none.
//! 2. **Phase A, end to end in process.** Per repetition, a fresh SQLite file; then, per
//!    feed, with its bytes already in memory: `parse_feed`, `BrandMatcher::mentions`
//!    per document (which derives the dedup keys), and `record_crawl` (one transaction
//!    per feed, as the crawler does; the unique index drops duplicates). Timed from the
//!    bytes in memory to the commit; opening the store, migrating, syncing the config and
//!    building the matcher are setup and not timed. One feed at a time, like the peer.
//! 3. **Phase B, the real crawler over HTTP.** An axum server on 127.0.0.1 serves the
//!    files with ETags. On a fresh store, `Crawler::crawl_all_once` runs three times:
//!    the first crawl; a second of the unchanged feeds, which must store 0 new rows and
//!    get a 304 for every feed; and a third with the server ignoring `If-None-Match`
//!    (a server without 304 support), where the dedup index must again keep new rows at 0.
//! 4. **Phase C, the peer.** `benches/feedparser_peer.py` (run by `EARSHOT_BENCH_PYTHON`,
//!    default `python3`) times `feedparser.parse(bytes)` over the same files, parse only.
//!    feedparser 6.0.x cannot read JSON Feed, so the like-for-like ratio uses the XML
//!    files on both sides.
//!
//! Environment: `EARSHOT_BENCH_REPS` (default 5), `EARSHOT_BENCH_PYTHON` (default
//! `python3`), `EARSHOT_BENCH_DIR` (keep the corpus and databases there instead of in a
//! temporary folder).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use earshot_crawler::crawl::{CrawlReport, Crawler};
use earshot_crawler::feed::parse_feed;
use earshot_crawler::fetch::{FetchLimits, Fetcher};
use earshot_crawler::matching::BrandMatcher;
use earshot_crawler::politeness::PolitenessLimits;
use earshot_crawler::schedule;
use earshot_domain::{
    Brand, BrandSlug, BrandTerm, Source, SourceKind, SourceName, SourceState, SourceUrl, Timestamp,
};
use earshot_store::{CrawlRecord, Store};
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Feeds in the corpus.
const FEEDS: usize = 200;
/// Items in every feed: 200 x 500 = 100,000.
const ITEMS_PER_FEED: usize = 500;
/// Brands; each has [`TERMS_PER_BRAND`] terms, so 1,000 terms.
const BRANDS: usize = 200;
const TERMS_PER_BRAND: usize = 5;
/// Percent of items that mention at least one brand.
const MENTION_PERCENT: u64 = 15;
/// The corpus is a pure function of this seed.
const SEED: u64 = 0x00EA_25B0_7BE7_C4A5;
/// Concurrent crawls in phase B: the crawler's default (`[crawler] concurrency`).
const CRAWL_CONCURRENCY: usize = 8;
/// How often a source is due; irrelevant here, since the benchmark crawls all at once.
const EVERY: Duration = Duration::from_secs(3600);

fn main() {
    let reps: usize = std::env::var("EARSHOT_BENCH_REPS")
        .ok()
        .map(|r| {
            r.parse()
                .expect("EARSHOT_BENCH_REPS must be a positive integer")
        })
        .unwrap_or(5)
        .max(1);
    let python = std::env::var("EARSHOT_BENCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let peer_versions = check_peer(&python);
    let load_before = load_average();

    let (_tmp, dir) = match std::env::var_os("EARSHOT_BENCH_DIR") {
        Some(d) => {
            let d = PathBuf::from(d);
            std::fs::create_dir_all(&d).expect("create EARSHOT_BENCH_DIR");
            (None, d)
        }
        None => {
            let t = tempfile::tempdir().expect("create a temporary folder");
            let d = t.path().to_owned();
            (Some(t), d)
        }
    };

    let started = Instant::now();
    let corpus = Corpus::generate(SEED);
    corpus.write(&dir);
    eprintln!(
        "corpus: {} feeds, {} items, {:.1} MB, {} planted mentions, written to {} in {:.1}s",
        corpus.feeds.len(),
        corpus.items(|_| true),
        corpus.bytes() as f64 / 1e6,
        corpus.planted.len(),
        dir.display(),
        started.elapsed().as_secs_f64()
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("start the tokio runtime");
    // Phases A and C alternate, one repetition of each at a time, so that both sides of
    // each pair ran under about the same load on this shared machine.
    let mut ingest: Vec<IngestRun> = Vec::with_capacity(reps);
    let mut peer_runs: Vec<PeerRun> = Vec::with_capacity(reps);
    for rep in 0..reps {
        let run = runtime.block_on(ingest_once(&corpus, &dir, rep));
        eprintln!(
            "phase A {}/{reps}: {:.2}s (parse {:.2}s, match {:.2}s, store {:.2}s), {} rows",
            rep + 1,
            run.total.as_secs_f64(),
            run.parse.as_secs_f64(),
            run.matching.as_secs_f64(),
            run.store.as_secs_f64(),
            run.rows
        );
        ingest.push(run);
        let peer = run_peer(&python, &dir, 1);
        eprintln!(
            "phase C {}/{reps}: feedparser {:.2}s over the XML files",
            rep + 1,
            peer.median.as_secs_f64()
        );
        peer_runs.push(peer);
    }
    let peer = PeerRun::merge(peer_runs);
    let crawls: Vec<CrawlRuns> = runtime.block_on(async {
        let site = Site::start(&corpus).await;
        let mut out = Vec::new();
        for rep in 0..reps {
            let run = crawl_three_times(&corpus, &site, &dir, rep).await;
            eprintln!(
                "phase B {}/{reps}: first {:.2}s ({} rows), unchanged {:.3}s ({} x 304), no-304 {:.2}s",
                rep + 1,
                run.first.as_secs_f64(),
                run.first_rows,
                run.second.as_secs_f64(),
                run.second_not_modified,
                run.third.as_secs_f64()
            );
            out.push(run);
        }
        out
    });
    drop(runtime);
    let load_after = load_average();

    print!(
        "{}",
        report(&Report {
            corpus: &corpus,
            reps,
            ingest: &ingest,
            crawls: &crawls,
            peer: &peer,
            peer_versions: &peer_versions,
            load: (load_before, load_after),
        })
    );
}

// ---------------------------------------------------------------------------------------
// The corpus
// ---------------------------------------------------------------------------------------

/// xorshift64: small, fast, and the same on every machine, which is all a corpus needs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform in `0..n` (n > 0; the modulo bias is irrelevant here).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn range(&mut self, lo: usize, hi_inclusive: usize) -> usize {
        lo + self.below(hi_inclusive - lo + 1)
    }

    fn percent(&mut self, p: u64) -> bool {
        self.next() % 100 < p
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// One language's vocabulary: the words its sentences are made of, space-separated, and
/// its authors, separated by `|`.
struct LanguageSource {
    code: &'static str,
    cyrillic: bool,
    words: &'static str,
    authors: &'static str,
}

const LANGUAGES: &[LanguageSource] = &[
    LanguageSource {
        code: "en",
        cyrillic: false,
        words: "the company customers service new price support update release users market \
            quality delivery today report review phone app team order problem great slow fast \
            cheap expensive store city week launch announced says about with for after before \
            and but our their shipping refund account network outage battery coffee card loan \
            weekend waiting finally honestly broken warranty manager",
        authors: "Jane Roe|Sam Patel|Alex Morgan|Chris O'Neil|Dana Wu",
    },
    LanguageSource {
        code: "uk",
        cyrillic: true,
        words: "компанія клієнти сервіс новий ціна підтримка оновлення випуск користувачі \
            ринок якість доставка сьогодні звіт відгук телефон застосунок команда замовлення \
            проблема чудовий повільний швидкий дешевий дорогий магазин місто тиждень запуск \
            оголосила каже про з для після до і але наш їхній повернення рахунок мережа збій \
            батарея кава картка кредит ґанок єдиний їжа нарешті чесно гарантія",
        authors: "Олена Коваленко|Тарас Шевчук|Ірина Бондар|Богдан Мельник",
    },
    LanguageSource {
        code: "es",
        cyrillic: false,
        words: "la empresa clientes servicio nuevo precio soporte actualización lanzamiento \
            usuarios mercado calidad entrega hoy informe reseña teléfono aplicación equipo \
            pedido problema excelente lento rápido barato caro tienda ciudad semana anunció \
            dice sobre con para después antes y pero nuestro su envío reembolso cuenta red \
            caída batería café tarjeta préstamo niño año garantía sinceramente",
        authors: "María García|José Núñez|Lucía Fernández|Íñigo Ortega",
    },
    LanguageSource {
        code: "ru",
        cyrillic: true,
        words: "компания клиенты сервис новый цена поддержка обновление выпуск пользователи \
            рынок качество доставка сегодня отчёт отзыв телефон приложение команда заказ \
            проблема отличный медленный быстрый дешёвый дорогой магазин город неделя запуск \
            объявила говорит о с для после до и но наш их возврат счёт сеть сбой батарея \
            кофе карта кредит ещё съезд наконец честно гарантия менеджер",
        authors: "Анна Смирнова|Дмитрий Волков|Ольга Соколова|Сергей Попов",
    },
    LanguageSource {
        code: "az",
        cyrillic: false,
        words: "şirkət müştərilər xidmət yeni qiymət dəstək yeniləmə buraxılış istifadəçilər \
            bazar keyfiyyət çatdırılma bu gün hesabat rəy telefon tətbiq komanda sifariş \
            problem əla yavaş sürətli ucuz bahalı mağaza şəhər həftə başlanğıc elan etdi deyir \
            haqqında ilə üçün sonra əvvəl və amma bizim onların qaytarma hesab şəbəkə \
            nasazlıq batareya qəhvə kart kredit ölkə nəhayət zəmanət ıldırım",
        authors: "Leyla Məmmədova|Rəşad Əliyev|Günel Həsənova|Orxan Quliyev",
    },
];

/// A language ready for the generator: its words and authors as slices.
struct Language {
    code: &'static str,
    cyrillic: bool,
    words: Vec<&'static str>,
    authors: Vec<&'static str>,
}

fn languages() -> Vec<Language> {
    LANGUAGES
        .iter()
        .map(|l| Language {
            code: l.code,
            cyrillic: l.cyrillic,
            words: l.words.split_whitespace().collect(),
            authors: l.authors.split('|').collect(),
        })
        .collect()
}

/// Syllables brand names are made of, each with its Cyrillic spelling after a `/`.
const SYLLABLES: &str = "ka/ка lo/ло mi/ми ra/ра ven/вен tor/тор zu/зу bel/бел nix/никс \
    dra/дра sol/сол vex/векс mar/мар tel/тел gon/гон fi/фи ru/ру pax/пакс lin/лин dor/дор \
    zo/зо bri/бри ul/ул ost/ост kin/кин qua/ква ter/тер vo/во nek/нек sar/сар";

/// Product words that follow a brand name in its multi-word terms, Latin/Cyrillic.
const PRODUCTS: &str = "Cloud/Хмара Pay/Пей Mobile/Мобайл Studio/Студіо Bank/Банк \
    Express/Експрес Market/Маркет Energy/Енерджі";

/// Splits a list of `latin/cyrillic` pairs.
fn pairs(list: &'static str) -> Vec<(&'static str, &'static str)> {
    list.split_whitespace()
        .map(|p| p.split_once('/').expect("a latin/cyrillic pair"))
        .collect()
}
const DOMAINS: &[&str] = &["io", "app", "com.ua", "az", "es", "ru"];

/// A generated brand: the domain value, and the strings the generator plants.
struct BrandPlan {
    brand: Brand,
    /// The five terms as written: Latin name, Cyrillic name, Latin product, Cyrillic
    /// product, domain.
    terms: Vec<String>,
    /// An exclusion phrase, for every tenth brand.
    exclusion: Option<String>,
}

/// The three feed formats, as a user meets them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Rss,
    Atom,
    Json,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Rss => "rss",
            Format::Atom => "atom",
            Format::Json => "json",
        }
    }
}

/// One generated feed file.
struct FeedFile {
    /// File name on disk and path on the benchmark's site.
    name: String,
    format: Format,
    /// Served as the HTTP Content-Type and handed to both parsers.
    content_type: &'static str,
    /// Whether the bytes are windows-1251 rather than UTF-8.
    legacy_charset: bool,
    bytes: Bytes,
    items: usize,
    /// The URL the feed is said to come from (phase A and the peer; phase B uses its own).
    base: url::Url,
}

/// The generated feeds and brands, and the mentions the generator planted.
struct Corpus {
    brands: Vec<BrandPlan>,
    feeds: Vec<FeedFile>,
    /// (feed index, brand index, the item's identity: guid, else URL): the rows that a
    /// correct ingest stores, since the store keeps one per source, brand and dedup key.
    planted: HashSet<(usize, usize, String)>,
}

impl Corpus {
    fn generate(seed: u64) -> Corpus {
        let mut rng = Rng(seed);
        let languages = languages();
        let brands = generate_brands(&mut rng, &languages);
        let mut planted = HashSet::new();
        let feeds = (0..FEEDS)
            .map(|i| generate_feed(&mut rng, i, &languages, &brands, &mut planted))
            .collect();
        Corpus {
            brands,
            feeds,
            planted,
        }
    }

    /// Writes every feed and `manifest.tsv` (file, format, content type, base, items),
    /// which the Python peer reads.
    fn write(&self, dir: &Path) {
        let mut manifest = String::from("# file\tformat\tcontent_type\tbase\titems\n");
        for f in &self.feeds {
            std::fs::write(dir.join(&f.name), &f.bytes).expect("write a feed file");
            writeln!(
                manifest,
                "{}\t{}\t{}\t{}\t{}",
                f.name,
                f.format.name(),
                f.content_type,
                f.base,
                f.items
            )
            .expect("write to a String");
        }
        std::fs::write(dir.join("manifest.tsv"), manifest).expect("write manifest.tsv");
    }

    fn brands(&self) -> Vec<Brand> {
        self.brands.iter().map(|b| b.brand.clone()).collect()
    }

    fn items(&self, which: impl Fn(&FeedFile) -> bool) -> usize {
        self.feeds
            .iter()
            .filter(|f| which(f))
            .map(|f| f.items)
            .sum()
    }

    fn bytes(&self) -> usize {
        self.feeds.iter().map(|f| f.bytes.len()).sum()
    }

    fn count(&self, which: impl Fn(&FeedFile) -> bool) -> usize {
        self.feeds.iter().filter(|f| which(f)).count()
    }

    /// Source names for the feeds, in feed order.
    fn source_name(i: usize) -> SourceName {
        SourceName::parse(&format!("bench-feed-{i:03}")).expect("a valid source name")
    }
}

fn generate_brands(rng: &mut Rng, languages: &[Language]) -> Vec<BrandPlan> {
    // A made-up name that happens to be an ordinary word would match filler text and
    // spoil the planted-mention count, so such names are drawn again.
    let syllables = pairs(SYLLABLES);
    let products = pairs(PRODUCTS);
    let mut taken: HashSet<String> = languages
        .iter()
        .flat_map(|l| l.words.iter().chain(l.authors.iter()))
        .flat_map(|w| w.split_whitespace())
        .chain(products.iter().flat_map(|(l, c)| [*l, *c]))
        .map(earshot_domain::fold)
        .collect();
    let mut out = Vec::with_capacity(BRANDS);
    while out.len() < BRANDS {
        let n = rng.range(2, 3);
        let (mut latin, mut cyrillic) = (String::new(), String::new());
        for _ in 0..n {
            let (l, c) = rng.pick(&syllables);
            latin.push_str(l);
            cyrillic.push_str(c);
        }
        if !taken.insert(earshot_domain::fold(&latin))
            || !taken.insert(earshot_domain::fold(&cyrillic))
        {
            continue;
        }
        let slug = latin.clone();
        let latin = capitalise(&latin);
        let cyrillic = capitalise(&cyrillic);
        let (product, product_cyr) = rng.pick(&products);
        let terms = vec![
            latin.clone(),
            cyrillic.clone(),
            format!("{latin} {product}"),
            format!("{cyrillic} {product_cyr}"),
            format!("{slug}.{}", rng.pick(DOMAINS)),
        ];
        let exclusion = (out.len() % 10 == 0).then(|| format!("{latin} Street"));
        let brand = Brand::new(
            BrandSlug::parse(&slug).expect("a generated slug is valid"),
            latin.clone(),
            terms
                .iter()
                .map(|t| BrandTerm::parse(t).expect("a generated term is valid"))
                .collect(),
            exclusion
                .iter()
                .map(|t| BrandTerm::parse(t).expect("a generated exclusion is valid"))
                .collect(),
        )
        .expect("a brand with terms");
        assert_eq!(brand.terms.len(), TERMS_PER_BRAND);
        out.push(BrandPlan {
            brand,
            terms,
            exclusion,
        });
    }
    out
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// One item before it is written in a feed format.
struct Item {
    guid: Option<String>,
    link: String,
    title: String,
    /// An HTML fragment.
    html: String,
    author: &'static str,
    category: &'static str,
    published: DateTime<Utc>,
}

fn generate_feed(
    rng: &mut Rng,
    index: usize,
    languages: &[Language],
    brands: &[BrandPlan],
    planted: &mut HashSet<(usize, usize, String)>,
) -> FeedFile {
    let lang = &languages[index % languages.len()];
    let format = if index % 17 == 5 {
        Format::Json
    } else if index.is_multiple_of(3) {
        Format::Atom
    } else {
        Format::Rss
    };
    // Some older Russian-language sites still serve windows-1251, declared in the prolog.
    let legacy_charset = format == Format::Rss && lang.code == "ru" && index % 25 == 3;
    let site = format!("{}-news-{index}.example", lang.code);
    let newest = DateTime::parse_from_rfc3339("2026-11-23T09:00:00Z")
        .expect("a valid date")
        .with_timezone(&Utc);

    let mut items = Vec::with_capacity(ITEMS_PER_FEED);
    let mut previous_guid: Option<String> = None;
    for n in 0..ITEMS_PER_FEED {
        // Feeds repeat items now and then (an edited post re-published under its guid).
        let guid = if rng.percent(1) && previous_guid.is_some() {
            previous_guid.clone()
        } else if format == Format::Rss && rng.percent(5) {
            None
        } else {
            Some(format!("tag:{site},2026:post-{n}"))
        };
        previous_guid.clone_from(&guid);
        let path = format!("https://{site}/{}/p/{index}/{n}", lang.code);
        let link = if rng.percent(15) {
            format!("{path}?utm_source=rss&utm_medium=feed")
        } else {
            path.clone()
        };
        let identity = guid.clone().unwrap_or(path);

        let mut title_words = words(rng, lang, 6, 12);
        let mut paragraphs: Vec<Vec<Vec<String>>> = (0..rng.range(1, 3))
            .map(|_| {
                (0..rng.range(1, 3))
                    .map(|_| words(rng, lang, 8, 18))
                    .collect()
            })
            .collect();
        if rng.percent(MENTION_PERCENT) {
            let mentions = if rng.percent(10) { 2 } else { 1 };
            for _ in 0..mentions {
                // Popular brands are mentioned far more often than the rest.
                let popular = rng.below(brands.len()) + 1;
                let b = rng.below(popular);
                let term = pick_term(rng, lang, &brands[b]);
                let term = if rng.percent(10) {
                    term.to_uppercase()
                } else {
                    term.to_owned()
                };
                if rng.percent(30) {
                    insert_word(rng, &mut title_words, term);
                } else {
                    let p = rng.below(paragraphs.len());
                    let s = rng.below(paragraphs[p].len());
                    let term = if rng.percent(30) {
                        format!("<b>{term}</b>")
                    } else {
                        term
                    };
                    insert_word(rng, &mut paragraphs[p][s], term);
                }
                planted.insert((index, b, identity.clone()));
            }
        }
        // A brand's exclusion phrase on its own is not a mention of it.
        if rng.percent(1) {
            let b = 10 * rng.below(brands.len() / 10);
            if let Some(phrase) = &brands[b].exclusion {
                let p = rng.below(paragraphs.len());
                insert_word(rng, &mut paragraphs[p][0], phrase.clone());
            }
        }
        let title = sentence(&title_words, false);
        let html = body_html(rng, lang, &site, index, n, &paragraphs);
        items.push(Item {
            guid,
            link,
            title,
            html,
            author: rng.pick(&lang.authors),
            category: rng.pick(&lang.words),
            published: newest - chrono::Duration::minutes((n * 37 + index * 11) as i64),
        });
    }

    let name = format!("feed-{index:03}.{}", format.name());
    let base = url::Url::parse(&format!("https://feeds.example/{name}")).expect("a valid URL");
    let title = format!("{} news #{index}", lang.code.to_uppercase());
    let (bytes, content_type) = match format {
        Format::Rss => {
            let xml = rss(&title, &site, lang.code, &items);
            if legacy_charset {
                let xml = xml.replacen("encoding=\"utf-8\"", "encoding=\"windows-1251\"", 1);
                let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(&xml);
                (bytes.into_owned(), "application/rss+xml")
            } else {
                (xml.into_bytes(), "application/rss+xml; charset=utf-8")
            }
        }
        Format::Atom => (
            atom(&title, &site, lang.code, &items).into_bytes(),
            "application/atom+xml; charset=utf-8",
        ),
        Format::Json => (json_feed(&title, &site, &items), "application/feed+json"),
    };
    FeedFile {
        name,
        format,
        content_type,
        legacy_charset,
        bytes: Bytes::from(bytes),
        items: items.len(),
        base,
    }
}

/// A term for a brand as a writer in `lang` would likely spell it.
fn pick_term<'a>(rng: &mut Rng, lang: &Language, brand: &'a BrandPlan) -> &'a str {
    let (latin, cyrillic) = ([0, 2, 4], [1, 3]);
    let native_first = if lang.cyrillic { 70 } else { 85 };
    let i = match (lang.cyrillic, rng.percent(native_first)) {
        (true, true) | (false, false) => rng.pick(&cyrillic),
        (false, true) | (true, false) => rng.pick(&latin),
    };
    &brand.terms[i]
}

fn words(rng: &mut Rng, lang: &Language, lo: usize, hi: usize) -> Vec<String> {
    (0..rng.range(lo, hi))
        .map(|_| rng.pick(&lang.words).to_owned())
        .collect()
}

fn insert_word(rng: &mut Rng, words: &mut Vec<String>, word: String) {
    let at = rng.below(words.len() + 1);
    words.insert(at, word);
}

/// Words joined into a sentence, capitalised, with a full stop if asked.
fn sentence(words: &[String], full_stop: bool) -> String {
    let mut s = capitalise(&words.join(" "));
    if full_stop {
        s.push('.');
    }
    s
}

/// An item body as feeds carry it: paragraphs, inline markup, links, entities, the odd
/// image with a relative URL and the odd tracking script.
fn body_html(
    rng: &mut Rng,
    lang: &Language,
    site: &str,
    feed: usize,
    item: usize,
    paragraphs: &[Vec<Vec<String>>],
) -> String {
    let mut html = String::new();
    for (p, sentences) in paragraphs.iter().enumerate() {
        html.push_str("<p>");
        for (s, ws) in sentences.iter().enumerate() {
            if s > 0 {
                html.push_str(if rng.percent(20) { "<br/>" } else { " " });
            }
            let mut ws = ws.clone();
            // Markup goes on a filler word only, never on a planted term, and keeps the
            // spaces around it, so what a reader sees is exactly the sentence.
            let w = rng.below(ws.len());
            if !ws[w].contains(['<', '.']) && !ws[w].chars().any(char::is_uppercase) {
                ws[w] = match rng.below(4) {
                    0 => format!("<b>{}</b>", ws[w]),
                    1 => format!("<em>{}</em>", ws[w]),
                    2 => format!(
                        r#"<a href="https://{site}/{}/tag/{}">{}</a>"#,
                        lang.code, ws[w], ws[w]
                    ),
                    _ => format!("{} &amp;", ws[w]),
                };
            }
            html.push_str(&sentence(&ws, true));
        }
        html.push_str("</p>");
        if p == 0 && rng.percent(20) {
            write!(
                html,
                r#"<p><img src="/media/{feed}-{item}.jpg" alt="" width="640" height="360"/></p>"#
            )
            .expect("write to a String");
        }
    }
    if rng.percent(2) {
        html.push_str(r#"<div class="ad"><script>track("rss");</script></div>"#);
    }
    html.push_str("<p>&nbsp;&#8212; ");
    html.push_str(rng.pick(&lang.words));
    html.push_str("</p>");
    html
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

fn rss(title: &str, site: &str, lang: &str, items: &[Item]) -> String {
    let mut x = String::with_capacity(items.len() * 1200);
    write!(
        x,
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
         <rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:atom=\"http://www.w3.org/2005/Atom\">\n\
         <channel><title>{}</title><link>https://{site}/</link><description>Latest posts</description>\
         <language>{lang}</language><lastBuildDate>{}</lastBuildDate>\
         <atom:link href=\"https://{site}/feed.xml\" rel=\"self\" type=\"application/rss+xml\"/>\n",
        xml_escape(title),
        items[0].published.to_rfc2822()
    )
    .expect("write to a String");
    for (n, it) in items.iter().enumerate() {
        x.push_str("<item><title>");
        x.push_str(&xml_escape(&it.title));
        x.push_str("</title><link>");
        x.push_str(&xml_escape(&it.link));
        x.push_str("</link>");
        if let Some(g) = &it.guid {
            write!(x, "<guid isPermaLink=\"false\">{}</guid>", xml_escape(g))
                .expect("write to a String");
        }
        write!(
            x,
            "<pubDate>{}</pubDate><dc:creator>{}</dc:creator><category>{}</category><description>",
            it.published.to_rfc2822(),
            xml_escape(it.author),
            xml_escape(it.category)
        )
        .expect("write to a String");
        // Both ways feeds carry HTML: a CDATA section, or entity-escaped.
        if n % 2 == 0 {
            x.push_str("<![CDATA[");
            x.push_str(&it.html);
            x.push_str("]]>");
        } else {
            x.push_str(&xml_escape(&it.html));
        }
        x.push_str("</description></item>\n");
    }
    x.push_str("</channel></rss>\n");
    x
}

fn atom(title: &str, site: &str, lang: &str, items: &[Item]) -> String {
    let mut x = String::with_capacity(items.len() * 1300);
    write!(
        x,
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
         <feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"{lang}\">\
         <id>tag:{site},2026:feed</id><title>{}</title><updated>{}</updated>\
         <link rel=\"alternate\" href=\"https://{site}/\"/><link rel=\"self\" href=\"https://{site}/feed.atom\"/>\n",
        xml_escape(title),
        items[0].published.to_rfc3339()
    )
    .expect("write to a String");
    for it in items {
        let date = it.published.to_rfc3339();
        writeln!(
            x,
            "<entry><id>{}</id><title type=\"text\">{}</title>\
             <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\
             <published>{date}</published><updated>{date}</updated>\
             <author><name>{}</name></author><category term=\"{}\"/>\
             <content type=\"html\">{}</content></entry>",
            xml_escape(it.guid.as_deref().unwrap_or(&it.link)),
            xml_escape(&it.title),
            xml_escape(&it.link),
            xml_escape(it.author),
            xml_escape(it.category),
            xml_escape(&it.html)
        )
        .expect("write to a String");
    }
    x.push_str("</feed>\n");
    x
}

fn json_feed(title: &str, site: &str, items: &[Item]) -> Vec<u8> {
    let items: Vec<serde_json::Value> = items
        .iter()
        .map(|it| {
            serde_json::json!({
                "id": it.guid.as_deref().unwrap_or(&it.link),
                "url": it.link,
                "title": it.title,
                "content_html": it.html,
                "date_published": it.published.to_rfc3339(),
                "authors": [{ "name": it.author }],
                "tags": [it.category],
            })
        })
        .collect();
    serde_json::to_vec_pretty(&serde_json::json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": title,
        "home_page_url": format!("https://{site}/"),
        "feed_url": format!("https://{site}/feed.json"),
        "items": items,
    }))
    .expect("JSON values serialise")
}

// ---------------------------------------------------------------------------------------
// Phase A: end to end, in process
// ---------------------------------------------------------------------------------------

/// One repetition of phase A.
struct IngestRun {
    /// Wall time over all feeds, bytes in memory to the last commit.
    total: Duration,
    /// The same, over the XML feeds only (the files the peer can parse).
    total_xml: Duration,
    /// Time in `parse_feed`: charset decoding, feed-rs, HTML to text, links.
    parse: Duration,
    /// `parse_feed` over the XML feeds only.
    parse_xml: Duration,
    /// Time in `BrandMatcher::mentions`: folding, Aho-Corasick, dedup keys, snippets.
    matching: Duration,
    /// Time building the crawl record and in `record_crawl` (one transaction per feed).
    store: Duration,
    /// Documents `parse_feed` returned.
    items: usize,
    /// Mentions handed to the store (before the dedup index).
    mentions: usize,
    /// Rows the store reported new, and then counted.
    rows: u64,
    /// Building the matcher over 1,000 terms: setup, reported apart.
    matcher_build: Duration,
}

async fn fresh_store(dir: &Path, name: &str) -> Arc<dyn Store> {
    let path = dir.join(name);
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
    earshot_store::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("open a fresh SQLite store")
}

async fn ingest_once(corpus: &Corpus, dir: &Path, rep: usize) -> IngestRun {
    let brands = corpus.brands();
    let sources: Vec<Source> = corpus
        .feeds
        .iter()
        .enumerate()
        .map(|(i, f)| Source {
            name: Corpus::source_name(i),
            kind: SourceKind::Feed,
            url: SourceUrl::parse(f.base.as_str()).expect("a valid source URL"),
            every: EVERY,
            recipe: None,
            host_interval: None,
        })
        .collect();
    let store = fresh_store(dir, &format!("bench-ingest-{rep}.db")).await;
    store
        .sync_config(&brands, &sources, Timestamp::now())
        .await
        .expect("sync the config");
    let ids: HashMap<SourceName, earshot_domain::SourceId> = store
        .sources()
        .await
        .expect("list sources")
        .into_iter()
        .map(|s| (s.source.name, s.id))
        .collect();
    let built = Instant::now();
    let matcher = BrandMatcher::new(&brands);
    let matcher_build = built.elapsed();

    let mut run = IngestRun {
        total: Duration::ZERO,
        total_xml: Duration::ZERO,
        parse: Duration::ZERO,
        parse_xml: Duration::ZERO,
        matching: Duration::ZERO,
        store: Duration::ZERO,
        items: 0,
        mentions: 0,
        rows: 0,
        matcher_build,
    };
    let all = Instant::now();
    for (i, feed) in corpus.feeds.iter().enumerate() {
        let t0 = Instant::now();
        let docs = parse_feed(&feed.bytes, Some(feed.content_type), &feed.base)
            .unwrap_or_else(|e| panic!("Earshot could not parse {}: {e}", feed.name));
        let t1 = Instant::now();
        let mentions: Vec<_> = docs.iter().flat_map(|d| matcher.mentions(d)).collect();
        let t2 = Instant::now();
        let now = Timestamp::now();
        let record = CrawlRecord {
            started_at: now,
            finished_at: now,
            http_status: Some(200),
            bytes: feed.bytes.len() as u64,
            items_seen: docs.len() as u64,
            error: None,
            state: schedule::after_success(&SourceState::default(), now, EVERY, None, None),
            mentions,
            problems: Vec::new(),
            aggregate: None,
            unhealthy_after: None,
        };
        let new = store
            .record_crawl(ids[&Corpus::source_name(i)], "bench", &record)
            .await
            .expect("record the crawl");
        let t3 = Instant::now();

        run.parse += t1 - t0;
        run.matching += t2 - t1;
        run.store += t3 - t2;
        if feed.format != Format::Json {
            run.total_xml += t3 - t0;
            run.parse_xml += t1 - t0;
        }
        run.items += docs.len();
        run.mentions += record.mentions.len();
        run.rows += new;
    }
    run.total = all.elapsed();

    let expected_items = corpus.items(|_| true);
    assert_eq!(
        run.items, expected_items,
        "phase A: Earshot parsed {} items but the corpus has {expected_items}",
        run.items
    );
    let stored = store.count_mentions().await.expect("count mentions");
    assert_eq!(
        stored, run.rows,
        "phase A: record_crawl reported {} new rows but the table holds {stored}",
        run.rows
    );
    assert_eq!(
        stored,
        corpus.planted.len() as u64,
        "phase A: stored {stored} mentions but the generator planted {}; matching or dedup \
         is wrong, or the generator planted something it did not count",
        corpus.planted.len()
    );
    run
}

// ---------------------------------------------------------------------------------------
// Phase B: the crawler over HTTP
// ---------------------------------------------------------------------------------------

/// The benchmark's feed site on 127.0.0.1: every corpus file at `/feeds/NAME`, with a
/// strong ETag, answering 304 to a matching `If-None-Match` unless told not to.
struct Site {
    base: String,
    state: Arc<SiteState>,
}

struct SiteState {
    /// Path to (body, content type, ETag).
    files: HashMap<String, (Bytes, &'static str, String)>,
    /// Off: behave like a server without conditional GET support.
    honour_etags: AtomicBool,
    /// 304s sent, to check the crawler's reports against what went over the wire.
    served_304: AtomicU64,
}

impl Site {
    async fn start(corpus: &Corpus) -> Site {
        let files = corpus
            .feeds
            .iter()
            .map(|f| {
                let etag = format!("\"{:016x}\"", fnv1a(&f.bytes));
                (
                    format!("/feeds/{}", f.name),
                    (f.bytes.clone(), f.content_type, etag),
                )
            })
            .collect();
        let state = Arc::new(SiteState {
            files,
            honour_etags: AtomicBool::new(true),
            served_304: AtomicU64::new(0),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the benchmark's feed site");
        let base = format!("http://{}", listener.local_addr().expect("local address"));
        let app = axum::Router::new()
            .fallback(serve_feed)
            .with_state(state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Site { base, state }
    }

    fn url(&self, feed: &FeedFile) -> String {
        format!("{}/feeds/{}", self.base, feed.name)
    }
}

async fn serve_feed(State(site): State<Arc<SiteState>>, uri: Uri, headers: HeaderMap) -> Response {
    let Some((body, content_type, etag)) = site.files.get(uri.path()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes());
    if matches && site.honour_etags.load(Ordering::Relaxed) {
        site.served_304.fetch_add(1, Ordering::Relaxed);
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag.clone())]).into_response();
    }
    (
        [
            (header::CONTENT_TYPE, (*content_type).to_owned()),
            (header::ETAG, etag.clone()),
        ],
        body.clone(),
    )
        .into_response()
}

/// FNV-1a, 64-bit: a content fingerprint for ETags, no dependency needed.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// One repetition of phase B.
struct CrawlRuns {
    first: Duration,
    first_items: u64,
    first_rows: u64,
    /// The second crawl, feeds unchanged, server honouring ETags.
    second: Duration,
    second_rows: u64,
    second_not_modified: usize,
    /// The third crawl, feeds unchanged, server ignoring `If-None-Match`.
    third: Duration,
    third_rows: u64,
    third_full_fetches: usize,
}

async fn crawl_three_times(corpus: &Corpus, site: &Site, dir: &Path, rep: usize) -> CrawlRuns {
    let brands = corpus.brands();
    let sources: Vec<Source> = corpus
        .feeds
        .iter()
        .enumerate()
        .map(|(i, f)| Source {
            name: Corpus::source_name(i),
            kind: SourceKind::Feed,
            url: SourceUrl::parse(&site.url(f)).expect("a valid source URL"),
            every: EVERY,
            recipe: None,
            host_interval: None,
        })
        .collect();
    let store = fresh_store(dir, &format!("bench-crawl-{rep}.db")).await;
    store
        .sync_config(&brands, &sources, Timestamp::now())
        .await
        .expect("sync the config");
    // The local site is ours and the peer (feedparser on the same files) waits for no
    // host: no per-host interval, as many requests at once as crawls. robots.txt is still
    // fetched, once (a 404, so everything is allowed).
    let fetcher = Fetcher::new(FetchLimits {
        politeness: PolitenessLimits::unthrottled(CRAWL_CONCURRENCY),
        ..FetchLimits::default()
    })
    .expect("start the HTTP client");
    let crawler = Crawler::new(fetcher, store.clone(), "bench");

    let crawl = |what: &'static str| {
        let crawler = crawler.clone();
        async move {
            let t = Instant::now();
            let reports = crawler
                .crawl_all_once(None, CRAWL_CONCURRENCY, |_| {}, |_| {})
                .await
                .expect("claim sources");
            let took = t.elapsed();
            let failed: Vec<&CrawlReport> = reports.iter().filter(|r| r.error.is_some()).collect();
            assert!(
                failed.is_empty() && reports.len() == FEEDS,
                "phase B, {what}: {} of {} sources crawled, {} failed; first failure: {:?}",
                reports.len(),
                FEEDS,
                failed.len(),
                failed.first()
            );
            (took, reports)
        }
    };
    let new_rows = |reports: &[CrawlReport]| reports.iter().map(|r| r.new_mentions).sum::<u64>();

    let (first, reports) = crawl("first crawl").await;
    let first_items: u64 = reports.iter().map(|r| r.items_seen).sum();
    let first_rows = new_rows(&reports);
    let stored = store.count_mentions().await.expect("count mentions");
    assert_eq!(
        (first_items, stored),
        (corpus.items(|_| true) as u64, corpus.planted.len() as u64),
        "phase B, first crawl: (items seen, rows stored) differ from the corpus's (items, planted mentions)"
    );

    let served_304 = site.state.served_304.load(Ordering::Relaxed);
    let (second, reports) = crawl("second crawl, unchanged feeds").await;
    let served_304 = site.state.served_304.load(Ordering::Relaxed) - served_304;
    let second_rows = new_rows(&reports);
    let second_not_modified = reports.iter().filter(|r| r.not_modified).count();
    let after = store.count_mentions().await.expect("count mentions");
    assert!(
        second_rows == 0
            && after == stored
            && second_not_modified == FEEDS
            && served_304 == FEEDS as u64,
        "phase B, second crawl of unchanged feeds: expected 0 new rows and {FEEDS} x 304, \
         got {second_rows} new rows (table {stored} -> {after}), {second_not_modified} reports \
         of 304 and {served_304} 304s sent by the site"
    );

    site.state.honour_etags.store(false, Ordering::Relaxed);
    let (third, reports) = crawl("third crawl, server without 304").await;
    site.state.honour_etags.store(true, Ordering::Relaxed);
    let third_rows = new_rows(&reports);
    let third_full_fetches = reports
        .iter()
        .filter(|r| r.http_status == Some(200))
        .count();
    let after = store.count_mentions().await.expect("count mentions");
    assert!(
        third_rows == 0 && after == stored && third_full_fetches == FEEDS,
        "phase B, third crawl (server ignores If-None-Match): expected 0 new rows from \
         {FEEDS} full fetches, got {third_rows} new rows (table {stored} -> {after}) from \
         {third_full_fetches} x 200"
    );

    CrawlRuns {
        first,
        first_items,
        first_rows,
        second,
        second_rows,
        second_not_modified,
        third,
        third_rows,
        third_full_fetches,
    }
}

// ---------------------------------------------------------------------------------------
// Phase C: the peer
// ---------------------------------------------------------------------------------------

/// What `feedparser_peer.py` printed.
struct PeerRun {
    items: u64,
    expected_items: u64,
    files: u64,
    median: Duration,
    runs: Vec<Duration>,
    bozo_files: usize,
    skipped_files: u64,
    skipped_items: u64,
    skipped_entries_found: u64,
}

impl PeerRun {
    /// One result from several single-run invocations; they must agree on what they parsed.
    fn merge(runs: Vec<PeerRun>) -> PeerRun {
        let counts: HashSet<(u64, u64)> = runs.iter().map(|r| (r.items, r.files)).collect();
        assert_eq!(
            counts.len(),
            1,
            "feedparser's (entries, files) differed between runs: {counts:?}"
        );
        let times: Vec<Duration> = runs.iter().flat_map(|r| r.runs.clone()).collect();
        let mut merged = runs.into_iter().last().expect("at least one peer run");
        merged.median =
            Duration::from_secs_f64(median(times.iter().map(Duration::as_secs_f64).collect()));
        merged.runs = times;
        merged
    }
}

const PEER_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/feedparser_peer.py");

fn no_peer(python: &str, why: &str) -> ! {
    panic!(
        "the peer (Python feedparser) is not available from {python:?}: {why}\n\
         run benches/run-ingest.sh, which installs feedparser into a virtualenv and runs \
         this benchmark with it (or point EARSHOT_BENCH_PYTHON at a Python that has feedparser)"
    )
}

/// Fails fast, before any work, when the interpreter lacks feedparser. Returns
/// "Python X, feedparser Y".
fn check_peer(python: &str) -> String {
    let out = std::process::Command::new(python)
        .args([
            "-c",
            "import sys, feedparser; print('Python %s, feedparser %s' % (sys.version.split()[0], feedparser.__version__))",
        ])
        .output()
        .unwrap_or_else(|e| no_peer(python, &format!("could not run it: {e}")));
    if !out.status.success() {
        no_peer(python, String::from_utf8_lossy(&out.stderr).trim());
    }
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn run_peer(python: &str, dir: &Path, reps: usize) -> PeerRun {
    let out = std::process::Command::new(python)
        .arg(PEER_SCRIPT)
        .arg(dir)
        .env("EARSHOT_BENCH_REPS", reps.to_string())
        .stderr(std::process::Stdio::inherit())
        .output()
        .unwrap_or_else(|e| no_peer(python, &format!("could not run it: {e}")));
    match out.status.code() {
        Some(0) => {}
        Some(3) => no_peer(python, "feedparser is not installed"),
        _ => panic!("{PEER_SCRIPT} failed ({}); its stderr is above", out.status),
    }
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("the peer prints one JSON object");
    let num = |key: &str| {
        v.pointer(key)
            .and_then(serde_json::Value::as_f64)
            .unwrap_or_else(|| panic!("the peer's JSON has no number at {key}"))
    };
    let runs = v["runs"]
        .as_array()
        .expect("the peer's JSON has runs")
        .iter()
        .map(|r| Duration::from_secs_f64(r.as_f64().expect("a run is a number")))
        .collect();
    PeerRun {
        items: num("/items") as u64,
        expected_items: num("/expected_items") as u64,
        files: num("/files") as u64,
        median: Duration::from_secs_f64(num("/median_seconds")),
        runs,
        bozo_files: v["bozo_files"].as_array().map_or(0, Vec::len),
        skipped_files: num("/skipped/files") as u64,
        skipped_items: num("/skipped/items") as u64,
        skipped_entries_found: num("/skipped/entries_feedparser_found_in_them") as u64,
    }
}

// ---------------------------------------------------------------------------------------
// The report
// ---------------------------------------------------------------------------------------

struct Report<'a> {
    corpus: &'a Corpus,
    reps: usize,
    ingest: &'a [IngestRun],
    crawls: &'a [CrawlRuns],
    peer: &'a PeerRun,
    peer_versions: &'a str,
    load: (String, String),
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

fn median_secs<T>(runs: &[T], f: impl Fn(&T) -> Duration) -> f64 {
    median(runs.iter().map(|r| f(r).as_secs_f64()).collect())
}

/// Every run's value, as `a / b / c`.
fn all_runs(values: impl Iterator<Item = f64>, decimals: usize) -> String {
    values
        .map(|v| format!("{v:.decimals$}"))
        .collect::<Vec<_>>()
        .join(" / ")
}

fn thousands(n: f64) -> String {
    let digits = format!("{:.0}", n);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn report(r: &Report<'_>) -> String {
    let c = r.corpus;
    let total_items = c.items(|_| true) as f64;
    let xml_items = c.items(|f| f.format != Format::Json) as f64;
    let xml_files = c.count(|f| f.format != Format::Json);

    let e2e_all = median_secs(r.ingest, |i| i.total);
    let e2e_xml = median_secs(r.ingest, |i| i.total_xml);
    let parse_xml = median_secs(r.ingest, |i| i.parse_xml);
    let peer = r.peer.median.as_secs_f64();
    let rate = |items: f64, secs: f64| items / secs;
    let ratio = rate(xml_items, e2e_xml) / rate(r.peer.items as f64, peer);
    let parse_ratio = rate(xml_items, parse_xml) / rate(r.peer.items as f64, peer);
    // Each repetition's ratio against the peer run right after it, to show the spread.
    let ratios: Vec<f64> = r
        .ingest
        .iter()
        .zip(&r.peer.runs)
        .map(|(i, p)| {
            rate(xml_items, i.total_xml.as_secs_f64()) / rate(r.peer.items as f64, p.as_secs_f64())
        })
        .collect();
    let (ratio_lo, ratio_hi) = ratios
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));

    let mut s = String::new();
    let w = &mut s;
    let _ = writeln!(w, "## Ingest: Earshot vs feedparser\n");
    let _ = writeln!(
        w,
        "Corpus (seed {SEED:#x}): {} feeds ({} RSS 2.0, of them {} windows-1251; {} Atom; {} JSON Feed), \
         {} items, {:.1} MB; {} brands with {} terms; {} mentions planted ({:.1}% of items carry one).",
        c.feeds.len(),
        c.count(|f| f.format == Format::Rss),
        c.count(|f| f.legacy_charset),
        c.count(|f| f.format == Format::Atom),
        c.count(|f| f.format == Format::Json),
        thousands(total_items),
        c.bytes() as f64 / 1e6,
        c.brands.len(),
        thousands((c.brands.len() * TERMS_PER_BRAND) as f64),
        thousands(c.planted.len() as f64),
        100.0 * c.planted.iter().map(|(f, _, k)| (f, k)).collect::<HashSet<_>>().len() as f64
            / total_items,
    );
    let _ = writeln!(
        w,
        "Machine: {} cores ({}), shared; load average {} at start, {} at end. {} repetitions; \
         medians quoted. Peer: {}.\n",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model(),
        r.load.0,
        r.load.1,
        r.reps,
        r.peer_versions
    );

    let _ = writeln!(
        w,
        "| measurement | files | items | median time | median items/s | every run (s) |"
    );
    let _ = writeln!(w, "|---|---:|---:|---:|---:|---|");
    let _ = writeln!(
        w,
        "| Earshot end to end (parse, match, dedup, SQLite commit) | {} | {} | {:.2} s | {} | {} |",
        c.feeds.len(),
        thousands(total_items),
        e2e_all,
        thousands(rate(total_items, e2e_all)),
        all_runs(r.ingest.iter().map(|i| i.total.as_secs_f64()), 2)
    );
    let _ = writeln!(
        w,
        "| Earshot end to end, XML files only | {xml_files} | {} | {:.2} s | {} | {} |",
        thousands(xml_items),
        e2e_xml,
        thousands(rate(xml_items, e2e_xml)),
        all_runs(r.ingest.iter().map(|i| i.total_xml.as_secs_f64()), 2)
    );
    let _ = writeln!(
        w,
        "| Earshot parse only (`parse_feed`), XML files only | {xml_files} | {} | {:.2} s | {} | {} |",
        thousands(xml_items),
        parse_xml,
        thousands(rate(xml_items, parse_xml)),
        all_runs(r.ingest.iter().map(|i| i.parse_xml.as_secs_f64()), 2)
    );
    let _ = writeln!(
        w,
        "| feedparser parse only (`feedparser.parse(bytes)`), XML files only | {} | {} | {:.2} s | {} | {} |",
        r.peer.files,
        thousands(r.peer.items as f64),
        peer,
        thousands(rate(r.peer.items as f64, peer)),
        all_runs(r.peer.runs.iter().map(Duration::as_secs_f64), 2)
    );
    let _ = writeln!(
        w,
        "\n**Ratio of medians, Earshot end to end / feedparser parse only (same XML files, items/s): {ratio:.1}x** \
         (each repetition against the peer run that followed it: {ratio_lo:.1}x to {ratio_hi:.1}x, median {:.1}x; target: at least 10x). \
         Parse only against parse only: {parse_ratio:.1}x.\n",
        median(ratios.clone())
    );

    let _ = writeln!(
        w,
        "Item counts: generated {}; Earshot parsed {} (all files, every repetition); \
         feedparser found {} entries in the {} XML files, which hold {} \
         ({} of them flagged bozo). feedparser was not timed on the {} JSON Feed files ({} items): \
         it has no JSON Feed parser and found {} entries in them.\n",
        thousands(total_items),
        thousands(r.ingest[0].items as f64),
        thousands(r.peer.items as f64),
        r.peer.files,
        thousands(r.peer.expected_items as f64),
        r.peer.bozo_files,
        r.peer.skipped_files,
        thousands(r.peer.skipped_items as f64),
        r.peer.skipped_entries_found,
    );

    let _ = writeln!(
        w,
        "Where Earshot's end-to-end time goes (all files, median per phase):\n"
    );
    let _ = writeln!(
        w,
        "| phase | median time | share | items/s if it were alone |"
    );
    let _ = writeln!(w, "|---|---:|---:|---:|");
    let phases: [(&str, f64); 3] = [
        (
            "parse (`parse_feed`: charset, feed-rs, HTML to text, links)",
            median_secs(r.ingest, |i| i.parse),
        ),
        (
            "match (`BrandMatcher::mentions`: fold, Aho-Corasick, dedup keys, snippets)",
            median_secs(r.ingest, |i| i.matching),
        ),
        (
            "store (`record_crawl`: one SQLite transaction per feed)",
            median_secs(r.ingest, |i| i.store),
        ),
    ];
    let sum: f64 = phases.iter().map(|p| p.1).sum();
    for (name, t) in phases {
        let _ = writeln!(
            w,
            "| {name} | {t:.2} s | {:.0}% | {} |",
            100.0 * t / sum,
            thousands(rate(total_items, t))
        );
    }
    let i0 = &r.ingest[0];
    let _ = writeln!(
        w,
        "\nMentions handed to the store per repetition: {}; rows stored: {} (= planted). \
         Building the matcher over {} terms (setup, not timed above): {:.1} ms median.\n",
        thousands(i0.mentions as f64),
        thousands(i0.rows as f64),
        thousands((c.brands.len() * TERMS_PER_BRAND) as f64),
        1e3 * median_secs(r.ingest, |i| i.matcher_build)
    );

    let cr = r.crawls;
    let _ = writeln!(
        w,
        "The crawler over HTTP (`Crawler::crawl_all_once`, concurrency {CRAWL_CONCURRENCY}, \
         local axum site with ETags), fresh store each repetition:\n"
    );
    let _ = writeln!(
        w,
        "| crawl | median time | items/s | new rows | responses | every run (s) |"
    );
    let _ = writeln!(w, "|---|---:|---:|---:|---|---|");
    let first = median_secs(cr, |c| c.first);
    let _ = writeln!(
        w,
        "| first crawl | {first:.2} s | {} | {} | {} x 200 | {} |",
        thousands(rate(cr[0].first_items as f64, first)),
        thousands(cr[0].first_rows as f64),
        FEEDS,
        all_runs(cr.iter().map(|c| c.first.as_secs_f64()), 2)
    );
    let second = median_secs(cr, |c| c.second);
    let _ = writeln!(
        w,
        "| second crawl, feeds unchanged (server honours ETags) | {:.0} ms | – | {} | {} x 304 | {} |",
        1e3 * second,
        cr.iter().map(|c| c.second_rows).max().unwrap_or(0),
        cr[0].second_not_modified,
        all_runs(cr.iter().map(|c| c.second.as_secs_f64()), 3)
    );
    let third = median_secs(cr, |c| c.third);
    let _ = writeln!(
        w,
        "| third crawl, feeds unchanged, server ignoring `If-None-Match` | {third:.2} s | {} | {} | {} x 200 | {} |",
        thousands(rate(total_items, third)),
        cr.iter().map(|c| c.third_rows).max().unwrap_or(0),
        cr[0].third_full_fetches,
        all_runs(cr.iter().map(|c| c.third.as_secs_f64()), 2)
    );
    let _ = writeln!(
        w,
        "\nEvery repetition asserted: items parsed = items generated; rows stored = mentions \
         planted; 0 new rows and a 304 for every feed on the unchanged crawl; 0 new rows on \
         the crawl without 304s."
    );
    s
}
