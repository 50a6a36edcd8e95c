// Inputs of the batch workflows (batchTransform in its two modes, batchFanOut, asyncInvoke).
// Workflow-safe: no I/O. `mode` picks how a batch runs: `job` (default) runs a SageMaker Batch
// Transform job on instances of its own; `endpoint` fans the records out over an endpoint that is
// already InService (batchFanOut). Both read the same input and write the same output layout.
import { z } from 'zod';
import { containerEnvironmentSchema, INSTANCE_TYPE, modelSchema } from './endpoint-input.js';
import { endpointNameSchema, SAGEMAKER_NAME } from './sagemaker-names.js';
import { s3PrefixesOverlap, s3UriSchema } from './s3-uri.js';

const s3Uri = (what: string) => s3UriSchema('bucket/key', what);

/** What a batch reads: every object under a prefix, each cut into records (Line: one a line). */
const batchSourceSchema = z.strictObject({
  s3Uri: s3Uri('a prefix of input objects'),
  contentType: z.string().default('application/jsonlines'),
  splitType: z.enum(['Line', 'None']).default('Line'),
});

/** Where a batch writes: `<s3Uri>/<input key relative to the input prefix's folder>.out`. */
const batchSinkSchema = z.strictObject({
  s3Uri: s3Uri('where <input object>.out files are written'),
  accept: z.string().default('application/jsonlines'),
});

// S3 prefixes, not folders: input `s3://b/data` takes `data-out/…` too, and input
// `s3://b/out/x` takes `out/x….out`. Overlapping prefixes would feed outputs back as inputs.
const outputOutsideInput = (b: { input: { s3Uri: string }; output: { s3Uri: string } }) => !s3PrefixesOverlap(b.input.s3Uri, b.output.s3Uri);
const OUTPUT_INSIDE_INPUT = {
  message:
    'must not lie inside input.s3Uri or contain it as S3 prefixes (one may not start with the other: s3://b/data takes data-out/ too), or outputs would become inputs of the next run',
  path: ['output', 's3Uri'],
};

export const batchTransformInputSchema = z
  .strictObject({
    /** `endpoint` inputs go to batchFanOut (batchTransform hands them over as a child workflow). */
    mode: z.literal('job').default('job'),
    /** Prefix of the transform job's name; the rest is derived from the workflow run. */
    jobNamePrefix: z.string().regex(SAGEMAKER_NAME, 'must match AWS name pattern').max(40, 'must be at most 40 characters').default('batch'),
    /** An existing SageMaker model, or a model to create for the job and delete afterwards. */
    model: z.union([z.strictObject({ name: z.string().regex(SAGEMAKER_NAME, 'must be a SageMaker model name') }), modelSchema], {
      error: 'must be {"name": "<existing model>"} or a model definition {"image", "hfModelId", ...}',
    }),
    executionRoleArn: z.string().optional(),
    input: batchSourceSchema,
    output: batchSinkSchema,
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
  .refine(outputOutsideInput, OUTPUT_INSIDE_INPUT);

/**
 * A batch over a live endpoint: records are cut into chunks of `recordsPerChunk`, up to
 * `maxConcurrency` chunks are in flight, and each chunk keeps `invocationsPerChunk` InvokeEndpoint
 * calls in flight, so the endpoint sees at most maxConcurrency × invocationsPerChunk requests.
 */
export const batchFanOutInputSchema = z
  .strictObject({
    mode: z.literal('endpoint', { error: 'must be "endpoint" for a fan-out over a live endpoint ("job" runs batchTransform)' }),
    endpointName: endpointNameSchema,
    /** On an inference-component endpoint: the component every record is sent to (AWS requires one there). */
    inferenceComponentName: z.string().regex(SAGEMAKER_NAME, 'must be a SageMaker inference component name').optional(),
    input: batchSourceSchema,
    output: batchSinkSchema,
    maxConcurrency: z.number().int().min(1, 'must be at least 1').max(64, 'must be at most 64').default(4),
    recordsPerChunk: z
      .number()
      .int()
      .min(1, 'must be at least 1')
      .max(1000, 'must be at most 1000 (a chunk resumes from its heartbeat, which carries its answers)')
      .default(50),
    invocationsPerChunk: z.number().int().min(1, 'must be at least 1').max(16, 'must be at most 16').default(2),
    /** History stays O(1): the run continues as new after this many chunks. */
    chunksPerRun: z.number().int().min(1, 'must be at least 1').max(2000, 'must be at most 2000').default(500),
    /** Like a transform job's InvocationsMaxRetries: a record the container answers with 5xx (or not at all) is sent again this often. */
    invocationsMaxRetries: z.number().int().min(0).max(3, 'must be at most 3 (AWS limit for InvocationsMaxRetries)').default(3),
    timeouts: z
      .strictObject({
        /** One chunk's activity attempt: all its records, each invocation taking up to AWS's 60 s. */
        chunkMinutes: z
          .number()
          .positive()
          .max(24 * 60)
          .default(60),
      })
      .default({ chunkMinutes: 60 }),
  })
  .refine(outputOutsideInput, OUTPUT_INSIDE_INPUT);

/** Which batch workflow an input is for (by its `mode`, default job). */
export function batchWorkflowType(raw: unknown): 'batchTransform' | 'batchFanOut' {
  return (raw as { mode?: unknown } | null)?.mode === 'endpoint' ? 'batchFanOut' : 'batchTransform';
}

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
export type BatchFanOutInput = z.input<typeof batchFanOutInputSchema>;
export type BatchFanOutSpec = z.output<typeof batchFanOutInputSchema>;
export type AsyncInvokeInput = z.input<typeof asyncInvokeInputSchema>;
