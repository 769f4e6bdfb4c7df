//! The model on its own thread, fed by a bounded queue, answering async callers.
//!
//! The shape follows text-embeddings-inference: inference is blocking, CPU-bound work, so it
//! never runs on a tokio worker. One dedicated thread owns the [`Classifier`]; callers send a
//! request with a oneshot reply channel and await the answer. The thread gathers whatever
//! requests are queued, up to a batch's worth of texts, hands them to the classifier in one
//! call (it sorts them by token count so each model run pads little), and answers every
//! request with its results in its own order.
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
    /// The default number of requests that may wait in the queue.
    pub const DEFAULT_QUEUE_DEPTH: usize = 64;

    /// Starts the model thread and loads the model on it, returning once it is loaded and warmed
    /// up (this blocks for seconds: from async code, call it inside `spawn_blocking`).
    ///
    /// `queue_depth` caps the requests waiting (at least 1); `opts.batch_size` how many texts a
    /// round gathers from several requests. A load failure is returned here, as
    /// [`Classifier::load`] reports it.
    pub fn start(opts: ClassifierOptions, queue_depth: usize) -> Result<Self, SentimentError> {
        let batch_size = opts.batch_size.max(1);
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
        answer(&mut classifier, round);
    }
    tracing::debug!("sentiment model thread stopping: queue closed");
}

/// Classifies the texts of `round` in one classifier call and answers each request in its own
/// order. Requests whose caller has gone are skipped. If the call fails and the round holds
/// several requests, each is retried alone, so one request's bad text fails only that request.
fn answer(classifier: &mut Classifier, round: Vec<Request>) {
    let round: Vec<Request> = round.into_iter().filter(|r| !r.reply.is_closed()).collect();
    let texts: Vec<&str> = round
        .iter()
        .flat_map(|r| r.texts.iter().map(String::as_str))
        .collect();
    match classifier.classify(&texts) {
        Ok(scores) => {
            let mut scores = scores.into_iter();
            for request in round {
                let mine: Vec<Scores> = scores.by_ref().take(request.texts.len()).collect();
                // The caller may have stopped waiting; nothing to do then.
                let _ = request.reply.send(Ok(mine));
            }
        }
        Err(e) if round.len() == 1 => {
            tracing::warn!(error = %e, texts = texts.len(), "sentiment request failed");
            if let Some(request) = round.into_iter().next() {
                let _ = request.reply.send(Err(e));
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, requests = round.len(), "sentiment round failed; retrying each request alone");
            for request in round {
                let texts: Vec<&str> = request.texts.iter().map(String::as_str).collect();
                let _ = request.reply.send(classifier.classify(&texts));
            }
        }
    }
}
