// End to end, scale to zero: the deployEndpoint workflow with examples/deploy-local-ic-autoscale.json
// (one component, autoscaling.scaleToZero) on a real Temporal dev server, the control worker,
// and the local cloud with LOCAL_CLOUD_TIME_SCALE 60 (one metric minute per second) and real
// model processes. Generated load makes target tracking add copies; idle takes them to zero;
// an invoke then fails as AWS fails it, the failures (NoCapacityInvocationFailures) wake the
// component through the step policy, a later invoke is answered; teardown leaves no scalable
// target, scaling policy, alarm or component.
import { DescribeScalableTargetsCommand, DescribeScalingPoliciesCommand } from '@aws-sdk/client-application-auto-scaling';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeInferenceComponentCommand, ListInferenceComponentsCommand } from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand } from '@aws-sdk/client-sagemaker-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InferenceComponentsDeployInput } from '../../common/endpoint-input.js';
import { CONTROL_TASK_QUEUE } from '../../common/task-queues.js';
import { readExample } from '../../dev/tools.js';
import type { InferenceComponentsDeployResult } from '../../workflows/deploy-inference-components.js';
import { startE2eStack, type E2eStack } from '../support/e2e-stack.js';

const TIME_SCALE = 60;
const input = readExample<InferenceComponentsDeployInput>('deploy-local-ic-autoscale.json');
const ENDPOINT = input.endpointName;
const COMPONENT = input.components[0]!.name;

let stack: E2eStack;
let cloudwatch: CloudWatchClient;

beforeAll(async () => {
  stack = await startE2eStack({ timeScale: TIME_SCALE });
  cloudwatch = new CloudWatchClient({ region: 'us-east-1', endpoint: stack.cloudUrl, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
}, 120_000);
afterAll(async () => {
  cloudwatch?.destroy();
  await stack?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const invoke = () =>
  stack.runtime.send(
    new InvokeEndpointCommand({
      EndpointName: ENDPOINT,
      InferenceComponentName: COMPONENT,
      ContentType: 'application/json',
      Body: JSON.stringify({ inputs: 'Once upon a time', parameters: { max_new_tokens: 4 } }),
    }),
  );

async function copies(): Promise<{ desired: number; current: number }> {
  const ic = await stack.sagemaker.send(new DescribeInferenceComponentCommand({ InferenceComponentName: COMPONENT }));
  return { desired: ic.RuntimeConfig?.DesiredCopyCount ?? -1, current: ic.RuntimeConfig?.CurrentCopyCount ?? -1 };
}

/** Polls until `done` holds or `ms` pass; returns the last copy counts. */
async function waitForCopies(done: (c: { desired: number; current: number }) => boolean, ms: number) {
  const until = Date.now() + ms;
  let last = await copies();
  while (!done(last) && Date.now() < until) {
    await sleep(500);
    last = await copies();
  }
  return last;
}

describe('scale to zero on the local cloud', () => {
  it('grows copies under load, goes to zero when idle, wakes on an invoke, and tears down completely', async () => {
    const deployed: InferenceComponentsDeployResult = await stack.env.client.workflow.execute('deployEndpoint', {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId: `deploy-${ENDPOINT}`,
      args: [input],
    });
    const scaling = deployed.components[0]!.autoscaling;
    expect(scaling?.wakeFromZero?.alarmName).toBe(`${COMPONENT}-no-capacity`);
    const { MetricAlarms = [] } = await cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: [`${COMPONENT}-no-capacity`] }));
    expect(MetricAlarms[0]).toMatchObject({
      Namespace: 'AWS/SageMaker',
      MetricName: 'NoCapacityInvocationFailures',
      Dimensions: [{ Name: 'InferenceComponentName', Value: COMPONENT }],
      Statistic: 'Sum',
      Period: 60,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [scaling!.wakeFromZero!.policyArn],
    });

    // Load: four clients invoking back to back until target tracking has added a copy.
    let loading = true;
    let served = 0;
    const clients = Array.from({ length: 4 }, async () => {
      while (loading) {
        await invoke();
        served++;
      }
    });
    const grown = await waitForCopies((c) => c.current >= 2, 120_000);
    loading = false;
    await Promise.all(clients);
    expect(grown.current).toBeGreaterThanOrEqual(2);
    expect(served).toBeGreaterThan(0);

    // Idle: the scale-in alarm (15 periods below 90% of the target) takes it to zero copies.
    expect(await waitForCopies((c) => c.desired === 0 && c.current === 0, 120_000)).toEqual({ desired: 0, current: 0 });

    // An invoke now fails as AWS's does; the failures wake the component and a later one is answered.
    await expect(invoke()).rejects.toThrow(/Inference Component has no capacity to process this request/);
    let answered: string | undefined;
    const until = Date.now() + 120_000;
    while (answered === undefined && Date.now() < until) {
      try {
        answered = new TextDecoder().decode((await invoke()).Body);
      } catch (err) {
        expect((err as Error).message).toMatch(/no capacity/);
        await sleep(500);
      }
    }
    expect(JSON.parse(answered!)).toEqual([{ generated_text: expect.any(String) }]);

    await stack.env.client.workflow.execute('teardownEndpoint', {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId: `teardown-${ENDPOINT}`,
      args: [{ endpointName: ENDPOINT }],
    });
    const [targets, policies, alarms, components] = await Promise.all([
      stack.autoscaling.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'sagemaker' })),
      stack.autoscaling.send(new DescribeScalingPoliciesCommand({ ServiceNamespace: 'sagemaker' })),
      cloudwatch.send(new DescribeAlarmsCommand({})),
      stack.sagemaker.send(new ListInferenceComponentsCommand({})),
    ]);
    expect({
      targets: targets.ScalableTargets,
      policies: policies.ScalingPolicies,
      alarms: alarms.MetricAlarms,
      components: components.InferenceComponents,
    }).toEqual({ targets: [], policies: [], alarms: [], components: [] });
  }, 600_000);
});
