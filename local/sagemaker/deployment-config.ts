// UpdateEndpoint's DeploymentConfig: what AWS refuses in it, and the rollout it asks for (the
// traffic shares of the new fleet, step by step, with their baking times). The rollout itself
// runs in endpoint-rollout.ts.
// Sources: botocore's service model (DeploymentConfig, BlueGreenUpdatePolicy,
// TrafficRoutingConfig, CapacitySize, RollingUpdatePolicy, AutoRollbackConfig and their
// documentation: "CanarySize ... must be less than or equal to 50% of the variant's total
// instance count", "LinearStepSize ... must be 10-50%", "MaximumBatchSize ... between 5% to 50%",
// "MaximumExecutionTimeoutInSeconds ... should be larger than the total waiting time"), and the
// developer guide (deployment-guardrails-blue-green-canary, -linear, -rolling, -exclusions: a
// blue/green or rolling deployment keeps the variant names; rolling excludes serverless and
// multi-variant endpoints). Messages AWS's documents do not quote are the local cloud's own.
import type { CapacitySize, DeploymentConfig } from '@aws-sdk/client-sagemaker';
import type { VariantLaunch } from '../instances/types.js';
import { validationError } from './protocol.js';
import { InputChecks } from './validation.js';

const ROUTING_TYPES = ['ALL_AT_ONCE', 'CANARY', 'LINEAR'] as const;
const CAPACITY_TYPES = ['INSTANCE_COUNT', 'CAPACITY_PERCENT'] as const;
const WAIT = { min: 0, max: 3600 };
const TIMEOUT = { min: 600, max: 28800 };
/** The longest a deployment may take on AWS (MaximumExecutionTimeoutInSeconds' maximum), used when none is given. */
export const DEFAULT_EXECUTION_TIMEOUT_SECONDS = TIMEOUT.max;

function checkCapacitySize(checks: InputChecks, size: CapacitySize | undefined, path: string): void {
  if (size === undefined || size === null) return;
  checks.required(size.Type, `${path}.type`);
  checks.oneOf(size.Type, `${path}.type`, CAPACITY_TYPES);
  if (checks.required(size.Value, `${path}.value`)) checks.integerAtLeast(size.Value, `${path}.value`, 1);
}

/** The shape constraints of botocore's model, in AWS's wording (CreateEndpoint and UpdateEndpoint). */
export function checkDeploymentConfigShape(checks: InputChecks, config: DeploymentConfig | undefined, path = 'deploymentConfig'): void {
  if (config === undefined || config === null) return;
  const blueGreen = config.BlueGreenUpdatePolicy;
  if (blueGreen) {
    const at = `${path}.blueGreenUpdatePolicy`;
    const routing = blueGreen.TrafficRoutingConfiguration;
    if (checks.required(routing, `${at}.trafficRoutingConfiguration`)) {
      const r = `${at}.trafficRoutingConfiguration`;
      checks.required(routing!.Type, `${r}.type`);
      checks.oneOf(routing!.Type, `${r}.type`, ROUTING_TYPES);
      if (checks.required(routing!.WaitIntervalInSeconds, `${r}.waitIntervalInSeconds`)) {
        checks.integerAtLeast(routing!.WaitIntervalInSeconds, `${r}.waitIntervalInSeconds`, WAIT.min, WAIT.max);
      }
      checkCapacitySize(checks, routing!.CanarySize, `${r}.canarySize`);
      checkCapacitySize(checks, routing!.LinearStepSize, `${r}.linearStepSize`);
    }
    checks.integerAtLeast(blueGreen.TerminationWaitInSeconds, `${at}.terminationWaitInSeconds`, WAIT.min, WAIT.max);
    checks.integerAtLeast(blueGreen.MaximumExecutionTimeoutInSeconds, `${at}.maximumExecutionTimeoutInSeconds`, TIMEOUT.min, TIMEOUT.max);
  }
  const rolling = config.RollingUpdatePolicy;
  if (rolling) {
    const at = `${path}.rollingUpdatePolicy`;
    if (checks.required(rolling.MaximumBatchSize, `${at}.maximumBatchSize`)) checkCapacitySize(checks, rolling.MaximumBatchSize, `${at}.maximumBatchSize`);
    if (checks.required(rolling.WaitIntervalInSeconds, `${at}.waitIntervalInSeconds`)) {
      checks.integerAtLeast(rolling.WaitIntervalInSeconds, `${at}.waitIntervalInSeconds`, WAIT.min, WAIT.max);
    }
    checks.integerAtLeast(rolling.MaximumExecutionTimeoutInSeconds, `${at}.maximumExecutionTimeoutInSeconds`, TIMEOUT.min, TIMEOUT.max);
    checkCapacitySize(checks, rolling.RollbackMaximumBatchSize, `${at}.rollbackMaximumBatchSize`);
  }
  const alarms = config.AutoRollbackConfiguration?.Alarms;
  if (checks.list(alarms, `${path}.autoRollbackConfiguration.alarms`, { min: 1, max: 10 })) {
    alarms!.forEach((alarm, i) => {
      const at = `${path}.autoRollbackConfiguration.alarms.${i + 1}.member.alarmName`;
      if (checks.optionalString(alarm?.AlarmName, at)) {
        checks.minLength(alarm.AlarmName, at, 1);
        checks.maxLength(alarm.AlarmName, at, 255);
        checks.pattern(alarm.AlarmName, at, '(?!\\s*$).+');
      }
    });
  }
}

/** The rollout a deployment config asks for, in the terms endpoint-rollout.ts executes. */
export interface RolloutPlan {
  /** Shares (0..1] of the traffic the new fleet takes, one per step; the last is 1. */
  shares: number[];
  /** Baking time after each step, AWS seconds (LOCAL_CLOUD_TIME_SCALE applies). */
  waitSeconds: number;
  /** How long the old fleet is kept once all traffic is on the new one. */
  terminationWaitSeconds: number;
  executionTimeoutSeconds: number;
  alarmNames: string[];
}

/** A CapacitySize as a share of `instances`, or the local cloud's message why it is refused. */
function shareOf(size: CapacitySize, instances: number, field: string, percent: { min: number; max: number }): number {
  const share = size.Type === 'CAPACITY_PERCENT' ? size.Value! / 100 : size.Value! / instances;
  const shown = size.Type === 'CAPACITY_PERCENT' ? `${size.Value}%` : `${size.Value} instance(s) of ${instances}`;
  if (share < percent.min / 100 - 1e-9 || share > percent.max / 100 + 1e-9) {
    throw validationError(`${field} ${shown} is invalid: it must be between ${percent.min}% and ${percent.max}% of the variant's total instance count.`);
  }
  return share;
}

function steps(first: number, each: number): number[] {
  const shares = [first];
  while (shares.at(-1)! < 1 - 1e-9) shares.push(Math.min(1, shares.at(-1)! + each));
  shares[shares.length - 1] = 1;
  return shares;
}

/**
 * What AWS refuses beyond the shapes, checked against the fleet being deployed (`variants`, the
 * new config's model variants) and the one serving (`servingVariants`), and the plan to run.
 * No DeploymentConfig (or one with only AutoRollbackConfiguration) is AWS's default: blue/green,
 * all at once, no baking.
 */
export function rolloutPlan(config: DeploymentConfig | undefined, variants: VariantLaunch[], servingVariants: VariantLaunch[]): RolloutPlan {
  const alarmNames = (config?.AutoRollbackConfiguration?.Alarms ?? []).map((a) => a.AlarmName!).filter(Boolean);
  const blueGreen = config?.BlueGreenUpdatePolicy;
  const rolling = config?.RollingUpdatePolicy;
  if (blueGreen && rolling) {
    throw validationError('Only one update policy may be specified in DeploymentConfig: BlueGreenUpdatePolicy or RollingUpdatePolicy, not both.');
  }
  const instances = variants.reduce((sum, v) => sum + v.instanceCount, 0);
  const routing = blueGreen?.TrafficRoutingConfiguration;
  const shifting = (routing && routing.Type !== 'ALL_AT_ONCE') || rolling;
  if (shifting) {
    const names = (vs: VariantLaunch[]) =>
      vs
        .map((v) => v.variantName)
        .sort()
        .join(', ');
    if (names(variants) !== names(servingVariants)) {
      throw validationError(
        `A ${rolling ? 'rolling' : 'blue/green'} deployment needs the new endpoint configuration to have the same variant names as the current one ([${names(servingVariants)}]), not [${names(variants)}].`,
      );
    }
  }
  let shares = [1];
  let waitSeconds = 0;
  if (routing) {
    waitSeconds = routing.WaitIntervalInSeconds ?? 0;
    const field = 'TrafficRoutingConfiguration';
    if (routing.Type !== 'CANARY' && routing.CanarySize) throw validationError(`${field}.CanarySize is only allowed when Type is CANARY.`);
    if (routing.Type !== 'LINEAR' && routing.LinearStepSize) throw validationError(`${field}.LinearStepSize is only allowed when Type is LINEAR.`);
    if (routing.Type === 'CANARY') {
      if (!routing.CanarySize) throw validationError(`${field}.CanarySize is required when Type is CANARY.`);
      shares = [shareOf(routing.CanarySize, instances, `${field}.CanarySize`, { min: 0, max: 50 }), 1];
    } else if (routing.Type === 'LINEAR') {
      if (!routing.LinearStepSize) throw validationError(`${field}.LinearStepSize is required when Type is LINEAR.`);
      const step = shareOf(routing.LinearStepSize, instances, `${field}.LinearStepSize`, { min: 10, max: 50 });
      shares = steps(step, step);
    }
  } else if (rolling) {
    if (variants.length > 1 || variants.some((v) => v.instanceType === undefined)) {
      throw validationError('RollingUpdatePolicy is not supported for endpoints with more than one production variant or with serverless variants.');
    }
    waitSeconds = rolling.WaitIntervalInSeconds ?? 0;
    const batch = shareOf(rolling.MaximumBatchSize!, instances, 'RollingUpdatePolicy.MaximumBatchSize', { min: 5, max: 50 });
    shares = steps(batch, batch);
  }
  const terminationWaitSeconds = blueGreen?.TerminationWaitInSeconds ?? 0;
  const explicitTimeout = blueGreen?.MaximumExecutionTimeoutInSeconds ?? rolling?.MaximumExecutionTimeoutInSeconds;
  const totalWait = shares.length * waitSeconds + terminationWaitSeconds;
  if (explicitTimeout !== undefined && explicitTimeout <= totalWait) {
    throw validationError(
      `MaximumExecutionTimeoutInSeconds (${explicitTimeout}) must be larger than the total waiting time of the deployment (${totalWait} s: ${shares.length} baking period(s) of WaitIntervalInSeconds plus TerminationWaitInSeconds).`,
    );
  }
  return { shares, waitSeconds, terminationWaitSeconds, executionTimeoutSeconds: explicitTimeout ?? DEFAULT_EXECUTION_TIMEOUT_SECONDS, alarmNames };
}
