// The `progress` query every long workflow answers: current step, resources so far, timings.
// Workflow time (Date.now() inside a workflow) is deterministic, so timings are replay-safe.
import { defineQuery, setHandler } from '@temporalio/workflow';

export type RunStatus = 'running' | 'compensating' | 'succeeded' | 'failed' | 'cancelled';

export interface StepRecord {
  name: string;
  startedAt: string;
  durationMs?: number;
  outcome?: 'ok' | 'failed' | 'skipped';
  detail?: string;
}

/** A rollout under way or finished (deploy updates with a rollout policy): what DescribeEndpoint last showed. */
export interface RolloutProgress {
  policy: string;
  configName: string;
  /** EndpointStatus: Updating, RollingBack, InService. */
  status: string;
  /** The new fleet's stage (Creating, ActivatingTraffic, Baking, ...). */
  stage: string;
  stageMessage?: string;
  newFleetTrafficPercent?: number;
  /** Rollback alarms and their states (OK, ALARM, INSUFFICIENT_DATA). */
  alarms: Record<string, string>;
  /** How many changes of stage, share or alarm state the deploy has seen. */
  changes: number;
  updatedAt: string;
}

export interface Progress {
  workflowType: string;
  /** What the run acts on: the endpoint name, or the transform job name. */
  subject: string;
  status: RunStatus;
  step: string;
  resources: Record<string, string>;
  lastStatus?: string;
  startedAt: string;
  elapsedSeconds: number;
  steps: StepRecord[];
  rollout?: RolloutProgress;
  error?: string;
}

export const progressQuery = defineQuery<Progress>('progress');

export class ProgressTracker {
  private readonly state: Omit<Progress, 'elapsedSeconds'>;
  private readonly startedMs = Date.now();

  constructor(workflowType: string, subject: string) {
    this.state = {
      workflowType,
      subject,
      status: 'running',
      step: 'validate',
      resources: {},
      startedAt: new Date(this.startedMs).toISOString(),
      steps: [],
    };
    setHandler(progressQuery, () => this.snapshot());
  }

  snapshot(): Progress {
    return {
      ...this.state,
      resources: { ...this.state.resources },
      steps: this.state.steps.map((s) => ({ ...s })),
      ...(this.state.rollout ? { rollout: { ...this.state.rollout, alarms: { ...this.state.rollout.alarms } } } : {}),
      elapsedSeconds: Math.round((Date.now() - this.startedMs) / 1000),
    };
  }

  /** Runs one step, recording its duration and outcome. */
  async step<T>(name: string, run: () => Promise<T>, detail?: (result: T) => string | undefined): Promise<T> {
    const started = Date.now();
    const record: StepRecord = { name, startedAt: new Date(started).toISOString() };
    this.state.step = name;
    this.state.steps.push(record);
    try {
      const result = await run();
      record.outcome = 'ok';
      record.detail = detail?.(result);
      return result;
    } catch (err) {
      record.outcome = 'failed';
      record.detail = err instanceof Error ? err.message : String(err);
      throw err;
    } finally {
      record.durationMs = Date.now() - started;
    }
  }

  /**
   * Runs one step that does several things and times each itself (an activity returning
   * `timings`): on success the step's record is replaced by one record per part, in order.
   */
  async parts<T extends { timings: Record<string, number> }>(name: string, run: () => Promise<T>): Promise<T> {
    const result = await this.step(name, run);
    const record = this.state.steps.pop()!;
    let at = Date.parse(record.startedAt);
    for (const [part, durationMs] of Object.entries(result.timings)) {
      this.state.steps.push({ name: part, startedAt: new Date(at).toISOString(), durationMs, outcome: 'ok' });
      at += durationMs;
    }
    return result;
  }

  /** A step that did not run, with why; `after` places it behind that step, as the runbook orders them. */
  skip(name: string, why: string, after?: string): void {
    const record: StepRecord = { name, startedAt: new Date(Date.now()).toISOString(), durationMs: 0, outcome: 'skipped', detail: why };
    const at = after === undefined ? -1 : this.state.steps.findIndex((s) => s.name === after);
    if (at < 0) this.state.steps.push(record);
    else this.state.steps.splice(at + 1, 0, record);
  }

  resource(key: string, value: string): void {
    this.state.resources[key] = value;
  }

  rollout(state: Omit<RolloutProgress, 'updatedAt'>): void {
    this.state.rollout = { ...state, updatedAt: new Date(Date.now()).toISOString() };
  }

  lastStatus(status: string): void {
    this.state.lastStatus = status;
  }

  finish(status: RunStatus, error?: string): void {
    this.state.status = status;
    this.state.step = status === 'succeeded' ? 'done' : this.state.step;
    if (error) this.state.error = error;
  }

  compensating(): void {
    this.state.status = 'compensating';
  }

  /** Per-step durations for the workflow result. */
  timings(): Record<string, number> {
    return Object.fromEntries(this.state.steps.filter((s) => s.durationMs !== undefined).map((s) => [s.name, s.durationMs!]));
  }
}
