// Rollout bench (issue 14): the embedded stack at LOCAL_CLOUD_TIME_SCALE 60 (default here), a
// two-instance tiny-model endpoint, steady load from 4 clients through InvokeEndpoint, while
// deployEndpoint runs a LINEAR update (50 % steps) to v2; then a CANARY to v3 whose fleet is
// made to fail (the local cloud's fleet fault switch), which its created alarms roll back.
// Prints per-second QPS, p50/p95 latency, errors and the new fleet's traffic share, the figures
// (failed requests during the linear rollout, QPS change against the steady state before it,
// time from the first failed canary request to the endpoint back on v2), and writes
// docs/rollout.svg. Run: npm run bench:rollout.
import { DescribeEndpointCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack } from '../clients/embedded-stack.js';
import { connectClient } from '../clients/temporal-client.js';
import { type DeployEndpointInput, modelEndpointInputSchema } from '../common/endpoint-input.js';
import { projectRoot } from '../common/project-paths.js';
import { endpointConfigName } from '../common/resource-names.js';
import { CONTROL_TASK_QUEUE } from '../common/task-queues.js';
import { localTemporalConnection } from '../common/temporal-connection.js';
import { readExample } from '../dev/tools.js';
import { startSteadyLoad, type LoadSample } from '../test/support/steady-load.js';
import { writeChart } from './chart.js';
import { formatTable, mean, percentile } from './stats.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.LLMOPS_LOG_LEVEL ??= 'warn';
process.env.LOCAL_CLOUD_TIME_SCALE ??= '60';
const ENDPOINT = 'rollout-bench';
const CLIENTS = Number(process.env.BENCH_ROLLOUT_CLIENTS ?? 4);

const version = (v: string, rollout?: DeployEndpointInput['rollout']): DeployEndpointInput => {
  const base = readExample<DeployEndpointInput>('deploy-local.json');
  return {
    ...base,
    endpointName: ENDPOINT,
    autoscaling: undefined,
    smokeTest: false,
    variant: { ...base.variant, initialInstanceCount: 2 },
    model: { ...base.model, environment: { ROLLOUT_VERSION: v } },
    rollout,
  };
};

/** The new fleet's traffic share, sampled from DescribeEndpoint while the load runs. */
function watchShare(sagemaker: SageMakerClient, started: number) {
  const points: { atMs: number; share: number; status: string }[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const ep = await sagemaker.send(new DescribeEndpointCommand({ EndpointName: ENDPOINT }));
      const pending = ep.PendingDeploymentSummary?.ProductionVariants?.[0];
      const share = pending?.DesiredWeight ? ((pending.CurrentWeight ?? 0) / pending.DesiredWeight) * 100 : 0;
      points.push({ atMs: Date.now() - started, share, status: ep.EndpointStatus ?? '' });
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  return { points, stop: async () => ((running = false), await loop, points) };
}

function perSecond(samples: LoadSample[], share: { atMs: number; share: number }[], offsetS: number) {
  const seconds = Math.ceil(Math.max(...samples.map((s) => s.atMs), 1) / 1000);
  return Array.from({ length: seconds }, (_, s) => {
    const inSecond = samples.filter((x) => Math.floor(x.atMs / 1000) === s);
    const ok = inSecond.filter((x) => x.ok).map((x) => x.latencyMs);
    const shares = share.filter((p) => Math.floor(p.atMs / 1000) === s).map((p) => p.share);
    return {
      t: s + offsetS,
      qps: ok.length,
      p50: ok.length ? percentile(ok, 50) : null,
      p95: ok.length ? percentile(ok, 95) : null,
      errors: inSecond.length - ok.length,
      share: shares.length ? Math.max(...shares) : null,
    };
  });
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'llmops-bench-rollout-'));
  const stack = await startStack({ stateDir: join(dir, 'stack'), temporalPort: 0, uiPort: 0, awsPort: 0 });
  try {
    const client = await connectClient(localTemporalConnection(stack.temporalAddress));
    const aws = { region: 'us-east-1', endpoint: stack.awsEndpointUrl, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
    const sagemaker = new SageMakerClient(aws);
    const runtime = new SageMakerRuntimeClient({ ...aws, maxAttempts: 1 });
    const deploy = (id: string, input: DeployEndpointInput) =>
      client.workflow.execute('deployEndpoint', { taskQueue: CONTROL_TASK_QUEUE, workflowId: id, args: [input] });
    await deploy('rollout-bench-v1', version('v1'));

    // Linear update under steady load, with 10 s of steady state before it.
    const load = startSteadyLoad(runtime, ENDPOINT, { clients: CLIENTS });
    const t0 = Date.now();
    const share = watchShare(sagemaker, t0);
    await new Promise((r) => setTimeout(r, 10_000));
    const linearStart = Date.now() - t0;
    await deploy(
      'rollout-bench-v2',
      version('v2', { type: 'linear', linearStepSize: { type: 'CAPACITY_PERCENT', value: 50 }, waitIntervalSeconds: 300, alarms: 'create' }),
    );
    const linearEnd = Date.now() - t0;

    // Canary to a faulty v3: its alarms roll it back.
    const v3 = version('v3', { type: 'canary', canarySize: { type: 'INSTANCE_COUNT', value: 1 }, waitIntervalSeconds: 300, alarms: 'create' });
    await fetch(`${stack.awsEndpointUrl}/_localcloud/faults`, {
      method: 'POST',
      body: JSON.stringify({ fleets: { [endpointConfigName(modelEndpointInputSchema.parse(v3))]: { '5xx': 1 } } }),
    });
    const canaryStart = Date.now() - t0;
    const canaryError = await deploy('rollout-bench-v3', v3).then(
      () => 'the faulty canary was NOT rolled back',
      (e: unknown) => ((e as { cause?: Error }).cause ?? (e as Error)).message,
    );
    const canaryEnd = Date.now() - t0;
    await new Promise((r) => setTimeout(r, 3000));
    const samples = await load.stop();
    const points = await share.stop();

    const rows = perSecond(samples, points, 0);
    const steady = rows.filter((r) => r.t < linearStart / 1000 && r.t >= 2);
    const during = rows.filter((r) => r.t >= linearStart / 1000 && r.t < linearEnd / 1000);
    const qpsBefore = mean(steady.map((r) => r.qps));
    const qpsDuring = mean(during.map((r) => r.qps));
    // On AWS the new fleet starts on its own instances; here its model processes load on the same
    // two cores as the serving fleet, so the provisioning phase is reported apart from the phase
    // in which traffic actually shifts (from the first share > 0 to InService on v2).
    const shiftStart = points.find((p) => p.atMs >= linearStart && p.share > 0)?.atMs ?? linearEnd;
    const qpsOver = (from: number, to: number) => mean(rows.filter((r) => r.t >= from / 1000 && r.t < to / 1000).map((r) => r.qps));
    const qpsProvisioning = qpsOver(linearStart, shiftStart);
    const qpsShifting = qpsOver(shiftStart, linearEnd);
    const change = (q: number) => `${(((q - qpsBefore) / qpsBefore) * 100).toFixed(1)} %`;
    const failedLinear = samples.filter((s) => !s.ok && s.atMs >= linearStart && s.atMs < linearEnd).length;
    const firstCanaryFailure = samples.find((s) => !s.ok && s.atMs >= canaryStart)?.atMs;
    const backOnV2 = points.find((p) => p.atMs > (firstCanaryFailure ?? canaryEnd) && p.status === 'InService')?.atMs;

    console.log(
      formatTable(
        ['t (s)', 'QPS', 'p50 ms', 'p95 ms', 'errors', 'new fleet %'],
        rows.map((r) => [
          String(r.t),
          String(r.qps),
          String(r.p50 ?? '-'),
          String(r.p95 ?? '-'),
          String(r.errors),
          r.share === null ? '-' : r.share.toFixed(0),
        ]),
      ),
    );
    console.log('');
    console.log(
      `LINEAR rollout v1 -> v2 (${CLIENTS} clients, time scale ${process.env.LOCAL_CLOUD_TIME_SCALE}): ${((linearEnd - linearStart) / 1000).toFixed(1)} s`,
    );
    console.log(`  failed requests during the rollout: ${failedLinear} of ${samples.filter((s) => s.atMs >= linearStart && s.atMs < linearEnd).length}`);
    console.log(`  QPS before ${qpsBefore.toFixed(2)}, during the whole rollout ${qpsDuring.toFixed(2)}: change ${change(qpsDuring)}`);
    console.log(
      `    provisioning the new fleet (${((shiftStart - linearStart) / 1000).toFixed(1)} s, its processes loading on the same cores): ${qpsProvisioning.toFixed(2)} (${change(qpsProvisioning)})`,
    );
    console.log(
      `    shifting traffic (${((linearEnd - shiftStart) / 1000).toFixed(1)} s, both fleets serving): ${qpsShifting.toFixed(2)} (${change(qpsShifting)})`,
    );
    console.log(`CANARY v2 -> faulty v3: ${canaryError}`);
    console.log(
      `  time from the first failed canary request to InService on v2: ${firstCanaryFailure !== undefined && backOnV2 !== undefined ? ((backOnV2 - firstCanaryFailure) / 1000).toFixed(1) : '?'} s (deploy failed ${((canaryEnd - canaryStart) / 1000).toFixed(1)} s after it started)`,
    );

    const svg = await writeChart(join(projectRoot, 'docs', 'rollout.svg'), {
      title: `Linear update then a faulty canary under ${CLIENTS} clients (local cloud, time scale ${process.env.LOCAL_CLOUD_TIME_SCALE})`,
      x: { field: 't', title: 'seconds' },
      panels: [
        { title: 'Requests per second', fields: ['qps'], unit: 'req/s' },
        { title: 'Latency', fields: ['p50', 'p95'], unit: 'ms' },
        { title: 'Failed requests', fields: ['errors'], unit: 'per s' },
        { title: "New fleet's traffic share", fields: ['share'], unit: '%' },
      ],
      rows,
      marks: [
        { at: Math.round(linearStart / 1000), label: 'linear update' },
        { at: Math.round(shiftStart / 1000), label: 'traffic shifts' },
        { at: Math.round(linearEnd / 1000), label: 'v2 InService' },
        { at: Math.round(canaryStart / 1000), label: 'faulty canary' },
        ...(backOnV2 !== undefined ? [{ at: Math.round(backOnV2 / 1000), label: 'rolled back' }] : []),
      ],
    });
    console.log(`chart: ${svg}`);
  } finally {
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
