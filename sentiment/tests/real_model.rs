//! The real default model, end to end: load it, classify clear sentences in several languages,
//! check the numbers' contract, batching, the service, and the error for a missing model.
//!
//! These tests need the model directory built by `scripts/build-model.sh`
//! (`$HOME/.cache/earshot/models/e5-small-sentiment-v1`, or `EARSHOT_MODEL_DIR`). They fail,
//! rather than skip, when it is missing: CI builds the model before testing.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use earshot_sentiment::{
    default_model_dir, Classifier, ClassifierOptions, Scores, SentimentError, SentimentService,
};

/// The model directory under test; panics with the fix when it is missing.
fn model_dir() -> PathBuf {
    let dir = std::env::var_os("EARSHOT_MODEL_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(default_model_dir)
        .expect("set HOME or EARSHOT_MODEL_DIR to find the sentiment model");
    assert!(
        dir.join("model.onnx").is_file(),
        "the sentiment model is missing at {}: run scripts/build-model.sh first \
         (or set EARSHOT_MODEL_DIR to a built model directory)",
        dir.display()
    );
    dir
}

/// One classifier shared by the tests of this file (loading takes seconds and hundreds of MB).
fn classifier() -> &'static Mutex<Classifier> {
    static CLASSIFIER: OnceLock<Mutex<Classifier>> = OnceLock::new();
    CLASSIFIER.get_or_init(|| {
        let classifier = Classifier::load(&ClassifierOptions::new(model_dir()))
            .unwrap_or_else(|e| panic!("the default model must load: {e}"));
        Mutex::new(classifier)
    })
}

fn classify(texts: &[&str]) -> Vec<Scores> {
    classifier()
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .classify(texts)
        .unwrap()
}

fn label(scores: &Scores) -> &'static str {
    let p = scores.probabilities;
    let best = (0..3).fold(0, |best, i| if p[i] > p[best] { i } else { best });
    ["negative", "neutral", "positive"][best]
}

fn assert_labels(expected: &str, sentences: &[&str]) {
    let scores = classify(sentences);
    for (sentence, scores) in sentences.iter().zip(&scores) {
        assert_eq!(
            label(scores),
            expected,
            "{sentence:?} got {:?}",
            scores.probabilities
        );
    }
}

/// Asserts that `a` and `b` are the same result up to float rounding.
///
/// This holds for the default build (4-bit weights, MatMulNBits), whose activations are
/// quantised per row. It does not hold for a model quantised with `quantize_dynamic` to int8:
/// there ONNX Runtime picks each activation tensor's scale from the whole batch, so a short,
/// ambiguous text moves with its batch-mates (measured: "ok" went from P(negative) 0.59 alone to
/// 0.97 next to a long text). This test is what catches such a build.
fn assert_close(a: &Scores, b: &Scores, what: &str) {
    for k in 0..3 {
        let d = (a.probabilities[k] - b.probabilities[k]).abs();
        assert!(
            d < 1e-3,
            "{what}: {:?} vs {:?}",
            a.probabilities,
            b.probabilities
        );
    }
    let cosine: f32 = a
        .embedding
        .iter()
        .zip(&b.embedding)
        .map(|(x, y)| x * y)
        .sum();
    assert!(
        cosine > 0.999,
        "{what}: embeddings differ (cosine {cosine})"
    );
}

const NEGATIVE: [&str; 4] = [
    "The kettle broke after two days and support never answered. Terrible.",
    "Жахливий сервіс: чайник зламався через тиждень, гроші не повернули.",
    "Una estafa, el hervidor dejó de funcionar al tercer día y nadie responde.",
    "Ужасное качество, чайник потёк через неделю, больше никогда не куплю.",
];

const POSITIVE: [&str; 4] = [
    "Absolutely love this kettle, best purchase this year!",
    "Чудовий чайник, закипає швидко і виглядає гарно. Дуже задоволена!",
    "¡Me encanta! Funciona perfecto y llegó rápido.",
    "Çox gözəl məhsuldur, hamıya tövsiyə edirəm!",
];

const NEUTRAL: &str = "The store opens at nine on Monday.";

#[test]
fn clear_complaints_are_negative_in_english_ukrainian_spanish_and_russian() {
    assert_labels("negative", &NEGATIVE);
}

#[test]
fn clear_praise_is_positive_in_english_ukrainian_spanish_and_azerbaijani() {
    assert_labels("positive", &POSITIVE);
}

#[test]
fn a_plain_statement_of_fact_is_neutral() {
    assert_labels("neutral", &[NEUTRAL]);
}

#[test]
fn probabilities_sum_to_one_and_embeddings_are_unit_384_vectors() {
    let texts: Vec<&str> = NEGATIVE.iter().chain(&POSITIVE).copied().collect();
    for scores in classify(&texts) {
        let sum: f32 = scores.probabilities.iter().sum();
        assert!((sum - 1.0).abs() < 1e-4, "sum {sum}");
        assert!(scores.probabilities.iter().all(|p| (0.0..=1.0).contains(p)));
        assert_eq!(scores.embedding.len(), 384);
        let norm = scores.embedding.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-3, "norm {norm}");
    }
}

#[test]
fn a_batch_gives_each_text_what_it_gets_alone() {
    let texts = [
        NEGATIVE[0],
        "ok",
        POSITIVE[1],
        NEUTRAL,
        &"Дуже довгий текст. ".repeat(40),
    ];
    let batch = classify(&texts);
    assert_eq!(batch.len(), texts.len());
    for (text, in_batch) in texts.iter().zip(&batch) {
        let alone = classify(&[text]).remove(0);
        assert_close(&alone, in_batch, text);
    }
}

#[test]
fn empty_and_huge_texts_are_classified() {
    let huge = "Терпеть не могу этот чайник. ".repeat(5_000);
    let scores = classify(&["", &huge]);
    assert_eq!(scores.len(), 2);
    assert!(scores.iter().all(|s| s.embedding.len() == 384));
}

#[test]
fn the_model_key_names_model_and_version() {
    let classifier = classifier().lock().unwrap_or_else(PoisonError::into_inner);
    assert_eq!(classifier.model_key(), "earshot/e5-small-sentiment@1");
    assert_eq!(classifier.max_tokens(), 256);
}

/// A Hugging Face-style export (`logits` output, `token_type_ids` input, NEGATIVE/POSITIVE
/// labels) built by `tests/fixtures/make_logits_model.py`: its logits are `[0, tokens - 4]`, so
/// P(positive) is `sigmoid(tokens - 4)`, where tokens counts `[CLS]` and `[SEP]` and not padding.
fn logits_fixture(max_tokens: usize) -> Classifier {
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/logits-2class");
    let mut opts = ClassifierOptions::new(fixture);
    // The fixture ships no ONNX Runtime: use the default model's.
    opts.ort_dylib = Some(earshot_sentiment::locate_runtime(None, &model_dir()).unwrap());
    opts.max_tokens = max_tokens;
    Classifier::load(&opts).unwrap_or_else(|e| panic!("the logits fixture must load: {e}"))
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

#[test]
fn a_logits_export_is_softmaxed_and_mapped_to_three_labels() {
    let mut classifier = logits_fixture(256);
    assert_eq!(classifier.model_key(), "logits-2class");
    // 3, 6 and 4 tokens: the batch is padded to 6, and padding must not count.
    let scores = classifier
        .classify(&["good", "good bad kettle good", "bad kettle"])
        .unwrap();
    for (scores, tokens) in scores.iter().zip([3.0, 6.0, 4.0]) {
        let positive = sigmoid(tokens - 4.0);
        let [neg, neu, pos] = scores.probabilities;
        assert!((pos - positive).abs() < 1e-5, "{tokens} tokens: {pos}");
        assert!(
            (neg - (1.0 - positive)).abs() < 1e-5,
            "{tokens} tokens: {neg}"
        );
        assert_eq!(neu, 0.0, "a 2-class model has no neutral");
        assert!(scores.embedding.is_empty());
    }
}

#[test]
fn texts_are_truncated_at_max_tokens() {
    let mut classifier = logits_fixture(4);
    let scores = classifier.classify(&["good bad kettle good bad"]).unwrap();
    // 7 tokens cut to 4 ([CLS] good bad [SEP]): logit 0, so an even split.
    assert!((scores[0].probabilities[2] - 0.5).abs() < 1e-5);
}

#[test]
fn a_missing_model_directory_says_how_to_get_one() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("e5-small-sentiment-v1");
    let err = Classifier::load(&ClassifierOptions::new(&missing)).unwrap_err();
    assert!(matches!(err, SentimentError::ModelFile { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains(&missing.display().to_string()),
        "{message}"
    );
    assert!(message.contains("scripts/build-model.sh"), "{message}");
}

#[test]
fn the_service_reports_a_load_failure_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let err = SentimentService::start(ClassifierOptions::new(dir.path()), 8).unwrap_err();
    assert!(err.to_string().contains("scripts/build-model.sh"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_answers_concurrent_callers_in_their_own_order() {
    // A small batch size forces several length-sorted runs per round.
    let mut opts = ClassifierOptions::new(model_dir());
    opts.batch_size = 4;
    let service = Arc::new(
        SentimentService::start(opts, 16).unwrap_or_else(|e| panic!("the service must start: {e}")),
    );
    assert_eq!(service.model_key(), "earshot/e5-small-sentiment@1");
    assert!(service.is_running());

    // Texts of very different lengths, so sorting by length reorders them.
    let long_negative = format!("{} {}", NEGATIVE[3], "Сплошное разочарование. ".repeat(10));
    let requests: Vec<Vec<String>> = vec![
        vec![long_negative.clone(), POSITIVE[2].into(), "ok".into()],
        vec![NEUTRAL.into(), NEGATIVE[0].into()],
        vec![
            POSITIVE[3].into(),
            NEGATIVE[1].into(),
            POSITIVE[0].into(),
            NEGATIVE[2].into(),
        ],
        vec![
            "meh".into(),
            long_negative,
            POSITIVE[1].into(),
            NEUTRAL.into(),
            "!!".into(),
        ],
    ];
    let callers: Vec<_> = requests
        .iter()
        .cloned()
        .map(|texts| {
            let service = Arc::clone(&service);
            tokio::spawn(async move { service.classify(texts).await })
        })
        .collect();
    for (texts, caller) in requests.iter().zip(callers) {
        let got = caller.await.unwrap().unwrap();
        assert_eq!(got.len(), texts.len());
        for (text, got) in texts.iter().zip(&got) {
            let alone = classify(&[text]).remove(0);
            assert_close(&alone, got, text);
        }
    }
    assert!(service.classify(Vec::new()).await.unwrap().is_empty());

    let service = Arc::try_unwrap(service).expect("all callers are done");
    drop(service); // joins the model thread
}

/// The shipped head, on the real model: the key names it, and each text's probabilities are
/// exactly the head applied to that text's embedding (not the built-in head's).
#[test]
fn the_shipped_head_scores_the_embedding_and_names_itself_in_the_key() {
    use earshot_sentiment::{Head, HeadChoice, DEFAULT_HEAD_JSON};
    let mut opts = ClassifierOptions::new(model_dir());
    opts.head = HeadChoice::Shipped;
    let mut with_head = Classifier::load(&opts).unwrap();
    let head = Head::parse(DEFAULT_HEAD_JSON, std::path::Path::new("shipped")).unwrap();
    assert_eq!(
        with_head.model_key(),
        format!("earshot/e5-small-sentiment@1+head:{}", head.id())
    );
    let texts = [
        "The kettle broke after two days and support never answered. Terrible.",
        "Absolutely love this grinder, best purchase this year!",
        "The store opens at nine on Monday.",
    ];
    let builtin = classify(&texts);
    let headed = with_head.classify(&texts).unwrap();
    for ((b, h), text) in builtin.iter().zip(&headed).zip(texts) {
        assert_eq!(b.embedding, h.embedding, "{text}");
        let expected = head.probabilities(&h.embedding, b.probabilities);
        for k in 0..3 {
            assert!(
                (expected[k] - h.probabilities[k]).abs() < 1e-6,
                "{text}: {expected:?} vs {:?}",
                h.probabilities
            );
        }
        assert_ne!(b.probabilities, h.probabilities, "{text}");
    }
    let labels: Vec<&str> = headed.iter().map(label).collect();
    assert_eq!(labels, ["negative", "positive", "neutral"]);
}

#[test]
fn a_head_of_the_wrong_size_or_on_a_model_without_embeddings_is_refused_clearly() {
    use earshot_sentiment::{HeadChoice, HeadFile, DEFAULT_HEAD_JSON};
    let dir = tempfile::tempdir().unwrap();
    let mut file: HeadFile = serde_json::from_str(DEFAULT_HEAD_JSON).unwrap();
    file.dim = 4;
    for row in &mut file.layers[0].weights {
        row.truncate(4);
    }
    let path = dir.path().join("small.json");
    std::fs::write(&path, serde_json::to_string(&file).unwrap()).unwrap();

    let mut opts = ClassifierOptions::new(model_dir());
    opts.head = HeadChoice::File(path.clone());
    let err = Classifier::load(&opts).unwrap_err().to_string();
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(
        err.contains("takes 4-value embeddings but the model"),
        "{err}"
    );
    assert!(err.contains("gives 384"), "{err}");

    // A Hugging Face export has no embedding output.
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/logits-2class");
    let mut opts = ClassifierOptions::new(fixture);
    opts.ort_dylib = Some(earshot_sentiment::locate_runtime(None, &model_dir()).unwrap());
    opts.head = HeadChoice::File(path);
    let err = Classifier::load(&opts).unwrap_err().to_string();
    assert!(err.contains("has no embedding output"), "{err}");
    assert!(err.contains("scripts/build-model.sh"), "{err}");
}

/// The probe set for the auxiliary heads (tests/fixtures/signals.tsv, written for Earshot):
/// 12 texts each of abusive complaints, plain complaints, mixed reviews and praise, in
/// English, Ukrainian, Russian, Spanish and Azerbaijani. Prints each kind's flag counts
/// (QUALITY.md quotes them; run with `--nocapture`).
#[test]
fn the_hate_head_flags_abuse_but_not_plain_complaints_and_the_mixed_head_spares_praise() {
    let raw = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/signals.tsv"),
    )
    .unwrap();
    let rows: Vec<(&str, &str)> = raw
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let cells: Vec<&str> = l.split('\t').collect();
            (cells[0], cells[2])
        })
        .collect();
    let texts: Vec<&str> = rows.iter().map(|(_, text)| *text).collect();
    let scores = classify(&texts);
    let kinds = ["abusive", "plain", "mixed", "praise"];
    let mut flagged = std::collections::BTreeMap::new();
    let mut mean_hate = std::collections::BTreeMap::new();
    println!("| kind | n | hate flagged | mean P(hate) | mixed flagged | mean P(mixed) |");
    println!("|---|---:|---:|---:|---:|---:|");
    for kind in kinds {
        let of_kind: Vec<&Scores> = rows
            .iter()
            .zip(&scores)
            .filter(|((k, _), _)| *k == kind)
            .map(|(_, s)| s)
            .collect();
        let n = of_kind.len();
        let hate: Vec<_> = of_kind
            .iter()
            .map(|s| s.signals.hate.expect("the hate head"))
            .collect();
        let mixed: Vec<_> = of_kind
            .iter()
            .map(|s| s.signals.mixed.expect("the mixed head"))
            .collect();
        let count = |v: &[earshot_domain::Signal]| v.iter().filter(|s| s.flagged).count();
        let mean =
            |v: &[earshot_domain::Signal]| v.iter().map(|s| s.probability).sum::<f32>() / n as f32;
        println!(
            "| {kind} | {n} | {} | {:.3} | {} | {:.3} |",
            count(&hate),
            mean(&hate),
            count(&mixed),
            mean(&mixed)
        );
        flagged.insert((kind, "hate"), count(&hate));
        flagged.insert((kind, "mixed"), count(&mixed));
        mean_hate.insert(kind, mean(&hate));
    }
    assert_eq!(rows.len(), 48);
    assert!(flagged[&("abusive", "hate")] >= 3, "{flagged:?}");
    for kind in ["plain", "mixed", "praise"] {
        assert_eq!(flagged[&(kind, "hate")], 0, "{kind}: {flagged:?}");
    }
    assert!(
        mean_hate["abusive"] > 3.0 * mean_hate["plain"],
        "abuse scores well above plain complaints: {mean_hate:?}"
    );
    assert_eq!(
        flagged[&("praise", "mixed")],
        0,
        "no praise loses its review to the mixed head: {flagged:?}"
    );
}
