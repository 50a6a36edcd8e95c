// Pipelined ingest (documents of a batch read, embedded and upserted overlapping) stores the
// same points as ingesting one document per call, and a store failure mid-batch fails the
// activity only after the documents in flight settle, so the retry converges. Real embedding
// model, real embedded vector store, the ingest activity called directly.
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cosine, DenseEmbedder } from '../../activities/embeddings/dense.js';
import { EMBEDDING_DIMENSIONS } from '../../activities/embeddings/model-files.js';
import { createRagActivities, type RagActivities } from '../../activities/rag.js';
import { openVectorStore } from '../../activities/vector-store/select.js';
import type { RetrievedPoint, VectorStore } from '../../activities/vector-store/types.js';

let dir: string;
let store: VectorStore;
let embedder: DenseEmbedder;
let rag: RagActivities;
/** Set by a test: the upsert of this document fails, as a lost connection would. */
let failUpsertOf: string | undefined;
/** Documents whose points an upsert call stored (calls take several documents). */
const written = new Set<string>();

const files = Array.from({ length: 6 }, (_, d) => `doc-${d}.md`);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'llmops-ingest-pipeline-'));
  for (const [d, file] of files.entries()) {
    writeFileSync(
      join(dir, file),
      `# Runbook ${d}\n\n` +
        Array.from(
          { length: 4 },
          (_, s) => `Step ${s} of runbook ${d}: check the endpoint's ${['metrics', 'alarms', 'logs', 'quotas'][s]} before scaling it out or back in.`,
        ).join('\n\n'),
    );
  }
  store = await openVectorStore({ backend: 'lancedb', lanceDir: join(dir, 'vectors') });
  embedder = new DenseEmbedder({ contexts: 2, threads: 1 });
  const flaky: VectorStore = Object.create(store, {
    upsert: {
      value: async (...args: Parameters<VectorStore['upsert']>) => {
        if (failUpsertOf && args[1].some((p) => p.payload.documentId === failUpsertOf)) {
          failUpsertOf = undefined;
          throw new Error('connection reset during upsert');
        }
        const out = await store.upsert(...args);
        for (const p of args[1]) written.add(String(p.payload.documentId));
        return out;
      },
    },
  });
  rag = createRagActivities({
    s3: new S3Client({ region: 'us-east-1' }),
    runtime: new SageMakerRuntimeClient({ region: 'us-east-1' }),
    embedder,
    store: async () => flaky,
  });
});
afterAll(async () => {
  await embedder?.dispose();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

const ingest = (collection: string, batch: string[]) =>
  rag.ingestFiles({ collection, source: { directory: dir }, files: batch, chunkTokens: 32, overlapTokens: 4 });

/** Every point of a collection, by id, with its dense vector. */
async function points(collection: string): Promise<Map<string, RetrievedPoint>> {
  const hits = await rag.retrieve({ collection, dense: Array(EMBEDDING_DIMENSIONS).fill(1), sparse: { indices: [], values: [] }, mode: 'dense', topK: 500 });
  const all = await store.retrieve(
    collection,
    hits.map((h) => h.id),
    { withVectors: true },
  );
  return new Map(all.map((p) => [p.id, p]));
}

describe('pipelined ingest', () => {
  it('stores the same points as one document per call', async () => {
    for (const c of ['batched', 'single']) await rag.ensureCollection({ collection: c });
    const batched = await ingest('batched', files);
    for (const f of files) await ingest('single', [f]);
    expect(batched.documents).toBe(files.length);
    expect(batched.upserted).toBe(batched.chunks);
    expect(batched.chunks).toBeGreaterThan(files.length); // several chunks per document

    const a = await points('batched');
    const b = await points('single');
    expect(a.size).toBe(batched.chunks);
    expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
    for (const [id, p] of a) {
      expect(p.payload).toEqual(b.get(id)!.payload);
      expect(cosine(p.dense!, b.get(id)!.dense!)).toBeGreaterThanOrEqual(0.9999);
    }
    expect((await ingest('batched', files)).unchanged).toBe(files.length);
  }, 300_000);

  it('a failed upsert fails the batch after the documents in flight settle; the retry converges', async () => {
    await rag.ensureCollection({ collection: 'flaky' });
    failUpsertOf = 'doc-2.md';
    written.clear();
    await expect(ingest('flaky', files)).rejects.toThrow(/connection reset during upsert/);
    // The failed call's documents were not stored; the others of the run were (before or after).
    expect(written.has('doc-2.md')).toBe(false);
    const storedFirst = written.size;
    const retry = await ingest('flaky', files);
    expect(retry.failed).toEqual([]);
    const stored = await points('flaky');
    const reference = await points('single');
    expect([...stored.keys()].sort()).toEqual([...reference.keys()].sort());
    // What the first run stored is not redone, and all the rest is.
    expect(retry.unchanged).toBe(storedFirst);
    expect(retry.documents - retry.unchanged).toBe(files.length - storedFirst);
  }, 300_000);
});
