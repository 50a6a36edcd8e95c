// Picks the vector store: Qdrant when configured (QDRANT_URL) or when one answers on
// localhost:6333, otherwise the embedded LanceDB store under VECTOR_STORE_DIR
// (default `.vector-store/`). VECTOR_STORE=qdrant|lancedb forces a backend.
import { pino } from 'pino';
import { LanceDbVectorStore, DEFAULT_LANCE_DIR } from './lancedb.js';
import { QdrantVectorStore } from './qdrant.js';
import { VectorStoreError, type VectorStore, type VectorStoreLogger } from './types.js';
import { logLevel, vectorStoreConfig } from '../../common/config.js';

export const LOCAL_QDRANT_URL = 'http://127.0.0.1:6333';

export interface OpenVectorStoreOptions {
  /** 'auto' (default): Qdrant if configured or found on localhost, else LanceDB. */
  backend?: 'auto' | 'qdrant' | 'lancedb';
  /** Default: env QDRANT_URL. When set (and backend is auto or qdrant), Qdrant is used and must answer. */
  qdrantUrl?: string;
  /** Default: env QDRANT_API_KEY. */
  qdrantApiKey?: string;
  /** Probe localhost:6333 when no URL is configured; default true. */
  probeLocalQdrant?: boolean;
  /** Default: env VECTOR_STORE_DIR, else `.vector-store`. */
  lanceDir?: string;
  logger?: VectorStoreLogger;
  env?: NodeJS.ProcessEnv;
}

/** True when the URL answers like a Qdrant server (its root reports a "qdrant" title). */
export async function isQdrant(url: string, timeoutMs = 500): Promise<boolean> {
  try {
    const response = await fetch(url.replace(/\/+$/, '') + '/', { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) return false;
    const body = (await response.json()) as { title?: unknown };
    return typeof body.title === 'string' && /qdrant/i.test(body.title);
  } catch {
    return false;
  }
}

function defaultLogger(): VectorStoreLogger {
  return pino({ level: logLevel(), base: { component: 'vector-store' } }, pino.destination(2));
}

export async function openVectorStore(options: OpenVectorStoreOptions = {}): Promise<VectorStore> {
  const env = options.env ?? process.env;
  const logger = options.logger ?? defaultLogger();
  const configured = vectorStoreConfig.read(env);
  const backend = options.backend ?? configured.VECTOR_STORE;
  if (!['auto', 'qdrant', 'lancedb'].includes(backend)) throw new VectorStoreError(`VECTOR_STORE must be auto, qdrant or lancedb, got ${backend}`);
  const configuredUrl = options.qdrantUrl ?? configured.QDRANT_URL;
  const apiKey = options.qdrantApiKey ?? configured.QDRANT_API_KEY;

  if (backend !== 'lancedb') {
    let url = configuredUrl;
    if (!url && backend === 'auto' && (options.probeLocalQdrant ?? true) && (await isQdrant(LOCAL_QDRANT_URL))) url = LOCAL_QDRANT_URL;
    if (!url && backend === 'qdrant') url = LOCAL_QDRANT_URL;
    if (url) {
      const store = new QdrantVectorStore({ url, apiKey, logger });
      const health = await store.health();
      if (!health.ok) throw new VectorStoreError(`vector store: ${health.detail} (unset QDRANT_URL to use the embedded store)`);
      logger.info(
        { backend: 'qdrant', url, reason: configuredUrl ? 'QDRANT_URL' : backend === 'qdrant' ? 'VECTOR_STORE=qdrant' : 'found on localhost:6333' },
        `vector store: ${health.detail}`,
      );
      return store;
    }
  }
  const dir = options.lanceDir ?? configured.VECTOR_STORE_DIR ?? DEFAULT_LANCE_DIR;
  const store = new LanceDbVectorStore({ dir, logger });
  const health = await store.health();
  if (!health.ok) throw new VectorStoreError(`vector store: ${health.detail}`);
  logger.info(
    { backend: 'lancedb', dir: store.dir, reason: backend === 'lancedb' ? 'VECTOR_STORE=lancedb' : 'no Qdrant configured or found' },
    `vector store: ${health.detail}`,
  );
  return store;
}
