//! A trained classification head: the part of the sentiment model that turns the encoder's
//! embedding into probabilities, kept in its own small JSON file so that it can be retrained
//! (`earshot train-head`) without touching the encoder.
//!
//! # The head file
//!
//! ```json
//! {
//!   "format": "earshot-sentiment-head",
//!   "format_version": 1,
//!   "id": "umsab-3f9c2a1b",
//!   "type": "logistic",
//!   "input": "embedding",
//!   "dim": 384,
//!   "temperature": 1.07,
//!   "classes": ["negative", "neutral", "positive"],
//!   "layers": [{ "weights": [[...384 numbers...], [...], [...]], "bias": [0.1, -0.2, 0.1] }],
//!   "provenance": { "encoder": "...", "data": [...], "validation": {...}, ... }
//! }
//! ```
//!
//! - `id` is the head's version id: letters, digits, `.`, `_` and `-`. It becomes part of
//!   the model key stored on every mention (`earshot/e5-small-sentiment@1+head:<id>`), so a
//!   different head never passes for the same model. `earshot train-head` makes it from a name
//!   and a hash of the weights.
//! - `type` is `logistic` (exactly one layer) or `mlp` (two or more, ReLU between them).
//! - `input` is `embedding` (the encoder's L2-normalised embedding, `dim` values) or
//!   `embedding+builtin` (the embedding followed by the model's built-in probabilities for
//!   negative, neutral and positive: `dim` = embedding size + 3).
//! - Each layer's `weights` has one row per output and one column per input; `bias` one value
//!   per output. The last layer has one output per class.
//! - Probabilities are `softmax(logits / temperature)`.
//! - `classes` names each output: negative, neutral and positive in any order (the short names
//!   neg, neu, pos are read too), or just negative and positive.
//! - `provenance` is free-form and ignored when classifying: how the head was made, from what
//!   data, and how it scored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::SentimentError;
use crate::model::LabelMap;

/// The value of `format` in every head file.
pub const HEAD_FORMAT: &str = "earshot-sentiment-head";
/// The `format_version` this code reads and writes.
pub const HEAD_FORMAT_VERSION: u32 = 1;

/// The head Earshot ships and uses by default on its default model: multinomial logistic
/// regression trained on the UMSAB multilingual tweets (QUALITY.md says how it was made and how
/// it scores). Its source is `sentiment/heads/umsab-e5-small.json`.
pub const DEFAULT_HEAD_JSON: &str = include_str!("../heads/umsab-e5-small.json");

/// The model the default head was trained on: it is used only with a model of this key.
pub const DEFAULT_HEAD_MODEL: &str = "earshot/e5-small-sentiment@1";

/// Which head scores the embeddings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum HeadChoice {
    /// The model's own scores (for Earshot's default model, sentimentai-py's MLP head).
    #[default]
    Builtin,
    /// [`DEFAULT_HEAD_JSON`] when the model is [`DEFAULT_HEAD_MODEL`], else the model's own
    /// scores: another model's embeddings mean nothing to it.
    Shipped,
    /// A head file.
    File(PathBuf),
    /// A head file's text held elsewhere (the database, where `earshot train-head
    /// --from-corrections` records the heads it activates); `origin` names it in messages.
    Text {
        /// Where the text came from, for messages ("head X, activated in the database").
        origin: String,
        /// The head file's JSON.
        json: String,
    },
}

impl HeadChoice {
    /// The head this choice means for a model whose key is `model_key`; `None` for the model's
    /// own scores.
    pub fn resolve(&self, model_key: &str) -> Result<Option<Head>, SentimentError> {
        match self {
            Self::Builtin => Ok(None),
            Self::Shipped if model_key == DEFAULT_HEAD_MODEL => {
                Head::parse(DEFAULT_HEAD_JSON, Path::new("(the shipped default head)")).map(Some)
            }
            Self::Shipped => Ok(None),
            Self::File(path) => Head::load(path).map(Some),
            Self::Text { origin, json } => Head::parse(json, Path::new(origin)).map(Some),
        }
    }
}

/// What a head is fed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HeadInput {
    /// The encoder's embedding.
    #[serde(rename = "embedding")]
    Embedding,
    /// The embedding, then the model's built-in `[negative, neutral, positive]` probabilities.
    #[serde(rename = "embedding+builtin")]
    EmbeddingAndBuiltin,
}

impl HeadInput {
    /// How many features this input has for an embedding of `embedding_dim` values.
    pub fn features(self, embedding_dim: usize) -> usize {
        match self {
            Self::Embedding => embedding_dim,
            Self::EmbeddingAndBuiltin => embedding_dim + 3,
        }
    }

    /// The feature vector for one text: its embedding, and its built-in probabilities if this
    /// input takes them.
    pub fn features_of(self, embedding: &[f32], builtin: [f32; 3]) -> Vec<f32> {
        let mut x = embedding.to_vec();
        if self == Self::EmbeddingAndBuiltin {
            x.extend_from_slice(&builtin);
        }
        x
    }
}

/// The kind of head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HeadType {
    /// Multinomial logistic regression: one linear layer.
    Logistic,
    /// A multi-layer perceptron: linear layers with ReLU between them.
    Mlp,
}

/// One linear layer: `weights` is `[outputs][inputs]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Layer {
    /// One row per output, one column per input.
    pub weights: Vec<Vec<f32>>,
    /// One value per output.
    pub bias: Vec<f32>,
}

/// A head file as written (also what `earshot train-head` writes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadFile {
    /// Always [`HEAD_FORMAT`].
    pub format: String,
    /// Always [`HEAD_FORMAT_VERSION`].
    pub format_version: u32,
    /// The head's version id.
    pub id: String,
    /// `logistic` or `mlp`.
    #[serde(rename = "type")]
    pub kind: HeadType,
    /// What the head is fed.
    pub input: HeadInput,
    /// Input features.
    pub dim: usize,
    /// Logits are divided by this before the softmax.
    pub temperature: f32,
    /// The name of each output, in order.
    pub classes: Vec<String>,
    /// The layers, input first.
    pub layers: Vec<Layer>,
    /// How the head was made; not read when classifying.
    #[serde(default)]
    pub provenance: serde_json::Value,
}

/// A validated head, ready to apply.
#[derive(Debug, Clone, PartialEq)]
pub struct Head {
    /// The file it came from (for messages), if any.
    path: Option<PathBuf>,
    /// The validated file.
    file: HeadFile,
    /// How its outputs map to negative, neutral and positive.
    labels: LabelMap,
}

impl Head {
    /// Reads and validates a head file. Every problem is a [`SentimentError::HeadFile`] naming
    /// the file and what is wrong with it.
    pub fn load(path: &Path) -> Result<Self, SentimentError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| SentimentError::head_file(path, format!("cannot be read ({e})")))?;
        Self::parse(&text, path)
    }

    /// Reads and validates the text of a head file; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, SentimentError> {
        let file: HeadFile = serde_json::from_str(text).map_err(|e| {
            SentimentError::head_file(path, format!("is not a valid head file ({e})"))
        })?;
        let mut head =
            Self::from_file(file).map_err(|problem| SentimentError::head_file(path, problem))?;
        head.path = Some(path.to_path_buf());
        Ok(head)
    }

    /// Validates a head held in memory. On refusal, says which rule it breaks.
    pub fn from_file(file: HeadFile) -> Result<Self, String> {
        if file.format != HEAD_FORMAT {
            return Err(format!(
                "has format {:?}, expected {HEAD_FORMAT:?}",
                file.format
            ));
        }
        if file.format_version != HEAD_FORMAT_VERSION {
            return Err(format!(
                "has format_version {}, this Earshot reads {HEAD_FORMAT_VERSION}",
                file.format_version
            ));
        }
        if file.id.is_empty()
            || file.id.len() > 64
            || !file
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(format!(
                "has id {:?}; an id is 1 to 64 letters, digits, '.', '_' or '-'",
                file.id
            ));
        }
        if !(file.temperature.is_finite() && file.temperature > 0.0) {
            return Err(format!(
                "has temperature {}; it must be a positive number",
                file.temperature
            ));
        }
        match (file.kind, file.layers.len()) {
            (_, 0) => return Err("has no layers".to_owned()),
            (HeadType::Logistic, n) if n != 1 => {
                return Err(format!("is logistic but has {n} layers (expected 1)"))
            }
            (HeadType::Mlp, 1) => {
                return Err("is an mlp with one layer; a one-layer head is logistic".to_owned())
            }
            _ => {}
        }
        let id2label: BTreeMap<String, String> = file
            .classes
            .iter()
            .enumerate()
            .map(|(i, c)| (i.to_string(), c.clone()))
            .collect();
        let labels = LabelMap::from_id2label(&id2label).map_err(|reason| {
            format!(
                "has classes {:?} that cannot be used: {reason}",
                file.classes
            )
        })?;
        let mut inputs = file.dim;
        for (i, layer) in file.layers.iter().enumerate() {
            let outputs = layer.bias.len();
            if outputs == 0 || layer.weights.len() != outputs {
                return Err(format!(
                    "layer {i} has {} weight rows and {outputs} biases; they must match",
                    layer.weights.len()
                ));
            }
            if let Some((row, w)) = layer
                .weights
                .iter()
                .enumerate()
                .find(|(_, w)| w.len() != inputs)
            {
                return Err(format!(
                    "layer {i} row {row} has {} weights, expected {inputs} (the layer's inputs)",
                    w.len()
                ));
            }
            let finite = layer.weights.iter().flatten().chain(&layer.bias);
            if finite.into_iter().any(|v| !v.is_finite()) {
                return Err(format!(
                    "layer {i} holds a value that is not a finite number"
                ));
            }
            inputs = outputs;
        }
        if inputs != file.classes.len() {
            return Err(format!(
                "its last layer has {inputs} outputs but {} classes are named",
                file.classes.len()
            ));
        }
        Ok(Self {
            path: None,
            file,
            labels,
        })
    }

    /// The head's version id.
    pub fn id(&self) -> &str {
        &self.file.id
    }

    /// What the head is fed.
    pub fn input(&self) -> HeadInput {
        self.file.input
    }

    /// How many features the head takes.
    pub fn dim(&self) -> usize {
        self.file.dim
    }

    /// The embedding size this head needs from the encoder.
    pub fn embedding_dim(&self) -> usize {
        match self.file.input {
            HeadInput::Embedding => self.file.dim,
            HeadInput::EmbeddingAndBuiltin => self.file.dim.saturating_sub(3),
        }
    }

    /// The file as loaded, provenance included.
    pub fn file(&self) -> &HeadFile {
        &self.file
    }

    /// The file it was loaded from, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The model key of `base` (the model directory's key) scored with this head:
    /// `{base}+head:{id}`.
    pub fn model_key(&self, base: &str) -> String {
        format!("{base}+head:{}", self.file.id)
    }

    /// `[p_negative, p_neutral, p_positive]` for one text, from its embedding and the model's
    /// built-in probabilities (used only by `embedding+builtin` heads).
    ///
    /// `embedding` must have [`Head::embedding_dim`] values; the classifier checks that once at
    /// load time.
    pub fn probabilities(&self, embedding: &[f32], builtin: [f32; 3]) -> [f32; 3] {
        let x = self.file.input.features_of(embedding, builtin);
        self.labels.to_earshot(&self.class_probabilities(&x))
    }

    /// The head's own outputs (in `classes` order) for a feature vector of [`Head::dim`] values.
    pub fn class_probabilities(&self, features: &[f32]) -> Vec<f32> {
        let mut h = features.to_vec();
        let last = self.file.layers.len() - 1;
        for (i, layer) in self.file.layers.iter().enumerate() {
            h = layer
                .weights
                .iter()
                .zip(&layer.bias)
                .map(|(row, b)| {
                    let z = b + row.iter().zip(&h).map(|(w, x)| w * x).sum::<f32>();
                    if i < last {
                        z.max(0.0)
                    } else {
                        z
                    }
                })
                .collect();
        }
        let t = self.file.temperature;
        let max = h.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let exps: Vec<f32> = h.iter().map(|z| ((z - max) / t).exp()).collect();
        let sum: f32 = exps.iter().sum();
        exps.into_iter().map(|e| e / sum).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 2-feature logistic head whose logits are `[-x0, 0, x0]` for negative, neutral, positive.
    fn tiny() -> HeadFile {
        HeadFile {
            format: HEAD_FORMAT.to_owned(),
            format_version: 1,
            id: "tiny-1".to_owned(),
            kind: HeadType::Logistic,
            input: HeadInput::Embedding,
            dim: 2,
            temperature: 1.0,
            classes: vec!["negative".into(), "neutral".into(), "positive".into()],
            layers: vec![Layer {
                weights: vec![vec![-1.0, 0.0], vec![0.0, 0.0], vec![1.0, 0.0]],
                bias: vec![0.0, 0.0, 0.0],
            }],
            provenance: serde_json::Value::Null,
        }
    }

    #[test]
    fn a_logistic_head_applies_weights_then_softmax() {
        let head = Head::from_file(tiny()).unwrap();
        let p = head.probabilities(&[1.0, 5.0], [0.0; 3]);
        let e = std::f32::consts::E;
        let sum = 1.0 / e + 1.0 + e;
        assert!((p[0] - (1.0 / e) / sum).abs() < 1e-6, "{p:?}");
        assert!((p[2] - e / sum).abs() < 1e-6, "{p:?}");
        assert_eq!(head.model_key("earshot/x@1"), "earshot/x@1+head:tiny-1");
    }

    #[test]
    fn temperature_flattens_and_class_order_is_read_from_names() {
        let mut file = tiny();
        file.temperature = 1000.0;
        file.classes = vec!["positive".into(), "neutral".into(), "negative".into()];
        let head = Head::from_file(file).unwrap();
        let p = head.probabilities(&[3.0, 0.0], [0.0; 3]);
        // Logits [-3, 0, 3] now belong to positive, neutral, negative; T = 1000 makes them
        // nearly even, with negative (logit 3) still ahead.
        assert!(p[0] > p[1] && p[1] > p[2], "{p:?}");
        assert!((p[0] - 1.0 / 3.0).abs() < 0.01, "{p:?}");
    }

    #[test]
    fn an_mlp_applies_relu_between_layers() {
        let mut file = tiny();
        file.kind = HeadType::Mlp;
        // Hidden = relu([x0, -x0]); logits = [h1, 0, h0].
        file.layers = vec![
            Layer {
                weights: vec![vec![1.0, 0.0], vec![-1.0, 0.0]],
                bias: vec![0.0, 0.0],
            },
            Layer {
                weights: vec![vec![0.0, 1.0], vec![0.0, 0.0], vec![1.0, 0.0]],
                bias: vec![0.0, 0.0, 0.0],
            },
        ];
        let head = Head::from_file(file).unwrap();
        let up = head.probabilities(&[2.0, 0.0], [0.0; 3]);
        let down = head.probabilities(&[-2.0, 0.0], [0.0; 3]);
        assert!(up[2] > up[0] && (up[0] - up[1]).abs() < 1e-6, "{up:?}");
        assert!(
            down[0] > down[2] && (down[2] - down[1]).abs() < 1e-6,
            "{down:?}"
        );
    }

    #[test]
    fn builtin_probabilities_are_appended_as_features() {
        let mut file = tiny();
        file.input = HeadInput::EmbeddingAndBuiltin;
        file.dim = 5;
        // Logit for positive is the built-in P(positive).
        file.layers[0].weights = vec![vec![0.0; 5], vec![0.0; 5], vec![0.0, 0.0, 0.0, 0.0, 9.0]];
        let head = Head::from_file(file).unwrap();
        assert_eq!(head.embedding_dim(), 2);
        let p = head.probabilities(&[0.0, 0.0], [0.0, 0.0, 1.0]);
        assert!(p[2] > 0.99, "{p:?}");
    }

    #[test]
    fn a_shape_mismatch_is_refused_with_the_layer_named() {
        let mut file = tiny();
        file.layers[0].weights[1] = vec![0.0; 3];
        let err = Head::from_file(file).unwrap_err();
        assert!(
            err.contains("layer 0 row 1 has 3 weights, expected 2"),
            "{err}"
        );

        let mut file = tiny();
        file.classes = vec!["negative".into(), "positive".into()];
        let err = Head::from_file(file).unwrap_err();
        assert!(err.contains("3 outputs but 2 classes"), "{err}");
    }

    #[test]
    fn bad_ids_types_and_temperatures_are_refused() {
        let mut file = tiny();
        file.id = "a b".into();
        assert!(Head::from_file(file).unwrap_err().contains("has id"));
        let mut file = tiny();
        file.temperature = 0.0;
        assert!(Head::from_file(file).unwrap_err().contains("temperature"));
        let mut file = tiny();
        file.kind = HeadType::Mlp;
        assert!(Head::from_file(file).unwrap_err().contains("one layer"));
        let mut file = tiny();
        file.classes[1] = "joy".into();
        assert!(Head::from_file(file).unwrap_err().contains("\"joy\""));
    }

    #[test]
    fn a_broken_file_names_itself_and_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("head.json");
        std::fs::write(&path, r#"{"format": "earshot-sentiment-head", "id": 3}"#).unwrap();
        let err = Head::load(&path).unwrap_err().to_string();
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(err.contains("not a valid head file"), "{err}");
        assert!(err.contains("[sentiment] head"), "{err}");

        let missing = dir.path().join("nope.json");
        let err = Head::load(&missing).unwrap_err().to_string();
        assert!(err.contains("cannot be read"), "{err}");
    }

    #[test]
    fn the_shipped_head_loads_for_its_model_only() {
        let head = HeadChoice::Shipped
            .resolve(DEFAULT_HEAD_MODEL)
            .unwrap()
            .unwrap();
        assert_eq!(head.dim(), 384);
        assert_eq!(head.input(), HeadInput::Embedding);
        assert!(head.id().starts_with("umsab-"), "{}", head.id());
        assert_eq!(HeadChoice::Shipped.resolve("acme/other@2").unwrap(), None);
        assert_eq!(
            HeadChoice::Builtin.resolve(DEFAULT_HEAD_MODEL).unwrap(),
            None
        );
    }

    #[test]
    fn a_head_held_as_text_resolves_like_its_file() {
        let json = serde_json::to_string(&tiny()).unwrap();
        let choice = HeadChoice::Text {
            origin: "head tiny-1 in the database".to_owned(),
            json,
        };
        let head = choice.resolve("any/model@1").unwrap().unwrap();
        assert_eq!(head.file(), &tiny());
        let broken = HeadChoice::Text {
            origin: "head x in the database".to_owned(),
            json: "{}".to_owned(),
        };
        let err = broken.resolve("any/model@1").unwrap_err().to_string();
        assert!(err.contains("head x in the database"), "{err}");
    }

    #[test]
    fn a_written_head_reads_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("head.json");
        std::fs::write(&path, serde_json::to_string(&tiny()).unwrap()).unwrap();
        let head = Head::load(&path).unwrap();
        assert_eq!(head.file(), &tiny());
        assert_eq!(head.path(), Some(path.as_path()));
    }
}
