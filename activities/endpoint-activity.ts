// What the idle guard (workflows/endpoint-lease.ts) reads and does: an endpoint's traffic, as
// the `Invocations` metric SageMaker publishes to CloudWatch per production variant, and
// scaling an inference-component endpoint to zero copies. AWS allows CopyCount 0 on
// UpdateInferenceComponentRuntimeConfig (InferenceComponentCopyCount, min 0) whatever the
// endpoint's managed instance scaling says; the instances go too only when its MinInstanceCount
// is 0 (https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-auto-scaling-zero-instances.html).
import { paginateGetMetricData, type CloudWatchClient, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import {
  DescribeEndpointCommand,
  DescribeEndpointConfigCommand,
  DescribeInferenceComponentCommand,
  paginateListInferenceComponents,
  UpdateInferenceComponentRuntimeConfigCommand,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { type ApplicationAutoScalingClient, paginateDescribeScalableTargets } from '@aws-sdk/client-application-auto-scaling';
import { ApplicationFailure } from '@temporalio/common';
import { inferenceComponentResourceId } from '../common/resource-names.js';
import { COPY_DIMENSION } from './autoscaling.js';
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

export interface ScaledToZero {
  scaledToZero: string[];
  alreadyAtZero: string[];
  /** Instances that keep running with no copy on them (managed instance scaling's minimum, or a fixed fleet). */
  instancesKept: number;
}

const refuse = (message: string) => ApplicationFailure.create({ message, type: 'ScaleToZeroUnsupported', nonRetryable: true });

export function createEndpointActivityActivities({
  autoscaling,
  cloudwatch,
  sagemaker,
}: {
  autoscaling: ApplicationAutoScalingClient;
  cloudwatch: CloudWatchClient;
  sagemaker: SageMakerClient;
}) {
  /** The MinCapacity of the component's copy-count target, if it has one. */
  async function minCopiesOf(componentName: string): Promise<number | undefined> {
    const resourceId = inferenceComponentResourceId(componentName);
    const pages = paginateDescribeScalableTargets(
      { client: autoscaling },
      { ServiceNamespace: 'sagemaker', ResourceIds: [resourceId], ScalableDimension: COPY_DIMENSION },
    );
    for await (const page of awsPages(`DescribeScalableTargets ${resourceId}`, pages)) {
      const target = page.ScalableTargets?.find((t) => t.ResourceId === resourceId);
      if (target) return target.MinCapacity;
    }
    return undefined;
  }

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
     * Every inference component of the endpoint to zero copies. Refused, non-retryably and before
     * any change: a model-based variant (its DesiredInstanceCount stays at least 1 on AWS; scale
     * to zero is an inference-component feature), and a component whose scalable target keeps a
     * MinCapacity above 0 (Application Auto Scaling would put the copies back).
     */
    async scaleEndpointToZero({ endpointName }: { endpointName: string }): Promise<ScaledToZero> {
      const endpoint = await callAws(`DescribeEndpoint ${endpointName}`, () => sagemaker.send(new DescribeEndpointCommand({ EndpointName: endpointName })));
      const config = await callAws(`DescribeEndpointConfig ${endpoint.EndpointConfigName}`, () =>
        sagemaker.send(new DescribeEndpointConfigCommand({ EndpointConfigName: endpoint.EndpointConfigName })),
      );
      const variants = config.ProductionVariants ?? [];
      const modelVariants = variants.filter((v) => v.ModelName).map((v) => v.VariantName);
      if (modelVariants.length) {
        throw refuse(
          `Endpoint ${endpointName} cannot scale to zero: variant ${modelVariants.join(', ')} serves a model directly, and SageMaker scales only ` +
            'inference components to zero (a model-based variant keeps at least 1 instance). Use the action "teardown", or deploy with inference components.',
        );
      }
      const components: Array<{ name: string; copies: number }> = [];
      const pages = paginateListInferenceComponents({ client: sagemaker }, { EndpointNameEquals: endpointName });
      for await (const page of awsPages(`ListInferenceComponents ${endpointName}`, pages)) {
        for (const summary of page.InferenceComponents ?? []) {
          const name = summary.InferenceComponentName!;
          const component = await callAws(`DescribeInferenceComponent ${name}`, () =>
            sagemaker.send(new DescribeInferenceComponentCommand({ InferenceComponentName: name })),
          );
          const minCopies = await minCopiesOf(name);
          if (minCopies !== undefined && minCopies > 0) {
            throw refuse(
              `Endpoint ${endpointName} cannot scale to zero: inference component ${name} has a scalable target with MinCapacity ${minCopies}, ` +
                'so Application Auto Scaling would bring its copies back. Deploy it with autoscaling.minCopies 0 (or scaleToZero: true), or use the action "teardown".',
            );
          }
          components.push({ name, copies: component.RuntimeConfig?.DesiredCopyCount ?? 0 });
        }
      }
      const scaledToZero: string[] = [];
      const alreadyAtZero: string[] = [];
      for (const { name, copies } of components) {
        if (copies === 0) {
          alreadyAtZero.push(name);
          continue;
        }
        await callAws(`UpdateInferenceComponentRuntimeConfig ${name}`, () =>
          sagemaker.send(new UpdateInferenceComponentRuntimeConfigCommand({ InferenceComponentName: name, DesiredRuntimeConfig: { CopyCount: 0 } })),
        );
        scaledToZero.push(name);
      }
      const instancesKept = variants.reduce(
        (sum, v) => sum + (v.ManagedInstanceScaling?.Status === 'ENABLED' ? (v.ManagedInstanceScaling.MinInstanceCount ?? 0) : (v.InitialInstanceCount ?? 0)),
        0,
      );
      return { scaledToZero, alreadyAtZero, instancesKept };
    },
  };
}
