//! Sentiment benchmark: Earshot's classifier and its worker path against the Python
//! `onnxruntime` + `tokenizers` peer, on the same texts and the same model file.
//!
//! Run it with `benches/run-sentiment.sh`, which builds the model if needed and points the
//! benchmark at a Python with onnxruntime and tokenizers; then `cargo bench --bench sentiment`.
//! Results go to stdout as Markdown (progress to stderr); BENCHMARKS.md quotes them.
//!
//! Texts: every row of `/work/shared/corpora/umsab-multilingual-tweets-val/*.tsv` (columns
//! label, label_name, text; files in name order), written to a JSON file so that both sides
//! read the very same strings. Both sides use the model directory's `model.onnx`, 2 intra-op
//! threads (1 inter-op), model runs of at most 32 texts, the config's prefix, truncation to 256
//! tokens and padding to the longest text of each run.
//!
//! How texts are grouped into runs differs, and is the point of the comparison: Earshot's
//! classifier gets the texts 256 at a time (the worker's default claim), sorts each claim by
//! token count and runs at most 32 texts and 4,096 padded tokens at a time. The peer, as a user
//! would write it, runs consecutive batches of 32 in corpus order. A second peer row runs the
//! Python code with Earshot's grouping (`sorted`), to show how much of the difference is the
//! grouping and how much the rest.
//!
//! Each timed phase runs in its own child process (this binary re-executed with `--phase`, or
//! the Python peer), so each phase's peak RSS (`VmHWM`) is its own and includes loading the
//! model. Per repetition, in this order:
//!
//! 1. **Earshot classifier**: `Classifier::load` (not timed; it runs a 3-sentence warm-up),
//!    then `Classifier::classify` on each batch. Timed: texts in memory to `Scores`.
//! 2. **Python peer** (`benches/sentiment_peer.py`): session and tokenizer loaded and the same
//!    3-sentence warm-up run (not timed), then tokenise, pad and `session.run` per batch.
//! 3. **Python peer, sorted**: the same, grouping texts as Earshot does.
//! 4. **Earshot worker path**: a fresh SQLite store with the texts inserted as mentions (one
//!    `record_crawl`; not timed), `SentimentService::start` (not timed), then timed:
//!    `Worker::drain` with claims of 256 (claim from SQLite, classify on the service thread,
//!    detect the language, save probabilities and embeddings in one transaction per claim).
//!
//! The argmax labels of Earshot's classifier and of the peer (first repetition) are compared;
//! the benchmark panics if they agree on fewer than 95% of the texts, or if the model is
//! missing.
//!
//! Environment: `EARSHOT_BENCH_REPS` (default 3), `EARSHOT_BENCH_PYTHON` (default
//! `~/.cache/earshot/model-venv/bin/python`), `EARSHOT_MODEL_DIR` (default model directory),
//! `EARSHOT_BENCH_CORPUS` (default the UMSAB directory above).

use earshot_domain::{
    Brand, BrandSlug, BrandTerm, DedupKey, NewMention, Source, SourceKind, SourceName, SourceState,
    SourceUrl, Timestamp,
};
use earshot_sentiment::worker::{Selection, Worker};
use earshot_sentiment::{Classifier, ClassifierOptions, SentimentService};
use earshot_store::{CrawlRecord, Store};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

const BATCH: usize = 32;
const CLAIM: usize = 256;
const MAX_BATCH_TOKENS: usize = 4096;
const MAX_TOKENS: usize = 256;
const THREADS: usize = 2;
const DEFAULT_CORPUS: &str = "/work/shared/corpora/umsab-multilingual-tweets-val";
const LABELS: [&str; 3] = ["negative", "neutral", "positive"];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--phase") {
        let phase = args[i + 1].as_str();
        let dir = PathBuf::from(&args[i + 2]);
        let model_dir = PathBuf::from(&args[i + 3]);
        let result = match phase {
            "classifier" => phase_classifier(&dir, &model_dir),
            "worker" => phase_worker(&dir, &model_dir),
            other => panic!("unknown phase {other}"),
        };
        println!("{result}");
        return;
    }
    parent();
}

/// One child's answer.
#[derive(Debug, Clone)]
struct Run {
    secs: f64,
    rss_kb: u64,
}

fn parent() {
    let reps: usize = std::env::var("EARSHOT_BENCH_REPS")
        .ok()
        .map(|r| {
            r.parse()
                .expect("EARSHOT_BENCH_REPS must be a positive integer")
        })
        .unwrap_or(3)
        .max(1);
    let python = std::env::var("EARSHOT_BENCH_PYTHON")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| {
            format!(
                "{}/.cache/earshot/model-venv/bin/python",
                std::env::var("HOME").unwrap_or_default()
            )
        });
    let model_dir = earshot_sentiment::default_model_dir()
        .expect("neither EARSHOT_MODEL_DIR nor HOME is set: cannot find the model");
    if !model_dir.join("model.onnx").is_file() {
        panic!(
            "the sentiment model is missing: {} does not exist. Build it with \
             scripts/build-model.sh (or run benches/run-sentiment.sh), or set EARSHOT_MODEL_DIR.",
            model_dir.join("model.onnx").display()
        );
    }
    let corpus = std::env::var("EARSHOT_BENCH_CORPUS").unwrap_or_else(|_| DEFAULT_CORPUS.into());
    let texts = load_corpus(Path::new(&corpus));
    assert!(
        texts.len() >= 2000,
        "expected at least 2,000 texts in {corpus}, found {}",
        texts.len()
    );
    let tmp = tempfile::tempdir().expect("create a temporary directory");
    let dir = tmp.path();
    std::fs::write(
        dir.join("texts.json"),
        serde_json::to_vec(&texts).expect("serialise texts"),
    )
    .expect("write texts.json");
    let peer = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/sentiment_peer.py");
    let me = std::env::current_exe().expect("find this benchmark's executable");
    eprintln!(
        "==> {} texts from {corpus}; model {}; {reps} repetitions",
        texts.len(),
        model_dir.display()
    );

    let mut earshot = Vec::new();
    let mut peer_runs = Vec::new();
    let mut peer_sorted = Vec::new();
    let mut worker = Vec::new();
    let mut peer_versions = String::new();
    for rep in 0..reps {
        let r = child(
            Command::new(&me)
                .args(["--phase", "classifier"])
                .arg(dir)
                .arg(&model_dir),
        );
        eprintln!(
            "rep {rep}: Earshot classifier {:.2} s, {} MB",
            r.0.secs,
            r.0.rss_kb / 1024
        );
        earshot.push(r.0);
        if rep == 0 {
            std::fs::rename(
                dir.join("labels-earshot.txt"),
                dir.join("labels-earshot-0.txt"),
            )
            .expect("keep the first labels");
        }

        let grouping = |sorted: bool| {
            let mut cmd = Command::new(&python);
            cmd.arg(&peer)
                .arg(dir.join("texts.json"))
                .arg(&model_dir)
                .arg(dir.join(format!(
                    "labels-peer-{}{rep}.txt",
                    if sorted { "sorted-" } else { "" }
                )))
                .arg(BATCH.to_string())
                .arg(MAX_TOKENS.to_string())
                .arg(THREADS.to_string());
            if sorted {
                cmd.arg(CLAIM.to_string()).arg(MAX_BATCH_TOKENS.to_string());
            }
            cmd
        };
        let r = child(&mut grouping(false));
        eprintln!(
            "rep {rep}: Python peer {:.2} s, {} MB",
            r.0.secs,
            r.0.rss_kb / 1024
        );
        peer_versions = format!(
            "Python {}, onnxruntime {}, tokenizers {}",
            r.1["python"].as_str().unwrap_or("?"),
            r.1["onnxruntime"].as_str().unwrap_or("?"),
            r.1["tokenizers"].as_str().unwrap_or("?")
        );
        peer_runs.push(r.0);

        let r = child(&mut grouping(true));
        eprintln!(
            "rep {rep}: Python peer, sorted {:.2} s, {} MB",
            r.0.secs,
            r.0.rss_kb / 1024
        );
        peer_sorted.push(r.0);

        let r = child(
            Command::new(&me)
                .args(["--phase", "worker"])
                .arg(dir)
                .arg(&model_dir),
        );
        eprintln!(
            "rep {rep}: Earshot worker {:.2} s, {} MB",
            r.0.secs,
            r.0.rss_kb / 1024
        );
        worker.push(r.0);
    }

    // Agreement, first repetition of each side.
    let ours = read_labels(&dir.join("labels-earshot-0.txt"));
    let theirs = read_labels(&dir.join("labels-peer-0.txt"));
    assert_eq!(
        ours.len(),
        texts.len(),
        "Earshot labelled a different number of texts"
    );
    assert_eq!(
        theirs.len(),
        texts.len(),
        "the peer labelled a different number of texts"
    );
    let same = ours.iter().zip(&theirs).filter(|(a, b)| a == b).count();
    let agreement = same as f64 / texts.len() as f64;

    let n = texts.len() as f64;
    let med = |runs: &[Run]| {
        let mut s: Vec<f64> = runs.iter().map(|r| r.secs).collect();
        s.sort_by(f64::total_cmp);
        s[s.len() / 2]
    };
    let med_rss = |runs: &[Run]| {
        let mut s: Vec<u64> = runs.iter().map(|r| r.rss_kb).collect();
        s.sort();
        s[s.len() / 2]
    };
    let max_rss = |runs: &[Run]| runs.iter().map(|r| r.rss_kb).max().unwrap_or(0);
    let every = |runs: &[Run]| {
        runs.iter()
            .map(|r| format!("{:.2}", r.secs))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    let (e, p, ps, w) = (
        med(&earshot),
        med(&peer_runs),
        med(&peer_sorted),
        med(&worker),
    );
    let mb = |kb: u64| kb as f64 / 1024.0;

    println!(
        "### Sentiment results ({} texts, {reps} repetitions, medians)\n",
        texts.len()
    );
    println!("Peer: {peer_versions}.\n");
    println!("| measurement | median time | median sentences/s | median peak RSS | max peak RSS | every run (s) |");
    println!("|---|---:|---:|---:|---:|---|");
    for (name, runs, secs) in [
        ("Earshot classifier (`Classifier::classify`)", &earshot, e),
        (
            "Python onnxruntime + tokenizers (batches of 32 in order)",
            &peer_runs,
            p,
        ),
        (
            "Python, grouped as Earshot groups (`sorted`)",
            &peer_sorted,
            ps,
        ),
        ("Earshot worker path (`Worker::drain`, SQLite)", &worker, w),
    ] {
        println!(
            "| {name} | {secs:.2} s | {:.0} | {:.0} MB | {:.0} MB | {} |",
            n / secs,
            mb(med_rss(runs)),
            mb(max_rss(runs)),
            every(runs)
        );
    }
    let ratio = p / e;
    let worker_share = e / w;
    let rss_max = mb(max_rss(&earshot).max(max_rss(&worker)));
    println!();
    println!(
        "- Classifier / peer: {ratio:.2}x (target >= 1.2x: {})",
        met(ratio >= 1.2)
    );
    let pairs: Vec<String> = earshot
        .iter()
        .zip(&peer_runs)
        .map(|(a, b)| format!("{:.2}x", b.secs / a.secs))
        .collect();
    println!("- Per-repetition classifier / peer: {}", pairs.join(", "));
    println!(
        "- Classifier / peer with Earshot's grouping: {:.2}x (the rest of the difference)",
        ps / e
    );
    println!(
        "- Worker path / classifier: {:.1}% (target >= 80%: {})",
        worker_share * 100.0,
        met(worker_share >= 0.8)
    );
    println!(
        "- Largest Earshot peak RSS (classifier or worker): {rss_max:.0} MB (target < 700 MB: {})",
        met(rss_max < 700.0)
    );
    println!(
        "- Label agreement, Earshot vs peer (argmax, first repetition): {same} / {} = {:.2}% (target >= 99%: {})",
        texts.len(),
        agreement * 100.0,
        met(agreement >= 0.99)
    );
    assert!(
        agreement >= 0.95,
        "Earshot and the Python peer disagree: argmax labels match on only {:.2}% of texts (< 95%)",
        agreement * 100.0
    );
}

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "NOT met"
    }
}

/// Runs a phase and parses the JSON line it prints.
fn child(cmd: &mut Command) -> (Run, serde_json::Value) {
    let out = cmd
        .stderr(std::process::Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("could not run {cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?} failed: {}", out.status);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("{cmd:?} printed no result: {stdout}"));
    let v: serde_json::Value = serde_json::from_str(line).expect("a JSON result line");
    (
        Run {
            secs: v["secs"].as_f64().expect("secs"),
            rss_kb: v["rss_kb"].as_u64().expect("rss_kb"),
        },
        v,
    )
}

/// Every row's text, files in name order, rows in file order. The text column is
/// CSV-quoted when it holds quotes.
fn load_corpus(dir: &Path) -> Vec<String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read the corpus {}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "tsv"))
        .collect();
    files.sort();
    let mut texts = Vec::new();
    for file in files {
        let raw = std::fs::read_to_string(&file).expect("read a corpus file");
        for line in raw.lines().skip(1) {
            let mut cols = line.splitn(3, '\t');
            let (_, _, Some(text)) = (cols.next(), cols.next(), cols.next()) else {
                continue;
            };
            let text = text.trim_end_matches('\r');
            let text = if text.len() >= 2 && text.starts_with('"') && text.ends_with('"') {
                text[1..text.len() - 1].replace("\"\"", "\"")
            } else {
                text.to_owned()
            };
            texts.push(text);
        }
    }
    texts
}

fn read_labels(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
        .lines()
        .map(str::to_owned)
        .collect()
}

fn read_texts(dir: &Path) -> Vec<String> {
    serde_json::from_slice(&std::fs::read(dir.join("texts.json")).expect("read texts.json"))
        .expect("parse texts.json")
}

fn options(model_dir: &Path) -> ClassifierOptions {
    let mut opts = ClassifierOptions::new(model_dir);
    opts.max_tokens = MAX_TOKENS;
    opts.intra_threads = THREADS;
    opts.batch_size = BATCH;
    opts.max_batch_tokens = MAX_BATCH_TOKENS;
    opts
}

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn argmax(p: [f32; 3]) -> usize {
    (0..3).fold(0, |best, i| if p[i] > p[best] { i } else { best })
}

fn phase_classifier(dir: &Path, model_dir: &Path) -> String {
    let texts = read_texts(dir);
    let mut classifier = Classifier::load(&options(model_dir))
        .unwrap_or_else(|e| panic!("could not load the model: {e}"));
    let start = Instant::now();
    let mut labels = Vec::with_capacity(texts.len());
    for claim in texts.chunks(CLAIM) {
        let refs: Vec<&str> = claim.iter().map(String::as_str).collect();
        let scores = classifier.classify(&refs).expect("classify a claim");
        labels.extend(scores.iter().map(|s| LABELS[argmax(s.probabilities)]));
    }
    let secs = start.elapsed().as_secs_f64();
    std::fs::write(dir.join("labels-earshot.txt"), labels.join("\n") + "\n").expect("write labels");
    serde_json::json!({ "secs": secs, "texts": texts.len(), "rss_kb": peak_rss_kb() }).to_string()
}

fn phase_worker(dir: &Path, model_dir: &Path) -> String {
    let texts = read_texts(dir);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let db = dir.join(format!("worker-{}.db", std::process::id()));
    let store: Arc<dyn Store> = rt.block_on(async {
        let store = earshot_store::connect(&format!("sqlite://{}", db.display()))
            .await
            .expect("open a fresh SQLite store");
        let brand = Brand::new(
            BrandSlug::parse("bench").expect("slug"),
            "Bench".into(),
            vec![BrandTerm::parse("bench").expect("term")],
            vec![],
        )
        .expect("brand");
        let source = Source {
            name: SourceName::parse("bench-tweets").expect("source name"),
            kind: SourceKind::Feed,
            url: SourceUrl::parse("https://example.com/feed.xml").expect("url"),
            every: Duration::from_secs(3600),
            recipe: None,
            host_interval: None,
        };
        let now = Timestamp::now();
        store
            .sync_config(&[brand], &[source], now)
            .await
            .expect("sync the config");
        let id = store.sources().await.expect("sources")[0].id;
        let mentions = texts
            .iter()
            .enumerate()
            .map(|(i, text)| NewMention {
                brand: BrandSlug::parse("bench").expect("slug"),
                dedup_key: DedupKey::from_guid(&format!("tweet-{i}")),
                url: None,
                title: String::new(),
                snippet: text.clone(),
                matched_term: "bench".into(),
                author: None,
                published_at: None,
                rating: None,
            })
            .collect();
        let record = CrawlRecord {
            started_at: now,
            finished_at: now,
            http_status: Some(200),
            bytes: 0,
            items_seen: texts.len() as u64,
            error: None,
            mentions,
            state: SourceState::default(),
            problems: Vec::new(),
            aggregate: None,
            unhealthy_after: None,
        };
        let stored = store
            .record_crawl(id, "bench", &record)
            .await
            .expect("insert the mentions");
        assert_eq!(
            stored as usize,
            texts.len(),
            "not every text was stored as a mention"
        );
        store
    });
    let service = Arc::new(
        SentimentService::start(options(model_dir), SentimentService::DEFAULT_QUEUE_DEPTH)
            .unwrap_or_else(|e| panic!("could not load the model: {e}")),
    );
    let worker = Worker::new(
        service,
        store,
        "bench-worker",
        CLAIM as u32,
        Worker::DEFAULT_LEASE,
    );
    let start = Instant::now();
    let saved = rt
        .block_on(worker.drain(Selection::default(), |_| {}))
        .expect("drain");
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(
        saved as usize,
        texts.len(),
        "the worker did not classify every mention"
    );
    serde_json::json!({ "secs": secs, "texts": texts.len(), "rss_kb": peak_rss_kb() }).to_string()
}
