// What a deploy does around a rollout (issue 14): the CloudWatch alarms it creates for the new
// version (the variant's Invocation5XXErrors and ModelLatency) and removes afterwards, and the
// poll that follows an UpdateEndpoint with a DeploymentConfig. The poll answers only when the
// rollout changes stage (new fleet creating, traffic activating, baking, old fleet deleting), its
// traffic share or an alarm's state changes, or it ends; every unchanged look is a "not yet"
// retried by the activity's retry policy, so a rollout of hours costs a handful of history events.
import { type CloudWatchClient, DeleteAlarmsCommand, paginateDescribeAlarms, PutMetricAlarmCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeEndpointCommand, type DescribeEndpointOutput, type ProductionVariantStatus, type SageMakerClient } from '@aws-sdk/client-sagemaker';
import { ApplicationFailure } from '@temporalio/common';
import { type CreatedAlarmThresholds, rolloutAlarmNames } from '../common/rollout-policy.js';
import { awsPages, callAws, callAwsOrUndefined, notYet } from './aws-errors.js';
import { type ResourceTags, toTags } from './resource-tags.js';
import { createSageMakerActivities } from './sagemaker.js';

export interface CreateRolloutAlarmsInput {
  endpointName: string;
  variantName: string;
  /** The config being rolled out: the alarms are named for it, so a retry finds the same ones. */
  configName: string;
  thresholds: CreatedAlarmThresholds;
  tags: ResourceTags;
}

export interface RolloutState {
  /** What the workflow compares to tell a change from the same state seen again. */
  key: string;
  /** EndpointStatus: Updating, RollingBack, InService. */
  status: string;
  /** The new fleet's stage (AWS VariantStatus: Creating, ActivatingTraffic, Baking, ...), or the endpoint status. */
  stage: string;
  stageMessage?: string;
  /** The new fleet's share of traffic, when DescribeEndpoint states it. */
  newFleetTrafficPercent?: number;
  newFleetInstances?: { current?: number; desired?: number };
  /** State of each rollback alarm (OK, ALARM, INSUFFICIENT_DATA; MISSING when it does not exist). */
  alarms: Record<string, string>;
  /** InService on the config that was rolled out. */
  done: boolean;
}

export interface AwaitRolloutInput {
  endpointName: string;
  expectedConfigName: string;
  alarmNames: string[];
  /** The key of the state the workflow saw last; the same state again is "not yet". */
  seenKey?: string;
}

const PERCENT = /(\d+(?:\.\d+)?)\s*%/;

/** The newest status of a variant's status list (AWS lists each status change with its start). */
function latestStatus(list: ProductionVariantStatus[] | undefined): ProductionVariantStatus | undefined {
  return [...(list ?? [])].sort((a, b) => (a.StartTime?.getTime() ?? 0) - (b.StartTime?.getTime() ?? 0)).at(-1);
}

function stageOf(ep: DescribeEndpointOutput): Pick<RolloutState, 'stage' | 'stageMessage' | 'newFleetTrafficPercent' | 'newFleetInstances'> {
  const pending = ep.PendingDeploymentSummary?.ProductionVariants?.[0];
  const latest = latestStatus(pending?.VariantStatus) ?? latestStatus(ep.ProductionVariants?.[0]?.VariantStatus);
  // The new fleet's weight in routing now against the weight it will have (the local cloud and
  // AWS both report CurrentWeight on the pending variant); else a share the status message states.
  const weightShare = pending?.DesiredWeight ? ((pending.CurrentWeight ?? 0) / pending.DesiredWeight) * 100 : undefined;
  const messageShare = latest?.StatusMessage?.match(PERCENT)?.[1];
  const share = weightShare ?? (messageShare === undefined ? undefined : Number(messageShare));
  return {
    stage: latest?.Status ?? ep.EndpointStatus ?? 'Unknown',
    stageMessage: latest?.StatusMessage,
    newFleetTrafficPercent: share === undefined ? undefined : Math.round(share * 10) / 10,
    newFleetInstances: pending ? { current: pending.CurrentInstanceCount, desired: pending.DesiredInstanceCount } : undefined,
  };
}

export function createRolloutActivities({ sagemaker, cloudwatch }: { sagemaker: SageMakerClient; cloudwatch: CloudWatchClient }) {
  // The terminal checks (Failed, rolled back, UpdateRollbackFailed) have one home: the InService wait.
  const endpoints = createSageMakerActivities({ sagemaker });

  async function alarmStates(alarmNames: string[]): Promise<Record<string, string>> {
    const states: Record<string, string> = Object.fromEntries(alarmNames.map((n) => [n, 'MISSING']));
    if (!alarmNames.length) return states;
    for await (const page of awsPages('DescribeAlarms', paginateDescribeAlarms({ client: cloudwatch }, { AlarmNames: alarmNames }))) {
      for (const alarm of page.MetricAlarms ?? []) states[alarm.AlarmName!] = alarm.StateValue ?? 'INSUFFICIENT_DATA';
    }
    return states;
  }

  return {
    /**
     * Creates (or, PutMetricAlarm being an upsert, re-creates) the two rollback alarms on the
     * variant: 5XX errors above the threshold, and average model latency above the threshold.
     * Missing data is not breaching: a fleet with no traffic yet must not roll back.
     */
    async createRolloutAlarms(input: CreateRolloutAlarmsInput): Promise<{ alarmNames: string[] }> {
      const names = rolloutAlarmNames(input.endpointName, input.configName);
      const { periodSeconds: Period, max5xxErrors, maxModelLatencyMs } = input.thresholds;
      const Dimensions = [
        { Name: 'EndpointName', Value: input.endpointName },
        { Name: 'VariantName', Value: input.variantName },
      ];
      const alarm = (AlarmName: string, MetricName: string, Statistic: 'Sum' | 'Average', Threshold: number, AlarmDescription: string) =>
        callAws(`PutMetricAlarm ${AlarmName}`, () =>
          cloudwatch.send(
            new PutMetricAlarmCommand({
              AlarmName,
              AlarmDescription,
              Namespace: 'AWS/SageMaker',
              MetricName,
              Dimensions,
              Statistic,
              Period,
              EvaluationPeriods: 1,
              Threshold,
              ComparisonOperator: 'GreaterThanThreshold',
              TreatMissingData: 'notBreaching',
              Tags: toTags(input.tags),
            }),
          ),
        );
      await alarm(
        names.errors,
        'Invocation5XXErrors',
        'Sum',
        max5xxErrors,
        `Rolls back the update of ${input.endpointName} to ${input.configName} on 5XX errors`,
      );
      // SageMaker reports ModelLatency in microseconds.
      await alarm(
        names.latency,
        'ModelLatency',
        'Average',
        maxModelLatencyMs * 1000,
        `Rolls back the update of ${input.endpointName} to ${input.configName} when model latency exceeds ${maxModelLatencyMs} ms`,
      );
      return { alarmNames: [names.errors, names.latency] };
    },

    /** Deletes the alarms that exist (DeleteAlarms refuses the whole call if one name is unknown). */
    async deleteRolloutAlarms({ alarmNames }: { alarmNames: string[] }): Promise<{ deleted: string[] }> {
      const states = await alarmStates(alarmNames);
      const existing = alarmNames.filter((n) => states[n] !== 'MISSING');
      if (existing.length) await callAws('DeleteAlarms', () => cloudwatch.send(new DeleteAlarmsCommand({ AlarmNames: existing })));
      return { deleted: existing };
    },

    /**
     * One look at a rollout. Returns when something changed since `seenKey`, or when the rollout
     * ended on the new config; throws EndpointUpdateFailed (non-retryable, with AWS's
     * FailureReason) when SageMaker rolled it back; "not yet" otherwise.
     */
    async awaitRolloutChange(input: AwaitRolloutInput): Promise<RolloutState> {
      const ep = await callAwsOrUndefined(`DescribeEndpoint ${input.endpointName}`, () =>
        sagemaker.send(new DescribeEndpointCommand({ EndpointName: input.endpointName })),
      );
      if (!ep) throw ApplicationFailure.nonRetryable(`Endpoint ${input.endpointName} does not exist (deleted during the rollout?)`, 'EndpointNotFound');
      const status = ep.EndpointStatus ?? 'Unknown';
      const done = status === 'InService' && ep.EndpointConfigName === input.expectedConfigName;
      // Anything but a rollout under way goes through the InService wait's checks (rolled back, Failed, ...).
      if (status !== 'Updating' && status !== 'RollingBack' && !done) {
        await endpoints.awaitEndpointInService({ endpointName: input.endpointName, expectedConfigName: input.expectedConfigName });
      }
      const stage = done ? { stage: 'InService' } : stageOf(ep);
      const alarms = await alarmStates(input.alarmNames);
      const key = JSON.stringify([status, stage.stage, stage.newFleetTrafficPercent, alarms]);
      const state: RolloutState = { key, status, ...stage, alarms, done };
      if (!done && key === input.seenKey) {
        throw notYet(
          `Rollout of ${input.expectedConfigName} to ${input.endpointName}: ${status}, ${stage.stage}${stage.stageMessage ? ` (${stage.stageMessage})` : ''}`,
          'RolloutNotDone',
        );
      }
      return state;
    },
  };
}
