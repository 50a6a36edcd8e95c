// One behavioural contract for every VectorStore adapter, on small synthetic vectors built
// here (no embedding model): what the RAG flows rely on, with the scores spelled out so the
// adapters cannot drift apart (cosine similarity, Qdrant's BM25 IDF, RRF with k = 60).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Filter, PointInput, ScoredPoint, SparseVector, VectorStore } from '../../activities/vector-store/types.js';
import { seeded } from '../../dev/seeded-random.js';

export interface ContractTarget {
  name: string;
  open(): Promise<VectorStore>;
  /**
   * Qdrant keeps deleted points in its IDF statistics (N and n_i) until its optimizer rebuilds
   * the segment (vacuum starts at 1,000 deleted vectors by default), so right after a delete
   * its sparse scores may still count them; the embedded store drops them at once.
   */
  idfMayCountDeletedPoints?: boolean;
}

const DIMS = 8;

/** A deterministic UUID for a small number. */
export const uid = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

/** A unit vector in the first two dimensions whose cosine with e0 is `cos`. */
function atCosine(cos: number, dims = DIMS): number[] {
  const v = new Array<number>(dims).fill(0);
  v[0] = cos;
  v[1] = Math.sqrt(1 - cos * cos);
  return v;
}

const e0 = (dims = DIMS) => atCosine(1, dims);
const sparse = (entries: Record<number, number>): SparseVector => ({
  indices: Object.keys(entries).map(Number),
  values: Object.values(entries),
});
const idf = (n: number, df: number) => Math.log((n - df + 0.5) / (df + 0.5) + 1);
const ids = (points: ScoredPoint[]) => points.map((p) => p.id);
const idSet = (points: { id: string }[]) => new Set(points.map((p) => p.id));

export function vectorStoreContract(target: ContractTarget): void {
  describe(`VectorStore contract: ${target.name}`, () => {
    let store: VectorStore;
    const created: string[] = [];
    const prefix = `contract_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6).toString(36)}`;

    /** A fresh collection for one test. */
    async function collection(label: string, dims = DIMS): Promise<string> {
      const name = `${prefix}_${label}`;
      created.push(name);
      await store.ensureCollection({ name, denseDimensions: dims, distance: 'Cosine' });
      return name;
    }

    beforeAll(async () => {
      store = await target.open();
    });

    afterAll(async () => {
      if (!store) return;
      for (const name of created) await store.dropCollection(name).catch(() => undefined);
      await store.close();
    });

    it('reports itself healthy', async () => {
      const health = await store.health();
      expect(health.ok).toBe(true);
      expect(health.backend).toBe(store.backend);
    });

    it('ensureCollection is idempotent and refuses a different dimension', async () => {
      const name = await collection('ensure');
      await store.ensureCollection({ name, denseDimensions: DIMS, distance: 'Cosine' });
      await store.ensureCollection({ name, denseDimensions: DIMS, distance: 'Cosine' });
      expect(await store.collectionExists(name)).toBe(true);
      expect(await store.count(name)).toBe(0);
      await expect(store.ensureCollection({ name, denseDimensions: DIMS * 2, distance: 'Cosine' })).rejects.toThrow(/dense|dimension/i);
      expect(await store.collectionExists(`${prefix}_never_created`)).toBe(false);
      await store.dropCollection(name);
      expect(await store.collectionExists(name)).toBe(false);
    });

    it('ensureCollection tolerates concurrent callers (several workers starting at once)', async () => {
      const name = `${prefix}_race`;
      created.push(name);
      await Promise.all([1, 2, 3].map(() => store.ensureCollection({ name, denseDimensions: DIMS, distance: 'Cosine' })));
      await store.upsert(name, [{ id: uid(1), dense: e0(), sparse: sparse({ 1: 1 }), payload: { documentId: 'd' } }]);
      expect(await store.count(name, { must: [{ key: 'documentId', match: { value: 'd' } }] })).toBe(1);
    });

    it('upserts, counts and retrieves, round-tripping payloads and vectors', async () => {
      const name = await collection('roundtrip');
      const payload = {
        source: 'wiki',
        documentId: 'doc-1',
        title: 'Ünïcödé ✓ "double" \'single\' \\ back',
        tags: ['rag', 'intro'],
        chunkIndex: 0,
        score: 1.25,
        flag: true,
        nothing: null,
        nested: { list: [1, 'two', { three: 3 }], empty: {} },
        text: 'x'.repeat(5000),
      };
      const points: PointInput[] = [
        { id: uid(1), dense: [3, 4, 0, 0, 0, 0, 0, 0], sparse: sparse({ 5: 0.5, 4000000000: 1.5 }), payload },
        { id: uid(2), dense: new Float32Array(atCosine(0.5)), sparse: sparse({ 1: 1 }), payload: { documentId: 'doc-2' } },
        { id: uid(3), dense: atCosine(0.1), sparse: sparse({}), payload: {} },
      ];
      expect(await store.upsert(name, points)).toEqual({ upserted: 3 });
      expect(await store.count(name)).toBe(3);

      const got = await store.retrieve(name, [uid(3), uid(99), uid(1).toUpperCase()]);
      expect(got.map((p) => p.id)).toEqual([uid(3), uid(1)]);
      expect(got[1].payload).toEqual(payload);
      expect(got[0].payload).toEqual({});
      expect(got[0].dense).toBeUndefined();

      const [withVectors] = await store.retrieve(name, [uid(1)], { withVectors: true });
      // Cosine collections store unit vectors (Qdrant normalises on upload).
      expect(withVectors.dense).toHaveLength(DIMS);
      expect(withVectors.dense![0]).toBeCloseTo(0.6, 5);
      expect(withVectors.dense![1]).toBeCloseTo(0.8, 5);
      const pairs = withVectors.sparse!.indices.map((index, i) => [index, withVectors.sparse!.values[i]]).sort((a, b) => a[0] - b[0]);
      expect(pairs).toEqual([
        [5, 0.5],
        [4000000000, 1.5],
      ]);
      expect(await store.retrieve(name, [])).toEqual([]);
    });

    it('upsert is idempotent by id: the last write wins, across calls and within a batch', async () => {
      const name = await collection('idempotent');
      const point = (version: number): PointInput => ({ id: uid(7), dense: e0(), sparse: sparse({ 1: 1 }), payload: { version } });
      await store.upsert(name, [point(1)]);
      await store.upsert(name, [point(2)]);
      expect(await store.count(name)).toBe(1);
      expect((await store.retrieve(name, [uid(7)]))[0].payload).toEqual({ version: 2 });
      expect(await store.upsert(name, [point(3), { ...point(4), id: uid(7).toUpperCase() }, point(5)])).toEqual({ upserted: 1 });
      expect(await store.count(name)).toBe(1);
      expect((await store.retrieve(name, [uid(7)]))[0].payload).toEqual({ version: 5 });
      // Replacing a point replaces its vectors too: the old sparse term no longer matches.
      await store.upsert(name, [{ id: uid(7), dense: atCosine(0), sparse: sparse({ 2: 1 }), payload: { version: 6 } }]);
      expect(await store.search(name, { mode: 'sparse', sparse: sparse({ 1: 1 }), limit: 5 })).toEqual([]);
      const [hit] = await store.search(name, { mode: 'dense', dense: e0(), limit: 5 });
      expect(hit.score).toBeCloseTo(0, 4);
    });

    it('upserts 384-d points in batches and finds each by its own vector', async () => {
      const name = await collection('batched', 384);
      const random = seeded(42);
      const points: PointInput[] = Array.from({ length: 700 }, (_, i) => ({
        id: uid(1000 + i),
        dense: Array.from({ length: 384 }, () => random() - 0.5),
        sparse: sparse({ [i]: 1, 100000: 0.5 }),
        payload: { chunkIndex: i, documentId: `doc-${i % 7}` },
      }));
      expect(await store.upsert(name, points, { batchSize: 128 })).toEqual({ upserted: 700 });
      expect(await store.count(name)).toBe(700);
      expect(await store.count(name, { must: [{ key: 'documentId', match: { value: 'doc-3' } }] })).toBe(100);
      for (const i of [0, 350, 699]) {
        const [first] = await store.search(name, { mode: 'dense', dense: points[i].dense, limit: 3 });
        expect(first.id).toBe(uid(1000 + i));
        expect(first.score).toBeCloseTo(1, 4);
        expect(first.payload).toEqual({ chunkIndex: i, documentId: `doc-${i % 7}` });
        const [sparseFirst] = await store.search(name, { mode: 'sparse', sparse: sparse({ [i]: 1 }), limit: 3 });
        expect(sparseFirst.id).toBe(uid(1000 + i));
      }
    });

    it("deleteByFilter removes exactly the matching points (an edited document's old chunks)", async () => {
      const name = await collection('delete');
      const points: PointInput[] = [];
      for (const doc of ['d1', 'd2', 'd3']) {
        for (let chunk = 0; chunk < 3; chunk++) {
          points.push({
            id: uid(points.length + 1),
            dense: atCosine(0.1 * (points.length + 1)),
            sparse: sparse({ 1: 1 }),
            payload: { documentId: doc, chunkIndex: chunk },
          });
        }
      }
      await store.upsert(name, points);
      await store.deleteByFilter(name, { must: [{ key: 'documentId', match: { value: 'd2' } }] });
      expect(await store.count(name)).toBe(6);
      expect(await store.count(name, { must: [{ key: 'documentId', match: { value: 'd2' } }] })).toBe(0);
      await store.deleteByFilter(name, {
        must: [
          { key: 'documentId', match: { value: 'd3' } },
          { key: 'chunkIndex', range: { gte: 1 } },
        ],
      });
      expect(await store.count(name)).toBe(4);
      const left = await store.search(name, { mode: 'dense', dense: e0(), limit: 10 });
      expect(new Set(left.map((p) => `${p.payload.documentId}/${p.payload.chunkIndex}`))).toEqual(new Set(['d1/0', 'd1/1', 'd1/2', 'd3/0']));
      // Deleting nothing is fine; an empty filter (which would delete everything) is refused.
      await store.deleteByFilter(name, { must: [{ key: 'documentId', match: { value: 'nope' } }] });
      await expect(store.deleteByFilter(name, {})).rejects.toThrow(/non-empty filter/);
      expect(await store.count(name)).toBe(4);
    });

    it("replaces an edited document's chunks: upsert the new ones, delete the same document's other hashes", async () => {
      const name = await collection('reingest');
      const chunk = (n: number, documentId: string, contentHash: string): PointInput => ({
        id: uid(n),
        dense: atCosine(n / 10),
        sparse: sparse({ [n]: 1 }),
        payload: { documentId, contentHash, chunkIndex: n % 3 },
      });
      await store.upsert(name, [chunk(1, 'a', 'h1'), chunk(2, 'a', 'h1'), chunk(3, 'a', 'h1'), chunk(4, 'b', 'h9')]);
      const sameDoc: Filter = { must: [{ key: 'documentId', match: { value: 'a' } }] };
      const unchanged = { must: [...sameDoc.must!, { key: 'contentHash', match: { value: 'h1' } }] };
      expect(await store.count(name, unchanged)).toBe(3);
      await store.upsert(name, [chunk(5, 'a', 'h2'), chunk(6, 'a', 'h2')]);
      await store.deleteByFilter(name, { ...sameDoc, mustNot: [{ key: 'contentHash', match: { value: 'h2' } }] });
      expect(await store.count(name, sameDoc)).toBe(2);
      expect(await store.count(name)).toBe(3);
      expect((await store.retrieve(name, [uid(1), uid(4), uid(5), uid(6)])).map((p) => p.id)).toEqual([uid(4), uid(5), uid(6)]);
    });

    it('dense search ranks by cosine similarity, nearest first', async () => {
      const name = await collection('dense');
      const cosines = [0.3, 0.9, -0.5, 0.99, 0.6];
      await store.upsert(
        name,
        cosines.map((cos, i) => ({ id: uid(i + 1), dense: atCosine(cos).map((x) => x * (i + 1)), sparse: sparse({}), payload: { i } })),
      );
      const hits = await store.search(name, { mode: 'dense', dense: e0().map((x) => x * 7), limit: 10 });
      expect(ids(hits)).toEqual([uid(4), uid(2), uid(5), uid(1), uid(3)]);
      expect(hits.map((h) => h.score)).toEqual([0.99, 0.9, 0.6, 0.3, -0.5].map((s) => expect.closeTo(s, 4)));
      expect(hits[0].payload).toEqual({ i: 3 });
    });

    it('sparse search weighs rare terms by IDF over the collection (BM25 as Qdrant applies it)', async () => {
      const name = await collection('sparse');
      const common = 3;
      const rare = 7;
      // Five points carry the common term strongly, one carries the rare term weakly. By raw dot
      // product the common ones would win (1.0 > 0.5); with IDF the rare term dominates.
      const points: PointInput[] = [
        { id: uid(1), dense: e0(), sparse: sparse({ [rare]: 0.5 }), payload: { documentId: 'rare' } },
        ...[2, 3, 4, 5, 6].map((n) => ({ id: uid(n), dense: e0(), sparse: sparse({ [common]: 1.0 }), payload: { documentId: `common-${n}` } })),
        { id: uid(8), dense: e0(), sparse: sparse({ 99: 2.0 }), payload: { documentId: 'unrelated' } },
      ];
      await store.upsert(name, points);
      const query = sparse({ [common]: 1, [rare]: 1 });
      let hits = await store.search(name, { mode: 'sparse', sparse: query, limit: 10 });
      expect(hits[0].id).toBe(uid(1));
      expect(hits).toHaveLength(6); // the unrelated point shares no term, so it is not a hit
      expect(hits[0].score).toBeCloseTo(0.5 * idf(7, 1), 4);
      for (const hit of hits.slice(1)) expect(hit.score).toBeCloseTo(idf(7, 5), 4);
      // Query weights scale the terms.
      hits = await store.search(name, { mode: 'sparse', sparse: sparse({ [common]: 10, [rare]: 1 }), limit: 1 });
      expect(hits[0].score).toBeCloseTo(10 * idf(7, 5), 3);
      // The statistics follow the collection: one more common point makes N = 8 and n(common) = 6.
      await store.upsert(name, [{ id: uid(9), dense: e0(), sparse: sparse({ [common]: 0.25 }), payload: { documentId: 'common-9' } }]);
      hits = await store.search(name, { mode: 'sparse', sparse: query, limit: 10 });
      expect(hits).toHaveLength(7);
      expect(hits[0].score).toBeCloseTo(0.5 * idf(8, 1), 4);
      expect(hits[hits.length - 1]).toMatchObject({ id: uid(9), score: expect.closeTo(0.25 * idf(8, 6), 4) });
      // Deleting a point takes it out of the results, and (in the embedded store at once, in
      // Qdrant once the segment is optimised) out of the statistics: N = 7, n(common) = 6.
      await store.deleteByFilter(name, { must: [{ key: 'documentId', match: { value: 'rare' } }] });
      hits = await store.search(name, { mode: 'sparse', sparse: query, limit: 10 });
      expect(hits).toHaveLength(6);
      expect(hits.map((h) => h.payload.documentId)).not.toContain('rare');
      const allowed = target.idfMayCountDeletedPoints ? [idf(7, 6), idf(8, 6)] : [idf(7, 6)];
      expect(
        allowed.some((s) => Math.abs(s - hits[0].score) < 1e-4),
        `score ${hits[0].score} in ${allowed}`,
      ).toBe(true);
    });

    it('hybrid search fuses dense and sparse rankings with RRF where they disagree', async () => {
      const name = await collection('hybrid');
      // dense (cosine to e0): A 1.0, B 0.95, C 0.8, E 0.5, D 0.1 → A B C E D
      // sparse (term 1):      D 2.0, B 1.5, E 0.5              → D B E
      // RRF, k = 60: B 2/62 > D 1/65+1/61 > E 1/64+1/63 > A 1/61 > C 1/63
      const A = uid(0xa),
        B = uid(0xb),
        C = uid(0xc),
        D = uid(0xd),
        E = uid(0xe);
      await store.upsert(name, [
        { id: A, dense: atCosine(1.0), sparse: sparse({ 2: 1.0 }), payload: { name: 'A' } },
        { id: B, dense: atCosine(0.95), sparse: sparse({ 1: 1.5 }), payload: { name: 'B' } },
        { id: C, dense: atCosine(0.8), sparse: sparse({}), payload: { name: 'C' } },
        { id: D, dense: atCosine(0.1), sparse: sparse({ 1: 2.0 }), payload: { name: 'D' } },
        { id: E, dense: atCosine(0.5), sparse: sparse({ 1: 0.5 }), payload: { name: 'E' } },
      ]);
      const request = { dense: e0(), sparse: sparse({ 1: 1 }), limit: 10 };
      expect(ids(await store.search(name, { ...request, mode: 'dense' }))).toEqual([A, B, C, E, D]);
      expect(ids(await store.search(name, { ...request, mode: 'sparse' }))).toEqual([D, B, E]);

      const hybrid = await store.search(name, { ...request, mode: 'hybrid' });
      expect(ids(hybrid)).toEqual([B, D, E, A, C]);
      const rrf = (...ranks: number[]) => ranks.reduce((sum, r) => sum + 1 / (60 + r), 0);
      expect(hybrid.map((h) => h.score)).toEqual([rrf(2, 2), rrf(5, 1), rrf(4, 3), rrf(1), rrf(3)].map((s) => expect.closeTo(s, 5)));
      expect(hybrid[0].payload).toEqual({ name: 'B' });

      // The constant is a parameter; the order here does not depend on it, the scores do.
      const k10 = await store.search(name, { ...request, mode: 'hybrid', rrfK: 10 });
      expect(ids(k10)).toEqual([B, D, E, A, C]);
      expect(k10[0].score).toBeCloseTo(2 / 12, 5);

      // Only what the prefetches return is fused: one candidate each → A and D tie, B is out.
      const shallow = await store.search(name, { ...request, mode: 'hybrid', prefetchLimit: 1 });
      expect(new Set(ids(shallow))).toEqual(new Set([A, D]));
      expect(shallow.map((h) => h.score)).toEqual([rrf(1), rrf(1)].map((s) => expect.closeTo(s, 5)));

      expect(ids(await store.search(name, { ...request, mode: 'hybrid', limit: 2 }))).toEqual([B, D]);

      // A query with no sparse terms (all stop words, say) fuses the dense ranking alone.
      const denseOnly = await store.search(name, { ...request, sparse: sparse({}), mode: 'hybrid' });
      expect(ids(denseOnly)).toEqual([A, B, C, E, D]);
      expect(denseOnly[0].score).toBeCloseTo(rrf(1), 5);
    });

    describe('filters', () => {
      let name: string;
      const P = (n: number) => uid(0x100 + n);
      const everything = { dense: e0(), sparse: sparse({ 1: 1 }), limit: 20 };

      beforeAll(async () => {
        name = await collection('filters');
        const random = seeded(7);
        const payloads: Record<string, unknown>[] = [
          { source: 'wiki', documentId: 'd1', author: 'alice', tags: ['rag', 'intro'], chunkIndex: 0 },
          { source: 'wiki', documentId: 'd1', author: 'alice', tags: ['rag'], chunkIndex: 1 },
          { source: 'blog', documentId: 'd2', author: 'bob', tags: [], chunkIndex: 0 },
          { source: 'blog', documentId: 'd3', author: 'carol', tags: ['ops', 'intro'], chunkIndex: 2 },
          { source: 's3', documentId: 'd4', tags: 'single', chunkIndex: 5 },
          { source: 's3', documentId: 'd5', author: 'bob' },
        ];
        await store.upsert(
          name,
          payloads.map((payload, i) => ({
            id: P(i + 1),
            dense: Array.from({ length: DIMS }, () => random() + 0.1),
            sparse: sparse({ 1: 0.5 + i / 10, [50 + i]: 1 }),
            payload,
          })),
        );
      });

      const cases: [string, Filter, number[]][] = [
        ['match keyword value', { must: [{ key: 'source', match: { value: 'wiki' } }] }, [1, 2]],
        ['match value in an array field', { must: [{ key: 'tags', match: { value: 'intro' } }] }, [1, 4]],
        ['match value on a scalar in an array-indexed field', { must: [{ key: 'tags', match: { value: 'single' } }] }, [5]],
        ['match any keyword', { must: [{ key: 'author', match: { any: ['alice', 'carol'] } }] }, [1, 2, 4]],
        ['match any in an array field', { must: [{ key: 'tags', match: { any: ['ops', 'rag'] } }] }, [1, 2, 4]],
        ['match integer value', { must: [{ key: 'chunkIndex', match: { value: 0 } }] }, [1, 3]],
        ['match any integer', { must: [{ key: 'chunkIndex', match: { any: [0, 5] } }] }, [1, 3, 5]],
        ['range gte/lte', { must: [{ key: 'chunkIndex', range: { gte: 1, lte: 2 } }] }, [2, 4]],
        ['range gt/lt', { must: [{ key: 'chunkIndex', range: { gt: 0, lt: 5 } }] }, [2, 4]],
        ['range with a fractional bound on an integer field', { must: [{ key: 'chunkIndex', range: { gte: 0.5 } }] }, [2, 4, 5]],
        [
          'should (any of)',
          {
            should: [
              { key: 'author', match: { value: 'bob' } },
              { key: 'tags', match: { value: 'ops' } },
            ],
          },
          [3, 4, 6],
        ],
        ['mustNot keeps points without the field', { mustNot: [{ key: 'author', match: { value: 'alice' } }] }, [3, 4, 5, 6]],
        ['mustNot range keeps points without the field', { mustNot: [{ key: 'chunkIndex', range: { gte: 1 } }] }, [1, 3, 6]],
        ['must and mustNot', { must: [{ key: 'source', match: { value: 'blog' } }], mustNot: [{ key: 'tags', match: { value: 'ops' } }] }, [3]],
        [
          'must and should',
          {
            must: [{ key: 'source', match: { value: 'blog' } }],
            should: [
              { key: 'author', match: { value: 'carol' } },
              { key: 'author', match: { value: 'zed' } },
            ],
          },
          [4],
        ],
        [
          'nested filter',
          {
            must: [
              {
                should: [
                  { key: 'source', match: { value: 'wiki' } },
                  { key: 'source', match: { value: 's3' } },
                ],
              },
            ],
            mustNot: [{ key: 'chunkIndex', match: { value: 5 } }],
          },
          [1, 2, 6],
        ],
        [
          'several must on one document',
          {
            must: [
              { key: 'documentId', match: { value: 'd1' } },
              { key: 'chunkIndex', match: { value: 1 } },
            ],
          },
          [2],
        ],
        ['no match', { must: [{ key: 'source', match: { value: 'nowhere' } }] }, []],
        ['empty filter matches all', {}, [1, 2, 3, 4, 5, 6]],
      ];

      for (const [label, filter, expected] of cases) {
        it(`${label}: count and every search mode agree`, async () => {
          const want = new Set(expected.map(P));
          expect(await store.count(name, filter)).toBe(expected.length);
          for (const mode of ['dense', 'sparse', 'hybrid'] as const) {
            const hits = await store.search(name, { ...everything, mode, filter });
            expect(idSet(hits), `${mode} search`).toEqual(want);
          }
        });
      }

      it('sparse scores under a filter still use collection-wide IDF', async () => {
        const filter: Filter = { must: [{ key: 'source', match: { value: 'wiki' } }] };
        const query = { ...everything, mode: 'sparse' as const, sparse: sparse({ 1: 1, 50: 1 }) };
        const all = await store.search(name, query);
        const filtered = await store.search(name, { ...query, filter });
        expect(ids(filtered)).toEqual([P(1), P(2)]);
        for (const hit of filtered) expect(hit.score).toBeCloseTo(all.find((h) => h.id === hit.id)!.score, 5);
        // P1 holds term 50 (in one point of six) as well as term 1 (in all six).
        expect(filtered[0].score).toBeCloseTo(0.5 * idf(6, 6) + 1 * idf(6, 1), 4);
      });

      it('filters apply before the limit (the top hits among matching points)', async () => {
        const filter: Filter = { must: [{ key: 'source', match: { value: 's3' } }] };
        for (const mode of ['dense', 'sparse', 'hybrid'] as const) {
          const hits = await store.search(name, { ...everything, mode, filter, limit: 1 });
          expect(hits).toHaveLength(1);
          expect([P(5), P(6)]).toContain(hits[0].id);
        }
        // Sparse: P6 has the larger weight on term 1.
        expect(ids(await store.search(name, { ...everything, mode: 'sparse', filter, limit: 1 }))).toEqual([P(6)]);
      });
    });

    it('limit caps every mode', async () => {
      const name = await collection('limit');
      await store.upsert(
        name,
        Array.from({ length: 12 }, (_, i) => ({ id: uid(i + 1), dense: atCosine(i / 12), sparse: sparse({ 1: i + 1 }), payload: { i } })),
      );
      const request = { dense: e0(), sparse: sparse({ 1: 1 }) };
      for (const mode of ['dense', 'sparse', 'hybrid'] as const) {
        expect(await store.search(name, { ...request, mode, limit: 3 })).toHaveLength(3);
        expect(await store.search(name, { ...request, mode, limit: 100 })).toHaveLength(12);
      }
      expect((await store.search(name, { ...request, mode: 'dense', limit: 1 }))[0].id).toBe(uid(12));
      expect((await store.search(name, { ...request, mode: 'sparse', limit: 1 }))[0].id).toBe(uid(12));
    });

    it('searches an empty collection without error', async () => {
      const name = await collection('empty');
      for (const mode of ['dense', 'sparse', 'hybrid'] as const) {
        expect(await store.search(name, { mode, dense: e0(), sparse: sparse({ 1: 1 }), limit: 5 })).toEqual([]);
      }
      expect(await store.search(name, { mode: 'sparse', sparse: sparse({}), limit: 5 })).toEqual([]);
    });

    it('refuses malformed input the same way', async () => {
      const name = await collection('invalid');
      const good: PointInput = { id: uid(1), dense: e0(), sparse: sparse({ 1: 1 }), payload: {} };
      await expect(store.upsert(name, [{ ...good, dense: [1, 2, 3] }])).rejects.toThrow(/dimensions/);
      await expect(store.upsert(name, [{ ...good, id: 'not-a-uuid' }])).rejects.toThrow(/UUID/);
      await expect(store.upsert(name, [{ ...good, sparse: { indices: [1, 1], values: [1, 2] } }])).rejects.toThrow(/twice/);
      await expect(store.upsert(name, [{ ...good, sparse: { indices: [1], values: [] } }])).rejects.toThrow(/length/);
      await expect(store.upsert(name, [{ ...good, dense: [NaN, 0, 0, 0, 0, 0, 0, 0] }])).rejects.toThrow(/finite/);
      await expect(store.search(name, { mode: 'hybrid', dense: e0(), limit: 5 })).rejects.toThrow(/sparse/);
      await expect(store.search(name, { mode: 'dense', limit: 5 })).rejects.toThrow(/dense/);
      await expect(store.search(name, { mode: 'dense', dense: e0(), limit: 0 })).rejects.toThrow(/limit/);
      await expect(store.search(name, { mode: 'dense', dense: e0(), limit: 5, filter: { must: [{ key: 'tags', match: { any: [] } }] } })).rejects.toThrow(
        /any/,
      );
      await expect(store.count(name, { must: [{ key: 'a.b', match: { value: 'x' } }] })).rejects.toThrow(/key/);
      expect(await store.count(name)).toBe(0);
      await expect(store.search(`${prefix}_missing`, { mode: 'dense', dense: e0(), limit: 5 })).rejects.toThrow();
    });
  });
}
