// Inference components against model-based endpoints on the embedded local cloud, same model
// (tiny-llamas) and same instance type: (1) time to InService of a deploy (deployEndpoint, no
// autoscaling, no smoke test) for a model-based endpoint and for IC endpoints with 1 and 2
// copies; (2) InvokeEndpoint latency through a component vs the model-based endpoint (greedy,
// ignore_eos, 64 tokens, the same prompt; paths take turns); (3) the time from
// UpdateInferenceComponentRuntimeConfig (1 → 2 copies) to the first response served by the new
// copy (polled with 1-token invocations until X-Local-Cloud-Copy names a copy not seen before).
// Prints a table and writes it to docs/benchmarks.md and bench/results/inference-components.json;
// asserts nothing.
//   npm run bench:ic [-- --runs 2 --invocations 30 --max-new-tokens 64]
import {
  DescribeInferenceComponentCommand,
  SageMakerClient,
  UpdateInferenceComponentRuntimeConfigCommand,
  waitUntilEndpointInService,
} from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import type { Client } from '@temporalio/client';
import { Command } from 'commander';
import { loadavg } from 'node:os';
import type { DeployEndpointInput, InferenceComponentsDeployInput } from '../common/endpoint-input.js';
import { CONTROL_TASK_QUEUE } from '../common/task-queues.js';
import { readExample } from '../dev/tools.js';
import { publishBench } from './report.js';
import { percentile } from './stats.js';
import { benchWithStack } from './with-stack.js';
import { integerOption } from '../clients/integer-option.js';

const opts = new Command('bench-inference-components')
  .option('--runs <n>', 'deploys per configuration, and scale-outs timed', integerOption(1), 2)
  .option('--invocations <n>', 'measured invocations per path', integerOption(1), 30)
  .option('--warmup <n>', 'unmeasured invocations per path first', integerOption(0), 5)
  .option('--max-new-tokens <n>', 'tokens per invocation (greedy, ignore_eos)', integerOption(1), 64)
  .parse()
  .opts<{ runs: number; invocations: number; warmup: number; maxNewTokens: number }>();

const PROMPT = 'Once upon a time';
const POLL_SECONDS = 0.25;
const TIMEOUTS = { inServiceMinutes: 5, pollIntervalSeconds: POLL_SECONDS };
const COMPONENT = (endpointName: string) => `${endpointName}-llm`;

/** The model-based example on the IC example's instance type, without autoscaling or smoke test. */
function modelDeploy(endpointName: string, instanceType: string): DeployEndpointInput {
  const { autoscaling: _none, ...base } = readExample<DeployEndpointInput & { autoscaling?: unknown }>('deploy-local.json');
  return { ...base, endpointName, variant: { ...base.variant, instanceType, initialInstanceCount: 1 }, timeouts: TIMEOUTS, smokeTest: false };
}

/** The IC example with one component of `copies` copies, without autoscaling or smoke test. */
function icDeploy(endpointName: string, copies: number): InferenceComponentsDeployInput {
  const base = readExample<InferenceComponentsDeployInput>('deploy-local-ic.json');
  const { autoscaling: _none, ...component } = base.components[0];
  return { ...base, endpointName, components: [{ ...component, name: COMPONENT(endpointName), copyCount: copies }], timeouts: TIMEOUTS, smokeTest: false };
}

const deploy = (client: Client, input: DeployEndpointInput | InferenceComponentsDeployInput) =>
  client.workflow.execute('deployEndpoint', { taskQueue: CONTROL_TASK_QUEUE, workflowId: `deploy-${input.endpointName}`, args: [input] }) as Promise<{
    timings: Record<string, number>;
  }>;
const teardown = (client: Client, endpointName: string) =>
  client.workflow.execute('teardownEndpoint', {
    taskQueue: CONTROL_TASK_QUEUE,
    workflowId: `teardown-${endpointName}`,
    args: [{ endpointName, timeouts: { pollIntervalSeconds: POLL_SECONDS } }],
  });

/** CreateEndpoint (or CreateInferenceComponent) until the deploy's wait saw everything InService. */
const TO_IN_SERVICE = /^(createOrUpdateEndpoint|createEndpoint|waitForInService|createInferenceComponent .*|waitForComponent .*)$/;
const inServiceMs = (timings: Record<string, number>) =>
  Object.entries(timings)
    .filter(([step]) => TO_IN_SERVICE.test(step))
    .reduce((sum, [, ms]) => sum + ms, 0);

const body = (maxNewTokens: number) => JSON.stringify({ inputs: PROMPT, parameters: { max_new_tokens: maxNewTokens, ignore_eos: true } });

/** A runtime client whose invoke answers with the copy that served (X-Local-Cloud-Copy; none on model-based endpoints). */
function copyAwareRuntime() {
  const runtime = new SageMakerRuntimeClient({});
  let lastCopy: string | undefined;
  runtime.middlewareStack.add(
    (next) => async (args) => {
      const out = await next(args);
      const headers = (out.response as { headers?: Record<string, string> }).headers ?? {};
      lastCopy = headers['x-local-cloud-copy'];
      return out;
    },
    { step: 'deserialize', name: 'readServingCopy' },
  );
  return async (endpointName: string, component: string | undefined, maxNewTokens: number): Promise<{ ms: number; copy?: string }> => {
    const t0 = performance.now();
    await runtime.send(
      new InvokeEndpointCommand({ EndpointName: endpointName, InferenceComponentName: component, ContentType: 'application/json', Body: body(maxNewTokens) }),
    );
    return { ms: performance.now() - t0, copy: lastCopy };
  };
}

async function untilCopies(sagemaker: SageMakerClient, component: string, copies: number): Promise<void> {
  for (;;) {
    const ic = await sagemaker.send(new DescribeInferenceComponentCommand({ InferenceComponentName: component }));
    if (ic.InferenceComponentStatus === 'InService' && ic.RuntimeConfig?.CurrentCopyCount === copies) return;
    if (ic.InferenceComponentStatus === 'Failed') throw new Error(`${component} failed: ${ic.FailureReason}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const seconds = (ms: number) => (ms / 1000).toFixed(2);

benchWithStack('inference-components', async (client) => {
  const sagemaker = new SageMakerClient({});
  const invoke = copyAwareRuntime();
  const instanceType = readExample<InferenceComponentsDeployInput>('deploy-local-ic.json').variant.instanceType;
  // On a shared machine the start-up times follow the load; the table says what it was.
  const loadAtStart = loadavg()[0];
  const rows: string[][] = [];
  const figures: Record<string, unknown> = {};

  // (1) Time to InService, one deploy at a time (each torn down before the next).
  const configurations: Array<[string, (name: string) => DeployEndpointInput | InferenceComponentsDeployInput]> = [
    ['model-based, 1 instance', (name) => modelDeploy(name, instanceType)],
    ['IC, 1 copy', (name) => icDeploy(name, 1)],
    ['IC, 2 copies', (name) => icDeploy(name, 2)],
  ];
  for (const [i, [label, input]] of configurations.entries()) {
    const inService: number[] = [];
    const whole: number[] = [];
    for (let run = 0; run < opts.runs; run++) {
      const name = `bench-ic-${i}-${run}`;
      const t0 = performance.now();
      const result = await deploy(client, input(name));
      whole.push(performance.now() - t0);
      inService.push(inServiceMs(result.timings));
      await teardown(client, name);
    }
    figures[label] = { inServiceMs: inService, deployMs: whole };
    rows.push([
      `time to InService: ${label}`,
      `${seconds(percentile(inService, 50))} s`,
      `${seconds(Math.max(...inService))} s`,
      `whole deploy p50 ${seconds(percentile(whole, 50))} s`,
    ]);
  }

  // (2) Invoke latency: a model-based endpoint and a 1-copy IC endpoint side by side, taking turns.
  await Promise.all([deploy(client, modelDeploy('bench-model', instanceType)), deploy(client, icDeploy('bench-ic', 1))]);
  const paths: Array<[string, () => Promise<{ ms: number; copy?: string }>]> = [
    ['InvokeEndpoint, model-based', () => invoke('bench-model', undefined, opts.maxNewTokens)],
    ['InvokeEndpoint, through the component', () => invoke('bench-ic', COMPONENT('bench-ic'), opts.maxNewTokens)],
  ];
  const samples = paths.map(() => [] as number[]);
  for (let i = 0; i < opts.warmup + opts.invocations; i++) {
    for (const [p, [, run]] of paths.entries()) {
      const { ms } = await run();
      if (i >= opts.warmup) samples[p].push(ms);
    }
  }
  for (const [p, [label]] of paths.entries()) {
    figures[label] = samples[p];
    rows.push([`${label} (${opts.maxNewTokens} tokens)`, `${percentile(samples[p], 50).toFixed(1)} ms`, `${percentile(samples[p], 95).toFixed(1)} ms`, '']);
  }
  const overhead = percentile(samples[1], 50) - percentile(samples[0], 50);
  rows.push(['invoke overhead of the component path (p50 difference)', `${overhead.toFixed(1)} ms`, '', '']);

  // (3) UpdateInferenceComponentRuntimeConfig 1 → 2 copies until the new copy serves; back to 1 between runs.
  const component = COMPONENT('bench-ic');
  const toServing: number[] = [];
  const toDescribed: number[] = [];
  for (let run = 0; run < opts.runs; run++) {
    const before = new Set<string>();
    for (let k = 0; k < 3; k++) before.add((await invoke('bench-ic', component, 1)).copy ?? '');
    const t0 = performance.now();
    await sagemaker.send(new UpdateInferenceComponentRuntimeConfigCommand({ InferenceComponentName: component, DesiredRuntimeConfig: { CopyCount: 2 } }));
    const described = untilCopies(sagemaker, component, 2).then(() => performance.now() - t0);
    for (;;) {
      const { copy } = await invoke('bench-ic', component, 1);
      if (copy && !before.has(copy)) break;
    }
    toServing.push(performance.now() - t0);
    toDescribed.push(await described);
    await sagemaker.send(new UpdateInferenceComponentRuntimeConfigCommand({ InferenceComponentName: component, DesiredRuntimeConfig: { CopyCount: 1 } }));
    await untilCopies(sagemaker, component, 1);
    await waitUntilEndpointInService({ client: sagemaker, maxWaitTime: 300, minDelay: 1 }, { EndpointName: 'bench-ic' });
  }
  figures.scaleOut = { toNewCopyServingMs: toServing, toDescribedInServiceMs: toDescribed };
  rows.push([
    'UpdateInferenceComponentRuntimeConfig 1→2 → new copy serves',
    `${seconds(percentile(toServing, 50))} s`,
    `${seconds(Math.max(...toServing))} s`,
    `Describe shows 2 copies InService after p50 ${seconds(percentile(toDescribed, 50))} s`,
  ]);
  await Promise.all([teardown(client, 'bench-model'), teardown(client, 'bench-ic')]);

  const columns = ['measure', 'p50', 'p95 / max', 'note'];
  const method =
    `bench/inference-components.ts: tiny-llamas (stories260K) on ${instanceType}, embedded stack. Time to InService = the deploy's ` +
    `CreateEndpoint (+ CreateInferenceComponent) steps and their waits (poll ${POLL_SECONDS} s), ${opts.runs} deploys each, no autoscaling, ` +
    `no smoke test. Invocations: ${opts.invocations} per path after ${opts.warmup} warm-up, taking turns, greedy, ignore_eos, ` +
    `${opts.maxNewTokens} tokens, through the AWS SDK. Scale-out: from the UpdateInferenceComponentRuntimeConfig call until a ` +
    `1-token invocation is answered by a copy not seen before (X-Local-Cloud-Copy), ${opts.runs} times. ` +
    `With ${opts.runs} samples, "p95 / max" is the max. Load average (1 min) ${loadAtStart.toFixed(1)} at the start, ${loadavg()[0].toFixed(1)} at the end.`;
  publishBench('inference-components', { title: 'Inference components vs model-based endpoints', method, columns, rows, figures });
});
