// Dense embeddings with the real all-MiniLM-L6-v2 GGUF (made by `npm run setup`), checked
// against an independent numpy forward pass of the original safetensors weights
// (scripts/embedding-reference.py in the project .venv), plus the behaviour the RAG flow relies
// on: 384-d unit vectors, determinism, batching, semantic ordering, the query cache.
import { execFileSync } from 'node:child_process';
import { basename, join } from 'node:path';
import { readGgufFileInfo } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../common/project-paths.js';
import { venvPython } from '../../dev/tools.js';
import { cosine, DenseEmbedder, LruCache } from '../../activities/embeddings/dense.js';
import { EMBEDDING_MODEL_ID, resolveGguf } from '../../activities/embeddings/model-files.js';

let embedder: DenseEmbedder;

beforeAll(async () => {
  embedder = new DenseEmbedder({ contexts: 1, threads: 2 });
  await embedder.load();
});

afterAll(async () => {
  await embedder?.dispose();
});

function reference(texts: string[], maxTokens = 511): { embeddings: number[][]; tokens: number[][] } {
  const out = execFileSync(venvPython(), [join(projectRoot, 'scripts', 'embedding-reference.py')], {
    input: JSON.stringify({ texts, maxTokens }),
    maxBuffer: 64 << 20,
  });
  return JSON.parse(out.toString());
}

describe('the converted GGUF', () => {
  it('carries the BERT metadata llama.cpp needs', async () => {
    const info = await readGgufFileInfo(resolveGguf(), { readTensorInfo: false });
    const m = info.metadata as unknown as {
      general: { architecture: string };
      bert: { context_length: number; embedding_length: number; block_count: number; pooling_type: number; attention: { head_count: number; causal: boolean } };
      tokenizer: {
        ggml: { model: string; tokens: string[]; bos_token_id: number; seperator_token_id: number; normalizer: { lowercase: boolean; strip_accents: boolean } };
      };
    };
    expect(m.general.architecture).toBe('bert');
    expect(m.bert).toMatchObject({ context_length: 512, embedding_length: 384, block_count: 6, pooling_type: 1 });
    expect(m.bert.attention).toMatchObject({ head_count: 12, causal: false });
    expect(m.tokenizer.ggml).toMatchObject({ model: 'bert', bos_token_id: 101, seperator_token_id: 102, normalizer: { lowercase: true, strip_accents: true } });
    expect(m.tokenizer.ggml.tokens).toHaveLength(30522);
    expect(m.tokenizer.ggml.tokens.slice(100, 104)).toEqual(['[UNK]', '[CLS]', '[SEP]', '[MASK]']);
  });
});

describe('DenseEmbedder', () => {
  it('names its model and gives 384-d L2-normalised Float32Arrays', async () => {
    expect(embedder.modelId).toBe(EMBEDDING_MODEL_ID);
    expect(embedder.dimensions).toBe(384);
    const vectors = await embedder.embed(['Hello world', 'Durable workflows on Temporal', '']);
    expect(vectors).toHaveLength(3);
    for (const v of vectors) {
      expect(v).toBeInstanceOf(Float32Array);
      expect(v.length).toBe(384);
      expect(Math.hypot(...v)).toBeCloseTo(1, 5);
      expect(v.every(Number.isFinite)).toBe(true);
    }
    expect(await embedder.embed([])).toEqual([]);
  });

  it('matches a numpy reference forward pass of the original weights (Q8_0: cosine >= 0.998, f32: >= 0.999, same token ids)', async () => {
    const texts = [
      'This is a test sentence.',
      'How do I scale a SageMaker endpoint?',
      'The café naïve résumé: Ångström in Zürich.',
      'Temporal workflows survive worker restarts and resume where they left off.',
      'A',
      '', // [CLS] [SEP] only
      'UPPER case AND lower CASE are the same to an uncased model!!!',
      // longer than the model's 512 positions: both sides truncate to 511 tokens with [CLS]/[SEP]
      Array.from({ length: 80 }, (_, i) => `Sentence ${i} is about vector databases, retrieval and reranking.`).join(' '),
    ];
    const ref = reference(texts);
    expect(ref.tokens[7]).toHaveLength(511);
    // The embedder's default file is the Q8_0 one; the f32 file is the exact conversion.
    expect(basename(resolveGguf())).toBe('all-MiniLM-L6-v2-q8_0.gguf');
    const exact = new DenseEmbedder({ contexts: 1, threads: 2, modelPath: resolveGguf(EMBEDDING_MODEL_ID, ['f32']) });
    try {
      for (const [type, model, min] of [
        ['q8_0', embedder, 0.998],
        ['f32', exact, 0.999],
      ] as const) {
        const ours = await model.embed(texts);
        const cosines: number[] = [];
        for (const [i, text] of texts.entries()) {
          expect((await model.tokenize(text)).map(Number)).toEqual(ref.tokens[i]);
          cosines.push(cosine(ours[i], ref.embeddings[i]));
        }
        console.log(`${type}: cosine vs numpy reference:`, cosines.map((c) => c.toFixed(6)).join(' '));
        for (const c of cosines) expect(c).toBeGreaterThanOrEqual(min);
      }
    } finally {
      await exact.dispose();
    }
  }, 120_000);

  it('is deterministic, and a text embeds the same alone or in a batch', async () => {
    const texts = ['alpha beta gamma', 'The quick brown fox jumps over the lazy dog.', 'x'.repeat(50)];
    const a = await embedder.embed(texts);
    const b = await embedder.embed(texts);
    const single = await embedder.embed([texts[1]]);
    for (let i = 0; i < texts.length; i++) expect(Array.from(b[i])).toEqual(Array.from(a[i]));
    expect(cosine(single[0], a[1])).toBeGreaterThan(0.999999);
  });

  it('spreads a batch over several contexts in input order', async () => {
    const two = new DenseEmbedder({ contexts: 2, threads: 1 });
    try {
      const texts = Array.from({ length: 7 }, (_, i) => `Document number ${i} about topic ${i % 3}.`);
      const parallel = await two.embed(texts);
      const serial = await embedder.embed(texts);
      for (let i = 0; i < texts.length; i++) expect(cosine(parallel[i], serial[i])).toBeGreaterThan(0.999999);
    } finally {
      await two.dispose();
    }
  });

  it('serves concurrent calls from one queue: same vectors as one by one, earlier calls finish first', async () => {
    const two = new DenseEmbedder({ contexts: 2, threads: 1, queryCacheSize: 0 });
    try {
      const docs = Array.from({ length: 3 }, (_, d) =>
        Array.from({ length: 3 }, (_, i) => `Chunk ${i} of document ${d}: endpoints scale out when traffic grows and back in when it falls.`),
      );
      const oneByOne: Float32Array[][] = [];
      for (const doc of docs) oneByOne.push(await Promise.all(doc.map(async (t) => (await two.embed([t]))[0])));
      const finished: number[] = [];
      const concurrent = await Promise.all(docs.map((doc, d) => two.embed(doc).then((v) => (finished.push(d), v))));
      for (let d = 0; d < docs.length; d++)
        for (let i = 0; i < docs[d].length; i++) expect(cosine(concurrent[d][i], oneByOne[d][i])).toBeGreaterThanOrEqual(0.9999);
      // With a queue per call, the second call's texts took a context before the first call's
      // third text did, and a later call could finish first.
      expect(finished).toEqual([0, 1, 2]);
    } finally {
      await two.dispose();
    }
  });

  it('rejects texts still queued when disposed', async () => {
    const one = new DenseEmbedder({ contexts: 1, threads: 1 });
    await one.load();
    const rejected = expect(one.embed(Array.from({ length: 4 }, (_, i) => `text ${i}`))).rejects.toThrow(/disposed/);
    await one.dispose();
    await rejected;
  });

  it('ranks paraphrases above unrelated sentences', async () => {
    const triplets: Array<[string, string, string]> = [
      ['How do I scale a SageMaker endpoint?', 'Configure autoscaling for a SageMaker inference endpoint.', 'The recipe needs two cups of flour and an egg.'],
      ['A man is playing a guitar.', 'Someone is strumming a guitar.', 'The stock market fell sharply today.'],
      ['The cat sits on the mat.', 'A kitten is resting on a rug.', 'Quantum computers use qubits.'],
      [
        'Delete the endpoint when you are done to stop paying for it.',
        'Tear down idle endpoints so they do not keep costing money.',
        'Paris is the capital of France.',
      ],
      ['What is the weather like tomorrow?', 'Will it rain tomorrow?', 'Install the package with npm.'],
      [
        'Vector databases store embeddings for similarity search.',
        'Embeddings are kept in a vector store to find similar items.',
        'He scored a goal in the last minute.',
      ],
    ];
    const flat = triplets.flat();
    const v = await embedder.embed(flat);
    const margins: number[] = [];
    for (let t = 0; t < triplets.length; t++) {
      const [a, p, n] = [v[3 * t], v[3 * t + 1], v[3 * t + 2]];
      const pos = cosine(a, p);
      const neg = cosine(a, n);
      margins.push(pos - neg);
      expect(pos, triplets[t][0]).toBeGreaterThan(neg + 0.2);
      expect(pos).toBeGreaterThan(0.5);
    }
    console.log('paraphrase - unrelated cosine margins:', margins.map((m) => m.toFixed(3)).join(' '));
  });

  it('caches query embeddings by token sequence, returns copies, and evicts least recently used', async () => {
    const q = new DenseEmbedder({ queryCacheSize: 2 });
    try {
      const first = await q.embedQuery('How do I scale a SageMaker endpoint?');
      expect(q.cacheStats()).toMatchObject({ hits: 0, misses: 1, size: 1, capacity: 2 });
      first.fill(0); // the caller's copy; the cache must not change
      const again = await q.embedQuery('how do I   scale a sagemaker endpoint?'); // same tokens
      expect(q.cacheStats()).toMatchObject({ hits: 1, misses: 1 });
      const [direct] = await q.embed(['How do I scale a SageMaker endpoint?']);
      expect(Array.from(again)).toEqual(Array.from(direct));

      await q.embedQuery('second query');
      await q.embedQuery('third query'); // evicts the first (least recently used)
      expect(q.cacheStats()).toMatchObject({ misses: 3, size: 2 });
      await q.embedQuery('How do I scale a SageMaker endpoint?');
      expect(q.cacheStats()).toMatchObject({ hits: 1, misses: 4 });
      await q.embedQuery('third query');
      expect(q.cacheStats()).toMatchObject({ hits: 2, misses: 4 });
      q.clearCache();
      expect(q.cacheStats()).toMatchObject({ hits: 0, misses: 0, size: 0 });
    } finally {
      await q.dispose();
    }
  });

  it('shared() is one embedder per process', () => {
    const a = DenseEmbedder.shared();
    expect(DenseEmbedder.shared()).toBe(a);
  });

  it('says how to get the model when it is missing', async () => {
    expect(() => resolveGguf('nobody/no-such-model')).toThrow(/npm run setup/);
    const missing = new DenseEmbedder({ modelPath: '/nonexistent/model.gguf' });
    await expect(missing.embed(['x'])).rejects.toThrow();
  });

  it('rejects bad options', () => {
    expect(() => new DenseEmbedder({ threads: 0 })).toThrow(/threads/);
    expect(() => new DenseEmbedder({ contexts: 1.5 })).toThrow(/contexts/);
    expect(() => new DenseEmbedder({ maxTokens: 2 })).toThrow(/maxTokens/);
  });
});

describe('LruCache', () => {
  it('keeps the most recently used entries', () => {
    const c = new LruCache<string, number>(2);
    c.set('a', 1);
    c.set('b', 2);
    expect(c.get('a')).toBe(1); // a is now most recent
    c.set('c', 3); // evicts b
    expect(c.get('b')).toBeUndefined();
    expect(c.get('a')).toBe(1);
    expect(c.get('c')).toBe(3);
    expect(c.size).toBe(2);
    const off = new LruCache<string, number>(0);
    off.set('a', 1);
    expect(off.get('a')).toBeUndefined();
  });
});
