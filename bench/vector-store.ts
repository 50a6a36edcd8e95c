// Vector store figures: upsert throughput (points/s, 384-d dense + BM25-like sparse) and
// search latency p50/p95 per mode (dense, sparse, hybrid; unfiltered and filtered) on
// BENCH_POINTS points (default 10,000). Runs the embedded LanceDB store always, and Qdrant
// when QDRANT_URL is set or one answers on localhost:6333. Synthetic data, seeded; bounded
// iterations; prints a table, asserts nothing.
//   npx tsx bench/vector-store.ts      (BENCH_POINTS=10000 BENCH_QUERIES=200 BENCH_BATCH=256)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LanceDbVectorStore } from '../activities/vector-store/lancedb';
import { QdrantVectorStore } from '../activities/vector-store/qdrant';
import { isQdrant, LOCAL_QDRANT_URL } from '../activities/vector-store/select';
import type { Filter, PointInput, SearchMode, SparseVector, VectorStore } from '../activities/vector-store/types';
import { seeded } from '../dev/seeded-random';

const POINTS = Number(process.env.BENCH_POINTS ?? 10_000);
const QUERIES = Number(process.env.BENCH_QUERIES ?? 200);
const BATCH = Number(process.env.BENCH_BATCH ?? 256);
const DIMS = 384;
const VOCAB = 30_000;
const TERMS_PER_DOC = 60;
const TERMS_PER_QUERY = 6;
const LIMIT = 10;

const random = seeded(1234);
/** Zipf-ish term ids: a few very common terms, a long tail of rare ones, like text. */
const term = () => Math.floor(VOCAB ** random()) - 1;
const uuid = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

function docSparse(): SparseVector {
  const tf = new Map<number, number>();
  for (let i = 0; i < TERMS_PER_DOC; i++) {
    const t = term();
    tf.set(t, (tf.get(t) ?? 0) + 1);
  }
  // BM25 TF saturation (k1 = 1.2, b = 0 here), what the document side carries with modifier idf.
  return { indices: [...tf.keys()], values: [...tf.values()].map((f) => (f * 2.2) / (f + 1.2)) };
}

function queryOf(): { dense: Float32Array; sparse: SparseVector } {
  const dense = new Float32Array(DIMS).map(() => random() - 0.5);
  const terms = new Set<number>();
  while (terms.size < TERMS_PER_QUERY) terms.add(term());
  return { dense, sparse: { indices: [...terms], values: [...terms].map(() => 1) } };
}

const points: PointInput[] = Array.from({ length: POINTS }, (_, i) => ({
  id: uuid(i + 1),
  dense: new Float32Array(DIMS).map(() => random() - 0.5),
  sparse: docSparse(),
  payload: {
    documentId: `doc-${Math.floor(i / 10)}`,
    chunkIndex: i % 10,
    source: ['wiki', 'blog', 's3'][i % 3],
    author: `author-${i % 50}`,
    tags: [`t${i % 7}`, `t${i % 11}`],
    text: `chunk ${i} `.repeat(40),
  },
}));
const queries = Array.from({ length: QUERIES }, queryOf);
const filter: Filter = { must: [{ key: 'source', match: { value: 'wiki' } }, { key: 'chunkIndex', range: { lte: 4 } }] };

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

interface Row {
  backend: string;
  what: string;
  p50?: number;
  p95?: number;
  rate?: number;
}

async function bench(label: string, store: VectorStore): Promise<Row[]> {
  const rows: Row[] = [];
  const collection = `bench_${Date.now().toString(36)}`;
  await store.ensureCollection({ name: collection, denseDimensions: DIMS, distance: 'Cosine' });
  try {
    const started = performance.now();
    for (let i = 0; i < points.length; i += BATCH) await store.upsert(collection, points.slice(i, i + BATCH), { batchSize: BATCH });
    const seconds = (performance.now() - started) / 1000;
    if ((await store.count(collection)) !== POINTS) throw new Error('point count mismatch after upsert');
    rows.push({ backend: label, what: `upsert ${POINTS} points, batches of ${BATCH}`, rate: POINTS / seconds });
    if (store instanceof LanceDbVectorStore) {
      const t = performance.now();
      await store.optimize(collection);
      rows.push({ backend: label, what: 'optimize (compact + index) after ingest', p50: performance.now() - t });
    }

    for (const withFilter of [false, true]) {
      for (const mode of ['dense', 'sparse', 'hybrid'] as SearchMode[]) {
        const run = (q: (typeof queries)[number]) => store.search(collection, { mode, dense: q.dense, sparse: q.sparse, limit: LIMIT, ...(withFilter ? { filter } : {}) });
        for (const q of queries.slice(0, 10)) await run(q); // warm-up
        const samples: number[] = [];
        for (const q of queries) {
          const t = performance.now();
          await run(q);
          samples.push(performance.now() - t);
        }
        rows.push({ backend: label, what: `search ${mode}${withFilter ? ' + filter' : ''} (limit ${LIMIT})`, p50: percentile(samples, 50), p95: percentile(samples, 95) });
      }
    }
  } finally {
    await store.dropCollection(collection).catch(() => undefined);
    await store.close();
  }
  return rows;
}

const results: Row[] = [];
const dir = mkdtempSync(join(tmpdir(), 'bench-vector-store-'));
try {
  results.push(...(await bench('lancedb', new LanceDbVectorStore({ dir }))));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const qdrantUrl = process.env.QDRANT_URL || ((await isQdrant(LOCAL_QDRANT_URL)) ? LOCAL_QDRANT_URL : undefined);
if (qdrantUrl) results.push(...(await bench('qdrant', new QdrantVectorStore({ url: qdrantUrl, apiKey: process.env.QDRANT_API_KEY }))));
else console.error('qdrant: skipped (set QDRANT_URL to include it)');

console.log(`\nvector store, ${POINTS} points × ${DIMS}-d + sparse (~${TERMS_PER_DOC} terms/doc), ${QUERIES} queries per row\n`);
console.log(['backend', 'what', 'points/s', 'p50 ms', 'p95 ms'].join(' | '));
for (const r of results) {
  console.log([r.backend, r.what, r.rate ? r.rate.toFixed(0) : '-', r.p50 !== undefined ? r.p50.toFixed(2) : '-', r.p95 !== undefined ? r.p95.toFixed(2) : '-'].join(' | '));
}
