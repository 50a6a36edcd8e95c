// The CloudWatch alarms a target-tracking policy creates and owns, as AWS names and defines them:
// `TargetTracking-<resourceId>-AlarmHigh-<uuid>` (scale out: the metric above the target for 3
// consecutive periods) and `-AlarmLow-<uuid>` (scale in: below 90% of the target for 15
// periods), with the policy's ARN as their action. They are written through the local cloud's
// own URL, so moto's journal keeps them across restarts, and are visible with describe-alarms.
// Source: https://docs.aws.amazon.com/autoscaling/application/userguide/target-tracking-scaling-policy-overview.html
import { randomUUID } from 'node:crypto';
import { type CloudWatchClient, DeleteAlarmsCommand, PutMetricAlarmCommand, type PutMetricAlarmInput, type Statistic } from '@aws-sdk/client-cloudwatch';
import type { Alarm, TargetTrackingScalingPolicyConfiguration } from '@aws-sdk/client-application-auto-scaling';
import { dimensionsOf, SAGEMAKER_NAMESPACE } from '../metrics/sagemaker-metrics.js';
import { ACCOUNT_ID } from '../sagemaker/store.js';
import { sageMakerResource } from './scalable-resources.js';

/** The metric an alarm watches: where, how aggregated and over which AWS period. */
interface TrackedMetric {
  Namespace: string;
  MetricName: string;
  Dimensions: { Name: string; Value: string }[];
  Statistic: Statistic;
  Period: number;
}

/** What each SageMaker predefined metric is in CloudWatch. */
const PREDEFINED: Record<string, { MetricName: string; Statistic: Statistic; Period: number }> = {
  SageMakerVariantInvocationsPerInstance: { MetricName: 'InvocationsPerInstance', Statistic: 'Sum', Period: 60 },
  SageMakerInferenceComponentInvocationsPerCopy: { MetricName: 'InvocationsPerCopy', Statistic: 'Sum', Period: 60 },
  SageMakerVariantConcurrentRequestsPerModelHighResolution: { MetricName: 'ConcurrentRequestsPerModel', Statistic: 'Maximum', Period: 10 },
  SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution: {
    MetricName: 'ConcurrentRequestsPerCopy',
    Statistic: 'Maximum',
    Period: 10,
  },
};
export const SAGEMAKER_PREDEFINED_METRICS = Object.keys(PREDEFINED);

const HIGH_DATAPOINTS = 3;
const LOW_DATAPOINTS = 15;
/** AWS's scale-in alarm fires below 90% of the target, so capacity does not flap around it. */
const LOW_THRESHOLD_RATIO = 0.9;

export function trackedMetric(resourceId: string, config: TargetTrackingScalingPolicyConfiguration): TrackedMetric {
  const predefined = config.PredefinedMetricSpecification?.PredefinedMetricType;
  if (predefined) {
    const { MetricName, Statistic, Period } = PREDEFINED[predefined];
    const resource = sageMakerResource(resourceId)!;
    return { Namespace: SAGEMAKER_NAMESPACE, MetricName, Statistic, Period, Dimensions: dimensionsOf(resource) };
  }
  const custom = config.CustomizedMetricSpecification!;
  return {
    Namespace: custom.Namespace!,
    MetricName: custom.MetricName!,
    Dimensions: (custom.Dimensions ?? []).map((d) => ({ Name: d.Name!, Value: d.Value! })),
    Statistic: custom.Statistic as Statistic,
    Period: 60,
  };
}

export class TargetTrackingAlarms {
  constructor(
    private readonly cloudWatch: () => CloudWatchClient,
    private readonly region: string,
  ) {}

  /** Creates (or, for an updated policy, replaces) the policy's two alarms; returns them. */
  async put(policyArn: string, resourceId: string, config: TargetTrackingScalingPolicyConfiguration, previous: Alarm[]): Promise<Alarm[]> {
    const metric = trackedMetric(resourceId, config);
    const target = config.TargetValue!;
    const alarms: (PutMetricAlarmInput & { AlarmName: string })[] = [
      {
        ...metric,
        AlarmName: previous.find((a) => a.AlarmName?.includes('-AlarmHigh-'))?.AlarmName ?? `TargetTracking-${resourceId}-AlarmHigh-${randomUUID()}`,
        AlarmDescription: `DO NOT EDIT OR DELETE. For TargetTrackingScaling policy ${policyArn}.`,
        EvaluationPeriods: HIGH_DATAPOINTS,
        DatapointsToAlarm: HIGH_DATAPOINTS,
        Threshold: target,
        ComparisonOperator: 'GreaterThanThreshold',
        AlarmActions: [policyArn],
      },
      {
        ...metric,
        AlarmName: previous.find((a) => a.AlarmName?.includes('-AlarmLow-'))?.AlarmName ?? `TargetTracking-${resourceId}-AlarmLow-${randomUUID()}`,
        AlarmDescription: `DO NOT EDIT OR DELETE. For TargetTrackingScaling policy ${policyArn}.`,
        EvaluationPeriods: LOW_DATAPOINTS,
        DatapointsToAlarm: LOW_DATAPOINTS,
        Threshold: target * LOW_THRESHOLD_RATIO,
        ComparisonOperator: 'LessThanThreshold',
        AlarmActions: [policyArn],
      },
    ];
    // A policy that never scales in gets no scale-in alarm.
    const wanted = config.DisableScaleIn ? alarms.slice(0, 1) : alarms;
    for (const alarm of wanted) await this.cloudWatch().send(new PutMetricAlarmCommand(alarm));
    const stale = previous.filter((a) => !wanted.some((w) => w.AlarmName === a.AlarmName)).map((a) => a.AlarmName!);
    await this.delete(stale);
    return wanted.map((a) => ({ AlarmName: a.AlarmName, AlarmARN: `arn:aws:cloudwatch:${this.region}:${ACCOUNT_ID}:alarm:${a.AlarmName}` }));
  }

  async delete(alarmNames: string[]): Promise<void> {
    if (alarmNames.length) await this.cloudWatch().send(new DeleteAlarmsCommand({ AlarmNames: alarmNames }));
  }
}
