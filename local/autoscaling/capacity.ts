// How the evaluator reads and changes a scalable resource's capacity: through the local cloud's
// own SageMaker API, the same path a user's call takes, so instances and copies really start
// and stop. Variants scale with UpdateEndpointWeightsAndCapacities; inference components with
// UpdateInferenceComponentRuntimeConfig (served once the local cloud has inference components;
// until then the call fails and the scaling activity records why).
import {
  DescribeEndpointCommand,
  DescribeInferenceComponentCommand,
  type SageMakerClient,
  UpdateEndpointWeightsAndCapacitiesCommand,
  UpdateInferenceComponentRuntimeConfigCommand,
} from '@aws-sdk/client-sagemaker';
import type { SageMakerResource } from './scalable-resources.js';

export interface CapacityState {
  /** What was last asked for (DesiredInstanceCount / DesiredCopyCount). */
  desired: number;
  /** Whether the resource serves that capacity and can take another change. */
  settled: boolean;
  /** Set when the last change failed (the endpoint's FailureReason). */
  failureReason?: string;
}

export interface ScalableCapacity {
  /** undefined when the resource is gone. */
  read(resource: SageMakerResource): Promise<CapacityState | undefined>;
  set(resource: SageMakerResource, capacity: number): Promise<void>;
}

/** The inference-component dimension `sagemaker:inference-component:DesiredCopyCount`. */
export async function setInferenceComponentCopyCount(sm: SageMakerClient, inferenceComponentName: string, copies: number): Promise<void> {
  await sm.send(
    new UpdateInferenceComponentRuntimeConfigCommand({ InferenceComponentName: inferenceComponentName, DesiredRuntimeConfig: { CopyCount: copies } }),
  );
}

const notFound = (err: unknown) => (err as Error).name === 'ValidationException' && /not find|not found/i.test((err as Error).message);

export function sageMakerCapacity(sm: () => SageMakerClient): ScalableCapacity {
  return {
    async read(resource) {
      try {
        if (resource.kind === 'inference-component') {
          const ic = await sm().send(new DescribeInferenceComponentCommand({ InferenceComponentName: resource.inferenceComponentName }));
          const desired = ic.RuntimeConfig?.DesiredCopyCount ?? 0;
          return {
            desired,
            settled: ic.InferenceComponentStatus === 'InService' && ic.RuntimeConfig?.CurrentCopyCount === desired,
            failureReason: ic.FailureReason,
          };
        }
        const endpoint = await sm().send(new DescribeEndpointCommand({ EndpointName: resource.endpointName }));
        const variant = endpoint.ProductionVariants?.find((v) => v.VariantName === resource.variantName);
        if (!variant) return undefined;
        const desired = variant.DesiredInstanceCount ?? 0;
        return {
          desired,
          settled: endpoint.EndpointStatus === 'InService' && variant.CurrentInstanceCount === desired,
          failureReason: endpoint.FailureReason,
        };
      } catch (err) {
        if (notFound(err)) return undefined;
        throw err;
      }
    },
    async set(resource, capacity) {
      if (resource.kind === 'inference-component') {
        await setInferenceComponentCopyCount(sm(), resource.inferenceComponentName, capacity);
        return;
      }
      await sm().send(
        new UpdateEndpointWeightsAndCapacitiesCommand({
          EndpointName: resource.endpointName,
          DesiredWeightsAndCapacities: [{ VariantName: resource.variantName, DesiredInstanceCount: capacity }],
        }),
      );
    },
  };
}
