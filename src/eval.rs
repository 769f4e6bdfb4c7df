//! `earshot eval --labels FILE.tsv`: how well the configured model labels a hand-labelled
//! set, per language: accuracy, macro-F1 and a confusion matrix.

use crate::settings::Settings;
use anyhow::{bail, Context};
use earshot_domain::{Label, Signal, Signals};
use earshot_sentiment::SentimentService;
use std::collections::BTreeMap;
use std::path::Path;

/// One labelled text.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub text: String,
    pub label: Label,
    pub language: String,
}

/// Reads a TSV with a header row: a `text` column and a label column (`label_name`, or
/// `label` when it holds names). The language is the row's `language` column if any,
/// else `language` given here, else the file name's language (`english_val.tsv` → en),
/// else detected from the text.
pub fn read_tsv(path: &Path, language: Option<&str>) -> anyhow::Result<Vec<Example>> {
    let raw =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut lines = raw.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
    let col = |name: &str| header.iter().position(|h| h.trim() == name);
    let Some(text_col) = col("text") else {
        bail!(
            "{}: the header has no `text` column (found: {})",
            path.display(),
            header.join(", ")
        );
    };
    let Some(label_col) = col("label_name").or_else(|| col("label")) else {
        bail!(
            "{}: the header has no `label_name` or `label` column",
            path.display()
        );
    };
    let lang_col = col("language");
    let from_name = language
        .map(str::to_owned)
        .or_else(|| language_of_file_name(path));
    let mut out = Vec::new();
    for (i, line) in lines.enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = line.split('\t').collect();
        let cell = |c: usize| cells.get(c).copied().unwrap_or_default();
        let label = Label::parse(cell(label_col))
            .map_err(|e| anyhow::anyhow!("{} line {}: {e}", path.display(), i + 2))?;
        let text = unquote(cell(text_col).trim());
        let language = lang_col
            .map(|c| cell(c).to_owned())
            .filter(|l| !l.is_empty())
            .or_else(|| from_name.clone())
            .or_else(|| earshot_sentiment::language::detect(&text).map(str::to_owned))
            .unwrap_or_else(|| "??".to_owned());
        out.push(Example {
            text,
            label,
            language,
        });
    }
    Ok(out)
}

/// A cell as written, or, when it is CSV-quoted (`"say ""hi"""`), what the quotes hold.
fn unquote(cell: &str) -> String {
    match cell.strip_prefix('"').and_then(|c| c.strip_suffix('"')) {
        Some(inner) => inner.replace("\"\"", "\""),
        None => cell.to_owned(),
    }
}

/// `english_val.tsv` → `en`, for the language names UMSAB-style files use.
fn language_of_file_name(path: &Path) -> Option<String> {
    let stem = path.file_stem()?.to_str()?.to_ascii_lowercase();
    const NAMES: &[(&str, &str)] = &[
        ("arabic", "ar"),
        ("english", "en"),
        ("french", "fr"),
        ("german", "de"),
        ("hindi", "hi"),
        ("italian", "it"),
        ("portuguese", "pt"),
        ("spanish", "es"),
        ("ukrainian", "uk"),
        ("russian", "ru"),
        ("azerbaijani", "az"),
    ];
    NAMES
        .iter()
        .find(|(name, _)| stem.starts_with(name))
        .map(|(_, code)| (*code).to_owned())
}

/// Scores of one group of predictions.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub n: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
    /// `confusion[true][predicted]`, in [`Label::ALL`] order.
    pub confusion: [[usize; 3]; 3],
}

/// Accuracy, macro-F1 over the classes present in the truth, and the confusion matrix.
pub fn score(pairs: &[(Label, Label)]) -> Report {
    let idx = |l: Label| Label::ALL.iter().position(|x| *x == l).unwrap_or(0);
    let mut confusion = [[0usize; 3]; 3];
    for (truth, predicted) in pairs {
        confusion[idx(*truth)][idx(*predicted)] += 1;
    }
    let n = pairs.len();
    let correct: usize = (0..3).map(|i| confusion[i][i]).sum();
    let mut f1s = Vec::new();
    for (c, row) in confusion.iter().enumerate() {
        let support: usize = row.iter().sum();
        if support == 0 {
            continue; // a class absent from the truth (a binary set) does not count
        }
        let predicted: usize = confusion.iter().map(|r| r[c]).sum();
        let tp = row[c] as f64;
        let precision = if predicted == 0 {
            0.0
        } else {
            tp / predicted as f64
        };
        let recall = tp / support as f64;
        f1s.push(if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        });
    }
    Report {
        n,
        accuracy: if n == 0 {
            0.0
        } else {
            correct as f64 / n as f64
        },
        macro_f1: if f1s.is_empty() {
            0.0
        } else {
            f1s.iter().sum::<f64>() / f1s.len() as f64
        },
        confusion,
    }
}

/// Runs the evaluation and prints the tables (Markdown, so they can go into QUALITY.md).
pub async fn run(
    settings: &Settings,
    files: &[std::path::PathBuf],
    language: Option<&str>,
) -> anyhow::Result<()> {
    let mut examples = Vec::new();
    for f in files {
        examples.extend(read_tsv(f, language)?);
    }
    if examples.is_empty() {
        bail!(
            "no labelled rows in {}",
            files
                .iter()
                .map(|f| f.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let s = &settings.sentiment;
    let opts = s.classifier_options();
    let service = tokio::task::spawn_blocking(move || SentimentService::start(opts, 4))
        .await?
        .context("loading the sentiment model")?;
    let mut predicted = Vec::with_capacity(examples.len());
    let mut signals = Vec::with_capacity(examples.len());
    for chunk in examples.chunks(s.claim_size) {
        let scores = service
            .classify(chunk.iter().map(|e| e.text.clone()).collect())
            .await?;
        predicted.extend(scores.iter().map(|s| Label::argmax(s.probabilities)));
        signals.extend(scores.iter().map(|s| s.signals));
    }
    let mut by_language: BTreeMap<&str, Vec<(Label, Label)>> = BTreeMap::new();
    for (e, p) in examples.iter().zip(&predicted) {
        by_language
            .entry(e.language.as_str())
            .or_default()
            .push((e.label, *p));
    }
    println!(
        "Model: {} ({})\n",
        service.model_key(),
        s.model_dir.display()
    );
    println!("| language | n | accuracy | macro-F1 |\n|---|---:|---:|---:|");
    let mut f1s = Vec::new();
    for (lang, pairs) in &by_language {
        let r = score(pairs);
        f1s.push(r.macro_f1);
        println!(
            "| {lang} | {} | {:.3} | {:.3} |",
            r.n, r.accuracy, r.macro_f1
        );
    }
    let all: Vec<(Label, Label)> = by_language.values().flatten().copied().collect();
    let overall = score(&all);
    println!(
        "| all | {} | {:.3} | {:.3} |",
        overall.n, overall.accuracy, overall.macro_f1
    );
    if f1s.len() > 1 {
        println!(
            "\nMacro-F1 averaged over the {} languages: {:.3}",
            f1s.len(),
            f1s.iter().sum::<f64>() / f1s.len() as f64
        );
    }
    println!("\nConfusion matrix, all languages (rows: truth, columns: predicted):\n");
    println!("| | negative | neutral | positive |\n|---|---:|---:|---:|");
    for (i, l) in Label::ALL.iter().enumerate() {
        let c = overall.confusion[i];
        println!("| {l} | {} | {} | {} |", c[0], c[1], c[2]);
    }
    print_signals(&examples, &signals);
    Ok(())
}

/// The share of each true label that each auxiliary head flagged, when the model has any.
fn print_signals(examples: &[Example], signals: &[Signals]) {
    type Pick = fn(&Signals) -> Option<Signal>;
    let heads: [(&str, Pick); 2] = [("hate", |s| s.hate), ("mixed", |s| s.mixed)];
    let present: Vec<_> = heads
        .iter()
        .filter(|(_, pick)| signals.iter().any(|s| pick(s).is_some()))
        .collect();
    if present.is_empty() {
        return;
    }
    println!("\nAuxiliary heads: share of each true label flagged (n flagged / n):\n");
    println!("| head | negative | neutral | positive |\n|---|---:|---:|---:|");
    for (name, pick) in present {
        let cells: Vec<String> = Label::ALL
            .iter()
            .map(|label| {
                let of_label: Vec<&Signals> = examples
                    .iter()
                    .zip(signals)
                    .filter(|(e, _)| e.label == *label)
                    .map(|(_, s)| s)
                    .collect();
                let flagged = of_label
                    .iter()
                    .filter(|s| pick(s).is_some_and(|x| x.flagged))
                    .count();
                let share = flagged as f64 / of_label.len().max(1) as f64;
                format!("{share:.3} ({flagged}/{})", of_label.len())
            })
            .collect();
        println!("| {name} | {} |", cells.join(" | "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Label::*;

    #[test]
    fn csv_quoted_cells_are_unquoted() {
        assert_eq!(unquote(r#""say ""hi"" now""#), r#"say "hi" now"#);
        assert_eq!(unquote("plain \"quoted\" word"), "plain \"quoted\" word");
        assert_eq!(unquote("\""), "\"");
    }

    #[test]
    fn scores_match_a_hand_computed_example() {
        // truth neg,neg,neu,pos,pos; predicted neg,pos,neu,pos,neg
        let r = score(&[
            (Negative, Negative),
            (Negative, Positive),
            (Neutral, Neutral),
            (Positive, Positive),
            (Positive, Negative),
        ]);
        assert_eq!(r.n, 5);
        assert!((r.accuracy - 0.6).abs() < 1e-9);
        // F1: neg 0.5, neu 1.0, pos 0.5 → macro 2/3
        assert!((r.macro_f1 - 2.0 / 3.0).abs() < 1e-9, "{}", r.macro_f1);
        assert_eq!(r.confusion[0], [1, 0, 1]);
    }

    #[test]
    fn classes_absent_from_the_truth_do_not_count() {
        let r = score(&[(Negative, Negative), (Positive, Neutral)]);
        // neg F1 1.0, pos F1 0.0; neutral has no support
        assert!((r.macro_f1 - 0.5).abs() < 1e-9);
    }

    #[test]
    fn tsv_files_name_their_columns_and_language() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("spanish_val.tsv");
        std::fs::write(
            &p,
            "label\tlabel_name\ttext\n0\tnegative\tMalo\n2\tpositive\tBueno\n",
        )
        .unwrap();
        let ex = read_tsv(&p, None).unwrap();
        assert_eq!(ex.len(), 2);
        assert_eq!(
            (ex[1].label, ex[1].language.as_str(), ex[1].text.as_str()),
            (Positive, "es", "Bueno")
        );
        std::fs::write(&p, "label\ttext\n7\tx\n").unwrap();
        assert!(read_tsv(&p, None)
            .unwrap_err()
            .to_string()
            .contains("line 2"));
    }
}
