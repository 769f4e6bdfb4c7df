//! Earshot's sentiment stage: a multilingual transformer classifier on ONNX Runtime, run on
//! its own thread, and language detection.
//!
//! - [`ModelConfig`] reads a model directory (`model.onnx`, `tokenizer.json`, `config.json`):
//!   Earshot's default e5-small model with its sentiment head, or any Hugging Face
//!   sequence-classification export.
//! - [`Classifier`] is the synchronous model: texts in, [`Scores`] out (probabilities for
//!   negative, neutral and positive, and the embedding when the model gives one).
//! - [`SentimentService`] runs a classifier on a dedicated thread behind a bounded queue, batching
//!   callers' texts, for use from async code.
//! - [`Head`] is a trained classification head read from its own JSON file: when one is
//!   configured, it replaces the model's built-in head on the encoder's embedding.
//! - [`language::detect`] names a text's language (ISO 639-1).
//!
//! - [`worker::Worker`] claims unclassified mentions from the store in leased batches,
//!   classifies them on the service and stores the results. The crawler and this crate never
//!   call each other: the database is the hand-off.

#![warn(missing_docs)]

mod classifier;
mod error;
pub mod head;
pub mod language;
mod model;
mod runtime;
mod service;
pub mod signals;
pub mod training;
pub mod worker;

pub use classifier::{Classifier, ClassifierOptions, Scores};
pub use error::SentimentError;
pub use head::{Head, HeadChoice, HeadFile, HeadInput, HeadType, DEFAULT_HEAD_JSON};
pub use model::{LabelMap, ModelConfig, ScoreOutput, CONFIG_FILE, MODEL_FILE, TOKENIZER_FILE};
pub use runtime::{locate_runtime, ORT_DYLIB_ENV};
pub use service::SentimentService;

/// Where `scripts/build-model.sh` puts the default model: `$EARSHOT_MODEL_DIR` when set,
/// else `$HOME/.cache/earshot/models/e5-small-sentiment-v1`. `None` when neither is set.
pub fn default_model_dir() -> Option<std::path::PathBuf> {
    if let Some(dir) = std::env::var_os("EARSHOT_MODEL_DIR").filter(|d| !d.is_empty()) {
        return Some(dir.into());
    }
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty())?;
    Some(
        std::path::PathBuf::from(home)
            .join(".cache/earshot/models")
            .join(DEFAULT_MODEL_NAME),
    )
}

/// The directory name of the default model.
pub const DEFAULT_MODEL_NAME: &str = "e5-small-sentiment-v1";
