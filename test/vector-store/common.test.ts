// The scoring pieces both adapters share (or, for Qdrant, must match): BM25 IDF and RRF.
import { describe, expect, it } from 'vitest';
import { bm25Idf, checkSparse, dedupeById, reciprocalRankFusion, resolveSearch } from '../../activities/vector-store/common.js';
import { uid } from './contract.js';

describe('vector store scoring helpers', () => {
  it("bm25Idf is Qdrant's ln((N - n + 0.5) / (n + 0.5) + 1): positive, falling with n", () => {
    expect(bm25Idf(10, 1)).toBeCloseTo(Math.log(9.5 / 1.5 + 1), 12);
    expect(bm25Idf(10, 10)).toBeGreaterThan(0);
    expect(bm25Idf(10, 2)).toBeGreaterThan(bm25Idf(10, 5));
  });

  it('reciprocalRankFusion sums 1/(k + rank) and breaks ties by best rank, then id', () => {
    const fused = reciprocalRankFusion(
      [
        [{ id: 'a' }, { id: 'b' }, { id: 'c' }],
        [{ id: 'd' }, { id: 'b' }],
      ],
      60,
      10,
    );
    expect(fused.map((f) => f.item.id)).toEqual(['b', 'a', 'd', 'c']);
    expect(fused[0].score).toBeCloseTo(2 / 62, 12);
    expect(fused[1].score).toBeCloseTo(1 / 61, 12);
    expect(reciprocalRankFusion([[{ id: 'x' }], []], 60, 1)).toHaveLength(1);
  });

  it('drops zero sparse weights and resolves defaults', () => {
    expect(checkSparse({ indices: [4, 5], values: [0, 1] }, 'q')).toEqual({ indices: [5], values: [1] });
    const search = resolveSearch({ mode: 'hybrid', dense: [1], sparse: { indices: [], values: [] }, limit: 80, filter: {} }, 1);
    expect(search).toMatchObject({ prefetchLimit: 80, rrfK: 60 });
    expect(search.filter).toBeUndefined();
    expect(resolveSearch({ mode: 'dense', dense: [1], limit: 3 }, 1).prefetchLimit).toBe(50);
  });

  it('dedupeById keeps the last point per id', () => {
    const p = (n: number, v: number) => ({ id: uid(n), dense: [1], sparse: { indices: [], values: [] }, payload: { v } });
    expect(dedupeById([p(1, 1), p(2, 2), p(1, 3)]).map((x) => x.payload.v)).toEqual([2, 3]);
  });
});
