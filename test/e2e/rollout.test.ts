// End to end, issue 14: deployEndpoint updates a live two-instance endpoint through the local
// cloud's rollout, with real model processes and steady load. First a canary whose new fleet is
// made to fail (the local cloud's fleet fault switch, aimed at the new config): the alarms the
// deploy created trip, SageMaker rolls back, and the deploy fails leaving the endpoint on v1 and
// nothing of v2 (model, config, alarms). Then a healthy canary under the same load: not one
// request fails, and the endpoint ends on v3 with its alarms removed.
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeEndpointCommand, ListEndpointConfigsCommand, ListModelsCommand } from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DeployEndpointInput, modelEndpointInputSchema } from '../../common/endpoint-input.js';
import { endpointConfigName } from '../../common/resource-names.js';
import { CONTROL_TASK_QUEUE } from '../../common/task-queues.js';
import { readExample } from '../../dev/tools.js';
import type { DeployEndpointResult } from '../../workflows/deploy-endpoint.js';
import { startE2eStack, type E2eStack } from '../support/e2e-stack.js';
import { startSteadyLoad } from '../support/steady-load.js';

const ENDPOINT = 'rollout-e2e';
let stack: E2eStack;
let runtime: SageMakerRuntimeClient;
let cloudwatch: CloudWatchClient;
const previousScale = process.env.LOCAL_CLOUD_TIME_SCALE;

beforeAll(async () => {
  // A minute of AWS time (bake, alarm period) is a second here.
  process.env.LOCAL_CLOUD_TIME_SCALE = '60';
  stack = await startE2eStack({ faults: {} });
  const config = { region: 'us-east-1', endpoint: stack.cloudUrl, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  // One attempt per request: an SDK retry would hide a failed request from the count.
  runtime = new SageMakerRuntimeClient({ ...config, maxAttempts: 1 });
  cloudwatch = new CloudWatchClient(config);
}, 120_000);
afterAll(async () => {
  await stack?.stop();
  if (previousScale === undefined) delete process.env.LOCAL_CLOUD_TIME_SCALE;
  else process.env.LOCAL_CLOUD_TIME_SCALE = previousScale;
});

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
const canary = {
  type: 'canary',
  canarySize: { type: 'INSTANCE_COUNT', value: 1 },
  waitIntervalSeconds: 300,
  alarms: 'create',
  createdAlarms: { max5xxErrors: 0, maxModelLatencyMs: 30_000, periodSeconds: 60 },
} as const;

const deploy = (id: string, input: DeployEndpointInput) =>
  stack.env.client.workflow.execute<(i: DeployEndpointInput) => Promise<DeployEndpointResult>>('deployEndpoint', {
    taskQueue: CONTROL_TASK_QUEUE,
    workflowId: id,
    args: [input],
  });

async function leftovers() {
  const configs = (await stack.sagemaker.send(new ListEndpointConfigsCommand({ NameContains: ENDPOINT }))).EndpointConfigs ?? [];
  const models = (await stack.sagemaker.send(new ListModelsCommand({ NameContains: ENDPOINT }))).Models ?? [];
  const alarms = (await cloudwatch.send(new DescribeAlarmsCommand({ AlarmNamePrefix: `llmops-rollout-${ENDPOINT}` }))).MetricAlarms ?? [];
  return { configs: configs.map((c) => c.EndpointConfigName), models: models.map((m) => m.ModelName), alarms: alarms.map((a) => a.AlarmName) };
}

describe('rollouts on the local cloud', () => {
  it('a faulty canary is rolled back by its alarms leaving v1 alone; a healthy canary under load loses no request', async () => {
    const v1 = await deploy('rollout-e2e-v1', version('v1'));
    expect(v1.action).toBe('created');

    // v2's fleet answers every request with a 5XX: its canary must trip the created alarm.
    const v2 = version('v2', canary);
    const v2Config = endpointConfigName(modelEndpointInputSchema.parse(v2));
    const res = await fetch(`${stack.cloudUrl}/_localcloud/faults`, { method: 'POST', body: JSON.stringify({ fleets: { [v2Config]: { '5xx': 1 } } }) });
    expect(res.status).toBe(200);
    const faultyLoad = startSteadyLoad(runtime, ENDPOINT, { clients: 2 });
    const err = await deploy('rollout-e2e-v2', v2).then(
      () => undefined,
      (e: unknown) => e,
    );
    const duringFault = await faultyLoad.stop();
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const message = ((err as WorkflowFailedError).cause as Error).message;
    expect(message).toContain('failed at step followRollout');
    expect(message).toMatch(/rolled back to /);
    expect(duringFault.some((s) => !s.ok)).toBe(true); // the canary did serve, and failed
    const afterRollback = await stack.sagemaker.send(new DescribeEndpointCommand({ EndpointName: ENDPOINT }));
    expect(afterRollback).toMatchObject({ EndpointStatus: 'InService', EndpointConfigName: v1.endpointConfigName });
    expect(afterRollback.FailureReason).toBeTruthy();
    expect(await leftovers()).toEqual({ configs: [v1.endpointConfigName], models: [v1.modelName], alarms: [] });

    // v3 is healthy: under the same load, not one request fails while traffic moves to it.
    const load = startSteadyLoad(runtime, ENDPOINT, { clients: 2 });
    const v3 = await deploy('rollout-e2e-v3', version('v3', canary));
    const samples = await load.stop();
    expect(v3.action).toBe('updated');
    expect(samples.length).toBeGreaterThan(10);
    expect(samples.filter((s) => !s.ok)).toEqual([]);
    const done = await stack.sagemaker.send(new DescribeEndpointCommand({ EndpointName: ENDPOINT }));
    expect(done).toMatchObject({ EndpointStatus: 'InService', EndpointConfigName: v3.endpointConfigName });
    expect((await leftovers()).alarms).toEqual([]);
  }, 600_000);
});
