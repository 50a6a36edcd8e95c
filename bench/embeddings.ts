// Embedding and chunking throughput on this machine, and how close the GGUF model is to an
// independent numpy forward pass of the original safetensors weights. Prints figures and writes
// them (bench/report.ts), asserts nothing.
//   npx tsx bench/embeddings.ts
//   BENCH_EMBED_TEXTS=64 (texts per measurement)  BENCH_EMBED_MODEL=<gguf> (another conversion, e.g. f16)
//   BENCH_EMBED_CONFIGS="2x1,1x2" (contexts x threads per context to compare)
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../common/project-paths.js';
import { venvPython } from '../dev/tools.js';
import { chunkText, cleanText } from '../activities/embeddings/chunker.js';
import { cosine, DenseEmbedder } from '../activities/embeddings/dense.js';
import { EMBEDDING_MODEL_ID, resolveGguf } from '../activities/embeddings/model-files.js';
import { sparseDocumentVector } from '../activities/embeddings/sparse.js';
import { WordPieceTokenizer } from '../activities/embeddings/tokenizer.js';
import { integer, list, text, variableGroup } from '../common/config.js';
import { publishBench } from './report.js';

const settings = variableGroup('bench/embeddings.ts', {
  BENCH_EMBED_TEXTS: integer('Texts per measurement', { min: 1, default: '64' }),
  BENCH_EMBED_MODEL: text('Another GGUF conversion of the embedding model (default the installed one)'),
  BENCH_EMBED_CONFIGS: list('Contexts x threads per context to compare', { default: '1x1,1x2,2x1' }),
}).read();
const N = settings.BENCH_EMBED_TEXTS;
const MODEL = settings.BENCH_EMBED_MODEL ?? resolveGguf();
const CONFIGS = settings.BENCH_EMBED_CONFIGS.map((c) => c.split('x').map(Number) as [number, number]);

const TOPICS = ['endpoint autoscaling', 'batch transform jobs', 'vector search', 'durable workflows', 'token streaming', 'IAM roles'];
function passage(i: number, sentences: number): string {
  const topic = TOPICS[i % TOPICS.length];
  return Array.from(
    { length: sentences },
    (_, s) => `Note ${i}.${s} on ${topic}: the system retries failed steps, records progress and reports the reason when a resource fails.`,
  ).join(' ');
}

const rows: string[][] = [];

async function rate(label: string, run: () => Promise<number>): Promise<void> {
  const t0 = performance.now();
  const count = await run();
  const s = (performance.now() - t0) / 1000;
  rows.push([label, (count / s).toFixed(1), 'embeddings/s', `${count} in ${s.toFixed(2)} s`]);
}

async function main(): Promise<void> {
  const tokenizer = WordPieceTokenizer.forEmbeddingModel();
  const short = Array.from({ length: N }, (_, i) => passage(i, 1)); // ~25 tokens
  const chunk = Array.from({ length: N }, (_, i) => passage(i, 10)); // ~250 tokens
  const avg = (xs: string[]) => (xs.reduce((a, t) => a + tokenizer.count(t), 0) / xs.length).toFixed(0);
  for (const [contexts, threads] of CONFIGS) {
    const embedder = new DenseEmbedder({ modelPath: MODEL, contexts, threads, queryCacheSize: 0 });
    const t0 = performance.now();
    await embedder.load();
    const loadMs = performance.now() - t0;
    await embedder.embed(short.slice(0, 4)); // warm-up
    const tag = `${contexts} ctx × ${threads} thr`;
    rows.push([`${tag}: model load`, loadMs.toFixed(0), 'ms', '']);
    await rate(`${tag}: short, batch 1`, async () => {
      for (const t of short) await embedder.embed([t]);
      return short.length;
    });
    await rate(`${tag}: short, batch 32`, async () => {
      for (let i = 0; i < short.length; i += 32) await embedder.embed(short.slice(i, i + 32));
      return short.length;
    });
    await rate(`${tag}: chunk-sized, batch 1`, async () => {
      for (const t of chunk) await embedder.embed([t]);
      return chunk.length;
    });
    await rate(`${tag}: chunk-sized, batch 32`, async () => {
      for (let i = 0; i < chunk.length; i += 32) await embedder.embed(chunk.slice(i, i + 32));
      return chunk.length;
    });
    await embedder.dispose();
  }

  // The weight types side by side, taking turns twice (the default 2 contexts x 1 thread).
  for (let round = 0; round < 2; round++) {
    for (const type of ['q8_0', 'f32']) {
      const embedder = new DenseEmbedder({ modelPath: resolveGguf(EMBEDDING_MODEL_ID, [type]), queryCacheSize: 0 });
      await embedder.embed(short.slice(0, 4));
      await rate(`${type} weights (2 ctx × 1 thr): chunk-sized, batch 32, round ${round + 1}`, async () => {
        for (let i = 0; i < chunk.length; i += 32) await embedder.embed(chunk.slice(i, i + 32));
        return chunk.length;
      });
      await embedder.dispose();
    }
  }

  {
    const embedder = new DenseEmbedder({ modelPath: MODEL });
    await embedder.embedQuery('warm up');
    const q = 'How do I scale a SageMaker endpoint?';
    await embedder.embedQuery(q);
    const reps = 1000;
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) await embedder.embedQuery(q);
    rows.push(['query cache hit', (((performance.now() - t0) / reps) * 1000).toFixed(1), 'µs per query', '']);
    await embedder.dispose();
  }

  const doc = Array.from({ length: 400 }, (_, i) => (i % 5 === 4 ? '\n\n' : '') + passage(i, 1)).join(' ');
  const docTokens = tokenizer.count(doc);
  for (const [label, run] of [
    ['tokenize (WordPiece with offsets)', () => tokenizer.analyze(doc).tokens.length],
    ['chunkText 256/32', () => chunkText(doc).length],
    ['cleanText', () => cleanText(doc).length],
    ['sparseDocumentVector (whole doc)', () => sparseDocumentVector(doc).indices.length],
  ] as const) {
    const reps = 20;
    run();
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) run();
    const s = (performance.now() - t0) / 1000;
    rows.push([label, ((docTokens * reps) / s / 1e6).toFixed(2), 'M tokens/s', 'one thread']);
  }
  const chunks = chunkText(doc);
  const chunking = `${docTokens} tokens → ${chunks.length} chunks, mean ${(chunks.reduce((a, c) => a + c.tokenCount, 0) / chunks.length).toFixed(0)} tokens`;

  const sentences = [
    'This is a test sentence.',
    'How do I scale a SageMaker endpoint?',
    'The café naïve résumé: Ångström in Zürich.',
    'Temporal workflows survive worker restarts and resume where they left off.',
    'A',
    chunk[0],
  ];
  const ref = JSON.parse(
    execFileSync(venvPython(), [join(projectRoot, 'scripts', 'embedding-reference.py')], {
      input: JSON.stringify({ texts: sentences, maxTokens: 511 }),
      maxBuffer: 64 << 20,
    }).toString(),
  ) as { embeddings: number[][]; tokens: number[][] };
  const embedder = new DenseEmbedder({ modelPath: MODEL });
  const ours = await embedder.embed(sentences);
  for (const [i, s] of sentences.entries()) {
    const ids = await embedder.tokenize(s);
    const same = ids.join(',') === ref.tokens[i].join(',');
    rows.push([
      `fidelity: ${JSON.stringify(s.slice(0, 40))}`,
      cosine(ours[i], ref.embeddings[i]).toFixed(6),
      'cosine vs numpy',
      `${ids.length} tokens, ${same ? 'ids equal' : 'IDS DIFFER'}`,
    ]);
  }
  await embedder.dispose();
  publishBench('embeddings', {
    title: 'Embeddings, chunking and fidelity',
    method: `bench/embeddings.ts: ${MODEL.split('/').slice(-1)[0]} (node-llama-cpp, CPU); ${N} short (~${avg(short)} tokens) and ${N} chunk-sized (~${avg(chunk)} tokens) texts per rate; chunking over one document (${chunking}); fidelity = cosine between this model's embedding and a numpy forward pass of the original safetensors weights (scripts/embedding-reference.py).`,
    columns: ['measure', 'value', 'unit', 'detail'],
    rows,
  });
}

await main();
