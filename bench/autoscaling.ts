// The reference design's autoscaling stress test, on the embedded stack with
// LOCAL_CLOUD_TIME_SCALE=60 (one metric minute per second): deploys
// examples/deploy-local-ic-autoscale.json (one inference component, target tracking on
// invocations per copy, scale to zero), then idle → a burst of concurrent clients → steady paced
// load → idle until the component is at zero copies → one request that wakes it. Every second
// (one AWS minute) it samples the offered load, the InvocationsPerCopy CloudWatch has, the copies
// (DescribeInferenceComponent), the instances (DescribeEndpoint), p50/p95 latency and errors;
// prints the series and the figures the issue asks for (scaled and AWS-equivalent seconds), and
// writes docs/autoscaling.svg. Figures only: nothing here asserts.
//   npm run bench:autoscaling            (BENCH_BURST_CLIENTS, default 6)
import { CloudWatchClient, GetMetricStatisticsCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeEndpointCommand, DescribeInferenceComponentCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { join } from 'node:path';
import type { InferenceComponentsDeployInput } from '../common/endpoint-input.js';
import { projectRoot } from '../common/project-paths.js';
import { CONTROL_TASK_QUEUE } from '../common/task-queues.js';
import { readExample } from '../dev/tools.js';
import { writeChart } from './chart.js';
import { publishBench } from './report.js';
import { formatTable, percentile } from './stats.js';
import { benchWithStack } from './with-stack.js';

const TIME_SCALE = 60;
process.env.LOCAL_CLOUD_TIME_SCALE ??= String(TIME_SCALE);
const scale = Number(process.env.LOCAL_CLOUD_TIME_SCALE);
const BURST_CLIENTS = Number(process.env.BENCH_BURST_CLIENTS ?? 6);
/** Phase lengths in real seconds (×60 for AWS time). */
const PHASES = { idle: 10, burst: 45, steady: 30, zeroWithin: 120, afterWake: 8 };
/** Steady load: STEADY_CLIENTS clients, each sending one request every STEADY_INTERVAL_MS. */
const STEADY_CLIENTS = 2;
const STEADY_INTERVAL_MS = 400;

const input = readExample<InferenceComponentsDeployInput>('deploy-local-ic-autoscale.json');
const ENDPOINT = input.endpointName;
const COMPONENT = input.components[0]!.name;

interface Sample {
  t: number;
  phase: string;
  clients: number;
  requests: number;
  errors: number;
  invocationsPerCopy: number | null;
  copies: number;
  desiredCopies: number;
  instances: number;
  p50: number | null;
  p95: number | null;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (ms: number) => ms / 1000;
const both = (ms: number | undefined) => (ms === undefined ? 'n/a' : `${seconds(ms).toFixed(1)} s (AWS ≈ ${((seconds(ms) * scale) / 60).toFixed(1)} min)`);

benchWithStack('autoscaling', async (client) => {
  const aws = { region: process.env.AWS_REGION ?? 'us-east-1', endpoint: process.env.AWS_ENDPOINT_URL };
  const sagemaker = new SageMakerClient(aws);
  const runtime = new SageMakerRuntimeClient(aws);
  const cloudwatch = new CloudWatchClient(aws);
  console.log(`deploying ${ENDPOINT} (LOCAL_CLOUD_TIME_SCALE=${scale}) ...`);
  await client.workflow.execute('deployEndpoint', { taskQueue: CONTROL_TASK_QUEUE, workflowId: `deploy-${ENDPOINT}`, args: [input] });

  const started = performance.now();
  const now = () => performance.now() - started;
  let phase = 'idle';
  let clients = 0;
  /** Completed requests since the last sample: when they ended, how long they took, whether they failed. */
  let window: { latencyMs: number; failed: boolean }[] = [];
  const marks: { at: number; label: string }[] = [];
  const mark = (label: string) => {
    phase = label;
    marks.push({ at: Math.round(seconds(now())), label });
  };

  const invoke = async (): Promise<boolean> => {
    const t0 = performance.now();
    try {
      await runtime.send(
        new InvokeEndpointCommand({
          EndpointName: ENDPOINT,
          InferenceComponentName: COMPONENT,
          ContentType: 'application/json',
          Body: JSON.stringify({ inputs: 'Once upon a time', parameters: { max_new_tokens: 16 } }),
        }),
      );
      window.push({ latencyMs: performance.now() - t0, failed: false });
      return true;
    } catch {
      window.push({ latencyMs: performance.now() - t0, failed: true });
      return false;
    }
  };

  /** `n` clients, each sending one request every `intervalMs` (0: back to back), until `stop()`. */
  const load = (n: number, intervalMs: number) => {
    let running = true;
    clients += n;
    const loops = Array.from({ length: n }, async () => {
      while (running) {
        const t0 = performance.now();
        await invoke();
        await sleep(Math.max(0, intervalMs - (performance.now() - t0)));
      }
    });
    return async () => {
      running = false;
      await Promise.all(loops);
      clients -= n;
    };
  };

  const samples: Sample[] = [];
  const sample = async (): Promise<Sample> => {
    const done = window;
    window = [];
    const [ic, endpoint, metric] = await Promise.all([
      sagemaker.send(new DescribeInferenceComponentCommand({ InferenceComponentName: COMPONENT })),
      sagemaker.send(new DescribeEndpointCommand({ EndpointName: ENDPOINT })),
      cloudwatch.send(
        new GetMetricStatisticsCommand({
          Namespace: 'AWS/SageMaker',
          MetricName: 'InvocationsPerCopy',
          Dimensions: [{ Name: 'InferenceComponentName', Value: COMPONENT }],
          StartTime: new Date(Date.now() - 4000),
          EndTime: new Date(),
          Period: 1,
          Statistics: ['Sum'],
        }),
      ),
    ]);
    const newest = (metric.Datapoints ?? []).sort((a, b) => b.Timestamp!.getTime() - a.Timestamp!.getTime())[0];
    const ok = done.filter((r) => !r.failed).map((r) => r.latencyMs);
    const s: Sample = {
      t: Math.round(seconds(now())),
      phase,
      clients,
      requests: done.length,
      errors: done.filter((r) => r.failed).length,
      invocationsPerCopy: newest?.Sum ?? null,
      copies: ic.RuntimeConfig?.CurrentCopyCount ?? 0,
      desiredCopies: ic.RuntimeConfig?.DesiredCopyCount ?? 0,
      instances: endpoint.ProductionVariants?.[0]?.CurrentInstanceCount ?? 0,
      p50: ok.length ? Math.round(percentile(ok, 50)) : null,
      p95: ok.length ? Math.round(percentile(ok, 95)) : null,
    };
    samples.push(s);
    return s;
  };
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const t0 = performance.now();
      await sample();
      await sleep(Math.max(0, 1000 - (performance.now() - t0)));
    }
  })();
  const waitFor = async (done: (s: Sample) => boolean, ms: number): Promise<number | undefined> => {
    const until = now() + ms;
    const from = samples.length;
    while (now() < until) {
      const hit = samples.slice(from).find(done);
      if (hit) return hit.t * 1000;
      await sleep(250);
    }
    return undefined;
  };

  await sleep(PHASES.idle * 1000);
  mark('burst');
  const burstAt = now();
  const copiesAtBurst = samples.at(-1)?.copies ?? 1;
  const stopBurst = load(BURST_CLIENTS, 0);
  const scaledOutAt = await waitFor((s) => s.copies > copiesAtBurst, PHASES.burst * 1000);
  await sleep(Math.max(0, burstAt + PHASES.burst * 1000 - now()));
  await stopBurst();
  mark('steady');
  const steadyAt = now();
  const peak = Math.max(...samples.map((s) => s.copies));
  const stopSteady = load(STEADY_CLIENTS, STEADY_INTERVAL_MS);
  const scaledInAt = await waitFor((s) => s.copies < peak, PHASES.steady * 1000);
  await sleep(Math.max(0, steadyAt + PHASES.steady * 1000 - now()));
  await stopSteady();
  mark('idle');
  const idleAt = now();
  const zeroAt = await waitFor((s) => s.copies === 0 && s.desiredCopies === 0, PHASES.zeroWithin * 1000);
  await sleep(3000);
  mark('wake');
  const wakeAt = now();
  let attempts = 0;
  while (!(await invoke()) && now() - wakeAt < 120_000) {
    attempts++;
    await sleep(250);
  }
  const answeredAt = now();
  await sleep(PHASES.afterWake * 1000);
  sampling = false;
  await sampler;

  const inBurst = samples.filter((s) => s.phase === 'burst' && s.p50 !== null);
  const before = inBurst.filter((s) => scaledOutAt === undefined || s.t * 1000 < scaledOutAt);
  const after = inBurst.filter((s) => scaledOutAt !== undefined && s.t * 1000 >= scaledOutAt + 5000);
  const mean = (xs: Sample[]) => (xs.length ? `${Math.round(xs.reduce((a, s) => a + s.p50!, 0) / xs.length)} ms` : 'n/a');

  console.log(
    formatTable(
      ['t (s)', 'phase', 'clients', 'req/s', 'errors', 'inv/copy', 'copies', 'desired', 'instances', 'p50 ms', 'p95 ms'],
      samples.map((s) => [
        String(s.t),
        s.phase,
        String(s.clients),
        String(s.requests),
        String(s.errors),
        s.invocationsPerCopy === null ? '-' : s.invocationsPerCopy.toFixed(1),
        String(s.copies),
        String(s.desiredCopies),
        String(s.instances),
        s.p50 === null ? '-' : String(s.p50),
        s.p95 === null ? '-' : String(s.p95),
      ]),
    ),
  );
  const method = `LOCAL_CLOUD_TIME_SCALE=${scale} (1 s = 1 AWS minute); ${COMPONENT} from examples/deploy-local-ic-autoscale.json (target ${input.components[0]!.autoscaling!.targetValue} invocations per copy per minute, scale to zero); burst ${BURST_CLIENTS} clients back to back for ${PHASES.burst} s, steady ${STEADY_CLIENTS} clients each every ${STEADY_INTERVAL_MS} ms for ${PHASES.steady} s, then idle until zero copies and one request that wakes it; embedded stack, tiny model, max_new_tokens 16.`;
  const figures: [string, string][] = [
    ['burst start → first extra copy serving', both(scaledOutAt === undefined ? undefined : scaledOutAt - burstAt)],
    ['p50 latency in the burst before scale-out', mean(before)],
    ['p50 latency in the burst after scale-out (+5 s)', mean(after)],
    ['burst end → first copy removed', both(scaledInAt === undefined ? undefined : scaledInAt - steadyAt)],
    ['idle start → zero copies', both(zeroAt === undefined ? undefined : zeroAt - idleAt)],
    [`first request after zero answered (${attempts} refused first)`, both(answeredAt - wakeAt)],
    ['peak copies', String(peak)],
  ];
  publishBench('autoscaling', {
    title: 'Autoscaling: burst, scale in, scale to zero, wake (bench/autoscaling.ts)',
    method,
    columns: ['figure', 'value'],
    rows: figures,
    figures: { samples },
  });

  const svg = await writeChart(join(projectRoot, 'docs', 'autoscaling.svg'), {
    title: `Scale out, in and to zero: ${COMPONENT} (LOCAL_CLOUD_TIME_SCALE=${scale}, 1 s = 1 AWS minute)`,
    x: { field: 't', title: 'seconds since start' },
    panels: [
      { title: 'Offered load', fields: ['clients', 'requests'], unit: 'clients / requests per s' },
      { title: 'Copies and instances', fields: ['copies', 'desiredCopies', 'instances'], unit: 'count' },
      { title: 'Invocations per copy (CloudWatch, per AWS minute)', fields: ['invocationsPerCopy'], unit: 'invocations' },
      { title: 'Latency', fields: ['p50', 'p95'], unit: 'ms' },
    ],
    rows: samples.map(({ phase: _p, ...s }) => s),
    marks,
  });
  console.log(`chart: ${svg}`);

  // Teardown removes the component, its scaling, the endpoint and the rest.
  await client.workflow.execute('teardownEndpoint', { taskQueue: CONTROL_TASK_QUEUE, workflowId: `teardown-${ENDPOINT}`, args: [{ endpointName: ENDPOINT }] });
  for (const c of [sagemaker, runtime, cloudwatch]) c.destroy();
});
