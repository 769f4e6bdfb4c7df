//! `earshot train-head --from-corrections`: the deployment learns from its team's sentiment
//! corrections.
//!
//! 1. **Data.** The public set (`--data`, by default the UMSAB training tweets) and every
//!    corrected mention in the database (`--brand` limits them to one brand), each with its
//!    latest corrected label and the text the classifier read (title and snippet, as the
//!    worker joins them). A correction counts `--correction-weight` times.
//! 2. **Embeddings.** Public texts come from the on-disk embedding cache (embedded once).
//!    A correction reuses the embedding stored with its mention's sentiment when that was made
//!    by the same encoder (the model key before `+head:`); otherwise it is embedded afresh.
//!    Anchors: up to `--anchors` of the deployment's latest other classified mentions (same
//!    brand with `--brand`) that the head in use labels with a probability of 0.7 or more,
//!    with that label, count once each. They tell the new
//!    head to keep the current labels where nobody objected, so that it learns the sentiment
//!    of the corrections rather than their topic (corrections that are all about one brand's
//!    products would otherwise teach "talk of these products is negative").
//!    Every fit starts from the head in use (a warm start) rather than from zero.
//! 3. **Judging.** Stratified k-fold cross-validation on the corrections: per fold, a head is
//!    trained on the public set plus the other folds' corrections and labels the fold it never
//!    saw; the head in use labels the same rows. Both are scored by macro-F1 and accuracy,
//!    pooled over the folds. A final head is then trained on the public set plus every
//!    correction, and it and the head in use are scored on the public validation rows.
//! 4. **Activation.** The final head is activated only if its cross-validated macro-F1 on the
//!    corrections beats the head in use and its public validation macro-F1 is no more than
//!    `--public-tolerance` below the head in use. Either way it is recorded in the database,
//!    with its evaluation; an activated head is what `serve` and `classify` load from then on
//!    (a head named by `[sentiment] head` still wins).

use super::{
    embed_all, label_index, public_sets, read_counts, round3, sizes, write_head, Embedded,
    FromCorrections, Request, MIN_CORRECTIONS,
};
use crate::settings::Settings;
use crate::{app, classify};
use anyhow::{bail, Context};
use earshot_domain::{Label, Timestamp};
use earshot_sentiment::training::{self, CrossValidation, Example, Scored, TrainOptions};
use earshot_sentiment::worker::text_of;
use earshot_sentiment::{Head, HeadChoice, HeadInput, ModelConfig};
use earshot_store::{ClassifyJob, MentionQuery, NewHead, TrainingCorrection};
use std::path::PathBuf;
use std::time::Instant;

/// An anchor is trained on only when the head in use gives its label at least this
/// probability: a label it is unsure of is as likely to be one of the errors the corrections
/// are about (self-training keeps confident pseudo-labels only, for the same reason).
const ANCHOR_MIN_PROBABILITY: f32 = 0.7;

/// The environment variable that names the corpora folder (`../shared/corpora` by default).
const CORPORA_ENV: &str = "EARSHOT_CORPORA";

/// The whole `--from-corrections` flow; prints what it measured and what it decided.
pub async fn run(
    settings: &Settings,
    mut req: Request,
    how: FromCorrections,
) -> anyhow::Result<()> {
    let started = Instant::now();
    if !settings.path.is_file() {
        bail!(
            "--from-corrections learns from a deployment's database: give its config with \
             --config PATH (or EARSHOT_CONFIG); {} does not exist",
            settings.path.display()
        );
    }
    if req.input != HeadInput::Embedding {
        bail!("--from-corrections trains heads on the embedding alone: leave --input out");
    }
    let store = app::open_store(settings).await?;
    if let Some(brand) = &how.brand {
        if store.brand_name(brand).await?.is_none() {
            bail!("there is no brand {:?} in the database", brand.as_str());
        }
    }
    let mut corrections = store
        .training_corrections(how.brand.as_ref())
        .await
        .context("reading the corrections")?;
    corrections.retain(|c| !text_of(&c.job).trim().is_empty());
    let scope = how
        .brand
        .as_ref()
        .map(|b| format!(" for brand {}", b.as_str()))
        .unwrap_or_default();
    if corrections.len() < MIN_CORRECTIONS {
        bail!(
            "{} corrected mention{}{scope}: cross-validation needs {MIN_CORRECTIONS} at least. \
             Correct more through the API (POST /api/v1/mentions/{{id}}/sentiment) and run again",
            corrections.len(),
            if corrections.len() == 1 { "" } else { "s" }
        );
    }
    let by_label = Label::ALL.map(|l| corrections.iter().filter(|c| c.label == l).count());
    println!(
        "Corrections{scope}: {} ({} negative, {} neutral, {} positive).",
        corrections.len(),
        by_label[0],
        by_label[1],
        by_label[2]
    );
    if by_label.iter().filter(|&&n| n > 0).count() == 1 {
        println!(
            "(All of them have one label, so macro-F1 on them is that label's F1; the public \
             validation check below guards the other labels.)"
        );
    }

    // Anchors: the deployment's latest other classified mentions, which will be labelled by
    // the head in use (see `FromCorrections::anchors`).
    let corrected: std::collections::HashSet<_> = corrections.iter().map(|c| c.job.id).collect();
    let anchors: Vec<String> = if how.anchors == 0 {
        Vec::new()
    } else {
        store
            .mentions(&MentionQuery {
                brand: how.brand.clone(),
                limit: u32::try_from(how.anchors + corrections.len()).unwrap_or(u32::MAX),
                ..MentionQuery::default()
            })
            .await
            .context("reading the mentions to anchor on")?
            .into_iter()
            .filter(|m| {
                m.sentiment.is_some() && m.correction.is_none() && !corrected.contains(&m.id)
            })
            .map(|m| {
                text_of(&ClassifyJob {
                    id: m.id,
                    title: m.title,
                    snippet: m.snippet,
                    rating: m.rating,
                    taken_over_from: None,
                })
            })
            .filter(|t| !t.trim().is_empty())
            .take(how.anchors)
            .collect()
    };
    println!(
        "Anchors: {} of the deployment's other mentions, labelled by the head in use.",
        anchors.len()
    );

    if req.data.is_empty() {
        req.data = default_public_data()?;
    }
    let (train, val, val_held_out) = public_sets(&req)?;
    println!(
        "Public set: {} training rows from {} file{}; {} validation rows ({}).",
        train.len(),
        req.data.len(),
        if req.data.len() == 1 { "" } else { "s" },
        val.len(),
        if val_held_out {
            "from --val"
        } else {
            "a dev split of --data"
        }
    );

    // The head in use now, exactly as `serve` and `classify` would choose it.
    let encoder = ModelConfig::load(&settings.sentiment.model_dir)
        .context("loading the sentiment model")?
        .model_key()
        .to_owned();
    let (choice, why) = classify::head_in_use(&settings.sentiment, store.as_ref()).await?;
    let current = choice.resolve(&encoder)?;
    let current_name = current
        .as_ref()
        .map_or_else(|| "builtin".to_owned(), |h| h.id().to_owned());
    println!("Current head: {current_name} ({why}).");
    // A head that reads the built-in probabilities, or none (the built-in head itself), needs
    // what only a fresh run of the model gives: stored embeddings are not enough then.
    let needs_builtin = current
        .as_ref()
        .is_none_or(|h| h.input() != HeadInput::Embedding);
    let dim = current.as_ref().map(Head::embedding_dim);
    let reusable = |c: &TrainingCorrection| {
        !needs_builtin
            && Some(c.embedding.len()) == dim
            && c.model.as_deref().map(encoder_of) == Some(encoder.as_str())
    };
    let fresh: Vec<usize> = (0..corrections.len())
        .filter(|&i| !reusable(&corrections[i]))
        .collect();
    println!(
        "Correction embeddings: {} stored with their sentiment, {} to embed.",
        corrections.len() - fresh.len(),
        fresh.len()
    );

    let mut opts = settings.sentiment.classifier_options();
    opts.head = HeadChoice::Builtin;
    let mut texts: Vec<String> = train.iter().chain(&val).map(|e| e.text.clone()).collect();
    texts.extend(anchors.iter().cloned());
    texts.extend(fresh.iter().map(|&i| text_of(&corrections[i].job)));
    let cache_path = req.cache.clone();
    let embed_started = Instant::now();
    let (mut embedded, model_key, model_sha, max_tokens, new_texts) =
        tokio::task::spawn_blocking(move || embed_all(&opts, &texts, cache_path))
            .await
            .context("the embedding thread failed")??;
    println!(
        "Embedded {} texts with {model_key} in {:.1}s ({new_texts} new, {} from the cache).",
        embedded.len(),
        embed_started.elapsed().as_secs_f64(),
        embedded.len() - new_texts
    );
    let fresh_embedded = embedded.split_off(train.len() + val.len() + anchors.len());
    let anchor_embedded = embedded.split_off(train.len() + val.len());
    let val_embedded = embedded.split_off(train.len());
    let train_embedded = embedded;
    let mut correction_embedded: Vec<Option<Embedded>> = corrections
        .iter()
        .map(|c| {
            reusable(c).then(|| Embedded {
                embedding: c.embedding.clone(),
                builtin: [0.0; 3],
            })
        })
        .collect();
    for (&i, e) in fresh.iter().zip(fresh_embedded) {
        correction_embedded[i] = Some(e);
    }
    let correction_embedded: Vec<Embedded> = correction_embedded
        .into_iter()
        .collect::<Option<_>>()
        .context("a correction was left without an embedding")?;

    let example = |x: &Embedded, label: Label, weight: u32| Example {
        features: x.embedding.clone(),
        label: label_index(label),
        weight,
    };
    let mut public_x: Vec<Example> = train
        .iter()
        .zip(&train_embedded)
        .map(|(r, x)| example(x, r.label, 1))
        .collect();
    let val_x: Vec<Example> = val
        .iter()
        .zip(&val_embedded)
        .map(|(r, x)| example(x, r.label, 1))
        .collect();
    let corrections_x: Vec<Example> = corrections
        .iter()
        .zip(&correction_embedded)
        .map(|(c, x)| example(x, c.label, how.weight))
        .collect();
    let current_label = |x: &Embedded| {
        let p = match &current {
            Some(head) => head.probabilities(&x.embedding, x.builtin),
            None => x.builtin,
        };
        label_index(Label::argmax(p))
    };
    let current_on_corrections: Vec<usize> =
        correction_embedded.iter().map(current_label).collect();
    let confident: Vec<Example> = anchor_embedded
        .iter()
        .filter_map(|x| {
            let p = match &current {
                Some(head) => head.probabilities(&x.embedding, x.builtin),
                None => x.builtin,
            };
            let label = Label::argmax(p);
            let sure = p[label_index(label)] >= ANCHOR_MIN_PROBABILITY;
            sure.then(|| Example {
                features: x.embedding.clone(),
                label: label_index(label),
                weight: 1,
            })
        })
        .collect();
    println!(
        "Anchors the head in use is sure of (P >= {ANCHOR_MIN_PROBABILITY}): {} of {}.",
        confident.len(),
        anchor_embedded.len()
    );
    public_x.extend(confident);
    let current_on_public = Scored::of(
        val_x
            .iter()
            .zip(&val_embedded)
            .map(|(e, x)| (e.label, current_label(x))),
    );

    let train_opts = TrainOptions {
        seed: req.seed,
        alphas: req.alphas.clone(),
        input: HeadInput::Embedding,
        name: req.name.clone(),
        // Fine-tune the head in use rather than start from nothing, so that what it learnt
        // from its (possibly much larger) data is kept where the corrections do not move it.
        start: current.as_ref().map(|h| h.file().clone()),
        ..TrainOptions::default()
    };
    let folds = how.folds;
    let fit_started = Instant::now();
    println!(
        "\nCross-validating on the corrections ({folds} folds; each fold trains on the public \
         set and the other folds, corrections counted {} times):\n",
        how.weight
    );
    println!("| fold | n | candidate macro-F1 | current macro-F1 | candidate accuracy | current accuracy |");
    println!("|---:|---:|---:|---:|---:|---:|");
    let (cv, trained) = {
        let (public_x, val_x, corrections_x, train_opts) = (
            public_x.clone(),
            val_x.clone(),
            corrections_x.clone(),
            train_opts.clone(),
        );
        tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let cv = training::cross_validate(
                &public_x,
                &val_x,
                &corrections_x,
                &current_on_corrections,
                folds,
                &train_opts,
                |fold, candidate, current| {
                    println!(
                        "| {} | {} | {:.3} | {:.3} | {:.3} | {:.3} |",
                        fold + 1,
                        candidate.n,
                        candidate.macro_f1,
                        current.macro_f1,
                        candidate.accuracy,
                        current.accuracy
                    );
                },
            )?;
            let mut all = public_x;
            all.extend(corrections_x);
            let trained = training::train_logistic(&all, &val_x, &train_opts)?;
            Ok((cv, trained))
        })
        .await
        .context("the training thread failed")??
    };
    let fit_secs = fit_started.elapsed().as_secs_f64();
    let candidate = Head::from_file(trained.head.clone())
        .map_err(|e| anyhow::anyhow!("the trained head is invalid: {e}"))?;
    let candidate_on_public = Scored::of(
        val_x
            .iter()
            .map(|e| (e.label, training::predict(&candidate, &e.features))),
    );

    let decision = Decision::of(&cv, &candidate_on_public, &current_on_public, &how);
    println!(
        "\nPooled over {} folds: candidate macro-F1 {:.3}, accuracy {:.3}; current head {:.3}, {:.3}.",
        cv.folds, cv.candidate.macro_f1, cv.candidate.accuracy, cv.current.macro_f1, cv.current.accuracy
    );
    println!(
        "Public validation ({} rows): candidate macro-F1 {:.3}, current head {:.3} (tolerance {}).",
        candidate_on_public.n,
        candidate_on_public.macro_f1,
        current_on_public.macro_f1,
        how.public_tolerance
    );
    println!("Trained and cross-validated in {fit_secs:.1}s.\n");

    let now = Timestamp::now();
    let evaluation = serde_json::json!({
        "corrections": corrections.len(),
        "corrections_by_label": { "negative": by_label[0], "neutral": by_label[1], "positive": by_label[2] },
        "brand": how.brand.as_ref().map(|b| b.as_str().to_owned()),
        "correction_weight": how.weight,
        "anchors": anchors.len(),
        "folds": cv.folds,
        "seed": req.seed,
        "current_head": current_name,
        "cross_validation": {
            "candidate": scored_json(&cv.candidate),
            "current": scored_json(&cv.current),
        },
        "public_validation": {
            "rows": candidate_on_public.n,
            "candidate": scored_json(&candidate_on_public),
            "current": scored_json(&current_on_public),
            "tolerance": how.public_tolerance,
        },
        "activated": decision.activate,
        "decision": decision.reason,
    });
    let mut file = trained.head.clone();
    file.provenance = serde_json::json!({
        "trained_by": format!("earshot {} train-head --from-corrections", env!("CARGO_PKG_VERSION")),
        "trained_at": now.to_rfc3339(),
        "command": std::env::args().collect::<Vec<_>>().join(" "),
        "encoder": { "model": model_key, "model_onnx_sha256": model_sha, "max_tokens": max_tokens },
        "method": "multinomial logistic regression (linfa-logistic, L-BFGS, L2) on the public set \
                   plus the deployment's corrections, each correction repeated correction_weight \
                   times, plus anchors (the deployment's latest other mentions, labelled by the \
                   head in use), warm-started from the head in use; standardised features, classes balanced by oversampling, alpha and \
                   stopping round chosen on the public validation macro-F1, temperature by its \
                   minimum log-loss; judged by stratified k-fold cross-validation on the corrections",
        "data": sizes(&req.data, &read_counts(&req.data)?),
        "validation": {
            "source": if val_held_out { "--val files" } else { "dev split of --data" },
            "files": sizes(&req.val, &read_counts(&req.val)?),
            "dev_fraction": if val_held_out { None } else { Some(req.dev_fraction) },
            "alpha": trained.chosen.alpha,
            "iterations": trained.chosen.iterations,
        },
        "evaluation": evaluation,
    });
    let head_json = serde_json::to_string(&file)?;
    store
        .save_head(&NewHead {
            head_id: &file.id,
            encoder: &encoder,
            head_json: &head_json,
            evaluation: &evaluation.to_string(),
            trained_at: now,
            activated_at: decision.activate.then_some(now),
        })
        .await
        .context("recording the head in the database")?;
    if let Some(out) = &req.out {
        let path = write_head(out, &file)?;
        println!("Wrote {} (id {}).", path.display(), file.id);
    }

    let summary = format!(
        "CV macro-F1 {:.2} vs current {:.2} on {} corrections",
        cv.candidate.macro_f1,
        cv.current.macro_f1,
        corrections.len()
    );
    if decision.activate {
        println!("activated head {}: {summary}", file.id);
        println!(
            "`serve` and `classify` use it from their next start, for every process sharing \
             this database; `earshot classify --since 30d` re-scores the last 30 days' mentions \
             with it."
        );
        if settings.sentiment.head_from_config {
            println!(
                "Note: {} names [sentiment] head (or EARSHOT__SENTIMENT__HEAD is set), and that \
                 wins over an activated head: remove it for this head to be used.",
                settings.path.display()
            );
        }
    } else {
        println!(
            "kept the current head {current_name}: {summary}; {}. The candidate {} is recorded \
             in the database but not used.",
            decision.reason, file.id
        );
    }
    println!("Done in {:.1}s.", started.elapsed().as_secs_f64());
    Ok(())
}

/// Whether a candidate head is activated, and the rule's verdict in words.
#[derive(Debug, Clone, PartialEq)]
struct Decision {
    activate: bool,
    reason: String,
}

impl Decision {
    /// The activation rule: the candidate's cross-validated macro-F1 on the corrections is
    /// higher than the current head's on the same rows, and its macro-F1 on the public
    /// validation rows is at most `public_tolerance` below the current head's.
    fn of(
        cv: &CrossValidation,
        candidate_public: &Scored,
        current_public: &Scored,
        how: &FromCorrections,
    ) -> Self {
        let beats = cv.candidate.macro_f1 > cv.current.macro_f1 + 1e-9;
        let drop = current_public.macro_f1 - candidate_public.macro_f1;
        let public_ok = drop <= how.public_tolerance + 1e-9;
        let reason = match (beats, public_ok) {
            (true, true) => format!(
                "it beats the current head on the corrections, and its public validation \
                 macro-F1 is {:.3} (current {:.3}, tolerance {})",
                candidate_public.macro_f1, current_public.macro_f1, how.public_tolerance
            ),
            (false, _) => {
                "the candidate does not beat the current head on the corrections".to_owned()
            }
            (true, false) => format!(
                "the candidate loses {drop:.3} macro-F1 on the public validation rows ({:.3} vs \
                 {:.3}), more than the tolerance {}",
                candidate_public.macro_f1, current_public.macro_f1, how.public_tolerance
            ),
        };
        Self {
            activate: beats && public_ok,
            reason,
        }
    }
}

/// A score as JSON, rounded for people.
fn scored_json(s: &Scored) -> serde_json::Value {
    serde_json::json!({
        "n": s.n,
        "macro_f1": round3(s.macro_f1),
        "accuracy": round3(s.accuracy),
        "confusion": s.confusion,
    })
}

/// The encoder part of a stored model key: what comes before `+head:`.
fn encoder_of(model: &str) -> &str {
    model
        .split_once("+head:")
        .map_or(model, |(encoder, _)| encoder)
}

/// The UMSAB training files, as the shipped head was trained on: every `*_train.tsv` in
/// `$EARSHOT_CORPORA/umsab-multilingual-tweets-train`, else in
/// `../shared/corpora/umsab-multilingual-tweets-train` from the working directory.
fn default_public_data() -> anyhow::Result<Vec<PathBuf>> {
    let base = std::env::var_os(CORPORA_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../shared/corpora"));
    let dir = base.join("umsab-multilingual-tweets-train");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.ends_with("_train.tsv"))
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    if files.is_empty() {
        bail!(
            "no --data given, and no UMSAB training files (*_train.tsv) in {}: pass the public \
             set with --data FILE.tsv, or set {CORPORA_ENV} to the corpora folder",
            dir.display()
        );
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scored(macro_f1: f64) -> Scored {
        Scored {
            n: 10,
            accuracy: macro_f1,
            macro_f1,
            confusion: [[0; 3]; 3],
        }
    }

    fn cv(candidate: f64, current: f64) -> CrossValidation {
        CrossValidation {
            folds: 5,
            candidate: scored(candidate),
            current: scored(current),
            per_fold: Vec::new(),
        }
    }

    fn how(tolerance: f64) -> FromCorrections {
        FromCorrections {
            brand: None,
            weight: 10,
            anchors: 500,
            folds: 5,
            public_tolerance: tolerance,
        }
    }

    #[test]
    fn a_candidate_is_activated_only_when_it_wins_on_corrections_and_holds_on_public_data() {
        let d = Decision::of(&cv(0.8, 0.4), &scored(0.60), &scored(0.61), &how(0.02));
        assert!(d.activate, "{}", d.reason);
        let d = Decision::of(&cv(0.4, 0.4), &scored(0.70), &scored(0.61), &how(0.02));
        assert!(!d.activate);
        assert!(d.reason.contains("does not beat"), "{}", d.reason);
        let d = Decision::of(&cv(0.9, 0.4), &scored(0.55), &scored(0.61), &how(0.02));
        assert!(!d.activate);
        assert!(d.reason.contains("more than the tolerance"), "{}", d.reason);
    }

    #[test]
    fn the_encoder_is_the_model_key_before_its_head() {
        assert_eq!(
            encoder_of("earshot/e5-small-sentiment@1+head:umsab-16f8f93c"),
            "earshot/e5-small-sentiment@1"
        );
        assert_eq!(encoder_of("acme/other@2"), "acme/other@2");
    }
}
