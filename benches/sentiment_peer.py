"""The Python peer for benches/sentiment.rs: onnxruntime + tokenizers on Earshot's model file.

    sentiment_peer.py TEXTS_JSON MODEL_DIR LABELS_OUT BATCH MAX_TOKENS THREADS [CLAIM BUDGET]

Reads the texts (a JSON array of strings) written by the benchmark, loads MODEL_DIR's
model.onnx, tokenizer.json and config.json, and classifies the texts in the given order in
consecutive batches of BATCH, as a user would write it: config "prefix" before each text,
truncation to MAX_TOKENS (capped by config "max_length"), padding to the longest text in the
batch. With CLAIM and BUDGET it groups the texts as Earshot's classifier does instead: CLAIM
texts at a time, sorted by token count, in runs of at most BATCH texts and BUDGET padded
tokens. The session uses THREADS intra-op threads, 1 inter-op thread, sequential
execution, all graph optimisations. One warm-up batch (the same three sentences Earshot's
classifier runs when it loads) runs before the clock starts.

Timed: from the texts in memory to every batch's probabilities in numpy (tokenise, pad, run).
Writes the argmax label names to LABELS_OUT (one per line) and prints one JSON line:
{"secs", "texts", "rss_kb", "python", "onnxruntime", "tokenizers"}.
"""

import json
import platform
import sys
import time

import numpy as np
import onnxruntime as ort
import tokenizers
from tokenizers import Tokenizer

WARM_UP = [
    "The kettle stopped working after a week.",
    "Дуже задоволена покупкою, рекомендую всім друзям!",
    "ok",
]


def peak_rss_kb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return -1


def main():
    texts_path, model_dir, labels_out, batch, max_tokens, threads = sys.argv[1:7]
    batch, max_tokens, threads = int(batch), int(max_tokens), int(threads)
    claim, budget = (int(sys.argv[7]), int(sys.argv[8])) if len(sys.argv) > 8 else (0, 0)
    with open(texts_path, encoding="utf-8") as f:
        texts = json.load(f)
    with open(f"{model_dir}/config.json", encoding="utf-8") as f:
        config = json.load(f)
    prefix = config.get("prefix", "")
    if config.get("max_length"):
        max_tokens = min(max_tokens, int(config["max_length"]))
    id2label = {int(k): v.lower() for k, v in config["id2label"].items()}
    outputs = config.get("outputs") or {}
    score_name = outputs.get("probabilities") or outputs.get("logits") or "logits"
    needs_softmax = "probabilities" not in outputs

    tok = Tokenizer.from_file(f"{model_dir}/tokenizer.json")
    pad_id = config.get("pad_token_id")
    if pad_id is None:
        pad_id = tok.token_to_id("<pad>") or 0
    tok.enable_truncation(max_length=max_tokens, strategy="longest_first", direction="right")
    tok.enable_padding(pad_id=pad_id, pad_token=tok.id_to_token(pad_id) or "<pad>")

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(
        f"{model_dir}/model.onnx", sess_options=opts, providers=["CPUExecutionProvider"]
    )
    input_names = [i.name for i in sess.get_inputs()]
    output_names = [o.name for o in sess.get_outputs()]
    score_index = output_names.index(score_name)

    def run(ids, mask):
        feed = {}
        for name in input_names:
            if name == "input_ids":
                feed[name] = ids
            elif name == "attention_mask":
                feed[name] = mask
            else:  # token_type_ids
                feed[name] = np.zeros_like(ids)
        # All outputs, as Earshot fetches both the probabilities and the embedding.
        scores = sess.run(None, feed)[score_index]
        if needs_softmax:
            scores = np.exp(scores - scores.max(axis=1, keepdims=True))
            scores /= scores.sum(axis=1, keepdims=True)
        return scores

    def classify(chunk):
        """A batch as a user writes it: the tokenizer pads to the batch's longest text."""
        encodings = tok.encode_batch([prefix + t for t in chunk])
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        return run(ids, mask)

    def classify_sorted(chunk):
        """Earshot's grouping: sort the claim by token count, then runs of at most `batch`
        texts and `budget` padded tokens, each padded to its own longest text."""
        tok.no_padding()
        ids = [e.ids for e in tok.encode_batch([prefix + t for t in chunk])]
        order = sorted(range(len(chunk)), key=lambda i: len(ids[i]))
        out = [None] * len(chunk)
        start = 0
        while start < len(order):
            end = start + 1
            while (end < len(order) and end - start < batch
                   and (end + 1 - start) * len(ids[order[end]]) <= budget):
                end += 1
            run_rows = [ids[i] for i in order[start:end]]
            width = len(run_rows[-1])
            padded = np.full((len(run_rows), width), pad_id, dtype=np.int64)
            mask = np.zeros((len(run_rows), width), dtype=np.int64)
            for r, row in enumerate(run_rows):
                padded[r, : len(row)] = row
                mask[r, : len(row)] = 1
            for i, row in zip(order[start:end], run(padded, mask)):
                out[i] = row
            start = end
        return np.stack(out)

    classify(WARM_UP)

    start = time.perf_counter()
    if claim:
        probabilities = [classify_sorted(texts[i : i + claim]) for i in range(0, len(texts), claim)]
    else:
        probabilities = [classify(texts[i : i + batch]) for i in range(0, len(texts), batch)]
    secs = time.perf_counter() - start

    probabilities = np.concatenate(probabilities)
    with open(labels_out, "w", encoding="utf-8") as f:
        for row in probabilities:
            f.write(id2label[int(row.argmax())] + "\n")
    print(
        json.dumps(
            {
                "secs": secs,
                "texts": len(texts),
                "rss_kb": peak_rss_kb(),
                "python": platform.python_version(),
                "onnxruntime": ort.__version__,
                "tokenizers": tokenizers.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
