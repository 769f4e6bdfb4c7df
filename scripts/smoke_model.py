#!/usr/bin/env python3
"""Smoke-test a sentiment model directory built by scripts/build-model.sh.

    python scripts/smoke_model.py MODEL_DIR [--bench [CORPUS_DIR]] [--eval [CORPUS_DIR]]

Loads model.onnx with onnxruntime and tokenizer.json with tokenizers, tokenizes config.json's prefix + text
(truncated to 256 tokens), checks the outputs' shapes, that probabilities sum to 1 and embeddings have
unit length, then asserts the label of each sentence below and prints a table of probabilities.
Exit status 1 if any asserted label is wrong.

--bench: sentences per second (median of 3 runs) over 512 sentences of mixed length from the corpus
(the UMSAB multilingual tweets, one TSV per language: label, label_name, text), batch 32, 2 threads.
--eval: accuracy and macro-F1 per language on the same corpus.
"""
from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

MAX_TOKENS = 256

CASES = [
    ("en", "negative", "The kettle broke after two days and support never answered. Terrible."),
    ("en", "positive", "Absolutely love this grinder, best purchase this year!"),
    ("uk", "negative", "Жахливий сервіс, чайник зламався через тиждень."),
    ("uk", "positive", "Дуже задоволена, чудова якість і швидка доставка!"),
    ("es", "negative", "Pésimo producto, dejó de funcionar en una semana."),
    ("es", "positive", "¡Me encanta! Funciona perfecto y llegó rápido."),
    ("az", "positive", "Çox gözəl məhsuldur, hamıya tövsiyə edirəm!"),
    ("ru", "negative", "Ужасное качество, больше никогда не куплю."),
    ("en", "neutral", "The store opens at nine on Monday."),
]

# Other plainly neutral sentences: printed, not asserted.
NEUTRAL_EXTRA = [
    ("en", "The package weighs two kilograms."),
    ("en", "Our office is on the third floor."),
    ("en", "The meeting has been moved to Thursday at 10am."),
    ("uk", "Магазин працює з дев'ятої ранку."),
]

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "umsab-multilingual-tweets-val"


class Model:
    def __init__(self, model_dir: Path, threads: int = 2):
        self.config = json.loads((model_dir / "config.json").read_text())
        self.prefix = self.config.get("prefix", "")
        self.labels = [self.config["id2label"][str(i)] for i in range(len(self.config["id2label"]))]
        self.tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tok.enable_truncation(min(MAX_TOKENS, int(self.config.get("max_length", 512))))
        self.tok.enable_padding(pad_id=int(self.config.get("pad_token_id", 1)), pad_token="<pad>")
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.log_severity_level = 3
        self.sess = ort.InferenceSession(str(model_dir / "model.onnx"), so, providers=["CPUExecutionProvider"])
        outs = self.config["outputs"]
        self.out_names = [outs["embedding"], outs["probabilities"]]

    def encode(self, texts: list[str]) -> dict[str, np.ndarray]:
        enc = self.tok.encode_batch([self.prefix + t for t in texts])
        return {"input_ids": np.array([e.ids for e in enc], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64)}

    def run(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        emb, prob = self.sess.run(self.out_names, self.encode(texts))
        return emb, prob


def read_corpus(corpus: Path) -> list[tuple[str, int, str]]:
    rows = []
    for f in sorted(corpus.glob("*.tsv")):
        lang = f.stem.split("_")[0]
        with open(f, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh, delimiter="\t")
            header = next(reader)
            li, ti = header.index("label"), header.index("text")
            rows.extend((lang, int(r[li]), r[ti]) for r in reader if len(r) > max(li, ti) and r[ti].strip())
    if not rows:
        raise SystemExit(f"no *.tsv rows under {corpus}")
    return rows


def smoke(m: Model) -> bool:
    texts = [t for _, _, t in CASES] + [t for _, t in NEUTRAL_EXTRA]
    emb, prob = m.run(texts)
    n = len(texts)
    assert emb.shape == (n, int(m.config.get("embedding_dim", emb.shape[1]))) and emb.dtype == np.float32, emb.shape
    assert prob.shape == (n, len(m.labels)) and prob.dtype == np.float32, prob.shape
    assert np.allclose(prob.sum(1), 1, atol=1e-4), "probabilities do not sum to 1"
    assert np.allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-3), "embeddings are not unit length"
    # a sentence alone gives what it gives in a padded batch
    e1, p1 = m.run(texts[:1])
    assert np.abs(p1[0] - prob[0]).max() < 0.02, (p1[0], prob[0])

    head = "  ".join(f"{lab[:3]:>5}" for lab in m.labels)
    print(f"{'lang':4} {'expected':9} {'got':9} {head}  ok  text")
    ok_all = True
    for i, text in enumerate(texts):
        got = m.labels[int(prob[i].argmax())]
        if i < len(CASES):
            lang, want = CASES[i][0], CASES[i][1]
            ok = got == want
            ok_all &= ok
            mark = "ok" if ok else "FAIL"
        else:
            lang, want = NEUTRAL_EXTRA[i - len(CASES)][0], "(neutral)"
            mark = "  " if got == "neutral" else "--"
        probs = "  ".join(f"{p:5.3f}" for p in prob[i])
        print(f"{lang:4} {want:9} {got:9} {probs}  {mark:4}{text[:60]}")
    passed = sum(m.labels[int(prob[i].argmax())] == CASES[i][1] for i in range(len(CASES)))
    print(f"{passed}/{len(CASES)} asserted labels right; extra neutral sentences (not asserted): "
          f"{sum(m.labels[int(prob[len(CASES) + j].argmax())] == 'neutral' for j in range(len(NEUTRAL_EXTRA)))}"
          f"/{len(NEUTRAL_EXTRA)} neutral")
    return ok_all


def bench(m: Model, rows, n: int = 512, batch: int = 32, repeats: int = 3) -> None:
    # round-robin over languages so each batch mixes languages and lengths
    by_lang: dict[str, list[str]] = {}
    for lang, _, text in rows:
        by_lang.setdefault(lang, []).append(text)
    texts, i = [], 0
    while len(texts) < n:
        for lang in sorted(by_lang):
            if i < len(by_lang[lang]) and len(texts) < n:
                texts.append(by_lang[lang][i])
        i += 1
    lens = [sum(e.attention_mask) for e in m.tok.encode_batch([m.prefix + t for t in texts])]
    m.run(texts[:batch])  # warm-up
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for j in range(0, len(texts), batch):
            m.run(texts[j:j + batch])  # tokenising is inside the timed loop
        rates.append(len(texts) / (time.perf_counter() - t0))
    print(f"throughput: {statistics.median(rates):.0f} sentences/s (median of {repeats}: "
          f"{', '.join(f'{r:.0f}' for r in rates)}); {len(texts)} sentences, batch {batch}, "
          f"{m.sess.get_session_options().intra_op_num_threads} threads, tokens per sentence "
          f"mean {np.mean(lens):.0f}, max {max(lens)} (truncated at {MAX_TOKENS})")


def macro_f1(y: np.ndarray, p: np.ndarray, k: int) -> float:
    f = []
    for c in range(k):
        tp = np.sum((p == c) & (y == c))
        f.append(2 * tp / max(1, 2 * tp + np.sum((p == c) & (y != c)) + np.sum((p != c) & (y == c))))
    return float(np.mean(f))


def evaluate(m: Model, rows, batch: int = 32) -> None:
    # the corpus labels are 0 negative, 1 neutral, 2 positive; map them through the model's label names
    names = {0: "negative", 1: "neutral", 2: "positive"}
    y = np.array([m.labels.index(names[lab]) for _, lab, _ in rows])
    pred = np.concatenate([m.run([t for _, _, t in rows[j:j + batch]])[1].argmax(1) for j in range(0, len(rows), batch)])
    langs = np.array([lang for lang, _, _ in rows])
    print(f"{'language':11} {'n':>5} {'acc':>6} {'macroF1':>8}")
    for lang in sorted(set(langs)):
        k = langs == lang
        print(f"{lang:11} {k.sum():5d} {np.mean(pred[k] == y[k]):6.3f} {macro_f1(y[k], pred[k], 3):8.3f}")
    print(f"{'all':11} {len(y):5d} {np.mean(pred == y):6.3f} {macro_f1(y, pred, 3):8.3f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir", type=Path)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bench", nargs="?", const=DEFAULT_CORPUS, type=Path, metavar="CORPUS_DIR")
    ap.add_argument("--eval", nargs="?", const=DEFAULT_CORPUS, type=Path, metavar="CORPUS_DIR")
    args = ap.parse_args()

    m = Model(args.model_dir, args.threads)
    ok = smoke(m)
    if args.bench:
        bench(m, read_corpus(args.bench))
    if args.eval:
        evaluate(m, read_corpus(args.eval))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
