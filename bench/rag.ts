// RAG figures on the embedded stack: ingest throughput (chunks/s), per-step latency of a query
// (p50/p95), the same steps run directly in one process, and queries/s with N concurrent
// clients. Prints and writes a table (bench/report.ts); asserts nothing. What orchestration costs per query is bench/overhead.ts's
// figure (wall minus in-step time per query); a difference of medians of totals is not one.
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { Command } from 'commander';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DenseEmbedder } from '../activities/embeddings/dense.js';
import { createRagActivities } from '../activities/rag.js';
import { openVectorStore } from '../activities/vector-store/select.js';
import type { DeployEndpointInput } from '../common/endpoint-input.js';
import type { RagQueryResult } from '../common/rag-result.js';
import { CONTROL_TASK_QUEUE, RAG_TASK_QUEUE } from '../common/task-queues.js';
import { readExample } from '../dev/tools.js';
import { attentionSetupEnv } from '../local/model-server/config.js';
import type { IngestDocumentsResult } from '../workflows/ingest-documents.js';
import { publishBench } from './report.js';
import { percentile } from './stats.js';
import { benchWithStack } from './with-stack.js';
import { integerOption } from '../clients/integer-option.js';

const opts = new Command('bench-rag')
  .option('--documents <n>', 'synthetic documents to ingest', integerOption(1), 200)
  .option('--queries <n>', 'queries per measurement', integerOption(1), 30)
  .option('--context-tokens <n>', "ragQuery's contextTokens (retrieved text in the prompt); the prompt's evaluation dominates a query", integerOption(1), 768)
  .parse()
  .opts<{ documents: number; queries: number; contextTokens: number }>();

const TOPICS = ['autoscaling', 'endpoints', 'batch transform', 'streaming', 'teardown', 'quotas', 'IAM roles', 'cost', 'containers', 'monitoring'];
// The bench's endpoint, and one whose container runs the model server as it was before issue 13:
// node-llama-cpp's attention set-up (flash attention on, f16 KV cache) and one request at a time.
const TODAY = { name: 'bench-rag', label: '', environment: {} };
const BEFORE = {
  name: 'bench-rag-before',
  label: ', model server as before issue 13',
  environment: { ...attentionSetupEnv({ flashAttention: true, kvCacheType: 'f16' }), MAX_BATCH_SIZE: '1' },
};
const ENDPOINTS = [TODAY, BEFORE];
const latency = (what: string, xs: number[]) => [what, percentile(xs, 50).toFixed(1), percentile(xs, 95).toFixed(1), 'ms'];

benchWithStack('rag', async (client, dir) => {
  const corpusDir = join(dir, 'corpus'); // apart from the stack's own state, which holds .jsonl files too
  mkdirSync(corpusDir);
  writeFileSync(
    join(corpusDir, 'corpus.jsonl'),
    Array.from({ length: opts.documents }, (_, i) => {
      const topic = TOPICS[i % TOPICS.length];
      const text = Array.from(
        { length: 12 },
        (_, j) =>
          `Note ${i}.${j} about ${topic}: operators of SageMaker endpoints review ${topic} settings, deadlines and failure reasons before each release.`,
      ).join(' ');
      return JSON.stringify({ id: `doc-${i}`, title: `${topic} ${i}`, text });
    }).join('\n'),
  );
  const base = readExample<DeployEndpointInput>('deploy-local.json');
  for (const { name: endpointName, environment } of ENDPOINTS) {
    await client.workflow.execute('deployEndpoint', {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId: `deploy-${endpointName}`,
      args: [{ ...base, endpointName, model: { ...base.model, environment }, autoscaling: undefined }],
    });
  }

  const t0 = performance.now();
  const ingested = (await client.workflow.execute('ingestDocuments', {
    taskQueue: RAG_TASK_QUEUE,
    workflowId: 'ingest-bench',
    args: [{ collection: 'bench', source: { directory: corpusDir }, chunkTokens: 128, overlapTokens: 16 }],
  })) as IngestDocumentsResult;
  const ingestSeconds = (performance.now() - t0) / 1000;
  const rows: string[][] = [
    [
      `ingestDocuments: ${ingested.documents} documents, ${ingested.chunks} chunks in ${ingestSeconds.toFixed(1)} s`,
      (ingested.chunks / ingestSeconds).toFixed(1),
      '',
      'chunks/s',
    ],
  ];

  // Every query of the run is worded apart near its start, so no prompt reuses the KV of an
  // earlier one (the container keeps a sequence's prefix): each figure pays for its prompt.
  let asked = 0;
  const query = (endpointName = TODAY.name) => {
    const i = asked++;
    return {
      query: `Before release ${i}, what should I check about ${TOPICS[i % TOPICS.length]}?`,
      endpointName,
      collection: 'bench',
      topK: 3,
      contextTokens: opts.contextTokens,
      generation: { max_new_tokens: 16, greedy: true },
    };
  };
  const steps: Record<string, number[]> = {};
  const viaTemporal: number[] = [];
  const promptTokens: number[] = [];
  for (let i = 0; i < opts.queries; i++) {
    const started = performance.now();
    const r = (await client.workflow.execute('ragQuery', { taskQueue: RAG_TASK_QUEUE, workflowId: `bench-q-${i}`, args: [query()] })) as RagQueryResult;
    viaTemporal.push(performance.now() - started);
    promptTokens.push(r.usage.promptTokens);
    for (const [k, v] of Object.entries(r.timings)) (steps[k] ??= []).push(v);
  }
  rows.push(latency('ragQuery through Temporal, one client', viaTemporal));
  for (const [k, v] of Object.entries(steps)) rows.push(latency(`… step ${k}`, v));

  // The same activities in this process, no Temporal: the difference is Temporal's share.
  const embedder = new DenseEmbedder();
  const store = await openVectorStore({ backend: 'lancedb', lanceDir: join(dir, 'stack', 'vector-store') });
  const rag = createRagActivities({
    s3: new S3Client({}),
    runtime: new SageMakerRuntimeClient({}),
    embedder,
    store: async () => store,
    monitoringFile: join(dir, 'monitoring.jsonl'),
  });
  const direct: number[] = [];
  for (let i = 0; i < opts.queries; i++) {
    const q = query();
    const started = performance.now();
    const v = await rag.embedQuery({ query: q.query });
    const hits = await rag.retrieve({ collection: 'bench', dense: v.dense, sparse: v.sparse, mode: 'hybrid', topK: 3 });
    const built = await rag.buildPrompt({ query: q.query, hits, contextTokens: opts.contextTokens });
    await rag.generate({
      endpointName: 'bench-rag',
      prompt: built.prompt,
      format: 'tgi',
      generation: { max_new_tokens: 16, temperature: 0.7, top_p: 0.9, repetition_penalty: 1.1, greedy: true },
    });
    direct.push(performance.now() - started);
  }
  rows.push(latency('the same steps directly in one process', direct));
  await embedder.dispose();
  await store.close();

  // Each client count runs against today's endpoint, then against one whose model server is set
  // up as before issue 13, so the ratio compares rows of the same run and load.
  const rate = new Map<string, number>();
  for (const clients of [1, 4, 8]) {
    for (const { name: endpointName, label } of ENDPOINTS) {
      const started = performance.now();
      let done = 0;
      await Promise.all(
        Array.from({ length: clients }, async (_, c) => {
          for (let i = 0; i < Math.ceil(opts.queries / clients); i++) {
            await client.workflow.execute('ragQuery', {
              taskQueue: RAG_TASK_QUEUE,
              workflowId: `bench-${endpointName}-c${clients}-${c}-${i}`,
              args: [query(endpointName)],
            });
            done++;
          }
        }),
      );
      const perSecond = done / ((performance.now() - started) / 1000);
      rate.set(`${endpointName}/${clients}`, perSecond);
      rows.push([`ragQuery, ${clients} concurrent client(s)${label}`, perSecond.toFixed(1), '', 'queries/s']);
    }
  }
  for (const clients of [1, 8]) {
    const ratio = (rate.get(`${TODAY.name}/${clients}`) ?? Number.NaN) / (rate.get(`${BEFORE.name}/${clients}`) ?? Number.NaN);
    rows.push([`queries/s at ${clients} client(s), today / before issue 13`, ratio.toFixed(2), '', '×']);
  }
  for (const { name: endpointName } of ENDPOINTS) {
    await client.workflow.execute('teardownEndpoint', { taskQueue: CONTROL_TASK_QUEUE, workflowId: `teardown-${endpointName}`, args: [{ endpointName }] });
  }
  publishBench('rag', {
    title: 'RAG: ingest, query steps, queries/s',
    method: `bench/rag.ts: ${opts.documents} synthetic documents (12 sentences, chunks of 128/16 tokens) into the embedded store; ${opts.queries} queries per row, each worded apart near its start so no prompt reuses an earlier one's KV, topK 3, contextTokens ${opts.contextTokens} (prompt p50 ${percentile(promptTokens, 50)} embedder tokens), greedy, max_new_tokens 16; tiny TinyStories endpoint (1 instance, 1 thread), embedded stack; the queries/s rows take turns with a second endpoint whose container has the model server's set-up from before issue 13 (LLMOPS_FLASH_ATTENTION=1, LLMOPS_KV_CACHE_TYPE=f16, MAX_BATCH_SIZE=1; orchestration is today's for both). Step times are the workflow's own timings (whole ms). What orchestration adds per query is bench/overhead.ts's figure.`,
    columns: ['measure', 'p50 / rate', 'p95', 'unit'],
    rows,
  });
});
