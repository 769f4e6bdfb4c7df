//! Extraction benchmark: Earshot's review-page extractor on the saved real pages of
//! `../shared/corpora/recipe-scrapers-pages`, and, in the same run, Python's `extruct`
//! extracting JSON-LD and microdata from the very same files.
//!
//! Run it with `benches/run-extract.sh` (from the repository root), which installs the
//! pinned extruct into a virtualenv and then runs `cargo bench -p earshot-crawler --bench
//! extract` (a release build). Results go to stdout as Markdown, progress to stderr;
//! BENCHMARKS.md quotes them.
//!
//! What is timed, with every page already in memory:
//! - **Earshot**: `parse_review_page(html, url)` per page: the tag outline, every JSON-LD
//!   block read leniently, a scraper tree and microdata and RDFa Lite items only for
//!   pages whose markup can hold a review, and the reviews, aggregate and next link.
//! - **Earshot, every item** (for scale): the work extruct does, done our way: the
//!   outline and every JSON-LD block, and a scraper tree of every page with all of its
//!   microdata and RDFa Lite items, whether or not they can be reviews.
//! - **extruct** (`benches/extruct_peer.py`): `extruct.extract(bytes, base_url,
//!   syntaxes=["json-ld", "microdata"], uniform=False, errors="ignore")` per page: lxml's
//!   parse and both extractors. RDFa is left out of its side: its RDFa extractor is a full
//!   RDFa processor (rdflib), about 20 times slower than the rest, and ours reads only
//!   RDFa Lite, so including it would flatter us.
//!
//! The two sides alternate, one run of each at a time, so that both sides of each pair ran
//! under about the same load on a shared machine; medians and each pair's ratio are given.
//!
//! Environment: `EARSHOT_BENCH_REPS` (default 5), `EARSHOT_BENCH_PYTHON` (default
//! `python3`), `EARSHOT_CORPORA` (default `../shared/corpora` next to the repository).

use earshot_crawler::reviews::parse_review_page;
use earshot_crawler::structured::{self, items, json_ld};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use url::Url;

const FOLDERS: [&str; 3] = [
    "pages_with_reviews",
    "pages_invalid_jsonld",
    "pages_microdata_review",
];

struct Page {
    path: PathBuf,
    url: Url,
    html: String,
}

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
    let corpus = corpus_dir();
    let pages = load_pages(&corpus);
    let bytes: usize = pages.iter().map(|p| p.html.len()).sum();
    eprintln!(
        "corpus: {} pages, {:.1} MB, from {}",
        pages.len(),
        bytes as f64 / 1e6,
        corpus.display()
    );

    let manifest =
        std::env::temp_dir().join(format!("earshot-extract-bench-{}.tsv", std::process::id()));
    let mut lines = String::new();
    for page in &pages {
        let _ = writeln!(lines, "{}\t{}", page.path.display(), page.url);
    }
    std::fs::write(&manifest, lines).expect("write the peer's manifest");

    let load_before = load_average();
    let warm = earshot_once(&pages);
    let mut ours = Vec::new();
    let mut every_item = Vec::new();
    let mut peer = Vec::new();
    for rep in 0..reps {
        let run = earshot_once(&pages);
        assert_eq!(
            run.counts, warm.counts,
            "the extractor gave different results between runs"
        );
        let full = every_item_once(&pages);
        let theirs = run_peer(&python, &manifest);
        eprintln!(
            "run {}/{reps}: Earshot {:.3}s, Earshot every item {:.3}s, extruct {:.3}s",
            rep + 1,
            run.time.as_secs_f64(),
            full.time.as_secs_f64(),
            theirs.time.as_secs_f64()
        );
        ours.push(run);
        every_item.push(full);
        peer.push(theirs);
    }
    let _ = std::fs::remove_file(&manifest);
    let load_after = load_average();

    let mb = bytes as f64 / 1e6;
    let n = pages.len() as f64;
    let med = |xs: Vec<f64>| median(xs);
    let ours_t = med(ours.iter().map(|r| r.time.as_secs_f64()).collect());
    let full_t = med(every_item.iter().map(|r| r.time.as_secs_f64()).collect());
    let peer_t = med(peer.iter().map(|r| r.time.as_secs_f64()).collect());
    let pair_ratios: Vec<f64> = ours
        .iter()
        .zip(&peer)
        .map(|(o, p)| p.time.as_secs_f64() / o.time.as_secs_f64())
        .collect();
    let full_ratios: Vec<f64> = every_item
        .iter()
        .zip(&peer)
        .map(|(o, p)| p.time.as_secs_f64() / o.time.as_secs_f64())
        .collect();
    let runs = |xs: &[f64]| {
        xs.iter()
            .map(|x| format!("{x:.3}"))
            .collect::<Vec<_>>()
            .join(" / ")
    };

    let mut s = String::new();
    let w = &mut s;
    let _ = writeln!(w, "## Review extraction: Earshot vs extruct\n");
    let _ = writeln!(
        w,
        "Pages: the {} saved real pages of recipe-scrapers-pages ({}), {mb:.1} MB, in memory. \
         Machine: {} cores ({}), shared; load average {load_before} at start, {load_after} at end. \
         {reps} alternating runs; medians quoted. Peer: {peer_versions}.\n",
        pages.len(),
        FOLDERS.join(", "),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model(),
    );
    let _ = writeln!(
        w,
        "| extractor | median time | MB/s | pages/s | every run (s) |"
    );
    let _ = writeln!(w, "|---|---:|---:|---:|---|");
    let row = |w: &mut String, name: &str, t: f64, all: &[f64]| {
        let _ = writeln!(
            w,
            "| {name} | {t:.3} s | {:.1} | {:.0} | {} |",
            mb / t,
            n / t,
            runs(all)
        );
    };
    row(
        w,
        "Earshot `parse_review_page` (reviews, aggregate, next link)",
        ours_t,
        &ours
            .iter()
            .map(|r| r.time.as_secs_f64())
            .collect::<Vec<_>>(),
    );
    row(
        w,
        "Earshot, every JSON-LD block and every microdata and RDFa Lite item of every page",
        full_t,
        &every_item
            .iter()
            .map(|r| r.time.as_secs_f64())
            .collect::<Vec<_>>(),
    );
    row(
        w,
        "extruct, JSON-LD and microdata",
        peer_t,
        &peer
            .iter()
            .map(|r| r.time.as_secs_f64())
            .collect::<Vec<_>>(),
    );
    let _ = writeln!(
        w,
        "\n**Ratio of medians, Earshot `parse_review_page` / extruct (same pages, MB/s): {:.1}x** \
         (each run against the extruct run after it: {}; target: at least 5x). \
         Every item of every page, our way, against extruct: {:.1}x (pairs: {}).\n",
        peer_t / ours_t,
        runs(&pair_ratios),
        peer_t / full_t,
        runs(&full_ratios),
    );
    let c = &warm.counts;
    let p = &peer[0];
    let _ = writeln!(
        w,
        "What each side found: Earshot {} reviews and {} aggregate ratings; {} of {} pages needed \
         an HTML tree (the others carry no microdata or RDFa that can hold a review). Every item: \
         {} JSON-LD items, {} microdata and {} RDFa Lite top-level items. extruct: {} JSON-LD and \
         {} microdata top-level items ({} pages where a syntax raised and was skipped).",
        c.reviews,
        c.aggregates,
        c.trees,
        pages.len(),
        every_item[0].counts.0,
        every_item[0].counts.1,
        every_item[0].counts.2,
        p.json_ld,
        p.microdata,
        p.errors,
    );
    print!("{s}");
}

#[derive(Debug, Clone, PartialEq)]
struct Counts {
    reviews: usize,
    aggregates: usize,
    trees: usize,
}

struct OurRun {
    time: Duration,
    counts: Counts,
}

fn earshot_once(pages: &[Page]) -> OurRun {
    let mut counts = Counts {
        reviews: 0,
        aggregates: 0,
        trees: 0,
    };
    let start = Instant::now();
    for page in pages {
        let found = parse_review_page(&page.html, &page.url);
        counts.reviews += found.reviews.len();
        counts.aggregates += usize::from(found.aggregate.is_some());
    }
    let time = start.elapsed();
    // Untimed: how many pages took the tree path.
    counts.trees = pages
        .iter()
        .filter(|p| structured::outline(&p.html).has_review_markup)
        .count();
    OurRun { time, counts }
}

struct FullRun {
    time: Duration,
    /// JSON-LD items, microdata items, RDFa Lite items.
    counts: (usize, usize, usize),
}

fn every_item_once(pages: &[Page]) -> FullRun {
    let mut counts = (0, 0, 0);
    let start = Instant::now();
    for page in pages {
        let outline = structured::outline(&page.html);
        let blocks: Vec<_> = outline
            .json_ld
            .iter()
            .map(|s| json_ld::read_block(s))
            .collect();
        counts.0 += json_ld::items(&blocks).len();
        let document = scraper::Html::parse_document(&page.html);
        counts.1 += items::items(&document, items::Syntax::Microdata, Some(&page.url)).len();
        counts.2 += items::items(&document, items::Syntax::RdfaLite, Some(&page.url)).len();
    }
    FullRun {
        time: start.elapsed(),
        counts,
    }
}

fn corpus_dir() -> PathBuf {
    let dir = std::env::var_os("EARSHOT_CORPORA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpora"))
        .join("recipe-scrapers-pages");
    assert!(
        dir.is_dir(),
        "{} not found: the benchmark reads the saved pages of ../shared/corpora (set EARSHOT_CORPORA)",
        dir.display()
    );
    dir
}

fn load_pages(corpus: &Path) -> Vec<Page> {
    let mut pages = Vec::new();
    for folder in FOLDERS {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(corpus.join(folder))
            .expect("read the corpus folder")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "html"))
            .collect();
        paths.sort();
        for path in paths {
            let bytes = std::fs::read(&path).expect("read a page");
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let host = name.split("__").next().unwrap_or("example.org").to_owned();
            let url = Url::parse(&format!("https://{host}/")).expect("a host makes a URL");
            pages.push(Page {
                path,
                url,
                html: String::from_utf8_lossy(&bytes).into_owned(),
            });
        }
    }
    pages
}

const PEER_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../benches/extruct_peer.py");

fn no_peer(python: &str, why: &str) -> ! {
    panic!(
        "the peer (Python extruct) is not available from {python:?}: {why}\n\
         run benches/run-extract.sh, which installs extruct into a virtualenv and runs this \
         benchmark with it (or point EARSHOT_BENCH_PYTHON at a Python that has extruct)"
    )
}

fn check_peer(python: &str) -> String {
    let out = std::process::Command::new(python)
        .args([
            "-c",
            "import sys, importlib.metadata as m; import extruct, lxml; print('Python %s, extruct %s, lxml %s' % (sys.version.split()[0], m.version('extruct'), m.version('lxml')))",
        ])
        .output()
        .unwrap_or_else(|e| no_peer(python, &format!("could not run it: {e}")));
    if !out.status.success() {
        no_peer(python, String::from_utf8_lossy(&out.stderr).trim());
    }
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

struct PeerRun {
    time: Duration,
    json_ld: u64,
    microdata: u64,
    errors: u64,
}

fn run_peer(python: &str, manifest: &Path) -> PeerRun {
    let out = std::process::Command::new(python)
        .arg(PEER_SCRIPT)
        .arg(manifest)
        .stderr(std::process::Stdio::inherit())
        .output()
        .unwrap_or_else(|e| no_peer(python, &format!("could not run it: {e}")));
    if !out.status.success() {
        panic!("{PEER_SCRIPT} failed ({}); its stderr is above", out.status);
    }
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("the peer prints one JSON object");
    let num = |k: &str| {
        v[k].as_f64()
            .unwrap_or_else(|| panic!("the peer's JSON has no number {k}"))
    };
    PeerRun {
        time: Duration::from_secs_f64(num("seconds")),
        json_ld: num("json_ld_items") as u64,
        microdata: num("microdata_items") as u64,
        errors: num("errors") as u64,
    }
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
