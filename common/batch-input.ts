// Inputs of the batch workflows (batchTransform, asyncInvoke). Workflow-safe: no I/O.
import { z } from 'zod';
import { containerEnvironmentSchema, endpointNameSchema, INSTANCE_TYPE, modelSchema, SAGEMAKER_NAME } from './endpoint-input.js';
import { s3PrefixesOverlap, s3UriSchema } from './s3-uri.js';

const s3Uri = (what: string) => s3UriSchema('bucket/key', what);

export const batchTransformInputSchema = z
  .strictObject({
    /** Prefix of the transform job's name; the rest is derived from the workflow run. */
    jobNamePrefix: z.string().regex(SAGEMAKER_NAME, 'must match AWS name pattern').max(40, 'must be at most 40 characters').default('batch'),
    /** An existing SageMaker model, or a model to create for the job and delete afterwards. */
    model: z.union([z.strictObject({ name: z.string().regex(SAGEMAKER_NAME, 'must be a SageMaker model name') }), modelSchema], {
      error: 'must be {"name": "<existing model>"} or a model definition {"image", "hfModelId", ...}',
    }),
    executionRoleArn: z.string().optional(),
    input: z.strictObject({
      s3Uri: s3Uri('a prefix of input objects'),
      contentType: z.string().default('application/jsonlines'),
      splitType: z.enum(['Line', 'None']).default('Line'),
    }),
    output: z.strictObject({
      s3Uri: s3Uri('where <input object>.out files are written'),
      accept: z.string().default('application/jsonlines'),
    }),
    batchStrategy: z.enum(['SingleRecord', 'MultiRecord']).default('SingleRecord'),
    maxPayloadMb: z.number().int().min(0).max(100).default(6),
    maxConcurrentTransforms: z.number().int().min(1).max(64).default(1),
    instanceType: z.string().regex(INSTANCE_TYPE, 'must look like ml.<family>.<size>, e.g. ml.g5.2xlarge'),
    instanceCount: z.number().int().min(1, 'must be at least 1').default(1),
    /** Passed to the container as the transform job's Environment (e.g. generation limits); no secrets. */
    environment: containerEnvironmentSchema.default({}),
    timeouts: z
      .strictObject({
        jobMinutes: z
          .number()
          .positive()
          .max(7 * 24 * 60)
          .default(120),
        pollIntervalSeconds: z.number().min(0.1).max(600).default(30),
      })
      .default({ jobMinutes: 120, pollIntervalSeconds: 30 }),
    tags: z.record(z.string(), z.string()).default({}),
  })
  // AWS caps what may be in flight per instance: MaxConcurrentTransforms × MaxPayloadInMB ≤ 100.
  .refine((b) => b.maxConcurrentTransforms * Math.max(b.maxPayloadMb, 1) <= 100, {
    message: 'maxConcurrentTransforms × maxPayloadMb must not exceed 100 (AWS limit)',
    path: ['maxConcurrentTransforms'],
  })
  // S3 prefixes, not folders: input `s3://b/data` takes `data-out/…` too, and input
  // `s3://b/out/x` takes `out/x….out`. Overlapping prefixes would feed outputs back as inputs.
  .refine((b) => !s3PrefixesOverlap(b.input.s3Uri, b.output.s3Uri), {
    message:
      'must not lie inside input.s3Uri or contain it as S3 prefixes (one may not start with the other: s3://b/data takes data-out/ too), or outputs would become inputs of the next run',
    path: ['output', 's3Uri'],
  });

export const asyncInvokeInputSchema = z.strictObject({
  endpointName: endpointNameSchema,
  /** The request body, already uploaded to S3. */
  inputLocation: s3Uri('the request object'),
  contentType: z.string().default('application/json'),
  inferenceId: z
    .string()
    .regex(/^[\x20-\x7e]{1,64}$/, 'must be 1-64 printable ASCII characters')
    .optional(),
  timeouts: z
    .strictObject({
      resultMinutes: z
        .number()
        .positive()
        .max(24 * 60)
        .default(15),
      pollIntervalSeconds: z.number().min(0.1).max(300).default(5),
    })
    .default({ resultMinutes: 15, pollIntervalSeconds: 5 }),
});

export type BatchTransformInput = z.input<typeof batchTransformInputSchema>;
export type BatchTransformSpec = z.output<typeof batchTransformInputSchema>;
export type AsyncInvokeInput = z.input<typeof asyncInvokeInputSchema>;
