//! The crate's one error type. Every message says what went wrong and what to do about it,
//! because most of these reach an operator at start-up, not a developer.

use std::path::PathBuf;

/// What the operator is told whenever the model directory is not usable.
pub(crate) const MODEL_HINT: &str = "build the default model with `scripts/build-model.sh`, \
     or point [sentiment] model_dir at an ONNX export";

/// What the operator is told whenever the configured head is not usable.
pub(crate) const HEAD_HINT: &str = "make one with `earshot train-head`, point [sentiment] head \
     at another head file, or remove the setting to use the model's built-in head";

/// Everything that can go wrong in the sentiment stage.
#[derive(Debug, thiserror::Error)]
pub enum SentimentError {
    /// A file of the model directory (or the directory itself) is missing, unreadable or broken.
    #[error("sentiment model: {path} {problem}; {MODEL_HINT}")]
    ModelFile {
        /// The file or directory at fault.
        path: PathBuf,
        /// What is wrong with it, phrased to follow the path ("is missing", ...).
        problem: String,
    },

    /// The model's `id2label` names classes that Earshot cannot map to negative, neutral and
    /// positive.
    #[error(
        "sentiment model: the labels in {path} ({labels}) cannot be used: {reason}; Earshot needs a \
         sentiment model whose id2label names negative/neutral/positive (or neg/neu/pos), or 2 \
         classes negative/positive"
    )]
    UnusableLabels {
        /// The `config.json` that declares them.
        path: PathBuf,
        /// The labels as declared, in id order.
        labels: String,
        /// Which rule they break.
        reason: String,
    },

    /// The configured head file is missing, unreadable or broken, or does not fit the model.
    #[error("sentiment head: {path} {problem}; {HEAD_HINT}")]
    HeadFile {
        /// The head file at fault.
        path: PathBuf,
        /// What is wrong with it, phrased to follow the path ("cannot be read", ...).
        problem: String,
    },

    /// No ONNX Runtime shared library could be found.
    #[error(
        "ONNX Runtime library not found; looked at: {searched}. Set [sentiment] ort_dylib or the \
         ORT_DYLIB_PATH environment variable to a libonnxruntime.so (1.31 or newer), or rebuild the \
         model directory with `scripts/build-model.sh`, which copies one in"
    )]
    RuntimeNotFound {
        /// Where it looked, in order.
        searched: String,
    },

    /// The ONNX Runtime shared library was found but could not be loaded or started.
    #[error(
        "ONNX Runtime at {path} could not be loaded: {reason}. It must be a libonnxruntime.so of \
         version 1.31 or newer for this machine"
    )]
    RuntimeLoad {
        /// The library that was tried.
        path: PathBuf,
        /// Why it failed, as the loader said.
        reason: String,
    },

    /// A text could not be turned into tokens (the tokenizer rejected it).
    #[error("a text could not be tokenised for the sentiment model: {0}")]
    Tokenize(String),

    /// ONNX Runtime failed while classifying a batch, or the model answered with outputs of the
    /// wrong shape. Carries ONNX Runtime's message.
    #[error("the sentiment model failed while classifying: {0}")]
    Inference(String),

    /// The model thread of a [`SentimentService`](crate::SentimentService) is gone (it
    /// panicked or the service is shutting down).
    #[error("the sentiment model thread has stopped; restart the classifier worker (see the log for why it stopped)")]
    ServiceStopped,

    /// The model thread could not be started.
    #[error("could not start the sentiment model thread: {0}")]
    Thread(#[source] std::io::Error),
}

impl SentimentError {
    /// A [`SentimentError::HeadFile`] for `path`.
    pub(crate) fn head_file(path: impl Into<PathBuf>, problem: impl Into<String>) -> Self {
        Self::HeadFile {
            path: path.into(),
            problem: problem.into(),
        }
    }

    /// A [`SentimentError::ModelFile`] for `path`.
    pub(crate) fn model_file(path: impl Into<PathBuf>, problem: impl Into<String>) -> Self {
        Self::ModelFile {
            path: path.into(),
            problem: problem.into(),
        }
    }
}
