// Retrieval quality on a small corpus made here: each question has one answering document, and
// hit@k (the answering document among the top k chunks) must be high for dense, sparse and
// hybrid retrieval. Real embedding model, real embedded vector store, the ingest activity.
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DenseEmbedder } from '../../activities/embeddings/dense.js';
import { createRagActivities, type RagActivities } from '../../activities/rag.js';
import { openVectorStore } from '../../activities/vector-store/select.js';
import type { VectorStore } from '../../activities/vector-store/types.js';
import { RETRIEVAL_CORPUS, RETRIEVAL_QUESTIONS } from './retrieval-corpus.js';

let dir: string;
let store: VectorStore;
let embedder: DenseEmbedder;
let rag: RagActivities;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'llmops-retrieval-'));
  writeFileSync(join(dir, 'corpus.jsonl'), RETRIEVAL_CORPUS.map((d) => JSON.stringify(d)).join('\n'));
  store = await openVectorStore({ backend: 'lancedb', lanceDir: join(dir, 'vectors') });
  embedder = new DenseEmbedder();
  // No AWS call is made by ingest from a directory or by retrieval; the clients are unused.
  rag = createRagActivities({
    s3: new S3Client({ region: 'us-east-1' }),
    runtime: new SageMakerRuntimeClient({ region: 'us-east-1' }),
    embedder,
    store: async () => store,
  });
  await rag.ensureCollection({ collection: 'quality' });
  const ingested = await rag.ingestFiles({ collection: 'quality', source: { directory: dir }, files: ['corpus.jsonl'], chunkTokens: 128, overlapTokens: 16 });
  expect(ingested.failed).toEqual([]);
});
afterAll(async () => {
  await embedder?.dispose();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function hitAt(k: number, mode: 'dense' | 'sparse' | 'hybrid'): Promise<number> {
  let hits = 0;
  for (const { question, answer } of RETRIEVAL_QUESTIONS) {
    const q = await rag.embedQuery({ query: question });
    const found = await rag.retrieve({ collection: 'quality', dense: q.dense, sparse: q.sparse, mode, topK: k });
    if (found.some((c) => c.documentId === `corpus.jsonl#${answer}`)) hits++;
  }
  return hits / RETRIEVAL_QUESTIONS.length;
}

describe('retrieval quality (hit@k over a corpus with known answers)', () => {
  it.each(['dense', 'sparse', 'hybrid'] as const)('%s retrieval finds the answering document in the top 3 for at least nine questions in ten', async (mode) => {
    const score = await hitAt(3, mode);
    console.log(`hit@3 ${mode}: ${score.toFixed(2)}`);
    expect(score).toBeGreaterThanOrEqual(0.9);
  });

  it('hybrid is at least as good at hit@1 as the weaker single leg', async () => {
    const [dense, sparse, hybrid] = [await hitAt(1, 'dense'), await hitAt(1, 'sparse'), await hitAt(1, 'hybrid')];
    console.log(`hit@1 dense ${dense.toFixed(2)} sparse ${sparse.toFixed(2)} hybrid ${hybrid.toFixed(2)}`);
    expect(hybrid).toBeGreaterThanOrEqual(Math.min(dense, sparse));
  });
});
