# One image for the local cloud and the workers (docker-compose.yml). Not used by the tests,
# which start the same processes directly.
FROM node:22-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN ONNXRUNTIME_NODE_INSTALL=skip NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install --no-audit --no-fund
RUN python3 -m venv .venv && .venv/bin/pip install --no-cache-dir "moto[server]==5.2.5"
COPY . .
