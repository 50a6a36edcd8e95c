// The contract suite against a real Qdrant server, and the adapter's request translation.
//
// Which server: the one test/support/qdrant-global-setup.ts provides for the run: QDRANT_URL
// if set; else a Qdrant server binary (QDRANT_BIN, else ../shared/bin/qdrant) started on free
// loopback ports with throw-away storage; else one answering on localhost:6333. No package
// registry reachable from these machines ships the Qdrant server, so without any of those the
// server suite is skipped (the translation tests still run). To run it with Docker:
//   docker compose --profile rag up -d qdrant
//   QDRANT_URL=http://127.0.0.1:6333 npx vitest run test/vector-store/qdrant.test.ts
import { createServer as createHttpServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { resolveSearch } from '../../activities/vector-store/common.js';
import { buildQueryRequest, collectionConfig, toQdrantFilter, toQdrantPoint, QdrantVectorStore } from '../../activities/vector-store/qdrant.js';
import { openVectorStore } from '../../activities/vector-store/select.js';
import { DEFAULT_PAYLOAD_INDEXES } from '../../activities/vector-store/types.js';
import { qdrantUnderTest } from '../support/qdrant.js';
import { uid, vectorStoreContract } from './contract.js';

const server = qdrantUnderTest('qdrant contract suite', 'the server suite is SKIPPED');

describe.skipIf(!server)('Qdrant server', () => {
  vectorStoreContract({
    name: 'qdrant',
    open: async () => new QdrantVectorStore({ url: server!.url, apiKey: process.env.QDRANT_API_KEY }),
    idfMayCountDeletedPoints: true,
  });

  it('gets search results with payloads uncompressed (a gzip-chunked answer stalls on delayed ACKs)', async () => {
    const store = new QdrantVectorStore({ url: server!.url, apiKey: process.env.QDRANT_API_KEY });
    const collection = `plain_${Date.now()}`;
    const encodings: (string | null)[] = [];
    const realFetch = globalThis.fetch;
    // The Qdrant client calls the global fetch; watch what the server answered with.
    globalThis.fetch = async (...args: Parameters<typeof fetch>) => {
      const res = await realFetch(...args);
      if (String(args[0] instanceof Request ? args[0].url : args[0]).endsWith('/points/query')) encodings.push(res.headers.get('content-encoding'));
      return res;
    };
    try {
      await store.ensureCollection({ name: collection, denseDimensions: 2, distance: 'Cosine' });
      await store.upsert(
        collection,
        Array.from({ length: 20 }, (_, i) => ({ id: uid(i + 1), dense: [1, i], sparse: { indices: [1], values: [1] }, payload: { text: 'x'.repeat(1000) } })),
      );
      const hits = await store.search(collection, { mode: 'dense', dense: [1, 0], limit: 10 });
      expect(hits).toHaveLength(10);
      expect(encodings).toEqual([null]);
    } finally {
      globalThis.fetch = realFetch;
      await store.dropCollection(collection);
      await store.close();
    }
  });

  it('openVectorStore picks Qdrant when QDRANT_URL is set', async () => {
    const store = await openVectorStore({ env: { QDRANT_URL: server!.url }, logger: { info() {}, warn() {} } });
    expect(store.backend).toBe('qdrant');
    expect((await store.health()).detail).toMatch(/^qdrant \d+\.\d+/);
    await store.close();
  });
});

describe('Qdrant request translation', () => {
  it('creates a cosine dense vector and an IDF-modified sparse vector', () => {
    expect(collectionConfig({ name: 'c', denseDimensions: 384, distance: 'Cosine', payloadIndexes: { ...DEFAULT_PAYLOAD_INDEXES } })).toEqual({
      vectors: { dense: { size: 384, distance: 'Cosine' } },
      sparse_vectors: { sparse: { modifier: 'idf' } },
    });
  });

  it('maps the filter language to Qdrant filters', () => {
    expect(
      toQdrantFilter({
        must: [
          { key: 'source', match: { value: 'wiki' } },
          { should: [{ key: 'tags', match: { any: ['a', 'b'] } }], mustNot: [{ key: 'chunkIndex', range: { gte: 1, lte: 3 } }] },
        ],
        should: [],
        mustNot: [{ key: 'author', match: { value: 'bob' } }],
      }),
    ).toEqual({
      must: [
        { key: 'source', match: { value: 'wiki' } },
        { should: [{ key: 'tags', match: { any: ['a', 'b'] } }], must_not: [{ key: 'chunkIndex', range: { gte: 1, lte: 3 } }] },
      ],
      must_not: [{ key: 'author', match: { value: 'bob' } }],
    });
  });

  it('builds hybrid queries as two filtered prefetches fused with RRF, k shifted to Qdrant positions', () => {
    const filter = { must: [{ key: 'documentId', match: { value: 'd1' } }] };
    const search = resolveSearch({ mode: 'hybrid', dense: [1, 0], sparse: { indices: [3, 9], values: [1, 0] }, limit: 5, filter }, 2);
    const qfilter = { must: [{ key: 'documentId', match: { value: 'd1' } }] };
    expect(buildQueryRequest(search)).toEqual({
      limit: 5,
      with_payload: true,
      with_vector: false,
      filter: qfilter,
      prefetch: [
        { query: [1, 0], using: 'dense', limit: 50, filter: qfilter },
        { query: { indices: [3], values: [1] }, using: 'sparse', limit: 50, filter: qfilter },
      ],
      query: { rrf: { k: 61 } },
    });
    expect(buildQueryRequest(search, 'default').query).toEqual({ fusion: 'rrf' });
    const dense = resolveSearch({ mode: 'dense', dense: [0, 1], limit: 3 }, 2);
    expect(buildQueryRequest(dense)).toEqual({ limit: 3, with_payload: true, with_vector: false, query: [0, 1], using: 'dense' });
  });

  it('sends points with lower-case ids, named vectors and no zero sparse weights', () => {
    expect(
      toQdrantPoint({ id: uid(10).toUpperCase(), dense: new Float32Array([0.5, 0.5]), sparse: { indices: [1, 2], values: [0, 2] }, payload: { a: 1 } }),
    ).toEqual({
      id: uid(10),
      vector: { dense: [0.5, 0.5], sparse: { indices: [2], values: [2] } },
      payload: { a: 1 },
    });
  });
});

describe('Qdrant adapter against a server older than 1.16 (scripted HTTP responses)', () => {
  it('falls back from rrf {k} to fusion rrf once, warning, and keeps using it', async () => {
    const bodies: Record<string, unknown>[] = [];
    const http = createHttpServer((req, res) => {
      let raw = '';
      req.on('data', (c) => (raw += c));
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        if (req.method === 'GET' && req.url === '/collections/old') {
          res.end(JSON.stringify({ status: 'ok', time: 0, result: { config: { params: { vectors: { dense: { size: 2, distance: 'Cosine' } } } } } }));
          return;
        }
        const body = JSON.parse(raw) as { query?: { rrf?: unknown } };
        bodies.push(body);
        if (body.query?.rrf) {
          res.statusCode = 400;
          res.end(JSON.stringify({ status: { error: 'Format error in JSON body: unknown variant `rrf`' }, time: 0 }));
          return;
        }
        res.end(JSON.stringify({ status: 'ok', time: 0, result: { points: [{ id: uid(1), version: 0, score: 0.5, payload: { a: 1 } }] } }));
      });
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const warnings: string[] = [];
    const store = new QdrantVectorStore({
      url: `http://127.0.0.1:${(http.address() as { port: number }).port}`,
      logger: { info() {}, warn: (_o, m) => warnings.push(m ?? '') },
    });
    try {
      const request = { mode: 'hybrid' as const, dense: [1, 0], sparse: { indices: [1], values: [1] }, limit: 3 };
      expect(await store.search('old', request)).toEqual([{ id: uid(1), score: 0.5, payload: { a: 1 } }]);
      expect(await store.search('old', request)).toHaveLength(1);
      expect(bodies.map((b) => b.query)).toEqual([{ rrf: { k: 61 } }, { fusion: 'rrf' }, { fusion: 'rrf' }]);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/1\.16/);
    } finally {
      await store.close();
      await new Promise((r) => http.close(r));
    }
  });
});
