// What the idle guard (workflows/endpoint-lease.ts) reads and does: an endpoint's traffic, as
// the `Invocations` metric SageMaker publishes to CloudWatch per production variant, and
// scaling an inference-component endpoint to zero copies.
import { paginateGetMetricData, type CloudWatchClient, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import {
  DescribeEndpointCommand,
  DescribeEndpointConfigCommand,
  DescribeInferenceComponentCommand,
  paginateListInferenceComponents,
  UpdateInferenceComponentRuntimeConfigCommand,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { ApplicationFailure } from '@temporalio/common';
import { awsPages, callAws, callAwsOrUndefined } from './aws-errors.js';

// AWS keeps 1-minute datapoints for 15 days; a longer look back would come back empty.
const PERIOD_SECONDS = 60;
const MAX_LOOK_BACK_MS = 15 * 24 * 3600_000;

export interface EndpointInvocationsInput {
  endpointName: string;
  /** ISO times from the workflow's clock: the window whose Invocations are summed. */
  since: string;
  until: string;
}

export interface EndpointInvocations {
  endpointExists: boolean;
  status?: string;
  invocations: number;
  /** End of the latest 1-minute period with invocations in the window, if any. */
  lastInvocationAt?: string;
}

export function createEndpointActivityActivities({ cloudwatch, sagemaker }: { cloudwatch: CloudWatchClient; sagemaker: SageMakerClient }) {
  return {
    async endpointInvocations({ endpointName, since, until }: EndpointInvocationsInput): Promise<EndpointInvocations> {
      const endpoint = await callAwsOrUndefined(`DescribeEndpoint ${endpointName}`, () =>
        sagemaker.send(new DescribeEndpointCommand({ EndpointName: endpointName })),
      );
      if (!endpoint) return { endpointExists: false, invocations: 0 };
      const variants = (endpoint.ProductionVariants ?? []).map((v) => v.VariantName!).filter(Boolean);
      const untilMs = Date.parse(until);
      const sinceMs = Math.max(Date.parse(since), untilMs - MAX_LOOK_BACK_MS);
      if (!variants.length || sinceMs >= untilMs) return { endpointExists: true, status: endpoint.EndpointStatus, invocations: 0 };

      const queries: MetricDataQuery[] = variants.map((variantName, i) => ({
        Id: `v${i}`,
        MetricStat: {
          Metric: {
            Namespace: 'AWS/SageMaker',
            MetricName: 'Invocations',
            Dimensions: [
              { Name: 'EndpointName', Value: endpointName },
              { Name: 'VariantName', Value: variantName },
            ],
          },
          Period: PERIOD_SECONDS,
          Stat: 'Sum',
        },
      }));
      let invocations = 0;
      let lastMs: number | undefined;
      const pages = paginateGetMetricData(
        { client: cloudwatch },
        { MetricDataQueries: queries, StartTime: new Date(sinceMs), EndTime: new Date(untilMs), ScanBy: 'TimestampDescending' },
      );
      for await (const page of awsPages(`GetMetricData Invocations ${endpointName}`, pages)) {
        for (const result of page.MetricDataResults ?? []) {
          (result.Values ?? []).forEach((value, i) => {
            if (!(value > 0)) return;
            invocations += value;
            const periodEnd = Math.min(result.Timestamps![i]!.getTime() + PERIOD_SECONDS * 1000, untilMs);
            lastMs = Math.max(lastMs ?? 0, periodEnd);
          });
        }
      }
      return {
        endpointExists: true,
        status: endpoint.EndpointStatus,
        invocations,
        ...(lastMs !== undefined ? { lastInvocationAt: new Date(lastMs).toISOString() } : {}),
      };
    },

    /**
     * Every inference component of the endpoint to zero copies. A model-based variant cannot go
     * to zero on AWS (its DesiredInstanceCount stays at least 1; scale to zero is an inference
     * component feature), so that fails here, non-retryably, before any change.
     */
    async scaleEndpointToZero({ endpointName }: { endpointName: string }): Promise<{ scaledToZero: string[]; alreadyAtZero: string[] }> {
      const endpoint = await callAws(`DescribeEndpoint ${endpointName}`, () => sagemaker.send(new DescribeEndpointCommand({ EndpointName: endpointName })));
      const config = await callAws(`DescribeEndpointConfig ${endpoint.EndpointConfigName}`, () =>
        sagemaker.send(new DescribeEndpointConfigCommand({ EndpointConfigName: endpoint.EndpointConfigName })),
      );
      const modelVariants = (config.ProductionVariants ?? []).filter((v) => v.ModelName).map((v) => v.VariantName);
      if (modelVariants.length) {
        throw ApplicationFailure.create({
          message:
            `Endpoint ${endpointName} cannot scale to zero: variant ${modelVariants.join(', ')} serves a model directly, and SageMaker scales only ` +
            'inference components to zero (a model-based variant keeps at least 1 instance). Use the action "teardown", or deploy with inference components.',
          type: 'ScaleToZeroUnsupported',
          nonRetryable: true,
        });
      }
      const scaledToZero: string[] = [];
      const alreadyAtZero: string[] = [];
      const pages = paginateListInferenceComponents({ client: sagemaker }, { EndpointNameEquals: endpointName });
      for await (const page of awsPages(`ListInferenceComponents ${endpointName}`, pages)) {
        for (const summary of page.InferenceComponents ?? []) {
          const name = summary.InferenceComponentName!;
          const component = await callAws(`DescribeInferenceComponent ${name}`, () =>
            sagemaker.send(new DescribeInferenceComponentCommand({ InferenceComponentName: name })),
          );
          if ((component.RuntimeConfig?.DesiredCopyCount ?? 0) === 0) {
            alreadyAtZero.push(name);
            continue;
          }
          await callAws(`UpdateInferenceComponentRuntimeConfig ${name}`, () =>
            sagemaker.send(new UpdateInferenceComponentRuntimeConfigCommand({ InferenceComponentName: name, DesiredRuntimeConfig: { CopyCount: 0 } })),
          );
          scaledToZero.push(name);
        }
      }
      return { scaledToZero, alreadyAtZero };
    },
  };
}
