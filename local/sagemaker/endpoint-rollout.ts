// The rollout of an UpdateEndpoint on a model-based endpoint, as AWS's deployment guardrails
// describe it: the new (green) fleet is provisioned from the new config while the old (blue) one
// serves; traffic then shifts to it in the plan's steps (all at once, canary then the rest, or
// linear steps; a rolling update runs as linear steps of MaximumBatchSize), each followed by a
// baking period of WaitIntervalInSeconds during which the AutoRollbackConfiguration alarms are
// evaluated. An alarm in ALARM, or MaximumExecutionTimeoutInSeconds passing, sends all traffic
// back to blue and stops green: RollingBack, then InService on the old config with a
// FailureReason. Otherwise blue is kept for TerminationWaitInSeconds, then stopped, and the
// endpoint is InService on the new config. LOCAL_CLOUD_TIME_SCALE divides every wait and the
// timeout (not the launch, which takes as long as the model processes take).
// Each stage is written to the store (pending.progress) before it starts; a restart mid-rollout
// rolls back (endpoint-lifecycle.ts `recover`), since the model processes did not survive it.
import { setTimeout as sleep } from 'node:timers/promises';
import { type CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import type { Logger } from 'pino';
import type { ContainerPoolApi, Fleet } from '../instances/types.js';
import { evaluateAlarm, recordAlarmState } from '../metrics/alarm-evaluation.js';
import type { TimeScale } from '../metrics/time-scale.js';
import type { RolloutPlan } from './deployment-config.js';
import { deployedFleet, type EndpointRecord, type RolloutProgress } from './store.js';

/** How often alarms are evaluated while baking: CloudWatch's high-resolution period, time-scaled. */
const ALARM_CHECK_SECONDS = 10;

export interface RolloutDeps {
  pool: ContainerPoolApi;
  /** CloudWatch (moto) for the auto-rollback alarms; without it alarms are not evaluated. */
  cloudWatch?: () => CloudWatchClient;
  timeScale: TimeScale;
  log: Logger;
  /** Records a change of the endpoint (saved to the store). */
  transition(endpoint: EndpointRecord, changes: Partial<EndpointRecord>): void;
}

/** Why a rollout stops short: the abort of its operation (shutdown, delete), or a reason to roll back. */
type Interruption = { kind: 'aborted' } | { kind: 'rollback'; reason: string };

const percent = (share: number) => `${Math.round(share * 1000) / 10}%`;

export class EndpointRollout {
  constructor(private readonly deps: RolloutDeps) {}

  /**
   * Runs the rollout of `endpoint.pending` to its end. Resolves when done or aborted (leaving
   * state as it was, like every operation); rejects when the new fleet cannot start, which the
   * lifecycle records as a rolled-back update.
   */
  async run(endpoint: EndpointRecord, signal: AbortSignal): Promise<void> {
    const pending = endpoint.pending!;
    const plan = pending.plan!;
    const name = endpoint.EndpointName;
    const deadline = pending.startedAt + this.deps.timeScale.durationMs(plan.executionTimeoutSeconds);
    const timedOut = `the deployment exceeded MaximumExecutionTimeoutInSeconds (${plan.executionTimeoutSeconds} s)`;
    this.stage(endpoint, 'Creating', 0, 'Provisioning the new fleet.');
    const timeout = AbortSignal.timeout(Math.max(0, deadline - Date.now()));
    let green: Fleet;
    try {
      green = await this.deps.pool.launch(name, pending.variants, { signal: AbortSignal.any([signal, timeout]), label: pending.EndpointConfigName });
    } catch (err) {
      if (signal.aborted) return;
      if (timeout.aborted) return this.rollBack(endpoint, undefined, timedOut);
      throw err;
    }
    if (signal.aborted) return void (await green.stop());
    const instanceCounts = Object.fromEntries(green.variants.map((v) => [v.variantName, v.instances.length]));
    for (const [step, share] of plan.shares.entries()) {
      const of = plan.shares.length > 1 ? ` (step ${step + 1} of ${plan.shares.length})` : '';
      this.stage(endpoint, 'ActivatingTraffic', share, `Shifting ${percent(share)} of the traffic to the new fleet${of}.`, instanceCounts);
      this.deps.pool.shift(name, green, share);
      this.stage(endpoint, 'Baking', share, `Baking with ${percent(share)} of the traffic on the new fleet${of} for ${plan.waitSeconds} s.`, instanceCounts);
      const interruption = await this.bake(plan, deadline, signal, timedOut);
      if (interruption?.kind === 'aborted') return;
      if (interruption) return this.rollBack(endpoint, green, `${interruption.reason} with ${percent(share)} of the traffic on the new fleet`);
    }
    this.stage(
      endpoint,
      'Updating',
      1,
      `All traffic is on the new fleet; the old fleet is terminated after TerminationWaitInSeconds (${plan.terminationWaitSeconds} s).`,
      instanceCounts,
    );
    if (!(await this.wait(this.deps.timeScale.durationMs(plan.terminationWaitSeconds), signal))) return;
    await this.deps.pool.activate(name, green); // stops the old fleet
    if (signal.aborted) return;
    this.deps.transition(endpoint, {
      EndpointStatus: 'InService',
      EndpointConfigName: pending.EndpointConfigName,
      FailureReason: undefined,
      pending: undefined,
      deployed: deployedFleet(pending, instanceCounts),
    });
  }

  private stage(endpoint: EndpointRecord, status: RolloutProgress['status'], share: number, statusMessage: string, instanceCounts?: Record<string, number>) {
    const progress: RolloutProgress = { status, statusMessage, since: Date.now(), share, instanceCounts };
    this.deps.transition(endpoint, { pending: { ...endpoint.pending!, progress } });
    this.deps.log.info({ endpoint: endpoint.EndpointName, status, share }, 'rollout stage');
  }

  /** One baking period: alarms evaluated every ALARM_CHECK_SECONDS (and once at its end), the deadline watched. */
  private async bake(plan: RolloutPlan, deadline: number, signal: AbortSignal, timedOut: string): Promise<Interruption | undefined> {
    const end = Date.now() + this.deps.timeScale.durationMs(plan.waitSeconds);
    const checkMs = this.deps.timeScale.periodMs(ALARM_CHECK_SECONDS);
    for (;;) {
      if (Date.now() >= deadline) return { kind: 'rollback', reason: timedOut };
      const tripped = await this.alarmsInAlarm(plan.alarmNames);
      if (signal.aborted) return { kind: 'aborted' };
      if (tripped.length) return { kind: 'rollback', reason: `CloudWatch alarm(s) [${tripped.join(', ')}] went into ALARM state` };
      if (Date.now() >= end) return undefined;
      if (!(await this.wait(Math.min(checkMs, end - Date.now(), Math.max(0, deadline - Date.now())), signal))) return { kind: 'aborted' };
    }
  }

  /** The named alarms that are in ALARM now, each evaluated and its state written back. Missing alarms are skipped. */
  private async alarmsInAlarm(names: string[]): Promise<string[]> {
    const client = this.deps.cloudWatch?.();
    if (!names.length || !client) return [];
    try {
      const { MetricAlarms = [] } = await client.send(new DescribeAlarmsCommand({ AlarmNames: names, AlarmTypes: ['MetricAlarm'] }));
      const tripped: string[] = [];
      for (const alarm of MetricAlarms) {
        const evaluation = await evaluateAlarm(client, alarm, this.deps.timeScale);
        await recordAlarmState(client, alarm, evaluation);
        if (evaluation.state === 'ALARM') tripped.push(alarm.AlarmName!);
      }
      return tripped;
    } catch (err) {
      // A CloudWatch hiccup is no reason to roll back; the next check tries again.
      this.deps.log.warn({ err, alarms: names }, 'auto-rollback alarms could not be evaluated');
      return [];
    }
  }

  /** Sleeps `ms`; false when the signal aborted it. */
  private async wait(ms: number, signal: AbortSignal): Promise<boolean> {
    try {
      if (ms > 0) await sleep(ms, undefined, { signal });
      return !signal.aborted;
    } catch {
      return false;
    }
  }

  /** All traffic back to the old fleet, the new one stopped, InService on the old config with the reason. */
  private async rollBack(endpoint: EndpointRecord, green: Fleet | undefined, why: string): Promise<void> {
    const pending = endpoint.pending!;
    this.deps.transition(endpoint, { EndpointStatus: 'RollingBack' });
    this.deps.pool.shift(endpoint.EndpointName, undefined, 0);
    await green?.stop();
    this.deps.log.warn({ endpoint: endpoint.EndpointName, reason: why }, 'rollout rolled back');
    this.deps.transition(endpoint, {
      EndpointStatus: 'InService',
      FailureReason: `Update to endpoint configuration "${pending.EndpointConfigName}" was rolled back to "${endpoint.EndpointConfigName}": ${why}.`,
      pending: undefined,
    });
  }
}
