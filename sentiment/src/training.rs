//! Training a logistic head on embeddings: the pure part of `earshot train-head`.
//!
//! Features in, a [`HeadFile`] out; no model, no files. The optimiser is `linfa-logistic`'s
//! multinomial logistic regression (L-BFGS with an L2 penalty); this module only prepares the
//! data and chooses among its fits:
//!
//! - **Balanced classes.** `linfa-logistic` takes no sample weights, so balance is reached by
//!   oversampling: every class is repeated up to the size of the largest (whole copies, then a
//!   seeded random remainder). An example's integer `weight` repeats it that many times first,
//!   which is how corrections count more than public data.
//! - **Standardised features.** Each feature is centred and scaled by its spread on the training
//!   rows before fitting (linfa asks for it, and it makes one `alpha` grid fit any encoder); the
//!   scaling is folded back into the exported weights, so the head file takes raw embeddings.
//! - **Regularisation and early stopping on validation.** For each `alpha` of the grid the fit
//!   runs in rounds of a few L-BFGS iterations, each starting where the last stopped; after every
//!   round the validation macro-F1 is measured, and the best round of the best `alpha` is kept
//!   (ties go to the lower validation log-loss). A fit that stops improving for `patience`
//!   rounds, or converges, ends.
//! - **Temperature.** The kept head's logits are divided by the temperature that minimises the
//!   validation log-loss (a golden-section search over log T), so that its probabilities are
//!   calibrated; the label it picks does not change.
//!
//! The same inputs and seed give the same head, bit for bit.

use linfa::prelude::*;
use linfa_logistic::MultiLogisticRegression;
use ndarray::{Array1, Array2, Axis};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

use crate::head::{Head, HeadFile, HeadInput, HeadType, Layer, HEAD_FORMAT, HEAD_FORMAT_VERSION};

/// The class names, in the order labels are numbered here (0, 1, 2).
pub const CLASSES: [&str; 3] = ["negative", "neutral", "positive"];

/// One training or validation example.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// The head's input features (see [`HeadInput::features_of`]).
    pub features: Vec<f32>,
    /// 0 negative, 1 neutral, 2 positive.
    pub label: usize,
    /// How many times it counts (at least 1).
    pub weight: u32,
}

/// How to train.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    /// Seeds the oversampling; the same seed and data give the same head.
    pub seed: u64,
    /// The L2 penalties tried (linfa's `alpha`, on a loss summed over examples).
    pub alphas: Vec<f64>,
    /// L-BFGS iterations per round.
    pub round_iterations: u64,
    /// Rounds per `alpha` at most.
    pub max_rounds: usize,
    /// Rounds without a better validation score before a fit stops.
    pub patience: usize,
    /// What the head is fed (written into the head file).
    pub input: HeadInput,
    /// The first part of the head's id; a hash of the weights follows it.
    pub name: String,
    /// A head to start every fit from (a warm start) instead of zero: a logistic head with the
    /// same input size and the classes the data has. Fitting then adapts what that head knows
    /// to the data, rather than learning from the data alone. Ignored when it does not fit.
    pub start: Option<HeadFile>,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            seed: 42,
            alphas: vec![1.0, 10.0, 100.0, 1000.0],
            round_iterations: 10,
            max_rounds: 30,
            patience: 4,
            input: HeadInput::Embedding,
            name: "head".to_owned(),
            start: None,
        }
    }
}

/// Why training could not run.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// Not enough data to train, or data of the wrong shape.
    #[error("{0}")]
    Data(String),
    /// The optimiser failed.
    #[error("logistic regression failed: {0}")]
    Fit(String),
}

/// How one candidate did on validation.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Its L2 penalty.
    pub alpha: f64,
    /// L-BFGS iterations at its best round.
    pub iterations: u64,
    /// Validation macro-F1 at its best round.
    pub macro_f1: f64,
    /// Validation log-loss at its best round (temperature 1).
    pub log_loss: f64,
}

/// What training produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Trained {
    /// The head, ready to write; `provenance` is left for the caller to fill.
    pub head: HeadFile,
    /// The best round of every `alpha`, in grid order.
    pub candidates: Vec<Candidate>,
    /// The kept candidate.
    pub chosen: Candidate,
    /// Validation log-loss after temperature scaling.
    pub calibrated_log_loss: f64,
    /// Training rows after weighting and oversampling.
    pub balanced_rows: usize,
}

/// Trains a logistic head on `train`, choosing `alpha`, the stopping round and the temperature
/// on `validation` (which must not overlap `train` for its scores to mean anything).
pub fn train_logistic(
    train: &[Example],
    validation: &[Example],
    opts: &TrainOptions,
) -> Result<Trained, TrainError> {
    let dim = check_shape(train, validation)?;
    let rows = balanced_rows(train, opts.seed);
    let (mean, scale) = standardisation(train, dim);
    let x = matrix(rows.iter().map(|&i| &train[i].features), dim, &mean, &scale);
    let y: Array1<usize> = rows.iter().map(|&i| train[i].label).collect();
    let dataset = Dataset::new(x, y);
    let val_x = matrix(validation.iter().map(|e| &e.features), dim, &mean, &scale);
    let val_y: Vec<usize> = validation.iter().map(|e| e.label).collect();

    let mut present: Vec<usize> = rows.iter().map(|&i| train[i].label).collect();
    present.sort_unstable();
    present.dedup();
    let start = opts
        .start
        .as_ref()
        .and_then(|head| standardised_start(head, &present, &mean, &scale));

    let mut candidates = Vec::new();
    let mut best: Option<(Candidate, Array2<f64>, Vec<usize>)> = None;
    for &alpha in &opts.alphas {
        let mut params: Option<Array2<f64>> = start.clone();
        let mut kept: Option<(Candidate, Array2<f64>, Vec<usize>)> = None;
        let mut since_better = 0;
        for round in 1..=opts.max_rounds {
            let mut model = MultiLogisticRegression::default()
                .alpha(alpha)
                .max_iterations(opts.round_iterations)
                .gradient_tolerance(1e-5);
            if let Some(p) = params.take() {
                model = model.initial_params(p);
            }
            let fitted = model
                .fit(&dataset)
                .map_err(|e| TrainError::Fit(e.to_string()))?;
            let classes = fitted.classes().to_vec();
            let mut next = fitted.params().clone();
            next.push_row(fitted.intercept().view())
                .map_err(|e| TrainError::Fit(e.to_string()))?;
            let logits = val_x.dot(fitted.params()) + fitted.intercept();
            let (macro_f1, log_loss) = evaluate(&logits, &classes, &val_y, 1.0);
            let candidate = Candidate {
                alpha,
                iterations: round as u64 * opts.round_iterations,
                macro_f1,
                log_loss,
            };
            let converged = kept.as_ref().is_some_and(|(_, p, _)| *p == next);
            if kept.as_ref().is_none_or(|(k, _, _)| better(&candidate, k)) {
                kept = Some((candidate, next.clone(), classes));
                since_better = 0;
            } else {
                since_better += 1;
            }
            if converged || since_better >= opts.patience {
                break;
            }
            params = Some(next);
        }
        if let Some(k) = kept {
            candidates.push(k.0.clone());
            if best.as_ref().is_none_or(|(b, _, _)| better(&k.0, b)) {
                best = Some(k);
            }
        }
    }
    let (chosen, params, classes) =
        best.ok_or_else(|| TrainError::Data("no alpha to try".to_owned()))?;

    let (weights, bias) = unstandardise(&params, &mean, &scale);
    let logits = val_x.dot(&params.slice(ndarray::s![..dim, ..])) + params.row(dim);
    let temperature = calibrate(&logits, &classes, &val_y);
    let (_, calibrated_log_loss) = evaluate(&logits, &classes, &val_y, temperature);

    let mut head = HeadFile {
        format: HEAD_FORMAT.to_owned(),
        format_version: HEAD_FORMAT_VERSION,
        id: String::new(),
        kind: HeadType::Logistic,
        input: opts.input,
        dim,
        temperature: temperature as f32,
        classes: classes.iter().map(|&c| CLASSES[c].to_owned()).collect(),
        layers: vec![Layer { weights, bias }],
        provenance: serde_json::Value::Null,
    };
    head.id = format!("{}-{}", opts.name, weights_hash(&head));
    Ok(Trained {
        head,
        candidates,
        chosen,
        calibrated_log_loss,
        balanced_rows: rows.len(),
    })
}

/// How a head's labels compare with the truth on some rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scored {
    /// Rows scored.
    pub n: usize,
    /// The share of rows labelled right.
    pub accuracy: f64,
    /// F1 averaged over the classes present in the truth (see [`macro_f1`]).
    pub macro_f1: f64,
    /// `confusion[truth][predicted]`, classes numbered as in [`CLASSES`].
    pub confusion: [[usize; 3]; 3],
}

impl Scored {
    /// Scores `(truth, predicted)` pairs of class indices (0 negative, 1 neutral, 2 positive).
    pub fn of(pairs: impl IntoIterator<Item = (usize, usize)>) -> Self {
        let mut confusion = [[0usize; 3]; 3];
        let mut n = 0;
        for (truth, predicted) in pairs {
            confusion[truth.min(2)][predicted.min(2)] += 1;
            n += 1;
        }
        let right: usize = (0..3).map(|c| confusion[c][c]).sum();
        Self {
            n,
            accuracy: right as f64 / n.max(1) as f64,
            macro_f1: macro_f1(&confusion),
            confusion,
        }
    }
}

/// The class index (as in [`CLASSES`]) a head picks for one feature vector.
pub fn predict(head: &Head, features: &[f32]) -> usize {
    let p = head.class_probabilities(features);
    let best = (0..p.len())
        .max_by(|&i, &j| p[i].total_cmp(&p[j]).then(j.cmp(&i)))
        .unwrap_or(0);
    head.file()
        .classes
        .get(best)
        .and_then(|name| class_index(name))
        .unwrap_or(1)
}

/// The index in [`CLASSES`] of a head's class name (short names too).
fn class_index(name: &str) -> Option<usize> {
    match name.to_ascii_lowercase().as_str() {
        "negative" | "neg" => Some(0),
        "neutral" | "neu" => Some(1),
        "positive" | "pos" => Some(2),
        _ => None,
    }
}

/// Which of `k` folds each of the examples with these `labels` falls in, stratified by label:
/// each label's examples, shuffled with `seed`, are dealt round the folds in turn, each label
/// starting where the last one stopped, so the folds differ in size by one at most and in mix
/// as little as can be. `k` is clamped to `1..=labels.len()`.
pub fn stratified_folds(labels: &[usize], k: usize, seed: u64) -> Vec<usize> {
    let k = k.clamp(1, labels.len().max(1));
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut fold_of = vec![0; labels.len()];
    let mut next = 0;
    for class in 0..CLASSES.len() {
        let mut members: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
        members.shuffle(&mut rng);
        for i in members {
            fold_of[i] = next % k;
            next += 1;
        }
    }
    fold_of
}

/// What [`cross_validate`] measured.
#[derive(Debug, Clone, PartialEq)]
pub struct CrossValidation {
    /// How many folds the corrections were split into.
    pub folds: usize,
    /// The candidate's held-out labels on every correction, pooled over the folds.
    pub candidate: Scored,
    /// The current head's labels on the same corrections.
    pub current: Scored,
    /// Per fold: the candidate's and the current head's scores on that fold's corrections.
    pub per_fold: Vec<(Scored, Scored)>,
}

/// K-fold cross-validation of "train on the public data plus the corrections" against the head
/// in use, on the corrections.
///
/// The corrections are split into `k` stratified folds ([`stratified_folds`], seeded by
/// `opts.seed`). For each fold a head is trained with [`train_logistic`] on `public` plus the
/// other folds' corrections (each with its own `weight`), choosing on `validation`, and labels
/// the fold's corrections, which it never saw. `current[i]` is the class the head in use gives
/// correction `i`. `on_fold` hears each fold's scores as it finishes. The same inputs and seed
/// give the same result.
pub fn cross_validate(
    public: &[Example],
    validation: &[Example],
    corrections: &[Example],
    current: &[usize],
    k: usize,
    opts: &TrainOptions,
    mut on_fold: impl FnMut(usize, &Scored, &Scored),
) -> Result<CrossValidation, TrainError> {
    if current.len() != corrections.len() {
        return Err(TrainError::Data(format!(
            "{} corrections but {} current labels",
            corrections.len(),
            current.len()
        )));
    }
    if corrections.len() < 2 {
        return Err(TrainError::Data(
            "cross-validation needs two corrections or more".to_owned(),
        ));
    }
    let labels: Vec<usize> = corrections.iter().map(|e| e.label).collect();
    let fold_of = stratified_folds(&labels, k, opts.seed);
    let folds = fold_of.iter().max().map_or(0, |m| m + 1);
    let mut candidate_pairs = Vec::new();
    let mut current_pairs = Vec::new();
    let mut per_fold = Vec::new();
    for fold in 0..folds {
        let mut train: Vec<Example> = public.to_vec();
        train.extend(
            corrections
                .iter()
                .zip(&fold_of)
                .filter(|(_, &f)| f != fold)
                .map(|(e, _)| e.clone()),
        );
        let trained = train_logistic(&train, validation, opts)?;
        let head = Head::from_file(trained.head)
            .map_err(|e| TrainError::Fit(format!("the fold's head is invalid: {e}")))?;
        let held_out: Vec<usize> = (0..corrections.len())
            .filter(|&i| fold_of[i] == fold)
            .collect();
        let candidate = Scored::of(
            held_out
                .iter()
                .map(|&i| (labels[i], predict(&head, &corrections[i].features))),
        );
        let now = Scored::of(held_out.iter().map(|&i| (labels[i], current[i])));
        on_fold(fold, &candidate, &now);
        candidate_pairs.extend(
            held_out
                .iter()
                .map(|&i| (labels[i], predict(&head, &corrections[i].features))),
        );
        current_pairs.extend(held_out.iter().map(|&i| (labels[i], current[i])));
        per_fold.push((candidate, now));
    }
    Ok(CrossValidation {
        folds,
        candidate: Scored::of(candidate_pairs),
        current: Scored::of(current_pairs),
        per_fold,
    })
}

/// linfa's parameters (`[feature + intercept row][class]`, on standardised features, classes
/// in `present` order) that give the same logits as `head` (divided by its temperature) on raw
/// features; `None` when the head is not a logistic head of this size with these classes.
fn standardised_start(
    head: &HeadFile,
    present: &[usize],
    mean: &[f64],
    scale: &[f64],
) -> Option<Array2<f64>> {
    let dim = mean.len();
    let layer = match (head.kind, head.layers.as_slice()) {
        (HeadType::Logistic, [layer]) if head.dim == dim => layer,
        _ => return None,
    };
    let t = f64::from(head.temperature);
    let mut params = Array2::zeros((dim + 1, present.len()));
    for (column, &class) in present.iter().enumerate() {
        let row = head
            .classes
            .iter()
            .position(|name| class_index(name) == Some(class))?;
        let (weights, bias) = (layer.weights.get(row)?, f64::from(*layer.bias.get(row)?));
        let mut intercept = bias / t;
        for j in 0..dim {
            let w = f64::from(weights[j]) / t;
            params[[j, column]] = w * scale[j];
            intercept += w * mean[j];
        }
        params[[dim, column]] = intercept;
    }
    Some(params)
}

/// Whether `a` beats `b`: higher macro-F1, then lower log-loss.
fn better(a: &Candidate, b: &Candidate) -> bool {
    a.macro_f1 > b.macro_f1 + 1e-12
        || ((a.macro_f1 - b.macro_f1).abs() <= 1e-12 && a.log_loss < b.log_loss)
}

/// The feature count, after checking every example has it, labels are in range, and there are
/// two classes or more to learn from and something to validate on.
fn check_shape(train: &[Example], validation: &[Example]) -> Result<usize, TrainError> {
    let dim = train
        .first()
        .map(|e| e.features.len())
        .ok_or_else(|| TrainError::Data("no training examples".to_owned()))?;
    if validation.is_empty() {
        return Err(TrainError::Data("no validation examples".to_owned()));
    }
    for (set, examples) in [("training", train), ("validation", validation)] {
        if let Some((i, e)) = examples
            .iter()
            .enumerate()
            .find(|(_, e)| e.features.len() != dim || e.label >= CLASSES.len())
        {
            return Err(TrainError::Data(format!(
                "{set} example {i} has {} features (expected {dim}) and label {}",
                e.features.len(),
                e.label
            )));
        }
    }
    let mut seen = [false; 3];
    train.iter().for_each(|e| seen[e.label] = true);
    if seen.iter().filter(|s| **s).count() < 2 {
        return Err(TrainError::Data(
            "the training examples hold fewer than two classes".to_owned(),
        ));
    }
    Ok(dim)
}

/// Indices into `train` after weighting and class balancing: each example `weight` times, then
/// every class oversampled to the largest class's count, in a seeded shuffle.
pub fn balanced_rows(train: &[Example], seed: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut by_class: [Vec<usize>; 3] = Default::default();
    for (i, e) in train.iter().enumerate() {
        for _ in 0..e.weight.max(1) {
            by_class[e.label].push(i);
        }
    }
    let target = by_class.iter().map(Vec::len).max().unwrap_or(0);
    let mut rows = Vec::with_capacity(target * 3);
    for class in &by_class {
        if class.is_empty() {
            continue;
        }
        for _ in 0..target / class.len() {
            rows.extend_from_slice(class);
        }
        let mut rest = class.clone();
        rest.shuffle(&mut rng);
        rows.extend_from_slice(&rest[..target % class.len()]);
    }
    rows.shuffle(&mut rng);
    rows
}

/// Per-feature mean and standard deviation of the training rows (1 where a feature is constant).
fn standardisation(train: &[Example], dim: usize) -> (Vec<f64>, Vec<f64>) {
    let n = train.len() as f64;
    let mut mean = vec![0.0; dim];
    for e in train {
        for (m, &v) in mean.iter_mut().zip(&e.features) {
            *m += f64::from(v) / n;
        }
    }
    let mut var = vec![0.0; dim];
    for e in train {
        for ((s, &v), m) in var.iter_mut().zip(&e.features).zip(&mean) {
            *s += (f64::from(v) - m).powi(2) / n;
        }
    }
    let scale = var
        .into_iter()
        .map(|v| if v > 1e-20 { v.sqrt() } else { 1.0 })
        .collect();
    (mean, scale)
}

/// The standardised `[rows, dim]` matrix of some feature vectors.
fn matrix<'a>(
    rows: impl Iterator<Item = &'a Vec<f32>>,
    dim: usize,
    mean: &[f64],
    scale: &[f64],
) -> Array2<f64> {
    let data: Vec<f64> = rows
        .flat_map(|f| {
            f.iter()
                .zip(mean.iter().zip(scale))
                .map(|(&v, (m, s))| (f64::from(v) - m) / s)
        })
        .collect();
    let n = data.len() / dim.max(1);
    Array2::from_shape_vec((n, dim), data).expect("rows have dim values each")
}

/// Head weights (`[class][feature]`) and biases on raw features, from linfa's parameters on
/// standardised ones (`[feature + intercept row][class]`).
fn unstandardise(params: &Array2<f64>, mean: &[f64], scale: &[f64]) -> (Vec<Vec<f32>>, Vec<f32>) {
    let dim = mean.len();
    let mut weights = Vec::new();
    let mut bias = Vec::new();
    for column in params.axis_iter(Axis(1)) {
        let w: Vec<f64> = (0..dim).map(|j| column[j] / scale[j]).collect();
        let b = column[dim] - w.iter().zip(mean).map(|(w, m)| w * m).sum::<f64>();
        weights.push(w.into_iter().map(|v| v as f32).collect());
        bias.push(b as f32);
    }
    (weights, bias)
}

/// Macro-F1 (over the classes present in `truth`) and mean log-loss of `logits / t`, whose
/// columns are `classes`.
fn evaluate(logits: &Array2<f64>, classes: &[usize], truth: &[usize], t: f64) -> (f64, f64) {
    let mut confusion = [[0usize; 3]; 3];
    let mut loss = 0.0;
    for (row, &y) in logits.axis_iter(Axis(0)).zip(truth) {
        let p = softmax(row.iter().map(|z| z / t));
        let (arg, _) = p
            .iter()
            .enumerate()
            .fold((0, f64::NEG_INFINITY), |best, (i, &v)| {
                if v > best.1 {
                    (i, v)
                } else {
                    best
                }
            });
        confusion[y][classes[arg]] += 1;
        let py = classes.iter().position(|&c| c == y).map_or(0.0, |i| p[i]);
        loss -= py.max(1e-12).ln();
    }
    (macro_f1(&confusion), loss / truth.len().max(1) as f64)
}

/// Macro-F1 over the classes with support in `confusion[truth][predicted]`.
pub fn macro_f1(confusion: &[[usize; 3]; 3]) -> f64 {
    let mut f1s = Vec::new();
    for c in 0..3 {
        let support: usize = confusion[c].iter().sum();
        if support == 0 {
            continue;
        }
        let predicted: usize = confusion.iter().map(|r| r[c]).sum();
        let tp = confusion[c][c] as f64;
        let (p, r) = (tp / predicted.max(1) as f64, tp / support as f64);
        f1s.push(if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        });
    }
    f1s.iter().sum::<f64>() / f1s.len().max(1) as f64
}

/// A stable softmax.
fn softmax(z: impl Iterator<Item = f64>) -> Vec<f64> {
    let z: Vec<f64> = z.collect();
    let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = z.iter().map(|v| (v - max).exp()).collect();
    let sum: f64 = e.iter().sum();
    e.into_iter().map(|v| v / sum).collect()
}

/// The temperature in [0.05, 20] that minimises the validation log-loss: a golden-section
/// search over log T (the loss is smooth and, in practice, has one minimum there).
fn calibrate(logits: &Array2<f64>, classes: &[usize], truth: &[usize]) -> f64 {
    let loss = |log_t: f64| evaluate(logits, classes, truth, log_t.exp()).1;
    let ratio = (5f64.sqrt() - 1.0) / 2.0;
    let (mut a, mut b) = (0.05f64.ln(), 20f64.ln());
    let mut c = b - ratio * (b - a);
    let mut d = a + ratio * (b - a);
    let (mut fc, mut fd) = (loss(c), loss(d));
    for _ in 0..40 {
        if fc < fd {
            b = d;
            d = c;
            fd = fc;
            c = b - ratio * (b - a);
            fc = loss(c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + ratio * (b - a);
            fd = loss(d);
        }
    }
    ((a + b) / 2.0).exp()
}

/// The first 8 hex digits of a SHA-256 over the head's numbers and temperature: the same
/// weights give the same id, and any change gives another.
fn weights_hash(head: &HeadFile) -> String {
    let mut h = Sha256::new();
    h.update(head.temperature.to_le_bytes());
    for layer in &head.layers {
        for v in layer.weights.iter().flatten().chain(&layer.bias) {
            h.update(v.to_le_bytes());
        }
    }
    h.finalize()[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three noisy clusters in 4 dimensions, one per class; deterministic.
    fn clusters(n: usize, offset: u64) -> Vec<Example> {
        let mut rng = ChaCha8Rng::seed_from_u64(7 + offset);
        use rand::Rng;
        (0..n)
            .map(|i| {
                let label = i % 3;
                let mut features: Vec<f32> = (0..4).map(|_| rng.gen_range(-1.0..1.0)).collect();
                features[label] += 1.5;
                Example {
                    features,
                    label,
                    weight: 1,
                }
            })
            .collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_head_and_it_learns() {
        let (train, val) = (clusters(300, 0), clusters(90, 1));
        let opts = TrainOptions {
            alphas: vec![0.1, 10.0],
            ..TrainOptions::default()
        };
        let a = train_logistic(&train, &val, &opts).unwrap();
        let b = train_logistic(&train, &val, &opts).unwrap();
        assert_eq!(a.head, b.head);
        assert!(a.chosen.macro_f1 > 0.8, "{:?}", a.chosen);
        assert!(a.calibrated_log_loss <= a.chosen.log_loss + 1e-9);
        // The exported head, applied to raw features, agrees with validation.
        let head = Head::from_file(a.head.clone()).unwrap();
        let right = val
            .iter()
            .filter(|e| {
                let p = head.class_probabilities(&e.features);
                let arg = (0..3).max_by(|&i, &j| p[i].total_cmp(&p[j])).unwrap();
                arg == e.label
            })
            .count();
        assert!(
            right as f64 / val.len() as f64 > 0.8,
            "{right}/{}",
            val.len()
        );
        assert!(
            a.head.id.starts_with("head-") && a.head.id.len() == 13,
            "{}",
            a.head.id
        );
    }

    #[test]
    fn another_seed_changes_only_the_oversampling() {
        let mut train = clusters(200, 2);
        train.retain(|e| e.label != 0 || e.features[3] > 0.0); // fewer negatives
        let rows_a = balanced_rows(&train, 1);
        let rows_b = balanced_rows(&train, 2);
        assert_ne!(rows_a, rows_b);
        let count = |rows: &[usize], c| rows.iter().filter(|&&i| train[i].label == c).count();
        for rows in [&rows_a, &rows_b] {
            assert_eq!(count(rows, 0), count(rows, 1));
            assert_eq!(count(rows, 1), count(rows, 2));
        }
    }

    #[test]
    fn weights_repeat_examples_before_balancing() {
        let mut train = clusters(6, 3);
        train[0].weight = 5; // a negative
        let rows = balanced_rows(&train, 0);
        assert_eq!(rows.iter().filter(|&&i| i == 0).count(), 5);
        assert_eq!(rows.len(), 3 * 6);
    }

    #[test]
    fn folds_are_stratified_seeded_and_even() {
        let labels: Vec<usize> = (0..23).map(|i| if i < 15 { 0 } else { 2 }).collect();
        let folds = stratified_folds(&labels, 5, 9);
        assert_eq!(folds, stratified_folds(&labels, 5, 9));
        assert_ne!(folds, stratified_folds(&labels, 5, 10));
        for f in 0..5 {
            let size = folds.iter().filter(|&&x| x == f).count();
            assert!((4..=5).contains(&size), "fold {f} has {size}");
            let negatives = (0..23).filter(|&i| folds[i] == f && labels[i] == 0).count();
            assert_eq!(negatives, 3, "fold {f}");
        }
        assert_eq!(stratified_folds(&[1, 1], 5, 0).iter().max(), Some(&1));
    }

    #[test]
    fn cross_validation_credits_a_head_that_learns_the_corrections() {
        // The public data knows the three clusters; the corrections are a fourth pattern
        // (feature 3 high) that is negative, which a head that labels it positive gets wrong.
        let public = clusters(240, 8);
        let validation = clusters(60, 9);
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        use rand::Rng;
        let corrections: Vec<Example> = (0..20)
            .map(|_| {
                let mut features: Vec<f32> = (0..4).map(|_| rng.gen_range(-0.3..0.3)).collect();
                features[3] += 3.0;
                Example {
                    features,
                    label: 0,
                    weight: 5,
                }
            })
            .collect();
        let current = vec![2; corrections.len()];
        let opts = TrainOptions {
            alphas: vec![1.0],
            ..TrainOptions::default()
        };
        let mut heard = 0;
        let cv = cross_validate(
            &public,
            &validation,
            &corrections,
            &current,
            5,
            &opts,
            |_, _, _| heard += 1,
        )
        .unwrap();
        assert_eq!((cv.folds, heard, cv.candidate.n), (5, 5, 20));
        assert_eq!(cv.current.accuracy, 0.0);
        assert!(cv.candidate.accuracy > 0.8, "{:?}", cv.candidate);
        assert!(cv.candidate.macro_f1 > cv.current.macro_f1);
        let again = cross_validate(
            &public,
            &validation,
            &corrections,
            &current,
            5,
            &opts,
            |_, _, _| {},
        )
        .unwrap();
        assert_eq!(cv, again);
    }

    #[test]
    fn a_warm_start_begins_where_the_head_is() {
        let train = clusters(60, 12);
        let trained = train_logistic(&train, &clusters(30, 13), &TrainOptions::default())
            .unwrap()
            .head;
        let dim = 4;
        let (mean, scale) = standardisation(&train, dim);
        let params = standardised_start(&trained, &[0, 1, 2], &mean, &scale).unwrap();
        // On standardised features, the start's logits are the head's logits / temperature.
        let head = Head::from_file(trained.clone()).unwrap();
        for e in train.iter().take(5) {
            let x = matrix(std::iter::once(&e.features), dim, &mean, &scale);
            let logits = x.dot(&params.slice(ndarray::s![..dim, ..])) + params.row(dim);
            let p = softmax(logits.row(0).iter().copied());
            let want = head.class_probabilities(&e.features);
            for c in 0..3 {
                assert!((p[c] - f64::from(want[c])).abs() < 1e-4, "{p:?} {want:?}");
            }
        }
        let mut other = trained;
        other.dim = 3;
        assert!(standardised_start(&other, &[0, 1, 2], &mean, &scale).is_none());
    }

    #[test]
    fn scores_count_accuracy_and_macro_f1() {
        let s = Scored::of([(0, 0), (0, 2), (2, 2), (1, 1)]);
        assert_eq!(s.n, 4);
        assert!((s.accuracy - 0.75).abs() < 1e-12);
        assert_eq!(s.confusion[0][2], 1);
        // F1: negative 2/3, neutral 1, positive 2/3.
        assert!((s.macro_f1 - (2.0 / 3.0 + 1.0 + 2.0 / 3.0) / 3.0).abs() < 1e-12);
    }

    #[test]
    fn one_class_or_ragged_features_are_refused() {
        let mut train = clusters(30, 4);
        train.iter_mut().for_each(|e| e.label = 1);
        let err = train_logistic(&train, &clusters(9, 5), &TrainOptions::default()).unwrap_err();
        assert!(err.to_string().contains("fewer than two classes"), "{err}");
        let mut train = clusters(30, 4);
        train[3].features.pop();
        let err = train_logistic(&train, &clusters(9, 5), &TrainOptions::default()).unwrap_err();
        assert!(
            err.to_string().contains("example 3 has 3 features"),
            "{err}"
        );
    }
}
