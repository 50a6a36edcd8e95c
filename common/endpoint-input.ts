// Inputs of the endpoint workflows, validated with zod. This module is imported by workflow
// code, so it must stay deterministic: no I/O, no clocks, no environment.
import { containerFormatSchema } from './container-format.js';
import { z } from 'zod';
import { exceedsInstance, INSTANCE_TYPES, instanceTypeSize } from './instance-types.js';
import { s3UriSchema } from './s3-uri.js';
import { endpointNameSchema, inferenceComponentNameSchema, SAGEMAKER_NAME } from './sagemaker-names.js';
import { SECRET_KEY, SECRET_VALUE_SHAPES } from './secret-shapes.js';
import { checkLeaseTerms, leaseTermsFields } from './lease-terms.js';
import { checkRolloutAgainstFleet, rolloutPolicySchema } from './rollout-policy.js';

export const INSTANCE_TYPE = /^ml\.[a-z0-9]+\.[a-z0-9]+$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@\/-]{1,512}$/;
const ENV_VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Worker variables a secret reference may never name, whatever the worker's allowlist says:
 * the worker's own credentials and configuration, and variables that change how processes run.
 * Copying one into a model would publish it through DescribeModel.
 */
const FORBIDDEN_SECRET_ENV_VAR = /^(AWS_|TEMPORAL_|LLMOPS_|NODE_|NPM_|LD_|DYLD_)|^(PATH|HOME|SHELL|USER|PYTHONPATH|PYTHONHOME)$/;
export const SECRET_ENV_VAR_RULE =
  "must name a token variable on the worker's allowlist (default HF_TOKEN, HUGGING_FACE_HUB_TOKEN; the worker extends it with LLMOPS_SECRET_ENV_ALLOWLIST); AWS_*, TEMPORAL_*, LLMOPS_*, NODE_*, LD_* and PATH-like variables are never allowed";

/** The static half of the envVar rule, the same in workflow validation and on the worker. */
export function isForbiddenSecretEnvVar(name: string): boolean {
  return !ENV_VAR_NAME.test(name) || FORBIDDEN_SECRET_ENV_VAR.test(name);
}

// AWS's SecretId: a secret's name (1-512 of these characters) or its ARN (2048 at most).
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]{1,512}$/;

/**
 * A reference to the Hugging Face token, never the token itself: the activity resolves it on
 * the worker, so the secret stays out of workflow inputs and history. Either a Secrets Manager
 * secret (`secretId`, with `jsonKey` when the secret is a JSON object) or, for development, an
 * allowed environment variable of the worker (`envVar`).
 */
const secretRefSchema = z
  .strictObject({
    secretId: z
      .string()
      .max(2048, 'must be at most 2048 characters')
      .refine((id) => SECRET_ARN.test(id) || SECRET_NAME.test(id), 'must be a Secrets Manager secret ARN or name (letters, digits and /_+=.@-)')
      .optional(),
    jsonKey: z.string().min(1, 'must be a non-empty key of the JSON secret').optional(),
    envVar: z
      .string()
      .refine((name) => !isForbiddenSecretEnvVar(name), SECRET_ENV_VAR_RULE)
      .optional(),
  })
  .superRefine((ref, ctx) => {
    if ((ref.secretId === undefined) === (ref.envVar === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'must give exactly one of secretId (Secrets Manager) or envVar (worker environment)' });
    }
    if (ref.jsonKey !== undefined && ref.secretId === undefined) {
      ctx.addIssue({ code: 'custom', path: ['jsonKey'], message: 'only applies to a Secrets Manager secret (secretId)' });
    }
  });

export type SecretRef = z.output<typeof secretRefSchema>;

const SECRET_IN_ENVIRONMENT_RULE =
  'must not hold a secret literally (keys like HF_TOKEN, *_TOKEN, *SECRET*, *PASSWORD*, and token-shaped values are refused); pass the Hugging Face token by reference in model.hfTokenSecret';

/**
 * A container environment. Whatever is in it is written into workflow history and returned by
 * DescribeModel, so a literal token is refused; the message names the key, never the value.
 */
export const containerEnvironmentSchema = z.record(z.string(), z.string()).superRefine((environment, ctx) => {
  for (const [key, value] of Object.entries(environment)) {
    if (SECRET_KEY.test(key) || SECRET_VALUE_SHAPES.some((shape) => shape.test(value))) {
      ctx.addIssue({ code: 'custom', path: [key], message: SECRET_IN_ENVIRONMENT_RULE });
    }
  }
});

export const modelSchema = z.strictObject({
  /** Inference image URI (Hugging Face TGI, vLLM or DJL LMI). */
  image: z.string().min(1, 'is required (the inference container image URI)'),
  /** The request format the smoke test speaks (common/container-format.ts); default: the image family's. */
  format: containerFormatSchema.optional(),
  hfModelId: z.string().min(1, 'is required (a Hugging Face model id such as org/name)'),
  /** Generation limits passed to the container (TGI: MAX_INPUT_LENGTH, MAX_TOTAL_TOKENS). */
  maxInputTokens: z.number().int().positive().default(1024),
  maxTotalTokens: z.number().int().positive().default(2048),
  numGpus: z.number().int().min(0).default(1),
  /** Extra container environment; must not carry secrets (use hfTokenSecret). */
  environment: containerEnvironmentSchema.default({}),
  hfTokenSecret: secretRefSchema.optional(),
});

const variantSchema = z.strictObject({
  name: z.string().regex(SAGEMAKER_NAME, 'must match AWS variant name pattern').default('AllTraffic'),
  instanceType: z.string().regex(INSTANCE_TYPE, 'must look like ml.<family>.<size>, e.g. ml.g5.2xlarge'),
  initialInstanceCount: z.number().int().min(1, 'must be at least 1').default(1),
  containerStartupHealthCheckTimeoutSeconds: z.number().int().min(60).max(3600).default(600),
});

const autoscalingSchema = z
  .strictObject({
    minInstances: z.number().int().min(1, 'must be at least 1'),
    maxInstances: z.number().int().min(1, 'must be at least 1'),
    /** Target for SageMakerVariantInvocationsPerInstance (invocations per instance per minute). */
    targetInvocationsPerInstance: z.number().positive(),
    scaleInCooldownSeconds: z.number().int().min(0).default(300),
    scaleOutCooldownSeconds: z.number().int().min(0).default(60),
  })
  .refine((a) => a.minInstances <= a.maxInstances, {
    message: 'minInstances must be less than or equal to maxInstances',
    path: ['minInstances'],
  });

/** Async inference: requests are read from S3 and answers written there (InvokeEndpointAsync). */
const asyncInferenceSchema = z.strictObject({
  outputS3Uri: s3UriSchema('bucket/prefix'),
  failureS3Uri: s3UriSchema('bucket/prefix').optional(),
  maxConcurrentInvocationsPerInstance: z.number().int().min(1).max(1000).optional(),
});

const timeoutsSchema = z.strictObject({
  /** Deadline for the endpoint to reach InService; a timeout fails the deploy clearly. */
  inServiceMinutes: z
    .number()
    .positive()
    .max(24 * 60)
    .default(30),
  /** Delay between DescribeEndpoint polls (each poll is an activity attempt, not history). */
  pollIntervalSeconds: z.number().min(0.1).max(300).default(15),
});

const smokeTestSchema = z.strictObject({
  prompt: z.string().min(1).default('Once upon a time'),
  maxNewTokens: z.number().int().min(1).max(512).default(16),
});

/** A model-based endpoint: one model per variant (the default, and what older inputs are). */
export const modelEndpointInputSchema = z
  .strictObject({
    endpointType: z.literal('model').default('model'),
    endpointName: endpointNameSchema,
    model: modelSchema,
    variant: variantSchema,
    /** Use this role; otherwise the deploy creates or reuses a least-privilege role. */
    executionRoleArn: z.string().regex(ROLE_ARN, 'must be an IAM role ARN').optional(),
    autoscaling: autoscalingSchema.optional(),
    asyncInference: asyncInferenceSchema.optional(),
    timeouts: timeoutsSchema.default({ inServiceMinutes: 30, pollIntervalSeconds: 15 }),
    smokeTest: z.union([smokeTestSchema, z.literal(false)]).default({ prompt: 'Once upon a time', maxNewTokens: 16 }),
    /** Keep half-created resources after a failure, for debugging. */
    retainOnFailure: z.boolean().default(false),
    tags: z.record(z.string(), z.string()).default({}),
    /** The idle guard: `idle` and/or `ttl` start an endpointLease that outlives the deploy. */
    ...leaseTermsFields,
    /** How an update of an existing endpoint shifts traffic (DeploymentConfig); ignored on create. */
    rollout: rolloutPolicySchema.optional(),
  })
  .superRefine((d, ctx) => {
    checkLeaseTerms(d, ctx, false);
    // SageMaker scales only inference components to zero: a model-based variant keeps at least
    // one instance, so a lease that would scale this endpoint to zero could never act.
    for (const key of ['idle', 'ttl'] as const) {
      if (d[key]?.action === 'scaleToZero') {
        ctx.addIssue({
          code: 'custom',
          path: [key, 'action'],
          message:
            'cannot be "scaleToZero" on a model-based endpoint (a variant keeps at least 1 instance; only inference components scale to zero): use "teardown", or endpointType "inferenceComponents"',
        });
      }
    }
  })
  .superRefine((d, ctx) => d.rollout && checkRolloutAgainstFleet(d.rollout, d.variant.initialInstanceCount, ctx, ['rollout']))
  .refine(
    (d) => !d.autoscaling || (d.variant.initialInstanceCount >= d.autoscaling.minInstances && d.variant.initialInstanceCount <= d.autoscaling.maxInstances),
    { message: 'initialInstanceCount must lie between autoscaling.minInstances and autoscaling.maxInstances', path: ['variant', 'initialInstanceCount'] },
  );

/**
 * A component's Application Auto Scaling. `scaleToZero: true` is AWS's whole scale-to-zero
 * pattern in one field: minCopies 0, the variant's managed instance scaling down to 0 instances,
 * target tracking to scale in, and a step-scaling policy on a NoCapacityInvocationFailures alarm
 * that adds a copy when an invocation finds none (activities/autoscaling.ts).
 */
const componentAutoscalingSchema = z
  .strictObject({
    scaleToZero: z.boolean().default(false),
    /** 0 lets the component have no copy at all; implied (and may be left out) with scaleToZero. */
    minCopies: z.number().int().min(0, 'must be at least 0').optional(),
    maxCopies: z.number().int().min(1, 'must be at least 1'),
    /** Target per copy: invocations per minute, or concurrent requests with that metric. */
    targetValue: z.number().positive(),
    metric: z
      .enum(['SageMakerInferenceComponentInvocationsPerCopy', 'SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution'])
      .default('SageMakerInferenceComponentInvocationsPerCopy'),
    scaleInCooldownSeconds: z.number().int().min(0).default(300),
    scaleOutCooldownSeconds: z.number().int().min(0).default(60),
  })
  .superRefine((a, ctx) => {
    if (a.scaleToZero && a.minCopies !== undefined && a.minCopies !== 0)
      ctx.addIssue({ code: 'custom', path: ['minCopies'], message: 'must be 0 or left out with scaleToZero: true (scale to zero means no copy at all)' });
    if (!a.scaleToZero && a.minCopies === undefined)
      ctx.addIssue({ code: 'custom', path: ['minCopies'], message: 'is required (or set scaleToZero: true, which implies 0)' });
    if ((a.minCopies ?? 0) > a.maxCopies) ctx.addIssue({ code: 'custom', path: ['minCopies'], message: 'minCopies must be less than or equal to maxCopies' });
  })
  .transform(({ minCopies, ...a }) => ({ ...a, minCopies: minCopies ?? 0 }));

/** UpdateInferenceComponent's DeploymentConfig, for a component whose spec changed. */
const rollingUpdateSchema = z.strictObject({
  maximumBatchSize: z
    .strictObject({ type: z.enum(['COPY_COUNT', 'CAPACITY_PERCENT']), value: z.number().int().min(1) })
    .default({ type: 'COPY_COUNT', value: 1 }),
  waitIntervalInSeconds: z.number().int().min(0).max(3600).default(60),
  maximumExecutionTimeoutInSeconds: z.number().int().min(600).max(28800).optional(),
  rollbackMaximumBatchSize: z.strictObject({ type: z.enum(['COPY_COUNT', 'CAPACITY_PERCENT']), value: z.number().int().min(1) }).optional(),
  /** CloudWatch alarms that make SageMaker roll the update back. */
  alarms: z.array(z.string().min(1).max(255)).max(10).default([]),
});

const componentSchema = z.strictObject({
  name: inferenceComponentNameSchema,
  model: modelSchema,
  compute: z.strictObject({
    numberOfCpuCoresRequired: z.number().min(0.25, 'must be at least 0.25 (AWS NumberOfCpuCores)').optional(),
    numberOfAcceleratorDevicesRequired: z.number().min(1, 'must be at least 1 (AWS NumberOfAcceleratorDevices)').optional(),
    minMemoryRequiredInMb: z.number().int().min(128, 'must be at least 128 (AWS MemoryInMb)'),
    maxMemoryRequiredInMb: z.number().int().min(128, 'must be at least 128 (AWS MemoryInMb)').optional(),
  }),
  startupParameters: z
    .strictObject({
      modelDataDownloadTimeoutInSeconds: z.number().int().min(60).max(3600).optional(),
      containerStartupHealthCheckTimeoutInSeconds: z.number().int().min(60).max(3600).optional(),
    })
    .default({}),
  copyCount: z.number().int().min(0),
  autoscaling: componentAutoscalingSchema.optional(),
  rollingUpdate: rollingUpdateSchema.optional(),
});

export type ComponentSpec = z.output<typeof componentSchema>;

/** An endpoint whose variant hosts inference components; the models are on the components. */
export const inferenceComponentsEndpointInputSchema = z
  .strictObject({
    endpointType: z.literal('inferenceComponents'),
    endpointName: endpointNameSchema,
    variant: z.strictObject({
      name: z.string().regex(SAGEMAKER_NAME, 'must match AWS variant name pattern').default('AllTraffic'),
      instanceType: z.string().regex(INSTANCE_TYPE, 'must look like ml.<family>.<size>, e.g. ml.g5.2xlarge'),
      initialInstanceCount: z.number().int().min(1, 'must be at least 1').default(1),
      routingStrategy: z.enum(['LEAST_OUTSTANDING_REQUESTS', 'RANDOM']).default('LEAST_OUTSTANDING_REQUESTS'),
      managedInstanceScaling: z
        .strictObject({ minInstanceCount: z.number().int().min(0, 'must be at least 0'), maxInstanceCount: z.number().int().min(1, 'must be at least 1') })
        .refine((m) => m.minInstanceCount <= m.maxInstanceCount, {
          message: 'minInstanceCount must be less than or equal to maxInstanceCount',
          path: ['minInstanceCount'],
        })
        .optional(),
    }),
    /** The endpoint config's execution role (AWS requires it there for ICs); default: the ensured role. */
    executionRoleArn: z.string().regex(ROLE_ARN, 'must be an IAM role ARN').optional(),
    components: z.array(componentSchema).min(1, 'must list at least one inference component'),
    timeouts: timeoutsSchema.default({ inServiceMinutes: 30, pollIntervalSeconds: 15 }),
    smokeTest: z.union([smokeTestSchema, z.literal(false)]).default({ prompt: 'Once upon a time', maxNewTokens: 16 }),
    retainOnFailure: z.boolean().default(false),
    tags: z.record(z.string(), z.string()).default({}),
    /** The idle guard, as for a model-based endpoint; `scaleToZero` sets every component to 0 copies. */
    ...leaseTermsFields,
  })
  .superRefine((d, ctx) => checkLeaseTerms(d, ctx, false))
  .superRefine((d, ctx) => {
    // A scalable target with MinCapacity above 0 would put the copies the lease removed back
    // (Application Auto Scaling keeps a target within its min/max), so it is refused up front.
    const zeroedBy = d.idle?.action === 'scaleToZero' ? 'idle.action' : d.ttl?.action === 'scaleToZero' ? 'ttl.action' : undefined;
    if (!zeroedBy) return;
    d.components.forEach((c, i) => {
      if (c.autoscaling && c.autoscaling.minCopies > 0)
        ctx.addIssue({
          code: 'custom',
          path: ['components', i, 'autoscaling', 'minCopies'],
          message: `must be 0 (or scaleToZero: true) when ${zeroedBy} is "scaleToZero": autoscaling would bring the copies back to minCopies`,
        });
    });
  })
  .superRefine((d, ctx) => {
    const instance = instanceTypeSize(d.variant.instanceType);
    if (!instance) {
      ctx.addIssue({
        code: 'custom',
        path: ['variant', 'instanceType'],
        message: `is not in the instance-type table (${Object.keys(INSTANCE_TYPES).join(', ')}), so component requirements cannot be checked`,
      });
    }
    const zeroing = d.components.findIndex((c) => c.autoscaling?.scaleToZero);
    const managed = d.variant.managedInstanceScaling;
    if (zeroing >= 0 && managed && managed.minInstanceCount !== 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['variant', 'managedInstanceScaling', 'minInstanceCount'],
        message: `must be 0 when a component scales to zero (components.${zeroing}.autoscaling.scaleToZero), so its instances go with its copies`,
      });
    }
    const seen = new Set<string>();
    d.components.forEach((c, i) => {
      const at = (...path: (string | number)[]) => ['components', i, ...path];
      if (seen.has(c.name)) ctx.addIssue({ code: 'custom', path: at('name'), message: `repeats component name ${c.name}; names must be unique` });
      seen.add(c.name);
      const scaleToZero = c.autoscaling?.minCopies === 0;
      if (c.copyCount < 1 && !scaleToZero)
        ctx.addIssue({ code: 'custom', path: at('copyCount'), message: 'must be at least 1 (0 only with autoscaling.minCopies 0, scale to zero)' });
      if (c.autoscaling && (c.copyCount < c.autoscaling.minCopies || c.copyCount > c.autoscaling.maxCopies)) {
        ctx.addIssue({ code: 'custom', path: at('copyCount'), message: 'must lie between autoscaling.minCopies and autoscaling.maxCopies' });
      }
      const {
        numberOfCpuCoresRequired: cpus,
        numberOfAcceleratorDevicesRequired: accelerators,
        minMemoryRequiredInMb: minMemory,
        maxMemoryRequiredInMb: maxMemory,
      } = c.compute;
      if (maxMemory !== undefined && maxMemory < minMemory)
        ctx.addIssue({ code: 'custom', path: at('compute', 'maxMemoryRequiredInMb'), message: 'must be at least minMemoryRequiredInMb' });
      if (!instance) return;
      const over = exceedsInstance({ cpus: cpus ?? 0, acceleratorDevices: accelerators ?? 0, memoryMiB: minMemory }, instance);
      if (over) ctx.addIssue({ code: 'custom', path: at('compute'), message: `must fit one ${d.variant.instanceType} instance: a copy asks for ${over}` });
    });
  })
  // Scale to zero implies managed instance scaling down to 0 instances (up to the initial count).
  .transform((d) =>
    d.variant.managedInstanceScaling || !d.components.some((c) => c.autoscaling?.scaleToZero)
      ? d
      : { ...d, variant: { ...d.variant, managedInstanceScaling: { minInstanceCount: 0, maxInstanceCount: d.variant.initialInstanceCount } } },
  );

/**
 * What deployEndpoint accepts: either kind, told apart by `endpointType`; an input without it
 * is model-based, so inputs written before inference components keep working.
 */
export const deployEndpointInputSchema = z.preprocess(
  (raw) => (raw && typeof raw === 'object' && !Array.isArray(raw) && !('endpointType' in raw) ? { ...raw, endpointType: 'model' } : raw),
  z.discriminatedUnion('endpointType', [modelEndpointInputSchema, inferenceComponentsEndpointInputSchema]),
);

export const teardownEndpointInputSchema = z.strictObject({
  endpointName: endpointNameSchema,
  /** Also delete an endpoint (and its scaling) that carries none of this project's tags. */
  force: z.boolean().default(false),
  timeouts: z
    .strictObject({
      deletedMinutes: z
        .number()
        .positive()
        .max(24 * 60)
        .default(30),
      pollIntervalSeconds: z.number().min(0.1).max(300).default(10),
    })
    .default({ deletedMinutes: 30, pollIntervalSeconds: 10 }),
});

/** A model-based deploy's input (`endpointType` may be left out). */
export type DeployEndpointInput = z.input<typeof modelEndpointInputSchema>;
export type DeploySpec = z.output<typeof modelEndpointInputSchema>;
export type InferenceComponentsDeployInput = z.input<typeof inferenceComponentsEndpointInputSchema>;
export type InferenceComponentsDeploySpec = z.output<typeof inferenceComponentsEndpointInputSchema>;
export type AnyDeployEndpointInput = DeployEndpointInput | InferenceComponentsDeployInput;
export type TeardownEndpointInput = z.input<typeof teardownEndpointInputSchema>;
export type TeardownSpec = z.output<typeof teardownEndpointInputSchema>;
