// Ingest throughput, before and after pipelining, side by side in one run on bench/rag.ts's
// corpus (12-sentence documents, 128/16-token chunks), in one process without Temporal:
//   before: one document at a time (read, chunk, embed, upsert), as ingestFiles did until
//           the embedder had one queue for all calls;
//   after:  ingestFiles, which overlaps reading, embedding and upserting across documents.
// Also embeddings/s of short and chunk-sized texts sent 3 per call (a document's chunks), calls
// one after another vs concurrent. Prints figures and writes them (bench/report.ts), asserts
// nothing.
//   npx tsx bench/ingest.ts [--documents 100] [--rounds 1]
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { Command } from 'commander';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chunkText, cleanText } from '../activities/embeddings/chunker.js';
import { DenseEmbedder } from '../activities/embeddings/dense.js';
import { sparseDocumentVector } from '../activities/embeddings/sparse.js';
import { readDocuments } from '../activities/documents.js';
import { createRagActivities, stableUuid } from '../activities/rag.js';
import { openVectorStore } from '../activities/vector-store/select.js';
import { integerOption } from '../clients/integer-option.js';
import { publishBench } from './report.js';

const opts = new Command('bench-ingest')
  .option('--documents <n>', 'synthetic documents to ingest', integerOption(1), 100)
  .option('--rounds <n>', 'before/after pairs, alternated (the machine is shared: compare within a round)', integerOption(1), 1)
  .parse()
  .opts<{ documents: number; rounds: number }>();

const TOPICS = ['autoscaling', 'endpoints', 'batch transform', 'streaming', 'teardown', 'quotas', 'IAM roles', 'cost', 'containers', 'monitoring'];
const CHUNK_TOKENS = 128;
const OVERLAP_TOKENS = 16;

const dir = mkdtempSync(join(tmpdir(), 'bench-ingest-'));
const corpus = join(dir, 'corpus');
mkdirSync(corpus);
// The same documents as bench/rag.ts, one file each (a batch's files are its documents).
const files = Array.from({ length: opts.documents }, (_, i) => {
  const topic = TOPICS[i % TOPICS.length];
  const text = Array.from(
    { length: 12 },
    (_, j) => `Note ${i}.${j} about ${topic}: operators of SageMaker endpoints review ${topic} settings, deadlines and failure reasons before each release.`,
  ).join(' ');
  const file = `doc-${i}.md`;
  writeFileSync(join(corpus, file), `# ${topic} ${i}\n\n${text}\n`);
  return file;
});

const embedder = new DenseEmbedder({ queryCacheSize: 0 });
const store = await openVectorStore({ backend: 'lancedb', lanceDir: join(dir, 'vectors') });
const s3 = new S3Client({ region: 'us-east-1' }); // a directory source makes no AWS call
const rag = createRagActivities({ s3, runtime: new SageMakerRuntimeClient({ region: 'us-east-1' }), embedder, store: async () => store });
const source = { directory: corpus };

/** The pre-pipelining loop: each document read, chunked, embedded and upserted in turn. */
async function ingestOneByOne(collection: string): Promise<number> {
  let chunks = 0;
  for (const file of files) {
    for (const doc of await readDocuments(s3, source, [file])) {
      const parts = chunkText(cleanText(doc.text), { chunkSize: CHUNK_TOKENS, overlap: OVERLAP_TOKENS });
      const dense = await embedder.embed(parts.map((c) => c.text));
      await store.upsert(
        collection,
        parts.map((c, i) => ({
          id: stableUuid(`${doc.id}\u0000${c.index}`),
          dense: dense[i],
          sparse: sparseDocumentVector(c.text),
          payload: { documentId: doc.id, text: c.text },
        })),
      );
      chunks += parts.length;
    }
  }
  return chunks;
}

async function timed(run: () => Promise<number>): Promise<{ count: number; perSecond: number }> {
  const t0 = performance.now();
  const count = await run();
  return { count, perSecond: count / ((performance.now() - t0) / 1000) };
}

const rows: string[][] = [];
await embedder.embed(['warm up']);
for (let round = 1; round <= opts.rounds; round++) {
  for (const c of [`before-${round}`, `after-${round}`]) await rag.ensureCollection({ collection: c });
  const before = await timed(() => ingestOneByOne(`before-${round}`));
  const after = await timed(
    async () => (await rag.ingestFiles({ collection: `after-${round}`, source, files, chunkTokens: CHUNK_TOKENS, overlapTokens: OVERLAP_TOKENS })).chunks,
  );
  rows.push([
    `round ${round}: ingest ${before.count} chunks (chunks/s)`,
    before.perSecond.toFixed(1),
    after.perSecond.toFixed(1),
    (after.perSecond / before.perSecond).toFixed(2),
  ]);

  for (const [label, sentences] of [
    ['short (~25 tokens)', 1],
    ['chunk-sized (~130 tokens)', 5],
  ] as const) {
    const texts = Array.from({ length: 24 }, (_, i) =>
      Array.from(
        { length: sentences },
        (_, s) => `Note ${round}.${i}.${s} on ${TOPICS[i % TOPICS.length]}: the system retries failed steps and reports why.`,
      ).join(' '),
    );
    const calls = Array.from({ length: texts.length / 3 }, (_, k) => texts.slice(3 * k, 3 * k + 3));
    const serial = await timed(async () => {
      for (const call of calls) await embedder.embed(call);
      return texts.length;
    });
    const overlapped = await timed(async () => (await Promise.all(calls.map((call) => embedder.embed(call)))).length * 3);
    rows.push([
      `round ${round}: embeddings/s, ${label}, 3 per call`,
      serial.perSecond.toFixed(1),
      overlapped.perSecond.toFixed(1),
      (overlapped.perSecond / serial.perSecond).toFixed(2),
    ]);
  }
}
await embedder.dispose();
await store.close();
rmSync(dir, { recursive: true, force: true });
publishBench('ingest', {
  title: 'Ingest: one document at a time vs pipelined',
  method: `bench/ingest.ts: ${files.length} documents (bench/rag.ts's corpus, one file each), chunks of ${CHUNK_TOKENS}/${OVERLAP_TOKENS} tokens, embedded LanceDB store, embedder ${embedder.contextCount} contexts × ${embedder.threads} thread, in one process without Temporal. Before = each document read, chunked, embedded and upserted in turn (embedding calls one at a time); after = ingestFiles (reading, embedding and upserting overlapped, calls concurrent).`,
  columns: ['measure', 'before / one call at a time', 'after / concurrent calls', '×'],
  rows,
});
