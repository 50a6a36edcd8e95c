// The rollout policy of a model-based endpoint update (issue 14): how SageMaker shifts traffic
// from the old fleet to the new one (all at once, canary, linear, or a rolling update), how long
// it bakes each step and keeps the old fleet, and which CloudWatch alarms roll it back (named by
// the user, or created by the deploy for the new version). Validated with zod against what AWS
// accepts (botocore's sagemaker service-2.json ranges, the CapacitySize rules in the API
// reference), and mapped to UpdateEndpoint's DeploymentConfig by one function. Workflow-safe:
// no I/O, clocks or environment.
import type { DeploymentConfig } from '@aws-sdk/client-sagemaker';
import { z } from 'zod';

// service-2.json: WaitIntervalInSeconds and TerminationWaitInSeconds 0..3600,
// MaximumExecutionTimeoutInSeconds 600..28800, CapacitySizeValue >= 1, AlarmList 1..10,
// AlarmName 1..255 characters and not only blanks.
const WAIT_SECONDS = { min: 0, max: 3600 } as const;
const EXECUTION_TIMEOUT_SECONDS = { min: 600, max: 28_800 } as const;
const MAX_ALARMS = 10;

const seconds = ({ min, max }: { min: number; max: number }) =>
  z.number().int('must be a whole number of seconds').min(min, `must be at least ${min}`).max(max, `must be at most ${max}`);

const capacitySizeSchema = z.strictObject({
  type: z.enum(['INSTANCE_COUNT', 'CAPACITY_PERCENT'], { error: 'must be "INSTANCE_COUNT" or "CAPACITY_PERCENT"' }),
  value: z.number().int('must be a whole number').min(1, 'must be at least 1'),
});
export type CapacitySize = z.output<typeof capacitySizeSchema>;

const alarmNameSchema = z
  .string()
  .min(1, 'must be 1-255 characters')
  .max(255, 'must be 1-255 characters')
  .regex(/^(?!\s*$).+$/, 'must not be blank');

/** Thresholds of the alarms the deploy creates with `alarms: "create"`. */
const createdAlarmsSchema = z.strictObject({
  /** Invocation5XXErrors of the variant, Sum per period: more than this rolls back. */
  max5xxErrors: z.number().min(0, 'must be 0 or more').default(0),
  /** ModelLatency of the variant, Average per period, in milliseconds: more than this rolls back. */
  maxModelLatencyMs: z.number().positive('must be more than 0').default(10_000),
  /** The alarms' period (CloudWatch: 10, 30 or a multiple of 60). */
  periodSeconds: z
    .number()
    .int()
    .refine((p) => p === 10 || p === 30 || (p >= 60 && p % 60 === 0), 'must be 10, 30 or a multiple of 60 (CloudWatch alarm periods)')
    .default(60),
});

const common = {
  /** TerminationWaitInSeconds: how long the old fleet is kept after the shift (blue/green). */
  terminationWaitSeconds: seconds(WAIT_SECONDS).optional(),
  /** MaximumExecutionTimeoutInSeconds: AWS rolls the deployment back when it takes longer. */
  maximumExecutionTimeoutSeconds: seconds(EXECUTION_TIMEOUT_SECONDS).optional(),
  /** Alarms that roll the update back: names of existing ones, or "create" for a 5XX and a latency alarm on the new version. */
  alarms: z
    .union([z.literal('create'), z.array(alarmNameSchema).min(1).max(MAX_ALARMS)], {
      error: `must be "create" or a list of 1-${MAX_ALARMS} CloudWatch alarm names of 1-255 characters (AWS AlarmList)`,
    })
    .optional(),
  createdAlarms: createdAlarmsSchema.optional(),
};

/** WaitIntervalInSeconds: the bake time of each step, during which the alarms are watched. */
const waitInterval = seconds(WAIT_SECONDS).default(300);

export const rolloutPolicySchema = z
  .discriminatedUnion(
    'type',
    [
      z.strictObject({ type: z.literal('allAtOnce'), waitIntervalSeconds: waitInterval, ...common }),
      z.strictObject({ type: z.literal('canary'), canarySize: capacitySizeSchema, waitIntervalSeconds: waitInterval, ...common }),
      z.strictObject({ type: z.literal('linear'), linearStepSize: capacitySizeSchema, waitIntervalSeconds: waitInterval, ...common }),
      z.strictObject({
        type: z.literal('rolling'),
        maximumBatchSize: capacitySizeSchema,
        rollbackMaximumBatchSize: capacitySizeSchema.optional(),
        waitIntervalSeconds: waitInterval,
        maximumExecutionTimeoutSeconds: common.maximumExecutionTimeoutSeconds,
        alarms: common.alarms,
        createdAlarms: common.createdAlarms,
      }),
    ],
    { error: 'type must be one of "allAtOnce", "canary", "linear", "rolling"' },
  )
  .superRefine((r, ctx) => {
    if (r.createdAlarms && r.alarms !== 'create') {
      ctx.addIssue({ code: 'custom', path: ['createdAlarms'], message: 'only applies with alarms: "create"' });
    }
    // AWS: "the timeout value should be larger than the total waiting time specified in
    // TerminationWaitInSeconds and WaitIntervalInSeconds".
    const waiting = r.waitIntervalSeconds + ('terminationWaitSeconds' in r ? (r.terminationWaitSeconds ?? 0) : 0);
    if (r.maximumExecutionTimeoutSeconds !== undefined && r.maximumExecutionTimeoutSeconds <= waiting) {
      ctx.addIssue({
        code: 'custom',
        path: ['maximumExecutionTimeoutSeconds'],
        message: `must be larger than waitIntervalSeconds + terminationWaitSeconds (${waiting})`,
      });
    }
  });

export type RolloutPolicy = z.output<typeof rolloutPolicySchema>;
export type RolloutPolicyInput = z.input<typeof rolloutPolicySchema>;
export type CreatedAlarmThresholds = z.output<typeof createdAlarmsSchema>;
export const DEFAULT_CREATED_ALARMS: CreatedAlarmThresholds = { max5xxErrors: 0, maxModelLatencyMs: 10_000, periodSeconds: 60 };

/**
 * The share of the fleet each size may be, from the API reference: CanarySize at most 50% of the
 * variant's instance count, LinearStepSize 10-50%, a rolling MaximumBatchSize 5-50%. The
 * rollback batch of a rolling update has no documented bound beyond the fleet itself.
 */
const SIZE_BOUNDS: Record<string, { field: string; minPercent: number; maxPercent: number }> = {
  canary: { field: 'canarySize', minPercent: 1, maxPercent: 50 },
  linear: { field: 'linearStepSize', minPercent: 10, maxPercent: 50 },
  rolling: { field: 'maximumBatchSize', minPercent: 5, maxPercent: 50 },
};

/**
 * The checks that need the fleet: a size as a share of `instanceCount` must lie in AWS's bounds.
 * Called from the deploy input's refinement with the variant's initialInstanceCount.
 */
export function checkRolloutAgainstFleet(rollout: RolloutPolicy, instanceCount: number, ctx: z.RefinementCtx, path: (string | number)[]): void {
  const bounds = SIZE_BOUNDS[rollout.type];
  if (bounds) {
    const size = (rollout as unknown as Record<string, CapacitySize>)[bounds.field];
    const share = bounds.minPercent === 1 ? `at most ${bounds.maxPercent}%` : `${bounds.minPercent}-${bounds.maxPercent}%`;
    const rule = `must be ${share} of the variant's instance count (AWS)`;
    if (size.type === 'CAPACITY_PERCENT') {
      if (size.value < bounds.minPercent || size.value > bounds.maxPercent) {
        ctx.addIssue({ code: 'custom', path: [...path, bounds.field, 'value'], message: `${rule}; got ${size.value}%` });
      }
    } else {
      const percent = (size.value / instanceCount) * 100;
      if (percent < bounds.minPercent || percent > bounds.maxPercent) {
        ctx.addIssue({
          code: 'custom',
          path: [...path, bounds.field, 'value'],
          message: `${rule}; ${size.value} of ${instanceCount} instances is ${Math.round(percent)}%${instanceCount === 1 && rollout.type !== 'rolling' ? ' (a fleet of 1 can only shift all at once)' : ''}`,
        });
      }
    }
  }
  if (rollout.type === 'rolling' && rollout.rollbackMaximumBatchSize) {
    const rb = rollout.rollbackMaximumBatchSize;
    const over = rb.type === 'CAPACITY_PERCENT' ? rb.value > 100 : rb.value > instanceCount;
    if (over) {
      ctx.addIssue({
        code: 'custom',
        path: [...path, 'rollbackMaximumBatchSize', 'value'],
        message: `must not exceed the fleet (${rb.type === 'CAPACITY_PERCENT' ? '100%' : `${instanceCount} instances`})`,
      });
    }
  }
}

const capacity = (s: CapacitySize) => ({ Type: s.type, Value: s.value });

/** UpdateEndpoint's DeploymentConfig for this policy; `alarmNames` are the alarms to roll back on. */
export function toDeploymentConfig(rollout: RolloutPolicy, alarmNames: string[]): DeploymentConfig {
  const AutoRollbackConfiguration = alarmNames.length ? { Alarms: alarmNames.map((AlarmName) => ({ AlarmName })) } : undefined;
  if (rollout.type === 'rolling') {
    return {
      RollingUpdatePolicy: {
        MaximumBatchSize: capacity(rollout.maximumBatchSize),
        WaitIntervalInSeconds: rollout.waitIntervalSeconds,
        MaximumExecutionTimeoutInSeconds: rollout.maximumExecutionTimeoutSeconds,
        RollbackMaximumBatchSize: rollout.rollbackMaximumBatchSize && capacity(rollout.rollbackMaximumBatchSize),
      },
      AutoRollbackConfiguration,
    };
  }
  const routing =
    rollout.type === 'canary'
      ? { Type: 'CANARY' as const, CanarySize: capacity(rollout.canarySize) }
      : rollout.type === 'linear'
        ? { Type: 'LINEAR' as const, LinearStepSize: capacity(rollout.linearStepSize) }
        : { Type: 'ALL_AT_ONCE' as const };
  return {
    BlueGreenUpdatePolicy: {
      TrafficRoutingConfiguration: { ...routing, WaitIntervalInSeconds: rollout.waitIntervalSeconds },
      TerminationWaitInSeconds: rollout.terminationWaitSeconds,
      MaximumExecutionTimeoutInSeconds: rollout.maximumExecutionTimeoutSeconds,
    },
    AutoRollbackConfiguration,
  };
}

/**
 * The longest the deploy waits for the rollout to end. With MaximumExecutionTimeoutInSeconds,
 * AWS rolls back by then, so the wait allows that plus time for the rollback to show; without
 * it, the new fleet's start (the InService deadline) plus every bake and the termination wait.
 */
export function rolloutDeadlineSeconds(rollout: RolloutPolicy, inServiceSeconds: number): number {
  if (rollout.maximumExecutionTimeoutSeconds !== undefined) return rollout.maximumExecutionTimeoutSeconds + ROLLBACK_GRACE_SECONDS;
  // LINEAR steps are at least 10% of the fleet: at most 10 bakes.
  const bakes = rollout.type === 'canary' ? 2 : rollout.type === 'allAtOnce' ? 1 : 10;
  const terminationWait = 'terminationWaitSeconds' in rollout ? (rollout.terminationWaitSeconds ?? 0) : 0;
  return inServiceSeconds + bakes * rollout.waitIntervalSeconds + terminationWait;
}
const ROLLBACK_GRACE_SECONDS = 300;

/** Names of the alarms a deploy creates for one config (the new version), derived so a retry finds them. */
export function rolloutAlarmNames(endpointName: string, configName: string): { errors: string; latency: string } {
  const prefix = `llmops-rollout-${endpointName}-${configName}`;
  return { errors: `${prefix}-Invocation5XXErrors`, latency: `${prefix}-ModelLatency` };
}
