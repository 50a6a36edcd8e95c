// The RAG HTTP service end to end on the embedded stack (Temporal dev server, local cloud with the
// tiny TinyStories endpoint, the real rag worker with the embedding model and LanceDB, the sample
// corpus ingested): time to first token over SSE vs. time to the full answer, sequentially, then
// queries/s and latency with N concurrent clients. Loopback only; prints figures, asserts nothing.
//   npx tsx bench/rag-service.ts [--requests 30] [--concurrency 1,2,4,8] [--max-new-tokens 64]
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { Command } from 'commander';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startStack } from '../clients/embedded-stack.js';
import { startRagService } from '../clients/rag-service/server.js';
import { connectClient } from '../clients/temporal-client.js';
import { localTemporalConnection } from '../common/temporal-connection.js';
import { runDeploy } from '../clients/workflow-runs.js';
import type { DeployEndpointInput } from '../common/endpoint-input.js';
import { RAG_TASK_QUEUE } from '../common/task-queues.js';
import { projectRoot } from '../common/project-paths.js';
import { readExample } from '../dev/tools.js';
import { readServerSentEvents } from '../activities/server-sent-events.js';
import { integerOption } from '../clients/integer-option.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const opts = new Command('bench-rag-service')
  .option('--requests <n>', 'measured requests per path (sequential part)', integerOption(1), 30)
  .option('--warmup <n>', 'unmeasured requests first', integerOption(0), 5)
  .option('--concurrency <list>', 'client counts for the throughput part', '1,2,4,8')
  .option('--per-client <n>', 'requests per client in the throughput part', integerOption(1), 10)
  .option('--max-new-tokens <n>', 'tokens generated per answer', integerOption(1), 64)
  .parse()
  .opts<{ requests: number; warmup: number; concurrency: string; perClient: number; maxNewTokens: number }>();

const QUESTIONS = [
  'How do I scale a SageMaker endpoint?',
  'What does the TGI container need in its environment?',
  'How does a batch transform job read its input?',
  'What metric does target tracking use for endpoints?',
  'How do I stream tokens from an endpoint?',
];
const KEY = 'bench-key-0123456789';
const ENDPOINT = 'bench-rag';
/** Embedding-model tokens of context per prompt. */
const CONTEXT_TOKENS = 128;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
const stats = (values: number[]) => `p50 ${percentile(values, 50).toFixed(0)} ms, p95 ${percentile(values, 95).toFixed(0)} ms`;

interface StreamSample {
  firstTokenMs: number;
  doneMs: number;
  tokens: number;
  server: Record<string, number>;
}

async function streamOnce(url: string, query: string): Promise<StreamSample> {
  const t0 = performance.now();
  const res = await fetch(`${url}/rag/stream`, {
    method: 'POST',
    headers: { 'x-api-key': KEY },
    body: JSON.stringify({ query, contextTokens: CONTEXT_TOKENS, generation: { max_new_tokens: opts.maxNewTokens } }),
  });
  if (res.status !== 200) throw new Error(`/rag/stream answered ${res.status}: ${await res.text()}`);
  let firstTokenMs: number | undefined;
  let tokens = 0;
  for await (const { event, data } of readServerSentEvents(res.body as AsyncIterable<Uint8Array>)) {
    const payload = JSON.parse(data);
    if (event === 'token') {
      firstTokenMs ??= performance.now() - t0;
      tokens++;
    } else if (event === 'done') {
      return { firstTokenMs: firstTokenMs ?? performance.now() - t0, doneMs: performance.now() - t0, tokens, server: payload.timings };
    } else if (event === 'error') {
      throw new Error(`stream error: ${payload.message}`);
    }
  }
  throw new Error('stream ended without done');
}

async function answerOnce(url: string, query: string): Promise<{ ms: number; server: Record<string, number> }> {
  const t0 = performance.now();
  const res = await fetch(`${url}/rag`, {
    method: 'POST',
    headers: { 'x-api-key': KEY },
    body: JSON.stringify({ query, contextTokens: CONTEXT_TOKENS, generation: { max_new_tokens: opts.maxNewTokens } }),
  });
  const body = (await res.json()) as { timings: Record<string, number> };
  if (res.status !== 200) throw new Error(`/rag answered ${res.status}: ${JSON.stringify(body)}`);
  return { ms: performance.now() - t0, server: body.timings };
}

async function main(): Promise<void> {
  const stateDir = mkdtempSync(join(tmpdir(), 'bench-rag-service-'));
  // The rag worker records its monitoring entries here, not in the project's .monitoring/.
  process.env.LLMOPS_MONITORING_FILE = join(stateDir, 'prompts.jsonl');
  const stack = await startStack({ stateDir, temporalPort: 0, uiPort: 0, awsPort: 0 });
  const client = await connectClient(localTemporalConnection(stack.temporalAddress));
  const service = await startRagService({
    client,
    runtime: new SageMakerRuntimeClient({}),
    sagemaker: new SageMakerClient({}),
    apiKeys: [{ key: KEY, endpoints: [ENDPOINT], collections: ['documents'] }],
    rateLimitPerMinute: 1_000_000,
    logger: pino({ level: 'warn' }, pino.destination(2)),
  });
  try {
    const deploy = readExample<DeployEndpointInput>('deploy-local.json');
    // One instance, and room for a RAG prompt: the template, query and context take a few hundred
    // of the tiny model's tokens, more than the example's 256.
    const { autoscaling: _none, ...single } = deploy;
    await runDeploy(client, { ...single, endpointName: ENDPOINT, model: { ...single.model, maxInputTokens: 1024, maxTotalTokens: 1200 }, smokeTest: false });
    const ingest = readExample<Record<string, unknown>>('ingest-local.json');
    const ingested: { chunks: number } = await client.workflow.execute('ingestDocuments', {
      taskQueue: RAG_TASK_QUEUE,
      workflowId: 'bench-ingest',
      args: [{ ...ingest, source: { directory: join(projectRoot, 'examples', 'corpus') } }],
    });
    console.log(
      `Stack up; endpoint ${ENDPOINT} (tiny TinyStories GGUF, 1 instance), ${ingested.chunks} chunks ingested; max_new_tokens ${opts.maxNewTokens}, contextTokens ${CONTEXT_TOKENS}.`,
    );

    for (let i = 0; i < opts.warmup; i++) {
      await streamOnce(service.url, QUESTIONS[i % QUESTIONS.length]);
      await answerOnce(service.url, QUESTIONS[i % QUESTIONS.length]);
    }

    // Sequential: the two paths take turns, so drift affects both alike. Two requests in a row
    // never ask the same question: the model process reuses the evaluated prompt of the previous
    // request when the next one starts the same way, which would flatter whichever path came second.
    const streamed: StreamSample[] = [];
    const answered: Array<{ ms: number; server: Record<string, number> }> = [];
    for (let i = 0; i < opts.requests; i++) {
      streamed.push(await streamOnce(service.url, QUESTIONS[i % QUESTIONS.length]));
      answered.push(await answerOnce(service.url, QUESTIONS[(i + 2) % QUESTIONS.length]));
    }
    const col = (samples: Array<{ server: Record<string, number> }>, k: string) => samples.map((s) => s.server[k]).filter((v) => typeof v === 'number');
    console.log(`\nSequential, ${opts.requests} requests per path (client-side wall clock):`);
    console.log(`  POST /rag/stream  first token   ${stats(streamed.map((s) => s.firstTokenMs))}`);
    console.log(
      `  POST /rag/stream  done event    ${stats(streamed.map((s) => s.doneMs))}   (mean ${(streamed.reduce((a, s) => a + s.tokens, 0) / streamed.length).toFixed(1)} tokens)`,
    );
    console.log(`  POST /rag         full answer   ${stats(answered.map((s) => s.ms))}`);
    console.log('  server-side, /rag/stream:');
    for (const k of ['embed', 'retrieve', 'rerank', 'buildPrompt', 'workflow', 'ttft', 'generate', 'total'])
      console.log(`    ${k.padEnd(12)} ${stats(col(streamed, k))}`);
    console.log('  server-side (workflow timings), /rag:');
    for (const k of ['embed', 'retrieve', 'rerank', 'buildPrompt', 'generate']) console.log(`    ${k.padEnd(12)} ${stats(col(answered, k))}`);

    console.log(`\nConcurrent clients, ${opts.perClient} requests each:`);
    for (const n of opts.concurrency.split(',').map(Number)) {
      for (const [label, run] of [
        ['/rag/stream', async (q: string) => (await streamOnce(service.url, q)).doneMs],
        ['/rag', async (q: string) => (await answerOnce(service.url, q)).ms],
      ] as const) {
        const latencies: number[] = [];
        const t0 = performance.now();
        await Promise.all(
          Array.from({ length: n }, async (_, c) => {
            for (let i = 0; i < opts.perClient; i++) latencies.push(await run(QUESTIONS[(c + i) % QUESTIONS.length]));
          }),
        );
        const seconds = (performance.now() - t0) / 1000;
        console.log(
          `  ${String(n).padStart(2)} clients  ${label.padEnd(12)} ${(latencies.length / seconds).toFixed(1).padStart(6)} queries/s   latency ${stats(latencies)}`,
        );
      }
    }
  } finally {
    await service.close();
    await client.connection.close();
    await stack.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(),
  (err: unknown) => {
    console.error(`bench failed: ${(err as Error).stack ?? err}`);
    process.exit(1);
  },
);
