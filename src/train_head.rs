//! `earshot train-head`: embeds labelled texts with the configured encoder and trains a new
//! sentiment head on them (see `earshot_sentiment::training` for how).
//!
//! Embedding is the slow part (minutes for 15k tweets on two cores), so every embedding is
//! kept in a cache file keyed by the model file's hash, the token limit and the text; a second
//! run over the same texts embeds nothing.

mod corrections;

use crate::eval::{self, Example as Labelled};
use crate::settings::Settings;
use anyhow::{bail, Context};
use earshot_domain::{BrandSlug, Label};
use earshot_sentiment::training::{self, Example, TrainOptions};
use earshot_sentiment::{Classifier, ClassifierOptions, Head, HeadInput};
use indicatif::{ProgressBar, ProgressStyle};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What `earshot train-head` was asked to do, parsed from the command line.
#[derive(Debug, Clone)]
pub struct Request {
    /// Training TSVs: the public set. Empty only with `corrections`, where it means the UMSAB
    /// training files in the corpora folder.
    pub data: Vec<PathBuf>,
    /// Validation TSVs; none means a dev split carved from `data`.
    pub val: Vec<PathBuf>,
    /// Where the head goes (`DIR/head.json`); optional only with `corrections`, whose heads
    /// are kept in the database.
    pub out: Option<PathBuf>,
    /// Learn from the deployment's corrections too (`--from-corrections`).
    pub corrections: Option<FromCorrections>,
    /// Seeds the dev split and the oversampling.
    pub seed: u64,
    /// The head id's first part.
    pub name: String,
    /// What the head is fed.
    pub input: HeadInput,
    /// The share of each file and class held out as dev data when no `val` is given.
    pub dev_fraction: f64,
    /// The embedding cache file; `None` means the default place.
    pub cache: Option<PathBuf>,
    /// The L2 penalties to try.
    pub alphas: Vec<f64>,
}

/// How `--from-corrections` trains, judges and activates.
#[derive(Debug, Clone)]
pub struct FromCorrections {
    /// Only this brand's corrections.
    pub brand: Option<BrandSlug>,
    /// How many times a correction counts, against once for a public row.
    pub weight: u32,
    /// At most this many of the deployment's latest uncorrected classified mentions are added
    /// to the training data with the label the head in use gives them.
    pub anchors: usize,
    /// Folds of the cross-validation on the corrections.
    pub folds: usize,
    /// How much lower the candidate's macro-F1 on the public validation rows may be than the
    /// current head's before it is kept back although it wins on the corrections.
    pub public_tolerance: f64,
}

/// Fewer corrections than this are refused: five folds of one or two rows say nothing.
pub const MIN_CORRECTIONS: usize = 10;

/// One text's encoder outputs, as cached.
#[derive(Debug, Clone)]
pub struct Embedded {
    /// The L2-normalised embedding.
    pub embedding: Vec<f32>,
    /// The model's built-in probabilities (negative, neutral, positive).
    pub builtin: [f32; 3],
}

/// Runs the whole command and prints what it did.
pub async fn run(settings: &Settings, req: Request) -> anyhow::Result<()> {
    match req.corrections.clone() {
        Some(how) => corrections::run(settings, req, how).await,
        None => train_public(settings, req).await,
    }
}

/// The public set's training and validation rows: `data`, and `val` or else a dev split of
/// `data` (the flag says which).
pub fn public_sets(req: &Request) -> anyhow::Result<(Vec<Labelled>, Vec<Labelled>, bool)> {
    if req.data.is_empty() {
        bail!("give at least one --data FILE.tsv");
    }
    let mut train = read_all(&req.data)?;
    let (val, val_held_out) = if req.val.is_empty() {
        let (rest, dev) = dev_split(std::mem::take(&mut train), req.dev_fraction, req.seed);
        train = rest;
        (dev, false)
    } else {
        (read_all(&req.val)?, true)
    };
    if val.is_empty() {
        bail!("no validation rows: give --val FILE.tsv or a larger --dev-fraction");
    }
    Ok((train, val, val_held_out))
}

/// `earshot train-head --data … --out DIR`: a head from the public set alone, written to a file.
async fn train_public(settings: &Settings, req: Request) -> anyhow::Result<()> {
    let Some(out) = req.out.clone() else {
        bail!("give --out DIR: where to write head.json");
    };
    let started = Instant::now();
    let (train, val, val_held_out) = public_sets(&req)?;
    println!(
        "Training rows: {}; validation rows: {} ({}).",
        train.len(),
        val.len(),
        if val_held_out {
            "from --val"
        } else {
            "a dev split of --data"
        }
    );

    // The encoder, without any configured head: the cache holds the built-in head's scores.
    let mut opts = settings.sentiment.classifier_options();
    opts.head = earshot_sentiment::HeadChoice::Builtin;
    let texts: Vec<String> = train.iter().chain(&val).map(|e| e.text.clone()).collect();
    let cache_path = req.cache.clone();
    let embed_started = Instant::now();
    let (embedded, model_key, model_sha, max_tokens, fresh) =
        tokio::task::spawn_blocking(move || embed_all(&opts, &texts, cache_path))
            .await
            .context("the embedding thread failed")??;
    let embed_secs = embed_started.elapsed().as_secs_f64();
    println!(
        "Embedded {} texts with {model_key} in {embed_secs:.1}s ({fresh} new, {} from the cache).",
        embedded.len(),
        embedded.len() - fresh
    );

    let to_examples = |rows: &[Labelled], offset: usize| -> Vec<Example> {
        rows.iter()
            .enumerate()
            .map(|(i, e)| {
                let x = &embedded[offset + i];
                Example {
                    features: req.input.features_of(&x.embedding, x.builtin),
                    label: label_index(e.label),
                    weight: 1,
                }
            })
            .collect()
    };
    let train_x = to_examples(&train, 0);
    let val_x = to_examples(&val, train.len());

    let train_opts = TrainOptions {
        seed: req.seed,
        alphas: req.alphas.clone(),
        input: req.input,
        name: req.name.clone(),
        ..TrainOptions::default()
    };
    let fit_started = Instant::now();
    let trained = tokio::task::spawn_blocking(move || {
        training::train_logistic(&train_x, &val_x, &train_opts)
    })
    .await
    .context("the training thread failed")??;
    let fit_secs = fit_started.elapsed().as_secs_f64();

    let head = Head::from_file(trained.head.clone())
        .map_err(|e| anyhow::anyhow!("the trained head is invalid: {e}"))?;
    let by_language = per_language(&head, &val, &embedded[train.len()..]);

    println!(
        "\nTrained in {fit_secs:.1}s on {} rows after balancing.",
        trained.balanced_rows
    );
    println!("\n| alpha | iterations | validation macro-F1 | log-loss |\n|---:|---:|---:|---:|");
    for c in &trained.candidates {
        println!(
            "| {} | {} | {:.3} | {:.3} |",
            c.alpha, c.iterations, c.macro_f1, c.log_loss
        );
    }
    println!(
        "\nKept alpha {} after {} iterations; temperature {:.3} (validation log-loss {:.3} → {:.3}).",
        trained.chosen.alpha,
        trained.chosen.iterations,
        trained.head.temperature,
        trained.chosen.log_loss,
        trained.calibrated_log_loss
    );
    println!("\nValidation:\n\n| language | n | accuracy | macro-F1 |\n|---|---:|---:|---:|");
    for (lang, r) in &by_language {
        println!(
            "| {lang} | {} | {:.3} | {:.3} |",
            r.n, r.accuracy, r.macro_f1
        );
    }
    let mean_f1 =
        by_language.values().map(|r| r.macro_f1).sum::<f64>() / by_language.len().max(1) as f64;
    println!(
        "\nMacro-F1 averaged over the {} languages: {mean_f1:.3}",
        by_language.len()
    );
    if !val_held_out {
        println!("(The dev split chose alpha, the stopping round and the temperature.)");
    } else {
        println!(
            "(The validation files chose alpha, the stopping round and the temperature, so these \
             scores are not held out; measure held-out data with `earshot eval`.)"
        );
    }

    let mut file = trained.head.clone();
    file.provenance = serde_json::json!({
        "trained_by": format!("earshot {} train-head", env!("CARGO_PKG_VERSION")),
        "trained_at": earshot_domain::Timestamp::now().to_rfc3339(),
        "command": std::env::args().collect::<Vec<_>>().join(" "),
        "encoder": { "model": model_key, "model_onnx_sha256": model_sha, "max_tokens": max_tokens },
        "method": "multinomial logistic regression (linfa-logistic, L-BFGS, L2), standardised features, \
                   classes balanced by oversampling, alpha and stopping round chosen on validation \
                   macro-F1, temperature by minimum validation log-loss",
        "seed": req.seed,
        "data": sizes(&req.data, &read_counts(&req.data)?),
        "validation": {
            "source": if val_held_out { "--val files" } else { "dev split of --data" },
            "files": sizes(&req.val, &read_counts(&req.val)?),
            "dev_fraction": if val_held_out { None } else { Some(req.dev_fraction) },
            "rows": val.len(),
            "alpha": trained.chosen.alpha,
            "iterations": trained.chosen.iterations,
            "macro_f1": round3(trained.chosen.macro_f1),
            "macro_f1_mean_over_languages": round3(mean_f1),
            "log_loss": round3(trained.chosen.log_loss),
            "calibrated_log_loss": round3(trained.calibrated_log_loss),
            "per_language": by_language.iter().map(|(l, r)| (l.clone(), serde_json::json!({
                "n": r.n, "accuracy": round3(r.accuracy), "macro_f1": round3(r.macro_f1),
                "confusion": r.confusion,
            }))).collect::<BTreeMap<_, _>>(),
        },
        "training_rows": train.len(),
        "embedding_seconds": round3(embed_secs),
        "training_seconds": round3(fit_secs),
    });
    let path = write_head(&out, &file)?;
    println!(
        "\nWrote {} (id {}) in {:.1}s in all.\nTo use it: [sentiment] head = \"{}\" in the config, \
         or EARSHOT__SENTIMENT__HEAD={}; then `earshot classify --all` re-scores stored mentions.",
        path.display(),
        file.id,
        started.elapsed().as_secs_f64(),
        path.display(),
        path.display()
    );
    Ok(())
}

/// Writes `file` as `dir/head.json` (creating `dir`), reads it back to prove it loads, and
/// returns its path.
pub fn write_head(dir: &Path, file: &earshot_sentiment::HeadFile) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("head.json");
    let json = serde_json::to_string_pretty(file)? + "\n";
    std::fs::write(&path, json).with_context(|| format!("writing {}", path.display()))?;
    Head::load(&path)?;
    Ok(path)
}

/// Reads every file's labelled rows, in order, skipping rows with empty text.
fn read_all(files: &[PathBuf]) -> anyhow::Result<Vec<Labelled>> {
    let mut rows = Vec::new();
    for f in files {
        let mut these = eval::read_tsv(f, None)?;
        these.retain(|e| !e.text.trim().is_empty());
        if these.is_empty() {
            bail!("{}: no labelled rows", f.display());
        }
        rows.extend(these);
    }
    Ok(rows)
}

/// Each file's row count, for provenance.
pub fn read_counts(files: &[PathBuf]) -> anyhow::Result<Vec<usize>> {
    files
        .iter()
        .map(|f| Ok(read_all(std::slice::from_ref(f))?.len()))
        .collect()
}

/// `[{name, rows}]` for provenance: each file's name and its row count.
pub fn sizes(files: &[PathBuf], counts: &[usize]) -> serde_json::Value {
    files
        .iter()
        .zip(counts)
        .map(|(f, n)| {
            serde_json::json!({
                "name": f.file_name().map(|n| n.to_string_lossy().into_owned()),
                "path": f.display().to_string(),
                "rows": n,
            })
        })
        .collect()
}

/// `v` rounded to three decimals, for reports.
pub fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// 0 negative, 1 neutral, 2 positive.
pub fn label_index(label: Label) -> usize {
    Label::ALL.iter().position(|l| *l == label).unwrap_or(1)
}

/// Splits `rows` into (train, dev): from each language and class, a seeded random `fraction`
/// (at least one row where the group has two or more) goes to dev.
pub fn dev_split(rows: Vec<Labelled>, fraction: f64, seed: u64) -> (Vec<Labelled>, Vec<Labelled>) {
    let mut groups: BTreeMap<(String, usize), Vec<usize>> = BTreeMap::new();
    for (i, e) in rows.iter().enumerate() {
        groups
            .entry((e.language.clone(), label_index(e.label)))
            .or_default()
            .push(i);
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut dev_rows = vec![false; rows.len()];
    for members in groups.values_mut() {
        members.shuffle(&mut rng);
        let take = ((members.len() as f64 * fraction).round() as usize)
            .max(usize::from(members.len() >= 2))
            .min(members.len().saturating_sub(1));
        for &i in &members[..take] {
            dev_rows[i] = true;
        }
    }
    let (mut train, mut dev) = (Vec::new(), Vec::new());
    for (e, is_dev) in rows.into_iter().zip(dev_rows) {
        if is_dev {
            dev.push(e);
        } else {
            train.push(e);
        }
    }
    (train, dev)
}

/// Scores of `head` on `rows` by language.
pub fn per_language(
    head: &Head,
    rows: &[Labelled],
    embedded: &[Embedded],
) -> BTreeMap<String, eval::Report> {
    let mut pairs: BTreeMap<String, Vec<(Label, Label)>> = BTreeMap::new();
    for (e, x) in rows.iter().zip(embedded) {
        let p = head.probabilities(&x.embedding, x.builtin);
        pairs
            .entry(e.language.clone())
            .or_default()
            .push((e.label, Label::argmax(p)));
    }
    pairs
        .into_iter()
        .map(|(l, p)| (l, eval::score(&p)))
        .collect()
}

/// Embeds `texts` (cache first), with a progress bar on a terminal. Returns the results in
/// order, the model key, the model file's SHA-256, the token limit, and how many were new.
pub fn embed_all(
    opts: &ClassifierOptions,
    texts: &[String],
    cache: Option<PathBuf>,
) -> anyhow::Result<(Vec<Embedded>, String, String, usize, usize)> {
    let model_file = opts.model_dir.join(earshot_sentiment::MODEL_FILE);
    let model_sha = sha256_file(&model_file)?;
    let mut classifier = Classifier::load(opts).context("loading the sentiment model")?;
    let max_tokens = classifier.max_tokens();
    let cache_path = match cache {
        Some(p) => p,
        None => default_cache_path(&model_sha, max_tokens, classifier.config().prefix())?,
    };
    let mut cache = EmbeddingCache::open(&cache_path)?;

    let keys: Vec<[u8; 16]> = texts.iter().map(|t| text_key(t)).collect();
    let mut todo: Vec<usize> = (0..texts.len())
        .filter(|&i| !cache.entries.contains_key(&keys[i]))
        .collect();
    todo.dedup_by_key(|i| keys[*i]);
    let mut seen = std::collections::HashSet::new();
    todo.retain(|&i| seen.insert(keys[i]));
    let fresh = todo.len();

    let bar = if std::io::IsTerminal::is_terminal(&std::io::stderr()) && fresh > 0 {
        let bar = ProgressBar::new(fresh as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} embedding [{bar:30}] {pos}/{len} texts ({per_sec}, {eta} left)",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    if fresh > 0 {
        eprintln!(
            "embedding {fresh} texts not in the cache {}",
            cache_path.display()
        );
    }
    let started = Instant::now();
    let mut last_report = Instant::now();
    for (n, chunk) in todo.chunks(256).enumerate() {
        let batch: Vec<&str> = chunk.iter().map(|&i| texts[i].as_str()).collect();
        let scores = classifier.classify(&batch)?;
        let mut records = Vec::with_capacity(chunk.len());
        for (&i, s) in chunk.iter().zip(scores) {
            if s.embedding.is_empty() {
                bail!(
                    "the model in {} gives no embedding; train-head needs a model with an \
                     embedding output (rebuild the default with scripts/build-model.sh)",
                    opts.model_dir.display()
                );
            }
            records.push((
                keys[i],
                Embedded {
                    embedding: s.embedding,
                    builtin: s.probabilities,
                },
            ));
        }
        cache.append(&records)?;
        bar.inc(chunk.len() as u64);
        if bar.is_hidden() && last_report.elapsed().as_secs() >= 30 {
            let done = ((n + 1) * 256).min(fresh);
            eprintln!(
                "embedded {done}/{fresh} ({:.0}/s)",
                done as f64 / started.elapsed().as_secs_f64()
            );
            last_report = Instant::now();
        }
    }
    bar.finish_and_clear();
    let out = keys
        .iter()
        .map(|k| cache.entries[k].clone())
        .collect::<Vec<_>>();
    Ok((
        out,
        classifier.model_key().to_owned(),
        model_sha,
        max_tokens,
        fresh,
    ))
}

/// The first 16 bytes of the text's SHA-256: the cache key.
fn text_key(text: &str) -> [u8; 16] {
    let digest = Sha256::digest(text.as_bytes());
    let mut key = [0u8; 16];
    key.copy_from_slice(&digest[..16]);
    key
}

fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let mut f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// `~/.cache/earshot/embeddings/<model hash, limit and prefix>.bin` (`$XDG_CACHE_HOME` if set).
fn default_cache_path(model_sha: &str, max_tokens: usize, prefix: &str) -> anyhow::Result<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".cache"))
        })
        .context("neither HOME nor XDG_CACHE_HOME is set; pass --cache FILE")?;
    let id = Sha256::digest(format!("{model_sha}\n{max_tokens}\n{prefix}").as_bytes());
    let id: String = id[..8].iter().map(|b| format!("{b:02x}")).collect();
    Ok(base
        .join("earshot/embeddings")
        .join(format!("{id}-t{max_tokens}.bin")))
}

/// An append-only file of embeddings: a magic line, then records of a 16-byte text key, the
/// embedding size (u32), the embedding and the built-in probabilities (f32, little-endian).
/// A torn last record (a run killed mid-write) is ignored and overwritten.
struct EmbeddingCache {
    path: PathBuf,
    entries: HashMap<[u8; 16], Embedded>,
    file: std::fs::File,
}

const CACHE_MAGIC: &[u8] = b"EARSHOT-EMBEDDINGS-1\n";

impl EmbeddingCache {
    fn open(path: &Path) -> anyhow::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let mut entries = HashMap::new();
        let mut valid = 0;
        if bytes.starts_with(CACHE_MAGIC) {
            let mut pos = CACHE_MAGIC.len();
            valid = pos;
            while let Some((key, entry, next)) = read_record(&bytes, pos) {
                entries.insert(key, entry);
                pos = next;
                valid = pos;
            }
        } else if !bytes.is_empty() {
            bail!(
                "{} is not an Earshot embedding cache; remove it or pass another --cache",
                path.display()
            );
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        file.set_len(valid as u64)?;
        if valid == 0 {
            file.write_all(CACHE_MAGIC)?;
        }
        use std::io::Seek;
        file.seek(std::io::SeekFrom::End(0))?;
        Ok(Self {
            path: path.to_path_buf(),
            entries,
            file,
        })
    }

    fn append(&mut self, records: &[([u8; 16], Embedded)]) -> anyhow::Result<()> {
        let mut buf = Vec::new();
        for (key, e) in records {
            buf.extend_from_slice(key);
            buf.extend_from_slice(&(e.embedding.len() as u32).to_le_bytes());
            for v in e.embedding.iter().chain(&e.builtin) {
                buf.extend_from_slice(&v.to_le_bytes());
            }
        }
        self.file
            .write_all(&buf)
            .with_context(|| format!("writing {}", self.path.display()))?;
        for (key, e) in records {
            self.entries.insert(*key, e.clone());
        }
        Ok(())
    }
}

/// One record at `pos`: key, entry, and where the next starts; `None` at the end or on a torn
/// record.
fn read_record(bytes: &[u8], pos: usize) -> Option<([u8; 16], Embedded, usize)> {
    let key: [u8; 16] = bytes.get(pos..pos + 16)?.try_into().ok()?;
    let dim = u32::from_le_bytes(bytes.get(pos + 16..pos + 20)?.try_into().ok()?) as usize;
    let end = pos + 20 + 4 * (dim + 3);
    let floats: Vec<f32> = bytes
        .get(pos + 20..end)?
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let builtin = [floats[dim], floats[dim + 1], floats[dim + 2]];
    Some((
        key,
        Embedded {
            embedding: floats[..dim].to_vec(),
            builtin,
        },
        end,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(text: &str, label: Label, language: &str) -> Labelled {
        Labelled {
            text: text.to_owned(),
            label,
            language: language.to_owned(),
        }
    }

    #[test]
    fn the_dev_split_is_stratified_and_seeded() {
        let rows: Vec<Labelled> = (0..60)
            .map(|i| {
                row(
                    &format!("t{i}"),
                    Label::ALL[i % 3],
                    if i < 30 { "en" } else { "es" },
                )
            })
            .collect();
        let (train, dev) = dev_split(rows.clone(), 0.2, 1);
        assert_eq!((train.len(), dev.len()), (48, 12));
        for lang in ["en", "es"] {
            for label in Label::ALL {
                let n = dev
                    .iter()
                    .filter(|e| e.language == lang && e.label == label)
                    .count();
                assert_eq!(n, 2, "{lang} {label:?}");
            }
        }
        let (_, again) = dev_split(rows.clone(), 0.2, 1);
        assert_eq!(dev, again);
        let (_, other) = dev_split(rows, 0.2, 2);
        assert_ne!(dev, other);
    }

    #[test]
    fn the_cache_reads_back_what_it_wrote_and_survives_a_torn_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.bin");
        let e = Embedded {
            embedding: vec![0.5, -0.25],
            builtin: [0.1, 0.2, 0.7],
        };
        {
            let mut cache = EmbeddingCache::open(&path).unwrap();
            cache
                .append(&[(text_key("a"), e.clone()), (text_key("b"), e.clone())])
                .unwrap();
        }
        // A run killed mid-record leaves a partial record behind.
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend_from_slice(&[1, 2, 3]);
        std::fs::write(&path, &bytes).unwrap();
        let mut cache = EmbeddingCache::open(&path).unwrap();
        assert_eq!(cache.entries.len(), 2);
        assert_eq!(cache.entries[&text_key("b")].builtin, [0.1, 0.2, 0.7]);
        cache.append(&[(text_key("c"), e)]).unwrap();
        drop(cache);
        let cache = EmbeddingCache::open(&path).unwrap();
        assert_eq!(cache.entries.len(), 3);
        assert_eq!(cache.entries[&text_key("c")].embedding, vec![0.5, -0.25]);
    }

    #[test]
    fn tsv_problems_name_the_file_and_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let no_label = dir.path().join("a.tsv");
        std::fs::write(&no_label, "id\ttext\n1\tgreat\n").unwrap();
        let err = read_all(&[no_label]).unwrap_err().to_string();
        assert!(err.contains("a.tsv"), "{err}");
        assert!(err.contains("no `label_name` or `label` column"), "{err}");

        let bad_label = dir.path().join("b.tsv");
        std::fs::write(&bad_label, "label_name\ttext\npositive\tok\nmeh\tso so\n").unwrap();
        let err = format!("{:#}", read_all(&[bad_label]).unwrap_err());
        assert!(err.contains("b.tsv line 3"), "{err}");

        let empty = dir.path().join("c.tsv");
        std::fs::write(&empty, "label_name\ttext\npositive\t \n").unwrap();
        let err = read_all(&[empty]).unwrap_err().to_string();
        assert!(err.contains("c.tsv: no labelled rows"), "{err}");
    }

    #[test]
    fn the_corpora_files_are_read_as_they_are() {
        let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpora");
        if !base.is_dir() {
            eprintln!("skipped: ../shared/corpora is not here (a fresh clone has none)");
            return;
        }
        let umsab = base.join("umsab-multilingual-tweets-train/german_train.tsv");
        let rows = read_all(&[umsab]).unwrap();
        assert_eq!(rows.len(), 1839);
        assert!(rows.iter().all(|r| r.language == "de"));
        assert_eq!(
            rows.iter().filter(|r| r.label == Label::Neutral).count(),
            613
        );
        // Its own label codes differ from UMSAB's; label_name is what is read.
        let uk = base.join("ukrainian-sentences-sentiment/uk_3class.tsv");
        let rows = read_all(&[uk]).unwrap();
        assert_eq!(rows.len(), 333);
        assert_eq!(
            rows.iter().filter(|r| r.label == Label::Neutral).count(),
            87
        );
    }

    #[test]
    fn a_foreign_cache_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.bin");
        std::fs::write(&path, b"hello").unwrap();
        let err = EmbeddingCache::open(&path).err().unwrap().to_string();
        assert!(err.contains("not an Earshot embedding cache"), "{err}");
    }
}
