// The scaling evaluator under synthetic metrics: our own PutMetricData numbers, stamped over the
// last periods, in real CloudWatch (moto, behind a real local cloud) with the time scale at 60,
// and an in-memory capacity so each policy decision is observed without model processes (the
// variant path with real instances is in autoscaling.test.ts). Each case uses its own resource.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudWatchClient, DescribeAlarmsCommand, PutMetricAlarmCommand, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScalableCapacity } from '../../local/autoscaling/capacity.js';
import { ScalingEvaluator } from '../../local/autoscaling/evaluator.js';
import { putScalingPolicy, registerScalableTarget, type AutoScalingContext } from '../../local/autoscaling/operations.js';
import type { SageMakerResource } from '../../local/autoscaling/scalable-resources.js';
import { AutoScalingStore } from '../../local/autoscaling/store.js';
import { TargetTrackingAlarms } from '../../local/autoscaling/target-tracking-alarms.js';
import { TimeScale } from '../../local/metrics/time-scale.js';
import { startLocalCloud, type LocalCloud } from '../../local/server.js';
import { clientConfig, recordingPool } from './support.js';

const stateDir = mkdtempSync(join(tmpdir(), 'scaling-evaluator-test-'));
const SCALE = 60;
let cloud: LocalCloud;
let cw: CloudWatchClient;
let ctx: AutoScalingContext;
let evaluator: ScalingEvaluator;
/** Desired capacity per ResourceId; every change settles at once. */
const capacities = new Map<string, number>();
const changes: { resourceId: string; to: number }[] = [];

const resourceIdOf = (r: SageMakerResource) =>
  r.kind === 'variant' ? `endpoint/${r.endpointName}/variant/${r.variantName}` : `inference-component/${r.inferenceComponentName}`;

const capacity: ScalableCapacity = {
  async read(resource) {
    const id = resourceIdOf(resource);
    const desired = capacities.get(id);
    return desired === undefined ? undefined : { desired, settled: true };
  },
  async set(resource, to) {
    const id = resourceIdOf(resource);
    capacities.set(id, to);
    changes.push({ resourceId: id, to });
  },
};

beforeAll(async () => {
  cloud = await startLocalCloud({ port: 0, stateDir, pool: recordingPool(stateDir), timeScale: SCALE });
  cw = new CloudWatchClient(clientConfig(cloud.url));
  const store = AutoScalingStore.open(undefined);
  ctx = { store, region: 'us-east-1', alarms: new TargetTrackingAlarms(() => cw, 'us-east-1'), resourceExists: () => true, log: pino({ level: 'silent' }) };
  evaluator = new ScalingEvaluator({ store, cloudWatch: () => cw, capacity, timeScale: new TimeScale(SCALE), log: pino({ level: 'silent' }) });
}, 60_000);

afterAll(async () => {
  await cloud?.close();
  rmSync(stateDir, { recursive: true, force: true });
});

/** One datapoint per (time-scaled) minute for the last `periods` minutes, all of `value`. */
async function publish(metric: string, dimensions: { Name: string; Value: string }[], value: number, periods = 20): Promise<void> {
  const now = Date.now();
  await cw.send(
    new PutMetricDataCommand({
      Namespace: 'AWS/SageMaker',
      MetricData: Array.from({ length: periods }, (_, i) => ({
        MetricName: metric,
        Dimensions: dimensions,
        Timestamp: new Date(Math.floor(now / 1000) * 1000 - (i + 1) * 1000),
        Value: value,
        Unit: 'Count',
      })),
    }),
  );
}

const variant = (endpoint: string) => ({
  resourceId: `endpoint/${endpoint}/variant/AllTraffic`,
  dimensions: [
    { Name: 'EndpointName', Value: endpoint },
    { Name: 'VariantName', Value: 'AllTraffic' },
  ],
});

async function trackInvocations(resourceId: string, min: number, max: number, start: number, config: Record<string, unknown> = {}) {
  capacities.set(resourceId, start);
  await registerScalableTarget(
    { ServiceNamespace: 'sagemaker', ResourceId: resourceId, ScalableDimension: 'sagemaker:variant:DesiredInstanceCount', MinCapacity: min, MaxCapacity: max },
    ctx,
  );
  return putScalingPolicy(
    {
      PolicyName: 'invocations',
      ServiceNamespace: 'sagemaker',
      ResourceId: resourceId,
      ScalableDimension: 'sagemaker:variant:DesiredInstanceCount',
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: {
        TargetValue: 10,
        PredefinedMetricSpecification: { PredefinedMetricType: 'SageMakerVariantInvocationsPerInstance' },
        ...config,
      },
    },
    ctx,
  );
}

const activitiesOf = (resourceId: string) => ctx.store.activities.filter((a) => a.ResourceId === resourceId);

describe('scaling evaluator', () => {
  it('scales out on the high alarm to ceil(current × metric / target), clamped to MaxCapacity, and sets the alarm state', async () => {
    const { resourceId, dimensions } = variant('out-ep');
    const { Alarms } = await trackInvocations(resourceId, 1, 4, 2);
    await publish('InvocationsPerInstance', dimensions, 15);
    await evaluator.tick();
    // ceil(2 × 15 / 10) = 3
    expect(capacities.get(resourceId)).toBe(3);
    const [activity] = activitiesOf(resourceId);
    expect(activity).toMatchObject({
      Description: 'Setting desired instance count to 3.',
      Cause: expect.stringMatching(
        /^monitor alarm TargetTracking-endpoint\/out-ep\/variant\/AllTraffic-AlarmHigh-[0-9a-f-]{36} in state ALARM triggered policy invocations$/,
      ),
      StatusCode: 'InProgress',
    });
    const high = Alarms!.find((a) => a.AlarmName!.includes('AlarmHigh'))!;
    const { MetricAlarms } = await cw.send(new DescribeAlarmsCommand({ AlarmNames: [high.AlarmName!] }));
    expect(MetricAlarms![0].StateValue).toBe('ALARM');
    await evaluator.tick();
    expect(activitiesOf(resourceId)[0]).toMatchObject({
      StatusCode: 'Successful',
      StatusMessage: 'Successfully set desired instance count to 3. Change successfully fulfilled by sagemaker.',
    });
  });

  it('respects the scale-out cooldown, and clamps to MaxCapacity', async () => {
    const { resourceId, dimensions } = variant('cooldown-ep');
    await trackInvocations(resourceId, 1, 5, 1, { ScaleOutCooldown: 3600 });
    await publish('InvocationsPerInstance', dimensions, 100);
    await evaluator.tick();
    expect(capacities.get(resourceId)).toBe(5); // ceil(1 × 100 / 10) = 10, clamped to 5
    await registerScalableTarget(
      { ServiceNamespace: 'sagemaker', ResourceId: resourceId, ScalableDimension: 'sagemaker:variant:DesiredInstanceCount', MaxCapacity: 8 },
      ctx,
    );
    await evaluator.tick(); // settles the first activity
    await evaluator.tick(); // the alarm still fires, but an hour of cooldown (a minute here) has not passed
    expect(capacities.get(resourceId)).toBe(5);
    expect(activitiesOf(resourceId)).toHaveLength(1);
  });

  it('scales in on the low alarm after 15 periods below 90% of the target, not below MinCapacity', async () => {
    const { resourceId, dimensions } = variant('in-ep');
    await trackInvocations(resourceId, 2, 6, 5, { ScaleInCooldown: 0 });
    await publish('InvocationsPerInstance', dimensions, 0, 10);
    await evaluator.tick();
    expect(activitiesOf(resourceId)).toHaveLength(0); // 10 low periods are not 15
    await publish('InvocationsPerInstance', dimensions, 0, 20);
    await evaluator.tick();
    expect(capacities.get(resourceId)).toBe(2);
    expect(activitiesOf(resourceId)[0].Description).toBe('Setting desired instance count to 2.');
  });

  it('counts a cooldown from when the last change completed, not when it started (a slow copy start)', async () => {
    const { resourceId, dimensions } = variant('slow-ep');
    await trackInvocations(resourceId, 1, 6, 3, { ScaleInCooldown: 120, ScaleOutCooldown: 0 }); // 2 s here
    // A scale-out that took 10 s to be fulfilled and completed just now.
    ctx.store.addActivity({
      ActivityId: 'slow-out',
      ResourceId: resourceId,
      ScalableDimension: 'sagemaker:variant:DesiredInstanceCount',
      Description: 'Setting desired instance count to 3.',
      Cause: 'test',
      StartTime: Date.now() - 10_000,
      EndTime: Date.now(),
      StatusCode: 'Successful',
      desiredCapacity: 3,
      direction: 'out',
      PolicyName: 'invocations',
    });
    await publish('InvocationsPerInstance', dimensions, 0, 20);
    await evaluator.tick();
    expect(capacities.get(resourceId)).toBe(3);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    await publish('InvocationsPerInstance', dimensions, 0, 20);
    await evaluator.tick();
    expect(capacities.get(resourceId)).toBe(1);
  });

  it('never scales in with DisableScaleIn, and creates no low alarm', async () => {
    const { resourceId, dimensions } = variant('keep-ep');
    const { Alarms } = await trackInvocations(resourceId, 1, 6, 4, { ScaleInCooldown: 0, DisableScaleIn: true });
    expect(Alarms!.map((a) => a.AlarmName)).toEqual([expect.stringContaining('-AlarmHigh-')]);
    await publish('InvocationsPerInstance', dimensions, 0, 20);
    await evaluator.tick();
    await evaluator.tick();
    expect(capacities.get(resourceId)).toBe(4);
    expect(activitiesOf(resourceId)).toHaveLength(0);
  });

  it('scales an inference component out from zero with a step policy on NoCapacityInvocationFailures', async () => {
    const resourceId = 'inference-component/ic-zero';
    capacities.set(resourceId, 0);
    await registerScalableTarget(
      {
        ServiceNamespace: 'sagemaker',
        ResourceId: resourceId,
        ScalableDimension: 'sagemaker:inference-component:DesiredCopyCount',
        MinCapacity: 0,
        MaxCapacity: 3,
      },
      ctx,
    );
    const { PolicyARN } = await putScalingPolicy(
      {
        PolicyName: 'wake',
        ServiceNamespace: 'sagemaker',
        ResourceId: resourceId,
        ScalableDimension: 'sagemaker:inference-component:DesiredCopyCount',
        PolicyType: 'StepScaling',
        StepScalingPolicyConfiguration: {
          AdjustmentType: 'ChangeInCapacity',
          MetricAggregationType: 'Maximum',
          Cooldown: 60,
          StepAdjustments: [{ MetricIntervalLowerBound: 0, ScalingAdjustment: 1 }],
        },
      },
      ctx,
    );
    await cw.send(
      new PutMetricAlarmCommand({
        AlarmName: 'ic-zero-no-capacity',
        Namespace: 'AWS/SageMaker',
        MetricName: 'NoCapacityInvocationFailures',
        Dimensions: [{ Name: 'InferenceComponentName', Value: 'ic-zero' }],
        Statistic: 'Maximum',
        Period: 60,
        EvaluationPeriods: 1,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        AlarmActions: [PolicyARN!],
      }),
    );
    await publish('NoCapacityInvocationFailures', [{ Name: 'InferenceComponentName', Value: 'ic-zero' }], 2, 3);
    await evaluator.tick();
    expect(capacities.get(resourceId)).toBe(1);
    expect(activitiesOf(resourceId)[0]).toMatchObject({
      Description: 'Setting desired copy count to 1.',
      Cause: 'monitor alarm ic-zero-no-capacity in state ALARM triggered policy wake',
    });
    await evaluator.tick(); // within the step policy's cooldown: no second copy
    expect(capacities.get(resourceId)).toBe(1);
  });
});
