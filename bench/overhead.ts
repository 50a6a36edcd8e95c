// What orchestration costs per RAG query, honestly: per query, the wall time the caller saw minus
// the time spent inside the steps (each activity's own duration, timed around the activity by
// bench/step-timer.ts, or each call's duration on the direct path; for /rag/stream the prepare
// run's activities plus the endpoint stream's own latency). Generation is deterministic: greedy
// with a fixed max_new_tokens and no stop sequence; TGI has no "ignore EOS" switch, so the bench
// checks on the stream path that every answer ran to max_new_tokens (the tiny TinyStories model does
// not reach EOS within 16 greedy tokens of these prompts). Paths: the steps called directly in
// one process, ragQuery through Temporal (a gRPC client, then eager start on the worker's
// NativeConnection), POST /rag and POST /rag/stream through the RAG service, which hosts that
// worker, and an empty workflow started eagerly (bench/floor-workflow.ts), Temporal's own floor. Figures go to docs/benchmarks.md and bench/results/overhead.json; nothing is asserted.
//   npx tsx bench/overhead.ts [--queries 30] [--max-new-tokens 16] [--baseline]
// --baseline: the service runs no worker of its own and nothing starts eagerly (as before issue 13).
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { Command } from 'commander';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { DenseEmbedder } from '../activities/embeddings/dense.js';
import { createRagActivities } from '../activities/rag.js';
import { readServerSentEvents } from '../activities/server-sent-events.js';
import { openVectorStore } from '../activities/vector-store/select.js';
import { startStack } from '../clients/embedded-stack.js';
import { startRagService } from '../clients/rag-service/server.js';
import { connectClient } from '../clients/temporal-client.js';
import { executeRagQuery, runDeploy } from '../clients/workflow-runs.js';
import type { DeployEndpointInput } from '../common/endpoint-input.js';
import { projectRoot } from '../common/project-paths.js';
import type { RagQuerySpec } from '../common/rag-input.js';
import { NO_RERANKER } from '../common/rag-result.js';
import { RAG_TASK_QUEUE } from '../common/task-queues.js';
import { clientDataConverter, localTemporalConnection, workerDataConverter } from '../common/temporal-connection.js';
import { readExample } from '../dev/tools.js';
import { createRagWorker } from '../workers/rag.js';
import { publishBench } from './report.js';
import { percentile } from './stats.js';
import { cpuSeconds } from './process-cpu.js';
import { StepTimer } from './step-timer.js';
import { ragServiceConfig } from '../common/config.js';
import { integerOption } from '../clients/integer-option.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.LLMOPS_LOG_LEVEL ??= 'warn';

const opts = new Command('bench-overhead')
  .option('--queries <n>', 'measured queries per path', integerOption(1), 30)
  .option('--warmup <n>', 'unmeasured queries per path first', integerOption(0), 3)
  .option('--max-new-tokens <n>', 'tokens generated per answer (greedy, no stop)', integerOption(1), 16)
  .option('--baseline', 'no in-process worker in the service, no eager start')
  .parse()
  .opts<{ queries: number; warmup: number; maxNewTokens: number; baseline?: boolean }>();

const QUESTIONS = [
  'How do I scale a SageMaker endpoint?',
  'What does the TGI container need in its environment?',
  'How does a batch transform job read its input?',
  'What metric does target tracking use for endpoints?',
  'How do I stream tokens from an endpoint?',
];
const KEY = 'bench-key-0123456789';
const ENDPOINT = 'bench-overhead';
const COLLECTION = 'documents';
const CONTEXT_TOKENS = 128;
/** Its own queue, so the stack's rag worker takes none of these runs (their steps go untimed). */
const TASK_QUEUE = `${RAG_TASK_QUEUE}-overhead`;
const GENERATION = { max_new_tokens: opts.maxNewTokens, greedy: true, temperature: 0.7, top_p: 0.9, repetition_penalty: 1.1 };

interface Sample {
  wallMs: number;
  stepsMs: number;
  /** CPU time the Temporal dev server spent while this query ran (Linux /proc; undefined elsewhere). */
  serverCpuMs?: number;
}

/** User + system CPU ms of a process so far; undefined without a pid or where there is no /proc. */
function processCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    return cpuSeconds(pid) * 1000;
  } catch {
    return undefined;
  }
}
const sum = (steps: Record<string, number>) => Object.values(steps).reduce((a, b) => a + b, 0);
/** Two queries in a row never share a question: the model process reuses a common prompt prefix. */
const question = (i: number) => QUESTIONS[i % QUESTIONS.length];

async function main(): Promise<void> {
  const stateDir = mkdtempSync(join(tmpdir(), 'bench-overhead-'));
  process.env.LLMOPS_MONITORING_FILE = join(stateDir, 'prompts.jsonl');
  const stack = await startStack({ stateDir, temporalPort: 0, uiPort: 0, awsPort: 0 });
  const client = await connectClient(localTemporalConnection(stack.temporalAddress));
  // The service's worker and its client share this connection: what eager start requires.
  const native = await NativeConnection.connect({ address: stack.temporalAddress });
  const nativeClient = new Client({ connection: native, namespace: 'default', dataConverter: clientDataConverter() });
  const timer = new StepTimer();
  const lanceDir = join(stateDir, 'vector-store');
  const workerOptions = { vectorStore: { backend: 'lancedb' as const, lanceDir }, activityInterceptors: [timer.interceptor] };
  const own = opts.baseline ? await createRagWorker({ ...workerOptions, connection: native, taskQueue: TASK_QUEUE }) : undefined;
  const ownRunning = own?.worker.run();
  const floorQueue = `${TASK_QUEUE}-floor`;
  const floor = await Worker.create({
    connection: native,
    taskQueue: floorQueue,
    workflowsPath: fileURLToPath(new URL('./floor-workflow.ts', import.meta.url)),
    dataConverter: workerDataConverter(),
  });
  const floorRunning = floor.run();
  const service = await startRagService({
    client: nativeClient,
    runtime: new SageMakerRuntimeClient({}),
    sagemaker: new SageMakerClient({}),
    apiKeys: [{ key: KEY, endpoints: [ENDPOINT], collections: [COLLECTION] }],
    rateLimitPerMinute: 1_000_000,
    taskQueue: TASK_QUEUE,
    ...(opts.baseline ? {} : { ragWorker: workerOptions }),
    logger: pino({ level: 'warn' }, pino.destination(2)),
  });
  const embedder = new DenseEmbedder();
  const store = await openVectorStore({ backend: 'lancedb', lanceDir });
  try {
    const deploy = readExample<DeployEndpointInput>('deploy-local.json');
    const { autoscaling: _none, ...single } = deploy;
    await runDeploy(client, { ...single, endpointName: ENDPOINT, model: { ...single.model, maxInputTokens: 1024, maxTotalTokens: 1200 }, smokeTest: false });
    const ingest = readExample<Record<string, unknown>>('ingest-local.json');
    await client.workflow.execute('ingestDocuments', {
      taskQueue: RAG_TASK_QUEUE,
      workflowId: 'bench-ingest',
      args: [{ ...ingest, collection: COLLECTION, source: { directory: join(projectRoot, 'examples', 'corpus') } }],
    });

    const spec = (i: number): RagQuerySpec =>
      ({ query: question(i), endpointName: ENDPOINT, collection: COLLECTION, contextTokens: CONTEXT_TOKENS, generation: GENERATION }) as RagQuerySpec;
    const rag = createRagActivities({
      s3: new S3Client({}),
      runtime: new SageMakerRuntimeClient({}),
      embedder,
      store: async () => store,
      monitoringFile: ragServiceConfig.read().LLMOPS_MONITORING_FILE,
    });
    const timed = async <T>(steps: Record<string, number>, name: string, run: () => Promise<T>): Promise<T> => {
      const t0 = performance.now();
      try {
        return await run();
      } finally {
        steps[name] = performance.now() - t0;
      }
    };
    let streamedTokens: number[] = [];

    const paths: Array<[string, (i: number) => Promise<Sample>]> = [
      [
        'direct, one process',
        async (i) => {
          const q = spec(i);
          const steps: Record<string, number> = {};
          const t0 = performance.now();
          const v = await timed(steps, 'embed', () => rag.embedQuery({ query: q.query }));
          const hits = await timed(steps, 'retrieve', () =>
            rag.retrieve({ collection: COLLECTION, dense: v.dense, sparse: v.sparse, mode: 'hybrid', topK: 5 }),
          );
          const built = await timed(steps, 'buildPrompt', () => rag.buildPrompt({ query: q.query, hits, contextTokens: CONTEXT_TOKENS }));
          const out = await timed(steps, 'generate', () =>
            rag.generate({ endpointName: ENDPOINT, prompt: built.prompt, format: 'tgi', generation: GENERATION }),
          );
          await timed(steps, 'recordMonitoring', () =>
            rag.recordMonitoring({
              query: q.query,
              answer: out.answer,
              prompt: built.prompt,
              sources: built.sources,
              timings: {},
              model: { endpointName: ENDPOINT, format: 'tgi' },
              usage: { promptTokens: built.promptTokens, contextChunks: built.contextChunks },
              reranker: NO_RERANKER,
              at: new Date().toISOString(),
              via: 'workflow',
              workflowId: 'direct',
            }),
          );
          return { wallMs: performance.now() - t0, stepsMs: sum(steps) };
        },
      ],
      [
        // Temporal's own cost per run here, with nothing to do: the floor under every path below.
        'empty workflow, eager start (floor)',
        async (i) => {
          const t0 = performance.now();
          const handle = await nativeClient.workflow.start('emptyWorkflow', {
            taskQueue: floorQueue,
            workflowId: `floor-${i}-${Date.now()}`,
            requestEagerStart: true,
          });
          await handle.result();
          return { wallMs: performance.now() - t0, stepsMs: 0 };
        },
      ],
      [
        'ragQuery, gRPC client',
        async (i) => {
          const t0 = performance.now();
          const run = await executeRagQuery(client, spec(i), { taskQueue: TASK_QUEUE });
          return { wallMs: performance.now() - t0, stepsMs: sum(timer.take(run.workflowId)) };
        },
      ],
      ...(opts.baseline
        ? []
        : ([
            [
              'ragQuery, eager start',
              async (i: number) => {
                const t0 = performance.now();
                const run = await executeRagQuery(nativeClient, spec(i), { taskQueue: TASK_QUEUE, eagerStart: true });
                return { wallMs: performance.now() - t0, stepsMs: sum(timer.take(run.workflowId)) };
              },
            ],
          ] as Array<[string, (i: number) => Promise<Sample>]>)),
      [
        'POST /rag',
        async (i) => {
          const t0 = performance.now();
          const res = await fetch(`${service.url}/rag`, { method: 'POST', headers: { 'x-api-key': KEY }, body: JSON.stringify(spec(i)) });
          const body = await res.json();
          if (res.status !== 200) throw new Error(`/rag answered ${res.status}: ${JSON.stringify(body)}`);
          return { wallMs: performance.now() - t0, stepsMs: sum(timer.take(res.headers.get('x-workflow-id')!)) };
        },
      ],
      [
        'POST /rag/stream (to done)',
        async (i) => {
          const t0 = performance.now();
          const res = await fetch(`${service.url}/rag/stream`, { method: 'POST', headers: { 'x-api-key': KEY }, body: JSON.stringify(spec(i)) });
          if (res.status !== 200) throw new Error(`/rag/stream answered ${res.status}: ${await res.text()}`);
          for await (const { event, data } of readServerSentEvents(res.body as AsyncIterable<Uint8Array>)) {
            if (event === 'error') throw new Error(`stream error: ${data}`);
            if (event !== 'done') continue;
            const wallMs = performance.now() - t0;
            const done = JSON.parse(data) as { workflowId: string; timings: { generate: number }; usage: { completionTokens: number } };
            streamedTokens.push(done.usage.completionTokens);
            return { wallMs, stepsMs: sum(timer.take(done.workflowId)) + done.timings.generate };
          }
          throw new Error('stream ended without done');
        },
      ],
    ];

    const results: Array<{ path: string; samples: Sample[] }> = [];
    for (const [path] of paths) results.push({ path, samples: [] });
    for (let i = 0; i < opts.warmup; i++) for (const [, run] of paths) await run(i);
    streamedTokens = [];
    // The paths take turns, so drift (other processes on the machine) affects them alike.
    for (let i = 0; i < opts.queries; i++) {
      for (const [p, [, run]] of paths.entries()) {
        const cpu0 = processCpuMs(stack.temporalPid);
        const sample = await run(i + p);
        const cpu1 = processCpuMs(stack.temporalPid);
        results[p].samples.push(cpu0 === undefined || cpu1 === undefined ? sample : { ...sample, serverCpuMs: cpu1 - cpu0 });
      }
    }

    const f = (x: number) => x.toFixed(1);
    const rows = results.map(({ path, samples }) => {
      const overhead = samples.map((s) => s.wallMs - s.stepsMs);
      return [
        path,
        f(
          percentile(
            samples.map((s) => s.wallMs),
            50,
          ),
        ),
        f(
          percentile(
            samples.map((s) => s.stepsMs),
            50,
          ),
        ),
        f(percentile(overhead, 50)),
        f(percentile(overhead, 95)),
        // Ticks are 10 ms, so the mean over the queries, not a percentile.
        samples.every((s) => s.serverCpuMs !== undefined) ? f(samples.reduce((a, s) => a + s.serverCpuMs!, 0) / samples.length) : '-',
      ];
    });
    const fixed = streamedTokens.every((n) => n === opts.maxNewTokens);
    const columns = ['path', 'wall p50 ms', 'in steps p50 ms', 'overhead p50 ms', 'overhead p95 ms', 'Temporal server CPU ms/query (mean)'];
    console.log(`streamed answers of exactly ${opts.maxNewTokens} tokens: ${fixed ? 'all' : `no (${[...new Set(streamedTokens)].join(', ')})`}`);
    publishBench(opts.baseline ? 'overhead-baseline' : 'overhead', {
      title: `Orchestration overhead per RAG query${opts.baseline ? ' (baseline: no eager start, no in-process worker)' : ''}`,
      method: `bench/overhead.ts, ${opts.queries} sequential queries per path (paths take turns), greedy, max_new_tokens ${opts.maxNewTokens}, no stop sequence${fixed ? ' (every streamed answer had exactly that many tokens)' : ''}, contextTokens ${CONTEXT_TOKENS}, tiny TinyStories endpoint, embedded stack. Overhead = wall time the caller saw − time inside the steps (activities timed around their execution; /rag/stream adds the endpoint stream's own latency). Temporal server CPU = the dev server process's user + system time while the query ran (/proc, 10 ms ticks), averaged; on 2 cores it is the floor under any workflow per query.`,
      columns,
      rows,
      figures: Object.fromEntries(results.map(({ path, samples }) => [path, samples])),
    });
  } finally {
    await service.close();
    floor.shutdown();
    await floorRunning;
    if (own) {
      own.worker.shutdown();
      await ownRunning;
      await own.close();
    }
    await embedder.dispose();
    await store.close();
    await native.close();
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
