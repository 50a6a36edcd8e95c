// How the local cloud feeds SageMakerMetrics: fleet sizes from the SageMaker store, and
// PutMetricData straight to moto. Metrics skip the local cloud's own URL on purpose: moto's
// journal (moto.ts) would replay every datapoint after a restart and grow without bound.
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import type { ComponentCopyRouter } from '../instances/component-copies.js';
import type { SageMakerStore } from '../sagemaker/store.js';
import type { FleetSizes, SageMakerMetricsOptions } from './sagemaker-metrics.js';

/** Local credentials: moto accepts any. */
export function localCloudWatchClient(url: string, region = 'us-east-1'): CloudWatchClient {
  return new CloudWatchClient({ endpoint: url, region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
}

export function cloudWatchPublisher(client: CloudWatchClient): SageMakerMetricsOptions['publish'] {
  return async (Namespace, MetricData) => {
    await client.send(new PutMetricDataCommand({ Namespace, MetricData }));
  };
}

const SERVING = new Set(['InService', 'Updating', 'SystemUpdating', 'RollingBack']);

/**
 * Variants of serving endpoints with their running instances, and serving inference components
 * with their running copies (what the copy router holds, as DescribeInferenceComponent reports).
 */
export function storeFleetSizes(store: SageMakerStore, router: ComponentCopyRouter): FleetSizes {
  return {
    serving: () => [
      ...store.endpoints
        .values()
        .filter((e) => SERVING.has(e.EndpointStatus) && e.deployed)
        .flatMap((e) => e.deployed!.variants.map((v) => ({ endpointName: e.EndpointName, variantName: v.variantName }))),
      ...store.inferenceComponents
        .values()
        .filter((ic) => ic.InferenceComponentStatus === 'InService' || ic.InferenceComponentStatus === 'Updating')
        .map((ic) => ({ endpointName: ic.EndpointName, variantName: ic.VariantName, inferenceComponentName: ic.InferenceComponentName })),
    ],
    instances: (endpointName, variantName) => store.endpoints.get(endpointName)?.deployed?.instanceCounts[variantName] ?? 0,
    copies: (inferenceComponentName) => router.copies(inferenceComponentName).length,
  };
}
