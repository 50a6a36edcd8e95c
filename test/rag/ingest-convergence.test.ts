// Ingest converges: whatever happened before (a failed delete of stale chunks, a retry, other
// chunking parameters), after a run each document's points are exactly its current chunks, and
// documents from different JSONL files never share an id. Real embedding model, real embedded
// vector store, the ingest activity called directly.
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunkText, cleanText } from '../../activities/embeddings/chunker.js';
import { DenseEmbedder } from '../../activities/embeddings/dense.js';
import { EMBEDDING_DIMENSIONS } from '../../activities/embeddings/model-files.js';
import { createRagActivities, type RagActivities } from '../../activities/rag.js';
import { openVectorStore } from '../../activities/vector-store/select.js';
import type { VectorStore } from '../../activities/vector-store/types.js';

let dir: string;
let store: VectorStore;
let embedder: DenseEmbedder;
let rag: RagActivities;
/** Set by a test: the next deleteByFilter fails, as a crash or a lost connection would. */
let failNextDelete = false;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'llmops-ingest-'));
  store = await openVectorStore({ backend: 'lancedb', lanceDir: join(dir, 'vectors') });
  embedder = new DenseEmbedder();
  const flaky: VectorStore = Object.create(store, {
    deleteByFilter: {
      value: async (...args: Parameters<VectorStore['deleteByFilter']>) => {
        if (failNextDelete) {
          failNextDelete = false;
          throw new Error('connection reset during delete');
        }
        return store.deleteByFilter(...args);
      },
    },
  });
  // Ingest from a directory makes no AWS call; the clients are unused.
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

const topics = ['endpoints', 'autoscaling', 'transform jobs', 'model registry', 'monitoring', 'inference components', 'pipelines', 'feature store'];
/** About 400 tokens of prose that differs by `version`. */
const article = (version: number) =>
  `# Operations guide v${version}\n\n` +
  topics
    .map(
      (t, i) =>
        `Section ${i + 1} of version ${version} explains ${t}: how to create them, how to watch them, and how to remove them safely when a deploy fails halfway.`,
    )
    .join('\n\n');

const ingest = (collection: string, files: string[], chunkTokens: number) =>
  rag.ingestFiles({ collection, source: { directory: dir }, files, chunkTokens, overlapTokens: 8 });

/** Every stored chunk of a document, in chunk order. */
async function storedChunks(collection: string, documentId: string): Promise<string[]> {
  const hits = await rag.retrieve({
    collection,
    dense: Array(EMBEDDING_DIMENSIONS).fill(1),
    sparse: { indices: [], values: [] },
    mode: 'dense',
    topK: 500,
    filter: { documentId },
  });
  return hits.sort((a, b) => a.chunkIndex - b.chunkIndex).map((h) => h.text);
}

const expectedChunks = (text: string, chunkTokens: number) => chunkText(cleanText(text), { chunkSize: chunkTokens, overlap: 8 }).map((c) => c.text);

describe('ingest convergence', () => {
  it('an edit whose stale-chunk delete failed is finished by the retry, not reported unchanged', async () => {
    await rag.ensureCollection({ collection: 'edits' });
    writeFileSync(join(dir, 'guide.md'), article(1));
    await ingest('edits', ['guide.md'], 48);
    expect(await storedChunks('edits', 'guide.md')).toEqual(expectedChunks(article(1), 48));

    writeFileSync(join(dir, 'guide.md'), article(2));
    failNextDelete = true;
    await expect(ingest('edits', ['guide.md'], 48)).rejects.toThrow('connection reset during delete');

    const retry = await ingest('edits', ['guide.md'], 48);
    expect(retry).toMatchObject({ documents: 1, unchanged: 0, upserted: 0 });
    expect(retry.removed).toBeGreaterThan(0);
    expect(await storedChunks('edits', 'guide.md')).toEqual(expectedChunks(article(2), 48));
    expect(await ingest('edits', ['guide.md'], 48)).toMatchObject({ unchanged: 1, upserted: 0, removed: 0 });
  });

  it('changing chunkTokens either way leaves exactly the new chunks', async () => {
    await rag.ensureCollection({ collection: 'rechunk' });
    writeFileSync(join(dir, 'sizes.md'), article(3));
    for (const chunkTokens of [32, 96, 32]) {
      const result = await ingest('rechunk', ['sizes.md'], chunkTokens);
      expect(result.unchanged).toBe(0);
      const expected = expectedChunks(article(3), chunkTokens);
      expect(await storedChunks('rechunk', 'sizes.md')).toEqual(expected);
    }
    expect(expectedChunks(article(3), 32).length).toBeGreaterThan(expectedChunks(article(3), 96).length);
  });

  it('equal JSONL ids in two files are two documents; an id repeated within a file is reported', async () => {
    await rag.ensureCollection({ collection: 'jsonl' });
    writeFileSync(join(dir, 'faq.jsonl'), `${JSON.stringify({ id: 1, text: 'Endpoints scale with target tracking on invocations per instance.' })}\n`);
    writeFileSync(join(dir, 'notes.jsonl'), `${JSON.stringify({ id: 1, text: 'Transform jobs write one .out object per input object.' })}\n`);
    writeFileSync(join(dir, 'dup.jsonl'), `${JSON.stringify({ id: 7, text: 'first' })}\n${JSON.stringify({ id: 7, text: 'second' })}\n`);
    const files = ['dup.jsonl', 'faq.jsonl', 'notes.jsonl'];

    const first = await ingest('jsonl', files, 64);
    expect(first).toMatchObject({ documents: 2, unchanged: 0 });
    expect(first.failed).toEqual([{ file: 'dup.jsonl', reason: 'dup.jsonl:2: document id dup.jsonl#7 is already used on line 1' }]);
    expect(await storedChunks('jsonl', 'faq.jsonl#1')).toEqual(['Endpoints scale with target tracking on invocations per instance.']);
    expect(await storedChunks('jsonl', 'notes.jsonl#1')).toEqual(['Transform jobs write one .out object per input object.']);
    // Neither document replaces the other on the next run.
    expect(await ingest('jsonl', files, 64)).toMatchObject({ documents: 2, unchanged: 2, upserted: 0, removed: 0 });
  });
});
