// Application Auto Scaling state for the `sagemaker` namespace: scalable targets, scaling
// policies and scaling activities, persisted as one JSON file in the state dir (0600, written
// then renamed, like local/sagemaker/store.ts) so that a restart keeps them. Nothing in here is
// secret. Times are epoch milliseconds; the wire turns them into timestamps.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type {
  Alarm,
  ScalableDimension,
  ScalingActivityStatusCode,
  StepScalingPolicyConfiguration,
  SuspendedState,
  TargetTrackingScalingPolicyConfiguration,
} from '@aws-sdk/client-application-auto-scaling';
import { makePrivateDir, PRIVATE_FILE_MODE } from '../state-cipher.js';

export interface ScalableTargetRecord {
  ResourceId: string;
  ScalableDimension: ScalableDimension;
  MinCapacity: number;
  MaxCapacity: number;
  RoleARN: string;
  CreationTime: number;
  SuspendedState: SuspendedState;
  ScalableTargetARN: string;
}

export interface ScalingPolicyRecord {
  PolicyARN: string;
  PolicyName: string;
  ResourceId: string;
  ScalableDimension: ScalableDimension;
  PolicyType: 'TargetTrackingScaling' | 'StepScaling';
  TargetTrackingScalingPolicyConfiguration?: TargetTrackingScalingPolicyConfiguration;
  StepScalingPolicyConfiguration?: StepScalingPolicyConfiguration;
  /** Target tracking: the alarms it created (and deletes with itself). */
  Alarms: Alarm[];
  CreationTime: number;
}

export interface ScalingActivityRecord {
  ActivityId: string;
  ResourceId: string;
  ScalableDimension: ScalableDimension;
  Description: string;
  Cause: string;
  StartTime: number;
  EndTime?: number;
  StatusCode: ScalingActivityStatusCode;
  StatusMessage?: string;
  /** The capacity it sets, and the direction, for cooldowns. */
  desiredCapacity: number;
  direction: 'out' | 'in';
  PolicyName: string;
}

interface PersistedState {
  version: 1;
  targets: ScalableTargetRecord[];
  policies: ScalingPolicyRecord[];
  activities: ScalingActivityRecord[];
}

/** AWS keeps six weeks of activities; the local cloud keeps the most recent of them. */
const MAX_ACTIVITIES = 1000;

export const targetKey = (resourceId: string, dimension: string) => `${dimension} ${resourceId}`;

export class AutoScalingStore {
  readonly targets = new Map<string, ScalableTargetRecord>();
  /** By target key, then policy name. */
  readonly policies = new Map<string, Map<string, ScalingPolicyRecord>>();
  /** Newest first, as DescribeScalingActivities lists them. */
  activities: ScalingActivityRecord[] = [];
  private closed = false;

  private constructor(private readonly file: string | undefined) {}

  static open(file: string | undefined): AutoScalingStore {
    const store = new AutoScalingStore(file);
    if (!file) return store;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return store;
      throw err;
    }
    const state = JSON.parse(text) as PersistedState;
    if (state.version !== 1) throw new Error(`${file}: unsupported state version ${String(state.version)}`);
    for (const t of state.targets) store.targets.set(targetKey(t.ResourceId, t.ScalableDimension), t);
    for (const p of state.policies) store.policiesOf(p.ResourceId, p.ScalableDimension).set(p.PolicyName, p);
    store.activities = state.activities;
    return store;
  }

  policiesOf(resourceId: string, dimension: string): Map<string, ScalingPolicyRecord> {
    const key = targetKey(resourceId, dimension);
    let policies = this.policies.get(key);
    if (!policies) this.policies.set(key, (policies = new Map()));
    return policies;
  }

  allPolicies(): ScalingPolicyRecord[] {
    return [...this.policies.values()].flatMap((m) => [...m.values()]);
  }

  addActivity(activity: ScalingActivityRecord): void {
    this.activities.unshift(activity);
    this.activities.length = Math.min(this.activities.length, MAX_ACTIVITIES);
    this.save();
  }

  save(): void {
    if (!this.file || this.closed) return;
    const state: PersistedState = {
      version: 1,
      targets: [...this.targets.values()],
      policies: this.allPolicies(),
      activities: this.activities,
    };
    makePrivateDir(dirname(this.file));
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(state, null, 2), { mode: PRIVATE_FILE_MODE });
    renameSync(tmp, this.file);
  }

  close(): void {
    this.save();
    this.closed = true;
  }
}
