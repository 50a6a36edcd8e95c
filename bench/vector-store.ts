// Vector store figures, LanceDB and Qdrant side by side on the same points and queries:
// upsert throughput (points/s, 384-d dense + BM25-like sparse) and search latency p50/p95 per
// mode (dense, sparse, hybrid; unfiltered and filtered) on BENCH_POINTS points (default
// 10,000), plus how many of each query's top hits the two agree on. Runs the embedded LanceDB
// store always, and Qdrant when dev/qdrant-server.ts finds or starts one (QDRANT_URL, a server
// binary, or localhost:6333). Synthetic data, seeded; bounded iterations; prints and writes a
// table (bench/report.ts), asserts nothing.
//   npx tsx bench/vector-store.ts      (BENCH_POINTS=10000 BENCH_QUERIES=200 BENCH_BATCH=256)
import { QdrantClient } from '@qdrant/js-client-rest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LanceDbVectorStore } from '../activities/vector-store/lancedb.js';
import { QdrantVectorStore } from '../activities/vector-store/qdrant.js';
import type { Filter, PointInput, SearchMode, SparseVector, VectorStore } from '../activities/vector-store/types.js';
import { findOrStartQdrant, QDRANT_HOW_TO } from '../dev/qdrant-server.js';
import { seeded } from '../dev/seeded-random.js';
import { integer, variableGroup, vectorStoreConfig } from '../common/config.js';
import { publishBench } from './report.js';

const settings = variableGroup('bench/vector-store.ts', {
  BENCH_POINTS: integer('Points stored', { min: 1, default: '10000' }),
  BENCH_QUERIES: integer('Queries per search mode', { min: 1, default: '200' }),
  BENCH_BATCH: integer('Points per upsert', { min: 1, default: '256' }),
}).read();
const { BENCH_POINTS: POINTS, BENCH_QUERIES: QUERIES, BENCH_BATCH: BATCH } = settings;
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
const filter: Filter = {
  must: [
    { key: 'source', match: { value: 'wiki' } },
    { key: 'chunkIndex', range: { lte: 4 } },
  ],
};

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

type Hits = { id: string; score: number }[];

/** One backend's figures, by row label: a rate, or latencies with each query's hits. */
interface Figures {
  rates: Map<string, number>;
  latencies: Map<string, { p50: number; p95: number; hits: Hits[] }>;
}

/** Qdrant builds its indexes in the background after the upserts; wait for it (status green). */
async function qdrantIndexed(url: string, collection: string): Promise<void> {
  const client = new QdrantClient({ url, apiKey: vectorStoreConfig.read().QDRANT_API_KEY, checkCompatibility: false });
  while ((await client.getCollection(collection)).status !== 'green') await new Promise((r) => setTimeout(r, 100));
}

async function bench(store: VectorStore, qdrantUrl?: string): Promise<Figures> {
  const figures: Figures = { rates: new Map(), latencies: new Map() };
  const collection = `bench_${Date.now().toString(36)}`;
  await store.ensureCollection({ name: collection, denseDimensions: DIMS, distance: 'Cosine' });
  try {
    const started = performance.now();
    for (let i = 0; i < points.length; i += BATCH) await store.upsert(collection, points.slice(i, i + BATCH), { batchSize: BATCH });
    const seconds = (performance.now() - started) / 1000;
    if ((await store.count(collection)) !== POINTS) throw new Error('point count mismatch after upsert');
    figures.rates.set(`upsert ${POINTS} points, batches of ${BATCH} (points/s)`, POINTS / seconds);
    if (store instanceof LanceDbVectorStore) {
      const t = performance.now();
      await store.optimize(collection);
      figures.latencies.set('index after ingest, once (LanceDB optimize; Qdrant until green)', { p50: performance.now() - t, p95: NaN, hits: [] });
    }
    if (qdrantUrl) {
      const t = performance.now();
      await qdrantIndexed(qdrantUrl, collection);
      figures.latencies.set('index after ingest, once (LanceDB optimize; Qdrant until green)', { p50: performance.now() - t, p95: NaN, hits: [] });
    }

    for (const withFilter of [false, true]) {
      for (const mode of ['dense', 'sparse', 'hybrid'] as SearchMode[]) {
        const run = (q: (typeof queries)[number]) =>
          store.search(collection, { mode, dense: q.dense, sparse: q.sparse, limit: LIMIT, ...(withFilter ? { filter } : {}) });
        for (const q of queries.slice(0, 10)) await run(q); // warm-up
        const samples: number[] = [];
        const hits: Hits[] = [];
        for (const q of queries) {
          const t = performance.now();
          const found = await run(q);
          samples.push(performance.now() - t);
          hits.push(found.map(({ id, score }) => ({ id, score })));
        }
        figures.latencies.set(`search ${mode}${withFilter ? ' + filter' : ''} (limit ${LIMIT})`, {
          p50: percentile(samples, 50),
          p95: percentile(samples, 95),
          hits,
        });
      }
    }
  } finally {
    await store.dropCollection(collection).catch(() => undefined);
    await store.close();
  }
  return figures;
}

/** Mean share of each query's top hits that both backends return (order ignored). */
function sameIds(a: Hits[], b: Hits[]): number {
  const shares = a.map((hits, i) => {
    const other = new Set(b[i].map((h) => h.id));
    return hits.length ? hits.filter((h) => other.has(h.id)).length / Math.max(hits.length, b[i].length) : 1;
  });
  return shares.reduce((x, y) => x + y, 0) / shares.length;
}

/**
 * Share of queries whose ranked score lists agree (to 1e-4 relative): where ids differ but
 * scores agree, the two broke ties between equal scores differently.
 */
function sameScores(a: Hits[], b: Hits[]): number {
  const close = (x: number, y: number) => Math.abs(x - y) <= 1e-4 * Math.max(1, Math.abs(x));
  return a.filter((hits, i) => hits.length === b[i].length && hits.every((h, j) => close(h.score, b[i][j].score))).length / a.length;
}

const dir = mkdtempSync(join(tmpdir(), 'bench-vector-store-'));
let lance: Figures;
try {
  lance = await bench(new LanceDbVectorStore({ dir }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const server = await findOrStartQdrant();
let qdrant: Figures | undefined;
try {
  if (server) qdrant = await bench(new QdrantVectorStore({ url: server.url, apiKey: vectorStoreConfig.read().QDRANT_API_KEY }), server.url);
  else console.error(`qdrant: skipped (no Qdrant server; ${QDRANT_HOW_TO})`);
} finally {
  await server?.stop();
}

const ms = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(2));
const percent = (share: number) => `${(100 * share).toFixed(1)}%`;
const rows = [...lance.latencies].map(([what, l]) => {
  const q = qdrant?.latencies.get(what);
  const compared = q && l.hits.length > 0;
  return [
    what,
    ms(l.p50),
    ms(l.p95),
    ms(q?.p50),
    ms(q?.p95),
    compared ? percent(sameIds(l.hits, q.hits)) : '-',
    compared ? percent(sameScores(l.hits, q.hits)) : '-',
  ];
});
for (const [what, rate] of lance.rates) rows.push([what, rate.toFixed(0), '', qdrant?.rates.get(what)?.toFixed(0) ?? '-', '', '', '']);
publishBench('vector-store', {
  title: 'Vector stores: LanceDB (embedded) and Qdrant',
  method: `bench/vector-store.ts: ${POINTS} points × ${DIMS}-d dense + sparse (~${TERMS_PER_DOC} terms/doc), seeded synthetic data, ${QUERIES} queries per row, upserts of ${BATCH}; qdrant: ${server ? server.how : `skipped (${QDRANT_HOW_TO})`}. The upsert row gives points/s in the p50 columns.`,
  columns: ['what', 'lancedb p50 ms', 'lancedb p95 ms', 'qdrant p50 ms', 'qdrant p95 ms', `same top-${LIMIT} ids`, `same top-${LIMIT} scores`],
  rows,
});
