// Application Auto Scaling for a production variant (a scalable target on the variant's
// instance count, target tracking on invocations per instance) or for an inference component
// (its copy count, target tracking on invocations or concurrent requests per copy), as in the
// reference design. Both calls are upserts, so re-running them is harmless.
import {
  DeleteScalingPolicyCommand,
  DeregisterScalableTargetCommand,
  DescribeScalingPoliciesCommand,
  paginateDescribeScalableTargets,
  PutScalingPolicyCommand,
  RegisterScalableTargetCommand,
  type ApplicationAutoScalingClient,
} from '@aws-sdk/client-application-auto-scaling';
import { inferenceComponentResourceId, scalingPolicyName, variantResourceId } from '../common/resource-names.js';
import { awsPages, callAws, callAwsOrUndefined } from './aws-errors.js';

const SERVICE = 'sagemaker' as const;
const DIMENSION = 'sagemaker:variant:DesiredInstanceCount' as const;
const COPY_DIMENSION = 'sagemaker:inference-component:DesiredCopyCount' as const;

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

export function createAutoscalingActivities({ autoscaling }: { autoscaling: ApplicationAutoScalingClient }) {
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

    /** A target on the component's copy count (MinCapacity 0 is scale to zero) and its policy. */
    async registerComponentAutoscaling(input: RegisterComponentAutoscalingInput): Promise<{ resourceId: string; policyArn: string }> {
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
      return { resourceId, policyArn: policy.PolicyARN! };
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

    /** Deletes the target's policies, then the target; absent ones count as done. */
    async deregisterAutoscaling({ resourceId }: { resourceId: string }): Promise<{ deregistered: boolean }> {
      const DIMENSION = dimensionOf(resourceId);
      const policies = await callAws(`DescribeScalingPolicies ${resourceId}`, () =>
        autoscaling.send(new DescribeScalingPoliciesCommand({ ServiceNamespace: SERVICE, ResourceId: resourceId, ScalableDimension: DIMENSION })),
      );
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
