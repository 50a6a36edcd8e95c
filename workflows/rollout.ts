// The rollout half of a model-endpoint update (issue 14): the rollback alarms the deploy creates
// for the new version (their removal registered as an undo first), the UpdateEndpoint with the
// policy's DeploymentConfig, and following the rollout to its end. Following is a loop of polls
// that each answer only when the rollout changes (stage, traffic share, an alarm's state), so
// its history grows with the number of stages, never with the time it takes; each answer goes to
// the `progress` query. SageMaker rolling the update back (an alarm, its own timeout) fails the
// deploy with AWS's FailureReason; the deploy's compensation then removes the new version.
import { ApplicationFailure } from '@temporalio/workflow';
import { DEFAULT_CREATED_ALARMS, rolloutAlarmNames, rolloutDeadlineSeconds, toDeploymentConfig, type RolloutPolicy } from '../common/rollout-policy.js';
import type { ResourceTags } from '../activities/resource-tags.js';
import type { Activities } from '../activities/index.js';
import { pollingActivities } from './activity-proxies.js';
import type { Compensations } from './compensation.js';
import { isDeadline } from './failures.js';
import type { ProgressTracker } from './progress.js';

/** Marks runs whose updates follow `rollout`; runs started before it replay the plain update. */
export const ROLLOUT_POLICY = 'rollout-policy';

export interface RolloutContext {
  endpointName: string;
  variantName: string;
  configName: string;
  rollout: RolloutPolicy;
  tags: ResourceTags;
  progress: ProgressTracker;
  undo: Compensations;
  controlPlane: Activities;
  compensate: Activities;
  pollIntervalMs: number;
  inServiceSeconds: number;
}

/** The alarms to roll back on: the user's, or two created for the new version (undo registered first). */
export async function prepareRolloutAlarms(ctx: RolloutContext): Promise<string[]> {
  const { rollout, progress } = ctx;
  if (rollout.alarms !== 'create') {
    progress.skip('createRolloutAlarms', rollout.alarms ? `alarms given: ${rollout.alarms.join(', ')}` : 'no rollback alarms');
    return rollout.alarms ?? [];
  }
  const input = {
    endpointName: ctx.endpointName,
    variantName: ctx.variantName,
    configName: ctx.configName,
    thresholds: rollout.createdAlarms ?? DEFAULT_CREATED_ALARMS,
    tags: ctx.tags,
  };
  // The names are derived from endpoint and config, so the undo knows them before the create.
  const names = rolloutAlarmNames(ctx.endpointName, ctx.configName);
  ctx.undo.push(`delete rollout alarms of ${ctx.configName}`, () => ctx.compensate.deleteRolloutAlarms({ alarmNames: [names.errors, names.latency] }));
  const { alarmNames } = await progress.step(
    'createRolloutAlarms',
    () => ctx.controlPlane.createRolloutAlarms(input),
    (r) => r.alarmNames.join(', '),
  );
  return alarmNames;
}

/** UpdateEndpoint with the policy's DeploymentConfig (a poll: "not yet" while another change runs). */
export async function startRollout(ctx: RolloutContext, alarmNames: string[]): Promise<void> {
  const updater = pollingActivities({
    deadlineMs: ctx.inServiceSeconds * 1000,
    pollIntervalMs: ctx.pollIntervalMs,
    summary: `Update ${ctx.endpointName} to ${ctx.configName} (${ctx.rollout.type})`,
  });
  await ctx.progress.step(
    'createOrUpdateEndpoint',
    () => updater.updateEndpoint({ endpointName: ctx.endpointName, configName: ctx.configName, deploymentConfig: toDeploymentConfig(ctx.rollout, alarmNames) }),
    () => `updated (${ctx.rollout.type} rollout)`,
  );
}

/** Follows the rollout until the endpoint is InService on the new config; fails on a rollback or the deadline. */
export async function followRollout(ctx: RolloutContext, alarmNames: string[]): Promise<void> {
  const { endpointName, configName, rollout, progress } = ctx;
  const deadlineSeconds = rolloutDeadlineSeconds(rollout, ctx.inServiceSeconds);
  const started = Date.now();
  let seenKey: string | undefined;
  let changes = 0;
  await progress.step(
    'followRollout',
    async () => {
      for (;;) {
        const remainingMs = deadlineSeconds * 1000 - (Date.now() - started);
        const poller = pollingActivities({
          deadlineMs: Math.max(remainingMs, ctx.pollIntervalMs),
          pollIntervalMs: ctx.pollIntervalMs,
          summary: `Follow the ${rollout.type} rollout of ${configName} on ${endpointName} (deadline ${deadlineSeconds} s)`,
        });
        try {
          const state = await poller.awaitRolloutChange({ endpointName, expectedConfigName: configName, alarmNames, seenKey });
          changes++;
          const { status, stage, stageMessage, newFleetTrafficPercent, alarms } = state;
          progress.rollout({ policy: rollout.type, configName, status, stage, stageMessage, newFleetTrafficPercent, alarms, changes });
          progress.lastStatus(status);
          if (state.done) return;
          seenKey = state.key;
        } catch (err) {
          if (!isDeadline(err)) throw err;
          const last = progress.snapshot().rollout;
          throw ApplicationFailure.nonRetryable(
            `Rollout of ${configName} to endpoint ${endpointName} did not finish within ${deadlineSeconds} s (last seen: ${last ? `${last.status}, ${last.stage}` : 'no change'})`,
            'DeadlineExceeded',
          );
        }
      }
    },
    () => `${changes} changes seen`,
  );
}

/** After a successful rollout the created alarms have done their job; a failed one leaves them to the undo. */
export async function removeRolloutAlarms(ctx: RolloutContext, alarmNames: string[]): Promise<void> {
  if (ctx.rollout.alarms !== 'create') return;
  await ctx.progress.step(
    'removeRolloutAlarms',
    () => ctx.compensate.deleteRolloutAlarms({ alarmNames }),
    (r) => r.deleted.join(', '),
  );
}
