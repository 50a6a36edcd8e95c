// How the local cloud evaluates one CloudWatch metric alarm, since moto stores alarms but never
// evaluates them: the alarm's statistic per period over its last EvaluationPeriods closed
// periods, read from CloudWatch (GetMetricStatistics), ALARM when DatapointsToAlarm of them
// breach the threshold, OK when fewer do, INSUFFICIENT_DATA without datapoints; the state is
// written back with SetAlarmState so that describe-alarms shows it. Shared by the scaling
// evaluator (local/autoscaling/evaluator.ts) and the endpoint rollouts' auto-rollback alarms
// (local/sagemaker/endpoint-rollout.ts). Periods are compressed by LOCAL_CLOUD_TIME_SCALE.
import {
  type CloudWatchClient,
  type Datapoint,
  GetMetricStatisticsCommand,
  type MetricAlarm,
  SetAlarmStateCommand,
  type StateValue,
} from '@aws-sdk/client-cloudwatch';
import type { TimeScale } from './time-scale.js';

export interface AlarmEvaluation {
  state: StateValue;
  /** The newest period's value, which a scaling policy acts on. */
  value?: number;
}

/** One period's statistic from the per-second statistic sets CloudWatch returned. */
function statisticOf(points: Datapoint[], statistic: string): number | undefined {
  if (!points.length) return undefined;
  const sum = points.reduce((a, p) => a + (p.Sum ?? 0), 0);
  const count = points.reduce((a, p) => a + (p.SampleCount ?? 0), 0);
  switch (statistic) {
    case 'Sum':
      return sum;
    case 'SampleCount':
      return count;
    case 'Average':
      return count ? sum / count : undefined;
    case 'Minimum':
      return Math.min(...points.map((p) => p.Minimum ?? Number.POSITIVE_INFINITY));
    case 'Maximum':
      return Math.max(...points.map((p) => p.Maximum ?? Number.NEGATIVE_INFINITY));
    default:
      return undefined;
  }
}

function breaches(alarm: MetricAlarm, value: number): boolean {
  const t = alarm.Threshold ?? 0;
  switch (alarm.ComparisonOperator) {
    case 'GreaterThanThreshold':
      return value > t;
    case 'GreaterThanOrEqualToThreshold':
      return value >= t;
    case 'LessThanThreshold':
      return value < t;
    case 'LessThanOrEqualToThreshold':
      return value <= t;
    default:
      return false;
  }
}

/** The state `alarm` is in now, from its metric's datapoints in CloudWatch. */
export async function evaluateAlarm(cloudWatch: CloudWatchClient, alarm: MetricAlarm, timeScale: TimeScale): Promise<AlarmEvaluation> {
  const periodMs = timeScale.periodMs(alarm.Period ?? 60);
  const periods = alarm.EvaluationPeriods ?? 1;
  const needed = alarm.DatapointsToAlarm ?? periods;
  // The newest closed period may not be published yet (metrics go out once a period closes).
  const end = Math.floor(Date.now() / periodMs) * periodMs - periodMs;
  const start = end - periods * periodMs;
  const { Datapoints = [] } = await cloudWatch.send(
    new GetMetricStatisticsCommand({
      Namespace: alarm.Namespace,
      MetricName: alarm.MetricName,
      Dimensions: alarm.Dimensions,
      StartTime: new Date(start),
      EndTime: new Date(end),
      Period: 1,
      Statistics: ['SampleCount', 'Sum', 'Minimum', 'Maximum'],
    }),
  );
  const buckets: Datapoint[][] = Array.from({ length: periods }, () => []);
  for (const point of Datapoints) {
    const index = Math.floor((point.Timestamp!.getTime() - start) / periodMs);
    if (index >= 0 && index < periods) buckets[index].push(point);
  }
  const values = buckets.map((b) => statisticOf(b, alarm.Statistic ?? 'Average')).filter((v): v is number => v !== undefined);
  if (!values.length) return { state: 'INSUFFICIENT_DATA' };
  const breaching = values.filter((v) => breaches(alarm, v)).length;
  return { state: breaching >= needed ? 'ALARM' : 'OK', value: values.at(-1) };
}

/** Writes a changed state back to CloudWatch (SetAlarmState), so describe-alarms shows it. */
export async function recordAlarmState(cloudWatch: CloudWatchClient, alarm: MetricAlarm, { state, value }: AlarmEvaluation): Promise<void> {
  if (state === alarm.StateValue) return;
  await cloudWatch.send(
    new SetAlarmStateCommand({
      AlarmName: alarm.AlarmName,
      StateValue: state,
      StateReason: value === undefined ? 'No datapoints in the evaluation periods' : `Most recent datapoint ${value} (threshold ${alarm.Threshold})`,
    }),
  );
}
