// Application Auto Scaling activities against the local cloud (moto behind it), on the variants of
// real endpoints: register target + target-tracking policy (an upsert), find by endpoint,
// deregister (policy, then target) where an absent target counts as done.
import { DescribeScalableTargetsCommand, DescribeScalingPoliciesCommand, type ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Activities } from '../../activities/index.js';
import type { RegisterAutoscalingInput } from '../../activities/autoscaling.js';
import { scalingPolicyName } from '../../common/resource-names.js';
import { deployTinyEndpoint, startActivityCloud, teardownEndpoint, type ActivityCloud } from './support.js';

// Two endpoints, one named with the other's name as a prefix, so "by endpoint" must be exact.
const EP = 'scale-ep';
const OTHER = 'scale-ep-blue';
const RESOURCE_ID = `endpoint/${EP}/variant/AllTraffic`;
const OTHER_RESOURCE_ID = `endpoint/${OTHER}/variant/AllTraffic`;

let env: ActivityCloud;
let a: Activities;
let autoscaling: ApplicationAutoScalingClient;

beforeAll(async () => {
  env = await startActivityCloud();
  a = env.activities;
  autoscaling = env.clients.autoscaling;
  await deployTinyEndpoint(a, EP);
  await deployTinyEndpoint(a, OTHER);
});

afterAll(async () => {
  if (a) {
    await teardownEndpoint(a, EP);
    await teardownEndpoint(a, OTHER);
  }
  await env?.close();
});

const input = (endpointName: string, overrides: Partial<RegisterAutoscalingInput> = {}): RegisterAutoscalingInput => ({
  endpointName,
  variantName: 'AllTraffic',
  minInstances: 1,
  maxInstances: 3,
  targetInvocationsPerInstance: 70,
  scaleInCooldownSeconds: 300,
  scaleOutCooldownSeconds: 60,
  ...overrides,
});

async function targetsOf(resourceId: string) {
  const { ScalableTargets } = await autoscaling.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'sagemaker', ResourceIds: [resourceId] }));
  return ScalableTargets ?? [];
}

async function policiesOf(resourceId: string) {
  const { ScalingPolicies } = await autoscaling.send(new DescribeScalingPoliciesCommand({ ServiceNamespace: 'sagemaker', ResourceId: resourceId }));
  return ScalingPolicies ?? [];
}

describe('autoscaling activities', () => {
  it('registerAutoscaling registers the variant as a scalable target with a target-tracking policy', async () => {
    const out = await a.registerAutoscaling(input(EP));
    expect(out.resourceId).toBe(RESOURCE_ID);

    expect(await targetsOf(RESOURCE_ID)).toEqual([
      expect.objectContaining({
        ServiceNamespace: 'sagemaker',
        ResourceId: RESOURCE_ID,
        ScalableDimension: 'sagemaker:variant:DesiredInstanceCount',
        MinCapacity: 1,
        MaxCapacity: 3,
      }),
    ]);
    const policies = await policiesOf(RESOURCE_ID);
    expect(policies).toHaveLength(1);
    expect(policies[0]).toMatchObject({
      PolicyARN: out.policyArn,
      PolicyName: scalingPolicyName(EP, 'AllTraffic'),
      ScalableDimension: 'sagemaker:variant:DesiredInstanceCount',
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: {
        TargetValue: 70,
        PredefinedMetricSpecification: { PredefinedMetricType: 'SageMakerVariantInvocationsPerInstance' },
        ScaleInCooldown: 300,
        ScaleOutCooldown: 60,
      },
    });
  });

  it('running it again is harmless, and a changed input updates the target and policy in place', async () => {
    const again = await a.registerAutoscaling(input(EP));
    expect(again.resourceId).toBe(RESOURCE_ID);
    expect(await targetsOf(RESOURCE_ID)).toHaveLength(1);
    expect(await policiesOf(RESOURCE_ID)).toHaveLength(1);

    await a.registerAutoscaling(
      input(EP, { minInstances: 2, maxInstances: 4, targetInvocationsPerInstance: 50, scaleInCooldownSeconds: 600, scaleOutCooldownSeconds: 30 }),
    );
    expect(await targetsOf(RESOURCE_ID)).toEqual([expect.objectContaining({ MinCapacity: 2, MaxCapacity: 4 })]);
    const policies = await policiesOf(RESOURCE_ID);
    expect(policies).toHaveLength(1);
    expect(policies[0].TargetTrackingScalingPolicyConfiguration).toMatchObject({ TargetValue: 50, ScaleInCooldown: 600, ScaleOutCooldown: 30 });
  });

  it('findScalableTargets returns the targets of that endpoint only', async () => {
    await a.registerAutoscaling(input(OTHER));
    expect(await a.findScalableTargets({ endpointName: EP })).toEqual([RESOURCE_ID]);
    expect(await a.findScalableTargets({ endpointName: OTHER })).toEqual([OTHER_RESOURCE_ID]);
    expect(await a.findScalableTargets({ endpointName: 'scale' })).toEqual([]);
  });

  it('deregisterAutoscaling removes the policy and the target, and leaves other endpoints alone', async () => {
    expect(await a.deregisterAutoscaling({ resourceId: RESOURCE_ID })).toEqual({ deregistered: true });
    expect(await targetsOf(RESOURCE_ID)).toEqual([]);
    expect(await policiesOf(RESOURCE_ID)).toEqual([]);
    expect(await a.findScalableTargets({ endpointName: EP })).toEqual([]);
    expect(await targetsOf(OTHER_RESOURCE_ID)).toHaveLength(1);
    expect(await policiesOf(OTHER_RESOURCE_ID)).toHaveLength(1);
  });

  it('deregistering a target that is already gone returns deregistered false without throwing', async () => {
    expect(await a.deregisterAutoscaling({ resourceId: RESOURCE_ID })).toEqual({ deregistered: false });
  });

  it("the other endpoint's target is removed by its own deregistration", async () => {
    expect(await a.deregisterAutoscaling({ resourceId: OTHER_RESOURCE_ID })).toEqual({ deregistered: true });
    const { ScalableTargets } = await autoscaling.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'sagemaker' }));
    expect(ScalableTargets).toEqual([]);
    const { ScalingPolicies } = await autoscaling.send(new DescribeScalingPoliciesCommand({ ServiceNamespace: 'sagemaker' }));
    expect(ScalingPolicies).toEqual([]);
  });
});
