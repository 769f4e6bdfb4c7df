//! The synchronous classifier: one ONNX Runtime session and its tokenizer.
//!
//! Like text-embeddings-inference's `Backend`, it is plain blocking code that owns the model;
//! [`SentimentService`](crate::SentimentService) puts it on its own thread and feeds it batches.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use ort::session::builder::GraphOptimizationLevel;
use ort::session::{Session, SessionInputValue};
use ort::value::{Outlet, Tensor, TensorElementType};
use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

use crate::error::SentimentError;
use crate::head::{Head, HeadChoice};
use crate::model::{LabelMap, ModelConfig, ScoreOutput};
use crate::runtime;
use crate::signals::AuxHeads;
use earshot_domain::Signals;

/// Input texts are cut to this many characters per allowed token before tokenising, so that a
/// huge text costs no more than a long one. Even scripts that use one token per character stay
/// well inside it.
const CHARS_PER_TOKEN_CAP: usize = 16;

/// Sentences run once when a classifier loads: a real batch (two languages, two lengths, so
/// padding is exercised) proves the model, tokenizer and config fit together before any
/// mention depends on them.
const WARM_UP: [&str; 3] = [
    "The kettle stopped working after a week.",
    "Дуже задоволена покупкою, рекомендую всім друзям!",
    "ok",
];

/// How to load a [`Classifier`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassifierOptions {
    /// The model directory (`model.onnx`, `tokenizer.json`, `config.json`).
    pub model_dir: PathBuf,
    /// The ONNX Runtime library to load. `None` means `ORT_DYLIB_PATH`, then a
    /// `libonnxruntime.so*` in `model_dir`; see [`locate_runtime`](crate::locate_runtime).
    pub ort_dylib: Option<PathBuf>,
    /// Which head scores the encoder's embedding: the model's own (the default here), the
    /// head Earshot ships, or a head file (see [`Head`]).
    pub head: HeadChoice,
    /// Texts are truncated to this many tokens (further capped by the config's `max_length`).
    /// Mentions are snippets: 256 keeps nearly all of them whole and is much faster than 512.
    pub max_tokens: usize,
    /// Threads ONNX Runtime may use inside one operator.
    pub intra_threads: usize,
    /// Texts per model run at most.
    pub batch_size: usize,
    /// Padded tokens per model run at most (texts × the longest text's tokens), so a run of
    /// long texts is split into smaller runs and memory stays bounded. A single text always
    /// runs, however long (it is truncated to `max_tokens` anyway).
    pub max_batch_tokens: usize,
}

impl ClassifierOptions {
    /// The default token limit.
    pub const DEFAULT_MAX_TOKENS: usize = 256;
    /// The default number of intra-operator threads.
    pub const DEFAULT_INTRA_THREADS: usize = 2;
    /// The default number of texts per model run.
    pub const DEFAULT_BATCH_SIZE: usize = 32;
    /// The default padded-token budget per model run: 32 texts of 128 tokens. With the default
    /// model a run of that size needs about 170 MB of activations; 32 texts of 256 tokens
    /// would need about 470 MB.
    pub const DEFAULT_MAX_BATCH_TOKENS: usize = 4096;

    /// Options for the model in `model_dir`, with the default limits and runtime search.
    pub fn new(model_dir: impl Into<PathBuf>) -> Self {
        Self {
            model_dir: model_dir.into(),
            ort_dylib: None,
            head: HeadChoice::Builtin,
            max_tokens: Self::DEFAULT_MAX_TOKENS,
            intra_threads: Self::DEFAULT_INTRA_THREADS,
            batch_size: Self::DEFAULT_BATCH_SIZE,
            max_batch_tokens: Self::DEFAULT_MAX_BATCH_TOKENS,
        }
    }
}

/// What the model says about one text.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    /// `[p_negative, p_neutral, p_positive]`, summing to 1 (up to rounding), from the configured
    /// head when there is one, else from the model itself. A 2-class model gives neutral 0.
    pub probabilities: [f32; 3],
    /// The text's embedding as the model gives it (384 values, L2-normalised, for the default
    /// model); empty for models without an embedding output.
    pub embedding: Vec<f32>,
    /// The auxiliary heads' verdicts (see [`crate::signals`]); empty when the model
    /// directory has none.
    pub signals: Signals,
}

/// What each graph input is fed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InputKind {
    /// Token ids.
    Ids,
    /// 1 for tokens, 0 for padding.
    Mask,
    /// All zeros (single-segment input), for BERT-style models that ask for it.
    TypeIds,
}

/// A loaded model, ready to classify. Not thread-safe by design (ONNX Runtime's `run` needs
/// exclusive access): give it one thread, as [`SentimentService`](crate::SentimentService) does.
pub struct Classifier {
    /// The ONNX Runtime session.
    session: Session,
    /// The model's tokenizer, with truncation set and padding off (batches are padded here).
    tokenizer: Tokenizer,
    /// What the model directory's config said.
    config: ModelConfig,
    /// The configured head, applied to each embedding in place of the model's own scores.
    head: Option<Head>,
    /// The auxiliary heads found in the model directory, applied to each embedding.
    aux: AuxHeads,
    /// What results are stored against: the config's key, plus the head's id when there is one.
    model_key: String,
    /// The graph's inputs, in order, and what each is fed.
    inputs: Vec<(String, InputKind)>,
    /// The output with class scores.
    scores_output: String,
    /// Whether the scores are logits that need a softmax.
    softmax: bool,
    /// The output with embeddings, if the model has one.
    embedding_output: Option<String>,
    /// Token id used to pad short texts in a batch.
    pad_id: i64,
    /// The token limit in force (options and config combined).
    max_tokens: usize,
    /// Texts per model run at most.
    batch_size: usize,
    /// Padded tokens per model run at most.
    max_batch_tokens: usize,
}

impl std::fmt::Debug for Classifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Classifier")
            .field("model", &self.model_key)
            .field("dir", &self.config.dir())
            .field("max_tokens", &self.max_tokens)
            .finish_non_exhaustive()
    }
}

impl Classifier {
    /// Loads the model directory, starts ONNX Runtime if this process has not yet, and runs a
    /// warm-up batch.
    ///
    /// On success the model has classified real text with the shapes and labels its config
    /// promises. A missing, unreadable or broken model file gives [`SentimentError::ModelFile`]
    /// naming it; an unusable `id2label` gives [`SentimentError::UnusableLabels`]; a missing or
    /// wrong ONNX Runtime library gives [`SentimentError::RuntimeNotFound`] or
    /// [`SentimentError::RuntimeLoad`].
    pub fn load(opts: &ClassifierOptions) -> Result<Self, SentimentError> {
        let config = ModelConfig::load(&opts.model_dir)?;
        let head = opts.head.resolve(config.model_key())?;
        let dylib = runtime::locate_runtime(opts.ort_dylib.as_deref(), config.dir())?;
        let environment = runtime::environment(&dylib)?;

        let model_path = config.model_path();
        let broken_model = |e: ort::Error| {
            SentimentError::model_file(
                &model_path,
                format!("cannot be loaded by ONNX Runtime ({e})"),
            )
        };
        let session = Session::builder(environment)
            .and_then(|b| Ok(b.with_optimization_level(GraphOptimizationLevel::All)?))
            .and_then(|b| Ok(b.with_intra_threads(opts.intra_threads.max(1))?))
            .and_then(|b| Ok(b.with_inter_threads(1)?))
            .and_then(|mut b| b.commit_from_file(&model_path))
            .map_err(broken_model)?;

        let inputs = session
            .inputs()
            .iter()
            .map(|input| input_kind(input).map(|kind| (input.name().to_owned(), kind)))
            .collect::<Result<Vec<_>, String>>()
            .map_err(|problem| SentimentError::model_file(&model_path, problem))?;
        if !inputs.iter().any(|(_, kind)| *kind == InputKind::Ids) {
            return Err(SentimentError::model_file(
                &model_path,
                "has no input named input_ids",
            ));
        }
        let (scores_output, softmax, embedding_output) =
            resolve_outputs(&config, session.outputs())
                .map_err(|problem| SentimentError::model_file(&model_path, problem))?;

        let max_tokens = opts
            .max_tokens
            .max(1)
            .min(config.max_length().unwrap_or(usize::MAX));
        let tokenizer_path = config.tokenizer_path();
        let broken_tokenizer = |e: tokenizers::Error| {
            SentimentError::model_file(&tokenizer_path, format!("cannot be loaded ({e})"))
        };
        let mut tokenizer = Tokenizer::from_file(&tokenizer_path).map_err(broken_tokenizer)?;
        let pad_id = config
            .pad_token_id()
            .or_else(|| tokenizer.get_padding().map(|p| p.pad_id))
            .or_else(|| tokenizer.token_to_id("<pad>"))
            .or_else(|| tokenizer.token_to_id("[PAD]"))
            .unwrap_or(0);
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_tokens,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
                direction: TruncationDirection::Right,
            }))
            .map_err(broken_tokenizer)?;

        let aux = AuxHeads::load(config.dir())?;
        let model_key = config.model_key().to_owned();
        let mut classifier = Self {
            session,
            tokenizer,
            config,
            head: None,
            aux,
            model_key,
            inputs,
            scores_output,
            softmax,
            embedding_output,
            pad_id: i64::from(pad_id),
            max_tokens,
            batch_size: opts.batch_size.max(1),
            max_batch_tokens: opts.max_batch_tokens.max(1),
        };
        classifier.classify(&WARM_UP).map_err(|e| {
            SentimentError::model_file(
                classifier.config.model_path(),
                format!("failed its warm-up batch ({e})"),
            )
        })?;
        if let Some(head) = head {
            classifier.attach(head)?;
        }
        tracing::info!(
            model = classifier.model_key.as_str(),
            dir = %classifier.config.dir().display(),
            max_tokens,
            auxiliary_heads = ?classifier.aux.names(),
            "sentiment model loaded"
        );
        Ok(classifier)
    }

    /// Puts `head` in place of the model's built-in head, after checking on a real text that
    /// the model gives an embedding of the size the head needs. On refusal the classifier keeps
    /// what it had.
    fn attach(&mut self, head: Head) -> Result<(), SentimentError> {
        let path = head.path().map(Path::to_path_buf).unwrap_or_default();
        if self.embedding_output.is_none() {
            return Err(SentimentError::head_file(
                path,
                format!(
                    "needs the encoder's embedding, but the model in {} has no embedding output \
                     (its config.json \"outputs\" names none; rebuild the default model with \
                     scripts/build-model.sh)",
                    self.config.dir().display()
                ),
            ));
        }
        let probe = self.classify(&WARM_UP[..1])?;
        let got = probe.first().map_or(0, |s| s.embedding.len());
        if got != head.embedding_dim() {
            return Err(SentimentError::head_file(
                path,
                format!(
                    "takes {}-value embeddings but the model in {} gives {got}",
                    head.embedding_dim(),
                    self.config.dir().display()
                ),
            ));
        }
        self.model_key = head.model_key(self.config.model_key());
        self.head = Some(head);
        Ok(())
    }

    /// What the model directory's config said.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// The head in use, when one is configured.
    pub fn head(&self) -> Option<&Head> {
        self.head.as_ref()
    }

    /// The key results are stored against: [`ModelConfig::model_key`], followed by
    /// `+head:<id>` when a head is configured (`earshot/e5-small-sentiment@1+head:umsab-3f9c2a1b`).
    pub fn model_key(&self) -> &str {
        &self.model_key
    }

    /// The token limit in force: the options' `max_tokens`, capped by the config's `max_length`.
    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    /// Classifies `texts` and returns one [`Scores`] per text, in the same order.
    ///
    /// Each text gets the config's prefix and is truncated to [`Classifier::max_tokens`]. The
    /// texts are then sorted by token count and run in batches of similar length, each at most
    /// `batch_size` texts and `max_batch_tokens` padded tokens, so that little time goes into
    /// padding and memory stays bounded. Padding and batching do not change a text's result
    /// beyond float rounding. An empty slice returns an empty vector without running the model.
    pub fn classify(&mut self, texts: &[&str]) -> Result<Vec<Scores>, SentimentError> {
        let encodings = texts
            .iter()
            .map(|text| self.tokenize(text))
            .collect::<Result<Vec<_>, _>>()?;
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| encodings[i].ids.len());

        let mut results: Vec<Option<Scores>> = vec![None; texts.len()];
        for run in runs(
            &order,
            |i| encodings[i].ids.len(),
            self.batch_size,
            self.max_batch_tokens,
        ) {
            let batch: Vec<&Encoded> = run.iter().map(|&i| &encodings[i]).collect();
            for (&i, scores) in run.iter().zip(self.run(&batch)?) {
                results[i] = Some(scores);
            }
        }
        Ok(results.into_iter().flatten().collect())
    }

    /// Runs the model once on `batch`, padded to its longest text.
    fn run(&mut self, batch: &[&Encoded]) -> Result<Vec<Scores>, SentimentError> {
        let rows = batch.len();
        let seq_len = batch.iter().map(|e| e.ids.len()).max().unwrap_or(0).max(1);
        let mut inputs: Vec<(Cow<'_, str>, SessionInputValue<'_>)> =
            Vec::with_capacity(self.inputs.len());
        for (name, kind) in &self.inputs {
            let mut data = Vec::with_capacity(rows * seq_len);
            for encoded in batch {
                let (values, pad) = match kind {
                    InputKind::Ids => (&encoded.ids[..], self.pad_id),
                    InputKind::Mask => (&encoded.mask[..], 0),
                    InputKind::TypeIds => (&[][..], 0),
                };
                data.extend_from_slice(values);
                data.extend(std::iter::repeat_n(pad, seq_len - values.len()));
            }
            let tensor = Tensor::from_array(([rows, seq_len], data))
                .map_err(|e| SentimentError::Inference(e.to_string()))?;
            inputs.push((Cow::Borrowed(name.as_str()), tensor.into()));
        }

        let outputs = self
            .session
            .run(inputs)
            .map_err(|e| SentimentError::Inference(e.to_string()))?;

        let labels = *self.config.labels();
        let scores = matrix(&outputs, &self.scores_output, rows)?;
        if scores.cols != labels.classes() {
            return Err(SentimentError::Inference(format!(
                "output {} has {} values per text but config.json's id2label has {} classes",
                self.scores_output,
                scores.cols,
                labels.classes()
            )));
        }
        let embeddings = match &self.embedding_output {
            Some(name) => Some(matrix(&outputs, name, rows)?),
            None => None,
        };

        Ok((0..rows)
            .map(|row| {
                let own = to_probabilities(&labels, scores.row(row), self.softmax);
                let embedding = embeddings
                    .as_ref()
                    .map(|e| e.row(row).to_vec())
                    .unwrap_or_default();
                let probabilities = match &self.head {
                    Some(head) => head.probabilities(&embedding, own),
                    None => own,
                };
                Scores {
                    probabilities,
                    signals: self.aux.signals(&embedding),
                    embedding,
                }
            })
            .collect())
    }

    /// Tokenises one text: the config's prefix, then the text, truncated.
    fn tokenize(&self, text: &str) -> Result<Encoded, SentimentError> {
        let char_cap = self.max_tokens.saturating_mul(CHARS_PER_TOKEN_CAP);
        let text = match text.char_indices().nth(char_cap) {
            Some((cut, _)) => &text[..cut],
            None => text,
        };
        let encoding = self
            .tokenizer
            .encode(format!("{}{}", self.config.prefix(), text), true)
            .map_err(|e| SentimentError::Tokenize(e.to_string()))?;
        Ok(Encoded {
            ids: encoding.get_ids().iter().map(|&id| i64::from(id)).collect(),
            mask: encoding
                .get_attention_mask()
                .iter()
                .map(|&m| i64::from(m))
                .collect(),
        })
    }
}

/// Splits `order` (indices sorted by ascending length) into consecutive runs of at most
/// `max_rows` items whose padded size, rows × the last item's length, stays within
/// `max_tokens`. Every run holds at least one item.
fn runs(
    order: &[usize],
    len: impl Fn(usize) -> usize,
    max_rows: usize,
    max_tokens: usize,
) -> Vec<&[usize]> {
    let mut runs = Vec::new();
    let mut start = 0;
    for end in 1..=order.len() {
        let rows = end - start;
        let fits = rows <= max_rows && rows * len(order[end - 1]).max(1) <= max_tokens;
        if !fits && rows > 1 {
            runs.push(&order[start..end - 1]);
            start = end - 1;
        }
    }
    if start < order.len() {
        runs.push(&order[start..]);
    }
    runs
}

/// One tokenised text, unpadded.
struct Encoded {
    /// Token ids.
    ids: Vec<i64>,
    /// Attention mask: all ones (padding is added per run).
    mask: Vec<i64>,
}

/// A `[rows, cols]` f32 output, borrowed from the run's outputs.
struct Matrix<'a> {
    /// Values, row-major.
    data: &'a [f32],
    /// Values per row.
    cols: usize,
}

impl Matrix<'_> {
    /// Row `i`.
    fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }
}

/// The output `name` as a `[rows, cols]` f32 matrix, or an error saying what it is instead.
fn matrix<'a>(
    outputs: &'a ort::session::SessionOutputs<'_>,
    name: &str,
    rows: usize,
) -> Result<Matrix<'a>, SentimentError> {
    let value = outputs
        .get(name)
        .ok_or_else(|| SentimentError::Inference(format!("the model gave no output {name}")))?;
    let (shape, data) = value
        .try_extract_tensor::<f32>()
        .map_err(|e| SentimentError::Inference(format!("output {name}: {e}")))?;
    match **shape {
        [r, c] if r == rows as i64 && c > 0 => Ok(Matrix {
            data,
            cols: c as usize,
        }),
        _ => Err(SentimentError::Inference(format!(
            "output {name} has shape {shape}, expected [{rows}, n]"
        ))),
    }
}

/// One model row as Earshot's `[negative, neutral, positive]`, applying a softmax first for
/// logits.
fn to_probabilities(labels: &LabelMap, row: &[f32], softmax: bool) -> [f32; 3] {
    if softmax {
        labels.to_earshot(&softmax_of(row))
    } else {
        labels.to_earshot(row)
    }
}

/// The softmax of `logits`, computed stably (shifted by the maximum).
fn softmax_of(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logits.iter().map(|&x| (x - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.into_iter().map(|e| e / sum).collect()
}

/// What a graph input is fed, or why Earshot cannot feed it.
fn input_kind(input: &Outlet) -> Result<InputKind, String> {
    let kind = match input.name() {
        "input_ids" => InputKind::Ids,
        "attention_mask" => InputKind::Mask,
        "token_type_ids" => InputKind::TypeIds,
        other => {
            return Err(format!(
                "has an input {other} that Earshot cannot feed (it feeds input_ids, \
                 attention_mask and token_type_ids)"
            ))
        }
    };
    match input.dtype().tensor_type() {
        Some(TensorElementType::Int64) => Ok(kind),
        other => Err(format!(
            "has input {} of type {other:?}; Earshot feeds int64 tensors",
            input.name()
        )),
    }
}

/// Which outputs hold scores (and whether they need a softmax) and embeddings, checked against
/// what the graph has. The error says what the graph has instead.
fn resolve_outputs(
    config: &ModelConfig,
    outputs: &[Outlet],
) -> Result<(String, bool, Option<String>), String> {
    let names: Vec<&str> = outputs.iter().map(Outlet::name).collect();
    let require = |name: &str| {
        if names.contains(&name) {
            Ok(name.to_owned())
        } else {
            Err(format!(
                "has no output named {name} (its outputs: {}); name the right one in \
                 config.json \"outputs\"",
                names.join(", ")
            ))
        }
    };
    let (scores, softmax) = match config.score_output() {
        ScoreOutput::Probabilities(name) => (require(name)?, false),
        ScoreOutput::Logits(Some(name)) => (require(name)?, true),
        ScoreOutput::Logits(None) => match names.as_slice() {
            _ if names.contains(&"logits") => ("logits".to_owned(), true),
            [only] => ((*only).to_owned(), true),
            _ => (require("logits")?, true),
        },
    };
    let embedding = config.embedding_output().map(require).transpose()?;
    Ok((scores, softmax, embedding))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_sums_to_one_and_keeps_order() {
        let p = softmax_of(&[2.0, -1.0, 0.5]);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(p[0] > p[2] && p[2] > p[1]);
    }

    #[test]
    fn softmax_survives_huge_logits() {
        let p = softmax_of(&[1000.0, 0.0]);
        assert!((p[0] - 1.0).abs() < 1e-6 && p[1].abs() < 1e-6);
    }

    #[test]
    fn logits_of_a_two_class_model_become_three_probabilities() {
        let mut id2label = std::collections::BTreeMap::new();
        id2label.insert("0".to_owned(), "NEGATIVE".to_owned());
        id2label.insert("1".to_owned(), "POSITIVE".to_owned());
        let labels = LabelMap::from_id2label(&id2label).unwrap();
        let p = to_probabilities(&labels, &[0.0, 0.0], true);
        assert_eq!(p, [0.5, 0.0, 0.5]);
    }

    #[test]
    fn runs_respect_the_row_and_token_limits() {
        // Lengths by index; `order` is sorted by length, as `classify` sorts it.
        let lens = [3, 5, 5, 9, 20, 300];
        let order = [0, 1, 2, 3, 4, 5];
        let sizes = |max_rows, max_tokens| -> Vec<Vec<usize>> {
            runs(&order, |i| lens[i], max_rows, max_tokens)
                .into_iter()
                .map(<[usize]>::to_vec)
                .collect()
        };
        // Rows only.
        assert_eq!(sizes(4, 10_000), vec![vec![0, 1, 2, 3], vec![4, 5]]);
        // Tokens: 4 × 9 = 36 fits 40, 5 × 20 does not; 300 alone exceeds 40 but still runs.
        assert_eq!(sizes(32, 40), vec![vec![0, 1, 2, 3], vec![4], vec![5]]);
        assert_eq!(sizes(1, 10_000).len(), 6);
        assert!(runs(&[], |_| 1, 4, 100).is_empty());
    }

    #[test]
    fn options_have_the_documented_defaults() {
        let opts = ClassifierOptions::new("/models/x");
        assert_eq!(opts.max_tokens, 256);
        assert_eq!(opts.batch_size, 32);
        assert_eq!(opts.max_batch_tokens, 4096);
        assert_eq!(opts.intra_threads, 2);
        assert_eq!(opts.ort_dylib, None);
    }
}
