// BM25-style sparse vectors: terms, stable ids, document/query weights, and that the split
// "TF saturation in the document vector, presence in the query vector, IDF applied by the
// store" scores exactly like textbook BM25.
import { bm25Idf } from '../../activities/vector-store/common.js';
import { describe, expect, it } from 'vitest';
import {
  bm25Score,
  SparseEncoder,
  sparseDocumentVector,
  sparseQueryVector,
  sparseTerms,
  stemLight,
  termId,
  type SparseVector,
} from '../../activities/embeddings/sparse.js';

describe('sparseTerms', () => {
  it('lowercases, strips accents, drops stopwords and punctuation, keeps numbers', () => {
    expect(sparseTerms('The Café in Zürich: ml.g5.xlarge, 2024!')).toEqual(['cafe', 'zurich', 'ml', 'g5', 'xlarge', '2024']);
  });
  it('joins apostrophes inside words and drops contractions that are stopwords', () => {
    expect(sparseTerms("Don't scale the endpoint's instances; it's fine")).toEqual(['scale', 'endpoint', 'instance', 'fine']);
  });
  it('stems lightly (Porter step 1) unless told not to, and can keep stopwords', () => {
    expect(sparseTerms('scaling endpoints queries deployed')).toEqual(['scale', 'endpoint', 'queri', 'deploi']);
    expect(sparseTerms('scaling endpoints', { stem: false })).toEqual(['scaling', 'endpoints']);
    expect(sparseTerms('the endpoint', { stopwords: false })).toEqual(['the', 'endpoint']);
  });
  it('splits CJK into one term per character', () => {
    expect(sparseTerms('中文分词 test')).toEqual(['中', '文', '分', '词', 'test']);
  });
  it('gives nothing for empty, blank or stopword-only text', () => {
    expect(sparseTerms('')).toEqual([]);
    expect(sparseTerms('  \n\t ')).toEqual([]);
    expect(sparseTerms('the of and to')).toEqual([]);
  });
});

describe('stemLight', () => {
  it("follows Porter's step 1 examples", () => {
    const cases: Record<string, string> = {
      caresses: 'caress',
      ponies: 'poni',
      cats: 'cat',
      feed: 'feed',
      agreed: 'agree',
      plastered: 'plaster',
      bled: 'bled',
      motoring: 'motor',
      sing: 'sing',
      conflated: 'conflate',
      troubled: 'trouble',
      sized: 'size',
      hopping: 'hop',
      falling: 'fall',
      hissing: 'hiss',
      filing: 'file',
      happy: 'happi',
      sky: 'sky',
    };
    for (const [word, stem] of Object.entries(cases)) expect(stemLight(word), word).toBe(stem);
  });
});

describe('termId', () => {
  it('is FNV-1a 32-bit mod 2^31 of the UTF-8 bytes', () => {
    expect(termId('')).toBe(0x811c9dc5 % 2 ** 31);
    expect(termId('a')).toBe(0xe40c292c % 2 ** 31);
    expect(termId('foobar')).toBe(0xbf9cf968 % 2 ** 31);
    expect(termId('é')).toBe(termId('é')); // deterministic, multi-byte
    for (const t of ['endpoint', 'sagemaker', '中', 'zurich']) {
      expect(termId(t)).toBeGreaterThanOrEqual(0);
      expect(termId(t)).toBeLessThan(2 ** 31);
    }
  });
});

function asMap(v: SparseVector): Map<number, number> {
  return new Map(v.indices.map((i, k) => [i, v.values[k]]));
}

describe('sparseDocumentVector', () => {
  it('has ascending unique indices and BM25 term-frequency weights', () => {
    const v = sparseDocumentVector('endpoint endpoint endpoint scaling', { avgDocLength: 4 });
    expect([...v.indices]).toEqual([...v.indices].sort((a, b) => a - b));
    expect(new Set(v.indices).size).toBe(v.indices.length);
    const w = asMap(v);
    // dl = avgdl = 4 -> norm = k1: tf * 2.2 / (tf + 1.2)
    expect(w.get(termId('endpoint'))).toBeCloseTo((3 * 2.2) / (3 + 1.2), 12);
    expect(w.get(termId('scale'))).toBeCloseTo((1 * 2.2) / (1 + 1.2), 12);
  });
  it('saturates with term frequency below k1 + 1', () => {
    const weight = (tf: number) => asMap(sparseDocumentVector(Array(tf).fill('word').join(' '), { avgDocLength: tf })).get(termId('word'))!;
    const ws = [1, 2, 4, 8, 64].map(weight);
    for (let i = 1; i < ws.length; i++) expect(ws[i]).toBeGreaterThan(ws[i - 1]);
    expect(ws.at(-1)!).toBeLessThan(2.2);
  });
  it('normalises by length with b, not at all with b = 0', () => {
    const short = 'endpoint alpha';
    const long = 'endpoint alpha beta gamma delta epsilon zeta theta';
    const e = termId('endpoint');
    expect(asMap(sparseDocumentVector(long)).get(e)!).toBeLessThan(asMap(sparseDocumentVector(short)).get(e)!);
    expect(asMap(sparseDocumentVector(long, { b: 0 })).get(e)).toBeCloseTo(asMap(sparseDocumentVector(short, { b: 0 })).get(e)!, 12);
  });
  it('is empty for text without terms', () => {
    expect(sparseDocumentVector('')).toEqual({ indices: [], values: [] });
    expect(sparseQueryVector('the and of')).toEqual({ indices: [], values: [] });
  });
  it('rejects bad parameters', () => {
    expect(() => sparseDocumentVector('x', { k1: -1 })).toThrow(/k1/);
    expect(() => sparseDocumentVector('x', { b: 1.5 })).toThrow(/b must/);
    expect(() => new SparseEncoder({ avgDocLength: 0 })).toThrow(/avgDocLength/);
  });
});

describe('sparseQueryVector', () => {
  it('is term presence: 1 per distinct term', () => {
    const q = sparseQueryVector('Scale the endpoint, scale it now: endpoints scaling');
    expect(q.values.every((v) => v === 1)).toBe(true);
    expect(new Set(q.indices)).toEqual(new Set(['scale', 'endpoint', 'now'].map(termId)));
  });
});

describe('BM25 split between vectors and store', () => {
  const corpus = [
    'SageMaker endpoints scale with Application Auto Scaling and target tracking policies.',
    'Batch transform jobs read input from S3 and write predictions back to S3.',
    'Temporal workflows are durable: activities retry and workflows resume after a worker restart.',
    'Qdrant stores dense and sparse vectors and fuses them with reciprocal rank fusion.',
    'Delete idle endpoints: an endpoint that is InService costs money every hour.',
    'The IAM execution role lets SageMaker pull the container image and read the model from S3.',
  ];

  // Textbook BM25 (Lucene's IDF) straight from the terms, as the reference.
  function classicBm25(query: string, docs: string[], k1 = 1.2, b = 0.75): number[] {
    const docTerms = docs.map((d) => sparseTerms(d));
    const avgdl = docTerms.reduce((a, t) => a + t.length, 0) / docs.length;
    const qTerms = [...new Set(sparseTerms(query))];
    return docTerms.map((terms) =>
      qTerms.reduce((score, t) => {
        const tf = terms.filter((x) => x === t).length;
        if (tf === 0) return score;
        const n = docTerms.filter((d) => d.includes(t)).length;
        const w = Math.log(1 + (docs.length - n + 0.5) / (n + 0.5));
        return score + (w * tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * terms.length) / avgdl));
      }, 0),
    );
  }

  it('scores exactly like textbook BM25 when the store applies IDF', () => {
    const avgDocLength = corpus.reduce((a, d) => a + sparseTerms(d).length, 0) / corpus.length;
    const enc = new SparseEncoder({ avgDocLength });
    const docs = corpus.map((d) => enc.document(d));
    // What a store keeps for the IDF modifier: documents per term id.
    const df = new Map<number, number>();
    for (const d of docs) for (const i of d.indices) df.set(i, (df.get(i) ?? 0) + 1);
    const idfOf = (id: number) => bm25Idf(docs.length, df.get(id) ?? 0);

    for (const query of [
      'How do I scale an endpoint?',
      'read predictions from S3',
      'durable workflow restart',
      'sparse vectors fusion',
      'unrelated words entirely',
    ]) {
      const q = enc.query(query);
      const ours = docs.map((d) => bm25Score(q, d, idfOf));
      const expected = classicBm25(query, corpus);
      for (let i = 0; i < corpus.length; i++) expect(ours[i], `${query} / doc ${i}`).toBeCloseTo(expected[i], 10);
    }
  });

  it('retrieves the answering document first', () => {
    const enc = new SparseEncoder();
    const docs = corpus.map((d) => enc.document(d));
    const df = new Map<number, number>();
    for (const d of docs) for (const i of d.indices) df.set(i, (df.get(i) ?? 0) + 1);
    const idfOf = (id: number) => bm25Idf(docs.length, df.get(id) ?? 0);
    const top = (query: string) => {
      const q = enc.query(query);
      const scores = docs.map((d) => bm25Score(q, d, idfOf));
      return scores.indexOf(Math.max(...scores));
    };
    expect(top('autoscaling target tracking policy for endpoints')).toBe(0);
    expect(top('batch transform input')).toBe(1);
    expect(top('what happens when a worker restarts')).toBe(2);
    expect(top('reciprocal rank fusion')).toBe(3);
    expect(top('idle endpoint costs')).toBe(4);
    expect(top('execution role container image')).toBe(5);
  });

  it('bm25Score without IDF is the dot product over shared indices', () => {
    const q = { indices: [1, 5, 9], values: [1, 1, 1] };
    const d = { indices: [2, 5, 9, 12], values: [0.5, 2, 3, 4] };
    expect(bm25Score(q, d)).toBe(5);
    expect(bm25Score(q, { indices: [], values: [] })).toBe(0);
  });
});
