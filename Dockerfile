# One image for the local cloud, the workers and the RAG service (docker-compose.yml). It holds
# everything `npm run setup` installs (npm packages, the Python tools, the embedding and answer
# models under ./models) and the tiny test model (assets/models), so a machine with Docker needs
# nothing else. The tests do not use it: they start the same processes directly.
FROM node:22.23.2-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Setup first, from only the files it reads, so that editing the sources does not redo the
# installs and model conversions (the slow layers).
COPY package.json package-lock.json ./
COPY scripts/setup.sh scripts/prepare-embedding-model.py scripts/
RUN bash scripts/setup.sh
COPY . .
# All run-time state goes under /data (volumes in docker-compose.yml). The directories are made
# here and owned by the image's user, so that a fresh named volume mounted on one inherits that
# ownership and is writable without running as root.
RUN mkdir -p /data/local-cloud /data/vector-store /data/monitoring && chown -R node:node /data
ENV VECTOR_STORE_DIR=/data/vector-store \
    LLMOPS_MONITORING_FILE=/data/monitoring/prompts.jsonl
USER node
