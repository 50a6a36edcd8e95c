// SageMaker's CloudWatch metrics as the local cloud publishes them: real invocations of the tiny
// model on a real endpoint, read back from CloudWatch (moto) through the SDK and the aws CLI,
// with LOCAL_CLOUD_TIME_SCALE turned up so a metric minute passes in a second.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CloudWatchClient, GetMetricStatisticsCommand, ListMetricsCommand } from '@aws-sdk/client-cloudwatch';
import { CreateEndpointCommand, CreateEndpointConfigCommand, CreateModelCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../../dev/processes.js';
import { awsCli } from '../../dev/tools.js';
import { startLocalCloud, type LocalCloud } from '../../local/server.js';
import { awsEnv, clientConfig, recordingPool, settledEndpoint, TGI_IMAGE, TINY_MODEL_ID } from './support.js';

const run = promisify(execFile);
const stateDir = mkdtempSync(join(tmpdir(), 'metrics-test-'));
let cloud: LocalCloud;
let cw: CloudWatchClient;
const ENDPOINT = 'metrics-ep';
const dimensions = [
  { Name: 'EndpointName', Value: ENDPOINT },
  { Name: 'VariantName', Value: 'AllTraffic' },
];

beforeAll(async () => {
  cloud = await startLocalCloud({ port: 0, stateDir, pool: recordingPool(stateDir), timeScale: 60 });
  const sm = new SageMakerClient(clientConfig(cloud.url));
  cw = new CloudWatchClient(clientConfig(cloud.url));
  await sm.send(new CreateModelCommand({ ModelName: 'metrics-model', PrimaryContainer: { Image: TGI_IMAGE, Environment: { HF_MODEL_ID: TINY_MODEL_ID } } }));
  await sm.send(
    new CreateEndpointConfigCommand({
      EndpointConfigName: 'metrics-config',
      ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: 'metrics-model', InstanceType: 'ml.g5.xlarge', InitialInstanceCount: 1 }],
    }),
  );
  await sm.send(new CreateEndpointCommand({ EndpointName: ENDPOINT, EndpointConfigName: 'metrics-config' }));
  expect((await settledEndpoint(sm, ENDPOINT))?.EndpointStatus).toBe('InService');
}, 120_000);

afterAll(async () => {
  await cloud?.close();
  rmSync(stateDir, { recursive: true, force: true });
});

async function statistics(metric: string, statistics: ('Sum' | 'Maximum' | 'SampleCount')[], since: Date) {
  const { Datapoints = [] } = await cw.send(
    new GetMetricStatisticsCommand({
      Namespace: 'AWS/SageMaker',
      MetricName: metric,
      Dimensions: dimensions,
      StartTime: since,
      EndTime: new Date(Date.now() + 60_000),
      Period: 3600,
      Statistics: statistics,
    }),
  );
  return Datapoints;
}

describe('SageMaker metrics', () => {
  it('publishes per-variant invocation metrics with AWS names, units and dimensions', async () => {
    const since = new Date(Date.now() - 60_000);
    const runtime = new SageMakerRuntimeClient(clientConfig(cloud.url));
    const body = JSON.stringify({ inputs: 'Once upon a time', parameters: { max_new_tokens: 4 } });
    for (let i = 0; i < 3; i++) {
      await runtime.send(new InvokeEndpointCommand({ EndpointName: ENDPOINT, ContentType: 'application/json', Body: body }));
    }
    // Unknown variant: a 4XX the caller sees, not counted (AWS counts errors of the variant that served).
    await expect(
      runtime.send(new InvokeEndpointCommand({ EndpointName: ENDPOINT, TargetVariant: 'Nope', ContentType: 'application/json', Body: body })),
    ).rejects.toMatchObject({ name: 'ValidationError' });

    await waitUntil('3 invocations in CloudWatch', async () => (await statistics('Invocations', ['Sum'], since))[0]?.Sum === 3, {
      timeoutMs: 20_000,
      intervalMs: 250,
    });
    expect((await statistics('InvocationsPerInstance', ['Sum'], since))[0]).toMatchObject({ Sum: 3, Unit: 'Count' });
    expect((await statistics('Invocation4XXErrors', ['Sum'], since))[0]?.Sum).toBe(0);
    expect((await statistics('Invocation5XXErrors', ['Sum'], since))[0]?.Sum).toBe(0);
    const [latency] = await statistics('ModelLatency', ['SampleCount', 'Maximum'], since);
    expect(latency).toMatchObject({ SampleCount: 3, Unit: 'Microseconds' });
    expect(latency.Maximum).toBeGreaterThan(0);
    expect((await statistics('OverheadLatency', ['SampleCount'], since))[0]).toMatchObject({ SampleCount: 3, Unit: 'Microseconds' });
    const [concurrency] = await statistics('ConcurrentRequestsPerModel', ['Maximum'], since);
    expect(concurrency.Maximum).toBe(1);

    const { Metrics = [] } = await cw.send(new ListMetricsCommand({ Namespace: 'AWS/SageMaker', Dimensions: dimensions }));
    expect(new Set(Metrics.map((m) => m.MetricName))).toEqual(
      new Set([
        'Invocations',
        'InvocationsPerInstance',
        'Invocation4XXErrors',
        'Invocation5XXErrors',
        'ModelLatency',
        'OverheadLatency',
        'ConcurrentRequestsPerModel',
      ]),
    );
  }, 60_000);

  it('keeps publishing zero invocations while the endpoint idles, readable with aws cloudwatch get-metric-statistics', async () => {
    const since = new Date();
    await waitUntil('an idle period in CloudWatch', async () => (await statistics('Invocations', ['SampleCount'], since))[0]?.SampleCount! >= 2, {
      timeoutMs: 20_000,
      intervalMs: 250,
    });
    const { stdout } = await run(
      awsCli(),
      [
        'cloudwatch',
        'get-metric-statistics',
        '--namespace',
        'AWS/SageMaker',
        '--metric-name',
        'Invocations',
        '--dimensions',
        `Name=EndpointName,Value=${ENDPOINT}`,
        'Name=VariantName,Value=AllTraffic',
        '--start-time',
        since.toISOString(),
        '--end-time',
        new Date(Date.now() + 60_000).toISOString(),
        '--period',
        '3600',
        '--statistics',
        'Sum',
        'SampleCount',
      ],
      { env: awsEnv(cloud.url) },
    );
    const { Datapoints } = JSON.parse(stdout) as { Datapoints: { Sum: number; SampleCount: number }[] };
    expect(Datapoints[0].Sum).toBe(0);
    expect(Datapoints[0].SampleCount).toBeGreaterThanOrEqual(2);
  }, 60_000);
});
