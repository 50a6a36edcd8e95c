// What a workflow's modules cost each run. The SDK's reusable V8 context gives every workflow run
// a module cache of its own, so each run evaluates its bundle's modules again, in code the run
// has not warmed. This bench starts one-line workflows eagerly on a dev server of its own, each in
// a bundle of its own (bench/module-cost-workflows/), taking turns: the empty workflow (the floor),
// one that imports zod, one that builds ragQuery's input schemas, and one that also validates an
// input as ragQuery did first until 'rag-answer-validates'; the two things ragQuery's history
// holds, one patch marker and one local activity, each alone; then ragQuery itself in the rag
// worker's bundle (workflows/rag-queue.ts) over the real answerQuery composition of steps that
// answer at once, so what is left is orchestration and the input validation. Last, two Updates to
// one long-lived run (bench/module-cost-workflows/session.ts), no-op and through one local
// activity: what a session workflow taking each query as an Update would cost. Per run: wall time,
// this process's CPU (client and worker) and the dev server's CPU. Figures go to docs/benchmarks.md and bench/results/workflow-module-cost.json.
//   npx tsx bench/workflow-module-cost.ts [--runs 40]
import { Client } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { Command } from 'commander';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEV_SERVER_SQLITE_PRAGMAS } from '../clients/embedded-stack.js';
import { answerQueryFrom } from '../activities/rag-answer.js';
import type { RagQueryInput } from '../common/rag-input.js';
import { freePort, startProcess, waitUntil } from '../dev/processes.js';
import { temporalCli } from '../dev/tools.js';
import { cpuSeconds } from './process-cpu.js';
import { publishBench } from './report.js';
import { mean, percentile } from './stats.js';
import { integerOption } from '../clients/integer-option.js';

const opts = new Command('bench-workflow-module-cost')
  .option('--runs <n>', 'measured runs per shape', integerOption(1), 40)
  .option('--warmup <n>', 'unmeasured runs per shape first', integerOption(0), 3)
  .parse()
  .opts<{ runs: number; warmup: number }>();

const SHAPES = [
  { label: 'empty workflow (floor)', file: './floor-workflow.ts', type: 'emptyWorkflow' },
  { label: 'imports zod', file: './module-cost-workflows/zod-only.ts', type: 'zodOnly' },
  { label: "builds ragQuery's input schemas", file: './module-cost-workflows/rag-schemas.ts', type: 'ragSchemasOnly' },
  { label: '… and validates the input', file: './module-cost-workflows/rag-validate.ts', type: 'ragValidate' },
  { label: 'one patched() marker', file: './module-cost-workflows/one-patch.ts', type: 'onePatch' },
  {
    label: 'one local activity that returns at once',
    file: './module-cost-workflows/one-local-activity.ts',
    type: 'oneLocalActivity',
    activities: { instant: async () => 0 },
  },
  { label: 'ragQuery (rag worker bundle), steps that answer at once', file: '../workflows/rag-queue.ts', type: 'ragQuery', activities: instantAnswer() },
  { label: 'Update to a running workflow (no new run)', file: './module-cost-workflows/session.ts', type: 'session', update: 'ask' },
  {
    label: '… whose handler runs one local activity',
    file: './module-cost-workflows/session.ts',
    type: 'session',
    update: 'askThroughLocalActivity',
    activities: { instant: async () => 0 },
  },
];

/** answerQuery as the worker composes it, over steps that return at once. */
function instantAnswer() {
  const source = { id: 'a', score: 1, source: 'faq.md', snippet: 'Scale with target tracking.' };
  const answerQuery = answerQueryFrom({
    prepareContext: async ({ query }) => ({
      prompt: query,
      promptTokens: 4,
      contextChunks: 1,
      sources: [source],
      timings: { embed: 0, retrieve: 0, buildPrompt: 0 },
    }),
    generate: async () => ({ answer: 'Use target tracking.', completionTokens: 4 }),
    recordMonitoring: async () => {},
  });
  return { answerQuery };
}
const INPUT: RagQueryInput = {
  query: 'How do I scale?',
  endpointName: 'bench',
  collection: 'documents',
  topK: 3,
  contextTokens: 128,
  generation: { max_new_tokens: 16, greedy: true },
};

Runtime.install({ logger: new DefaultLogger('ERROR') });
const dir = mkdtempSync(join(tmpdir(), 'bench-module-cost-'));
const port = await freePort();
const address = `127.0.0.1:${port}`;
const server = startProcess(
  temporalCli(),
  [
    'server',
    'start-dev',
    '--headless',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--db-filename',
    join(dir, 'temporal.db'),
    ...DEV_SERVER_SQLITE_PRAGMAS,
    '--log-level',
    'error',
  ],
  { logFile: join(dir, 'temporal.log') },
);
const serverPid = server.child.pid as number;
try {
  let connection: NativeConnection | undefined;
  await waitUntil(
    `Temporal dev server on ${address}`,
    async () => {
      connection = await NativeConnection.connect({ address });
      return true;
    },
    { timeoutMs: 60_000, intervalMs: 250, process: server },
  );
  const client = new Client({ connection: connection! });
  const workers = await Promise.all(
    SHAPES.map((s, i) =>
      Worker.create({
        connection: connection!,
        taskQueue: `module-cost-${i}`,
        workflowsPath: fileURLToPath(new URL(s.file, import.meta.url)),
        ...('activities' in s ? { activities: s.activities } : {}),
      }),
    ),
  );
  const running = workers.map((w) => w.run());
  // Update shapes: one run each, started before the rounds and terminated after them.
  const sessions = await Promise.all(
    SHAPES.map((s, i) =>
      'update' in s ? client.workflow.start(s.type, { taskQueue: `module-cost-${i}`, workflowId: `module-cost-session-${i}` }) : undefined,
    ),
  );
  const samples = SHAPES.map(() => ({ wall: [] as number[], ownCpu: [] as number[], serverCpu: [] as number[] }));
  for (let round = 0; round < opts.warmup + opts.runs; round++) {
    for (const [i, shape] of SHAPES.entries()) {
      const cpu0 = process.cpuUsage();
      const server0 = cpuSeconds(serverPid);
      const t0 = performance.now();
      const session = sessions[i];
      if (session && shape.update) {
        await session.executeUpdate(shape.update);
      } else {
        const handle = await client.workflow.start(shape.type, {
          taskQueue: `module-cost-${i}`,
          workflowId: `module-cost-${i}-${round}`,
          args: [INPUT],
          requestEagerStart: true,
        });
        await handle.result();
      }
      const wall = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      if (round < opts.warmup) continue;
      samples[i].wall.push(wall);
      samples[i].ownCpu.push((cpu.user + cpu.system) / 1000);
      samples[i].serverCpu.push((cpuSeconds(serverPid) - server0) * 1000);
    }
  }
  for (const session of sessions) await session?.terminate('bench done');
  for (const w of workers) w.shutdown();
  await Promise.all(running);
  await connection!.close();
  const rows = SHAPES.map((s, i) => [
    s.label,
    percentile(samples[i].wall, 50).toFixed(1),
    mean(samples[i].ownCpu).toFixed(1),
    mean(samples[i].serverCpu).toFixed(1),
  ]);
  const columns = ['workflow', 'wall p50 (ms)', 'client + worker CPU per run (ms)', 'dev server CPU per run (ms)'];
  publishBench('workflow-module-cost', {
    title: 'What a workflow bundle’s modules cost each run',
    method: `${opts.runs} eager-started runs per shape (Updates: ${opts.runs} Updates to one run started before) on the bench's own dev server (WAL), shapes taking turns; CPU of the dev server from /proc (10 ms ticks, so a mean over runs).`,
    columns,
    rows,
    figures: Object.fromEntries(SHAPES.map((s, i) => [s.update ?? s.type, samples[i]])),
  });
} finally {
  await server.stop('SIGTERM', 10_000);
  rmSync(dir, { recursive: true, force: true });
}
