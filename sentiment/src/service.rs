//! The model on its own thread, fed by a bounded queue, answering async callers.
//!
//! The shape follows text-embeddings-inference: inference is blocking, CPU-bound work, so it
//! never runs on a tokio worker. One dedicated thread owns the [`Classifier`]; callers send a
//! request with a oneshot reply channel and await the answer. The thread gathers whatever
//! requests are queued, up to a batch's worth of texts, sorts the texts by length so each run
//! pads little, and answers every request with its results in its own order.
//!
//! The queue is tokio's bounded `mpsc` rather than `std::sync::mpsc::sync_channel`: a full queue
//! then makes callers *await* (back-pressure without blocking a tokio worker), while the model
//! thread still receives with a plain blocking call.

use std::thread::JoinHandle;

use tokio::sync::{mpsc, oneshot};

use crate::classifier::{Classifier, ClassifierOptions, Scores};
use crate::error::SentimentError;

/// One caller's texts and where to send their results.
struct Request {
    /// The texts, in the caller's order.
    texts: Vec<String>,
    /// Where the results go, in the same order.
    reply: oneshot::Sender<Result<Vec<Scores>, SentimentError>>,
}

/// A classifier running on its own thread. Dropping the service closes its queue, lets the
/// thread finish the round it is running, and joins it, so a drop blocks for at most one round
/// of model runs.
#[derive(Debug)]
pub struct SentimentService {
    /// The queue into the model thread; `None` only while dropping.
    requests: Option<mpsc::Sender<Request>>,
    /// The model thread, joined on drop.
    thread: Option<JoinHandle<()>>,
    /// The loaded model's key, see [`crate::ModelConfig::model_key`].
    model_key: String,
}

impl SentimentService {
    /// The default number of texts per model run.
    pub const DEFAULT_BATCH_SIZE: usize = 32;
    /// The default number of requests that may wait in the queue.
    pub const DEFAULT_QUEUE_DEPTH: usize = 64;

    /// Starts the model thread and loads the model on it, returning once it is loaded and warmed
    /// up (this blocks for seconds: from async code, call it inside `spawn_blocking`).
    ///
    /// `batch_size` caps the texts per model run and `queue_depth` the requests waiting (both at
    /// least 1). A load failure is returned here, as [`Classifier::load`] reports it.
    pub fn start(
        opts: ClassifierOptions,
        batch_size: usize,
        queue_depth: usize,
    ) -> Result<Self, SentimentError> {
        let batch_size = batch_size.max(1);
        let (requests, queue) = mpsc::channel(queue_depth.max(1));
        let (loaded_tx, loaded_rx) = std::sync::mpsc::sync_channel(1);
        let thread = std::thread::Builder::new()
            .name("earshot-sentiment".to_owned())
            .spawn(move || {
                let classifier = match Classifier::load(&opts) {
                    Ok(classifier) => {
                        let _ = loaded_tx.send(Ok(classifier.model_key().to_owned()));
                        classifier
                    }
                    Err(e) => {
                        let _ = loaded_tx.send(Err(e));
                        return;
                    }
                };
                serve(classifier, queue, batch_size);
            })
            .map_err(SentimentError::Thread)?;

        let loaded = loaded_rx
            .recv()
            .unwrap_or(Err(SentimentError::ServiceStopped));
        match loaded {
            Ok(model_key) => Ok(Self {
                requests: Some(requests),
                thread: Some(thread),
                model_key,
            }),
            Err(e) => {
                let _ = thread.join();
                Err(e)
            }
        }
    }

    /// The loaded model's key (`{model_id}@{version}`), to store with each result.
    pub fn model_key(&self) -> &str {
        &self.model_key
    }

    /// Whether the model thread is still running (it stops only on drop or a panic). For
    /// readiness checks.
    pub fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Classifies `texts` and returns one [`Scores`] per text, in the same order.
    ///
    /// Waits while the queue is full. The texts may be batched with other callers' texts; the
    /// results do not depend on that beyond float rounding. If the model run that holds any of
    /// these texts fails, the whole call fails with that error.
    /// [`SentimentError::ServiceStopped`] means the model thread is gone.
    pub async fn classify(&self, texts: Vec<String>) -> Result<Vec<Scores>, SentimentError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let requests = self
            .requests
            .as_ref()
            .ok_or(SentimentError::ServiceStopped)?;
        let (reply, answer) = oneshot::channel();
        requests
            .send(Request { texts, reply })
            .await
            .map_err(|_| SentimentError::ServiceStopped)?;
        answer.await.map_err(|_| SentimentError::ServiceStopped)?
    }
}

impl Drop for SentimentService {
    fn drop(&mut self) {
        // Closing the queue ends the thread's loop once it has answered what it holds.
        self.requests.take();
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("the sentiment model thread panicked");
            }
        }
    }
}

/// The model thread's loop: runs until the queue is closed and empty.
fn serve(mut classifier: Classifier, mut queue: mpsc::Receiver<Request>, batch_size: usize) {
    while let Some(first) = queue.blocking_recv() {
        let mut queued = first.texts.len();
        let mut round = vec![first];
        while queued < batch_size {
            match queue.try_recv() {
                Ok(request) => {
                    queued += request.texts.len();
                    round.push(request);
                }
                Err(_) => break,
            }
        }
        answer(&mut classifier, round, batch_size);
    }
    tracing::debug!("sentiment model thread stopping: queue closed");
}

/// Classifies the texts of `round` in length-sorted runs of at most `batch_size` and answers
/// each request in its own order. Requests whose caller has gone are skipped.
fn answer(classifier: &mut Classifier, round: Vec<Request>, batch_size: usize) {
    let round: Vec<Request> = round.into_iter().filter(|r| !r.reply.is_closed()).collect();

    // (request, position in request), sorted by text length so a run holds similar lengths.
    let mut order: Vec<(usize, usize)> = round
        .iter()
        .enumerate()
        .flat_map(|(r, request)| (0..request.texts.len()).map(move |i| (r, i)))
        .collect();
    order.sort_by_key(|&(r, i)| round[r].texts[i].len());

    let mut results: Vec<Vec<Option<Scores>>> =
        round.iter().map(|r| vec![None; r.texts.len()]).collect();
    let mut failures: Vec<Option<SentimentError>> = round.iter().map(|_| None).collect();

    for run in order.chunks(batch_size) {
        let texts: Vec<&str> = run
            .iter()
            .map(|&(r, i)| round[r].texts[i].as_str())
            .collect();
        match classifier.classify(&texts) {
            Ok(scores) => {
                for (&(r, i), score) in run.iter().zip(scores) {
                    results[r][i] = Some(score);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, texts = texts.len(), "sentiment batch failed");
                for &(r, _) in run {
                    failures[r].get_or_insert_with(|| same_error(&e));
                }
            }
        }
    }

    for ((request, scores), failure) in round.into_iter().zip(results).zip(failures) {
        let reply = match failure {
            Some(e) => Err(e),
            None => scores
                .into_iter()
                .collect::<Option<Vec<Scores>>>()
                .ok_or(SentimentError::ServiceStopped),
        };
        // The caller may have stopped waiting; nothing to do then.
        let _ = request.reply.send(reply);
    }
}

/// A copy of an error from [`Classifier::classify`] for each request of a failed run (the
/// error type holds non-cloneable sources, but `classify` only returns these two variants).
fn same_error(e: &SentimentError) -> SentimentError {
    match e {
        SentimentError::Tokenize(message) => SentimentError::Tokenize(message.clone()),
        SentimentError::Inference(message) => SentimentError::Inference(message.clone()),
        other => SentimentError::Inference(other.to_string()),
    }
}
