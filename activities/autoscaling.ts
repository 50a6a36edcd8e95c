// Application Auto Scaling for a production variant (a scalable target on the variant's
// instance count, target tracking on invocations per instance) or for an inference component
// (its copy count, target tracking on invocations or concurrent requests per copy), as in the
// reference design. A component that scales to zero also gets AWS's documented way back: a
// step-scaling policy (+1 copy) behind a CloudWatch alarm on NoCapacityInvocationFailures, since
// target tracking cannot scale out from zero copies (current × metric / target is 0).
// Source: https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-auto-scaling-zero-instances.html
// Every call is an upsert, so re-running a deploy is harmless; deregistering removes the target's
// policies and the alarms that act only on them (AWS leaves a step policy's alarm behind).
import {
  DeleteScalingPolicyCommand,
  DeregisterScalableTargetCommand,
  DescribeScalingPoliciesCommand,
  paginateDescribeScalableTargets,
  PutScalingPolicyCommand,
  RegisterScalableTargetCommand,
  type ApplicationAutoScalingClient,
} from '@aws-sdk/client-application-auto-scaling';
import { type CloudWatchClient, DeleteAlarmsCommand, paginateDescribeAlarms, PutMetricAlarmCommand } from '@aws-sdk/client-cloudwatch';
import { inferenceComponentResourceId, scalingPolicyName, variantResourceId } from '../common/resource-names.js';
import { awsPages, callAws, callAwsOrUndefined } from './aws-errors.js';

const SERVICE = 'sagemaker' as const;
const DIMENSION = 'sagemaker:variant:DesiredInstanceCount' as const;
export const COPY_DIMENSION = 'sagemaker:inference-component:DesiredCopyCount' as const;

/** The dimension a resource id scales on: instances of a variant, or copies of a component. */
const dimensionOf = (resourceId: string) => (resourceId.startsWith('inference-component/') ? COPY_DIMENSION : DIMENSION);

export interface RegisterComponentAutoscalingInput {
  componentName: string;
  minCopies: number;
  maxCopies: number;
  targetValue: number;
  metric: 'SageMakerInferenceComponentInvocationsPerCopy' | 'SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution';
  scaleInCooldownSeconds: number;
  scaleOutCooldownSeconds: number;
  /** Adds the step-scaling policy and alarm that wake the component from zero copies. */
  scaleToZero?: boolean;
}

/** What wakes a component scaled to zero: its step-scaling policy and the alarm that runs it. */
export interface WakeFromZero {
  policyArn: string;
  alarmName: string;
}

export interface RegisterAutoscalingInput {
  endpointName: string;
  variantName: string;
  minInstances: number;
  maxInstances: number;
  targetInvocationsPerInstance: number;
  scaleInCooldownSeconds: number;
  scaleOutCooldownSeconds: number;
}

/** Three of the alarm's 60-s periods: the refusals that woke a component have left its window by then. */
const WAKE_COOLDOWN_SECONDS = 180;

/** The wake policy's and alarm's names, derived from the component so a re-run finds them. */
export const wakePolicyName = (componentName: string) => `${componentName}-wake-from-zero`;
export const noCapacityAlarmName = (componentName: string) => `${componentName}-no-capacity`;

export function createAutoscalingActivities({ autoscaling, cloudwatch }: { autoscaling: ApplicationAutoScalingClient; cloudwatch: CloudWatchClient }) {
  /** Alarms whose every action is one of `policyArns` (so deleting them takes nothing from anyone else). */
  async function alarmsActingOnlyOn(policyArns: string[]): Promise<string[]> {
    const arns = new Set(policyArns);
    const names = new Set<string>();
    for (const arn of arns) {
      for await (const page of awsPages('DescribeAlarms', paginateDescribeAlarms({ client: cloudwatch }, { ActionPrefix: arn, AlarmTypes: ['MetricAlarm'] }))) {
        for (const alarm of page.MetricAlarms ?? []) {
          if (alarm.AlarmActions?.length && alarm.AlarmActions.every((a) => arns.has(a))) names.add(alarm.AlarmName!);
        }
      }
    }
    return [...names];
  }

  async function deleteAlarms(names: string[]): Promise<void> {
    if (names.length) await callAws(`DeleteAlarms ${names.join(', ')}`, () => cloudwatch.send(new DeleteAlarmsCommand({ AlarmNames: names })));
  }

  /** The step policy (+1 copy from zero) and its alarm: Sum of NoCapacityInvocationFailures ≥ 1 in one 60-s period. */
  async function putWakeFromZero(input: RegisterComponentAutoscalingInput, resourceId: string): Promise<WakeFromZero> {
    const policy = await callAws(`PutScalingPolicy ${wakePolicyName(input.componentName)}`, () =>
      autoscaling.send(
        new PutScalingPolicyCommand({
          PolicyName: wakePolicyName(input.componentName),
          ServiceNamespace: SERVICE,
          ResourceId: resourceId,
          ScalableDimension: COPY_DIMENSION,
          PolicyType: 'StepScaling',
          StepScalingPolicyConfiguration: {
            AdjustmentType: 'ChangeInCapacity',
            MetricAggregationType: 'Maximum',
            // Invocations refused before the new copy served stay in the alarm's newest periods for
            // a while: acting on them again would wake a second copy nobody asked for.
            Cooldown: Math.max(input.scaleOutCooldownSeconds, WAKE_COOLDOWN_SECONDS),
            StepAdjustments: [{ MetricIntervalLowerBound: 0, ScalingAdjustment: 1 }],
          },
        }),
      ),
    );
    const alarmName = noCapacityAlarmName(input.componentName);
    await callAws(`PutMetricAlarm ${alarmName}`, () =>
      cloudwatch.send(
        new PutMetricAlarmCommand({
          AlarmName: alarmName,
          AlarmDescription: `Wakes inference component ${input.componentName} from zero copies (scaling policy ${wakePolicyName(input.componentName)}).`,
          Namespace: 'AWS/SageMaker',
          MetricName: 'NoCapacityInvocationFailures',
          Dimensions: [{ Name: 'InferenceComponentName', Value: input.componentName }],
          Statistic: 'Sum',
          Period: 60,
          EvaluationPeriods: 1,
          DatapointsToAlarm: 1,
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          TreatMissingData: 'missing',
          AlarmActions: [policy.PolicyARN!],
        }),
      ),
    );
    return { policyArn: policy.PolicyARN!, alarmName };
  }

  /** A re-deploy without scaleToZero: the wake policy and its alarm go, if an earlier deploy made them. */
  async function removeWakeFromZero(componentName: string, resourceId: string): Promise<void> {
    const { ScalingPolicies = [] } = await callAws(`DescribeScalingPolicies ${resourceId}`, () =>
      autoscaling.send(
        new DescribeScalingPoliciesCommand({
          ServiceNamespace: SERVICE,
          ResourceId: resourceId,
          ScalableDimension: COPY_DIMENSION,
          PolicyNames: [wakePolicyName(componentName)],
        }),
      ),
    );
    for (const p of ScalingPolicies) {
      await deleteAlarms(await alarmsActingOnlyOn([p.PolicyARN!]));
      await callAwsOrUndefined(`DeleteScalingPolicy ${p.PolicyName}`, () =>
        autoscaling.send(
          new DeleteScalingPolicyCommand({ PolicyName: p.PolicyName!, ServiceNamespace: SERVICE, ResourceId: resourceId, ScalableDimension: COPY_DIMENSION }),
        ),
      );
    }
  }

  return {
    async registerAutoscaling(input: RegisterAutoscalingInput): Promise<{ resourceId: string; policyArn: string }> {
      const resourceId = variantResourceId(input.endpointName, input.variantName);
      await callAws(`RegisterScalableTarget ${resourceId}`, () =>
        autoscaling.send(
          new RegisterScalableTargetCommand({
            ServiceNamespace: SERVICE,
            ResourceId: resourceId,
            ScalableDimension: DIMENSION,
            MinCapacity: input.minInstances,
            MaxCapacity: input.maxInstances,
          }),
        ),
      );
      const policy = await callAws(`PutScalingPolicy ${resourceId}`, () =>
        autoscaling.send(
          new PutScalingPolicyCommand({
            PolicyName: scalingPolicyName(input.endpointName, input.variantName),
            ServiceNamespace: SERVICE,
            ResourceId: resourceId,
            ScalableDimension: DIMENSION,
            PolicyType: 'TargetTrackingScaling',
            TargetTrackingScalingPolicyConfiguration: {
              TargetValue: input.targetInvocationsPerInstance,
              PredefinedMetricSpecification: { PredefinedMetricType: 'SageMakerVariantInvocationsPerInstance' },
              ScaleInCooldown: input.scaleInCooldownSeconds,
              ScaleOutCooldown: input.scaleOutCooldownSeconds,
            },
          }),
        ),
      );
      return { resourceId, policyArn: policy.PolicyARN! };
    },

    /**
     * A target on the component's copy count (MinCapacity 0 is scale to zero) and its
     * target-tracking policy; with scaleToZero, also what wakes it from zero.
     */
    async registerComponentAutoscaling(
      input: RegisterComponentAutoscalingInput,
    ): Promise<{ resourceId: string; policyArn: string; wakeFromZero?: WakeFromZero }> {
      const resourceId = inferenceComponentResourceId(input.componentName);
      await callAws(`RegisterScalableTarget ${resourceId}`, () =>
        autoscaling.send(
          new RegisterScalableTargetCommand({
            ServiceNamespace: SERVICE,
            ResourceId: resourceId,
            ScalableDimension: COPY_DIMENSION,
            MinCapacity: input.minCopies,
            MaxCapacity: input.maxCopies,
          }),
        ),
      );
      const policy = await callAws(`PutScalingPolicy ${resourceId}`, () =>
        autoscaling.send(
          new PutScalingPolicyCommand({
            PolicyName: `${input.componentName}-per-copy`,
            ServiceNamespace: SERVICE,
            ResourceId: resourceId,
            ScalableDimension: COPY_DIMENSION,
            PolicyType: 'TargetTrackingScaling',
            TargetTrackingScalingPolicyConfiguration: {
              TargetValue: input.targetValue,
              PredefinedMetricSpecification: { PredefinedMetricType: input.metric },
              ScaleInCooldown: input.scaleInCooldownSeconds,
              ScaleOutCooldown: input.scaleOutCooldownSeconds,
            },
          }),
        ),
      );
      if (!input.scaleToZero) {
        await removeWakeFromZero(input.componentName, resourceId);
        return { resourceId, policyArn: policy.PolicyARN! };
      }
      return { resourceId, policyArn: policy.PolicyARN!, wakeFromZero: await putWakeFromZero(input, resourceId) };
    },

    /**
     * Scalable targets registered for any variant of the endpoint (also after it is gone), and
     * for the named inference components.
     */
    async findScalableTargets({ endpointName, componentNames = [] }: { endpointName: string; componentNames?: string[] }): Promise<string[]> {
      const components = new Set(componentNames.map(inferenceComponentResourceId));
      const ids: string[] = [];
      for await (const page of awsPages('DescribeScalableTargets', paginateDescribeScalableTargets({ client: autoscaling }, { ServiceNamespace: SERVICE }))) {
        for (const t of page.ScalableTargets ?? []) {
          if (t.ResourceId?.startsWith(`endpoint/${endpointName}/variant/`) || components.has(t.ResourceId ?? '')) ids.push(t.ResourceId!);
        }
      }
      return ids;
    },

    /**
     * Deletes the alarms behind the target's step policies (target tracking deletes its own),
     * the policies, then the target; absent ones count as done.
     */
    async deregisterAutoscaling({ resourceId }: { resourceId: string }): Promise<{ deregistered: boolean }> {
      const DIMENSION = dimensionOf(resourceId);
      const policies = await callAws(`DescribeScalingPolicies ${resourceId}`, () =>
        autoscaling.send(new DescribeScalingPoliciesCommand({ ServiceNamespace: SERVICE, ResourceId: resourceId, ScalableDimension: DIMENSION })),
      );
      const stepPolicies = (policies.ScalingPolicies ?? []).filter((p) => p.PolicyType === 'StepScaling').map((p) => p.PolicyARN!);
      await deleteAlarms(await alarmsActingOnlyOn(stepPolicies));
      for (const p of policies.ScalingPolicies ?? []) {
        await callAwsOrUndefined(`DeleteScalingPolicy ${p.PolicyName}`, () =>
          autoscaling.send(
            new DeleteScalingPolicyCommand({ PolicyName: p.PolicyName!, ServiceNamespace: SERVICE, ResourceId: resourceId, ScalableDimension: DIMENSION }),
          ),
        );
      }
      const deregistered = await callAwsOrUndefined(`DeregisterScalableTarget ${resourceId}`, () =>
        autoscaling.send(new DeregisterScalableTargetCommand({ ServiceNamespace: SERVICE, ResourceId: resourceId, ScalableDimension: DIMENSION })),
      );
      return { deregistered: deregistered !== undefined };
    },
  };
}
