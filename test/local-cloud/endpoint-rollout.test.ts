// UpdateEndpoint's DeploymentConfig as the local cloud executes it: real model processes for the
// old (blue) and new (green) fleets of the tiny model, traffic observed on both while a canary or
// linear rollout bakes (the local-only X-Local-Cloud-Endpoint-Config header names the fleet that
// served), validation in AWS's terms, and auto-rollback on a real CloudWatch alarm (moto) fed by
// the local cloud's own metrics, with the new fleet failing through the fleet fault switch.
// LOCAL_CLOUD_TIME_SCALE is 60, so an AWS minute of waiting lasts a second.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CloudWatchClient, DescribeAlarmsCommand, PutMetricAlarmCommand } from '@aws-sdk/client-cloudwatch';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DeleteEndpointCommand,
  type DeploymentConfig,
  DescribeEndpointCommand,
  type DescribeEndpointOutput,
  SageMakerClient,
  UpdateEndpointCommand,
} from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../../dev/processes.js';
import { venvPython } from '../../dev/tools.js';
import { startLocalCloud, type LocalCloud } from '../../local/server.js';
import { awsEnv, clientConfig, NEVER_READY_ENV, pidsOf, type RecordingPool, recordingPool, settledEndpoint, TGI_IMAGE, TINY_MODEL_ID } from './support.js';

const run = promisify(execFile);
const stateDir = mkdtempSync(join(tmpdir(), 'endpoint-rollout-test-'));
let cloud: LocalCloud;
let pool: RecordingPool;
let sm: SageMakerClient;
let cw: CloudWatchClient;
let runtime: SageMakerRuntimeClient;
/** The fleet (endpoint config) that served the last response, from the local-only header. */
let servedBy: string | undefined;

const BODY = JSON.stringify({ inputs: 'Once upon a time', parameters: { max_new_tokens: 1 } });

async function config(name: string, model: string, instances = 1) {
  await sm.send(
    new CreateEndpointConfigCommand({
      EndpointConfigName: name,
      ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: model, InstanceType: 'ml.g5.xlarge', InitialInstanceCount: instances }],
    }),
  );
}

async function endpoint(name: string, configName = 'cfg-v1'): Promise<void> {
  await sm.send(new CreateEndpointCommand({ EndpointName: name, EndpointConfigName: configName }));
  expect((await settledEndpoint(sm, name))?.EndpointStatus).toBe('InService');
}

/** Deletes a test's endpoint and waits until it is gone, so the next test stays within the instance quota. */
async function remove(name: string): Promise<void> {
  await sm.send(new DeleteEndpointCommand({ EndpointName: name }));
  expect(await settledEndpoint(sm, name)).toBeUndefined();
}

/** Invokes `name` one request after another until `until` resolves; counts answers per serving fleet and failures. */
async function loadDuring<T>(name: string, until: Promise<T>) {
  const served: Record<string, number> = {};
  let failures = 0;
  let done = false;
  void until.finally(() => (done = true));
  while (!done) {
    try {
      servedBy = undefined;
      await runtime.send(new InvokeEndpointCommand({ EndpointName: name, ContentType: 'application/json', Body: BODY }));
      served[servedBy ?? 'unknown'] = (served[servedBy ?? 'unknown'] ?? 0) + 1;
    } catch {
      failures += 1;
    }
  }
  return { served, failures, final: await until };
}

/** Polls DescribeEndpoint until the update settles, collecting each new-fleet stage seen (status and weight). */
async function followUpdate(name: string, stages: string[] = []): Promise<DescribeEndpointOutput> {
  let last!: DescribeEndpointOutput;
  await waitUntil(
    `update of ${name} to settle`,
    async () => {
      last = await sm.send(new DescribeEndpointCommand({ EndpointName: name }));
      const pv = last.PendingDeploymentSummary?.ProductionVariants?.[0];
      const stage = pv ? `${pv.VariantStatus?.[0]?.Status}@${pv.CurrentWeight}` : last.EndpointStatus!;
      if (stages.at(-1) !== stage) stages.push(stage);
      return last.EndpointStatus === 'InService' || last.EndpointStatus === 'Failed';
    },
    { timeoutMs: 120_000, intervalMs: 100 },
  );
  return last;
}

const update = (name: string, configName: string, DeploymentConfig?: DeploymentConfig) =>
  sm.send(new UpdateEndpointCommand({ EndpointName: name, EndpointConfigName: configName, DeploymentConfig }));

const blueGreen = (TrafficRoutingConfiguration: NonNullable<DeploymentConfig['BlueGreenUpdatePolicy']>['TrafficRoutingConfiguration'], extra = {}) => ({
  BlueGreenUpdatePolicy: { TrafficRoutingConfiguration, ...extra },
});

beforeAll(async () => {
  pool = recordingPool(stateDir);
  cloud = await startLocalCloud({ port: 0, stateDir, pool, timeScale: 60 });
  sm = new SageMakerClient(clientConfig(cloud.url));
  cw = new CloudWatchClient(clientConfig(cloud.url));
  runtime = new SageMakerRuntimeClient(clientConfig(cloud.url));
  runtime.middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args);
      servedBy = (result.response as { headers: Record<string, string> }).headers['x-local-cloud-endpoint-config'];
      return result;
    },
    { step: 'deserialize', name: 'servedByFleet' },
  );
  for (const model of ['m-v1', 'm-v2']) {
    await sm.send(new CreateModelCommand({ ModelName: model, PrimaryContainer: { Image: TGI_IMAGE, Environment: { HF_MODEL_ID: TINY_MODEL_ID } } }));
  }
  await sm.send(
    new CreateModelCommand({
      ModelName: 'm-never-ready',
      PrimaryContainer: { Image: TGI_IMAGE, Environment: { HF_MODEL_ID: TINY_MODEL_ID, ...NEVER_READY_ENV } },
    }),
  );
  await config('cfg-v1', 'm-v1');
  await config('cfg-v2', 'm-v2');
  await config('cfg-v2-faulty', 'm-v2');
  await config('cfg-v2-never-ready', 'm-never-ready');
}, 120_000);

afterAll(async () => {
  await cloud?.close();
  rmSync(stateDir, { recursive: true, force: true });
});

describe('UpdateEndpoint with a DeploymentConfig', () => {
  it('refuses what AWS refuses, before anything starts', async () => {
    await endpoint('ro-validate');
    const refused = async (deployment: DeploymentConfig, message: string | RegExp) => {
      const err = (await update('ro-validate', 'cfg-v2', deployment).catch((e: unknown) => e)) as Error;
      expect(err.name).toBe('ValidationException');
      expect(err.message).toMatch(message);
    };
    await refused(
      blueGreen({ Type: 'ALL_AT_ONCE', WaitIntervalInSeconds: 3601 }),
      "Value '3601' at 'deploymentConfig.blueGreenUpdatePolicy.trafficRoutingConfiguration.waitIntervalInSeconds' failed to satisfy constraint: Member must have value less than or equal to 3600",
    );
    await refused(
      blueGreen({ Type: 'CANARY', WaitIntervalInSeconds: 0, CanarySize: { Type: 'CAPACITY_PERCENT', Value: 0 } }, { MaximumExecutionTimeoutInSeconds: 599 }),
      /2 validation errors detected: .*canarySize\.value.*greater than or equal to 1.*maximumExecutionTimeoutInSeconds.*greater than or equal to 600/,
    );
    await refused(blueGreen({ Type: 'CANARY', WaitIntervalInSeconds: 0 }), 'CanarySize is required when Type is CANARY');
    await refused(
      blueGreen({
        Type: 'LINEAR',
        WaitIntervalInSeconds: 0,
        CanarySize: { Type: 'INSTANCE_COUNT', Value: 1 },
        LinearStepSize: { Type: 'CAPACITY_PERCENT', Value: 20 },
      }),
      'CanarySize is only allowed when Type is CANARY',
    );
    await refused(blueGreen({ Type: 'CANARY', WaitIntervalInSeconds: 0, CanarySize: { Type: 'CAPACITY_PERCENT', Value: 60 } }), /CanarySize 60% is invalid/);
    // One instance: a canary of one instance would be the whole fleet.
    await refused(blueGreen({ Type: 'CANARY', WaitIntervalInSeconds: 0, CanarySize: { Type: 'INSTANCE_COUNT', Value: 1 } }), /1 instance\(s\) of 1 is invalid/);
    await refused(
      blueGreen({ Type: 'LINEAR', WaitIntervalInSeconds: 0, LinearStepSize: { Type: 'CAPACITY_PERCENT', Value: 5 } }),
      /LinearStepSize 5% is invalid/,
    );
    await refused(
      {
        ...blueGreen({ Type: 'ALL_AT_ONCE', WaitIntervalInSeconds: 0 }),
        RollingUpdatePolicy: { MaximumBatchSize: { Type: 'CAPACITY_PERCENT', Value: 50 }, WaitIntervalInSeconds: 0 },
      },
      'Only one update policy',
    );
    await refused(
      blueGreen(
        { Type: 'LINEAR', WaitIntervalInSeconds: 300, LinearStepSize: { Type: 'CAPACITY_PERCENT', Value: 50 } },
        { MaximumExecutionTimeoutInSeconds: 600 },
      ),
      /MaximumExecutionTimeoutInSeconds \(600\) must be larger than the total waiting time of the deployment \(600 s/,
    );
    await refused(
      { ...blueGreen({ Type: 'ALL_AT_ONCE', WaitIntervalInSeconds: 0 }), AutoRollbackConfiguration: { Alarms: [{ AlarmName: 'no-such-alarm' }] } },
      'The CloudWatch alarm(s) [no-such-alarm] in AutoRollbackConfiguration do not exist.',
    );
    const unchanged = await sm.send(new DescribeEndpointCommand({ EndpointName: 'ro-validate' }));
    expect(unchanged).toMatchObject({ EndpointStatus: 'InService', EndpointConfigName: 'cfg-v1' });
    expect(unchanged.PendingDeploymentSummary).toBeUndefined();
    await remove('ro-validate');
  }, 120_000);

  it('ALL_AT_ONCE: bakes with all traffic on the new fleet, keeps the old one for TerminationWaitInSeconds, ends on the new config', async () => {
    await endpoint('ro-all');
    const deployment = blueGreen({ Type: 'ALL_AT_ONCE', WaitIntervalInSeconds: 60 }, { TerminationWaitInSeconds: 60 });
    await update('ro-all', 'cfg-v2', deployment);
    const stages: string[] = [];
    const { served, failures, final } = await loadDuring('ro-all', followUpdate('ro-all', stages));
    expect(stages).toEqual(expect.arrayContaining(['Baking@1', 'Updating@1', 'InService']));
    expect(final).toMatchObject({ EndpointStatus: 'InService', EndpointConfigName: 'cfg-v2', LastDeploymentConfig: deployment });
    expect(final.FailureReason).toBeUndefined();
    expect(failures).toBe(0);
    expect(served['cfg-v2']).toBeGreaterThan(0);
    await remove('ro-all');
  }, 120_000);

  it('CANARY: the canary share of the traffic reaches the new fleet while it bakes, then all of it', async () => {
    await endpoint('ro-canary');
    await update('ro-canary', 'cfg-v2', blueGreen({ Type: 'CANARY', WaitIntervalInSeconds: 180, CanarySize: { Type: 'CAPACITY_PERCENT', Value: 50 } }));
    const stages: string[] = [];
    // Load only while the canary bakes: what is served then must come from both fleets.
    const canaryBaking = waitUntil(
      'canary to bake',
      async () => {
        const d = await sm.send(new DescribeEndpointCommand({ EndpointName: 'ro-canary' }));
        return d.PendingDeploymentSummary?.ProductionVariants?.[0]?.VariantStatus?.[0]?.Status === 'Baking';
      },
      { timeoutMs: 60_000, intervalMs: 50 },
    );
    await canaryBaking;
    const canary = await loadDuring('ro-canary', new Promise((r) => setTimeout(r, 2000)));
    expect(canary.failures).toBe(0);
    expect(canary.served['cfg-v1']).toBeGreaterThan(0);
    expect(canary.served['cfg-v2']).toBeGreaterThan(0);
    const final = await followUpdate('ro-canary', stages);
    expect(stages).toContain('Baking@1');
    expect(final).toMatchObject({ EndpointStatus: 'InService', EndpointConfigName: 'cfg-v2' });
    expect(final.ProductionVariants?.[0]).toMatchObject({ CurrentInstanceCount: 1 });
    await remove('ro-canary');
  }, 120_000);

  it('LINEAR through boto3: each step takes its share, traffic on both fleets, ends on the new config', async () => {
    await endpoint('ro-linear');
    const script = [
      'import boto3, json, time',
      "sm = boto3.client('sagemaker')",
      "sm.update_endpoint(EndpointName='ro-linear', EndpointConfigName='cfg-v2', DeploymentConfig={'BlueGreenUpdatePolicy': {",
      "  'TrafficRoutingConfiguration': {'Type': 'LINEAR', 'WaitIntervalInSeconds': 120, 'LinearStepSize': {'Type': 'CAPACITY_PERCENT', 'Value': 50}}}})",
      'seen = []',
      'while True:',
      "  d = sm.describe_endpoint(EndpointName='ro-linear')",
      "  p = d.get('PendingDeploymentSummary')",
      "  s = '%s@%s' % (p['ProductionVariants'][0]['VariantStatus'][0]['Status'], p['ProductionVariants'][0]['CurrentWeight']) if p else d['EndpointStatus']",
      '  if not seen or seen[-1] != s: seen.append(s)',
      "  if d['EndpointStatus'] == 'InService': break",
      '  time.sleep(0.1)',
      "print(json.dumps({'seen': seen, 'config': d['EndpointConfigName']}))",
    ].join('\n');
    const python = run(venvPython(), ['-c', script], { env: awsEnv(cloud.url) });
    const { served, failures, final } = await loadDuring('ro-linear', python);
    const result = JSON.parse(final.stdout) as { seen: string[]; config: string };
    expect(result.config).toBe('cfg-v2');
    expect(result.seen).toEqual(expect.arrayContaining(['Baking@0.5', 'Baking@1', 'InService']));
    expect(failures).toBe(0);
    expect(served['cfg-v1']).toBeGreaterThan(0);
    expect(served['cfg-v2']).toBeGreaterThan(0);
    await remove('ro-linear');
  }, 120_000);

  it('rolls back when an auto-rollback alarm goes into ALARM: traffic back on the old fleet, the new one stopped', async () => {
    await endpoint('ro-alarm');
    await cw.send(
      new PutMetricAlarmCommand({
        AlarmName: 'ro-alarm-5xx',
        Namespace: 'AWS/SageMaker',
        MetricName: 'Invocation5XXErrors',
        Dimensions: [
          { Name: 'EndpointName', Value: 'ro-alarm' },
          { Name: 'VariantName', Value: 'AllTraffic' },
        ],
        Statistic: 'Sum',
        Period: 60,
        EvaluationPeriods: 1,
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
      }),
    );
    const faults = await fetch(`${cloud.url}/_localcloud/faults`, { method: 'POST', body: JSON.stringify({ fleets: { 'cfg-v2-faulty': { '5xx': 1 } } }) });
    expect(faults.status).toBe(200);
    const launchedBefore = pool.fleets.length;
    await update('ro-alarm', 'cfg-v2-faulty', {
      ...blueGreen({ Type: 'CANARY', WaitIntervalInSeconds: 1200, CanarySize: { Type: 'CAPACITY_PERCENT', Value: 50 } }),
      AutoRollbackConfiguration: { Alarms: [{ AlarmName: 'ro-alarm-5xx' }] },
    });
    const stages: string[] = [];
    const { served, failures, final } = await loadDuring('ro-alarm', followUpdate('ro-alarm', stages));
    expect(stages).toEqual(expect.arrayContaining(['Baking@0.5', 'InService']));
    expect(stages).not.toContain('Baking@1');
    expect(final).toMatchObject({ EndpointStatus: 'InService', EndpointConfigName: 'cfg-v1' });
    expect(final.FailureReason).toBe(
      'Update to endpoint configuration "cfg-v2-faulty" was rolled back to "cfg-v1": CloudWatch alarm(s) [ro-alarm-5xx] went into ALARM state with 50% of the traffic on the new fleet.',
    );
    expect(final.PendingDeploymentSummary).toBeUndefined();
    expect(served['cfg-v2-faulty'] ?? 0).toBe(0);
    expect(failures).toBeGreaterThan(0);
    const alarms = await cw.send(new DescribeAlarmsCommand({ AlarmNames: ['ro-alarm-5xx'] }));
    expect(alarms.MetricAlarms?.[0]?.StateValue).toBe('ALARM');
    // The green fleet's processes are gone; afterwards every request is served by the old fleet.
    const green = pool.fleets.slice(launchedBefore).find((f) => f.endpointName === 'ro-alarm')!;
    for (const pid of pidsOf(green.fleet)) expect(() => process.kill(pid, 0)).toThrow();
    const after = await loadDuring('ro-alarm', new Promise((r) => setTimeout(r, 500)));
    expect(after.failures).toBe(0);
    expect(Object.keys(after.served)).toEqual(['cfg-v1']);
    await remove('ro-alarm');
  }, 120_000);

  it('rolls back when MaximumExecutionTimeoutInSeconds passes before the new fleet is healthy', async () => {
    await endpoint('ro-timeout');
    await update('ro-timeout', 'cfg-v2-never-ready', blueGreen({ Type: 'ALL_AT_ONCE', WaitIntervalInSeconds: 0 }, { MaximumExecutionTimeoutInSeconds: 600 }));
    const final = await followUpdate('ro-timeout');
    expect(final).toMatchObject({ EndpointStatus: 'InService', EndpointConfigName: 'cfg-v1' });
    expect(final.FailureReason).toBe(
      'Update to endpoint configuration "cfg-v2-never-ready" was rolled back to "cfg-v1": the deployment exceeded MaximumExecutionTimeoutInSeconds (600 s).',
    );
    await remove('ro-timeout');
  }, 120_000);
});

describe('a restart of the local cloud mid-rollout', () => {
  it('rolls the update back: InService on the old config, relaunched, with a FailureReason naming the interrupted config', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'endpoint-rollout-restart-'));
    let first: LocalCloud | undefined = await startLocalCloud({ port: 0, stateDir: dir, pool: recordingPool(dir), timeScale: 60 });
    try {
      const client = new SageMakerClient(clientConfig(first.url));
      await client.send(new CreateModelCommand({ ModelName: 'm-r', PrimaryContainer: { Image: TGI_IMAGE, Environment: { HF_MODEL_ID: TINY_MODEL_ID } } }));
      for (const name of ['cfg-r1', 'cfg-r2']) {
        await client.send(
          new CreateEndpointConfigCommand({
            EndpointConfigName: name,
            ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: 'm-r', InstanceType: 'ml.g5.xlarge', InitialInstanceCount: 1 }],
          }),
        );
      }
      await client.send(new CreateEndpointCommand({ EndpointName: 'ro-restart', EndpointConfigName: 'cfg-r1' }));
      expect((await settledEndpoint(client, 'ro-restart'))?.EndpointStatus).toBe('InService');
      await client.send(
        new UpdateEndpointCommand({
          EndpointName: 'ro-restart',
          EndpointConfigName: 'cfg-r2',
          DeploymentConfig: blueGreen({ Type: 'CANARY', WaitIntervalInSeconds: 3600, CanarySize: { Type: 'CAPACITY_PERCENT', Value: 10 } }),
        }),
      );
      await waitUntil(
        'the canary to bake',
        async () => {
          const d = await client.send(new DescribeEndpointCommand({ EndpointName: 'ro-restart' }));
          return d.PendingDeploymentSummary?.ProductionVariants?.[0]?.VariantStatus?.[0]?.Status === 'Baking';
        },
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      await first.close();
      first = await startLocalCloud({ port: 0, stateDir: dir, pool: recordingPool(dir), timeScale: 60 });
      const after = new SageMakerClient(clientConfig(first.url));
      const settled = await settledEndpoint(after, 'ro-restart');
      expect(settled).toMatchObject({ EndpointStatus: 'InService', EndpointConfigName: 'cfg-r1' });
      expect(settled?.FailureReason).toBe(
        'The update to endpoint configuration "cfg-r2" was interrupted by a restart of the local cloud; the endpoint stays on "cfg-r1".',
      );
      expect(settled?.PendingDeploymentSummary).toBeUndefined();
    } finally {
      await first?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
