// The SageMaker resources Application Auto Scaling scales, and how their ResourceId and
// ScalableDimension read: `endpoint/<endpoint>/variant/<variant>` with
// `sagemaker:variant:DesiredInstanceCount`, `inference-component/<name>` with
// `sagemaker:inference-component:DesiredCopyCount`. Serverless provisioned concurrency
// (`sagemaker:variant:DesiredProvisionedConcurrency`) is not emulated.
import type { InvocationTarget } from '../metrics/sagemaker-metrics.js';

export const VARIANT_DIMENSION = 'sagemaker:variant:DesiredInstanceCount';
export const COMPONENT_DIMENSION = 'sagemaker:inference-component:DesiredCopyCount';

export type SageMakerResource =
  | (InvocationTarget & { kind: 'variant'; inferenceComponentName?: undefined })
  | (InvocationTarget & { kind: 'inference-component'; inferenceComponentName: string });

/** The resource a ResourceId names, or undefined when it is not a SageMaker one. */
export function sageMakerResource(resourceId: string): SageMakerResource | undefined {
  const variant = /^endpoint\/([^/]+)\/variant\/([^/]+)$/.exec(resourceId);
  if (variant) return { kind: 'variant', endpointName: variant[1], variantName: variant[2] };
  const component = /^inference-component\/([^/]+)$/.exec(resourceId);
  if (component) return { kind: 'inference-component', endpointName: '', variantName: '', inferenceComponentName: component[1] };
  return undefined;
}

/** Whether the dimension belongs to the resource type (AWS refuses the mismatch). */
export function dimensionFits(resource: SageMakerResource, dimension: string): boolean {
  return resource.kind === 'variant' ? dimension === VARIANT_DIMENSION : dimension === COMPONENT_DIMENSION;
}
