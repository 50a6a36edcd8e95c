// What makes the `sagemaker` namespace's scaling policies act. On a timer (one high-resolution
// metric period, time-scaled) it:
//   1. evaluates every CloudWatch alarm whose actions name one of our policies (target
//      tracking's own alarms, and the user's alarms behind step-scaling policies) as
//      local/metrics/alarm-evaluation.ts does, writing the state back with SetAlarmState;
//   2. for each alarm in ALARM, runs its policy as Application Auto Scaling documents:
//      target tracking scales out on the high alarm and in on the low one (unless DisableScaleIn)
//      to ceil(current × metric / target); step scaling applies the step whose bounds hold
//      (metric − threshold); always clamped to [MinCapacity, MaxCapacity], with cooldowns
//      (ScaleOutCooldown, ScaleInCooldown; a step policy's Cooldown; each from when the activity
//      completed) and suspended states honoured;
//   3. records each change as a scaling activity (InProgress, then Successful or Failed once the
//      resource has settled), and makes it through capacity.ts.
// Moto stores alarms but never evaluates them, which is why this exists.
// Sources: https://docs.aws.amazon.com/autoscaling/application/userguide/target-tracking-scaling-policy-overview.html,
// https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-step-scaling-policies.html
import { randomUUID } from 'node:crypto';
import { type CloudWatchClient, type MetricAlarm, paginateDescribeAlarms } from '@aws-sdk/client-cloudwatch';
import type { Logger } from 'pino';
import { evaluateAlarm, recordAlarmState } from '../metrics/alarm-evaluation.js';
import type { TimeScale } from '../metrics/time-scale.js';
import type { ScalableCapacity } from './capacity.js';
import { sageMakerResource, VARIANT_DIMENSION } from './scalable-resources.js';
import { targetKey, type AutoScalingStore, type ScalableTargetRecord, type ScalingActivityRecord, type ScalingPolicyRecord } from './store.js';

/** AWS's defaults for SageMaker target tracking (seconds). */
const DEFAULT_SCALE_OUT_COOLDOWN = 300;
const DEFAULT_SCALE_IN_COOLDOWN = 300;
const EVALUATION_PERIOD_SECONDS = 10;

export interface ScalingEvaluatorOptions {
  store: AutoScalingStore;
  /** CloudWatch as the evaluator reads metrics and sets alarm states. */
  cloudWatch: () => CloudWatchClient;
  capacity: ScalableCapacity;
  timeScale: TimeScale;
  log: Logger;
}

const clamp = (n: number, target: ScalableTargetRecord) => Math.min(target.MaxCapacity, Math.max(target.MinCapacity, n));

export class ScalingEvaluator {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly opts: ScalingEvaluatorOptions) {}

  start(): void {
    this.timer ??= setInterval(() => void this.tick(), this.opts.timeScale.periodMs(EVALUATION_PERIOD_SECONDS));
    this.timer.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One evaluation round; rounds never overlap. */
  tick(): Promise<void> {
    this.running ??= this.evaluate()
      .catch((err: unknown) => this.opts.log.warn({ err }, 'scaling evaluation failed'))
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private async evaluate(): Promise<void> {
    await this.settleActivities();
    const policies = new Map(this.opts.store.allPolicies().map((p) => [p.PolicyARN, p]));
    if (!policies.size) return;
    for await (const page of paginateDescribeAlarms({ client: this.opts.cloudWatch() }, { AlarmTypes: ['MetricAlarm'] })) {
      for (const alarm of page.MetricAlarms ?? []) {
        const mine = (alarm.AlarmActions ?? []).map((arn) => policies.get(arn)).filter((p): p is ScalingPolicyRecord => !!p);
        if (!mine.length) continue;
        const evaluation = await evaluateAlarm(this.opts.cloudWatch(), alarm, this.opts.timeScale);
        await recordAlarmState(this.opts.cloudWatch(), alarm, evaluation);
        const { state, value } = evaluation;
        if (state === 'ALARM' && value !== undefined) for (const policy of mine) await this.act(policy, alarm, value);
      }
    }
  }

  /** The capacity the policy wants, or undefined when it should not act now. */
  private wanted(policy: ScalingPolicyRecord, alarm: MetricAlarm, value: number, current: number, target: ScalableTargetRecord) {
    const key = targetKey(policy.ResourceId, policy.ScalableDimension);
    const activities = this.opts.store.activities.filter((a) => targetKey(a.ResourceId, a.ScalableDimension) === key);
    // A cooldown runs from when the activity completed (AWS: "after a scale-in activity completes",
    // "for a previous scale-out activity to take effect"), so a slow copy start does not use it up.
    const within = (seconds: number, filter: (a: ScalingActivityRecord) => boolean) =>
      activities.some((a) => filter(a) && a.StatusCode !== 'Failed' && Date.now() - (a.EndTime ?? Date.now()) < this.opts.timeScale.durationMs(seconds));
    const tracking = policy.TargetTrackingScalingPolicyConfiguration;
    if (tracking) {
      const desired = clamp(Math.ceil((current * value) / tracking.TargetValue!), target);
      const outCooldown = tracking.ScaleOutCooldown ?? DEFAULT_SCALE_OUT_COOLDOWN;
      if (alarm.AlarmName!.includes('-AlarmHigh-')) {
        if (desired <= current || target.SuspendedState.DynamicScalingOutSuspended) return undefined;
        if (within(outCooldown, (a) => a.direction === 'out')) return undefined;
        return desired;
      }
      if (desired >= current || tracking.DisableScaleIn || target.SuspendedState.DynamicScalingInSuspended) return undefined;
      // No scale-in while a scale-out's cooldown runs, nor within the scale-in cooldown of the last change.
      if (within(outCooldown, (a) => a.direction === 'out')) return undefined;
      if (within(tracking.ScaleInCooldown ?? DEFAULT_SCALE_IN_COOLDOWN, () => true)) return undefined;
      return desired;
    }
    const step = policy.StepScalingPolicyConfiguration!;
    const delta = value - (alarm.Threshold ?? 0);
    const adjustment = step.StepAdjustments?.find(
      (s) => (s.MetricIntervalLowerBound ?? Number.NEGATIVE_INFINITY) <= delta && delta < (s.MetricIntervalUpperBound ?? Number.POSITIVE_INFINITY),
    );
    if (!adjustment) return undefined;
    const by = adjustment.ScalingAdjustment!;
    let desired: number;
    if (step.AdjustmentType === 'ExactCapacity') desired = by;
    else if (step.AdjustmentType === 'PercentChangeInCapacity') {
      const change = Math.trunc((current * by) / 100);
      const magnitude = Math.max(Math.abs(change), step.MinAdjustmentMagnitude ?? (by === 0 ? 0 : 1));
      desired = current + Math.sign(by) * magnitude;
    } else desired = current + by;
    desired = clamp(desired, target);
    if (desired === current) return undefined;
    const suspended = desired > current ? target.SuspendedState.DynamicScalingOutSuspended : target.SuspendedState.DynamicScalingInSuspended;
    if (suspended || within(step.Cooldown ?? 0, (a) => a.PolicyName === policy.PolicyName)) return undefined;
    return desired;
  }

  private async act(policy: ScalingPolicyRecord, alarm: MetricAlarm, value: number): Promise<void> {
    const { store } = this.opts;
    const target = store.targets.get(targetKey(policy.ResourceId, policy.ScalableDimension));
    const resource = sageMakerResource(policy.ResourceId);
    if (!target || !resource) return;
    // One change at a time per target: the next waits until this one has settled.
    if (store.activities.some((a) => a.ResourceId === policy.ResourceId && a.ScalableDimension === policy.ScalableDimension && a.StatusCode === 'InProgress')) {
      return;
    }
    const state = await this.opts.capacity.read(resource);
    if (!state?.settled) return;
    const desired = this.wanted(policy, alarm, value, state.desired, target);
    if (desired === undefined) return;
    const unit = policy.ScalableDimension === VARIANT_DIMENSION ? 'instance' : 'copy';
    const activity: ScalingActivityRecord = {
      ActivityId: randomUUID(),
      ResourceId: policy.ResourceId,
      ScalableDimension: policy.ScalableDimension,
      Description: `Setting desired ${unit} count to ${desired}.`,
      Cause: `monitor alarm ${alarm.AlarmName} in state ALARM triggered policy ${policy.PolicyName}`,
      StartTime: Date.now(),
      StatusCode: 'InProgress',
      StatusMessage: `Waiting for change to be fulfilled by sagemaker.`,
      desiredCapacity: desired,
      direction: desired > state.desired ? 'out' : 'in',
      PolicyName: policy.PolicyName,
    };
    store.addActivity(activity);
    this.opts.log.info({ resourceId: policy.ResourceId, from: state.desired, to: desired, policy: policy.PolicyName }, 'scaling');
    try {
      await this.opts.capacity.set(resource, desired);
    } catch (err) {
      this.finish(activity, 'Failed', `Failed to set desired ${unit} count to ${desired}. Reason: ${(err as Error).message}`);
    }
  }

  /** InProgress activities whose resource has settled become Successful (or Failed when the change did not take). */
  private async settleActivities(): Promise<void> {
    for (const activity of this.opts.store.activities.filter((a) => a.StatusCode === 'InProgress')) {
      const resource = sageMakerResource(activity.ResourceId);
      const state = resource && (await this.opts.capacity.read(resource));
      const unit = activity.ScalableDimension === VARIANT_DIMENSION ? 'instance' : 'copy';
      if (!state) {
        this.finish(activity, 'Failed', `Failed to set desired ${unit} count to ${activity.desiredCapacity}. Reason: the resource no longer exists.`);
      } else if (state.settled && state.desired === activity.desiredCapacity) {
        this.finish(
          activity,
          'Successful',
          `Successfully set desired ${unit} count to ${activity.desiredCapacity}. Change successfully fulfilled by sagemaker.`,
        );
      } else if (state.settled) {
        this.finish(
          activity,
          'Failed',
          `Failed to set desired ${unit} count to ${activity.desiredCapacity}. Reason: ${state.failureReason ?? 'the change was not applied'}`,
        );
      }
    }
  }

  private finish(activity: ScalingActivityRecord, status: 'Successful' | 'Failed', message: string): void {
    Object.assign(activity, { StatusCode: status, StatusMessage: message, EndTime: Date.now() });
    this.opts.store.save();
  }
}
